"""Activation layers: ReLU, LeakyReLU, PReLU, ELU, Softmax."""
from unikeras.common import activations, initializers
from unikeras.common.layers.arguments import describe
from unikeras.common.layers.core import _serialize
from unikeras.common.layers.layer import Layer
from unikeras.common.ops import core, nn, numpy as onp

__all__ = ["ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax"]


class _Elementwise(Layer):
    """A weightless element-wise layer: masks pass through, built from the start."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.built = True

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


class ReLU(_Elementwise):
    """`activations.relu`: x above `threshold` (capped at `max_value`), else
    `negative_slope * (x - threshold)`."""

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        if max_value is not None and max_value < 0:
            raise ValueError(f"{describe(self)}: max_value cannot be negative, got {max_value}.")
        for what, value in (("negative_slope", negative_slope), ("threshold", threshold)):
            if value is None or value < 0:
                raise ValueError(f"{describe(self)}: {what} must be a number >= 0, got {value!r}.")
        self.max_value, self.negative_slope, self.threshold = max_value, negative_slope, threshold

    def call(self, inputs):
        return activations.relu(inputs, negative_slope=self.negative_slope,
                                max_value=self.max_value, threshold=self.threshold)

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value,
                "negative_slope": self.negative_slope, "threshold": self.threshold}


class LeakyReLU(_Elementwise):
    """x for x >= 0, `negative_slope * x` below (`alpha` is the legacy name)."""

    def __init__(self, negative_slope=0.3, **kwargs):
        negative_slope = kwargs.pop("alpha", negative_slope)
        super().__init__(**kwargs)
        if negative_slope is None or negative_slope < 0:
            raise ValueError(f"{describe(self)}: negative_slope must be a number >= 0, got "
                             f"{negative_slope!r}.")
        self.negative_slope = negative_slope

    def call(self, inputs):
        return nn.leaky_relu(inputs, negative_slope=self.negative_slope)

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class ELU(_Elementwise):
    """x for x > 0, `alpha * (exp(x) - 1)` below."""

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = alpha

    def call(self, inputs):
        return nn.elu(inputs, alpha=self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class Softmax(_Elementwise):
    """Softmax over `axis` (an int or a tuple of axes). With `mask` (True = keep, broadcast
    against the inputs), masked positions get probability 0; a fully masked slice is all 0."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs, mask=None):
        if mask is not None:
            self._check_mask(inputs, mask)
            if onp.dtype(mask) != "bool":
                mask = core.cast(mask, "bool")
            inputs = onp.where(mask, inputs, _large_negative(onp.dtype(inputs)))
        if isinstance(self.axis, (tuple, list)) and len(self.axis) > 1:
            outputs = onp.exp(onp.subtract(inputs, onp.logsumexp(inputs, axis=tuple(self.axis),
                                                                 keepdims=True)))
        else:
            axis = self.axis[0] if isinstance(self.axis, (tuple, list)) else self.axis
            outputs = nn.softmax(inputs, axis=axis)
        if mask is not None:
            outputs = onp.multiply(outputs, core.cast(mask, onp.dtype(outputs)))
        return outputs

    def _check_mask(self, inputs, mask):
        shape, mask_shape = core.shape(inputs), core.shape(mask)
        ok = len(mask_shape) <= len(shape) and all(
            m is None or s is None or m in (1, s) for m, s in zip(mask_shape[::-1], shape[::-1]))
        if not ok:
            raise ValueError(f"{describe(self)}: the mask of shape {tuple(mask_shape)} does not "
                             f"broadcast to the inputs of shape {tuple(shape)}.")

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


def _large_negative(dtype):
    """A logit that softmax turns into 0 without overflowing `dtype`."""
    return -3e4 if dtype in ("float16", "bfloat16") else -1e9


class PReLU(Layer):
    """x for x >= 0, `alpha * x` below, with a learned `alpha` per input element (shared
    along `shared_axes`, e.g. the spatial axes for one slope per channel)."""

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None, alpha_constraint=None,
                 shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer, self.alpha_constraint = alpha_regularizer, alpha_constraint
        if shared_axes is None or isinstance(shared_axes, (list, tuple)):
            self.shared_axes = None if shared_axes is None else list(shared_axes)
        else:
            self.shared_axes = [shared_axes]

    def build(self, input_shape):
        shape = list(input_shape[1:])
        for axis in self.shared_axes or []:
            if not 1 <= axis < len(input_shape):
                raise ValueError(f"{describe(self)}: shared axis {axis} is out of range for "
                                 f"inputs of shape {tuple(input_shape)} (axes 1.."
                                 f"{len(input_shape) - 1}).")
            shape[axis - 1] = 1
        if any(d is None for d in shape):
            raise ValueError(f"{describe(self)}: the non-shared axes must be known, got input "
                             f"shape {tuple(input_shape)} with shared_axes {self.shared_axes}.")
        self.alpha = self.add_weight(shape=tuple(shape), initializer=self.alpha_initializer,
                                     regularizer=self.alpha_regularizer,
                                     constraint=self.alpha_constraint, name="alpha")
        self.built = True

    def call(self, inputs):
        negative = onp.multiply(self.alpha, onp.minimum(inputs, 0.0))
        return onp.add(nn.relu(inputs), negative)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "alpha_initializer": _serialize(self.alpha_initializer),
                "alpha_regularizer": _serialize(self.alpha_regularizer),
                "alpha_constraint": _serialize(self.alpha_constraint),
                "shared_axes": self.shared_axes}
