"""Random ops. `seed` is an int, a SeedGenerator (stateful, jit-safe), or None.

Backends receive `seed` as None, a Python int, or a (2,) int32 tensor drawn from a
SeedGenerator; the same seed gives the same numbers on the same backend.
"""
from unikeras import config
from unikeras.common.ops.op import op
from unikeras.common.ops.shapes import spec
from unikeras.common.symbolic import KerasTensor


def _draw(seed):
    """Turn a SeedGenerator into the seed tensor for this call (advancing its state)."""
    return seed.next() if hasattr(seed, "next") else seed


@op(impl="random_normal")
def _normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    return KerasTensor(tuple(shape), dtype or config.floatx())


@op(impl="random_uniform")
def _uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    return KerasTensor(tuple(shape), dtype or config.floatx())


@op(impl="random_dropout")
def _dropout(inputs, rate, noise_shape=None, seed=None):
    return KerasTensor(*spec(inputs))


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Samples from a normal distribution N(mean, stddev**2)."""
    return _normal(tuple(shape), mean, stddev, dtype, _draw(seed))


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Samples from a uniform distribution on [minval, maxval)."""
    return _uniform(tuple(shape), minval, maxval, dtype, _draw(seed))


def dropout(inputs, rate, noise_shape=None, seed=None):
    """Zero entries with probability `rate` and scale the rest by 1 / (1 - rate)."""
    if not 0 <= rate < 1:
        raise ValueError(f"dropout: rate must be in [0, 1), got {rate}.")
    return _dropout(inputs, rate, noise_shape, _draw(seed))
