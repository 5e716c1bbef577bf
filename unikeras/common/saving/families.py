"""The families of serializable objects: which base class each has, the `module` Keras
writes in its configs, and the family's own (table-lookup only) `deserialize`.

`serialize_keras_object` finds an object's family by its base class; `deserialize_keras_object`
finds the family by the config's `module`, used only as a key into this table: a module
string is never imported.
"""
import functools


class Family:
    """One family: `name` (for messages), `module` (written in configs), `base` (the class
    its objects derive from), `classes` (name -> built-in class) and `deserialize`."""

    def __init__(self, name, module, base, classes, deserialize, functions=(), written=()):
        self.name, self.module, self.base = name, module, base
        self.classes, self.deserialize, self.functions = classes, deserialize, dict(functions)
        self._written = dict(written)   # class name -> (module, registered_name) Keras writes

    def is_builtin(self, cls):
        return self.classes.get(cls.__name__) is cls

    def written_names(self, cls):
        """The `(module, registered_name)` Keras writes for the built-in class `cls`."""
        return self._written.get(cls.__name__, (self.module, None))


@functools.lru_cache(maxsize=None)
def families():
    """Every family, most specific first (models before layers)."""
    from unikeras import layers as layer_catalog
    from unikeras.common import activations, constraints, initializers, regularizers
    from unikeras.common import losses, metrics
    from unikeras.common.layers.layer import Layer
    from unikeras.common.losses import serialization as loss_serialization
    from unikeras.common.losses.base import Loss
    from unikeras.common.metrics import registry as metric_registry
    from unikeras.common.metrics.base import Metric
    from unikeras.common.models.functional import Functional
    from unikeras.common.models.model import Model
    from unikeras.common.models.sequential import Sequential
    from unikeras.common.optimizers import schedules
    from unikeras.common.optimizers import serialization as optimizer_serialization
    from unikeras.common.optimizers.base import Optimizer
    from unikeras.common.saving import serialization

    layer_classes = {name: obj for name, obj in vars(layer_catalog).items()
                     if isinstance(obj, type) and issubclass(obj, Layer)}

    def model_deserialize(config, custom_objects=None):
        return serialization.instantiate(
            {"Sequential": Sequential, "Functional": Functional, "Model": Functional}[
                config["class_name"]], config, custom_objects)

    def layer_deserialize(config, custom_objects=None):
        return serialization.instantiate(layer_classes[config["class_name"]], config,
                                         custom_objects)

    model_classes = {"Sequential": Sequential, "Functional": Functional, "Model": Model}
    optimizer_classes = {cls.__name__: cls for cls in optimizer_serialization.ALL_OBJECTS}
    return (
        Family("model", "keras", Model, model_classes, model_deserialize,
               written={"Functional": ("keras.src.models.functional", "Functional")}),
        Family("layer", "keras.layers", Layer, layer_classes, layer_deserialize),
        Family("loss", "keras.losses", Loss,
               {c.__name__: c for c in loss_serialization.CLASSES}, losses.deserialize,
               loss_serialization.FUNCTIONS),
        Family("metric", "keras.metrics", Metric,
               {c.__name__: c for c in metric_registry.CLASSES}, metrics.deserialize,
               metric_registry.FUNCTIONS),
        Family("optimizer", "keras.optimizers", Optimizer, optimizer_classes,
               optimizer_serialization.deserialize),
        Family("learning-rate schedule", "keras.optimizers.schedules",
               schedules.LearningRateSchedule, dict(schedules.ALL_OBJECTS_DICT),
               schedules.deserialize),
        Family("initializer", "keras.initializers", initializers.Initializer,
               initializers._catalog.classes, initializers.deserialize),
        Family("regularizer", "keras.regularizers", regularizers.Regularizer,
               regularizers._catalog.classes, regularizers.deserialize),
        Family("constraint", "keras.constraints", constraints.Constraint,
               constraints._catalog.classes, constraints.deserialize),
        Family("activation", "keras.activations", type(None), {}, activations.deserialize,
               activations.ALL_OBJECTS_DICT),
    )


# Module strings Keras writes for the same classes besides the family's own one.
_MODULE_ALIASES = {"keras.models": "keras", "keras.src.models.functional": "keras",
                   "keras.src.models.sequential": "keras", "keras.src.models.model": "keras"}


def family_of(obj):
    """The family whose base class `obj` derives from, else None."""
    for family in families():
        if isinstance(obj, family.base):
            return family
    return None


def family_for_config(module, class_name):
    """The family a built-in config belongs to: by its `module` when Keras's, else (older
    configs without one) the first family holding `class_name`; None when none does."""
    module = _MODULE_ALIASES.get(module, module)
    for family in families():
        if family.module == module and class_name in family.classes:
            return family
    for family in families():
        if class_name in family.classes:
            return family
    return None


def builtin_function(module, name):
    """A built-in function (activation, loss, metric) a `"class_name": "function"` config
    names, looked up in the families' tables only; None when unknown."""
    ordered = sorted(families(), key=lambda f: f.module != module)
    for family in ordered:
        if name in family.functions and callable(family.functions[name]):
            return family.functions[name]
    return None
