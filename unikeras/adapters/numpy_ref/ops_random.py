"""NumPy implementations of the random op family (reference semantics)."""
import numpy as np

from unikeras.adapters.numpy_ref.ops import _rng
from unikeras.common import dtypes

__all__ = ["random_truncated_normal", "random_randint", "random_categorical", "random_shuffle",
           "random_gamma", "random_beta", "random_binomial"]


def _out(x, dtype):
    return np.asarray(x).astype(dtypes.standardize_dtype(dtype))


def random_truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    rng = _rng(seed)
    z = rng.standard_normal(shape)
    bad = np.abs(z) > 2
    while bad.any():                      # redraw the out-of-range entries
        z[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(z) > 2
    return _out(z * np.asarray(stddev) + np.asarray(mean), dtype)


def random_randint(shape, minval, maxval, dtype="int32", seed=None):
    return _out(_rng(seed).integers(np.asarray(minval), np.asarray(maxval), shape), dtype)


def random_categorical(logits, num_samples, dtype="int32", seed=None):
    logits = np.asarray(logits, "float64")
    # Gumbel-max: argmax(logits + Gumbel noise) is distributed as softmax(logits).
    g = _rng(seed).gumbel(size=(logits.shape[0], num_samples, logits.shape[1]))
    return _out(np.argmax(logits[:, None, :] + g, axis=-1), dtype)


def random_shuffle(x, axis=0, seed=None):
    x = np.asarray(x)
    return np.take(x, _rng(seed).permutation(x.shape[axis]), axis=axis)


def random_gamma(shape, alpha, dtype=None, seed=None):
    return _out(_rng(seed).gamma(np.asarray(alpha, "float64"), 1.0, shape), dtype)


def random_beta(shape, alpha, beta, dtype=None, seed=None):
    return _out(_rng(seed).beta(np.asarray(alpha, "float64"), np.asarray(beta, "float64"),
                                shape), dtype)


def random_binomial(shape, counts, probabilities, dtype=None, seed=None):
    return _out(_rng(seed).binomial(np.asarray(counts).astype("int64"),
                                    np.asarray(probabilities, "float64"), shape), dtype)
