"""Regularization layers: SpatialDropout1D/2D/3D, GaussianDropout, GaussianNoise,
AlphaDropout, ActivityRegularization.

The noise layers act only when called with `training=True` (torch `.train()`, nnx
`.train()`, `training=True` under tf) and are the identity otherwise; their randomness
comes from a SeedGenerator, so compiled steps stay pure.
"""
import math

from unikeras.common.layers.arguments import check_rank, describe, standardize_data_format
from unikeras.common.layers.core import Dropout, concrete_noise_shape
from unikeras.common.layers.input_spec import InputSpec
from unikeras.common.layers.layer import Layer
from unikeras.common.ops import core, numpy as onp, random
from unikeras.common.seed_generator import SeedGenerator

__all__ = ["SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianDropout",
           "GaussianNoise", "AlphaDropout", "ActivityRegularization"]

# SELU's constants: AlphaDropout sets dropped units to SELU's negative saturation value.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _sample_shape(x, shape=None):
    """`shape` (default: the shape of `x`) for a random draw: sizes unknown until run time
    (a tf.function's dynamic batch) become scalar tensors measured on `x`."""
    static = core.shape(x)
    shape = static if shape is None else shape
    if None not in shape:
        return tuple(shape)
    rank = len(static)
    return tuple(onp.size(onp.get_item(x, tuple(slice(None) if j == i else 0 for j in range(rank))))
                 if d is None else d for i, d in enumerate(shape))


class _SpatialDropout(Dropout):
    """Dropout of whole feature maps: one keep/drop draw per (sample, channel), shared by
    all `rank` spatial positions."""

    rank = None

    def __init__(self, rate, data_format=None, seed=None, name=None, dtype=None):
        super().__init__(rate, seed=seed, name=name, dtype=dtype)
        self.data_format = standardize_data_format(self, data_format)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _noise_shape(self, inputs):
        shape = core.shape(inputs)
        check_rank(self, shape, self.rank, self.data_format)
        spatial = (1,) * self.rank
        if self.data_format == "channels_last":
            return (shape[0],) + spatial + (shape[-1],)
        return (shape[0], shape[1]) + spatial

    def get_config(self):
        return {"rate": self.rate, "seed": self.seed, "name": self.name, "dtype": self.dtype_name,
                "data_format": self.data_format}


class SpatialDropout1D(_SpatialDropout):
    """Drops entire channels of (batch, steps, channels) inputs."""

    rank = 1

    def __init__(self, rate, seed=None, name=None, dtype=None):
        super().__init__(rate, data_format="channels_last", seed=seed, name=name, dtype=dtype)

    def get_config(self):
        config = super().get_config()
        del config["data_format"]
        return config


class SpatialDropout2D(_SpatialDropout):
    """Drops entire channels of 4D inputs (channels_last or channels_first)."""

    rank = 2


class SpatialDropout3D(_SpatialDropout):
    """Drops entire channels of 5D inputs (channels_last or channels_first)."""

    rank = 3


class _Noise(Layer):
    """A layer that perturbs its inputs in training only (`active`: the noise is not off)."""

    def __init__(self, seed=None, active=True, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = SeedGenerator(seed) if active else None
        self.supports_masking = True
        self.built = True

    def call(self, inputs, training=False):
        if training and self.seed_generator is not None:
            return self._perturb(inputs)
        return inputs

    def compute_output_spec(self, inputs, training=False):
        return inputs

    def _check_rate(self, rate):
        if not 0 <= rate < 1:
            raise ValueError(f"{describe(self)}: rate must be in [0, 1), got {rate!r}.")
        return rate


class GaussianDropout(_Noise):
    """Multiplies inputs by noise from N(1, rate / (1 - rate)): the mean is kept, the variance
    is that of dropout with this rate."""

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(seed=seed, active=rate > 0, **kwargs)
        self.rate = self._check_rate(rate)

    def _perturb(self, inputs):
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        noise = random.normal(_sample_shape(inputs), mean=1.0, stddev=stddev,
                              dtype=onp.dtype(inputs), seed=self.seed_generator)
        return onp.multiply(inputs, noise)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class GaussianNoise(_Noise):
    """Adds zero-mean Gaussian noise of standard deviation `stddev` (in [0, 1])."""

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(seed=seed, active=stddev > 0, **kwargs)
        if not 0 <= stddev <= 1:
            raise ValueError(f"{describe(self)}: stddev must be in [0, 1], got {stddev!r}.")
        self.stddev = stddev

    def _perturb(self, inputs):
        noise = random.normal(_sample_shape(inputs), mean=0.0, stddev=self.stddev,
                              dtype=onp.dtype(inputs), seed=self.seed_generator)
        return onp.add(inputs, noise)

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class AlphaDropout(_Noise):
    """Dropout for SELU networks: dropped units take SELU's saturation value and an affine
    correction keeps inputs of mean 0 and variance 1 at mean 0 and variance 1."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(seed=seed, active=rate > 0, **kwargs)
        self.rate = self._check_rate(rate)
        self.noise_shape = noise_shape

    def _perturb(self, inputs):
        dtype = onp.dtype(inputs)
        shape = _sample_shape(inputs, concrete_noise_shape(self, self.noise_shape, inputs))
        keep = core.cast(onp.greater_equal(random.uniform(shape, dtype=dtype,
                                                          seed=self.seed_generator), self.rate),
                         dtype)
        saturated = -_SELU_ALPHA * _SELU_SCALE
        scale = ((1 - self.rate) * (1 + self.rate * saturated ** 2)) ** -0.5
        shift = -scale * saturated * self.rate
        dropped = onp.add(onp.multiply(inputs, keep),
                          onp.multiply(saturated, onp.subtract(1.0, keep)))
        return onp.add(onp.multiply(dropped, scale), shift)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed,
                "noise_shape": self.noise_shape}


class ActivityRegularization(Layer):
    """Returns its inputs; adds `l1 * sum|x| + l2 * sum x^2` (divided by the batch size) to
    the layer's losses, which reach `model.losses` and the training loss."""

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        from unikeras.common import regularizers
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.l1, self.l2 = l1, l2
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "l1": self.l1, "l2": self.l2}
