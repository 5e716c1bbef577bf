"""OpenVINO graph builders of the reductions op family: reductions, cumulative ops, order
statistics (quantiles by a stable TopK sort), NaN-ignoring reductions, searching and
counting, statistics between tensors and segment reductions (ScatterNDUpdate with a
reduction). Value-dependent lengths (nonzero, bincount, segment ops without num_segments)
are dynamic dimensions of the graph. (`in_top_k` is built with the neural family.)"""
import builtins

import numpy as np
from unikeras.adapters.openvino import opset as ovo

from unikeras.adapters.openvino.ops import (
    _as, _axes, _rule, _axis, _cast, _constant, _float, _graph_op, _i64, _is_graph, _reduce, _shape,
    as_output, dtype_name)
from unikeras.adapters.openvino.ops import argmax as _argmax
from unikeras.adapters.openvino.ops import max as _max
from unikeras.adapters.openvino.ops import min as _min
from unikeras.common import dtypes
from unikeras.common.ops.reductions import acc_dtype, sum_dtype


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


# --- helpers of the ops below ---------------------------------------------------------------




def _data(x):
    return as_output(x) if _is_graph(x) else _constant(np.asarray(x))


def _dims(o):
    return ovo.shape_of(o, "i64").output(0)


def _nan_of(o):
    """is_nan mask of a float Output, None for other dtypes (they hold no NaN)."""
    return ovo.is_nan(o).output(0) if dtypes.is_float(dtype_name(o)) else None


def _fill_nan(o, value):
    nan = _nan_of(o)
    return o if nan is None else ovo.select(nan, _as(value, dtype_name(o)), o).output(0)


def _move_last(o, a):
    rank = len(_shape(o))
    if a == rank - 1:
        return o
    perm = [i for i in range(rank) if i != a] + [a]
    return ovo.transpose(o, _i64(perm)).output(0)


def _move_back(o, a):
    rank = len(_shape(o))
    if a == rank - 1:
        return o
    perm = list(range(rank - 1))
    perm.insert(a, rank - 1)
    return ovo.transpose(o, _i64(perm)).output(0)


def _iota_last(o):
    n = _shape(o)[-1]
    if n is not None:
        return _i64(np.arange(n))
    dim = ovo.gather(_dims(o), _i64(len(_shape(o)) - 1), _i64(0)).output(0)
    return ovo.range(_i64(0), dim, _i64(1), "i64").output(0)


def _flat_axis(name, o, axis):
    """(o, axis) with the tensor flattened when axis is None."""
    if axis is None:
        return ovo.reshape(o, _i64([-1]), False).output(0), 0
    return o, _axis(name, axis, len(_shape(o)))


# --- counting and cumulative products --------------------------------------------------------
@_graph_op
def count_nonzero(x, axis=None):
    o = as_output(x)
    _rule("count_nonzero", o, axis)
    nz = _bool(o)
    return _reduce(ovo.reduce_sum, _cast(nz, "int32"), _axes("count_nonzero", axis,
                                                              len(_shape(o))), False)


def _cumprod(name, o, axis):
    """Cumulative product along `axis` (None: flattened): a masked product over a (n, n)
    lower-triangular broadcast, exact where exp(cumsum(log)) is not."""
    o, a = _flat_axis(name, o, axis)
    t = _move_last(o, a)
    iota = _iota_last(t)
    mask = ovo.less_equal(ovo.unsqueeze(iota, _i64([0])), ovo.unsqueeze(iota, _i64([1])))
    rows = ovo.unsqueeze(t, _i64([len(_shape(t)) - 1])).output(0)  # (..., 1, n)
    terms = ovo.select(mask, rows, _as(1, dtype_name(t))).output(0)  # (..., n, n)
    out = ovo.reduce_prod(terms, _i64([len(_shape(t))]), False).output(0)
    return _move_back(out, a)


@_graph_op
def cumprod(x, axis=None, dtype=None):
    o = as_output(x)
    _rule("cumprod", o, axis, dtype)
    return _cumprod("cumprod", _cast(o, acc_dtype(dtype_name(o), dtype)), axis)


@_graph_op
def nancumsum(x, axis=None, dtype=None):
    o = as_output(x)
    _rule("nancumsum", o, axis, dtype)
    return cumsum(_fill_nan(o, 0), axis, dtype)


@_graph_op
def nancumprod(x, axis=None, dtype=None):
    o = as_output(x)
    _rule("nancumprod", o, axis, dtype)
    return _cumprod("nancumprod", _cast(_fill_nan(o, 1), acc_dtype(dtype_name(o), dtype)), axis)


# --- order statistics ------------------------------------------------------------------------
def _indices_static(n, q, method):
    """(previous, next, gamma) as NumPy computes them in float64, for a static count n."""
    vi = (n - 1) * q
    if method == "lower":
        prev = np.floor(vi)
        return prev, prev, np.zeros_like(q)
    if method == "higher":
        prev = np.ceil(vi)
        return prev, prev, np.zeros_like(q)
    if method == "nearest":
        prev = np.around(vi)
        return prev, prev, np.zeros_like(q)
    if method == "midpoint":
        vi = 0.5 * (np.floor(vi) + np.ceil(vi))
    prev = np.floor(vi)
    gamma = vi - prev
    if method == "midpoint":
        gamma = np.where(vi % 1 == 0, 0.0, 0.5)
    nxt = np.minimum(prev + 1, n - 1)
    return np.clip(prev, 0, n - 1), np.clip(nxt, 0, n - 1), gamma


def _indices_graph(n, q, method, d):
    """(previous, next, gamma) in the graph: n the float count (broadcasting against q)."""
    last = ovo.subtract(n, _as(1, d)).output(0)
    vi = ovo.multiply(last, q).output(0)
    zero = _as(0, d)
    if method in ("lower", "higher", "nearest"):
        fn = {"lower": ovo.floor, "higher": ovo.ceiling,
              "nearest": lambda v: ovo.round(v, "half_to_even")}[method]
        prev = fn(vi).output(0)
        return prev, prev, ovo.multiply(vi, zero).output(0)
    if method == "midpoint":
        vi = ovo.multiply(_as(0.5, d), ovo.add(ovo.floor(vi), ovo.ceiling(vi))).output(0)
    prev = ovo.floor(vi).output(0)
    gamma = ovo.subtract(vi, prev).output(0)
    if method == "midpoint":
        gamma = ovo.select(ovo.equal(gamma, zero), zero, _as(0.5, d)).output(0)
    nxt = ovo.minimum(ovo.add(prev, _as(1, d)), last).output(0)
    clip = lambda v: ovo.maximum(ovo.minimum(v, last), zero).output(0)  # noqa: E731
    return clip(prev), clip(nxt), gamma


def _lerp(a, b, t, d):
    """NumPy's interpolation: a + (b - a) t, from b's side for t >= 0.5."""
    diff = ovo.subtract(b, a).output(0)
    lo = ovo.add(a, ovo.multiply(diff, t)).output(0)
    hi = ovo.subtract(b, ovo.multiply(diff, ovo.subtract(_as(1, d), t))).output(0)
    return ovo.select(ovo.greater_equal(t, _as(0.5, d)), hi, lo).output(0)


def _quantile(name, x, q, axis, method, keepdims, nan, scale=1.0):
    o = as_output(x)
    out = _rule(name, o, q, axis, method, keepdims)
    d = out.dtype
    o = _cast(o, d)
    shape = _shape(o)
    rank = len(shape)
    axes = _axes(name, axis, rank)
    kept = [i for i in range(rank) if i not in axes]
    if not rank:
        o, kept, axes, rank = ovo.reshape(o, _i64([1]), False).output(0), [], [0], 1
        shape = (1,)
    t = ovo.transpose(o, _i64(kept + axes)).output(0) if kept + axes != list(range(rank)) \
        else o
    flat = ovo.reshape(t, _i64([0] * len(kept) + [-1]), True).output(0)
    last = len(kept)
    isnan = ovo.is_nan(flat).output(0)
    if nan:
        flat = ovo.select(isnan, _as(float("inf"), d), flat).output(0)
    k = ovo.gather(_dims(flat), _i64(last), _i64(0)).output(0)
    values = ovo.topk(flat, k, last, "min", "value", "i32", stable=True).output(0)
    q_scalar = not _is_graph(q) and np.ndim(q) == 0
    static_n = [shape[a] for a in axes]
    if not nan and not _is_graph(q) and None not in static_n:
        n = int(np.prod(static_n))
        qv = np.asarray(q, np.float64).reshape(-1) / scale
        prev, nxt, gamma = _indices_static(n, qv, method)
        prev, nxt, gamma = _i64(prev.astype(np.int64)), _i64(nxt.astype(np.int64)), \
            _as(gamma, d)
        pick = lambda i: ovo.gather(values, i, _i64(last)).output(0)  # noqa: E731
    else:
        qv = ovo.reshape(_as(q, d), _i64([-1]), False).output(0)
        if scale != 1.0:
            qv = ovo.divide(qv, _as(scale, d)).output(0)
        if nan:  # per-row counts of the non-NaN values: (kept..., 1)
            n = ovo.reduce_sum(_cast(ovo.logical_not(isnan).output(0), d), _i64([last]),
                               True).output(0)
        else:
            n = _cast(k, d)
        prev, nxt, gamma = _indices_graph(n, qv, method, d)
        prev, nxt = _cast(prev, "int64"), _cast(nxt, "int64")
        if nan:
            pick = lambda i: ovo.gather_elements(values, i, last).output(0)  # noqa: E731
        else:
            pick = lambda i: ovo.gather(values, i, _i64(last)).output(0)  # noqa: E731
    res = _lerp(pick(prev), pick(nxt), gamma, d)  # (kept..., nq)
    bad = ovo.reduce_logical_and(isnan, _i64([last]), True) if nan else \
        ovo.reduce_logical_or(isnan, _i64([last]), True)  # all-NaN rows / rows with a NaN
    res = ovo.select(bad, _as(float("nan"), d), res).output(0)
    res = ovo.transpose(res, _i64([last] + list(range(last)))).output(0)  # (nq, kept...)
    if keepdims:
        res = ovo.unsqueeze(res, _i64([a + 1 for a in axes])).output(0)
    if q_scalar:
        res = ovo.squeeze(res, _i64([0])).output(0)
    return res


@_graph_op
def median(x, axis=None, keepdims=False):
    _rule("median", x, axis, keepdims)
    return _quantile("quantile", x, 0.5, axis, "linear", keepdims, False)


@_graph_op
def quantile(x, q, axis=None, method="linear", keepdims=False):
    return _quantile("quantile", x, q, axis, method, keepdims, False)


@_graph_op
def percentile(x, q, axis=None, method="linear", keepdims=False):
    return _quantile("percentile", x, q, axis, method, keepdims, False, 100.0)


@_graph_op
def nanmedian(x, axis=None, keepdims=False):
    _rule("nanmedian", x, axis, keepdims)
    return _quantile("nanquantile", x, 0.5, axis, "linear", keepdims, True)


@_graph_op
def nanquantile(x, q, axis=None, method="linear", keepdims=False):
    return _quantile("nanquantile", x, q, axis, method, keepdims, True)


@_graph_op
def nanpercentile(x, q, axis=None, method="linear", keepdims=False):
    return _quantile("nanpercentile", x, q, axis, method, keepdims, True, 100.0)


# --- means, ranges, differences --------------------------------------------------------------
@_graph_op
def average(x, axis=None, weights=None):
    o = as_output(x)
    ws = weights if _is_graph(weights) or weights is None else np.asarray(weights)
    d = _rule("average", o, axis, ws).dtype
    o = _cast(o, d)
    rank = len(_shape(o))
    axes = _axes("average", axis, rank)
    if weights is None:
        return _reduce(ovo.reduce_mean, o, axes, False)
    w = _as(weights, d)
    if _shape(w) != _shape(o) and len(_shape(w)) == 1 and rank > 1:
        a = _axis("average", axis, rank)
        w = ovo.reshape(w, _i64([-1 if i == a else 1 for i in range(rank)]), False).output(0)
    w = ovo.broadcast(w, _dims(o)).output(0)
    num = _reduce(ovo.reduce_sum, ovo.multiply(o, w).output(0), axes, False)
    return ovo.divide(num, _reduce(ovo.reduce_sum, w, axes, False)).output(0)


@_graph_op
def ptp(x, axis=None, keepdims=False):
    o = as_output(x)
    _rule("ptp", o, axis, keepdims)
    axes = _axes("ptp", axis, len(_shape(o)))
    hi, lo = _reduce(ovo.reduce_max, o, axes, keepdims), _reduce(ovo.reduce_min, o, axes, keepdims)
    d = dtype_name(o)
    if d in _NARROW:
        return _wrap(ovo.subtract(_cast(hi, "int32"), _cast(lo, "int32")).output(0), d)
    return ovo.subtract(hi, lo).output(0)


def _shifted(o, a):
    """(o[1:], o[:-1]) along axis a."""
    hi = ovo.slice(o, _i64([1]), _i64([np.iinfo(np.int64).max]), _i64([1]), _i64([a])).output(0)
    lo = ovo.slice(o, _i64([0]), _i64([-1]), _i64([1]), _i64([a])).output(0)
    return hi, lo


@_graph_op
def diff(a, n=1, axis=-1):
    o = as_output(a)
    _rule("diff", o, n, axis)
    ax = _axis("diff", axis, len(_shape(o)))
    d = dtype_name(o)
    for _ in range(n):
        hi, lo = _shifted(o, ax)
        if d == "bool":
            o = ovo.not_equal(hi, lo).output(0)
        elif d in _NARROW:  # the CPU plugin saturates these; NumPy wraps around
            o = _wrap(ovo.subtract(_cast(hi, "int32"), _cast(lo, "int32")).output(0), d)
        else:
            o = ovo.subtract(hi, lo).output(0)
    return o


_NARROW = {"int8": (8, True), "int16": (16, True), "uint8": (8, False), "uint16": (16, False)}


def _wrap(o, d):
    """int32 values wrapped into the range of the narrow integer dtype `d`, as NumPy's."""
    bits, signed = _NARROW[d]
    shift = _as(1 << (bits - 1) if signed else 0, "int32")
    wrapped = ovo.floor_mod(ovo.add(o, shift), _as(1 << bits, "int32"))
    return _cast(ovo.subtract(wrapped, shift).output(0), d)


@_graph_op
def trapezoid(y, x=None, dx=1.0, axis=-1):
    o = as_output(y)
    d = _rule("trapezoid", o, x, dx, axis).dtype
    o = _cast(o, d)
    rank = len(_shape(o))
    a = _axis("trapezoid", axis, rank)
    if x is None:
        step = _as(dx, d)
    else:
        xs = _as(x, d)
        if len(_shape(xs)) == 1 and rank > 1:
            xs = ovo.reshape(xs, _i64([-1 if i == a else 1 for i in range(rank)]),
                             False).output(0)
        hi, lo = _shifted(xs, a)
        step = ovo.subtract(hi, lo).output(0)
    hi, lo = _shifted(o, a)
    mid = ovo.divide(ovo.add(hi, lo), _as(2.0, d)).output(0)
    return ovo.reduce_sum(ovo.multiply(step, mid), _i64([a]), False).output(0)


# --- NaN-ignoring reductions -----------------------------------------------------------------
@_graph_op
def nansum(x, axis=None, keepdims=False):
    o = as_output(x)
    _rule("nansum", o, axis, keepdims)
    o = _cast(_fill_nan(o, 0), sum_dtype(dtype_name(o)))
    return _reduce(ovo.reduce_sum, o, _axes("nansum", axis, len(_shape(o))), keepdims)


@_graph_op
def nanprod(x, axis=None, keepdims=False):
    o = as_output(x)
    _rule("nanprod", o, axis, keepdims)
    o = _cast(_fill_nan(o, 1), acc_dtype(dtype_name(o)))
    return _reduce(ovo.reduce_prod, o, _axes("nanprod", axis, len(_shape(o))), keepdims)


def _nan_moments(name, x, axis, keepdims):
    """(sum of the non-NaN values, their count, the float input, its NaN mask, axes)."""
    o = as_output(x)
    _rule(name, o, axis, keepdims)
    o = _float(o)
    axes = _axes(name, axis, len(_shape(o)))
    nan = ovo.is_nan(o).output(0)
    d = dtype_name(o)
    total = _reduce(ovo.reduce_sum, ovo.select(nan, _as(0, d), o).output(0), axes, True)
    count = _reduce(ovo.reduce_sum, _cast(ovo.logical_not(nan).output(0), d), axes, True)
    return total, count, o, nan, axes


def _squeezed(o, axes, keepdims):
    return o if keepdims or not axes else ovo.squeeze(o, _i64(axes)).output(0)


@_graph_op
def nanmean(x, axis=None, keepdims=False):
    total, count, _, _, axes = _nan_moments("nanmean", x, axis, keepdims)
    return _squeezed(ovo.divide(total, count).output(0), axes, keepdims)


def _nanvar(name, x, axis, keepdims):
    total, count, o, nan, axes = _nan_moments(name, x, axis, keepdims)
    d = dtype_name(o)
    mean_ = ovo.divide(total, count).output(0)
    dev = ovo.select(nan, _as(0, d), ovo.subtract(o, mean_)).output(0)
    sq = _reduce(ovo.reduce_sum, ovo.multiply(dev, dev).output(0), axes, True)
    return _squeezed(ovo.divide(sq, count).output(0), axes, keepdims)


@_graph_op
def nanvar(x, axis=None, keepdims=False):
    return _nanvar("nanvar", x, axis, keepdims)


@_graph_op
def nanstd(x, axis=None, keepdims=False):
    return ovo.sqrt(_nanvar("nanstd", x, axis, keepdims)).output(0)


def _nan_extremum(name, x, axis, keepdims, fill, reduce_fn):
    o = as_output(x)
    _rule(name, o, axis, keepdims)
    nan = _nan_of(o)
    if nan is None:
        return reduce_fn(o, axis=axis, keepdims=keepdims)
    out = reduce_fn(_fill_nan(o, fill), axis=axis, keepdims=keepdims)
    all_nan = _reduce(ovo.reduce_logical_and, nan, _axes(name, axis, len(_shape(o))), keepdims)
    return ovo.select(all_nan, _as(float("nan"), dtype_name(o)), out).output(0)


@_graph_op
def nanmax(x, axis=None, keepdims=False):
    return _nan_extremum("nanmax", x, axis, keepdims, float("-inf"), _max)


@_graph_op
def nanmin(x, axis=None, keepdims=False):
    return _nan_extremum("nanmin", x, axis, keepdims, float("inf"), _min)


@_graph_op
def nanargmax(x, axis=None, keepdims=False):
    o = as_output(x)
    _rule("nanargmax", o, axis, keepdims)
    return _argmax(_fill_nan(o, float("-inf")), axis=axis, keepdims=keepdims)


@_graph_op
def nanargmin(x, axis=None, keepdims=False):
    o = as_output(x)
    _rule("nanargmin", o, axis, keepdims)
    return argmin(_fill_nan(o, float("inf")), axis=axis, keepdims=keepdims)


# --- searching and counting ------------------------------------------------------------------
def _promoted(x1, x2):
    d = dtypes.result_type(_weak(x1), _weak(x2))
    if d == "bool":
        d = "uint8"
    return _as(x1, d), _as(x2, d)


def _weak(x):
    return dtype_name(x) if _is_graph(x) else (
        x if isinstance(x, (bool, int, float)) else dtypes.standardize_dtype(np.asarray(x).dtype))


@_graph_op
def searchsorted(sorted_sequence, values, side="left"):
    _rule("searchsorted", sorted_sequence, values, side)
    seq, v = _promoted(sorted_sequence, values)
    return _cast(ovo.search_sorted(seq, v, side == "right").output(0), "int32")


@_graph_op
def digitize(x, bins):
    _rule("digitize", x, bins)
    v, b = _promoted(x, bins)
    return _cast(ovo.search_sorted(b, v, True).output(0), "int32")


def _counts(idx, length, weights=None):
    """Per-value counts (or weight sums) of int64 vector `idx` for values 0 .. length-1."""
    hot = ovo.equal(ovo.unsqueeze(idx, _i64([1])), ovo.unsqueeze(
        ovo.range(_i64(0), length, _i64(1), "i64"), _i64([0]))).output(0)  # (n, length)
    if weights is None:
        return ovo.reduce_sum(_cast(hot, "int32"), _i64([0]), False).output(0)
    w = ovo.unsqueeze(weights, _i64([1])).output(0)
    picked = ovo.select(hot, w, _as(0, dtype_name(weights))).output(0)
    return ovo.reduce_sum(picked, _i64([0]), False).output(0)


@_graph_op
def bincount(x, weights=None, minlength=0, sparse=False):
    o = as_output(x)
    out = _rule("bincount", o, weights, minlength, sparse)
    idx = _cast(o, "int64")
    top = ovo.add(ovo.reduce_max(idx, _i64([0]), False), _i64(1)).output(0)
    length = ovo.maximum(top, _i64(int(minlength))).output(0)
    w = None if weights is None else _as(weights, out.dtype)
    return _counts(idx, length, w)


@_graph_op
def histogram(x, bins=10, range=None):
    o = as_output(x)
    _, edges_spec = _rule("histogram", o, bins, range)
    d = edges_spec.dtype
    flat = ovo.reshape(_cast(o, d), _i64([-1]), False).output(0)
    if range is not None:
        lo, hi = _as(range[0], d), _as(range[1], d)
    else:
        lo = ovo.reduce_min(flat, _i64([0]), False).output(0)
        hi = ovo.reduce_max(flat, _i64([0]), False).output(0)
    same = ovo.equal(lo, hi).output(0)
    half = _as(0.5, d)
    lo, hi = (ovo.select(same, ovo.subtract(lo, half), lo).output(0),
              ovo.select(same, ovo.add(hi, half), hi).output(0))
    i = _as(np.arange(bins + 1), d)
    nb = _as(bins, d)
    edges = ovo.divide(ovo.add(ovo.multiply(lo, ovo.subtract(nb, i)), ovo.multiply(hi, i)),
                       nb).output(0)
    is_last = _constant(np.arange(bins + 1) == bins)
    edges = ovo.select(is_last, hi, edges).output(0)
    idx = ovo.subtract(ovo.search_sorted(edges, flat, True), _i64(1)).output(0)
    idx = ovo.select(ovo.equal(flat, hi), _i64(bins - 1), idx).output(0)
    counts = _counts(idx, _i64(bins))  # out-of-range indices match no bin
    return counts, edges


@_graph_op
def isin(x1, x2, assume_unique=False, invert=False):
    _rule("isin", x1, x2, assume_unique, invert)
    a, b = _promoted(x1, x2)
    flat = ovo.reshape(b, _i64([-1]), False).output(0)
    eq = ovo.equal(ovo.unsqueeze(a, _i64([len(_shape(a))])), flat).output(0)
    out = ovo.reduce_logical_or(eq, _i64([len(_shape(a))]), False).output(0)
    return ovo.logical_not(out).output(0) if invert else out


@_graph_op
def argpartition(x, kth, axis=-1):
    _rule("argpartition", x, kth, axis)
    return _sorted("argpartition", x, axis)[1]  # a full stable argsort, as the reference


@_graph_op
def unique(x, sorted=True, return_index=False, return_inverse=False, return_counts=False,
           axis=None, size=None, fill_value=None):
    o = _data(x)
    _rule("unique", o, sorted, return_index, return_inverse, return_counts, axis, size,
          fill_value)
    if axis is None:
        a = 0
        node = ovo.unique(ovo.reshape(o, _i64([-1]), False), None, True, "i32", "i32")
    else:
        a = _axis("unique", axis, len(_shape(o)))
        node = ovo.unique(o, _i64(a), True, "i32", "i32")  # sorted like NumPy, always
    values, index, inverse, counts = (node.output(i) for i in builtins.range(4))
    if axis is None:
        inverse = ovo.reshape(inverse, _dims(o), False).output(0)
    if size is not None:  # truncate or pad to `size` entries
        n = ovo.gather(_dims(values), _i64(a), _i64(0)).output(0)
        pos = _i64(np.arange(size))
        keep = ovo.less(pos, n).output(0)
        take = ovo.maximum(ovo.minimum(pos, ovo.subtract(n, _i64(1))), _i64(0)).output(0)
        picked = ovo.gather(values, take, _i64(a)).output(0)
        if fill_value is None:
            filler = ovo.gather(values, _i64(np.zeros(size, np.int64)), _i64(a)).output(0)
        else:
            filler = ovo.broadcast(_as(fill_value, dtype_name(values)), _dims(picked)).output(0)
        rank = len(_shape(values))
        mask = ovo.reshape(keep, _i64([-1 if i == a else 1 for i in builtins.range(rank)]),
                           False).output(0)
        values = ovo.select(mask, picked, filler).output(0)
        zero = _as(0, "int32")
        index = ovo.select(keep, ovo.gather(index, take, _i64(0)), zero).output(0)
        counts = ovo.select(keep, ovo.gather(counts, take, _i64(0)), zero).output(0)
    out = [values]
    if return_index:
        out.append(index)
    if return_inverse:
        out.append(inverse)
    if return_counts:
        out.append(counts)
    return out[0] if len(out) == 1 else tuple(out)


@_graph_op
def nonzero(x):
    o = as_output(x)
    _rule("nonzero", o)
    idx = ovo.non_zero(o, "i32").output(0)  # (rank, count)
    return tuple(ovo.gather(idx, _i64(i), _i64(0)).output(0) for i in builtins.range(
        len(_shape(o))))


# --- statistics between tensors --------------------------------------------------------------
@_graph_op
def corrcoef(x):
    o = as_output(x)
    d = _rule("corrcoef", o).dtype
    o = _cast(o, d)
    vector = len(_shape(o)) == 1
    if vector:
        o = ovo.unsqueeze(o, _i64([0])).output(0)
    xm = ovo.subtract(o, ovo.reduce_mean(o, _i64([1]), True)).output(0)
    n = _cast(ovo.gather(_dims(o), _i64(1), _i64(0)).output(0), d)
    c = ovo.divide(ovo.matmul(xm, xm, False, True), ovo.subtract(n, _as(1, d))).output(0)
    diag_ = ovo.reduce_sum(ovo.multiply(xm, xm), _i64([1]), False)
    std_ = ovo.sqrt(ovo.divide(diag_, ovo.subtract(n, _as(1, d)))).output(0)
    c = ovo.divide(c, ovo.unsqueeze(std_, _i64([1]))).output(0)
    c = ovo.divide(c, ovo.unsqueeze(std_, _i64([0]))).output(0)
    c = ovo.clamp(c, -1.0, 1.0).output(0)
    # (a Reshape of the (1, 1) result to a scalar crashes the CPU plugin; Squeeze does not)
    return ovo.squeeze(c, _i64([0, 1])).output(0) if vector else c


@_graph_op
def correlate(x1, x2, mode="valid"):
    d = _rule("correlate", x1, x2, mode).dtype
    a, v = _as(x1, d), _as(x2, d)
    n, m = _shape(a)[0], _shape(v)[0]
    if m is None or (mode != "full" and n is None):
        raise ValueError(f"correlate: the lengths must be static on OpenVINO for mode "
                         f"{mode!r} (got {n} and {m}); 'full' allows a dynamic first input.")
    # Convolution is a cross-correlation: full[k] = sum_j a[k + j - (m - 1)] v[j].
    full = ovo.convolution(ovo.reshape(a, _i64([1, 1, -1]), False),
                           ovo.reshape(v, _i64([1, 1, m]), False), [1], [m - 1], [m - 1],
                           [1]).output(0)
    full = ovo.reshape(full, _i64([-1]), False).output(0)
    if mode == "full":
        return full
    lo = builtins.min(n, m)
    if mode == "valid":
        start, length = lo - 1, builtins.max(n, m) - lo + 1
    else:
        start, length = ((lo - 1) // 2 if n >= m else lo // 2), builtins.max(n, m)
    return ovo.slice(full, _i64([start]), _i64([start + length]), _i64([1])).output(0)


@_graph_op
def cdist(x, y):
    d = _rule("cdist", x, y).dtype
    a, b = _as(x, d), _as(y, d)
    diff_ = ovo.subtract(ovo.unsqueeze(a, _i64([len(_shape(a)) - 1])),
                         ovo.unsqueeze(b, _i64([len(_shape(b)) - 2]))).output(0)
    sq = ovo.reduce_sum(ovo.multiply(diff_, diff_), _i64([-1]), False)
    return ovo.sqrt(sq).output(0)


# --- segment reductions ----------------------------------------------------------------------
def _segment(name, data, segment_ids, num_segments, reduction, identity):
    o = _data(data)
    _rule(name, o, segment_ids, num_segments)
    d = dtype_name(o)
    if d == "bool":
        raise TypeError(f"{name}: not supported for bool data on OpenVINO.")
    ids = _cast(_data(segment_ids), "int64")
    if num_segments is None:
        num = ovo.add(ovo.reduce_max(ids, _i64([0]), True), _i64([1])).output(0)
    else:
        num = _i64([int(num_segments)])
    # Rows with ids outside [0, num) go to one spare segment, dropped at the end.
    valid = ovo.logical_and(ovo.greater_equal(ids, _i64(0)), ovo.less(ids, num)).output(0)
    ids = ovo.select(valid, ids, num).output(0)
    rest = ovo.gather(_dims(o), _i64(list(builtins.range(1, len(_shape(o))))), _i64(0))
    target = ovo.concat([ovo.add(num, _i64([1])).output(0), rest.output(0)], 0).output(0)
    init = ovo.broadcast(_as(identity(d), d), target).output(0)
    out = ovo.scatter_nd_update(init, ovo.unsqueeze(ids, _i64([1])), o, reduction).output(0)
    return ovo.slice(out, _i64([0]), num, _i64([1]), _i64([0])).output(0)


def _lowest(d):
    return float("-inf") if dtypes.is_float(d) else np.iinfo(d).min


def _highest(d):
    return float("inf") if dtypes.is_float(d) else np.iinfo(d).max


@_graph_op
def segment_sum(data, segment_ids, num_segments=None, sorted=False):
    return _segment("segment_sum", data, segment_ids, num_segments, "sum", lambda d: 0)


@_graph_op
def segment_max(data, segment_ids, num_segments=None, sorted=False):
    return _segment("segment_max", data, segment_ids, num_segments, "max", _lowest)


@_graph_op
def segment_min(data, segment_ids, num_segments=None, sorted=False):
    return _segment("segment_min", data, segment_ids, num_segments, "min", _highest)


@_graph_op
def segment_prod(data, segment_ids, num_segments=None, sorted=False):
    return _segment("segment_prod", data, segment_ids, num_segments, "prod", lambda d: 1)


_MORE = ["count_nonzero", "cumprod", "nancumsum", "nancumprod", "median", "quantile",
         "percentile", "nanmedian", "nanquantile", "nanpercentile", "average", "ptp", "diff",
         "trapezoid", "nansum", "nanprod", "nanmean", "nanvar", "nanstd", "nanmax", "nanmin",
         "nanargmax", "nanargmin", "searchsorted", "digitize", "bincount", "histogram", "isin",
         "argpartition", "unique", "nonzero", "corrcoef", "correlate", "cdist",
         "segment_sum", "segment_max", "segment_min", "segment_prod"]


__all__ = ["all", "any", "amax", "amin", "argmin", "prod", "std", "var", "logsumexp", "cumsum",
           "sort", "argsort", "top_k"] + _MORE
