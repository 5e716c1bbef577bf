"""Keras-format configs: `{"module", "class_name", "config", "registered_name"}`.

Deserialization instantiates only classes and functions found in `custom_objects`, in an
active `custom_object_scope`, in the registry (`register_keras_serializable`) or in the
built-in families (`families.py`); the `module` of a config is a lookup key, never imported.
Code stored in a config (a Lambda's bytecode) is refused unless the caller leaves safe mode.
"""
import contextlib
import inspect
import threading

import numpy as np

from unikeras.common import tree
from unikeras.common.symbolic import KerasTensor

_state = threading.local()   # .scopes (custom-object dicts, innermost last), .safe_mode


def _scopes():
    if not hasattr(_state, "scopes"):
        _state.scopes = []
    return _state.scopes


class _Registry(dict):
    """The global custom objects; lookups also see the active custom-object scopes first."""

    def _scoped(self, key):
        for scope in reversed(_scopes()):
            if key in scope:
                return scope, scope[key]
        return None, None

    def __contains__(self, key):
        return self._scoped(key)[0] is not None or dict.__contains__(self, key)

    def __getitem__(self, key):
        scope, value = self._scoped(key)
        return value if scope is not None else dict.__getitem__(self, key)

    def get(self, key, default=None):
        return self[key] if key in self else default


_registered = _Registry()


def get_custom_objects():
    """The global dict of registered objects (name -> class or function); editable."""
    return _registered


class CustomObjectScope:
    """`with CustomObjectScope({"name": obj}):` makes `obj` deserializable by name inside."""

    def __init__(self, custom_objects):
        self.custom_objects = dict(custom_objects or {})

    def __enter__(self):
        _scopes().append(self.custom_objects)
        return self

    def __exit__(self, *exc):
        scopes = _scopes()
        del scopes[max(i for i, s in enumerate(scopes) if s is self.custom_objects)]


custom_object_scope = CustomObjectScope


def register_keras_serializable(package="Custom", name=None):
    """Decorator: make a class or function deserializable as `package>name`."""
    def decorate(obj):
        key = f"{package}>{name or obj.__name__}"
        if inspect.isclass(obj) and not hasattr(obj, "get_config"):
            raise ValueError(f"register_keras_serializable: class {obj.__name__} has no "
                             "get_config(), so it cannot be saved.")
        dict.__setitem__(_registered, key, obj)
        obj._registered_name = key
        return obj
    return decorate


def get_registered_name(obj):
    """The name `obj` is saved under: its own `package>name` if registered, else its name
    (a subclass of a registered class does not inherit the registration)."""
    own = vars(obj).get("_registered_name") if hasattr(obj, "__dict__") else None
    return own or obj.__name__


def get_registered_object(name, custom_objects=None, module_objects=None):
    """The object registered (or in scope, or in the given dicts) under `name`, else None."""
    for table in (custom_objects or {}, _registered, module_objects or {}):
        if name in table:
            return table[name]
    return None


# --- safe mode ---------------------------------------------------------------------------------
@contextlib.contextmanager
def safe_mode_scope(safe_mode=True):
    """Deserialization inside runs in `safe_mode`; an outer scope wins over inner arguments,
    so nothing a config holds can switch safe mode off."""
    outer = getattr(_state, "safe_mode", None)
    _state.safe_mode = bool(safe_mode) if outer is None else outer
    try:
        yield
    finally:
        _state.safe_mode = outer


def in_safe_mode():
    """True unless a caller entered `safe_mode_scope(False)`."""
    return getattr(_state, "safe_mode", None) is not False


# --- serializing -------------------------------------------------------------------------------
def serialize_keras_object(obj):
    """The Keras-format dict of a layer, model, loss, metric, optimizer, schedule,
    initializer, regularizer or constraint; a function becomes its name; plain values
    (numbers, strings, lists, dicts, tuples) stay as they are."""
    from unikeras.common.saving import families
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    if isinstance(obj, (list, tuple)):
        return [serialize_keras_object(v) for v in obj]
    if isinstance(obj, dict):
        return {k: serialize_keras_object(v) for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        return {"class_name": "__numpy__", "config": {"value": obj.tolist(),
                                                      "dtype": str(obj.dtype)}}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, bytes):
        return {"class_name": "__bytes__", "config": {"value": obj.decode("latin-1")}}
    if inspect.isfunction(obj) or inspect.isbuiltin(obj):
        name = getattr(obj, "_registered_name", None) or obj.__name__
        if name == "<lambda>":
            raise ValueError(f"Cannot serialize the anonymous function {obj!r}: configs hold "
                             "functions by name only. Use a named function decorated with "
                             "register_keras_serializable().")
        return {"module": "builtins", "class_name": "function", "config": name,
                "registered_name": "function"}
    if not hasattr(obj, "get_config"):
        raise ValueError(f"Cannot serialize {obj!r} ({type(obj).__name__}): it has no "
                         "get_config().")
    cls = type(obj)
    family = families.family_of(obj)
    if family is not None and family.is_builtin(cls):
        module, registered_name = family.written_names(cls)
    else:
        module, registered_name = cls.__module__, get_registered_name(cls)
    config = {"module": module, "class_name": cls.__name__, "config": obj.get_config(),
              "registered_name": registered_name}
    if family is not None and family.name == "model":
        from unikeras.common.saving.compile_config import build_config, get_compile_config
        config["build_config"] = build_config(obj)
        if getattr(obj, "compiled", False):
            config["compile_config"] = get_compile_config(obj)
    return config


# --- deserializing -----------------------------------------------------------------------------
def _unknown(config, kind="class"):
    name = config.get("config") if kind == "function" else config.get("class_name")
    module = config.get("module")
    where = f" (module {module!r})" if module else ""
    return ValueError(
        f"Unknown {kind} {name!r}{where} in config: unikeras looks objects up in its built-in "
        "catalog and registry only, and never imports a module a config names. If it is your "
        f"own {kind}, decorate it with @unikeras.saving.register_keras_serializable() or pass "
        f"custom_objects={{{name!r}: ...}} (or use unikeras.saving.custom_object_scope).")


def instantiate(cls, config, custom_objects=None):
    """`cls.from_config(config["config"])`, a TypeError turned into a ValueError naming it."""
    inner = config.get("config") or {}
    try:
        if "custom_objects" in inspect.signature(cls.from_config).parameters:
            obj = cls.from_config(inner, custom_objects=custom_objects)
        else:
            obj = cls.from_config(inner)
    except TypeError as e:
        raise ValueError(f"Cannot build {config.get('class_name')} from its config: {e}") from None
    build = config.get("build_config")
    if build and hasattr(obj, "build_from_config"):
        obj.build_from_config(build)
    return obj


def _plain_value(config):
    """The value of a `__numpy__` / `__bytes__` / `__tuple__` config (pure data), else None."""
    kind, inner = config.get("class_name"), config.get("config") or {}
    if kind == "__numpy__":
        dtype = np.dtype(inner["dtype"])
        if dtype.hasobject:
            raise ValueError(f"Refusing a __numpy__ config of dtype {dtype}: only plain numeric "
                             "arrays are read from configs.")
        return True, np.asarray(inner["value"], dtype=dtype)
    if kind == "__bytes__":
        return True, inner["value"].encode("latin-1")
    if kind == "__tuple__":
        return True, tuple(deserialize_keras_object(v) for v in inner["value"])
    return False, None


def deserialize_keras_object(config, custom_objects=None, safe_mode=True, **kwargs):
    """The object a config describes; plain values are returned as they are. Only registry
    and catalog lookups happen; code in the config (Lambda bytecode) is refused while in
    safe mode (the default; an enclosing `safe_mode_scope` decides for nested calls)."""
    from unikeras.common.saving import families, lambda_code
    if isinstance(config, list):
        return [deserialize_keras_object(v, custom_objects, safe_mode) for v in config]
    if not isinstance(config, dict) or "class_name" not in config:
        return config
    with safe_mode_scope(safe_mode), CustomObjectScope(custom_objects):
        prepared = lambda_code.prepare(config, in_safe_mode())
        with CustomObjectScope(prepared.functions):
            return _deserialize(prepared.config, custom_objects, families)


def _deserialize(config, custom_objects, families):
    is_plain, value = _plain_value(config)
    if is_plain:
        return value
    class_name, registered = config["class_name"], config.get("registered_name")
    if class_name == "function":
        name = config.get("config")
        fn = (get_registered_object(name, custom_objects) if isinstance(name, str) else None)
        fn = fn or (families.builtin_function(config.get("module"), name)
                    if isinstance(name, str) else None)
        if fn is None:
            raise _unknown(config, "function")
        return fn
    for key in (registered, class_name):
        found = get_registered_object(key, custom_objects) if isinstance(key, str) else None
        if found is not None:
            if not inspect.isclass(found):
                return found
            return instantiate(found, config, custom_objects)
    family = families.family_for_config(config.get("module"), class_name)
    if family is None:
        raise _unknown(config)
    if family.name in ("model", "layer"):
        return family.deserialize(config, custom_objects)
    obj = family.deserialize({k: config[k] for k in ("class_name", "config") if k in config},
                             custom_objects)
    return obj


# --- functional graphs ---------------------------------------------------------------------------
def _node_indices(model):
    """(id(node) -> index among that layer's nodes in this model), in graph order."""
    counts, index = {}, {}
    for node in model._nodes:
        layer = node.operation
        index[id(node)] = counts.get(id(layer), 0)
        counts[id(layer)] = index[id(node)] + 1
    return index


def functional_config(model):
    from unikeras.common.layers.layer import Layer
    node_index = _node_indices(model)

    def ref(t):
        if not isinstance(t, KerasTensor):
            return t
        node, i = t._history
        return {"class_name": "__keras_tensor__", "config": {
            "shape": list(t.shape), "dtype": t.dtype,
            "keras_history": [node.operation.name, node_index[id(node)], i]}}

    layers = []
    for layer in model.layers:
        entry = serialize_keras_object(layer)
        entry["name"] = layer.name
        entry["inbound_nodes"] = [
            {"args": tree.map_structure(ref, list(n.args)),
             "kwargs": tree.map_structure(ref, {k: v for k, v in n.kwargs.items() if k != "training"})}
            for n in model._nodes if n.operation is layer and n.args]
        layers.append(entry)
    for node in model._nodes:
        if not isinstance(node.operation, Layer):
            raise ValueError(f"Model '{model.name}' applies the op {node.operation.__name__} "
                             "directly to symbolic tensors; wrap it in a layer to serialize the model.")

    def history(t):
        node, i = t._history
        return [node.operation.name, node_index[id(node)], i]

    return {"name": model.name, "trainable": model.trainable,
            "layers": layers,
            "input_layers": [history(t) for t in model.inputs],
            "output_layers": [history(t) for t in model.outputs]}


def functional_from_config(cls, config, custom_objects=None):
    from unikeras.common.layers.input_layer import InputLayer
    created = {}   # (layer name, node index, tensor index) -> KerasTensor
    layers = {}
    pending = []
    for entry in config["layers"]:
        layer = deserialize_keras_object(entry, custom_objects)
        layers[entry["name"]] = layer
        if isinstance(layer, InputLayer):
            created[(entry["name"], 0, 0)] = layer.output
        else:
            pending.extend((entry["name"], i, node) for i, node in enumerate(entry["inbound_nodes"]))

    def resolve(value):
        if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
            return created[tuple(value["config"]["keras_history"])]
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [resolve(v) for v in value]
        return value

    def ready(value):
        if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
            return tuple(value["config"]["keras_history"]) in created
        if isinstance(value, dict):
            return all(ready(v) for v in value.values())
        if isinstance(value, list):
            return all(ready(v) for v in value)
        return True

    while pending:
        progressed = False
        for item in list(pending):
            name, i, node = item
            if ready(node["args"]) and ready(node["kwargs"]):
                out = layers[name](*resolve(node["args"]), **resolve(node["kwargs"]))
                for j, t in enumerate(tree.flatten(out)):
                    created[(name, i, j)] = t
                pending.remove(item)
                progressed = True
        if not progressed:
            raise ValueError("Functional config has nodes whose inputs are never produced.")
    inputs = [created[tuple(h)] for h in config["input_layers"]]
    outputs = [created[tuple(h)] for h in config["output_layers"]]
    return cls(inputs if len(inputs) > 1 else inputs[0], outputs if len(outputs) > 1 else outputs[0],
               name=config.get("name"))
