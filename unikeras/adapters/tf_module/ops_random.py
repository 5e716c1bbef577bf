"""tensorflow implementations of the random op family, on the stateless tf.random ops
(so they are deterministic given the seed and work inside tf.function)."""
import tensorflow as tf

from unikeras.adapters.tf_module.ops import _FLOATS, _TF, _as, _seed, _shape_arg, _t
from unikeras.common import dtypes

__all__ = ["random_truncated_normal", "random_randint", "random_categorical", "random_shuffle",
           "random_gamma", "random_beta", "random_binomial"]


def _dt(dtype):
    return _TF[dtypes.standardize_dtype(dtype)]


def _sample_dt(d):
    return d if d in (tf.float32, tf.float64) else tf.float32


def _cast(x, d):
    return x if x.dtype is d else tf.cast(x, d)


def random_truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    d = _dt(dtype)
    sd = d if d in _FLOATS else tf.float32
    out = tf.random.stateless_truncated_normal(_shape_arg(shape), seed=_seed(seed),
                                               mean=_as(mean, sd.name),
                                               stddev=_as(stddev, sd.name), dtype=sd)
    return _cast(out, d)


def random_randint(shape, minval, maxval, dtype="int32", seed=None):
    d = _dt(dtype)
    sd = tf.int32 if d in (tf.int8, tf.int16, tf.int32, tf.uint8, tf.uint16) else tf.int64
    out = tf.random.stateless_uniform(_shape_arg(shape), seed=_seed(seed),
                                      minval=_as(minval, sd.name), maxval=_as(maxval, sd.name),
                                      dtype=sd)
    return _cast(out, d)


def random_categorical(logits, num_samples, dtype="int32", seed=None):
    d = _dt(dtype)
    logits = _t(logits)
    if logits.dtype not in _FLOATS:
        logits = tf.cast(logits, tf.float32)
    sd = tf.int32 if d is tf.int32 else tf.int64
    out = tf.random.stateless_categorical(logits, int(num_samples), seed=_seed(seed), dtype=sd)
    return _cast(out, d)


def random_shuffle(x, axis=0, seed=None):
    x = _t(x)
    axis = int(axis) % x.shape.rank
    n = tf.shape(x)[axis]
    # Shuffle an index vector and gather (gather has a gradient; StatelessShuffle has none).
    perm = tf.random.experimental.stateless_shuffle(tf.range(n), seed=_seed(seed))
    return tf.gather(x, perm, axis=axis)


def random_gamma(shape, alpha, dtype=None, seed=None):
    d = _dt(dtype)
    sd = _sample_dt(d)
    out = tf.random.stateless_gamma(_shape_arg(shape), seed=_seed(seed),
                                    alpha=_as(alpha, sd.name), dtype=sd)
    return _cast(out, d)


def random_beta(shape, alpha, beta, dtype=None, seed=None):
    d = _dt(dtype)
    sd = _sample_dt(d)
    shape = list(_shape_arg(shape))
    both = tf.stack([tf.broadcast_to(_as(alpha, sd.name), shape),
                     tf.broadcast_to(_as(beta, sd.name), shape)])
    g = tf.random.stateless_gamma([2] + shape, seed=_seed(seed), alpha=both, dtype=sd)
    return _cast(g[0] / (g[0] + g[1]), d)


def random_binomial(shape, counts, probabilities, dtype=None, seed=None):
    d = _dt(dtype)
    sd = d if d in (tf.float16, tf.float32, tf.float64, tf.int32, tf.int64) else tf.float32
    pd = tf.float64 if sd is tf.float64 else tf.float32
    out = tf.random.stateless_binomial(_shape_arg(shape), seed=_seed(seed),
                                       counts=_as(counts, pd.name),
                                       probs=_as(probabilities, pd.name), output_dtype=sd)
    return _cast(out, d)
