"""Looking up losses by name and (de)serializing them in Keras's format."""
import inspect

from unikeras.common.losses import (
    crossentropy, margin, metric_learning, probabilistic, regression, segmentation, sequence)
from unikeras.common.losses.base import (
    FUNCTIONS, BuiltinLoss, Loss, deserialize_function, serialize_function)

_MODULES = (regression, probabilistic, crossentropy, margin, segmentation, sequence,
            metric_learning)
CLASSES = (Loss,) + tuple(
    obj for module in _MODULES for obj in vars(module).values()
    if inspect.isclass(obj) and issubclass(obj, BuiltinLoss) and obj.__module__ == module.__name__)
ALL_OBJECTS_DICT = {**{cls.__name__: cls for cls in CLASSES}, **FUNCTIONS}


def serialize(loss):
    """Keras-format dict of a loss object or built-in loss function."""
    if inspect.isfunction(loss):
        return serialize_function(loss)
    return {"module": "keras.losses", "class_name": type(loss).__name__,
            "config": loss.get_config(), "registered_name": None}


def deserialize(name, custom_objects=None):
    """A loss (instance or function) from its `serialize` dict or its name."""
    objects = {**ALL_OBJECTS_DICT, **(custom_objects or {})}
    if isinstance(name, str):
        obj = objects.get(name)
        if obj is None:
            raise ValueError(f"Could not interpret loss identifier: {name!r}; known: "
                             f"{sorted(ALL_OBJECTS_DICT)}.")
        return obj() if inspect.isclass(obj) else obj
    class_name = name.get("class_name")
    if class_name == "function":
        return deserialize_function(name, objects)
    obj = objects.get(class_name)
    if obj is None:
        raise ValueError(f"Unknown loss {class_name!r}; known: {sorted(ALL_OBJECTS_DICT)}.")
    if inspect.isclass(obj):
        return obj.from_config(name.get("config") or {})
    return obj


def resolve_identifier(identifier, objects, deserialize_fn, kind):
    """Object for a name (looked up in `objects`), config dict, class (instantiated),
    instance or callable; shared by the losses and metrics `get` functions."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize_fn(identifier)
    elif isinstance(identifier, str):
        obj = objects.get(identifier)
    else:
        obj = identifier
    if callable(obj):
        return obj() if inspect.isclass(obj) else obj
    raise ValueError(f"Could not interpret {kind} identifier: {identifier!r}.")


def get(identifier):
    """A loss from a name, a class, an instance, a config dict or a callable."""
    return resolve_identifier(identifier, ALL_OBJECTS_DICT, deserialize, "loss")
