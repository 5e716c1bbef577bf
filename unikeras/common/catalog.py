"""Catalog: the `get / serialize / deserialize` trio of one family of configurable objects
(initializers, regularizers, constraints), in Keras's formats.

A serialized object is `{"module", "class_name", "config", "registered_name"}`; a name
string (`"glorot_uniform"`, `"L2"`) means the class with its default arguments; a plain
function is `{"module": "builtins", "class_name": "function", "config": its name, ...}`.
Lookups go to `custom_objects`, then objects registered with `register_keras_serializable`,
then the family's own names: deserializing never runs code from a config.
"""
import inspect

from unikeras.common.saving import serialization


def serialize_function(fn, kind):
    """Keras's dict for a plain function: it is found again by (registered) name."""
    name = getattr(fn, "_registered_name", None) or getattr(fn, "__name__", None)
    if name is None:
        raise ValueError(f"Cannot serialize {fn!r} as a {kind}: it has no name and no "
                         "get_config().")
    return {"module": "builtins", "class_name": "function", "config": name,
            "registered_name": "function"}


def find_registered(name, custom_objects):
    """The object `custom_objects` or the registry holds under `name`, else None."""
    if not name:
        return None
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    return serialization._registered.get(name)


class Catalog:
    """Name -> class table of one family, with Keras's identifier rules."""

    def __init__(self, kind, module, base, classes, aliases):
        self.kind = kind        # "initializer", used in error messages
        self.module = module    # "keras.initializers", written in configs
        self.base = base
        self.classes = {**{c.__name__: c for c in classes}, **aliases}

    def lookup(self, class_name, registered_name=None, custom_objects=None):
        """The class a config names; ValueError naming the known names otherwise."""
        found = (find_registered(registered_name, custom_objects)
                 or find_registered(class_name, custom_objects) or self.classes.get(class_name))
        if found is None:
            raise ValueError(f"Unknown {self.kind} {class_name!r}; known: {sorted(self.classes)} "
                             "(pass custom objects in custom_objects or register them with "
                             "register_keras_serializable).")
        return found

    def serialize(self, obj):
        """Keras's dict form of `obj` (None stays None)."""
        if obj is None:
            return None
        if not hasattr(obj, "get_config"):
            return serialize_function(obj, self.kind)
        cls = type(obj)
        builtin = self.classes.get(cls.__name__) is cls
        return {"module": self.module if builtin else cls.__module__,
                "class_name": cls.__name__, "config": obj.get_config(),
                "registered_name": None if builtin else getattr(cls, "_registered_name",
                                                                cls.__name__)}

    def deserialize(self, config, custom_objects=None):
        """An instance from a config dict or a name string (a function from its dict)."""
        if isinstance(config, str):
            return self.lookup(config, None, custom_objects)()
        if not isinstance(config, dict) or "class_name" not in config:
            raise ValueError(f"Cannot deserialize a {self.kind} from {config!r}: expected a name "
                             "or a dict with 'class_name' and 'config'.")
        if config["class_name"] == "function":
            fn = find_registered(config.get("config"), custom_objects)
            if fn is None:
                raise ValueError(f"Unknown {self.kind} function {config.get('config')!r}: pass "
                                 "it in custom_objects or register it.")
            return fn
        cls = self.lookup(config["class_name"], config.get("registered_name"), custom_objects)
        inner = config.get("config") or {}
        try:
            return cls.from_config(inner)
        except TypeError as e:
            raise ValueError(f"Cannot build {self.kind} {config['class_name']!r} from config "
                             f"{inner!r}: {e}") from None

    def get(self, identifier):
        """None, an instance, a callable, a class, a name or a config dict -> the object."""
        if identifier is None or isinstance(identifier, self.base):
            return identifier
        if isinstance(identifier, (str, dict)):
            return self.deserialize(identifier)
        if inspect.isclass(identifier):
            return identifier()
        if callable(identifier):
            return identifier
        raise ValueError(f"Could not interpret {self.kind} identifier: {identifier!r}.")
