"""TimeDistributed: applies a layer to every time step of (batch, time, ...) inputs."""
from unikeras.common.layers.layer import Layer
from unikeras.common.layers.arguments import describe
from unikeras.common.layers.recurrent_cells import deserialize_layer, prefix_weight_paths
from unikeras.common.ops import arrays, control, core, numpy as onp
from unikeras.common.saving import serialization
from unikeras.common.symbolic import KerasTensor

__all__ = ["TimeDistributed"]


class TimeDistributed(Layer):
    """`layer` on each slice `inputs[:, t]`, as one call on the batch and time axes folded
    together (a loop over time only when neither size is known while a graph is built)."""

    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(layer, Layer):
            raise ValueError(f"{describe(self)}: `layer` must be a Layer, got {layer!r}.")
        self.layer = layer

    def _check_inputs(self, shape):
        if len(shape) < 3:
            raise ValueError(f"{describe(self)}: expected inputs of rank >= 3 (batch, time, "
                             f"...), got shape {tuple(shape)}.")

    def build(self, input_shape):
        shape = tuple(input_shape)
        self._check_inputs(shape)
        if not self.layer.built:
            self.layer.build((None,) + shape[2:])
            self.layer.built = True
            prefix_weight_paths(self.layer, self.name)
        self.built = True

    def _inner_kwargs(self, mask, training):
        kwargs = {"training": training} if self.layer._call_has_training else {}
        if mask is not None and self.layer._call_has_mask:
            kwargs["mask"] = mask
        return kwargs

    def call(self, inputs, training=None, mask=None):
        shape = core.shape(inputs)
        self._check_inputs(shape)
        batch, time = shape[:2]
        if batch is None and time is None:
            return self._per_step(inputs, training)
        folded = onp.reshape(inputs, (-1,) + tuple(shape[2:]))
        folded_mask = None
        if mask is not None:
            folded_mask = onp.reshape(mask, (-1,) + tuple(core.shape(mask)[2:]))
        outputs = self.layer(folded, **self._inner_kwargs(folded_mask, training))
        lead = (batch, time) if None not in (batch, time) else ((-1, time) if time else (batch, -1))
        return onp.reshape(outputs, lead + tuple(core.shape(outputs)[1:]))

    def _per_step(self, inputs, training):
        kwargs = self._inner_kwargs(None, training)
        steps = control.map(lambda x_t: self.layer(x_t, **kwargs), arrays.swapaxes(inputs, 0, 1))
        return arrays.swapaxes(steps, 0, 1)

    def compute_output_spec(self, inputs, training=None, mask=None):
        self._check_inputs(inputs.shape)
        inner = self.layer.compute_output_shape((None,) + tuple(inputs.shape[2:]))
        return KerasTensor(tuple(inputs.shape[:2]) + tuple(inner[1:]), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return self.compute_output_spec(KerasTensor(input_shape, self.compute_dtype)).shape

    def compute_mask(self, inputs, previous_mask):
        return previous_mask

    def get_config(self):
        return {**super().get_config(), "layer": serialization.serialize_keras_object(self.layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        layer = deserialize_layer(config.pop("layer"), custom_objects)
        return cls(layer, **config)
