"""`get`, `serialize` and `deserialize` for optimizers (and OptimizerMaps), in Keras's
config format."""
import inspect

from unikeras.common.optimizers.adafactor import Adafactor
from unikeras.common.optimizers.adagrad import Adadelta, Adagrad
from unikeras.common.optimizers.adam import Adam, AdamW
from unikeras.common.optimizers.adamax import Adamax
from unikeras.common.optimizers.base import Optimizer
from unikeras.common.optimizers.ftrl import Ftrl
from unikeras.common.optimizers.lamb import Lamb
from unikeras.common.optimizers.lion import Lion
from unikeras.common.optimizers.loss_scale_optimizer import LossScaleOptimizer
from unikeras.common.optimizers.multi_optimizer import MultiOptimizer, OptimizerMap
from unikeras.common.optimizers.muon import Muon
from unikeras.common.optimizers.nadam import Nadam
from unikeras.common.optimizers.rmsprop import RMSprop
from unikeras.common.optimizers.schedule_free_adamw import ScheduleFreeAdamW
from unikeras.common.optimizers.sgd import SGD

ALL_OBJECTS = (Optimizer, Adam, SGD, RMSprop, Adadelta, AdamW, Adagrad, Adamax, Adafactor,
               Nadam, Ftrl, Lion, Lamb, LossScaleOptimizer, Muon, ScheduleFreeAdamW,
               MultiOptimizer, OptimizerMap)
ALL_OBJECTS_DICT = {cls.__name__.lower(): cls for cls in ALL_OBJECTS}
_NOT_BY_NAME = {"optimizer", "lossscaleoptimizer", "multioptimizer", "optimizermap"}


def serialize(optimizer):
    """The Keras-format dict of an optimizer (or OptimizerMap)."""
    if not hasattr(optimizer, "get_config"):
        raise ValueError(f"Cannot serialize {optimizer!r}: it has no get_config() (a plain "
                         "function as a MultiOptimizer's optimizer_map is not serializable).")
    return {"module": "keras.optimizers", "class_name": type(optimizer).__name__,
            "config": optimizer.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    """An optimizer from its `serialize` dict (class names match case-insensitively)."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Cannot deserialize an optimizer from {config!r}: expected a dict with "
                         "'class_name' and 'config'.")
    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or ALL_OBJECTS_DICT.get(str(name).lower())
    if cls is None or cls is Optimizer:
        known = sorted(k for k in ALL_OBJECTS_DICT if k != "optimizer")
        raise ValueError(f"Unknown optimizer {name!r}; known: {known}.")
    inner = config.get("config") or {}
    if "custom_objects" in inspect.signature(cls.from_config).parameters:
        return cls.from_config(inner, custom_objects=custom_objects)
    return cls.from_config(inner)


def get(identifier):
    """An optimizer from a name ("sgd", "adam", ...), a config dict, a class or an instance."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        if identifier.lower() in _NOT_BY_NAME:
            raise ValueError(f"Optimizer {identifier!r} cannot be made from its name alone: "
                             "it wraps other optimizers.")
        obj = deserialize({"class_name": identifier, "config": {}})
    elif inspect.isclass(identifier) and issubclass(identifier, Optimizer):
        obj = identifier()
    else:
        obj = identifier
    if isinstance(obj, Optimizer):
        return obj
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}.")
