"""Keras-format configs: `{"module", "class_name", "config", "registered_name"}`.

Deserialization only instantiates classes found in the built-in registry, in objects
registered with `register_keras_serializable`, or in `custom_objects`; it never runs code
from a config.
"""
from unikeras.common import tree
from unikeras.common.symbolic import KerasTensor

_registered = {}


def register_keras_serializable(package="Custom", name=None):
    """Class decorator: make a user class deserializable as `package>name`."""
    def decorate(cls):
        key = f"{package}>{name or cls.__name__}"
        _registered[key] = cls
        cls._registered_name = key
        return cls
    return decorate


def _builtin_classes():
    """Every layer class of `unikeras.layers` (the catalog), plus the model classes."""
    from unikeras import layers
    from unikeras.common.layers.layer import Layer
    from unikeras.common.models import functional, model, sequential
    classes = {name: obj for name, obj in vars(layers).items()
               if isinstance(obj, type) and issubclass(obj, Layer)}
    classes.update({c.__name__: c for c in (sequential.Sequential, functional.Functional,
                                            model.Model)})
    return classes


def _module_of(obj):
    from unikeras.common.models.model import Model
    return "keras.models" if isinstance(obj, Model) else "keras.layers"


def serialize_keras_object(obj):
    """Config dict of a layer/model (or a plain value, returned as is)."""
    if obj is None or isinstance(obj, (str, int, float, bool, list, dict)):
        return obj
    return {"module": _module_of(obj), "class_name": type(obj).__name__,
            "config": obj.get_config(), "registered_name": getattr(obj, "_registered_name", None)}


def _lookup(class_name, registered_name, custom_objects):
    custom_objects = custom_objects or {}
    for key in (registered_name, class_name):
        if key and key in custom_objects:
            return custom_objects[key]
        if key and key in _registered:
            return _registered[key]
    cls = _builtin_classes().get(class_name)
    if cls is None:
        raise ValueError(f"Unknown class {class_name!r} in config: pass it in custom_objects or "
                         "decorate it with register_keras_serializable.")
    return cls


def deserialize_keras_object(config, custom_objects=None):
    """Instantiate the object a config dict describes (safe: registry lookups only)."""
    if not isinstance(config, dict) or "class_name" not in config:
        return config
    cls = _lookup(config["class_name"], config.get("registered_name"), custom_objects)
    inner = config.get("config", {})
    try:
        return cls.from_config(inner, custom_objects) if _takes_custom_objects(cls) else cls.from_config(inner)
    except TypeError as e:
        raise ValueError(f"Cannot build {config['class_name']} from its config: {e}") from None


def _takes_custom_objects(cls):
    import inspect
    return "custom_objects" in inspect.signature(cls.from_config).parameters


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
