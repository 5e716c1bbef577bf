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
from unikeras.common.ops.reductions import sum_dtype
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
    """The jax dtype for a dtype (None: floatx), canonicalized: no 64-bit types unless
    x64 is on."""
    key = (_floatx() if dtype is None else dtype, _jax_config.jax_enable_x64)
    try:
        return _JDTYPES[key]
    except KeyError:
        name = dtypes.standardize_dtype(key[0])
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


_NAMES = {}


def _dtype_name(dt):
    """Canonical dtype name of a NumPy/jax dtype (cached: `np.dtype.name` is slow)."""
    try:
        return _NAMES[dt]
    except KeyError:
        out = _NAMES[dt] = dtypes.standardize_dtype(dt)
        return out


def _lattice(kind):
    return _WEAK_EXAMPLE[kind] if kind in _WEAK_EXAMPLE else _dtype_name(kind)


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


def _array_arg(x):
    """Lists and tuples as NumPy arrays, so that they reach a jitted function as arrays."""
    return np.asarray(x) if isinstance(x, (list, tuple)) else x


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


def _static_jit(fn, *static):
    return jax.jit(fn, static_argnames=static, inline=True)


_true_divide = _jit(jnp.true_divide)


def divide(x1, x2):
    a, b, jd = _promote_with_dtype(x1, x2)
    out = _true_divide(a, b)
    if jd not in _FLOATS:
        jd = _jdtype(_floatx())
    return out if out.dtype == jd else _convert(out, jd)


def power(x1, x2):
    # Not behind jit: jnp.power turns a Python int exponent into an exact integer_pow.
    a, b, jd = _promote_with_dtype(x1, x2)
    if jd == _BOOL:  # b ** e is 0 only for 0 ** 1: stays bool
        return jnp.logical_or(_as(a, _BOOL), jnp.logical_not(_as(b, _BOOL)))
    return jnp.power(a, b)


def _unary(fn, to_float=False):
    name = fn.__name__
    fn = _jit(fn)
    if to_float:
        def apply(x):
            if type(x) is not _ARRAY or x.dtype not in _FLOATS:
                x = _float(x)
            return fn(x)
    else:
        def apply(x):
            return fn(x if type(x) is _ARRAY else _j(x))
    apply.__name__ = apply.__qualname__ = name
    return apply


negative = _unary(jnp.negative)
absolute = _unary(jnp.absolute)
sign = _unary(jnp.sign)
sqrt = _unary(jnp.sqrt, True)
exp = _unary(jnp.exp, True)
log = _unary(jnp.log, True)
tanh = _unary(jnp.tanh, True)
_square = _jit(jnp.square)


def square(x):
    x = _j(x)
    if x.dtype == _BOOL:   # 0/1 squares to itself, as int32
        return _convert(x, _INT32)
    return _square(x)


_clip = _jit(jnp.clip)


def clip(x, x_min, x_max):
    x = _j(x)
    if x.dtype == _BOOL:
        x = _convert(x, _INT32)
    out = _clip(x, _array_arg(x_min), _array_arg(x_max))
    return out if out.dtype == x.dtype else _convert(out, x.dtype)


_where = _jit(jnp.where)


def where(condition, x1=None, x2=None):
    if x1 is None or x2 is None:
        raise ValueError("where: the one-argument form (indices of non-zeros) is not supported; "
                         "pass x1 and x2.")
    a, b = _promote(x1, x2)
    return _where(_array_arg(condition), a, b)


# --- reductions ----------------------------------------------------------------------------
def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


_sum = _static_jit(lambda x, axis, keepdims, dtype: jnp.sum(x, axis, dtype, keepdims=keepdims),
                   "axis", "keepdims", "dtype")
_mean = _static_jit(lambda x, axis, keepdims, dtype: jnp.mean(x, axis, dtype, keepdims=keepdims),
                    "axis", "keepdims", "dtype")
_max = _static_jit(lambda x, axis, keepdims: jnp.max(x, axis, keepdims=keepdims), "axis", "keepdims")
_min = _static_jit(lambda x, axis, keepdims: jnp.min(x, axis, keepdims=keepdims), "axis", "keepdims")
_argmax = _static_jit(
    lambda x, axis, keepdims: jnp.argmax(x, axis, keepdims=keepdims).astype(_INT32),
    "axis", "keepdims")


_SUM_JDTYPE = {}   # input dtype -> result dtype of sum (small integers widen: sum_dtype)


def sum(x, axis=None, keepdims=False):
    x = _j(x)
    jd = _SUM_JDTYPE.get(x.dtype)
    if jd is None:
        jd = _SUM_JDTYPE[x.dtype] = _jdtype(sum_dtype(_dtype_name(x.dtype)))
    return _sum(x, axis=_axis(axis), keepdims=keepdims, dtype=jd)


def mean(x, axis=None, keepdims=False):
    x = _float(x)
    return _mean(x, axis=_axis(axis), keepdims=keepdims, dtype=x.dtype)


def max(x, axis=None, keepdims=False, initial=None):
    if initial is None:
        return _max(_j(x), axis=_axis(axis), keepdims=keepdims)
    return jnp.max(_j(x), axis=_axis(axis), keepdims=keepdims, initial=initial)


def min(x, axis=None, keepdims=False, initial=None):
    if initial is None:
        return _min(_j(x), axis=_axis(axis), keepdims=keepdims)
    return jnp.min(_j(x), axis=_axis(axis), keepdims=keepdims, initial=initial)


def argmax(x, axis=None, keepdims=False):
    return _argmax(_j(x), axis=axis, keepdims=keepdims)


# --- shapes --------------------------------------------------------------------------------
def _shape_arg(shape):
    if isinstance(shape, (int, np.integer)):
        return int(shape)
    return tuple(int(d) for d in shape)


_reshape = _static_jit(lambda x, newshape: jnp.reshape(x, newshape), "newshape")
_transpose = _static_jit(lambda x, axes: jnp.transpose(x, axes), "axes")
_expand_dims = _static_jit(lambda x, axis: jnp.expand_dims(x, axis), "axis")
_squeeze = _static_jit(lambda x, axis: jnp.squeeze(x, axis), "axis")
_concatenate = _static_jit(lambda xs, axis: jnp.concatenate(xs, axis), "axis")


def reshape(x, newshape):
    return _reshape(_j(x), newshape=_shape_arg(newshape))


def transpose(x, axes=None):
    return _transpose(_j(x), axes=None if axes is None else tuple(axes))


def expand_dims(x, axis):
    return _expand_dims(_j(x), axis=_axis(axis))


def squeeze(x, axis=None):
    return _squeeze(_j(x), axis=_axis(axis))


def concatenate(xs, axis=0):
    xs = list(xs)
    first = xs[0] if xs else None
    if not (type(first) is _ARRAY and builtins.all(
            type(x) is _ARRAY and x.dtype == first.dtype for x in xs)):
        xs = [x if isinstance(x, (_JAX_ARRAY, np.ndarray)) else np.asarray(x) for x in xs]
        jd = _jdtype(dtypes.result_type(*[_dtype_name(x.dtype) for x in xs]))
        xs = [_as(x, jd) for x in xs]
    return _concatenate(xs, axis=axis)


_matmul = _jit(jnp.matmul)


def matmul(x1, x2):
    if type(x1) is _ARRAY and type(x2) is _ARRAY and x1.dtype == x2.dtype \
            and x1.dtype in _FLOATS:
        return _matmul(x1, x2)
    a, b, jd = _promote_with_dtype(x1, x2)
    a, b = _as(a, jd), _as(b, jd)
    if jd in _SMALL_MATMUL:
        a, b = _convert(a, _INT32), _convert(b, _INT32)
    return _matmul(a, b)


_DYNAMIC = object()  # placeholder in a static index key for an integer array index


def _index_parts(key):
    """Split an index into a hashable static part and integer-array leaves, or None when
    it cannot go through the jitted path (bool masks, exotic index objects)."""
    if type(key) is not tuple:
        key = (key,)
    static, arrays = [], []
    for k in key:
        t = type(k)
        if k is None or k is Ellipsis or t is int:
            static.append(k)
        elif t is slice:
            parts = (k.start, k.stop, k.step)
            if not builtins.all(p is None or type(p) is int for p in parts):
                return None
            static.append(("slice",) + parts)
        elif isinstance(k, np.integer):
            static.append(int(k))
        else:
            if isinstance(k, (list, tuple)):
                k = np.asarray(k)
            dt = getattr(k, "dtype", None)
            if dt is None or not (np.issubdtype(dt, np.integer)
                                  if isinstance(dt, np.dtype) else False):
                return None
            static.append(_DYNAMIC)
            arrays.append(k)
    return tuple(static), arrays


def _rebuild_index(static, arrays):
    it = iter(arrays)
    out = []
    for k in static:
        if k is _DYNAMIC:
            out.append(next(it))
        elif type(k) is tuple:
            out.append(slice(*k[1:]))
        else:
            out.append(k)
    return tuple(out)


_get_item = _static_jit(lambda x, static, arrays: x[_rebuild_index(static, arrays)], "static")


def _index(k):
    if isinstance(k, list):
        return np.asarray(k)
    if isinstance(k, tuple):
        return tuple(np.asarray(i) if isinstance(i, list) else i for i in k)
    return k


def get_item(x, key):
    x = _j(x)
    parts = _index_parts(key)
    if parts is None:
        return x[_index(key)]
    return _get_item(x, parts[0], parts[1])


# --- creation ------------------------------------------------------------------------------
_zeros = _static_jit(lambda shape, dtype: jnp.zeros(shape, dtype), "shape", "dtype")
_ones = _static_jit(lambda shape, dtype: jnp.ones(shape, dtype), "shape", "dtype")


def zeros(shape, dtype=None):
    return _zeros(shape=_shape_arg(shape), dtype=_jdtype(dtype))


def ones(shape, dtype=None):
    return _ones(shape=_shape_arg(shape), dtype=_jdtype(dtype))


def full(shape, fill_value, dtype=None):
    # dtype None: floatx, whatever the fill value's type
    return jnp.full(_shape_arg(shape), fill_value, _jdtype(dtype))


def zeros_like(x, dtype=None):
    return jnp.zeros_like(_j(x), dtype=dtype and _jdtype(dtype))


def ones_like(x, dtype=None):
    return jnp.ones_like(_j(x), dtype=dtype and _jdtype(dtype))


def arange(start, stop=None, step=None, dtype=None):
    step = 1 if step is None else step
    dtype = dtype or dtypes.result_type(*(s for s in (start, stop, step) if s is not None))
    jd = _jdtype(dtype)
    if jd == _BOOL:  # jax has no bool iota
        return _convert(jnp.arange(start, stop, step, dtype=_INT32), jd)
    return jnp.arange(start, stop, step, dtype=jd)


# --- nn ------------------------------------------------------------------------------------
relu = _unary(jax.nn.relu, True)
sigmoid = _unary(jax.nn.sigmoid, True)
_softmax = _static_jit(lambda x, axis: jax.nn.softmax(x, axis=axis), "axis")
_log_softmax = _static_jit(lambda x, axis: jax.nn.log_softmax(x, axis=axis), "axis")
_one_hot = _static_jit(
    lambda x, num_classes, axis, dtype: jax.nn.one_hot(x, num_classes, dtype=dtype, axis=axis),
    "num_classes", "axis", "dtype")


def softmax(x, axis=-1):
    return _softmax(_float(x), axis=_axis(axis))


def log_softmax(x, axis=-1):
    return _log_softmax(_float(x), axis=_axis(axis))


def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    if sparse:
        raise ValueError("one_hot: sparse=True is not supported.")
    x = _j(x)
    if not np.issubdtype(x.dtype, np.integer):
        x = _convert(x, _INT32)  # truncates floats, as the reference's astype
    return _one_hot(x, num_classes=int(num_classes), axis=axis, dtype=_jdtype(dtype))


_dense = _jit(lambda x, kernel, bias: jnp.add(jnp.matmul(x, kernel), bias))


def dense(x, kernel, bias=None):
    """`x @ kernel (+ bias)` with the kernel laid out (in, out)."""
    if type(x) is _ARRAY and type(kernel) is _ARRAY and x.dtype == kernel.dtype \
            and x.dtype in _FLOATS:
        if bias is None:
            return _matmul(x, kernel)
        if type(bias) is _ARRAY and bias.dtype == x.dtype:
            return _dense(x, kernel, bias)
    out = matmul(x, kernel)
    return out if bias is None else add(out, bias)


# --- core ----------------------------------------------------------------------------------
_cast = _static_jit(lambda x, dtype: _convert(x, dtype), "dtype")


def cast(x, dtype):
    jd = _jdtype(dtype)
    if type(x) is _ARRAY or isinstance(x, _JAX_ARRAY):
        return x if x.dtype == jd else _cast(x, dtype=jd)
    return jnp.asarray(np.asarray(x).astype(jd))


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    if sparse:
        raise ValueError("convert_to_tensor: sparse tensors are not supported by the jax backend.")
    if ragged:
        raise ValueError("convert_to_tensor: ragged tensors are not supported by the jax backend.")
    if type(x) is _ARRAY or isinstance(x, _JAX_ARRAY):
        if dtype is None:
            return x
        jd = _jdtype(dtype)
        return x if x.dtype == jd else _convert(x, jd)
    if dtype is None:
        if isinstance(x, float):
            dtype = _floatx()
        elif isinstance(x, int) and not isinstance(x, bool):
            dtype = "int32"
        elif isinstance(x, np.ndarray):
            return jnp.asarray(x)
        else:
            try:
                arr = np.asarray(x)
            except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
                return jnp.asarray(x)  # a (nested) list holding tracers: let jax stack it
            if arr.dtype == np.float64:
                dtype = _floatx()
            elif arr.dtype == np.int64 and not isinstance(x, np.generic):
                dtype = "int32"
            else:
                return jnp.asarray(arr)
            return jnp.asarray(arr.astype(_jdtype(dtype), copy=False))
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
# A seed reaches the samplers as (mode, value): "int" a Python int in int32 range, "pair" a
# (2,) integer tensor from a SeedGenerator, "key" a ready jax PRNG key. The key is derived
# inside the jitted sampler so that tracers work and eager calls cost one dispatch.
_INT32_MAX = 2**31 - 1


def _under_jit():
    """True while jax is staging a computation (jit, scan/cond bodies, ...)."""
    return isinstance(jnp.zeros(()), _Tracer)


def _seed_parts(seed, op):
    if seed is None:
        if _under_jit():
            raise ValueError(
                f"{op}: seed=None cannot be used inside jax.jit (a seed drawn while tracing "
                "would be frozen into the compiled function and repeat on every call). Pass "
                "an integer seed or a unikeras.random.SeedGenerator (its state is then part "
                "of the jitted state).")
        return "int", draw_seed()
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, (bool, np.bool_)):
        seed = int(seed)
        if -_INT32_MAX - 1 <= seed <= _INT32_MAX:
            return "int", seed
        return "key", jax.random.key(seed)
    if not (type(seed) is _ARRAY or isinstance(seed, _JAX_ARRAY)):
        seed = jnp.asarray(np.asarray(seed))
    if jax.dtypes.issubdtype(seed.dtype, jax.dtypes.prng_key):
        if seed.ndim:
            raise ValueError(f"{op}: expected a single PRNG key, got a key array of shape "
                             f"{seed.shape}.")
        return "key", seed
    if not np.issubdtype(seed.dtype, np.integer):
        raise ValueError(f"{op}: seed must be None, an int, a SeedGenerator or an integer "
                         f"seed tensor; got a tensor of dtype {seed.dtype}.")
    if seed.shape == ():
        return "int", seed
    if seed.shape == (2,):
        return "pair", seed
    raise ValueError(f"{op}: a seed tensor must have shape () or (2,), got {seed.shape}.")


def _make_key(mode, seed):
    if mode == "int":
        return jax.random.key(seed)
    if mode == "pair":
        return jax.random.fold_in(jax.random.key(seed[0]), seed[1])
    return seed


def _sample_normal(seed, mean, stddev, mode, shape, dtype, sample_dtype):
    out = jax.random.normal(_make_key(mode, seed), shape, sample_dtype) * stddev + mean
    return out if out.dtype == dtype else _convert(out, dtype)


def _sample_uniform(seed, minval, maxval, mode, shape, dtype, sample_dtype):
    out = jax.random.uniform(_make_key(mode, seed), shape, sample_dtype, minval, maxval)
    return out if out.dtype == dtype else _convert(out, dtype)


def _sample_dropout(seed, x, rate, mode, noise_shape):
    keep = jax.random.uniform(_make_key(mode, seed), noise_shape, x.dtype) >= rate
    out = jnp.where(keep, x / (1 - rate), jnp.zeros((), x.dtype))
    return out if out.dtype == x.dtype else _convert(out, x.dtype)


_SAMPLE_STATIC = ("mode", "shape", "dtype", "sample_dtype")
_normal = _static_jit(_sample_normal, *_SAMPLE_STATIC)
_uniform = _static_jit(_sample_uniform, *_SAMPLE_STATIC)
_dropout = _static_jit(_sample_dropout, "mode", "noise_shape")


def _sample_dtypes(dtype):
    jd = _jdtype(dtype)
    return jd, (jd if jd in _FLOATS else _jdtype(_floatx()))


def random_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    mode, seed = _seed_parts(seed, "random_normal")
    jd, sample_dt = _sample_dtypes(dtype)
    return _normal(seed, mean, stddev, mode=mode, shape=_shape_tuple(shape), dtype=jd,
                   sample_dtype=sample_dt)


def random_uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    mode, seed = _seed_parts(seed, "random_uniform")
    jd, sample_dt = _sample_dtypes(dtype)
    return _uniform(seed, minval, maxval, mode=mode, shape=_shape_tuple(shape), dtype=jd,
                    sample_dtype=sample_dt)


def random_dropout(inputs, rate, noise_shape=None, seed=None):
    x = _float(inputs)
    if noise_shape is None:
        noise_shape = tuple(x.shape)
    else:
        noise_shape = tuple(x.shape[i] if d is None else int(d) for i, d in enumerate(noise_shape))
    mode, seed = _seed_parts(seed, "random_dropout")
    return _dropout(seed, x, rate, mode=mode, noise_shape=noise_shape)


def _shape_tuple(shape):
    return (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(d) for d in shape)


# Further op families, one module each (each defines __all__).
from unikeras.adapters.flax.ops_elementwise import *  # noqa: E402,F401,F403
from unikeras.adapters.flax.ops_reductions import *  # noqa: E402,F401,F403
from unikeras.adapters.flax.ops_arrays import *  # noqa: E402,F401,F403
from unikeras.adapters.flax.ops_neural import *  # noqa: E402,F401,F403
from unikeras.adapters.flax.ops_linalg import *  # noqa: E402,F401,F403
from unikeras.adapters.flax.ops_control import *  # noqa: E402,F401,F403
from unikeras.adapters.flax.ops_image import *  # noqa: E402,F401,F403
from unikeras.adapters.flax.ops_random import *  # noqa: E402,F401,F403
from unikeras.adapters.flax.ops_recurrent import *  # noqa: E402,F401,F403
from unikeras.adapters.flax.ops_fused import *  # noqa: E402,F401,F403
