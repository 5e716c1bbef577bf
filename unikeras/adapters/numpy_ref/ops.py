"""NumPy implementations of the ops: the reference semantics for every backend.

Dtype rules come from `unikeras.common.dtypes.result_type` so that results match the
other backends bit for bit in dtype; Python scalars are weak.
"""
import builtins

import numpy as np

from unikeras import config
from unikeras.common import dtypes
from unikeras.common.ops.reductions import sum_dtype


def _dtype_of(x):
    if isinstance(x, (bool, int, float)):
        return x
    return dtypes.standardize_dtype(x.dtype)


def _promote(x1, x2):
    dtype = dtypes.result_type(_dtype_of(x1), _dtype_of(x2))
    return np.asarray(x1, dtype), np.asarray(x2, dtype)


def _float(x):
    x = np.asarray(x)
    return x if dtypes.is_float(x.dtype) else x.astype(config.floatx())


def _binary(fn):
    def apply(x1, x2):
        a, b = _promote(x1, x2)
        return np.asarray(fn(a, b))
    apply.__name__ = fn.__name__
    return apply


add = _binary(np.add)
subtract = _binary(np.subtract)
multiply = _binary(np.multiply)
maximum = _binary(np.maximum)
minimum = _binary(np.minimum)
equal = _binary(np.equal)
not_equal = _binary(np.not_equal)
greater = _binary(np.greater)
greater_equal = _binary(np.greater_equal)
less = _binary(np.less)
less_equal = _binary(np.less_equal)


def divide(x1, x2):
    a, b = _promote(x1, x2)
    dtype = a.dtype if dtypes.is_float(a.dtype) else config.floatx()
    return np.asarray(np.true_divide(a, b), dtype=dtype)


def power(x1, x2):
    a, b = _promote(x1, x2)
    if a.dtype == bool:   # b ** e is 0 only for 0 ** 1: stays bool
        return np.logical_or(a, np.logical_not(b))
    return np.asarray(np.power(a, b))


def negative(x):
    return np.negative(np.asarray(x))


def absolute(x):
    return np.absolute(np.asarray(x))


def sign(x):
    return np.sign(np.asarray(x))


def square(x):
    x = np.asarray(x)
    if x.dtype == bool:   # 0/1 squares to itself, as int32
        return x.astype("int32")
    return np.square(x)


def sqrt(x):
    return np.sqrt(_float(x))


def exp(x):
    return np.exp(_float(x))


def log(x):
    return np.log(_float(x))


def tanh(x):
    return np.tanh(_float(x))


def clip(x, x_min, x_max):
    # A Python scalar x takes the dtype convert_to_tensor gives it (floatx, int32).
    x = np.asarray(x, dtypes.result_type(x)) if isinstance(x, (int, float)) else np.asarray(x)
    if x.dtype == bool:
        x = x.astype("int32")
    return np.clip(x, x_min, x_max).astype(x.dtype)


def where(condition, x1=None, x2=None):
    a, b = _promote(x1, x2)
    return np.where(np.asarray(condition), a, b)


_SUM_DTYPE = {}   # input dtype -> sum's result dtype (small integers widen: sum_dtype)


def sum(x, axis=None, keepdims=False):
    x = np.asarray(x)
    dt = _SUM_DTYPE.get(x.dtype)
    if dt is None:
        dt = _SUM_DTYPE[x.dtype] = sum_dtype(x.dtype)
    return np.asarray(np.sum(x, axis=axis, keepdims=keepdims, dtype=dt))


def mean(x, axis=None, keepdims=False):
    x = _float(x)
    return np.asarray(np.mean(x, axis=axis, keepdims=keepdims, dtype=x.dtype))


def max(x, axis=None, keepdims=False, initial=None):
    kw = {} if initial is None else {"initial": initial}
    return np.asarray(np.max(np.asarray(x), axis=axis, keepdims=keepdims, **kw))


def min(x, axis=None, keepdims=False, initial=None):
    kw = {} if initial is None else {"initial": initial}
    return np.asarray(np.min(np.asarray(x), axis=axis, keepdims=keepdims, **kw))


def argmax(x, axis=None, keepdims=False):
    return np.asarray(np.argmax(np.asarray(x), axis=axis, keepdims=keepdims), dtype="int32")


def reshape(x, newshape):
    return np.reshape(np.asarray(x), newshape)


def transpose(x, axes=None):
    return np.transpose(np.asarray(x), axes)


def expand_dims(x, axis):
    return np.expand_dims(np.asarray(x), axis)


def squeeze(x, axis=None):
    return np.squeeze(np.asarray(x), axis)


def concatenate(xs, axis=0):
    dtype = dtypes.result_type(*[_dtype_of(np.asarray(x)) for x in xs])
    return np.concatenate([np.asarray(x, dtype) for x in xs], axis=axis)


def matmul(x1, x2):
    a, b = _promote(x1, x2)
    if a.dtype in (np.bool_, np.int8, np.uint8):
        a, b = a.astype("int32"), b.astype("int32")
    return np.asarray(np.matmul(a, b))


def get_item(x, key):
    return np.asarray(np.asarray(x)[key])


def zeros(shape, dtype=None):
    return np.zeros(shape, dtypes.standardize_dtype(dtype))


def ones(shape, dtype=None):
    return np.ones(shape, dtypes.standardize_dtype(dtype))


def full(shape, fill_value, dtype=None):
    return np.full(shape, fill_value, dtypes.standardize_dtype(dtype))   # None: floatx


def zeros_like(x, dtype=None):
    return np.zeros_like(np.asarray(x), dtype=dtype and dtypes.standardize_dtype(dtype))


def ones_like(x, dtype=None):
    return np.ones_like(np.asarray(x), dtype=dtype and dtypes.standardize_dtype(dtype))


def arange(start, stop=None, step=None, dtype=None):
    step = 1 if step is None else step
    dtype = dtype or dtypes.result_type(start, *(s for s in (stop, step) if s is not None))
    return np.arange(start, stop, step, dtype=dtypes.standardize_dtype(dtype))


# --- nn ------------------------------------------------------------------------------------
def relu(x):
    x = _float(x)
    return np.maximum(x, np.zeros((), x.dtype))


def sigmoid(x):
    x = _float(x)
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    e = np.exp(x[~pos])
    out[~pos] = e / (1.0 + e)
    return out


def softmax(x, axis=-1):
    x = _float(x)
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(x, axis=-1):
    x = _float(x)
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    x = np.asarray(x).astype("int64")
    out = (x[..., None] == np.arange(num_classes)).astype(dtypes.standardize_dtype(dtype))
    return np.moveaxis(out, -1, axis) if axis != -1 else out


def dense(x, kernel, bias=None):
    out = matmul(x, kernel)
    return out if bias is None else add(out, bias)


# --- core ----------------------------------------------------------------------------------
def cast(x, dtype):
    return np.asarray(x).astype(dtypes.standardize_dtype(dtype))


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    if dtype is None and isinstance(x, float):
        dtype = config.floatx()
    elif dtype is None and isinstance(x, builtins.int) and not isinstance(x, bool):
        dtype = "int32"
    if dtype is None and not isinstance(x, np.ndarray):
        arr = np.asarray(x)
        if arr.dtype == np.float64:
            dtype = config.floatx()
        elif arr.dtype == np.int64 and not isinstance(x, np.generic):
            dtype = "int32"
        return arr if dtype is None else arr.astype(dtype)
    return np.asarray(x, dtype=dtype and dtypes.standardize_dtype(dtype))


def convert_to_numpy(x):
    return np.asarray(x)


def stop_gradient(variable):
    return np.asarray(variable)


def shape(x):
    return tuple(np.shape(x))


# --- random --------------------------------------------------------------------------------
def _rng(seed):
    if seed is None:
        return np.random.default_rng()
    return np.random.default_rng(np.asarray(seed, dtype="int64").ravel().tolist()
                                 if not isinstance(seed, builtins.int) else seed)


def random_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    return (_rng(seed).standard_normal(shape) * stddev + mean).astype(dtypes.standardize_dtype(dtype))


def random_uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    return _rng(seed).uniform(minval, maxval, shape).astype(dtypes.standardize_dtype(dtype))


def random_dropout(inputs, rate, noise_shape=None, seed=None):
    x = _float(inputs)
    keep = _rng(seed).uniform(size=noise_shape or x.shape) >= rate
    return np.where(keep, x / (1 - rate), np.zeros((), x.dtype)).astype(x.dtype)


# Further op families, one module each (each defines __all__).
from unikeras.adapters.numpy_ref.ops_elementwise import *  # noqa: E402,F401,F403
from unikeras.adapters.numpy_ref.ops_reductions import *  # noqa: E402,F401,F403
from unikeras.adapters.numpy_ref.ops_arrays import *  # noqa: E402,F401,F403
from unikeras.adapters.numpy_ref.ops_neural import *  # noqa: E402,F401,F403
from unikeras.adapters.numpy_ref.ops_linalg import *  # noqa: E402,F401,F403
from unikeras.adapters.numpy_ref.ops_control import *  # noqa: E402,F401,F403
from unikeras.adapters.numpy_ref.ops_image import *  # noqa: E402,F401,F403
from unikeras.adapters.numpy_ref.ops_random import *  # noqa: E402,F401,F403
from unikeras.adapters.numpy_ref.ops_recurrent import *  # noqa: E402,F401,F403
from unikeras.adapters.numpy_ref.ops_fused import *  # noqa: E402,F401,F403
