"""NumPy-compatible ops. Each body is the op's symbolic rule (see `op`)."""
import builtins

from unikeras import config
from unikeras.common import dtypes
from unikeras.common.ops.op import op
from unikeras.common.ops.reductions import sum_dtype
from unikeras.common.ops.shapes import (
    axes_tuple, broadcast_shapes, canonical_axis, dtype_of, reduce_shape, reshape_shape, spec)
from unikeras.common.symbolic import KerasTensor


def _unary(x, dtype=None):
    shape, in_dtype = spec(x)
    return KerasTensor(shape, dtype or in_dtype)


def _float_unary(x):
    shape, in_dtype = spec(x)
    return KerasTensor(shape, in_dtype if dtypes.is_float(in_dtype) else config.floatx())


def _binary(name, x1, x2, dtype=None):
    shape = broadcast_shapes(name, spec(x1)[0], spec(x2)[0])
    return KerasTensor(shape, dtype or dtypes.result_type(dtype_of(x1), dtype_of(x2)))


def _float_binary(name, x1, x2):
    dtype = dtypes.result_type(dtype_of(x1), dtype_of(x2))
    return _binary(name, x1, x2, dtype if dtypes.is_float(dtype) else config.floatx())


# --- element-wise arithmetic -------------------------------------------------------------
@op
def add(x1, x2):
    """Element-wise `x1 + x2`, broadcasting as NumPy does."""
    return _binary("add", x1, x2)


@op
def subtract(x1, x2):
    """Element-wise `x1 - x2`."""
    return _binary("subtract", x1, x2)


@op
def multiply(x1, x2):
    """Element-wise `x1 * x2`."""
    return _binary("multiply", x1, x2)


@op
def divide(x1, x2):
    """True division `x1 / x2`; integer inputs give floatx."""
    return _float_binary("divide", x1, x2)


@op
def power(x1, x2):
    """Element-wise `x1 ** x2`. Two bools give bool (Keras's rule): `x1 or not x2`."""
    return _binary("power", x1, x2)


@op
def maximum(x1, x2):
    """Element-wise maximum."""
    return _binary("maximum", x1, x2)


@op
def minimum(x1, x2):
    """Element-wise minimum."""
    return _binary("minimum", x1, x2)


@op
def negative(x):
    """Element-wise `-x`."""
    return _unary(x)


@op
def absolute(x):
    """Element-wise `|x|`."""
    return _unary(x)


abs = absolute


@op
def sign(x):
    """Element-wise sign (-1, 0, 1)."""
    return _unary(x)


@op
def square(x):
    """Element-wise `x * x` (bool squares to int32, as in Keras: a 0/1 count, like sum)."""
    shape, dtype = spec(x)
    return KerasTensor(shape, "int32" if dtype == "bool" else dtype)


@op
def sqrt(x):
    """Element-wise square root; integer inputs give floatx."""
    return _float_unary(x)


@op
def exp(x):
    """Element-wise natural exponential."""
    return _float_unary(x)


@op
def log(x):
    """Element-wise natural logarithm."""
    return _float_unary(x)


@op
def tanh(x):
    """Element-wise hyperbolic tangent."""
    return _float_unary(x)


@op
def clip(x, x_min, x_max):
    """Clamp values into `[x_min, x_max]`, in `x`'s dtype (bool: int32; a Python scalar `x`
    as `convert_to_tensor` reads it: float -> floatx, int -> int32); tensor bounds
    broadcast with `x`."""
    shape, dtype = spec(x)
    bounds = [spec(b)[0] for b in (x_min, x_max) if b is not None]
    if bounds:
        shape = broadcast_shapes("clip", shape, *bounds)
    return KerasTensor(shape, "int32" if dtype == "bool" else dtype)


# --- comparisons and selection -------------------------------------------------------------
@op
def equal(x1, x2):
    """Element-wise `x1 == x2` (bool)."""
    return _binary("equal", x1, x2, "bool")


@op
def not_equal(x1, x2):
    """Element-wise `x1 != x2` (bool)."""
    return _binary("not_equal", x1, x2, "bool")


@op
def greater(x1, x2):
    """Element-wise `x1 > x2` (bool)."""
    return _binary("greater", x1, x2, "bool")


@op
def greater_equal(x1, x2):
    """Element-wise `x1 >= x2` (bool)."""
    return _binary("greater_equal", x1, x2, "bool")


@op
def less(x1, x2):
    """Element-wise `x1 < x2` (bool)."""
    return _binary("less", x1, x2, "bool")


@op
def less_equal(x1, x2):
    """Element-wise `x1 <= x2` (bool)."""
    return _binary("less_equal", x1, x2, "bool")


@op
def where(condition, x1=None, x2=None):
    """Pick `x1` where `condition` holds, else `x2` (both required here)."""
    if x1 is None or x2 is None:
        raise ValueError("where: the one-argument form (indices of non-zeros) is not supported; "
                         "pass x1 and x2.")
    shape = broadcast_shapes("where", spec(condition)[0], spec(x1)[0], spec(x2)[0])
    return KerasTensor(shape, dtypes.result_type(dtype_of(x1), dtype_of(x2)))


# --- reductions ----------------------------------------------------------------------------
@op
def sum(x, axis=None, keepdims=False):
    """Sum over `axis` (all axes when None). Bool and small integers accumulate wider so
    totals do not wrap around: bool/int8/int16 -> int32, uint8/uint16 -> uint32 (Keras's rule,
    shared with nansum: see `reductions.sum_dtype`)."""
    shape, dtype = spec(x)
    return KerasTensor(reduce_shape("sum", shape, axis, keepdims), sum_dtype(dtype))


@op
def mean(x, axis=None, keepdims=False):
    """Arithmetic mean over `axis`; integer inputs give floatx."""
    shape, dtype = spec(x)
    out = dtype if dtypes.is_float(dtype) else config.floatx()
    return KerasTensor(reduce_shape("mean", shape, axis, keepdims), out)


@op
def max(x, axis=None, keepdims=False, initial=None):
    """Maximum over `axis`."""
    shape, dtype = spec(x)
    return KerasTensor(reduce_shape("max", shape, axis, keepdims), dtype)


@op
def min(x, axis=None, keepdims=False, initial=None):
    """Minimum over `axis`."""
    shape, dtype = spec(x)
    return KerasTensor(reduce_shape("min", shape, axis, keepdims), dtype)


@op
def argmax(x, axis=None, keepdims=False):
    """Index of the maximum along `axis` (of the flattened tensor when None), int32."""
    shape, _ = spec(x)
    if axis is None:
        return KerasTensor((1,) * len(shape) if keepdims else (), "int32")
    return KerasTensor(reduce_shape("argmax", shape, axis, keepdims), "int32")


# --- shapes --------------------------------------------------------------------------------
@op
def reshape(x, newshape):
    """Same data, new shape; one dimension may be -1."""
    shape, dtype = spec(x)
    return KerasTensor(reshape_shape("reshape", shape, newshape), dtype)


@op
def transpose(x, axes=None):
    """Permute dimensions (reverse them when `axes` is None)."""
    shape, dtype = spec(x)
    axes = tuple(reversed(range(len(shape)))) if axes is None else tuple(axes)
    if sorted(canonical_axis("transpose", a, len(shape)) for a in axes) != list(range(len(shape))):
        raise ValueError(f"transpose: axes {axes} do not permute a tensor of rank {len(shape)}.")
    return KerasTensor(tuple(shape[a] for a in axes), dtype)


@op
def expand_dims(x, axis):
    """Insert a size-1 dimension at `axis`."""
    shape, dtype = spec(x)
    a = canonical_axis("expand_dims", axis, len(shape) + 1)
    return KerasTensor(shape[:a] + (1,) + shape[a:], dtype)


@op
def squeeze(x, axis=None):
    """Drop size-1 dimensions (only `axis` when given)."""
    shape, dtype = spec(x)
    if axis is None:
        return KerasTensor(tuple(d for d in shape if d != 1), dtype)
    axes = axes_tuple("squeeze", axis, len(shape))
    for a in axes:
        if shape[a] not in (1, None):
            raise ValueError(f"squeeze: dimension {a} of shape {shape} is not 1.")
    return KerasTensor(tuple(d for i, d in enumerate(shape) if i not in axes), dtype)


@op
def concatenate(xs, axis=0):
    """Join tensors along an existing axis."""
    specs = [spec(x) for x in xs]
    rank = len(specs[0][0])
    a = canonical_axis("concatenate", axis, rank)
    out = list(specs[0][0])
    for shape, _ in specs[1:]:
        if len(shape) != rank:
            raise ValueError(f"concatenate: ranks differ: {[s for s, _ in specs]}.")
        for i, d in enumerate(shape):
            if i == a:
                out[i] = None if out[i] is None or d is None else out[i] + d
            elif out[i] is not None and d is not None and out[i] != d:
                raise ValueError(f"concatenate: shapes {[s for s, _ in specs]} differ off axis {axis}.")
            elif out[i] is None:
                out[i] = d
    return KerasTensor(tuple(out), dtypes.result_type(*[d for _, d in specs]))


@op
def matmul(x1, x2):
    """Matrix product with NumPy semantics for batched (rank > 2) operands."""
    s1, d1 = spec(x1)
    s2, d2 = spec(x2)
    if not s1 or not s2:
        raise ValueError(f"matmul: operands must have rank >= 1, got shapes {s1} and {s2}.")
    a = s1 if len(s1) > 1 else (1,) + s1
    b = s2 if len(s2) > 1 else s2 + (1,)
    if a[-1] is not None and b[-2] is not None and a[-1] != b[-2]:
        raise ValueError(f"matmul: inner dimensions differ: shapes {s1} and {s2}.")
    batch = broadcast_shapes("matmul", a[:-2], b[:-2])
    out = batch + ((a[-2],) if len(s1) > 1 else ()) + ((b[-1],) if len(s2) > 1 else ())
    dtype = dtypes.result_type(d1, d2)
    return KerasTensor(out, "int32" if dtype in ("bool", "int8", "uint8") else dtype)


@op
def get_item(x, key):
    """`x[key]` for ints, slices, None and Ellipsis."""
    shape, dtype = spec(x)
    key = key if isinstance(key, tuple) else (key,)
    if builtins.sum(1 for k in key if k is Ellipsis) > 1:
        raise ValueError("get_item: only one Ellipsis allowed.")
    n_index = builtins.sum(1 for k in key if k is not None and k is not Ellipsis)
    if Ellipsis in key:
        i = key.index(Ellipsis)
        key = key[:i] + (builtins.slice(None),) * (len(shape) - n_index) + key[i + 1:]
    else:
        key = key + (builtins.slice(None),) * (len(shape) - n_index)
    out, dim = [], 0
    for k in key:
        if k is None:
            out.append(1)
            continue
        d = shape[dim]
        dim += 1
        if isinstance(k, builtins.slice):
            out.append(None if d is None else len(range(*k.indices(d))))
        elif not isinstance(k, int):
            raise TypeError(f"get_item: unsupported symbolic index {k!r}.")
    return KerasTensor(tuple(out), dtype)


# --- creation ------------------------------------------------------------------------------
def _shape_tuple(shape):
    return (shape,) if isinstance(shape, int) else tuple(shape)


@op
def zeros(shape, dtype=None):
    """Tensor of zeros on the current backend."""
    return KerasTensor(_shape_tuple(shape), dtype or config.floatx())


@op
def ones(shape, dtype=None):
    """Tensor of ones on the current backend."""
    return KerasTensor(_shape_tuple(shape), dtype or config.floatx())


@op
def full(shape, fill_value, dtype=None):
    """Tensor filled with `fill_value`, of `dtype` (floatx when None, whatever the fill
    value's type: `full(shape, 1)` is float32, as in Keras)."""
    return KerasTensor(_shape_tuple(shape), dtypes.standardize_dtype(dtype))


@op
def zeros_like(x, dtype=None):
    """Zeros with the shape (and dtype unless given) of `x`."""
    return _unary(x, dtype and dtypes.standardize_dtype(dtype))


@op
def ones_like(x, dtype=None):
    """Ones with the shape (and dtype unless given) of `x`."""
    return _unary(x, dtype and dtypes.standardize_dtype(dtype))


@op
def arange(start, stop=None, step=None, dtype=None):
    """Evenly spaced values in `[start, stop)`, `step` apart (default 1)."""
    step = 1 if step is None else step
    if stop is None:
        start, stop = 0, start
    n = len(range(0, int(-(-(stop - start) // step))))
    return KerasTensor((n,), dtype or dtypes.result_type(start, stop, step))


# Further definitions of this namespace, one module per family.
from unikeras.common.ops.elementwise import *  # noqa: E402,F401,F403
from unikeras.common.ops.reductions import *  # noqa: E402,F401,F403
from unikeras.common.ops.arrays import *  # noqa: E402,F401,F403
