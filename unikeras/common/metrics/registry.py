"""Looking up metrics by name and (de)serializing them in Keras's format."""
import inspect

from unikeras.common import losses as losses_module
from unikeras.common import naming
from unikeras.common.losses.base import FUNCTIONS as LOSS_FUNCTIONS
from unikeras.common.metrics import (
    accuracy_metrics, auc, confusion_metrics, correlation, f_score, hinge_metrics, iou,
    probabilistic, reduction, regression)
from unikeras.common.metrics.base import Metric

_MODULES = (reduction, accuracy_metrics, regression, probabilistic, hinge_metrics,
            confusion_metrics, auc, f_score, iou, correlation)
CLASSES = (Metric,) + tuple(
    obj for module in _MODULES for obj in vars(module).values()
    if inspect.isclass(obj) and issubclass(obj, Metric) and obj.__module__ == module.__name__
    and not obj.__name__.startswith("_") and obj is not reduction.BuiltinMeanMetric)

# Functions a MeanMetricWrapper config may name: the loss functions and the metric ones.
FUNCTIONS = {**LOSS_FUNCTIONS, **{fn.__name__: fn for fn in (
    accuracy_metrics.accuracy, accuracy_metrics.binary_accuracy,
    accuracy_metrics.categorical_accuracy, accuracy_metrics.sparse_categorical_accuracy,
    accuracy_metrics.top_k_categorical_accuracy,
    accuracy_metrics.sparse_top_k_categorical_accuracy, correlation.pearson_correlation,
    correlation.concordance_correlation)}}

# Names `get` accepts, as in Keras: class names, their snake_case forms and a few aliases
# (functions are not looked up by name).
ALL_OBJECTS_DICT = {cls.__name__: cls for cls in CLASSES}
ALL_OBJECTS_DICT.update({naming.to_snake_case(cls.__name__): cls for cls in CLASSES})
for _alias, _cls in (("bce", probabilistic.BinaryCrossentropy),
                     ("mse", regression.MeanSquaredError),
                     ("mae", regression.MeanAbsoluteError),
                     ("mape", regression.MeanAbsolutePercentageError),
                     ("msle", regression.MeanSquaredLogarithmicError)):
    ALL_OBJECTS_DICT[_alias] = ALL_OBJECTS_DICT[_alias.upper()] = _cls


def serialize(metric):
    """Keras-format dict of a metric object or metric function."""
    if inspect.isfunction(metric):
        return losses_module.serialize_function(metric)
    return {"module": "keras.metrics", "class_name": type(metric).__name__,
            "config": metric.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    """A metric (instance or function) from its `serialize` dict or name."""
    custom_objects = custom_objects or {}
    if isinstance(config, str):
        config = {"class_name": config, "config": {}}
    class_name = config.get("class_name")
    if class_name == "function":
        return losses_module.deserialize_function(config, {**FUNCTIONS, **custom_objects})
    objects = {**ALL_OBJECTS_DICT, **custom_objects}
    cls = objects.get(class_name)
    if cls is None:
        raise ValueError(f"Unknown metric {class_name!r}; known: {sorted(ALL_OBJECTS_DICT)}.")
    return cls.from_config(config.get("config") or {})


def get(identifier):
    """A metric from a name, a class, an instance, a config dict or a callable."""
    return losses_module.resolve_identifier(identifier, ALL_OBJECTS_DICT, deserialize, "metric")
