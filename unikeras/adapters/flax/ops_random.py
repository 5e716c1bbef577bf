"""jax implementations of the random op family. Each sampler is jitted with the shape and
dtypes static; the PRNG key is derived inside it from (mode, seed) as in the base module."""
import jax
import jax.numpy as jnp

from unikeras.adapters.flax.ops import (_FLOATS, _convert, _jdtype, _make_key, _seed_parts,
                                        _shape_tuple, _static_jit)

__all__ = ["random_truncated_normal", "random_randint", "random_categorical", "random_shuffle",
           "random_gamma", "random_beta", "random_binomial"]

_F32 = jnp.dtype("float32")


def _cast(out, dtype):
    return out if out.dtype == dtype else _convert(out, dtype)


def _sample_dt(jd):
    return jd if jd in _FLOATS else _F32


def _truncated(seed, mean, stddev, mode, shape, dtype, sample_dtype):
    z = jax.random.truncated_normal(_make_key(mode, seed), -2.0, 2.0, shape, sample_dtype)
    return _cast(z * stddev + mean, dtype)


def _randint(seed, minval, maxval, mode, shape, dtype):
    return jax.random.randint(_make_key(mode, seed), shape, minval, maxval, dtype)


def _categorical(seed, logits, mode, num_samples, dtype):
    out = jax.random.categorical(_make_key(mode, seed), logits, axis=-1,
                                 shape=(num_samples, logits.shape[0]))
    return _cast(out.T, dtype)


def _shuffle(seed, x, mode, axis):
    return jax.random.permutation(_make_key(mode, seed), x, axis=axis, independent=False)


def _gamma(seed, alpha, mode, shape, dtype, sample_dtype):
    return _cast(jax.random.gamma(_make_key(mode, seed), alpha, shape, sample_dtype), dtype)


def _beta(seed, a, b, mode, shape, dtype, sample_dtype):
    return _cast(jax.random.beta(_make_key(mode, seed), a, b, shape, sample_dtype), dtype)


def _binomial(seed, n, p, mode, shape, dtype, sample_dtype):
    out = jax.random.binomial(_make_key(mode, seed), n, p, shape, sample_dtype)
    return _cast(out, dtype)


_S = ("mode", "shape", "dtype", "sample_dtype")
_truncated_j = _static_jit(_truncated, *_S)
_randint_j = _static_jit(_randint, "mode", "shape", "dtype")
_categorical_j = _static_jit(_categorical, "mode", "num_samples", "dtype")
_shuffle_j = _static_jit(_shuffle, "mode", "axis")
_gamma_j = _static_jit(_gamma, *_S)
_beta_j = _static_jit(_beta, *_S)
_binomial_j = _static_jit(_binomial, *_S)


def random_truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    mode, seed = _seed_parts(seed, "random_truncated_normal")
    jd = _jdtype(dtype)
    return _truncated_j(seed, mean, stddev, mode=mode, shape=_shape_tuple(shape), dtype=jd,
                        sample_dtype=_sample_dt(jd))


def random_randint(shape, minval, maxval, dtype="int32", seed=None):
    mode, seed = _seed_parts(seed, "random_randint")
    return _randint_j(seed, minval, maxval, mode=mode, shape=_shape_tuple(shape),
                      dtype=_jdtype(dtype))


def random_categorical(logits, num_samples, dtype="int32", seed=None):
    mode, seed = _seed_parts(seed, "random_categorical")
    logits = jnp.asarray(logits)
    if logits.dtype not in _FLOATS:
        logits = _convert(logits, _F32)
    return _categorical_j(seed, logits, mode=mode, num_samples=int(num_samples),
                          dtype=_jdtype(dtype))


def random_shuffle(x, axis=0, seed=None):
    mode, seed = _seed_parts(seed, "random_shuffle")
    x = jnp.asarray(x)
    return _shuffle_j(seed, x, mode=mode, axis=int(axis) % x.ndim)


def random_gamma(shape, alpha, dtype=None, seed=None):
    mode, seed = _seed_parts(seed, "random_gamma")
    jd = _jdtype(dtype)
    return _gamma_j(seed, alpha, mode=mode, shape=_shape_tuple(shape), dtype=jd,
                    sample_dtype=_sample_dt(jd))


def random_beta(shape, alpha, beta, dtype=None, seed=None):
    mode, seed = _seed_parts(seed, "random_beta")
    jd = _jdtype(dtype)
    return _beta_j(seed, alpha, beta, mode=mode, shape=_shape_tuple(shape), dtype=jd,
                   sample_dtype=_sample_dt(jd))


def random_binomial(shape, counts, probabilities, dtype=None, seed=None):
    mode, seed = _seed_parts(seed, "random_binomial")
    jd = _jdtype(dtype)
    return _binomial_j(seed, counts, probabilities, mode=mode, shape=_shape_tuple(shape),
                       dtype=jd, sample_dtype=_sample_dt(jd))
