"""OpenVINO graph builders of the arrays op family: joining, splitting, reordering,
gathering, diagonals and triangles, creation, products, dynamic slices and scatters.
Dynamic dimensions are kept wherever the op allows; ranks must be static.

Not here, because OpenVINO cannot express them exactly: `view` (no bit-reinterpreting
op), `view_as_real` / `view_as_complex` (no complex element type)."""
import builtins
import operator

import numpy as np
from unikeras.adapters.openvino import opset as ovo

from unikeras.common import dtypes
from unikeras.common.ops import arrays as _defs
from unikeras.common.ops.shapes import broadcast_shapes
from unikeras.adapters.numpy_ref import ops_arrays as _np_ref
from unikeras.adapters.openvino.ops import (
    _as, _axis, _rule, _cast, _constant, _filled, _filled_like, _graph_op, _i64, _is_graph, _promote,
    _shape, _std, _weak_dtype, as_output, convert_to_tensor as _convert_to_tensor, dtype_name,
    matmul as _matmul, multiply as _multiply, zeros_like as _zeros_like)

_INT64_MIN = np.iinfo(np.int64).min


def _common(xs):
    d = dtypes.result_type(*[_weak_dtype(x) for x in xs])
    return [_as(x, d) for x in xs], d


def _dims(o):
    return ovo.shape_of(o, "i64").output(0)


def _dim(o, a):
    """Dimension `a` of `o` as a (1,) int64 Output."""
    return ovo.gather(_dims(o), _i64([a]), _i64(0)).output(0)


def _index(indices):
    i = as_output(indices)
    if not dtypes.is_int(dtype_name(i)):
        raise ValueError(f"indices must be integers, got dtype {dtype_name(i)}.")
    return _cast(i, "int64")


@_graph_op
def stack(x, axis=0):
    outs, _ = _common(list(x))
    rank = len(_shape(outs[0]))
    a = _axis("stack", axis, rank + 1)
    return ovo.concat([ovo.unsqueeze(o, _i64([a])).output(0) for o in outs], a).output(0)


def _split(name, x, indices_or_sections, axis, even):
    o = as_output(x)
    shape = _shape(o)
    a = _axis(name, axis, len(shape))
    sizes = _defs.split_sizes(name, shape[a], indices_or_sections, even)
    if None in sizes:
        if isinstance(indices_or_sections, (list, tuple)) or not even:
            raise ValueError(f"{name}: axis {axis} of shape {shape} must be static.")
        node = ovo.split(o, _i64(a), len(sizes))
    else:
        node = ovo.variadic_split(o, _i64(a), _i64(sizes))
    return [node.output(i) for i in range(len(sizes))]


@_graph_op
def split(x, indices_or_sections, axis=0):
    return _split("split", x, indices_or_sections, axis, True)


@_graph_op
def tile(x, repeats):
    reps = _defs.int_tuple("tile", repeats, "repeats")
    return ovo.tile(as_output(x), _i64(list(reps))).output(0)


@_graph_op
def repeat(x, repeats, axis=None):
    o = as_output(x)
    reps = _defs.int_tuple("repeat", repeats, "repeats")
    if axis is None:
        o, axis = ovo.reshape(o, _i64([-1]), False).output(0), 0
    shape = _shape(o)
    a = _axis("repeat", axis, len(shape))
    if shape[a] is not None:
        counts = reps if len(reps) > 1 else reps * shape[a]
        if len(counts) != shape[a]:
            raise ValueError(f"repeat: {len(reps)} repeats for an axis of size {shape[a]}.")
        idx = np.repeat(np.arange(shape[a]), counts)
        return ovo.gather(o, _i64(idx), _i64(a)).output(0)
    if len(reps) != 1:
        raise ValueError("repeat: a list of repeats needs a static axis length.")
    r = reps[0]
    up = ovo.unsqueeze(o, _i64([a + 1])).output(0)
    tiled = ovo.tile(up, _i64([1] * (a + 1) + [r] + [1] * (len(shape) - a - 1))).output(0)
    dims = _dims(o)
    target = ovo.concat([
        ovo.gather(dims, _i64(list(range(a))), _i64(0)).output(0),
        ovo.multiply(_dim(o, a), _i64([r])).output(0),
        ovo.gather(dims, _i64(list(range(a + 1, len(shape)))), _i64(0)).output(0)], 0).output(0)
    return ovo.reshape(tiled, target, False).output(0)


@_graph_op
def pad(x, pad_width, mode="constant", constant_values=None):
    o = as_output(x)
    shape = _shape(o)
    if mode == "wrap":
        raise ValueError("pad: mode 'wrap' has no OpenVINO Pad mode.")
    _defs.pad.rule(_Spec(shape, dtype_name(o)), pad_width, mode, constant_values)
    pairs = _defs.pad_pairs("pad", pad_width, len(shape))
    begin = _i64([b for b, _ in pairs])
    end = _i64([e for _, e in pairs])
    if mode == "constant":
        value = _as(0 if constant_values is None else constant_values, dtype_name(o))
        return ovo.pad(o, begin, end, "constant", value).output(0)
    return ovo.pad(o, begin, end, mode).output(0)


class _Spec:
    def __init__(self, shape, dtype):
        self.shape, self.dtype = shape, dtype


@_graph_op
def flip(x, axis=None):
    o = as_output(x)
    rank = len(_shape(o))
    axes = list(range(rank)) if axis is None else _defs.axis_list("flip", axis, rank)
    if not axes:
        return o
    n = len(axes)
    return ovo.slice(o, _i64([-1] * n), _i64([_INT64_MIN] * n), _i64([-1] * n),
                     _i64(axes)).output(0)


@_graph_op
def take(x, indices, axis=None):
    o = as_output(x)
    i = _index(indices)
    if axis is None:
        o, axis = ovo.reshape(o, _i64([-1]), False).output(0), 0
    a = _axis("take", axis, len(_shape(o)))
    return ovo.gather(o, i, _i64(a)).output(0)  # Gather-8 counts negative indices from the end


@_graph_op
def take_along_axis(x, indices, axis=None):
    o = as_output(x)
    i = _index(indices)
    if axis is None:
        return take(o, i)
    xs, ishape, a = _defs.take_along_axis_shapes("take_along_axis", _shape(o), _shape(i), axis)
    if xs != _shape(o) or ishape != _shape(i) or None in xs or None in ishape:
        # Broadcast the non-axis dimensions of both in the graph (dynamic dims allowed).
        sx, si = _dims(o), _dims(i)
        m = ovo.maximum(sx, si).output(0)
        rank = len(xs)

        def target(own):
            parts = [ovo.gather(m, _i64(list(range(a))), _i64(0)).output(0),
                     ovo.gather(own, _i64([a]), _i64(0)).output(0),
                     ovo.gather(m, _i64(list(range(a + 1, rank))), _i64(0)).output(0)]
            return ovo.concat(parts, 0).output(0)
        o = ovo.broadcast(o, target(sx)).output(0)
        i = ovo.broadcast(i, target(si)).output(0)
    n = _dim(o, a)
    i = ovo.select(ovo.less(i, _i64(0)), ovo.add(i, ovo.squeeze(n, _i64([0]))), i).output(0)
    return ovo.gather_elements(o, i, a).output(0)


@_graph_op
def broadcast_to(x, shape):
    o = as_output(x)
    target = _defs.int_tuple("broadcast_to", shape)
    _defs.broadcast_to.rule(_Spec(_shape(o), dtype_name(o)), target)
    return ovo.broadcast(o, _i64(list(target))).output(0)


@_graph_op
def moveaxis(x, source, destination):
    o = as_output(x)
    perm = _defs.moveaxis_perm("moveaxis", len(_shape(o)), source, destination)
    return ovo.transpose(o, _i64(perm)).output(0)


@_graph_op
def swapaxes(x, axis1, axis2):
    o = as_output(x)
    rank = len(_shape(o))
    a, b = _axis("swapaxes", axis1, rank), _axis("swapaxes", axis2, rank)
    perm = list(range(rank))
    perm[a], perm[b] = perm[b], perm[a]
    return ovo.transpose(o, _i64(perm)).output(0)


@_graph_op
def ravel(x):
    return ovo.reshape(as_output(x), _i64([-1]), False).output(0)


def _explicit(subscripts, ranks):
    """Einsum subscripts with an explicit '->' output (NumPy's implicit rule)."""
    subscripts = subscripts.replace(" ", "")
    if "->" in subscripts:
        return subscripts
    letters = subscripts.replace("...", "").replace(",", "")
    singles = sorted(c for c in set(letters) if letters.count(c) == 1)
    return subscripts + "->" + ("..." if "..." in subscripts else "") + "".join(singles)


@_graph_op
def einsum(subscripts, *operands, **kwargs):
    outs, d = _common(list(operands))
    _defs.einsum_output("einsum", subscripts, [_shape(o) for o in outs])
    out_d = _defs.einsum_result_dtype(d)
    outs = [_cast(o, out_d) for o in outs]
    return ovo.einsum(outs, _explicit(subscripts, None)).output(0)


def _contract(a, b, a1, a2):
    """tensordot of graph values over axes lists a1 / a2, as one Einsum node."""
    letters = iter(_defs._EINSUM_LETTERS)
    ra, rb = len(_shape(a)), len(_shape(b))
    sa = [next(letters) for _ in range(ra)]
    sb = [None] * rb
    for i, j in zip(a1, a2):
        sb[j] = sa[i]
    sb = [c if c is not None else next(letters) for c in sb]
    out = [c for i, c in enumerate(sa) if i not in a1] + [c for j, c in enumerate(sb)
                                                          if j not in a2]
    return ovo.einsum([a, b], f"{''.join(sa)},{''.join(sb)}->{''.join(out)}").output(0)


@_graph_op
def tensordot(x1, x2, axes=2):
    a, b, d = _promote(x1, x2)
    a1, a2 = _defs.tensordot_axes("tensordot", len(_shape(a)), len(_shape(b)), axes)
    _defs.tensordot.rule(_Spec(_shape(a), d), _Spec(_shape(b), d), (a1, a2))
    out_d = _defs.einsum_result_dtype(d)
    return _contract(_cast(a, out_d), _cast(b, out_d), a1, a2)


@_graph_op
def dot(x1, x2):
    a, b, d = _promote(x1, x2)
    ra, rb = len(_shape(a)), len(_shape(b))
    if not ra or not rb:
        return ovo.multiply(a, b).output(0)
    _defs.dot.rule(_Spec(_shape(a), d), _Spec(_shape(b), d))
    if ra <= 2 and rb <= 2:
        return _matmul(a, b)
    out_d = _defs.einsum_result_dtype(d)
    return _contract(_cast(a, out_d), _cast(b, out_d), [ra - 1], [rb - 2])


@_graph_op
def eye(N, M=None, k=0, dtype=None):
    d = _std(dtype)
    value = np.eye(N, M, k, dtype=np.float32 if d == "bfloat16" else d)
    return _constant(value, d)


@_graph_op
def identity(n, dtype=None):
    return eye(n, dtype=dtype)


@_graph_op
def slice_tensor(inputs, start_indices, shape):
    o = as_output(inputs)
    xshape = _shape(o)
    block = _defs.int_tuple("slice", shape)
    _defs.slice.rule(_Spec(xshape, dtype_name(o)), start_indices if not _is_graph(start_indices)
                     else _Spec((len(xshape),), "int64"), block)
    if not _is_graph(start_indices) and not (isinstance(start_indices, (list, tuple)) and
                                             builtins.any(_is_graph(s) for s in start_indices)) \
            and None not in xshape:
        starts = [operator.index(s) for s in np.asarray(start_indices).reshape(-1)]
        starts = [builtins.min(builtins.max(s, 0), d - b) for s, d, b in zip(starts, xshape, block)]
        stops = [s + b for s, b in zip(starts, block)]
        return ovo.slice(o, _i64(starts), _i64(stops), _i64([1] * len(block))).output(0)
    if isinstance(start_indices, (list, tuple)):
        s = ovo.concat([ovo.reshape(_as(v, "int64"), _i64([1]), False).output(0)
                        for v in start_indices], 0).output(0)
    else:
        s = ovo.reshape(_as(start_indices, "int64"), _i64([-1]), False).output(0)
    limit = ovo.subtract(_dims(o), _i64(list(block))).output(0)
    s = ovo.minimum(ovo.maximum(s, _i64(0)), limit).output(0)
    out = ovo.slice(o, s, ovo.add(s, _i64(list(block))), _i64([1] * len(block))).output(0)
    return ovo.reshape(out, _i64(list(block)), False).output(0)  # the block shape is static


@_graph_op
def full_like(x, fill_value, dtype=None):
    if _is_graph(fill_value) or np.ndim(fill_value):
        o = as_output(x)
        d = _std(dtype) if dtype else dtype_name(o)
        return ovo.broadcast(_as(fill_value, d), _dims(o)).output(0)
    return _filled_like("full_like", x, fill_value, dtype)


# --- shared helpers of the ops below --------------------------------------------------------




def _scalar(o):
    return ovo.squeeze(o, _i64([0])).output(0)


def _iota(o, a):
    """0 .. dim(a)-1 of `o` as int64 (a constant when the dimension is static)."""
    d = _shape(o)[a]
    if d is not None:
        return _i64(np.arange(d))
    return ovo.range(_i64(0), _scalar(_dim(o, a)), _i64(1), "i64").output(0)


def _band(o, cmp, k):
    """Boolean (rows, cols) mask over the last two axes of `o`: cmp(col - row, k)."""
    rank = len(_shape(o))
    rows = ovo.unsqueeze(_iota(o, rank - 2), _i64([1])).output(0)
    cols = ovo.unsqueeze(_iota(o, rank - 1), _i64([0])).output(0)
    return cmp(ovo.subtract(cols, rows), _i64(k)).output(0)


def _flatten(o):
    return ovo.reshape(o, _i64([-1]), False).output(0)


def _numbers_only(name, o):
    if dtype_name(o) == "bool":
        raise TypeError(f"{name}: not supported for bool tensors on OpenVINO.")


# --- joining and splitting -------------------------------------------------------------------
@_graph_op
def unstack(x, num=None, axis=0):
    o = as_output(x)
    n = len(_rule("unstack", o, num, axis))
    shape = _shape(o)
    a = _axis("unstack", axis, len(shape))
    if shape[a] is not None:
        node = ovo.variadic_split(o, _i64(a), _i64([1] * n))
    else:
        node = ovo.split(o, _i64(a), n)
    return [ovo.squeeze(node.output(i), _i64([a])).output(0) for i in range(n)]


@_graph_op
def array_split(x, indices_or_sections, axis=0):
    return _split("array_split", x, indices_or_sections, axis, False)


@_graph_op
def hsplit(x, indices_or_sections):
    o = as_output(x)
    _rule("hsplit", o, indices_or_sections)
    return _split("hsplit", o, indices_or_sections, 1 if len(_shape(o)) > 1 else 0, True)


@_graph_op
def vsplit(x, indices_or_sections):
    o = as_output(x)
    _rule("vsplit", o, indices_or_sections)
    return _split("vsplit", o, indices_or_sections, 0, True)


@_graph_op
def dsplit(x, indices_or_sections):
    o = as_output(x)
    _rule("dsplit", o, indices_or_sections)
    return _split("dsplit", o, indices_or_sections, 2, True)


def _atleast(o, n):
    rank = len(_shape(o))
    if rank >= n:
        return o
    axes = {(0, 1): [0], (0, 2): [0, 1], (1, 2): [0], (0, 3): [0, 1, 2], (1, 3): [0, 2],
            (2, 3): [2]}
    return ovo.unsqueeze(o, _i64(axes[(rank, n)])).output(0)


def _joined(name, xs, n, axis_of):
    xs = list(xs)
    d = _rule(name, xs).dtype
    outs = [_atleast(_as(x, d), n) for x in xs]
    return ovo.concat(outs, axis_of(len(_shape(outs[0])))).output(0)


@_graph_op
def hstack(xs):
    return _joined("hstack", xs, 1, lambda r: 0 if r == 1 else 1)


@_graph_op
def vstack(xs):
    return _joined("vstack", xs, 2, lambda r: 0)


@_graph_op
def dstack(xs):
    return _joined("dstack", xs, 3, lambda r: 2)


@_graph_op
def append(x1, x2, axis=None):
    out = _rule("append", x1, x2, axis)
    a, b = _as(x1, out.dtype), _as(x2, out.dtype)
    if axis is None:
        return ovo.concat([_flatten(a), _flatten(b)], 0).output(0)
    return ovo.concat([a, b], _axis("append", axis, len(_shape(a)))).output(0)


# --- reordering ------------------------------------------------------------------------------
@_graph_op
def fliplr(x):
    o = as_output(x)
    _rule("fliplr", o)
    return flip(o, 1)


@_graph_op
def flipud(x):
    o = as_output(x)
    _rule("flipud", o)
    return flip(o, 0)


@_graph_op
def roll(x, shift, axis=None):
    o = as_output(x)
    _rule("roll", o, shift, axis)
    shifts = list(_defs.int_tuple("roll", shift, "shift"))
    if axis is None:
        flat = _flatten(o)
        rolled = ovo.roll(flat, _i64([builtins.sum(shifts)]), _i64([0])).output(0)
        return ovo.reshape(rolled, _dims(o), False).output(0)
    axes = [_axis("roll", a, len(_shape(o))) for a in (
        axis if isinstance(axis, (list, tuple)) else (axis,))]
    if len(shifts) == 1:
        shifts = shifts * len(axes)
    return ovo.roll(o, _i64(shifts), _i64(axes)).output(0)


@_graph_op
def rot90(array, k=1, axes=(0, 1)):
    o = as_output(array)
    _rule("rot90", o, k, axes)
    rank = len(_shape(o))
    a0, a1 = (_axis("rot90", a, rank) for a in axes)
    k = operator.index(k) % 4
    if k == 0:
        return o
    if k == 2:
        return flip(o, [a0, a1])
    perm = list(range(rank))
    perm[a0], perm[a1] = perm[a1], perm[a0]
    if k == 1:
        return ovo.transpose(flip(o, a1), _i64(perm)).output(0)
    return flip(ovo.transpose(o, _i64(perm)).output(0), a1)


# --- sizes -----------------------------------------------------------------------------------
@_graph_op
def size(x):
    o = as_output(x)
    shape = _shape(o)
    if None not in shape:
        return _constant(np.asarray(int(np.prod(shape, dtype=np.int64)), "int32"))
    n = ovo.reduce_prod(_dims(o), _i64([0]), False).output(0)
    return _cast(n, "int32")


def ndim(x):
    return len(_shape(as_output(x)))


def dtype(x):
    return dtype_name(as_output(x))


@_graph_op
def array(x, dtype=None):
    return _convert_to_tensor(x, dtype)


# --- diagonals and triangles -----------------------------------------------------------------
def _last_two(o, axis1, axis2):
    """`o` with axes axis1, axis2 moved to the end (in that order)."""
    rank = len(_shape(o))
    a, b = _axis("diagonal", axis1, rank), _axis("diagonal", axis2, rank)
    perm = [i for i in range(rank) if i not in (a, b)] + [a, b]
    return o if perm == list(range(rank)) else ovo.transpose(o, _i64(perm)).output(0)


def _diagonal(o, k):
    """Diagonal `k` of the last two axes of `o`, as the last axis."""
    shape = _shape(o)
    rank = len(shape)
    flat = ovo.reshape(o, _i64([0] * (rank - 2) + [-1]), True).output(0)
    n, m = shape[-2], shape[-1]
    if n is not None and m is not None:
        length = builtins.max(0, builtins.min(n + builtins.min(k, 0), m - builtins.max(k, 0)))
        idx = _i64(np.arange(length) * (m + 1) + (k if k >= 0 else -k * m))
    else:
        nn, mm = _scalar(_dim(o, rank - 2)), _scalar(_dim(o, rank - 1))
        length = ovo.maximum(_i64(0), ovo.minimum(ovo.add(nn, _i64(builtins.min(k, 0))),
                                                  ovo.subtract(mm, _i64(builtins.max(k, 0)))))
        first = _i64(k) if k >= 0 else ovo.multiply(mm, _i64(-k))
        idx = ovo.add(ovo.multiply(ovo.range(_i64(0), length, _i64(1), "i64"),
                                   ovo.add(mm, _i64(1))), first).output(0)
    return ovo.gather(flat, idx, _i64(rank - 2)).output(0)


@_graph_op
def diagonal(x, offset=0, axis1=0, axis2=1):
    o = as_output(x)
    _rule("diagonal", o, offset, axis1, axis2)
    return _diagonal(_last_two(o, axis1, axis2), operator.index(offset))


@_graph_op
def trace(x, offset=0, axis1=0, axis2=1):
    o = as_output(x)
    out = _rule("trace", o, offset, axis1, axis2)
    diag_ = _cast(_diagonal(_last_two(o, axis1, axis2), operator.index(offset)), out.dtype)
    return ovo.reduce_sum(diag_, _i64([len(_shape(diag_)) - 1]), False).output(0)


def _diag_matrix(o, k):
    """Square matrix with vector `o` on diagonal `k`."""
    square = ovo.pad(o, _i64([0]), _i64([builtins.abs(k)]), "constant",
                     _as(0, dtype_name(o))).output(0)
    # Element (r, c) of diagonal k holds o[r] for k >= 0, o[c] for k < 0.
    values = ovo.unsqueeze(square, _i64([1 if k >= 0 else 0])).output(0)
    grid = ovo.concat([_dims(square), _dims(square)], 0).output(0)
    values = ovo.broadcast(values, grid).output(0)
    mask = _band(values, ovo.equal, k)
    return ovo.select(mask, values, _as(0, dtype_name(o))).output(0)


@_graph_op
def diag(x, k=0):
    o = as_output(x)
    _rule("diag", o, k)
    k = operator.index(k)
    if len(_shape(o)) == 1:
        return _diag_matrix(o, k)
    return _diagonal(o, k)


@_graph_op
def diagflat(x, k=0):
    o = as_output(x)
    _rule("diagflat", o, k)
    return _diag_matrix(_flatten(o), operator.index(k))


def _triangle(name, x, k, cmp):
    o = as_output(x)
    _rule(name, o, k)
    return ovo.select(_band(o, cmp, operator.index(k)), o, _as(0, dtype_name(o))).output(0)


@_graph_op
def tril(x, k=0):
    return _triangle("tril", x, k, ovo.less_equal)


@_graph_op
def triu(x, k=0):
    return _triangle("triu", x, k, ovo.greater_equal)


def _const_of(name, *args, **kwargs):
    """A Constant with the reference's value (creation ops with no graph input)."""
    value = getattr(_np_ref, name)(*args, **kwargs)
    if isinstance(value, tuple):
        return tuple(_constant(v, dtypes.standardize_dtype(v.dtype)) for v in value)
    return _constant(value, dtypes.standardize_dtype(value.dtype))


@_graph_op
def tri(N, M=None, k=0, dtype=None):
    d = _rule("tri", N, M, k, dtype).dtype
    value = np.tri(N, M, k, dtype=np.float32 if d == "bfloat16" else d)
    return _constant(value, d)


# --- creation --------------------------------------------------------------------------------
@_graph_op
def empty(shape, dtype=None):
    return _filled("empty", shape, 0, _std(dtype))


@_graph_op
def empty_like(x, dtype=None):
    return _zeros_like(x, dtype)


def _has_graph(*values):
    return builtins.any(_is_graph(v) or (isinstance(v, (list, tuple)) and builtins.any(
        _is_graph(i) for i in v)) for v in values)


def _space(name, start, stop, num, endpoint, d, axis):
    """(samples along a new leading axis moved to `axis`, step) of linspace in float `d`."""
    num = operator.index(num)
    s, e = _as(start, d), _as(stop, d)
    rank = len(_bshape(s, e))
    div = num - 1 if endpoint else num
    step = ovo.divide(ovo.subtract(e, s), _as(div, d)).output(0) if div > 0 else \
        ovo.add(ovo.subtract(e, s), _as(float("nan"), d)).output(0)
    iota = _as(np.arange(num).reshape((num,) + (1,) * rank), d)
    y = ovo.add(ovo.multiply(iota, step if div > 0 else _as(0, d)), s).output(0)
    if endpoint and num > 1:
        last = _constant((np.arange(num) == num - 1).reshape((num,) + (1,) * rank))
        y = ovo.select(last, e, y).output(0)
    a = _axis(name, axis, rank + 1)
    if a:
        perm = list(range(1, a + 1)) + [0] + list(range(a + 1, rank + 1))
        y = ovo.transpose(y, _i64(perm)).output(0)
    return y, step


def _bshape(*outs):
    return broadcast_shapes("linspace", *[_shape(o) for o in outs])


def _from_float(y, d):
    if dtypes.is_float(d):
        return y
    return _cast(ovo.floor(y).output(0), d)


@_graph_op
def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    out = _rule("linspace", start, stop, num, endpoint, retstep, dtype, axis)
    if not _has_graph(start, stop):
        return _const_of("linspace", start, stop, num, endpoint, retstep, dtype, axis)
    d = (out[0] if retstep else out).dtype
    cd = d if dtypes.is_float(d) else "float32"
    y, step = _space("linspace", start, stop, num, endpoint, cd, axis)
    y = _from_float(y, d)
    if retstep:
        return y, _cast(step, d)
    return y


@_graph_op
def logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0):
    d = _rule("logspace", start, stop, num, endpoint, base, dtype, axis).dtype
    if not _has_graph(start, stop, base):
        return _const_of("logspace", start, stop, num, endpoint, base, dtype, axis)
    cd = d if dtypes.is_float(d) else "float32"
    y, _ = _space("logspace", start, stop, num, endpoint, cd, axis)
    return _cast(ovo.power(_as(base, cd), y).output(0), d)


@_graph_op
def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    d = _rule("geomspace", start, stop, num, endpoint, dtype, axis).dtype
    if not _has_graph(start, stop):
        return _const_of("geomspace", start, stop, num, endpoint, dtype, axis)
    cd = d if dtypes.is_float(d) else "float32"
    s, e = _as(start, cd), _as(stop, cd)
    sign = ovo.sign(s).output(0)
    logs = [ovo.log(ovo.divide(v, sign)).output(0) for v in (s, e)]
    y, _ = _space("geomspace", logs[0], logs[1], num, endpoint, cd, 0)
    y = ovo.multiply(ovo.exp(y), sign).output(0)
    num = operator.index(num)
    rank = len(_shape(y)) - 1
    first = _constant((np.arange(num) == 0).reshape((num,) + (1,) * rank))
    y = ovo.select(first, s, y).output(0)
    if endpoint and num > 1:
        last = _constant((np.arange(num) == num - 1).reshape((num,) + (1,) * rank))
        y = ovo.select(last, e, y).output(0)
    a = _axis("geomspace", axis, rank + 1)
    if a:
        perm = list(range(1, a + 1)) + [0] + list(range(a + 1, rank + 1))
        y = ovo.transpose(y, _i64(perm)).output(0)
    return _from_float(y, d)


def _window_const(name, *args):
    if _has_graph(*args):
        raise ValueError(f"{name}: the window length must be a Python int on OpenVINO.")
    return _const_of(name, *args)


def bartlett(x):
    return _window_const("bartlett", x)


def blackman(x):
    return _window_const("blackman", x)


def hamming(x):
    return _window_const("hamming", x)


def hanning(x):
    return _window_const("hanning", x)


def kaiser(x, beta):
    return _window_const("kaiser", x, beta)


@_graph_op
def meshgrid(*x, indexing="xy"):
    _rule("meshgrid", *x, indexing=indexing)
    flats = [_flatten(as_output(t)) for t in x]
    n = len(flats)
    order = list(range(n))
    if indexing == "xy" and n > 1:
        order[0], order[1] = 1, 0
    # Position p of the output holds input order[p].
    target = ovo.concat([_dims(flats[i]) for i in order], 0).output(0) if n else None
    out = []
    for i, f in enumerate(flats):
        p = order.index(i)
        shape = [1] * n
        shape[p] = -1
        out.append(ovo.broadcast(ovo.reshape(f, _i64(shape), False), target).output(0))
    return out


# --- products --------------------------------------------------------------------------------
def _contract_inputs(x1, x2):
    a, b, d = _promote(x1, x2)
    out_d = _defs.einsum_result_dtype(d)
    return _cast(a, out_d), _cast(b, out_d)


@_graph_op
def inner(x1, x2):
    _rule("inner", x1, x2)
    a, b, _ = _promote(x1, x2)
    ra, rb = len(_shape(a)), len(_shape(b))
    if not ra or not rb:
        return _multiply(a, b)
    a, b = _contract_inputs(a, b)
    return _contract(a, b, [ra - 1], [rb - 1])


@_graph_op
def outer(x1, x2):
    _rule("outer", x1, x2)
    a, b, _ = _promote(x1, x2)
    return _multiply(ovo.unsqueeze(_flatten(a), _i64([1])).output(0),
                     ovo.unsqueeze(_flatten(b), _i64([0])).output(0))


@_graph_op
def vdot(x1, x2):
    _rule("vdot", x1, x2)
    a, b = _contract_inputs(x1, x2)
    return _contract(_flatten(a), _flatten(b), [0], [0])


@_graph_op
def kron(x1, x2):
    _rule("kron", x1, x2)
    a, b, _ = _promote(x1, x2)
    n = builtins.max(len(_shape(a)), len(_shape(b)))
    if not n:
        return _multiply(a, b)
    if len(_shape(a)) < n:
        a = ovo.unsqueeze(a, _i64(list(range(n - len(_shape(a)))))).output(0)
    if len(_shape(b)) < n:
        b = ovo.unsqueeze(b, _i64(list(range(n - len(_shape(b)))))).output(0)
    # a[i0, 1, i1, 1, ...] * b[1, j0, 1, j1, ...] -> (i0, j0, i1, j1, ...) -> (i0*j0, ...)
    ea = ovo.unsqueeze(a, _i64([2 * i + 1 for i in range(n)])).output(0)
    eb = ovo.unsqueeze(b, _i64([2 * i for i in range(n)])).output(0)
    prod_ = _multiply(ea, eb)
    target = ovo.multiply(_dims(a), _dims(b)).output(0)
    return ovo.reshape(prod_, target, False).output(0)


def _component(o, i):
    return ovo.gather(o, _i64(i), _i64(-1)).output(0)


@_graph_op
def cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None):
    a, b, d = _promote(x1, x2)
    _numbers_only("cross", a)
    ia, ib, ic, _ = _defs.cross_shapes("cross", _shape(a), _shape(b), axisa, axisb, axisc, axis)
    a = moveaxis(a, ia, -1)
    b = moveaxis(b, ib, -1)
    a0, a1, b0, b1 = _component(a, 0), _component(a, 1), _component(b, 0), _component(b, 1)
    z = ovo.subtract(ovo.multiply(a0, b1), ovo.multiply(a1, b0)).output(0)
    if ic is None:
        return z
    a2, b2 = _component(a, 2), _component(b, 2)
    x = ovo.subtract(ovo.multiply(a1, b2), ovo.multiply(a2, b1)).output(0)
    y = ovo.subtract(ovo.multiply(a2, b0), ovo.multiply(a0, b2)).output(0)
    return stack([x, y, z], axis=ic)


@_graph_op
def extract_sequences(x, sequence_length, sequence_stride):
    o = as_output(x)
    out = _rule("extract_sequences", o, sequence_length, sequence_stride)
    n = out.shape[-2]
    idx = np.arange(n)[:, None] * sequence_stride + np.arange(sequence_length)[None, :]
    return ovo.gather(o, _i64(idx), _i64(len(_shape(o)) - 1)).output(0)


# --- dynamic slices and scatters -------------------------------------------------------------
def _start_vector(start_indices):
    if isinstance(start_indices, (list, tuple)):
        return ovo.concat([ovo.reshape(_as(v, "int64"), _i64([1]), False).output(0)
                           for v in start_indices], 0).output(0)
    return ovo.reshape(_as(start_indices, "int64"), _i64([-1]), False).output(0)


@_graph_op
def slice_update(inputs, start_indices, updates):
    o = as_output(inputs)
    _rule("slice_update", o, start_indices, updates)
    u = _as(updates, dtype_name(o))
    xshape, ushape = _shape(o), _shape(u)
    rank = len(xshape)
    if not rank:
        return u
    axes = _i64(list(range(rank)))
    if not _has_graph(start_indices) and None not in xshape and None not in ushape:
        starts = [operator.index(s) for s in np.asarray(start_indices).reshape(-1)]
        starts = [builtins.min(builtins.max(s, 0), d - b) for s, d, b in
                  zip(starts, xshape, ushape)]
        s = _i64(starts)
        stop = ovo.add(s, _dims(u)).output(0)
        return ovo.slice_scatter(o, u, s, stop, _i64([1] * rank), axes).output(0)
    # Starts known only at run time: scatter at start + every position of the block (the CPU
    # plugin's SliceScatter mishandles non-constant starts).
    s = ovo.minimum(ovo.maximum(_start_vector(start_indices), _i64(0)),
                    ovo.subtract(_dims(o), _dims(u))).output(0)
    if None not in ushape:
        grid = _i64(np.stack(np.meshgrid(*[np.arange(d) for d in ushape], indexing="ij"), -1)
                    .reshape(ushape + (rank,)))
    else:
        coords = []
        for i in range(rank):
            shape = [1] * rank
            shape[i] = -1
            c = ovo.reshape(_iota(u, i), _i64(shape), False).output(0)
            coords.append(ovo.unsqueeze(ovo.broadcast(c, _dims(u)), _i64([rank])).output(0))
        grid = ovo.concat(coords, rank).output(0)
    idx = ovo.add(grid, s).output(0)
    return ovo.scatter_nd_update(o, idx, u, "none").output(0)


@_graph_op
def scatter(indices, values, shape):
    v = as_output(values) if _is_graph(values) else _constant(np.asarray(values))
    i = _index(indices)
    out = _rule("scatter", indices, v, shape)
    zeros = _filled("scatter", out.shape, 0, out.dtype)
    if dtype_name(v) == "bool":
        return ovo.scatter_nd_update(zeros, i, v, "max").output(0)
    return ovo.scatter_nd_update(zeros, i, v, "sum").output(0)


_OV_REDUCTION = {None: "none", "add": "sum", "mul": "prod", "max": "max", "min": "min"}


@_graph_op
def scatter_update(inputs, indices, updates, reduction=None):
    o = as_output(inputs)
    _rule("scatter_update", o, indices, updates, reduction)
    i = _index(indices)
    u = _as(updates, dtype_name(o))
    return ovo.scatter_nd_update(o, i, u, _OV_REDUCTION[reduction]).output(0)


# --- misc ------------------------------------------------------------------------------------
@_graph_op
def select(condlist, choicelist, default=0):
    d = _rule("select", list(condlist), list(choicelist), default).dtype
    out = _as(default, d)
    for c, v in reversed(list(zip(condlist, choicelist))):
        c = as_output(c) if _is_graph(c) else _constant(np.asarray(c))
        if dtype_name(c) != "bool":
            c = ovo.not_equal(c, _as(0, dtype_name(c))).output(0)
        out = ovo.select(c, _as(v, d), out).output(0)
    return out


@_graph_op
def unravel_index(indices, shape):
    i = as_output(indices) if _is_graph(indices) else _constant(np.asarray(indices))
    out = _rule("unravel_index", i, shape)
    d = out[0].dtype if out else "int32"
    i = _cast(i, d)
    dims = _defs.int_tuple("unravel_index", shape)
    coords = []
    for n in reversed(dims):
        coords.append(ovo.floor_mod(i, _as(n, d)).output(0))
        i = ovo.divide(i, _as(n, d)).output(0)
    return tuple(reversed(coords))


@_graph_op
def vander(x, N=None, increasing=False):
    o = as_output(x)
    out = _rule("vander", o, N, increasing)
    n = out.shape[1]
    if n is None:
        raise ValueError("vander: the number of columns must be static on OpenVINO (pass N).")
    cols = []
    for p in range(n):
        cols.append(_as(1, dtype_name(o)) if p == 0 else o if p == 1 else _multiply(cols[-1], o))
    cols = [ovo.broadcast(c, _dims(o)).output(0) if p == 0 else c for p, c in enumerate(cols)]
    if not increasing:
        cols = cols[::-1]
    if not cols:
        return ovo.broadcast(_as(0, dtype_name(o)),
                             ovo.concat([_dims(o), _i64([0])], 0)).output(0)
    return ovo.concat([ovo.unsqueeze(c, _i64([1])).output(0) for c in cols], 1).output(0)



def _dims_between(o, start, stop):
    """Dimensions `start:stop` of `o` as a 1-D int64 Output."""
    return ovo.slice(_dims(o), _i64([start]), _i64([stop]), _i64([1])).output(0)


@_graph_op
def fold_leading(x, n):
    o = as_output(x)
    lead = ovo.reduce_prod(_dims_between(o, 0, n), _i64([0]), True).output(0)
    rest = _dims_between(o, n, len(_shape(o)))
    return ovo.reshape(o, ovo.concat([lead, rest], 0), False).output(0)


@_graph_op
def unfold_leading(x, like, n):
    o = as_output(x)
    lead = _dims_between(as_output(like), 0, n)
    rest = _dims_between(o, 1, len(_shape(o)))
    return ovo.reshape(o, ovo.concat([lead, rest], 0), False).output(0)


_MORE = ["unstack", "array_split", "hsplit", "vsplit", "dsplit", "hstack", "vstack", "dstack",
         "append", "fliplr", "flipud", "roll", "rot90", "size", "ndim", "dtype", "array", "diag",
         "diagflat", "diagonal", "trace", "tri", "tril", "triu", "empty", "empty_like",
         "linspace", "logspace", "geomspace", "bartlett", "blackman", "hamming", "hanning",
         "kaiser", "meshgrid", "inner", "outer", "vdot", "kron", "cross", "extract_sequences",
         "slice_update", "scatter", "scatter_update", "select", "unravel_index", "vander",
         "fold_leading", "unfold_leading"]


__all__ = ["stack", "split", "tile", "repeat", "pad", "flip", "take", "take_along_axis",
           "broadcast_to", "moveaxis", "swapaxes", "ravel", "einsum", "tensordot", "dot", "eye",
           "identity", "slice_tensor", "full_like"] + _MORE
