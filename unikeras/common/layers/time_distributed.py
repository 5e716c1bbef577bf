"""TimeDistributed: applies a layer to every time step of (batch, time, ...) inputs."""
from unikeras.common.layers.arguments import describe
from unikeras.common.layers.core_extra import Wrapper
from unikeras.common.layers.recurrent_cells import deserialize_layer, prefix_weight_paths
from unikeras.common.ops import arrays, core
from unikeras.common.symbolic import KerasTensor

__all__ = ["TimeDistributed"]


class TimeDistributed(Wrapper):
    """`layer` on each slice `inputs[:, t]`, as one call on the batch and time axes folded
    together; the sizes are read when the layer runs, so a graph keeps both dynamic."""

    def __init__(self, layer, **kwargs):
        super().__init__(layer, **kwargs)
        self.supports_masking = True

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
        self._check_inputs(core.shape(inputs))
        folded_mask = None if mask is None else arrays.fold_leading(mask, 2)
        outputs = self.layer(arrays.fold_leading(inputs, 2),
                             **self._inner_kwargs(folded_mask, training))
        return arrays.unfold_leading(outputs, inputs, 2)

    def compute_output_spec(self, inputs, training=None, mask=None):
        self._check_inputs(inputs.shape)
        inner = self.layer.compute_output_shape((None,) + tuple(inputs.shape[2:]))
        return KerasTensor(tuple(inputs.shape[:2]) + tuple(inner[1:]), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return self.compute_output_spec(KerasTensor(input_shape, self.compute_dtype)).shape

    def compute_mask(self, inputs, previous_mask):
        return previous_mask

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        layer = deserialize_layer(config.pop("layer"), custom_objects)
        return cls(layer, **config)
