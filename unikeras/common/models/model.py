"""Model: a Layer with training (compile/fit/evaluate/predict), weights files, summary.

`Model(inputs, outputs)` builds a functional model; subclassing Model and defining
`call` gives a subclassed model.
"""
from unikeras.common.layers.layer import Layer
from unikeras.common.trainer import Trainer


class Model(Trainer, Layer):
    """Base of Functional, Sequential and user-subclassed models."""

    def __new__(cls, *args, **kwargs):
        if cls is Model and (len(args) >= 2 or "inputs" in kwargs or "outputs" in kwargs):
            from unikeras.common.models.functional import Functional
            return super().__new__(Functional)
        return super().__new__(cls)

    def __init__(self, *args, **kwargs):
        trainable = kwargs.pop("trainable", True)
        name = kwargs.pop("name", None)
        dtype = kwargs.pop("dtype", None)
        Layer.__init__(self, name=name, trainable=trainable, dtype=dtype, **kwargs)
        Trainer.__init__(self)

    def get_layer(self, name=None, index=None):
        """A layer by name or by index in `layers`."""
        if (name is None) == (index is None):
            raise ValueError("get_layer: pass exactly one of `name` or `index`.")
        layers = self.layers
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(f"get_layer: index {index} out of range for {len(layers)} layers.")
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No layer named {name!r} in model '{self.name}'; layers: "
                         f"{[layer.name for layer in layers]}.")

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None):
        """Print a table of layers, output shapes and parameter counts."""
        from unikeras.common.models.summary import format_summary
        (print_fn or print)(format_summary(self, line_length or 80))

    def save_weights(self, filepath, overwrite=True, max_shard_size=None):
        """Write all weights atomically: `.safetensors` (keyed by layer path), Keras's
        `.weights.h5` layout (with the optimizer state), or with `max_shard_size` (GB)
        Keras's sharded `.weights.json` index and shards."""
        from unikeras.common.saving.weights import save_weights
        save_weights(self, filepath, overwrite=overwrite, max_shard_size=max_shard_size)

    def load_weights(self, filepath, skip_mismatch=False, **kwargs):
        """Load a `.safetensors`, `.weights.h5` or sharded `.weights.json` weights file
        written from any backend (or by Keras 3, for the Keras layouts)."""
        from unikeras.common.saving.weights import load_weights
        load_weights(self, filepath, skip_mismatch=skip_mismatch)

    def save(self, filepath, overwrite=True, zipped=None, **kwargs):
        """Write a `.unikeras` archive (config, weights, compile settings and, unless
        `include_optimizer=False`, the optimizer state) atomically;
        `unikeras.saving.load_model` reads it on any backend."""
        from unikeras.common.saving.archive import save_model
        include_optimizer = kwargs.pop("include_optimizer", True)
        if kwargs:
            raise TypeError(f"Model.save: unexpected arguments {sorted(kwargs)}.")
        if zipped is False:
            raise ValueError("Model.save: only zipped '.unikeras' archives are written.")
        save_model(self, filepath, overwrite=overwrite, include_optimizer=include_optimizer)

    def _maybe_build(self, args, kwargs):
        if not self.built:   # recorded for get_build_config: the shape a load rebuilds with
            from unikeras.common.layers.layer import _shape_of
            first = args[0] if args else next(iter(kwargs.values()))
            self._set_untracked(_build_input_shape=_shape_of(first))
        super()._maybe_build(args, kwargs)

    def get_build_config(self):
        from unikeras.common.saving.compile_config import build_config
        return build_config(self)

    def build_from_config(self, config):
        from unikeras.common.saving.compile_config import build_from_config
        build_from_config(self, config)

    def get_compile_config(self):
        from unikeras.common.saving.compile_config import get_compile_config
        return get_compile_config(self)

    def compile_from_config(self, config):
        from unikeras.common.saving.compile_config import compile_from_config
        compile_from_config(self, config)

    def get_config(self):
        config = super().get_config()
        config.pop("dtype", None)
        return config

    def to_json(self, **kwargs):
        import json
        from unikeras.common.saving.serialization import serialize_keras_object
        return json.dumps(serialize_keras_object(self), **kwargs)
