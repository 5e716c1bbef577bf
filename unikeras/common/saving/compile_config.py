"""A model's `build_config` and `compile_config`, as Keras writes them in a saved model, and
their inverses: rebuilding the weights and compiling again from a config."""
from unikeras.common.saving.serialization import deserialize_keras_object, serialize_keras_object
from unikeras.common.symbolic import KerasTensor


def build_config(model):
    """`{"input_shape": ...}`, as Keras writes it: the input shape of a Sequential model
    that knows it, the shape of the first call of a model that builds on call, and None
    for a functional model (its config holds its graph)."""
    from unikeras.common.models.sequential import Sequential
    shape = getattr(model, "_build_input_shape", None)
    if shape is None and isinstance(model, Sequential) and model._input_layer is not None:
        shape = model._input_layer.batch_shape
    return {"input_shape": None if shape is None else _as_lists(shape)}


def _as_lists(shape):
    if isinstance(shape, (list, tuple)) and shape and isinstance(shape[0], (list, tuple)):
        return [_as_lists(s) for s in shape]
    return list(shape)


def build_from_config(model, config):
    """Create the weights of an unbuilt model by a symbolic call on its recorded input
    shape(s) (batch dimension left free), on the current backend."""
    shape = (config or {}).get("input_shape")
    if shape is None or (model.built and model.weights):
        return

    def spec(s):
        return KerasTensor((None,) + tuple(s[1:]), model.compute_dtype)
    nested = bool(shape) and isinstance(shape[0], (list, tuple))
    model([spec(s) for s in shape] if nested else spec(shape))


def _specs(value, convert):
    """Apply `convert` to each leaf of a loss/metric specification (a name, an object, or a
    list / dict of them); a serialized object (dict with `class_name`) counts as a leaf."""
    if isinstance(value, dict) and "class_name" not in value:
        return {k: _specs(v, convert) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_specs(v, convert) for v in value]
    return convert(value)


def get_compile_config(model):
    """The arguments `model.compile` was given, serialized (None when not compiled)."""
    if not getattr(model, "compiled", False):
        return None
    loss, metrics = model._compile_loss, model._compile_metrics
    return {
        "optimizer": serialize_keras_object(model.optimizer),
        "loss": _specs(loss._spec, serialize_keras_object) if loss is not None else None,
        "loss_weights": loss._weights_spec if loss is not None else None,
        "metrics": _specs(metrics._specs, serialize_keras_object) if metrics else None,
        "weighted_metrics": (_specs(metrics._weighted_specs, serialize_keras_object)
                             if metrics else None),
        "run_eagerly": model.run_eagerly,
        "steps_per_execution": model.steps_per_execution,
        "jit_compile": model.jit_compile,
    }


def compile_from_config(model, config):
    """Compile `model` with the settings `get_compile_config` wrote (objects come from the
    registry and catalog only)."""
    if not config:
        return

    def restore(value):
        return deserialize_keras_object(value) if isinstance(value, dict) else value
    kwargs = {key: config[key] for key in ("loss_weights", "run_eagerly", "steps_per_execution",
                                          "jit_compile") if key in config}
    for key in ("loss", "metrics", "weighted_metrics"):
        if config.get(key) is not None:
            kwargs[key] = _specs(config[key], restore)
    model.compile(optimizer=restore(config.get("optimizer", "rmsprop")), **kwargs)
