"""OpenVINO graph builders of the arrays op family (the subset inference graphs use: stack,
split, tile, repeat, pad, flip, take, take_along_axis, broadcast_to, moveaxis, swapaxes,
ravel, einsum, tensordot, dot, eye, identity, slice, full_like). Dynamic dimensions are
kept wherever the op allows; ranks must be static."""
import builtins
import operator

import numpy as np
import openvino.opset16 as ovo

from unikeras.common import dtypes
from unikeras.common.ops import arrays as _defs
from unikeras.adapters.openvino.ops import (
    _as, _axis, _cast, _constant, _filled_like, _graph_op, _i64, _is_graph, _promote, _shape,
    _std, _weak_dtype, as_output, dtype_name, matmul as _matmul)

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


__all__ = ["stack", "split", "tile", "repeat", "pad", "flip", "take", "take_along_axis",
           "broadcast_to", "moveaxis", "swapaxes", "ravel", "einsum", "tensordot", "dot", "eye",
           "identity", "slice_tensor", "full_like"]
