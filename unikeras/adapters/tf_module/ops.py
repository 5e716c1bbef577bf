"""TensorFlow implementations of the ops (the "tensorflow" backend table).

Every function mirrors `unikeras.adapters.numpy_ref.ops`: same name, signature, result
dtype (from `unikeras.common.dtypes.result_type`, Python scalars weak) and values. Inputs
are tf tensors or tf.Variables, with NumPy arrays and Python scalars mixed in; results are
tf tensors, differentiable under `tf.GradientTape` and traceable by `tf.function`
(also `jit_compile=True`).

Hot paths call `tf.raw_ops` directly (public, no API-level dispatch wrappers) once the
arguments are tf tensors of one dtype; everything else goes through `_promote`.
"""
import builtins
import math

import numpy as np
import tensorflow as tf

from unikeras import config
from unikeras.adapters.tf_module import logits_memo
from unikeras.common import dtypes
from unikeras.common import seed_generator
from unikeras.common.ops.reductions import sum_dtype

_R = tf.raw_ops
with tf.init_scope():  # this module may first be imported while a tf.function is traced
    _EagerTensor = type(tf.constant(0.0))
_TENSOR_TYPES = {_EagerTensor}
try:  # graph tensors inside tf.function (TF >= 2.13)
    from tensorflow.python.framework.ops import SymbolicTensor as _SymbolicTensor
    _TENSOR_TYPES.add(_SymbolicTensor)
except ImportError:  # pragma: no cover
    pass
_TENSOR_TYPES = frozenset(_TENSOR_TYPES)

try:  # NumPy-style advanced indexing of tf tensors (tuples mixing arrays and slices)
    from tensorflow.python.ops.numpy_ops.np_array_ops import _getitem as _np_getitem
except ImportError:  # pragma: no cover
    _np_getitem = None
_Tensor = tf.Tensor
_Variable = tf.Variable
_SCALAR_TYPES = (bool, int, float)

_TF = {}
for _name in dtypes.ALLOWED:
    try:
        _TF[_name] = tf.as_dtype(_name)
    except TypeError:  # pragma: no cover
        pass
_BOOL = tf.bool
_UNSIGNED = frozenset((tf.uint8, tf.uint16, tf.uint32, tf.uint64))
_FLOATS = frozenset(_TF[n] for n in dtypes.FLOAT_TYPES)
# Dtypes without a CPU MatMul kernel, and the dtype to compute in (then cast back).
_MATMUL_VIA = {tf.int16: tf.int32, tf.uint16: tf.int32, tf.uint32: tf.int64, tf.uint64: tf.int64}


def _is_tensor(x):
    return type(x) in _TENSOR_TYPES or isinstance(x, _Tensor)


def _dtype_of(x):
    """Dtype for promotion: Python scalars stay themselves (weak)."""
    if isinstance(x, _SCALAR_TYPES):
        return x
    if type(x) in _TENSOR_TYPES or isinstance(x, (_Tensor, _Variable)):
        return x.dtype.name
    if isinstance(x, (np.ndarray, np.generic)):
        return dtypes.standardize_dtype(x.dtype)
    return convert_to_tensor(x).dtype.name


def _from_numpy(arr, dtype=None):
    """tf constant with the value of NumPy array `arr`, as `dtype` (a name) when given."""
    if dtype is None or dtype == arr.dtype.name:
        return tf.constant(arr)
    if dtype == "bfloat16":
        return tf.cast(tf.constant(arr.astype("float32")), tf.bfloat16)
    if dtype == "string":
        return tf.constant(arr, dtype=tf.string)
    return tf.constant(arr.astype(dtype))


_CONSTS = {}  # (type, value, tf dtype) -> eager constant, for Python scalars met eagerly


def _const(v, d, eager):
    """Python scalar `v` (of the same kind as tf dtype `d`) as a constant of dtype `d`;
    eager constants are cached (bounded), graph ones are created in the graph."""
    if not eager:
        return tf.constant(v, dtype=d)
    key = (type(v), v, d)
    c = _CONSTS.get(key)
    if c is None:
        c = tf.constant(v, dtype=d)
        if len(_CONSTS) < 1024 and v != 0 and tf.executing_eagerly():  # 0.0 == -0.0: keep the sign of zero exact
            _CONSTS[key] = c
    return c


def _scalar_fits(v, d):
    """True when Python scalar `v` adopts tensor dtype `d` (weak promotion)."""
    tv = type(v)
    return (tv is float and d in _FLOATS) or (tv is int and d is not _BOOL)


def _scalar(x, dtype):
    try:
        return tf.constant(x, dtype=_TF[dtype])
    except (TypeError, ValueError):
        return _from_numpy(np.asarray(x), dtype)


def _as(x, dtype):
    """`x` (tensor, Variable, array, scalar) as a tf tensor of dtype name `dtype`."""
    if type(x) in _TENSOR_TYPES or isinstance(x, _Tensor):
        target = _TF[dtype]
        return x if x.dtype is target else tf.cast(x, target)
    if isinstance(x, _SCALAR_TYPES):
        return _scalar(x, dtype)
    if isinstance(x, _Variable):
        return _as(tf.convert_to_tensor(x), dtype)
    if isinstance(x, (np.ndarray, np.generic)):
        return _from_numpy(np.asarray(x), dtype)
    return _as(convert_to_tensor(x), dtype)


def _t(x):
    """`x` as a tf tensor (conversion rules of `convert_to_tensor` for non-tensors)."""
    if type(x) in _TENSOR_TYPES:
        return x
    return convert_to_tensor(x)


def _promote(x1, x2):
    dtype = dtypes.result_type(_dtype_of(x1), _dtype_of(x2))
    return _as(x1, dtype), _as(x2, dtype)


def _float(x):
    x = _t(x)
    return x if x.dtype in _FLOATS else tf.cast(x, _TF[config.floatx()])


def _tf_message(err):
    msg = str(getattr(err, "message", err))
    if msg.startswith("{{function_node"):  # drop TF's "{{function_node ...}}" prefix
        msg = msg.split("}} ", 1)[-1]
    return msg.split(" [Op:", 1)[0].strip()


def _shape_error(name, a, b, err):
    return ValueError(f"{name}: shapes {_shape_str(a)} and {_shape_str(b)} cannot be broadcast "
                      f"together ({_tf_message(err)}).")


def _shape_str(x):
    s = getattr(x, "shape", None)
    if s is None:
        return "()"
    try:
        return str(tuple(s.as_list()) if hasattr(s, "as_list") else tuple(s))
    except ValueError:
        return "<unknown rank>"


# --- element-wise binary ops -------------------------------------------------------------
def _binary(name, raw, bool_fn=None):
    """Op `name` computed by raw op `raw(x=, y=)`; `bool_fn(a, b)` handles bool inputs
    (NumPy semantics), by default a TypeError as NumPy raises."""

    def apply(x1, x2):
        t1, t2 = type(x1), type(x2)
        if t1 in _TENSOR_TYPES:
            d = x1.dtype
            if t1 is t2:
                if d is x2.dtype and d is not _BOOL:
                    try:
                        return raw(x=x1, y=x2)
                    except (tf.errors.InvalidArgumentError, ValueError) as e:
                        raise _shape_error(name, x1, x2, e) from None
            elif _scalar_fits(x2, d):
                return raw(x=x1, y=_const(x2, d, t1 is _EagerTensor))
        elif t2 in _TENSOR_TYPES and _scalar_fits(x1, x2.dtype):
            return raw(x=_const(x1, x2.dtype, t2 is _EagerTensor), y=x2)
        a, b = _promote(x1, x2)
        try:
            if a.dtype is _BOOL:
                if bool_fn is None:
                    raise TypeError(f"{name}: not supported for boolean tensors.")
                return bool_fn(a, b)
            return raw(x=a, y=b)
        except (tf.errors.InvalidArgumentError, ValueError) as e:
            raise _shape_error(name, x1, x2, e) from None

    apply.__name__ = name
    return apply


def _bool_compare(raw):
    def compare(a, b):
        return raw(x=tf.cast(a, tf.int8), y=tf.cast(b, tf.int8))
    return compare


add = _binary("add", _R.AddV2, tf.logical_or)
subtract = _binary("subtract", _R.Sub)
multiply = _binary("multiply", _R.Mul, tf.logical_and)
maximum = _binary("maximum", _R.Maximum, tf.logical_or)
minimum = _binary("minimum", _R.Minimum, tf.logical_and)


def _equal_raw(x, y):
    return _R.Equal(x=x, y=y, incompatible_shape_error=True)


def _not_equal_raw(x, y):
    return _R.NotEqual(x=x, y=y, incompatible_shape_error=True)


equal = _binary("equal", _equal_raw, lambda a, b: _equal_raw(x=a, y=b))
not_equal = _binary("not_equal", _not_equal_raw, lambda a, b: _not_equal_raw(x=a, y=b))
greater = _binary("greater", _R.Greater, _bool_compare(_R.Greater))
greater_equal = _binary("greater_equal", _R.GreaterEqual, _bool_compare(_R.GreaterEqual))
less = _binary("less", _R.Less, _bool_compare(_R.Less))
less_equal = _binary("less_equal", _R.LessEqual, _bool_compare(_R.LessEqual))


def divide(x1, x2):
    t = type(x1)
    if t in _TENSOR_TYPES and x1.dtype in _FLOATS and (
            (t is type(x2) and x1.dtype is x2.dtype) or type(x2) in (float, int)):
        a = x1
        b = x2 if t is type(x2) else _const(x2 if type(x2) is float else float(x2), x1.dtype,
                                            t is _EagerTensor)
    else:
        a, b = _promote(x1, x2)
        if a.dtype not in _FLOATS:
            # NumPy divides integers in float64, then the result is cast to floatx.
            out = _TF[config.floatx()]
            wide = out if a.dtype.size <= 2 and out.size >= 4 else tf.float64
            try:
                q = _R.RealDiv(x=tf.cast(a, wide), y=tf.cast(b, wide))
            except (tf.errors.InvalidArgumentError, ValueError) as e:
                raise _shape_error("divide", x1, x2, e) from None
            return q if q.dtype is out else tf.cast(q, out)
    try:
        return _R.RealDiv(x=a, y=b)
    except (tf.errors.InvalidArgumentError, ValueError) as e:
        raise _shape_error("divide", x1, x2, e) from None


def power(x1, x2):
    a, b = _promote(x1, x2)
    d = a.dtype
    try:
        if d is _BOOL:  # b ** e is 0 only for 0 ** 1: stays bool
            return tf.logical_or(a, tf.logical_not(b))
        if d in _UNSIGNED:
            return tf.cast(_R.Pow(x=tf.cast(a, tf.int64), y=tf.cast(b, tf.int64)), d)
        return _R.Pow(x=a, y=b)
    except (tf.errors.InvalidArgumentError, ValueError) as e:
        raise _shape_error("power", x1, x2, e) from None


# --- element-wise unary ops --------------------------------------------------------------
def negative(x):
    x = _t(x)
    d = x.dtype
    if d is _BOOL:
        raise TypeError("negative: not supported for boolean tensors (use logical_not).")
    if d in _UNSIGNED:  # wraps around as in NumPy
        return _R.Sub(x=tf.zeros((), d), y=x)
    return _R.Neg(x=x)


def absolute(x):
    x = _t(x)
    if x.dtype is _BOOL or x.dtype in _UNSIGNED:
        return x
    return _R.Abs(x=x)


abs = absolute


def sign(x):
    x = _t(x)
    if x.dtype is _BOOL:
        return x
    if x.dtype in _UNSIGNED:
        return tf.cast(_R.Greater(x=x, y=tf.zeros((), x.dtype)), x.dtype)
    return _R.Sign(x=x)


def square(x):
    x = _t(x)
    if x.dtype is _BOOL:  # 0/1 squares to itself, as int32
        return tf.cast(x, tf.int32)
    return _R.Square(x=x)


def sqrt(x):
    return _R.Sqrt(x=_float(x))


def exp(x):
    return _R.Exp(x=_float(x))


def log(x):
    return _R.Log(x=_float(x))


def tanh(x):
    return _R.Tanh(x=_float(x))


def _bound(b, dtype):
    """Clip bound `b` as a tensor of `dtype`; float bounds of integer tensors truncate,
    which gives NumPy's clip-then-astype result on integer inputs."""
    if isinstance(b, (int, float)) and (dtype.is_integer or dtype is _BOOL):
        b = math.trunc(b)
        if dtype.is_integer:  # out-of-range bounds saturate instead of wrapping around
            b = builtins.min(builtins.max(b, dtype.min), dtype.max)
    return _as(b, dtype.name)


def clip(x, x_min, x_max):
    x = _t(x)
    if x.dtype is _BOOL:
        x = tf.cast(x, tf.int32)
    out = x
    if x_min is not None:
        out = _R.Maximum(x=out, y=_bound(x_min, x.dtype))
    if x_max is not None:
        out = _R.Minimum(x=out, y=_bound(x_max, x.dtype))
    return out


def where(condition, x1=None, x2=None):
    if x1 is None or x2 is None:
        raise ValueError("where: the one-argument form (indices of non-zeros) is not supported; "
                         "pass x1 and x2.")
    c = _t(condition)
    if c.dtype is not _BOOL:
        c = tf.cast(c, _BOOL)
    a, b = _promote(x1, x2)
    try:
        return _R.SelectV2(condition=c, t=a, e=b)
    except (tf.errors.InvalidArgumentError, ValueError) as e:
        raise ValueError(f"where: shapes {_shape_str(c)}, {_shape_str(a)} and {_shape_str(b)} "
                         f"cannot be broadcast together ({_tf_message(e)}).") from None


# --- reductions ----------------------------------------------------------------------------
def _axis(axis):
    return list(axis) if isinstance(axis, tuple) else axis


def sum(x, axis=None, keepdims=False):
    x = _t(x)
    out = sum_dtype(x.dtype.name)   # small integers widen
    if out != x.dtype.name:
        x = tf.cast(x, out)
    return tf.reduce_sum(x, axis=_axis(axis), keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    return tf.reduce_mean(_float(x), axis=_axis(axis), keepdims=keepdims)


def _check_nonempty(name, x, axis):
    dims = x.shape.as_list() if x.shape.rank is not None else []
    axes = range(len(dims)) if axis is None else (axis if isinstance(axis, (tuple, list)) else (axis,))
    for a in axes:
        if dims and dims[a] == 0:
            raise ValueError(f"{name}: zero-size reduction over axis {a} of shape {tuple(dims)} "
                             "has no identity; pass `initial`.")


def _extremum(name, x, axis, keepdims, initial, reduce, reduce_bool, combine, combine_bool):
    x = _t(x)
    if initial is None:
        _check_nonempty(name, x, axis)
    is_bool = x.dtype is _BOOL
    out = (reduce_bool if is_bool else reduce)(x, axis=_axis(axis), keepdims=keepdims)
    if initial is not None:
        init = _bound(initial, x.dtype)
        out = combine_bool(out, init) if is_bool else combine(out, init)
    return out


def max(x, axis=None, keepdims=False, initial=None):
    return _extremum("max", x, axis, keepdims, initial, tf.reduce_max, tf.reduce_any,
                     tf.maximum, tf.logical_or)


def min(x, axis=None, keepdims=False, initial=None):
    return _extremum("min", x, axis, keepdims, initial, tf.reduce_min, tf.reduce_all,
                     tf.minimum, tf.logical_and)


def argmax(x, axis=None, keepdims=False):
    x = _t(x)
    if axis is None:
        out = tf.argmax(tf.reshape(x, [-1]), axis=0, output_type=tf.int32)
        if keepdims:
            out = tf.reshape(out, [1] * x.shape.rank)
        return out
    out = tf.argmax(x, axis=axis, output_type=tf.int32)
    return tf.expand_dims(out, axis) if keepdims else out


# --- shapes --------------------------------------------------------------------------------
def reshape(x, newshape):
    if isinstance(newshape, int):
        newshape = (newshape,)
    return tf.reshape(_t(x), newshape)


def transpose(x, axes=None):
    x = _t(x)
    if axes is None:
        return tf.transpose(x)
    rank = x.shape.rank
    return tf.transpose(x, [a % rank if a < 0 else a for a in axes] if rank is not None else axes)


def expand_dims(x, axis):
    x = _t(x)
    if isinstance(axis, (tuple, list)):
        ndim = x.shape.rank + len(axis)
        for a in sorted(a % ndim for a in axis):
            x = tf.expand_dims(x, a)
        return x
    return tf.expand_dims(x, axis)


def squeeze(x, axis=None):
    x = _t(x)
    if axis is None:
        return tf.squeeze(x)
    axes = list(axis) if isinstance(axis, (tuple, list)) else [axis]
    try:
        return tf.squeeze(x, axes)
    except (tf.errors.InvalidArgumentError, ValueError) as e:
        raise ValueError(f"squeeze: cannot squeeze axis {axis} of shape {_shape_str(x)} "
                         f"({_tf_message(e)}).") from None


def concatenate(xs, axis=0):
    xs = [x if _is_tensor(x) or isinstance(x, _Variable) else np.asarray(x) for x in xs]
    dtype = dtypes.result_type(*[_dtype_of(x) for x in xs])
    return tf.concat([_as(x, dtype) for x in xs], axis=axis)


def _matmul_dtype(a, b):
    """Inputs promoted and converted for matmul, and the dtype the result must have."""
    if type(a) in _TENSOR_TYPES and type(b) in _TENSOR_TYPES and a.dtype is b.dtype:
        d = a.dtype
    else:
        a, b = _promote(a, b)
        d = a.dtype
    if d is _BOOL or d is tf.int8 or d is tf.uint8:
        a, b, d = tf.cast(a, tf.int32), tf.cast(b, tf.int32), tf.int32
    via = _MATMUL_VIA.get(d)
    if via is not None:
        a, b = tf.cast(a, via), tf.cast(b, via)
    return a, b, d


def _matmul_check(a, b, name="matmul"):
    sa, sb = a.shape, b.shape
    if sa.rank == 0 or sb.rank == 0:
        raise ValueError(f"{name}: operands must have rank >= 1, got shapes {_shape_str(a)} and "
                         f"{_shape_str(b)}.")
    if sa.rank is not None and sb.rank is not None:
        k1 = sa[-1]
        k2 = sb[-2] if sb.rank > 1 else sb[0]
        if k1 is not None and k2 is not None and k1 != k2:
            raise ValueError(f"{name}: inner dimensions differ: shapes {_shape_str(a)} and "
                             f"{_shape_str(b)}.")


def matmul(x1, x2):
    a, b, d = _matmul_dtype(x1, x2)
    _matmul_check(a, b)
    ra, rb = a.shape.rank, b.shape.rank
    if ra == 2 and rb == 2:
        out = _R.MatMul(a=a, b=b)
    elif ra == 1 and rb == 1:
        out = tf.reduce_sum(_R.Mul(x=a, y=b))
    elif ra == 1:
        out = tf.squeeze(_R.BatchMatMulV2(x=a[None, :], y=b), -2)
    elif rb == 1:
        out = tf.squeeze(_R.BatchMatMulV2(x=a, y=b[:, None]), -1)
    else:
        try:
            out = _R.BatchMatMulV2(x=a, y=b)
        except (tf.errors.InvalidArgumentError, ValueError) as e:
            raise ValueError(f"matmul: shapes {_shape_str(a)} and {_shape_str(b)} are not "
                             f"compatible ({_tf_message(e)}).") from None
    return out if out.dtype is d else tf.cast(out, d)


def _is_array_key(k):
    if isinstance(k, (list, np.ndarray)):
        return True
    if _is_tensor(k) or isinstance(k, _Variable):
        return k.shape.rank != 0 or k.dtype is _BOOL
    return False


def get_item(x, key):
    x = _t(x)
    keys = key if isinstance(key, tuple) else (key,)
    if builtins.any(_is_array_key(k) for k in keys):
        return _advanced_get_item(x, key)
    return x[key]


def _advanced_get_item(x, key):
    """NumPy advanced indexing: a single integer or boolean array key, else tf's numpy
    indexing for general combinations."""
    if not isinstance(key, tuple):
        k = _t(key) if not isinstance(key, list) else convert_to_tensor(np.asarray(key))
        if k.dtype is _BOOL:
            return tf.boolean_mask(x, k)
        k = tf.cast(k, tf.int64) if k.dtype not in (tf.int32, tf.int64) else k
        n = tf.shape(x, out_type=k.dtype)[0]
        return tf.gather(x, tf.where(k < 0, k + n, k), axis=0)
    if _np_getitem is None:  # pragma: no cover
        raise TypeError(f"get_item: unsupported index {key!r} for the tensorflow backend.")
    key = tuple(np.asarray(k) if isinstance(k, list) else k for k in key)
    return tf.convert_to_tensor(_np_getitem(x, key))


# --- creation ------------------------------------------------------------------------------
def _shape_arg(shape):
    return [shape] if isinstance(shape, int) else shape


def zeros(shape, dtype=None):
    return tf.zeros(_shape_arg(shape), dtype=_TF[dtypes.standardize_dtype(dtype)])


def ones(shape, dtype=None):
    return tf.ones(_shape_arg(shape), dtype=_TF[dtypes.standardize_dtype(dtype)])


def full(shape, fill_value, dtype=None):
    dtype = dtypes.standardize_dtype(dtype)   # None: floatx, whatever the fill value's type
    value = _as(fill_value, dtype)
    if value.shape.rank == 0:
        return tf.fill(_shape_arg(shape), value)
    return tf.broadcast_to(value, _shape_arg(shape))


def zeros_like(x, dtype=None):
    x = _t(x)
    return tf.zeros_like(x, dtype=_TF[dtypes.standardize_dtype(dtype)] if dtype else None)


def ones_like(x, dtype=None):
    x = _t(x)
    return tf.ones_like(x, dtype=_TF[dtypes.standardize_dtype(dtype)] if dtype else None)


def arange(start, stop=None, step=None, dtype=None):
    step = 1 if step is None else step
    dtype = dtypes.standardize_dtype(
        dtype or dtypes.result_type(start, *(s for s in (stop, step) if s is not None)))
    if stop is None:
        start, stop = 0, start
    if builtins.all(isinstance(v, (int, float, np.number)) for v in (start, stop, step)):
        if step == 0:
            raise ValueError("arange: step must not be zero.")
        d = _TF[dtype]
        n = builtins.max(0, math.ceil((stop - start) / step))
        if d in _FLOATS:
            # NumPy fills start + i * step (no accumulated rounding).
            return tf.cast(tf.range(n), d) * tf.constant(step, d) + tf.constant(start, d)
        if builtins.all(isinstance(v, (int, np.integer)) for v in (start, stop, step)):
            big = builtins.max(builtins.abs(start), builtins.abs(stop)) > 2**31 - 1
            out = tf.range(start, stop, step, dtype=tf.int64 if big else tf.int32)
        else:
            out = tf.cast(tf.range(n), tf.float64) * step + start
        return out if out.dtype is d else tf.cast(out, d)
    d = _TF[dtype]
    via = d if d in (tf.int32, tf.int64, tf.float32, tf.float64) else tf.float64 if d in _FLOATS \
        else tf.int64
    return tf.cast(tf.range(_as(start, via.name), _as(stop, via.name), _as(step, via.name)), d)


# --- nn ------------------------------------------------------------------------------------
def relu(x):
    return _R.Relu(features=_float(x))


def sigmoid(x):
    x = _float(x)
    return logits_memo.remember(_R.Sigmoid(x=x), x, None)


def softmax(x, axis=-1):
    x = _float(x)
    if isinstance(axis, (tuple, list)):
        e = tf.exp(x - tf.stop_gradient(tf.reduce_max(x, axis=list(axis), keepdims=True)))
        return e / tf.reduce_sum(e, axis=list(axis), keepdims=True)
    rank = x.shape.rank
    if axis == -1 or (rank is not None and axis == rank - 1):
        out = _R.Softmax(logits=x)
    else:
        out = tf.nn.softmax(x, axis=axis)
    return logits_memo.remember(out, x, axis % rank) if rank else out


def log_softmax(x, axis=-1):
    x = _float(x)
    if isinstance(axis, (tuple, list)):
        shifted = x - tf.stop_gradient(tf.reduce_max(x, axis=list(axis), keepdims=True))
        return shifted - tf.math.log(tf.reduce_sum(tf.exp(shifted), axis=list(axis), keepdims=True))
    rank = x.shape.rank
    if axis == -1 or (rank is not None and axis == rank - 1):
        return _R.LogSoftmax(logits=x)
    return tf.nn.log_softmax(x, axis=axis)


def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    if sparse:
        raise ValueError("one_hot: sparse=True is not supported.")
    x = _t(x)
    if x.dtype is not tf.int64:
        x = tf.cast(x, tf.int64)
    d = _TF[dtypes.standardize_dtype(dtype)]
    rank = x.shape.rank
    if axis != -1 and rank is not None:
        axis = axis % (rank + 1)
        if axis == rank:
            axis = -1
    if d is _BOOL:
        return tf.one_hot(x, int(num_classes), on_value=True, off_value=False, axis=axis, dtype=d)
    return tf.one_hot(x, int(num_classes), axis=axis, dtype=d)


def dense(x, kernel, bias=None):
    a, k, d = _matmul_dtype(x, kernel)
    rank = a.shape.rank
    try:
        if rank == 2:
            out = _R.MatMul(a=a, b=k)
        elif rank is None or rank < 2:
            out = matmul(a, k)
        else:
            # One GEMM over the flattened leading dimensions.
            sa = a.shape
            units = k.shape[-1]
            out = _R.MatMul(a=tf.reshape(a, [-1, sa[-1] if sa[-1] is not None else
                                              tf.shape(a)[-1]]), b=k)
            lead = sa[:-1]
            if lead.is_fully_defined() and units is not None:
                out = tf.reshape(out, lead.as_list() + [units])
            else:
                out = tf.reshape(out, tf.concat([tf.shape(a)[:-1], tf.shape(out)[-1:]], 0))
        if out.dtype is not d:
            out = tf.cast(out, d)
        if bias is None:
            return out
        if type(bias) in _TENSOR_TYPES and bias.dtype is d and d in _FLOATS and rank is not None \
                and rank >= 2 and bias.shape.rank == 1:
            return _R.BiasAdd(value=out, bias=bias)
    except (tf.errors.InvalidArgumentError, ValueError) as e:
        _matmul_check(a, k, "dense")
        raise ValueError(f"dense: input of shape {_shape_str(x)} does not fit kernel of shape "
                         f"{_shape_str(kernel)}"
                         f"{'' if bias is None else ' and bias of shape ' + _shape_str(bias)} "
                         f"({_tf_message(e)}).") from None
    return add(out, bias)


# --- core ----------------------------------------------------------------------------------
def cast(x, dtype):
    dtype = dtypes.standardize_dtype(dtype)
    if type(x) in _TENSOR_TYPES or isinstance(x, (_Tensor, _Variable)):
        return _as(x, dtype)
    return _from_numpy(np.asarray(x), dtype)


def _contains_tf(x):
    if _is_tensor(x) or isinstance(x, _Variable):
        return True
    return isinstance(x, (list, tuple)) and builtins.any(_contains_tf(i) for i in x)


def _leaf_dtypes(x, out):
    if isinstance(x, (list, tuple)):
        for i in x:
            _leaf_dtypes(i, out)
    else:
        out.append(_dtype_of(x))
    return out


def _stack(x, dtype):
    if isinstance(x, (list, tuple)):
        return tf.stack([_stack(i, dtype) for i in x])
    return _as(x, dtype)


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    if dtype is not None:
        dtype = dtypes.standardize_dtype(dtype)
    if type(x) in _TENSOR_TYPES or isinstance(x, _Tensor):
        return x if dtype is None else _as(x, dtype)
    if isinstance(x, _Variable):
        x = tf.convert_to_tensor(x)
        return x if dtype is None else _as(x, dtype)
    if isinstance(x, tf.SparseTensor):
        x = tf.sparse.to_dense(x) if sparse is False else x
        return x if dtype is None or isinstance(x, tf.SparseTensor) else _as(x, dtype)
    if isinstance(x, tf.RaggedTensor):
        x = x.to_tensor() if ragged is False else x
        return x if dtype is None or isinstance(x, tf.RaggedTensor) else _as(x, dtype)
    if isinstance(x, tf.IndexedSlices):
        x = tf.convert_to_tensor(x)
        return x if dtype is None else _as(x, dtype)
    if dtype is None and isinstance(x, float):
        dtype = config.floatx()
    elif dtype is None and isinstance(x, int) and not isinstance(x, bool):
        dtype = "int32"
    if isinstance(x, _SCALAR_TYPES):
        return _scalar(x, dtype) if dtype is not None else tf.constant(x)
    if isinstance(x, (list, tuple)) and _contains_tf(x):
        return _stack(x, dtype or dtypes.result_type(*_leaf_dtypes(x, [])))
    if dtype is None and not isinstance(x, np.ndarray):
        arr = np.asarray(x)
        if arr.dtype == np.float64:
            dtype = config.floatx()
        elif arr.dtype == np.int64 and not isinstance(x, np.generic):
            dtype = "int32"
        return _from_numpy(arr, dtype)
    return _from_numpy(np.asarray(x), dtype)


def convert_to_numpy(x):
    if isinstance(x, tf.SparseTensor):
        x = tf.sparse.to_dense(x)
    elif isinstance(x, tf.RaggedTensor):
        x = x.to_tensor()
    elif isinstance(x, tf.IndexedSlices):
        x = tf.convert_to_tensor(x)
    if type(x) is _EagerTensor or isinstance(x, (_Tensor, _Variable)):
        try:
            return np.array(x.numpy())
        except AttributeError:
            raise TypeError(
                "convert_to_numpy: a symbolic tf tensor (inside tf.function) has no value; "
                "call it outside the compiled function.") from None
    return np.asarray(x)


def stop_gradient(variable):
    return tf.stop_gradient(_t(variable))


def shape(x):
    if type(x) in _TENSOR_TYPES or isinstance(x, (_Tensor, _Variable)):
        s = x.shape
        if s.rank is None:
            raise ValueError("shape: the rank of this tf tensor is unknown; use tf.shape(x).")
        return tuple(s.as_list())
    return tuple(np.shape(x))


# --- random --------------------------------------------------------------------------------
def _seed(seed):
    """Seed for the stateless tf.random ops: a (2,) int32/int64 tensor or pair."""
    if seed is None:
        seed = seed_generator.draw_seed()
    if isinstance(seed, (int, np.integer)):
        return (int(seed), 0)
    s = _t(seed) if not isinstance(seed, _Variable) else tf.convert_to_tensor(seed)
    if s.dtype not in (tf.int32, tf.int64):
        s = tf.cast(s, tf.int64)
    if s.shape.rank == 0:
        s = tf.stack([s, tf.zeros((), s.dtype)])
    elif s.shape.rank != 1:
        s = tf.reshape(s, [-1])[:2]
    return s


def _sample_dtype(d):
    return d if d in _FLOATS else tf.float32


def random_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    d = _TF[dtypes.standardize_dtype(dtype)]
    sd = _sample_dtype(d)
    out = tf.random.stateless_normal(_shape_arg(shape), seed=_seed(seed), mean=_as(mean, sd.name),
                                     stddev=_as(stddev, sd.name), dtype=sd)
    return out if sd is d else tf.cast(out, d)


def random_uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    d = _TF[dtypes.standardize_dtype(dtype)]
    sd = _sample_dtype(d)
    out = tf.random.stateless_uniform(_shape_arg(shape), seed=_seed(seed),
                                      minval=_as(minval, sd.name), maxval=_as(maxval, sd.name),
                                      dtype=sd)
    if isinstance(maxval, (int, float)) and sd is not tf.bfloat16:
        # minval + u * (maxval - minval) can round up to maxval; keep the interval half-open.
        below = np.nextafter(np.asarray(maxval, sd.as_numpy_dtype),
                             np.asarray(-np.inf, sd.as_numpy_dtype))
        out = tf.minimum(out, tf.constant(below, sd))
    return out if sd is d else tf.cast(out, d)


def random_dropout(inputs, rate, noise_shape=None, seed=None):
    x = _float(inputs)
    if noise_shape is None:
        noise_shape = tf.shape(x) if not x.shape.is_fully_defined() else x.shape.as_list()
    else:
        noise_shape = list(noise_shape)
        if builtins.any(n is None for n in noise_shape):
            dyn = tf.shape(x)
            noise_shape = tf.stack([dyn[i] if n is None else tf.constant(n, dyn.dtype)
                                    for i, n in enumerate(noise_shape)])
    sd = tf.float64 if x.dtype is tf.float64 else tf.float32
    u = tf.random.stateless_uniform(noise_shape, seed=_seed(seed), dtype=sd)
    keep = _R.GreaterEqual(x=u, y=_as(rate, sd.name))
    return _R.SelectV2(condition=keep, t=_R.RealDiv(x=x, y=_as(1 - rate, x.dtype.name)),
                       e=tf.zeros((), x.dtype))


# Further op families, one module each (each defines __all__).
from unikeras.adapters.tf_module.ops_elementwise import *  # noqa: E402,F401,F403
from unikeras.adapters.tf_module.ops_reductions import *  # noqa: E402,F401,F403
from unikeras.adapters.tf_module.ops_arrays import *  # noqa: E402,F401,F403
from unikeras.adapters.tf_module.ops_neural import *  # noqa: E402,F401,F403
from unikeras.adapters.tf_module.ops_linalg import *  # noqa: E402,F401,F403
from unikeras.adapters.tf_module.ops_control import *  # noqa: E402,F401,F403
from unikeras.adapters.tf_module.ops_image import *  # noqa: E402,F401,F403
from unikeras.adapters.tf_module.ops_random import *  # noqa: E402,F401,F403
from unikeras.adapters.tf_module.ops_recurrent import *  # noqa: E402,F401,F403
from unikeras.adapters.tf_module.ops_fused import *  # noqa: E402,F401,F403
