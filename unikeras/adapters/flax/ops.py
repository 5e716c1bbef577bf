"""JAX implementations of the ops (backend name "jax").

Mirrors `unikeras.adapters.numpy_ref.ops`: same names, signatures, result dtypes and
values. Everything takes jax arrays or tracers (NumPy arrays and Python scalars mixed in
are converted; Python scalars are weak), returns jax arrays, and is differentiable and
jit-safe (no Python control flow on values).

Dtypes follow `unikeras.common.dtypes.result_type`. 64-bit dtypes exist only when the
user enables `jax_enable_x64`; otherwise they are silently canonicalized to their 32-bit
counterparts (int64 -> int32, float64 -> float32), as jax itself does.
"""
import builtins

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from unikeras import config
from unikeras.common import dtypes
from unikeras.common.seed_generator import draw_seed

_ARRAY = type(jnp.zeros(()))            # jaxlib ArrayImpl: the eager fast path
_JAX_ARRAY = jax.Array                  # ArrayImpl and every Tracer
_Tracer = jax.core.Tracer
_SCALARS = (bool, int, float)
_PY_SCALARS = frozenset((bool, int, float))
_WEAK_EXAMPLE = {bool: False, int: 0, float: 0.0}
_FLOATS = frozenset(jnp.dtype(d) for d in ("bfloat16", "float16", "float32", "float64"))
_SMALL_MATMUL = frozenset(jnp.dtype(d) for d in ("bool", "int8", "uint8"))
_BOOL = jnp.dtype("bool")
_INT32 = jnp.dtype("int32")
_INT8 = jnp.dtype("int8")

_convert = lax.convert_element_type
_floatx = config.floatx
_jax_config = jax.config


def _jit(fn):
    """`fn` behind jax.jit's C++ dispatch (faster eagerly than jnp's Python wrappers);
    `inline=True` keeps the jaxpr of an enclosing trace flat."""
    return jax.jit(fn, inline=True)


# --- dtype helpers -------------------------------------------------------------------------
_JDTYPES = {}
_PROMOTED = {}


def _jdtype(dtype):
    """The jax dtype for a dtype (canonicalized: no 64-bit types unless x64 is on)."""
    key = (dtype, _jax_config.jax_enable_x64)
    try:
        return _JDTYPES[key]
    except KeyError:
        name = dtypes.standardize_dtype(dtype)
        out = _JDTYPES[key] = jax.dtypes.canonicalize_dtype(jnp.dtype(name))
        return out


def _kind(x):
    """Promotion key of `x`: the Python type of a (weak) Python scalar, else a dtype."""
    t = type(x)
    if t is _ARRAY:
        return x.dtype
    if t in _PY_SCALARS:
        return t
    if isinstance(x, _SCALARS):  # subclasses, e.g. np.float64: weak, as in the reference
        return bool if isinstance(x, bool) else int if isinstance(x, int) else float
    dt = getattr(x, "dtype", None)
    return np.asarray(x).dtype if dt is None else dt


def _lattice(kind):
    return _WEAK_EXAMPLE[kind] if kind in _WEAK_EXAMPLE else dtypes.standardize_dtype(kind)


def _result_jdtype(x1, x2):
    """jax dtype of `dtypes.result_type(x1, x2)`, cached per pair of kinds."""
    k1, k2 = _kind(x1), _kind(x2)
    key = (k1, k2, _floatx(), _jax_config.jax_enable_x64)
    jd = _PROMOTED.get(key)
    if jd is None:
        jd = _PROMOTED[key] = _jdtype(dtypes.result_type(_lattice(k1), _lattice(k2)))
    return jd


def _as(x, jd):
    """`x` as a jax value of jax dtype `jd`."""
    if type(x) is _ARRAY or isinstance(x, _JAX_ARRAY):
        return x if x.dtype == jd else _convert(x, jd)
    return jnp.asarray(np.asarray(x).astype(jd, copy=False))


def _j(x):
    """`x` as a jax array (NumPy / Python values converted like convert_to_tensor)."""
    return x if type(x) is _ARRAY or isinstance(x, _JAX_ARRAY) else convert_to_tensor(x)


def _promote_with_dtype(x1, x2):
    jd = _result_jdtype(x1, x2)
    # A Python scalar next to a tensor stays a Python scalar: jax treats it as weak and it
    # adopts jd, as in the reference. Two scalars (tensor-free op) are both converted.
    w1, w2 = type(x1) in _PY_SCALARS, type(x2) in _PY_SCALARS
    if w1 and w2:
        return _as(x1, jd), _as(x2, jd), jd
    return (x1 if w1 else _as(x1, jd)), (x2 if w2 else _as(x2, jd)), jd


def _promote(x1, x2):
    a, b, _ = _promote_with_dtype(x1, x2)
    return a, b


def _float(x):
    x = _j(x)
    return x if x.dtype in _FLOATS else _convert(x, _jdtype(_floatx()))


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def _binary(fn):
    name = fn.__name__
    fn = _jit(fn)

    def apply(x1, x2):
        if type(x1) is _ARRAY and type(x2) is _ARRAY and x1.dtype == x2.dtype:
            return fn(x1, x2)
        a, b = _promote(x1, x2)
        return fn(a, b)
    apply.__name__ = apply.__qualname__ = name
    return apply


add = _binary(jnp.add)
subtract = _binary(jnp.subtract)
multiply = _binary(jnp.multiply)
maximum = _binary(jnp.maximum)
minimum = _binary(jnp.minimum)
equal = _binary(jnp.equal)
not_equal = _binary(jnp.not_equal)
greater = _binary(jnp.greater)
greater_equal = _binary(jnp.greater_equal)
less = _binary(jnp.less)
less_equal = _binary(jnp.less_equal)
_add = add


def divide(x1, x2):
    a, b, jd = _promote_with_dtype(x1, x2)
    out = jnp.true_divide(a, b)
    if jd not in _FLOATS:
        jd = _jdtype(_floatx())
    return out if out.dtype == jd else _convert(out, jd)


def power(x1, x2):
    a, b, jd = _promote_with_dtype(x1, x2)
    if jd == _BOOL:  # NumPy (the reference) computes bool ** bool in int8
        a, b = _as(a, _INT8), _as(b, _INT8)
    return jnp.power(a, b)


def negative(x):
    return jnp.negative(_j(x))


def absolute(x):
    return jnp.absolute(_j(x))


def sign(x):
    return jnp.sign(_j(x))


def square(x):
    x = _j(x)
    return jnp.square(_convert(x, _INT8) if x.dtype == _BOOL else x)  # int8, as NumPy


def sqrt(x):
    return jnp.sqrt(_float(x))


def exp(x):
    return jnp.exp(_float(x))


def log(x):
    return jnp.log(_float(x))


def tanh(x):
    return jnp.tanh(_float(x))


def clip(x, x_min, x_max):
    x = _j(x)
    if x.dtype == _BOOL:
        x = _convert(x, _INT32)
    out = jnp.clip(x, x_min, x_max)
    return out if out.dtype == x.dtype else _convert(out, x.dtype)


def where(condition, x1=None, x2=None):
    if x1 is None or x2 is None:
        raise ValueError("where: the one-argument form (indices of non-zeros) is not supported; "
                         "pass x1 and x2.")
    a, b = _promote(x1, x2)
    return jnp.where(condition, a, b)


# --- reductions ----------------------------------------------------------------------------
def sum(x, axis=None, keepdims=False):
    x = _j(x)
    dtype = _INT32 if x.dtype == _BOOL else x.dtype
    return jnp.sum(x, axis=_axis(axis), keepdims=keepdims, dtype=dtype)


def mean(x, axis=None, keepdims=False):
    x = _float(x)
    return jnp.mean(x, axis=_axis(axis), keepdims=keepdims, dtype=x.dtype)


def max(x, axis=None, keepdims=False, initial=None):
    return jnp.max(_j(x), axis=_axis(axis), keepdims=keepdims, initial=initial)


def min(x, axis=None, keepdims=False, initial=None):
    return jnp.min(_j(x), axis=_axis(axis), keepdims=keepdims, initial=initial)


def argmax(x, axis=None, keepdims=False):
    out = jnp.argmax(_j(x), axis=axis, keepdims=keepdims)
    return out if out.dtype == _INT32 else _convert(out, _INT32)


# --- shapes --------------------------------------------------------------------------------
def reshape(x, newshape):
    return jnp.reshape(_j(x), newshape)


def transpose(x, axes=None):
    return jnp.transpose(_j(x), axes)


def expand_dims(x, axis):
    return jnp.expand_dims(_j(x), _axis(axis))


def squeeze(x, axis=None):
    return jnp.squeeze(_j(x), _axis(axis))


def concatenate(xs, axis=0):
    first = xs[0] if len(xs) else None
    if type(first) is _ARRAY and builtins.all(
            type(x) is _ARRAY and x.dtype == first.dtype for x in xs):
        return jnp.concatenate(xs, axis=axis)
    ds = [x if isinstance(x, _JAX_ARRAY) or isinstance(x, np.ndarray) else np.asarray(x) for x in xs]
    jd = _jdtype(dtypes.result_type(*[x.dtype for x in ds]))
    return jnp.concatenate([_as(x, jd) for x in ds], axis=axis)


def matmul(x1, x2):
    if type(x1) is _ARRAY and type(x2) is _ARRAY and x1.dtype == x2.dtype \
            and x1.dtype in _FLOATS:
        return _jnp_matmul(x1, x2)
    a, b, jd = _promote_with_dtype(x1, x2)
    a, b = _as(a, jd), _as(b, jd)
    if jd in _SMALL_MATMUL:
        a, b = _convert(a, _INT32), _convert(b, _INT32)
    return _jnp_matmul(a, b)


def _index(k):
    if isinstance(k, list):
        return np.asarray(k)
    if isinstance(k, tuple):
        return tuple(np.asarray(i) if isinstance(i, list) else i for i in k)
    return k


def get_item(x, key):
    return _j(x)[_index(key)]


# --- creation ------------------------------------------------------------------------------
def zeros(shape, dtype=None):
    return jnp.zeros(shape, _jdtype(dtype))


def ones(shape, dtype=None):
    return jnp.ones(shape, _jdtype(dtype))


def full(shape, fill_value, dtype=None):
    if dtype is None:
        dt = getattr(fill_value, "dtype", None)
        dtype = dt if dt is not None else dtypes.result_type(fill_value)
    return jnp.full(shape, fill_value, _jdtype(dtype))


def zeros_like(x, dtype=None):
    return jnp.zeros_like(_j(x), dtype=dtype and _jdtype(dtype))


def ones_like(x, dtype=None):
    return jnp.ones_like(_j(x), dtype=dtype and _jdtype(dtype))


def arange(start, stop=None, step=1, dtype=None):
    dtype = dtype or dtypes.result_type(*(s for s in (start, stop, step) if s is not None))
    jd = _jdtype(dtype)
    if jd == _BOOL:  # jax has no bool iota
        return _convert(jnp.arange(start, stop, step, dtype=_INT32), jd)
    return jnp.arange(start, stop, step, dtype=jd)


# --- nn ------------------------------------------------------------------------------------
def relu(x):
    return jax.nn.relu(_float(x))


def sigmoid(x):
    return jax.nn.sigmoid(_float(x))


def softmax(x, axis=-1):
    return jax.nn.softmax(_float(x), axis=axis)


def log_softmax(x, axis=-1):
    return jax.nn.log_softmax(_float(x), axis=axis)


def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    if sparse:
        raise ValueError("one_hot: sparse=True is not supported.")
    x = _j(x)
    if not jnp.issubdtype(x.dtype, jnp.integer):
        x = _convert(x, _INT32)
    return jax.nn.one_hot(x, int(num_classes), dtype=_jdtype(dtype), axis=axis)


def dense(x, kernel, bias=None):
    """`x @ kernel (+ bias)` with the kernel laid out (in, out)."""
    if type(x) is _ARRAY and type(kernel) is _ARRAY and x.dtype == kernel.dtype \
            and x.dtype in _FLOATS:
        out = _jnp_matmul(x, kernel)
        if bias is None:
            return out
        if type(bias) is _ARRAY and bias.dtype == out.dtype:
            return _jnp_add(out, bias)
        return add(out, bias)
    out = matmul(x, kernel)
    return out if bias is None else add(out, bias)


# --- core ----------------------------------------------------------------------------------
def cast(x, dtype):
    jd = _jdtype(dtype)
    if isinstance(x, _JAX_ARRAY):
        return x if x.dtype == jd else _convert(x, jd)
    return jnp.asarray(np.asarray(x).astype(jd))


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    if sparse:
        raise ValueError("convert_to_tensor: sparse tensors are not supported by the jax backend.")
    if ragged:
        raise ValueError("convert_to_tensor: ragged tensors are not supported by the jax backend.")
    if isinstance(x, _JAX_ARRAY):
        if dtype is None:
            return x
        jd = _jdtype(dtype)
        return x if x.dtype == jd else _convert(x, jd)
    if dtype is None:
        if isinstance(x, float):
            dtype = _floatx()
        elif isinstance(x, int) and not isinstance(x, bool):
            dtype = "int32"
        elif not isinstance(x, np.ndarray):
            try:
                arr = np.asarray(x)
            except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
                # A (nested) list holding tracers: let jax stack it.
                return jnp.asarray(x)
            if arr.dtype == np.float64:
                dtype = _floatx()
            elif arr.dtype == np.int64 and not isinstance(x, np.generic):
                dtype = "int32"
            if dtype is None:
                return jnp.asarray(arr)
            return jnp.asarray(arr.astype(_jdtype(dtype), copy=False))
        else:
            return jnp.asarray(x)
    jd = _jdtype(dtype)
    try:
        arr = np.asarray(x, dtype=jd)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        return jnp.asarray(x, dtype=jd)
    return jnp.asarray(arr)


def convert_to_numpy(x):
    return np.asarray(x)


def stop_gradient(variable):
    return lax.stop_gradient(_j(variable))


def shape(x):
    s = getattr(x, "shape", None)
    return tuple(np.shape(x)) if s is None else tuple(s)


# --- random --------------------------------------------------------------------------------
def _under_jit():
    """True while jax is staging a computation (jit, scan bodies, ...)."""
    return isinstance(jnp.zeros(()), _Tracer)


def _key(seed, op):
    if seed is None:
        if _under_jit():
            raise ValueError(
                f"{op}: seed=None cannot be used inside jax.jit (the drawn seed would be frozen "
                "into the compiled function and repeat on every call). Pass an integer seed "
                "or a unikeras.random.SeedGenerator whose state is part of the jitted state.")
        return jax.random.key(draw_seed())
    if isinstance(seed, int) and not isinstance(seed, bool):
        return jax.random.key(seed)
    if not isinstance(seed, _JAX_ARRAY):
        seed = jnp.asarray(np.asarray(seed))
    if jax.dtypes.issubdtype(seed.dtype, jax.dtypes.prng_key):
        if seed.ndim:
            raise ValueError(f"{op}: expected a single PRNG key, got a key array of shape {seed.shape}.")
        return seed
    if not jnp.issubdtype(seed.dtype, jnp.integer):
        raise ValueError(f"{op}: seed must be None, an int, or an integer seed tensor; got "
                         f"dtype {seed.dtype}.")
    if seed.shape == ():
        return jax.random.key(seed)
    if seed.shape == (2,):
        return jax.random.fold_in(jax.random.key(seed[0]), seed[1])
    raise ValueError(f"{op}: a seed tensor must have shape () or (2,), got {seed.shape}.")


def _shape(shape):
    return (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(d) for d in shape)


def random_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    jd = _jdtype(dtype)
    sample_dt = jd if jd in _FLOATS else _jdtype(_floatx())
    out = jax.random.normal(_key(seed, "random_normal"), _shape(shape), sample_dt) * stddev + mean
    return out if out.dtype == jd else _convert(out, jd)


def random_uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    jd = _jdtype(dtype)
    sample_dt = jd if jd in _FLOATS else _jdtype(_floatx())
    out = jax.random.uniform(_key(seed, "random_uniform"), _shape(shape), sample_dt,
                             minval, maxval)
    return out if out.dtype == jd else _convert(out, jd)


def random_dropout(inputs, rate, noise_shape=None, seed=None):
    x = _float(inputs)
    if noise_shape is None:
        noise_shape = x.shape
    else:
        noise_shape = tuple(x.shape[i] if d is None else int(d) for i, d in enumerate(noise_shape))
    keep = jax.random.uniform(_key(seed, "random_dropout"), noise_shape, x.dtype) >= rate
    out = jnp.where(keep, x / (1 - rate), jnp.zeros((), x.dtype))
    return out if out.dtype == x.dtype else _convert(out, x.dtype)
