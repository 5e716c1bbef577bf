"""OpenVINO graph builders of the reductions op family (the ones inference graphs use)."""
import numpy as np
import openvino.opset16 as ovo

from unikeras.adapters.openvino.ops import (
    _as, _axes, _axis, _cast, _float, _graph_op, _i64, _reduce, _shape, as_output, dtype_name)
from unikeras.adapters.openvino.ops import max as _max
from unikeras.adapters.openvino.ops import min as _min
from unikeras.common.ops.reductions import acc_dtype


def _bool(x):
    o = as_output(x)
    if dtype_name(o) == "bool":
        return o
    return ovo.not_equal(o, _as(0, dtype_name(o))).output(0)


def _to_bool(o):
    # `values != 0` rather than a Convert: the CPU plugin rejects TopK -> Convert(boolean).
    return ovo.not_equal(o, _as(0, dtype_name(o))).output(0)


@_graph_op
def all(x, axis=None, keepdims=False):
    o = _bool(x)
    return _reduce(ovo.reduce_logical_and, o, _axes("all", axis, len(_shape(o))), keepdims)


@_graph_op
def any(x, axis=None, keepdims=False):
    o = _bool(x)
    return _reduce(ovo.reduce_logical_or, o, _axes("any", axis, len(_shape(o))), keepdims)


def amax(x, axis=None, keepdims=False):
    return _max(x, axis=axis, keepdims=keepdims)


def amin(x, axis=None, keepdims=False):
    return _min(x, axis=axis, keepdims=keepdims)


@_graph_op
def argmin(x, axis=None, keepdims=False):
    o = as_output(x)
    if dtype_name(o) == "bool":
        o = _cast(o, "int32")
    rank = len(_shape(o))
    if axis is None:
        flat = ovo.reshape(o, _i64([-1]), False).output(0)
        idx = ovo.topk(flat, np.int64(1), 0, "min", "value", "i32", stable=True).output(1)
        return ovo.reshape(idx, _i64([1] * rank if keepdims else []), False).output(0)
    a = _axis("argmin", axis, rank)
    idx = ovo.topk(o, np.int64(1), a, "min", "value", "i32", stable=True).output(1)
    return idx if keepdims else ovo.squeeze(idx, _i64([a])).output(0)


@_graph_op
def prod(x, axis=None, keepdims=False, dtype=None):
    o = as_output(x)
    o = _cast(o, acc_dtype(dtype_name(o), dtype))
    return _reduce(ovo.reduce_prod, o, _axes("prod", axis, len(_shape(o))), keepdims)


def _var(name, x, axis, keepdims):
    o = _float(x)
    axes = _axes(name, axis, len(_shape(o)))
    if not axes:
        return ovo.subtract(o, o).output(0)
    mean = ovo.reduce_mean(o, _i64(axes), True).output(0)
    d = ovo.subtract(o, mean).output(0)
    return ovo.reduce_mean(ovo.multiply(d, d), _i64(axes), keepdims).output(0)


@_graph_op
def var(x, axis=None, keepdims=False):
    return _var("var", x, axis, keepdims)


@_graph_op
def std(x, axis=None, keepdims=False):
    return ovo.sqrt(_var("std", x, axis, keepdims)).output(0)


@_graph_op
def logsumexp(x, axis=None, keepdims=False):
    o = _float(x)
    axes = _axes("logsumexp", axis, len(_shape(o)))
    if not axes:
        return o
    m = ovo.reduce_max(o, _i64(axes), True).output(0)
    # Shift by the maximum where it is finite (all -inf rows give -inf, not nan).
    finite = ovo.is_finite(m).output(0)
    m = ovo.select(finite, m, _as(0.0, dtype_name(o))).output(0)
    s = ovo.reduce_sum(ovo.exp(ovo.subtract(o, m)), _i64(axes), True).output(0)
    out = ovo.add(ovo.log(s), m).output(0)
    return out if keepdims else ovo.squeeze(out, _i64(axes)).output(0)


@_graph_op
def cumsum(x, axis=None, dtype=None):
    o = as_output(x)
    o = _cast(o, acc_dtype(dtype_name(o), dtype))
    if axis is None:
        o, a = ovo.reshape(o, _i64([-1]), False).output(0), 0
    else:
        a = _axis("cumsum", axis, len(_shape(o)))
    return ovo.cumsum(o, _i64(a)).output(0)


def _sorted(name, x, axis, mode="min"):
    """TopK over a whole axis: (values, int32 indices), stable; bool sorts as int32."""
    o = as_output(x)
    d = dtype_name(o)
    if d == "bool":
        o = _cast(o, "int32")
    if axis is None:
        o, a = ovo.reshape(o, _i64([-1]), False).output(0), 0
    else:
        a = _axis(name, axis, len(_shape(o)))
    if not _shape(o):
        raise ValueError(f"{name}: input must have rank >= 1, got a scalar.")
    k = ovo.gather(ovo.shape_of(o, "i64"), _i64([a]), _i64(0)).output(0)
    k = ovo.squeeze(k, _i64([0])).output(0)
    node = ovo.topk(o, k, a, mode, "value", "i32", stable=True)
    values = node.output(0)
    return (_to_bool(values) if d == "bool" else values), node.output(1)


@_graph_op
def sort(x, axis=-1):
    return _sorted("sort", x, axis)[0]


@_graph_op
def argsort(x, axis=-1):
    return _sorted("argsort", x, axis)[1]


@_graph_op
def top_k(x, k, sorted=True):
    o = as_output(x)
    d = dtype_name(o)
    if d == "bool":
        o = _cast(o, "int32")
    if not _shape(o):
        raise ValueError("top_k: input must have rank >= 1, got a scalar.")
    node = ovo.topk(o, np.int64(k), -1, "max", "value" if sorted else "none", "i32", stable=True)
    values = node.output(0)
    return (_to_bool(values) if d == "bool" else values), node.output(1)


__all__ = ["all", "any", "amax", "amin", "argmin", "prod", "std", "var", "logsumexp", "cumsum",
           "sort", "argsort", "top_k"]
