"""Random ops. `seed` is an int, a SeedGenerator (stateful, jit-safe), or None.

Backends receive `seed` as None, a Python int, or a (2,) int32 tensor drawn from a
SeedGenerator; the same seed gives the same numbers on the same backend.
"""
from unikeras import config
from unikeras.common.ops.op import op
from unikeras.common.ops.shapes import canonical_axis, spec
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


@op(impl="random_truncated_normal")
def _truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    return KerasTensor(tuple(shape), dtype or config.floatx())


@op(impl="random_randint")
def _randint(shape, minval, maxval, dtype="int32", seed=None):
    return KerasTensor(tuple(shape), dtype)


@op(impl="random_categorical")
def _categorical(logits, num_samples, dtype="int32", seed=None):
    shape, _ = spec(logits)
    if len(shape) != 2:
        raise ValueError(f"categorical: logits must be 2D (batch, num_classes), got shape {shape}.")
    return KerasTensor((shape[0], int(num_samples)), dtype)


@op(impl="random_shuffle")
def _shuffle(x, axis=0, seed=None):
    shape, dtype = spec(x)
    if not shape:
        raise ValueError("shuffle: cannot shuffle a scalar.")
    canonical_axis("shuffle", axis, len(shape))
    return KerasTensor(shape, dtype)


@op(impl="random_gamma")
def _gamma(shape, alpha, dtype=None, seed=None):
    return KerasTensor(tuple(shape), dtype or config.floatx())


@op(impl="random_beta")
def _beta(shape, alpha, beta, dtype=None, seed=None):
    return KerasTensor(tuple(shape), dtype or config.floatx())


@op(impl="random_binomial")
def _binomial(shape, counts, probabilities, dtype=None, seed=None):
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


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Samples from N(mean, stddev**2) restricted to [mean - 2 stddev, mean + 2 stddev]
    (out-of-range draws are redrawn), the usual weight-initialization distribution."""
    return _truncated_normal(tuple(shape), mean, stddev, dtype, _draw(seed))


def randint(shape, minval, maxval, dtype="int32", seed=None):
    """Samples integers uniformly from [minval, maxval)."""
    return _randint(tuple(shape), minval, maxval, dtype, _draw(seed))


def categorical(logits, num_samples, dtype="int32", seed=None):
    """Draws `num_samples` class indices per row of 2D `logits` (unnormalized log
    probabilities), with replacement; returns shape (batch, num_samples)."""
    return _categorical(logits, int(num_samples), dtype, _draw(seed))


def shuffle(x, axis=0, seed=None):
    """Randomly permutes `x` along `axis` (one permutation shared by all other positions)."""
    return _shuffle(x, axis, _draw(seed))


def gamma(shape, alpha, dtype=None, seed=None):
    """Samples from the Gamma(alpha, 1) distribution (shape parameter `alpha`, scale 1)."""
    return _gamma(tuple(shape), alpha, dtype, _draw(seed))


def beta(shape, alpha, beta, dtype=None, seed=None):
    """Samples from the Beta(alpha, beta) distribution on [0, 1]."""
    return _beta(tuple(shape), alpha, beta, dtype, _draw(seed))


def binomial(shape, counts, probabilities, dtype=None, seed=None):
    """Samples the number of successes of `counts` Bernoulli(probabilities) trials, as
    `dtype` (floatx by default)."""
    return _binomial(tuple(shape), counts, probabilities, dtype, _draw(seed))
