"""OpenVINO op table: the ops build graph nodes instead of computing values.

A "tensor" of this backend is an ``openvino.Output`` (one output of a node of a graph under
construction, always taken with ``node.output(0)``). Each function below has the name,
signature, result dtype and semantics of its NumPy reference
(`unikeras.adapters.numpy_ref.ops`); dtype promotion follows `dtypes.result_type`, with
Python scalars weak. NumPy arrays and Python scalars that meet an Output become Constant
nodes. Graphs are built from `openvino.opset16`; dimensions may be dynamic (parameters
with ``-1``) everywhere, but ranks must be static.

The graph is turned into values by the caller: ``ov.Model([outputs], [parameters])``, then
``ov.compile_model(model, "CPU")``. Only Constant nodes have a value at build time
(`convert_to_numpy`).
"""
import builtins
import functools
import operator

import numpy as np
import openvino as ov
from unikeras.adapters.openvino import opset as ovo
from openvino.op import Constant

from unikeras import config
from unikeras.adapters.numpy_ref import ops as _ref
from unikeras.common import dtypes
from unikeras.common.ops.reductions import sum_dtype
from unikeras.common.ops.shapes import broadcast_shapes, reshape_shape

Output = ov.Output

# --- dtypes ----------------------------------------------------------------------------------
DTYPE_TO_OV = {
    "bool": ov.Type.boolean,
    "uint8": ov.Type.u8, "uint16": ov.Type.u16, "uint32": ov.Type.u32, "uint64": ov.Type.u64,
    "int8": ov.Type.i8, "int16": ov.Type.i16, "int32": ov.Type.i32, "int64": ov.Type.i64,
    "bfloat16": ov.Type.bf16, "float16": ov.Type.f16, "float32": ov.Type.f32,
    "float64": ov.Type.f64,
}
OV_TO_DTYPE = {t: name for name, t in DTYPE_TO_OV.items()}


def ov_element_type(dtype):
    """The `ov.Type` of a dtype spelling (str, NumPy, framework dtype or `ov.Type`)."""
    if isinstance(dtype, ov.Type):
        if dtype not in OV_TO_DTYPE:
            raise TypeError(f"OpenVINO element type {dtype} has no unikeras dtype.")
        return dtype
    name = dtypes.standardize_dtype(dtype)
    try:
        return DTYPE_TO_OV[name]
    except KeyError:
        raise TypeError(f"dtype {name!r} is not supported by the OpenVINO backend; supported: "
                        f"{', '.join(DTYPE_TO_OV)}.") from None


def _std(dtype):
    """Canonical dtype name, also for `ov.Type` spellings."""
    if isinstance(dtype, ov.Type):
        return OV_TO_DTYPE[ov_element_type(dtype)]
    return dtypes.standardize_dtype(dtype)


def dtype_name(x):
    """The unikeras dtype name of an Output (or Node)."""
    t = as_output(x).get_element_type()
    try:
        return OV_TO_DTYPE[t]
    except KeyError:
        raise TypeError(f"OpenVINO value of element type {t} has no unikeras dtype "
                        "(give parameters a static element type).") from None


# --- values -> Outputs -----------------------------------------------------------------------
def _is_graph(x):
    return isinstance(x, (Output, ov.Node))


def _sym(x):
    """Graph values and NumPy arrays (also inside lists/tuples) as KerasTensors (static
    rank, None for dynamic dims): the arguments of a symbolic rule."""
    from unikeras.common.symbolic import KerasTensor
    if _is_graph(x):
        o = as_output(x)
        return KerasTensor(_shape(o), dtype_name(o))
    if isinstance(x, np.ndarray):
        return KerasTensor(x.shape, x.dtype.name)
    if isinstance(x, (list, tuple)):
        return type(x)(_sym(i) for i in x)
    return x


def _rule(name, *args, **kwargs):
    """Op `name`'s symbolic rule on graph arguments: validates them (ValueErrors naming the
    op) and gives the output spec(s)."""
    from unikeras import ops
    return getattr(ops, name).rule(*[_sym(a) for a in args],
                                   **{k: _sym(v) for k, v in kwargs.items()})


def _constant(value, dtype=None):
    """A Constant node output holding `value` (as `dtype` when given)."""
    name = None if dtype is None else _std(dtype)
    if name == "bfloat16" or (name is None and getattr(getattr(value, "dtype", None), "name", "")
                              == "bfloat16"):
        arr = np.asarray(value, np.float32)
        return Constant(ov.Type.bf16, ov.Shape(list(arr.shape)), arr.ravel().tolist()).output(0)
    arr = np.asarray(value, name)
    if arr.dtype.name not in DTYPE_TO_OV:
        raise TypeError(f"Cannot make an OpenVINO constant of dtype {arr.dtype.name!r}; "
                        f"supported: {', '.join(DTYPE_TO_OV)}.")
    return ovo.constant(arr).output(0)


def as_output(x):
    """`x` as an `ov.Output`: Outputs pass, Nodes give their output 0, data becomes a Constant."""
    if type(x) is Output:
        return x
    if isinstance(x, ov.Node):
        if x.get_output_size() != 1:
            raise TypeError(f"OpenVINO node {x.get_friendly_name()} has {x.get_output_size()} "
                            "outputs; pass one of them (node.output(i)).")
        return x.output(0)
    if isinstance(x, Output):
        return x
    if isinstance(x, ov.Tensor):
        return _constant(x.data)
    if isinstance(x, (list, tuple)) and builtins.any(_is_graph(i) for i in x):
        return _stack(x)
    try:
        return _constant(np.asarray(x))
    except (TypeError, ValueError) as e:
        raise TypeError(f"Cannot use {type(x).__name__} as an OpenVINO graph value: {e}") from None


def _stack(items):
    dtype = dtypes.result_type(*[_weak_dtype(i) for i in items])
    parts = [ovo.unsqueeze(_as(i, dtype), _i64([0])).output(0) for i in items]
    return ovo.concat(parts, 0).output(0)


def _i64(values):
    return ovo.constant(np.asarray(values, np.int64)).output(0)


def _cast(o, dtype):
    if dtype_name(o) == dtype:
        return o
    return ovo.convert(o, DTYPE_TO_OV[dtype]).output(0)


def _as(x, dtype):
    """`x` as an Output of `dtype` (Outputs are converted, data becomes a constant)."""
    if _is_graph(x) or isinstance(x, ov.Tensor):
        return _cast(as_output(x), dtype)
    if isinstance(x, (list, tuple)) and builtins.any(_is_graph(i) for i in x):
        return _cast(_stack(x), dtype)
    return _constant(x, dtype)


def _weak_dtype(x):
    """Dtype for promotion, as the reference's: Python scalars stay themselves (weak)."""
    if isinstance(x, (bool, int, float)):
        return x
    if _is_graph(x):
        return dtype_name(x)
    if isinstance(x, ov.Tensor):
        return _std(x.element_type)
    if isinstance(x, (list, tuple)) and builtins.any(_is_graph(i) for i in x):
        return dtypes.result_type(*[_weak_dtype(i) for i in x])
    return _std(getattr(x, "dtype", None) or np.asarray(x).dtype)


def _promote(x1, x2):
    dtype = dtypes.result_type(_weak_dtype(x1), _weak_dtype(x2))
    return _as(x1, dtype), _as(x2, dtype), dtype


def _float(x):
    o = as_output(x)
    d = dtype_name(o)
    return o if dtypes.is_float(d) else _cast(o, config.floatx())


def _shape(o):
    ps = o.get_partial_shape()
    if ps.rank.is_dynamic:
        raise ValueError("The OpenVINO backend needs tensors of static rank; got a value of "
                         "dynamic rank.")
    return tuple(d.get_length() if d.is_static else None for d in ps)


def _axis(name, axis, rank):
    try:
        a = operator.index(axis)
    except TypeError:
        raise TypeError(f"{name}: axis must be an int, got {axis!r}.") from None
    if not -rank <= a < builtins.max(rank, 1) or (rank == 0 and a != 0):
        raise ValueError(f"{name}: axis {axis} is out of bounds for a tensor of rank {rank}.")
    return a % rank if rank else 0


def _axes(name, axis, rank):
    if axis is None:
        return list(range(rank))
    axes = (axis,) if not isinstance(axis, (tuple, list)) else axis
    if rank == 0:
        raise ValueError(f"{name}: axis {axis} is out of bounds for a tensor of rank 0.")
    out = [_axis(name, a, rank) for a in axes]
    if len(set(out)) != len(out):
        raise ValueError(f"{name}: repeated axis in {axis}.")
    return sorted(out)


def _graph_op(fn):
    """Turn OpenVINO's node-validation RuntimeErrors into ValueErrors naming the op."""
    @functools.wraps(fn)
    def build(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except RuntimeError as e:
            lines = [ln for ln in str(e).splitlines() if ln.strip()]
            detail = lines[-1] if lines else str(e)
            raise ValueError(f"{fn.__name__}: OpenVINO could not build the node: {detail}") from e
    return build


# --- element-wise arithmetic -----------------------------------------------------------------
def _binary(name, ov_fn, bool_fn=None, check_shapes=True):
    def apply(x1, x2):
        a, b, dtype = _promote(x1, x2)
        if check_shapes:
            broadcast_shapes(name, _shape(a), _shape(b))
        if dtype == "bool":
            if bool_fn is None:
                raise TypeError(f"{name}: not supported for bool tensors.")
            return bool_fn(a, b).output(0)
        return ov_fn(a, b).output(0)
    apply.__name__ = name
    return _graph_op(apply)


def _compare(name, ov_fn):
    def apply(x1, x2):
        a, b, dtype = _promote(x1, x2)
        broadcast_shapes(name, _shape(a), _shape(b))
        if dtype == "bool":  # OpenVINO orders numbers only
            a, b = _cast(a, "uint8"), _cast(b, "uint8")
        return ov_fn(a, b).output(0)
    apply.__name__ = name
    return _graph_op(apply)


# NumPy wraps 8- and 16-bit integer arithmetic around (modulo 2**bits); OpenVINO's CPU
# kernels saturate instead. These dtypes are computed in a wider integer and reduced modulo
# 2**bits there, so that the final Convert only sees in-range values.
_NARROW_INTS = {"int8": 8, "uint8": 8, "int16": 16, "uint16": 16}


def _wrapping(ov_fn):
    def apply(a, b):
        dtype = dtype_name(a)
        bits = _NARROW_INTS.get(dtype)
        if bits is None:
            return ov_fn(a, b)
        # In int32 (int64 is narrowed to int32 by the CPU plugin, saturating constants).
        wide = "int32"
        a, b = _cast(a, wide), _cast(b, wide)
        if dtype == "uint16" and ov_fn is ovo.multiply:
            # 65535 * 65535 overflows int32: a * b = lo * b + 256 * (hi * b), with a = 256 hi + lo,
            # and only (hi * b) mod 256 matters modulo 2**16.
            lo = ovo.bitwise_and(a, _constant(255, wide)).output(0)
            hi = ovo.divide(ovo.subtract(a, lo), _constant(256, wide)).output(0)
            hib = ovo.bitwise_and(ovo.multiply(hi, b), _constant(255, wide)).output(0)
            r = ovo.add(ovo.multiply(lo, b), ovo.multiply(hib, _constant(256, wide))).output(0)
        else:
            r = ov_fn(a, b).output(0)
        return _wrap_to(r, dtype)
    return apply


def _wrap_to(r, dtype):
    """int32 Output `r` modulo 2**bits as the narrow integer `dtype` (two's complement)."""
    bits, wide = _NARROW_INTS[dtype], "int32"
    r = ovo.bitwise_and(r, _constant((1 << bits) - 1, wide)).output(0)  # r mod 2**bits
    if not dtype.startswith("uint"):  # [2**(bits-1), 2**bits) -> negative
        high = _cast(ovo.greater_equal(r, _constant(1 << (bits - 1), wide)).output(0), wide)
        r = ovo.subtract(r, ovo.multiply(high, _constant(1 << bits, wide))).output(0)
    return ovo.convert(r, DTYPE_TO_OV[dtype])


add = _binary("add", _wrapping(ovo.add), ovo.logical_or)
subtract = _binary("subtract", _wrapping(ovo.subtract))
multiply = _binary("multiply", _wrapping(ovo.multiply), ovo.logical_and)
maximum = _binary("maximum", ovo.maximum, ovo.logical_or)
minimum = _binary("minimum", ovo.minimum, ovo.logical_and)
equal = _compare("equal", ovo.equal)
not_equal = _compare("not_equal", ovo.not_equal)
greater = _compare("greater", ovo.greater)
greater_equal = _compare("greater_equal", ovo.greater_equal)
less = _compare("less", ovo.less)
less_equal = _compare("less_equal", ovo.less_equal)


@_graph_op
def divide(x1, x2):
    a, b, dtype = _promote(x1, x2)
    broadcast_shapes("divide", _shape(a), _shape(b))
    if not dtypes.is_float(dtype):
        a, b = _cast(a, config.floatx()), _cast(b, config.floatx())
    return ovo.divide(a, b).output(0)


power = _binary("power", ovo.power,   # bools: b ** e is 0 only for 0 ** 1
                lambda a, b: ovo.logical_or(a, ovo.logical_not(b)))


@_graph_op
def negative(x):
    o = as_output(x)
    d = dtype_name(o)
    if d == "bool":
        raise TypeError("negative: not supported for bool tensors (use logical_not).")
    if d in _NARROW_INTS:   # wraps like NumPy: -(-128) is -128 in int8, -1 is 255 in uint8
        return _wrap_to(ovo.negative(_cast(o, "int32")).output(0), d).output(0)
    return ovo.negative(o).output(0)


@_graph_op
def absolute(x):
    o = as_output(x)
    d = dtype_name(o)
    if d == "bool" or d.startswith("uint"):
        return o
    if d in _NARROW_INTS:   # |-128| is -128 in int8, as in NumPy
        return _wrap_to(ovo.abs(_cast(o, "int32")).output(0), d).output(0)
    # max(x, -x), not Abs: the CPU plugin (2026.4) folds Abs(constant - c) to constant - c.
    return ovo.maximum(o, ovo.negative(o)).output(0)


@_graph_op
def sign(x):
    o = as_output(x)
    d = dtype_name(o)
    if d == "bool":
        raise TypeError("sign: not supported for bool tensors.")
    if d.startswith("uint"):
        return _cast(ovo.greater(o, _constant(0, d)).output(0), d)
    return ovo.sign(o).output(0)


@_graph_op
def square(x):
    o = as_output(x)
    if dtype_name(o) == "bool":  # 0/1 squares to itself, as int32
        return _cast(o, "int32")
    return _wrapping(ovo.multiply)(o, o).output(0)


@_graph_op
def sqrt(x):
    return ovo.sqrt(_float(x)).output(0)


@_graph_op
def exp(x):
    return ovo.exp(_float(x)).output(0)


@_graph_op
def log(x):
    return ovo.log(_float(x)).output(0)


@_graph_op
def tanh(x):
    return ovo.tanh(_float(x)).output(0)


def _bound(value, dtype):
    """A clip bound in `dtype`; for integers, truncated like NumPy's cast of the clipped value."""
    if _is_graph(value):
        return _cast(as_output(value), dtype)
    v = np.asarray(value)
    if dtypes.is_int(dtype):
        info = np.iinfo(dtype)
        v = np.trunc(np.clip(v.astype(np.float64), info.min, info.max)) if v.dtype.kind == "f" else v
        v = np.clip(v, info.min, info.max)
    return _constant(v, dtype)


@_graph_op
def clip(x, x_min, x_max):
    # A Python scalar x takes the dtype convert_to_tensor gives it (floatx, int32).
    o = _constant(x, dtypes.result_type(x)) if isinstance(x, (int, float)) else as_output(x)
    d = dtype_name(o)
    if d == "bool":
        o, d = _cast(o, "int32"), "int32"
    scalar = lambda v: v is not None and not _is_graph(v) and np.ndim(v) == 0  # noqa: E731
    if dtypes.is_float(d) and d != "bfloat16" and scalar(x_min) and scalar(x_max):
        lo, hi = float(np.asarray(x_min, d)), float(np.asarray(x_max, d))
        if lo <= hi:
            return ovo.clamp(o, lo, hi).output(0)
    if x_min is not None:
        o = ovo.maximum(o, _bound(x_min, d)).output(0)
    if x_max is not None:
        o = ovo.minimum(o, _bound(x_max, d)).output(0)
    return o


# --- selection -------------------------------------------------------------------------------
@_graph_op
def where(condition, x1=None, x2=None):
    if x1 is None or x2 is None:
        raise ValueError("where: the one-argument form (indices of non-zeros) is not supported; "
                         "pass x1 and x2.")
    c = as_output(condition)
    if dtype_name(c) != "bool":
        c = _cast(c, "bool")
    a, b, _ = _promote(x1, x2)
    broadcast_shapes("where", _shape(c), _shape(a), _shape(b))
    return ovo.select(c, a, b).output(0)


# --- reductions ------------------------------------------------------------------------------
def _reduce(ov_fn, o, axes, keepdims):
    if not axes:
        return o
    return ov_fn(o, _i64(axes), keepdims).output(0)


@_graph_op
def sum(x, axis=None, keepdims=False):
    o = as_output(x)
    o = _cast(o, sum_dtype(dtype_name(o)))   # small integers widen
    return _reduce(ovo.reduce_sum, o, _axes("sum", axis, len(_shape(o))), keepdims)


@_graph_op
def mean(x, axis=None, keepdims=False):
    o = _float(x)
    return _reduce(ovo.reduce_mean, o, _axes("mean", axis, len(_shape(o))), keepdims)


def _extremum(name, ov_fn, bool_fn, pick, x, axis, keepdims, initial):
    o = as_output(x)
    d = dtype_name(o)
    out = _reduce(bool_fn if d == "bool" else ov_fn, o, _axes(name, axis, len(_shape(o))),
                  keepdims)
    if initial is not None:
        out = pick(out, _as(initial, d)).output(0)
    return out


@_graph_op
def max(x, axis=None, keepdims=False, initial=None):
    return _extremum("max", ovo.reduce_max, ovo.reduce_logical_or, ovo.maximum, x, axis,
                     keepdims, initial)


@_graph_op
def min(x, axis=None, keepdims=False, initial=None):
    return _extremum("min", ovo.reduce_min, ovo.reduce_logical_and, ovo.minimum, x, axis,
                     keepdims, initial)


@_graph_op
def argmax(x, axis=None, keepdims=False):
    o = as_output(x)
    if dtype_name(o) == "bool":
        o = _cast(o, "uint8")
    rank = len(_shape(o))
    if axis is None:
        flat = ovo.reshape(o, _i64([-1]), False).output(0)
        idx = ovo.topk(flat, np.int64(1), 0, "max", "value", "i32", stable=True).output(1)
        return ovo.reshape(idx, _i64([1] * rank if keepdims else []), False).output(0)
    a = _axis("argmax", axis, rank)
    # stable TopK returns the first of equal maxima, like np.argmax.
    idx = ovo.topk(o, np.int64(1), a, "max", "value", "i32", stable=True).output(1)
    return idx if keepdims else ovo.squeeze(idx, _i64([a])).output(0)


# --- shapes ----------------------------------------------------------------------------------
@_graph_op
def reshape(x, newshape):
    o = as_output(x)
    if _is_graph(newshape):
        return ovo.reshape(o, _cast(as_output(newshape), "int64"), False).output(0)
    newshape = (newshape,) if not isinstance(newshape, (tuple, list)) else tuple(newshape)
    newshape = tuple(-1 if d is None else operator.index(d) for d in newshape)
    reshape_shape("reshape", _shape(o), newshape)  # ValueError naming the op on a bad shape
    return ovo.reshape(o, _i64(newshape), False).output(0)


@_graph_op
def transpose(x, axes=None):
    o = as_output(x)
    rank = len(_shape(o))
    if axes is None:
        perm = list(reversed(range(rank)))
    else:
        perm = [_axis("transpose", a, rank) for a in axes]
        if sorted(perm) != list(range(rank)):
            raise ValueError(f"transpose: axes {tuple(axes)} do not permute a tensor of rank {rank}.")
    return ovo.transpose(o, _i64(perm)).output(0)


@_graph_op
def expand_dims(x, axis):
    o = as_output(x)
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    out_rank = len(_shape(o)) + len(axes)
    norm = [_axis("expand_dims", a, out_rank) for a in axes]
    if len(set(norm)) != len(norm):
        raise ValueError(f"expand_dims: repeated axis in {axis}.")
    return ovo.unsqueeze(o, _i64(sorted(norm))).output(0)


@_graph_op
def squeeze(x, axis=None):
    o = as_output(x)
    shape = _shape(o)
    if axis is None:
        # Only dimensions known to be 1 (a dynamic dimension is kept, as in the symbolic rule).
        axes = [i for i, d in enumerate(shape) if d == 1]
    else:
        axes = _axes("squeeze", axis, len(shape))
        for a in axes:
            if shape[a] not in (1, None):
                raise ValueError(f"squeeze: dimension {a} of shape {shape} is not 1.")
    if not axes:
        return o
    return ovo.squeeze(o, _i64(axes)).output(0)


@_graph_op
def concatenate(xs, axis=0):
    xs = list(xs)
    if not xs:
        raise ValueError("concatenate: needs at least one tensor.")
    dtype = dtypes.result_type(*[dtype_name(x) if _is_graph(x) else _std(np.asarray(x).dtype)
                                 for x in xs])
    outs = [_as(x, dtype) for x in xs]
    shapes = [_shape(o) for o in outs]
    rank = len(shapes[0])
    a = _axis("concatenate", axis, rank)
    for s in shapes[1:]:
        if len(s) != rank:
            raise ValueError(f"concatenate: ranks differ: {shapes}.")
        for i, (d0, d) in enumerate(zip(shapes[0], s)):
            if i != a and d0 is not None and d is not None and d0 != d:
                raise ValueError(f"concatenate: shapes {shapes} differ off axis {axis}.")
    return ovo.concat(outs, a).output(0)


@_graph_op
def matmul(x1, x2):
    a, b, dtype = _promote(x1, x2)
    s1, s2 = _shape(a), _shape(b)
    if not s1 or not s2:
        raise ValueError(f"matmul: operands must have rank >= 1, got shapes {s1} and {s2}.")
    k1, k2 = s1[-1], (s2[-2] if len(s2) > 1 else s2[0])
    if k1 is not None and k2 is not None and k1 != k2:
        raise ValueError(f"matmul: inner dimensions differ: shapes {s1} and {s2}.")
    broadcast_shapes("matmul", s1[:-2], s2[:-2])
    if dtype in ("bool", "int8", "uint8"):
        a, b = _cast(a, "int32"), _cast(b, "int32")
    return ovo.matmul(a, b, False, False).output(0)


@_graph_op
def get_item(x, key):
    o = as_output(x)
    shape = _shape(o)
    key = key if isinstance(key, tuple) else (key,)
    items = []
    for k in key:
        if k is None or k is Ellipsis or isinstance(k, slice):
            items.append(k)
        elif isinstance(k, (bool, np.bool_)):
            raise TypeError(f"get_item: boolean index {k!r} is not supported on OpenVINO.")
        elif isinstance(k, (int, np.integer)):
            items.append(int(k))
        else:
            raise TypeError(f"get_item: unsupported index {k!r} of type {type(k).__name__}; "
                            "the OpenVINO backend takes ints, slices, None and Ellipsis.")
    if builtins.sum(1 for k in items if k is Ellipsis) > 1:
        raise ValueError("get_item: only one Ellipsis allowed.")
    n_index = builtins.sum(1 for k in items if k is not None and k is not Ellipsis)
    if n_index > len(shape):
        raise IndexError(f"get_item: too many indices ({n_index}) for a tensor of shape {shape}.")
    fill = [slice(None)] * (len(shape) - n_index)
    if Ellipsis in items:
        i = items.index(Ellipsis)
        items = items[:i] + fill + items[i + 1:]
    else:
        items = items + fill
    begin, end, strides = [], [], []
    begin_mask, end_mask, new_axis_mask, shrink_mask = [], [], [], []
    dim = 0
    for k in items:
        if k is None:
            begin.append(0), end.append(0), strides.append(1)
            begin_mask.append(0), end_mask.append(0), new_axis_mask.append(1), shrink_mask.append(0)
            continue
        d = shape[dim]
        dim += 1
        if isinstance(k, int):
            if d is not None and not -d <= k < d:
                raise IndexError(f"get_item: index {k} is out of bounds for dimension {dim - 1} "
                                 f"of size {d}.")
            begin.append(k), end.append(k + 1), strides.append(1)
            begin_mask.append(0), end_mask.append(1 if k == -1 else 0)
            new_axis_mask.append(0), shrink_mask.append(1)
            continue
        step = 1 if k.step is None else operator.index(k.step)
        if step == 0:
            raise ValueError("get_item: slice step cannot be zero.")
        begin.append(0 if k.start is None else operator.index(k.start))
        end.append(0 if k.stop is None else operator.index(k.stop))
        strides.append(step)
        begin_mask.append(1 if k.start is None else 0)
        end_mask.append(1 if k.stop is None else 0)
        new_axis_mask.append(0), shrink_mask.append(0)
    if not items:
        return o
    return ovo.strided_slice(o, _i64(begin), _i64(end), _i64(strides), begin_mask, end_mask,
                             new_axis_mask, shrink_mask).output(0)


# --- creation --------------------------------------------------------------------------------
def _target_shape(name, shape):
    """A static shape tuple, or an int64 shape Output when the shape is (partly) a graph value."""
    if _is_graph(shape):
        return _cast(as_output(shape), "int64")
    if not isinstance(shape, (tuple, list)):
        shape = (shape,)
    if builtins.any(_is_graph(d) for d in shape):
        dims = [ovo.reshape(_cast(as_output(d), "int64"), _i64([1]), False).output(0)
                if _is_graph(d) else _i64([operator.index(d)]) for d in shape]
        return ovo.concat(dims, 0).output(0)
    if builtins.any(d is None for d in shape):
        raise ValueError(f"{name}: shape {tuple(shape)} has unknown dimensions; pass a shape "
                         "tensor (e.g. from shape_of) or use the *_like op.")
    return tuple(operator.index(d) for d in shape)


def _filled(name, shape, value, dtype):
    target = _target_shape(name, shape)
    if isinstance(target, tuple) and not _is_graph(value):
        if dtype == "bfloat16":
            return _constant(np.full(target, value, np.float32), dtype)
        return _constant(np.full(target, value, dtype), dtype)
    v = _as(value, dtype)
    if isinstance(target, tuple):
        target = _i64(target)
    return ovo.broadcast(v, target).output(0)


@_graph_op
def zeros(shape, dtype=None):
    return _filled("zeros", shape, 0, _std(dtype))


@_graph_op
def ones(shape, dtype=None):
    return _filled("ones", shape, 1, _std(dtype))


@_graph_op
def full(shape, fill_value, dtype=None):
    # dtype None: floatx, whatever the fill value's type
    return _filled("full", shape, fill_value, _std(dtype))


def _filled_like(name, x, value, dtype):
    o = as_output(x)
    dtype = _std(dtype) if dtype else dtype_name(o)
    shape = _shape(o)
    if None not in shape:
        return _filled(name, shape, value, dtype)
    return ovo.broadcast(_constant(value, dtype), ovo.shape_of(o, "i64").output(0)).output(0)


@_graph_op
def zeros_like(x, dtype=None):
    return _filled_like("zeros_like", x, 0, dtype)


@_graph_op
def ones_like(x, dtype=None):
    return _filled_like("ones_like", x, 1, dtype)


@_graph_op
def arange(start, stop=None, step=None, dtype=None):
    step = 1 if step is None else step
    dtype = dtype or dtypes.result_type(*[_weak_dtype(s) for s in (start, stop, step)
                                          if s is not None])
    dtype = _std(dtype)
    if not builtins.any(_is_graph(s) for s in (start, stop, step)):
        if dtype == "bfloat16":
            return _constant(np.arange(start, stop, step, dtype=np.float32), dtype)
        return _constant(np.arange(start, stop, step, dtype=dtype), dtype)
    if stop is None:
        start, stop = 0, start
    scalar = lambda v: ovo.reshape(_as(v, dtype), _i64([]), False).output(0)  # noqa: E731
    return ovo.range(scalar(start), scalar(stop), scalar(step), DTYPE_TO_OV[dtype]).output(0)


# --- nn --------------------------------------------------------------------------------------
@_graph_op
def relu(x):
    return ovo.relu(_float(x)).output(0)


@_graph_op
def sigmoid(x):
    return ovo.sigmoid(_float(x)).output(0)


@_graph_op
def softmax(x, axis=-1):
    o = _float(x)
    return ovo.softmax(o, _axis("softmax", axis, len(_shape(o)))).output(0)


@_graph_op
def log_softmax(x, axis=-1):
    o = _float(x)
    return ovo.log_softmax(o, _axis("log_softmax", axis, len(_shape(o)))).output(0)


@_graph_op
def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    if sparse:
        raise ValueError("one_hot: sparse=True is not supported.")
    o = _cast(as_output(x), "int64")
    dtype = _std(dtype)
    a = _axis("one_hot", axis, len(_shape(o)) + 1)
    # Negative and out-of-range labels give all-zero vectors, as in the reference.
    return ovo.one_hot(o, _i64(int(num_classes)), _constant(1, dtype), _constant(0, dtype), a,
                       negative_indices_mode="ignore_negative").output(0)


@_graph_op
def dense(x, kernel, bias=None):
    k = kernel if _is_graph(kernel) else np.asarray(kernel)
    ks = _shape(as_output(k)) if _is_graph(k) else k.shape
    xs = _shape(as_output(x)) if _is_graph(x) else np.shape(x)
    if len(ks) != 2:
        raise ValueError(f"dense: kernel must have rank 2, got shape {ks}.")
    if xs and xs[-1] is not None and ks[0] is not None and xs[-1] != ks[0]:
        raise ValueError(f"dense: input last dimension {xs[-1]} does not match kernel shape {ks}.")
    out = matmul(x, k)
    return out if bias is None else add(out, bias)


# --- core ------------------------------------------------------------------------------------
@_graph_op
def cast(x, dtype):
    return _cast(as_output(x), _std(dtype))


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    if sparse or ragged:
        raise ValueError("convert_to_tensor: the OpenVINO backend has no sparse or ragged tensors.")
    name = _std(dtype) if dtype is not None else None
    if _is_graph(x) or isinstance(x, ov.Tensor) or (
            isinstance(x, (list, tuple)) and builtins.any(_is_graph(i) for i in x)):
        o = as_output(x)
        return o if name is None else _cast(o, name)
    if name == "bfloat16":
        return _constant(_ref.convert_to_tensor(x, "float32"), name)
    return _constant(_ref.convert_to_tensor(x, name))


def _constant_data(node):
    data = node.get_data()
    if node.get_element_type() == ov.Type.bf16:  # get_data() shows bf16 bits as float16
        bits = np.asarray(data).view(np.uint16).astype(np.uint32) << 16
        data = bits.view(np.float32)
        try:
            import ml_dtypes
            data = data.astype(ml_dtypes.bfloat16)
        except ImportError:
            pass
    return np.array(data, copy=True)


def convert_to_numpy(x):
    if isinstance(x, ov.Tensor):
        return np.array(x.data, copy=True)
    if not _is_graph(x):
        return np.asarray(x)
    o = as_output(x)
    node = o.get_node()
    if node.get_type_name() == "Constant" and hasattr(node, "get_data"):
        return _constant_data(node)
    raise TypeError(
        f"convert_to_numpy: OpenVINO values are graph nodes, not data (this one is the output of "
        f"a {node.get_type_name()} node, {o.get_partial_shape()} {o.get_element_type()}). Build "
        "ov.Model([outputs], [parameters]), compile it with ov.compile_model(model, 'CPU') and "
        "run it to get values; only Constant nodes have a value while the graph is built.")


def stop_gradient(variable):
    return as_output(variable)  # inference graphs have no gradients


def shape(x):
    """Static dimensions as ints, dynamic ones as None."""
    return _shape(as_output(x))


# --- random ----------------------------------------------------------------------------------
def random_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    raise ValueError("random_normal: random sampling is not part of OpenVINO inference graphs; "
                     "draw the values with another backend (or NumPy) and pass them as constants.")


def random_uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    raise ValueError("random_uniform: random sampling is not part of OpenVINO inference graphs; "
                     "draw the values with another backend (or NumPy) and pass them as constants.")


def random_dropout(inputs, rate, noise_shape=None, seed=None):
    return _float(inputs)  # inference graphs have no dropout: identity (float, as the reference)


# Further op families, one module each (each defines __all__).
from unikeras.adapters.openvino.ops_elementwise import *  # noqa: E402,F401,F403
from unikeras.adapters.openvino.ops_reductions import *  # noqa: E402,F401,F403
from unikeras.adapters.openvino.ops_arrays import *  # noqa: E402,F401,F403
from unikeras.adapters.openvino.ops_neural import *  # noqa: E402,F401,F403
from unikeras.adapters.openvino.ops_linalg import *  # noqa: E402,F401,F403
from unikeras.adapters.openvino.ops_control import *  # noqa: E402,F401,F403
from unikeras.adapters.openvino.ops_image import *  # noqa: E402,F401,F403
from unikeras.adapters.openvino.ops_recurrent import *  # noqa: E402,F401,F403
from unikeras.adapters.openvino.ops_fused import *  # noqa: E402,F401,F403
