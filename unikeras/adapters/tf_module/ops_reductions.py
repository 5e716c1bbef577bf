"""TensorFlow implementations of the reductions op family."""
import builtins

import numpy as np
import tensorflow as tf

from unikeras.adapters.tf_module.ops import _BOOL, _FLOATS, _as, _float, _t
from unikeras.adapters.tf_module.ops import argmax as _argmax
from unikeras.adapters.tf_module.ops import max as _max
from unikeras.adapters.tf_module.ops import mean as _mean
from unikeras.adapters.tf_module.ops import min as _min
from unikeras.adapters.tf_module.ops import sum as _sum
from unikeras.common import dtypes
from unikeras.common.ops.reductions import acc_dtype, float_dtype, sum_dtype


def _axis(axis):
    return list(axis) if isinstance(axis, tuple) else axis


def _dims(x, axis):
    nd = x.shape.rank
    if axis is None:
        return list(range(nd))
    if isinstance(axis, builtins.int):
        axis = (axis,)
    return sorted(a % builtins.max(nd, 1) for a in axis)


def _bool(x):
    x = _t(x)
    return x if x.dtype is _BOOL else tf.not_equal(x, tf.zeros((), x.dtype))


def all(x, axis=None, keepdims=False):
    return tf.reduce_all(_bool(x), axis=_axis(axis), keepdims=keepdims)


def any(x, axis=None, keepdims=False):
    return tf.reduce_any(_bool(x), axis=_axis(axis), keepdims=keepdims)


def amax(x, axis=None, keepdims=False):
    return _max(x, axis=axis, keepdims=keepdims)


def amin(x, axis=None, keepdims=False):
    return _min(x, axis=axis, keepdims=keepdims)


def _numeric(x):
    x = _t(x)
    return tf.cast(x, tf.int32) if x.dtype is _BOOL else x


def argmin(x, axis=None, keepdims=False):
    x = _numeric(x)
    if axis is None:
        out = tf.argmin(tf.reshape(x, [-1]), axis=0, output_type=tf.int32)
        return tf.reshape(out, [1] * x.shape.rank) if keepdims else out
    out = tf.argmin(x, axis=axis, output_type=tf.int32)
    return tf.expand_dims(out, axis) if keepdims else out


def prod(x, axis=None, keepdims=False, dtype=None):
    x = _t(x)
    x = _as(x, acc_dtype(x.dtype.name, dtype))
    return tf.reduce_prod(x, axis=_axis(axis), keepdims=keepdims)


def var(x, axis=None, keepdims=False):
    return tf.math.reduce_variance(_float(x), axis=_axis(axis), keepdims=keepdims)


def std(x, axis=None, keepdims=False):
    return tf.math.reduce_std(_float(x), axis=_axis(axis), keepdims=keepdims)


def count_nonzero(x, axis=None):
    return tf.math.count_nonzero(_t(x), axis=_axis(axis), dtype=tf.int32)


def logsumexp(x, axis=None, keepdims=False):
    return tf.reduce_logsumexp(_float(x), axis=_axis(axis), keepdims=keepdims)


def _cumulative(fn, x, axis, dtype):
    x = _t(x)
    x = _as(x, acc_dtype(x.dtype.name, dtype))
    if axis is None:
        x, axis = tf.reshape(x, [-1]), 0
    return fn(x, axis=axis)


def cumsum(x, axis=None, dtype=None):
    return _cumulative(tf.cumsum, x, axis, dtype)


def cumprod(x, axis=None, dtype=None):
    return _cumulative(tf.math.cumprod, x, axis, dtype)


def sort(x, axis=-1):
    x = _t(x)
    if axis is None:
        x, axis = tf.reshape(x, [-1]), 0
    if x.dtype is _BOOL:
        return tf.cast(tf.sort(tf.cast(x, tf.int32), axis=axis), _BOOL)
    return tf.sort(x, axis=axis)


def argsort(x, axis=-1):
    x = _numeric(x)
    if axis is None:
        x, axis = tf.reshape(x, [-1]), 0
    return tf.argsort(x, axis=axis, stable=True)


def top_k(x, k, sorted=True):
    x = _t(x)
    if x.dtype is _BOOL:
        values, indices = tf.math.top_k(tf.cast(x, tf.int32), k, sorted=sorted)
        return tf.cast(values, _BOOL), indices
    return tf.math.top_k(x, k, sorted=sorted)


_ROUND = {"lower": tf.floor, "higher": tf.math.ceil, "nearest": tf.math.round}


def _q(q):
    if isinstance(q, (builtins.int, builtins.float)):
        return tf.constant(q, tf.float64)
    return tf.cast(_t(q), tf.float64)


def _quantile(x, q, axis, method, keepdims, ignore_nan=False):
    """Quantiles by sorting: the reduced axes are flattened into one sorted row per kept
    position; NaNs (when ignored) sort last as +inf and shrink each row's count."""
    x = _float(x)
    q = _q(q)
    nd = x.shape.rank
    dims = _dims(x, axis)
    keep = [d for d in range(nd) if d not in dims]
    y = tf.transpose(x, keep + dims) if nd else tf.reshape(x, [1])
    keep_shape = tf.shape(y)[:len(keep)]
    y = tf.reshape(y, [-1, tf.reduce_prod(tf.shape(y)[len(keep):])] if nd else [1, 1])
    if ignore_nan:
        nan = tf.math.is_nan(y)
        y = tf.where(nan, tf.constant(np.inf, y.dtype), y)
        count = tf.reduce_sum(tf.cast(~nan, tf.int32), axis=-1, keepdims=True)
    else:
        count = tf.fill([tf.shape(y)[0], 1], tf.shape(y)[1])
    y = tf.sort(y, axis=-1)
    last = tf.maximum(count - 1, 0)
    pos = tf.reshape(q, [1, -1]) * tf.cast(count - 1, tf.float64)

    def index(p):
        return tf.minimum(tf.maximum(tf.cast(p, tf.int32), 0), last)

    if method in _ROUND:
        out = tf.gather(y, index(_ROUND[method](pos)), axis=1, batch_dims=1)
    else:
        lo = index(tf.floor(pos))
        hi = index(tf.math.ceil(pos))
        a, b = tf.gather(y, lo, axis=1, batch_dims=1), tf.gather(y, hi, axis=1, batch_dims=1)
        if method == "midpoint":
            out = (a + b) * tf.constant(0.5, x.dtype)
        else:
            out = a + (b - a) * tf.cast(pos - tf.cast(lo, tf.float64), x.dtype)
    if ignore_nan:
        out = tf.where(count == 0, tf.constant(np.nan, x.dtype), out)
    out = tf.reshape(out, tf.concat([keep_shape, [-1]], 0))
    nq = q.shape.rank
    out = tf.experimental.numpy.moveaxis(out, -1, 0) if nq else out[..., 0]
    if keepdims:
        for d in dims:
            out = tf.expand_dims(out, nq + d)
    return out


def quantile(x, q, axis=None, method="linear", keepdims=False):
    return _quantile(x, q, axis, method, keepdims)


def median(x, axis=None, keepdims=False):
    return _quantile(x, 0.5, axis, "linear", keepdims)


def percentile(x, q, axis=None, method="linear", keepdims=False):
    return _quantile(x, _q(q) / 100, axis, method, keepdims)


def nanquantile(x, q, axis=None, method="linear", keepdims=False):
    return _quantile(x, q, axis, method, keepdims, True)


def nanpercentile(x, q, axis=None, method="linear", keepdims=False):
    return _quantile(x, _q(q) / 100, axis, method, keepdims, True)


def nanmedian(x, axis=None, keepdims=False):
    return _quantile(x, 0.5, axis, "linear", keepdims, True)


def _float_pair(a, b):
    a, b = _t(a), _t(b)
    dt = float_dtype(dtypes.result_type(a.dtype.name, b.dtype.name))
    return _as(a, dt), _as(b, dt)


def average(x, axis=None, weights=None):
    if weights is None:
        return _mean(x, axis=axis)
    x, w = _float_pair(x, weights)
    if w.shape.rank == 1 and x.shape.rank > 1:
        shape = [1] * x.shape.rank
        shape[axis] = -1
        w = tf.reshape(w, shape)
    w = tf.broadcast_to(w, tf.shape(x))
    return tf.reduce_sum(x * w, axis=_axis(axis)) / tf.reduce_sum(w, axis=_axis(axis))


def ptp(x, axis=None, keepdims=False):
    x = _t(x)
    if x.dtype is _BOOL:
        raise TypeError("ptp: not supported for bool tensors.")
    return _max(x, axis=axis, keepdims=keepdims) - _min(x, axis=axis, keepdims=keepdims)


def _slice(x, axis, start, stop):
    key = [slice(None)] * x.shape.rank
    key[axis] = slice(start, stop)
    return x[tuple(key)]


def diff(a, n=1, axis=-1):
    a = _t(a)
    for _ in range(n):
        hi, lo = _slice(a, axis, 1, None), _slice(a, axis, None, -1)
        a = tf.not_equal(hi, lo) if a.dtype is _BOOL else hi - lo
    return a


def trapezoid(y, x=None, dx=1.0, axis=-1):
    if x is None:
        y = _float(y)
        d = tf.constant(dx, y.dtype)
    else:
        y, x = _float_pair(y, x)
        if x.shape.rank == 1:
            shape = [1] * y.shape.rank
            shape[axis] = -1
            x = tf.reshape(x, shape)
        d = diff(x, axis=axis)
    mid = (_slice(y, axis, 1, None) + _slice(y, axis, None, -1)) * tf.constant(0.5, y.dtype)
    return tf.reduce_sum(mid * d, axis=axis)


def _nan_to(x, value):
    x = _t(x)
    if x.dtype not in _FLOATS:
        return x
    return tf.where(tf.math.is_nan(x), tf.constant(value, x.dtype), x)


def nansum(x, axis=None, keepdims=False):
    x = _nan_to(x, 0.0)
    return tf.reduce_sum(_as(x, sum_dtype(x.dtype.name)), axis=_axis(axis), keepdims=keepdims)


def nanprod(x, axis=None, keepdims=False):
    return prod(_nan_to(x, 1.0), axis=axis, keepdims=keepdims)


def _nan_moments(x, axis):
    x = _float(x)
    valid = ~tf.math.is_nan(x)
    xz = tf.where(valid, x, tf.zeros((), x.dtype))
    count = tf.reduce_sum(tf.cast(valid, x.dtype), axis=_axis(axis), keepdims=True)
    mean = tf.reduce_sum(xz, axis=_axis(axis), keepdims=True) / count
    return x, valid, xz, count, mean


def nanmean(x, axis=None, keepdims=False):
    _, _, _, count, mean = _nan_moments(x, axis)
    return mean if keepdims else tf.squeeze(mean, _dims(mean, axis))


def nanvar(x, axis=None, keepdims=False):
    x, valid, xz, count, mean = _nan_moments(x, axis)
    d = tf.where(valid, xz - mean, tf.zeros((), x.dtype))
    out = tf.reduce_sum(d * d, axis=_axis(axis), keepdims=True) / count
    return out if keepdims else tf.squeeze(out, _dims(out, axis))


def nanstd(x, axis=None, keepdims=False):
    return tf.sqrt(nanvar(x, axis, keepdims))


def _nanext(reduce, fill, x, axis, keepdims):
    x = _t(x)
    if x.dtype not in _FLOATS:
        return reduce(x, axis=axis, keepdims=keepdims)
    nan = tf.math.is_nan(x)
    out = reduce(tf.where(nan, tf.constant(fill, x.dtype), x), axis=axis, keepdims=keepdims)
    return tf.where(all(nan, axis=axis, keepdims=keepdims), tf.constant(np.nan, x.dtype), out)


def nanmax(x, axis=None, keepdims=False):
    return _nanext(_max, -np.inf, x, axis, keepdims)


def nanmin(x, axis=None, keepdims=False):
    return _nanext(_min, np.inf, x, axis, keepdims)


def nanargmax(x, axis=None, keepdims=False):
    return _argmax(_nan_to(x, -np.inf), axis=axis, keepdims=keepdims)


def nanargmin(x, axis=None, keepdims=False):
    return argmin(_nan_to(x, np.inf), axis=axis, keepdims=keepdims)


def nancumsum(x, axis=None, dtype=None):
    return cumsum(_nan_to(x, 0.0), axis=axis, dtype=dtype)


def nancumprod(x, axis=None, dtype=None):
    return cumprod(_nan_to(x, 1.0), axis=axis, dtype=dtype)



def _pair(x1, x2):
    a, b = _t(x1), _t(x2)
    dt = dtypes.result_type(a.dtype.name, b.dtype.name)
    return _as(a, dt), _as(b, dt)


def searchsorted(sorted_sequence, values, side="left"):
    seq, v = _pair(sorted_sequence, values)
    if seq.dtype is _BOOL:
        seq, v = tf.cast(seq, tf.int32), tf.cast(v, tf.int32)
    flat = tf.reshape(v, [1, -1])
    out = tf.searchsorted(tf.reshape(seq, [1, -1]), flat, side=side, out_type=tf.int32)
    return tf.reshape(out, tf.shape(v))


def digitize(x, bins):
    return searchsorted(bins, x, side="right")


def bincount(x, weights=None, minlength=0, sparse=False):
    x = _t(x)
    if x.shape.rank != 1:
        raise ValueError(f"bincount: x must be 1-D, got shape {x.shape}.")
    if sparse:
        raise ValueError("bincount: sparse=True is not supported.")
    x = tf.cast(x, tf.int32)
    if weights is None:
        return tf.math.bincount(x, minlength=minlength, dtype=tf.int32)
    w = _t(weights)
    dt = sum_dtype(w.dtype.name)
    n = tf.maximum(tf.reduce_max(tf.concat([x, [-1]], 0)) + 1, minlength)
    return tf.math.unsorted_segment_sum(_as(w, dt), x, n)


def histogram(x, bins=10, range=None):
    x = tf.reshape(_float(x), [-1])
    dt = x.dtype
    if range is None:
        lo, hi = tf.reduce_min(x), tf.reduce_max(x)
    else:
        lo, hi = tf.constant(range[0], dt), tf.constant(range[1], dt)
    same = tf.equal(lo, hi)
    half = tf.constant(0.5, dt)
    lo, hi = tf.where(same, lo - half, lo), tf.where(same, hi + half, hi)
    i = tf.range(bins + 1, dtype=dt)
    nb = tf.constant(bins, dt)
    edges = (lo * (nb - i) + hi * i) / nb
    edges = tf.concat([edges[:-1], tf.reshape(hi, [1])], 0)
    idx = tf.searchsorted(edges, x, side="right", out_type=tf.int32) - 1
    idx = tf.where(tf.equal(x, hi), bins - 1, idx)
    valid = (idx >= 0) & (idx < bins)
    counts = tf.math.unsorted_segment_sum(tf.cast(valid, tf.int32),
                                          tf.clip_by_value(idx, 0, bins - 1), bins)
    return counts, edges


def isin(x1, x2, assume_unique=False, invert=False):
    a, b = _pair(x1, x2)
    found = tf.reduce_any(tf.equal(a[..., None], tf.reshape(b, [-1])), axis=-1)
    return tf.logical_not(found) if invert else found


def in_top_k(targets, predictions, k):
    p = _t(predictions)
    if p.dtype is _BOOL:   # bool has no ordering in TF: compare as 0/1
        p = tf.cast(p, tf.int32)
    t = tf.cast(_t(targets), tf.int32)
    target = tf.gather(p, t[:, None], axis=1, batch_dims=1)
    return tf.reduce_sum(tf.cast(p > target, tf.int32), axis=1) < k


def argpartition(x, kth, axis=-1):
    return argsort(x, axis=axis)


def unique(x, sorted=True, return_index=False, return_inverse=False, return_counts=False,
           axis=None, size=None, fill_value=None):
    x = _t(x)
    nd = x.shape.rank
    a = 0 if axis is None else axis % nd
    if axis is None:
        rows = tf.reshape(x, [-1, 1])
    else:
        moved = tf.transpose(x, [a] + [d for d in range(nd) if d != a])
        rows = tf.reshape(moved, [tf.shape(moved)[0], -1])
    keys = _numeric(rows)
    length = tf.shape(rows)[0]
    # Lexicographic order of the rows: stable sorts from the last column to the first.
    order = tf.range(length)
    for c in reversed(range(keys.shape[1] if keys.shape[1] is not None else 1)):
        order = tf.gather(order, tf.argsort(tf.gather(keys[:, c], order), stable=True))
    ordered = tf.gather(keys, order)
    starts = tf.concat([tf.ones([tf.minimum(length, 1)], tf.bool),
                        tf.reduce_any(ordered[1:] != ordered[:-1], axis=1)], 0)
    group = tf.cumsum(tf.cast(starts, tf.int32)) - 1
    n = tf.reduce_sum(tf.cast(starts, tf.int32))
    firsts = tf.boolean_mask(order, starts)
    counts = tf.math.unsorted_segment_sum(tf.ones_like(group), group, n)
    # Stable order: each group's first sorted position holds its first occurrence.
    index = firsts
    inverse = tf.scatter_nd(order[:, None], group, [length])
    if axis is None:
        values = tf.gather(tf.reshape(x, [-1]), firsts)
        inverse = tf.reshape(inverse, tf.shape(x))
    else:
        values = tf.gather(x, firsts, axis=a)
    if size is not None:
        pad = tf.maximum(size - n, 0)
        values = tf.gather(values, tf.range(tf.minimum(n, size)), axis=a)
        if fill_value is None:
            filler = tf.gather(values, tf.zeros([pad], tf.int32), axis=a)
        else:
            fshape = tf.tensor_scatter_nd_update(tf.shape(values), [[a]], [pad])
            filler = tf.fill(fshape, tf.cast(fill_value, values.dtype))
        values = tf.concat([values, filler], axis=a)
        index = tf.concat([index[:size], tf.zeros([pad], tf.int32)], 0)
        counts = tf.concat([counts[:size], tf.zeros([pad], tf.int32)], 0)
    out = [values]
    if return_index:
        out.append(index)
    if return_inverse:
        out.append(inverse)
    if return_counts:
        out.append(counts)
    return out[0] if len(out) == 1 else tuple(out)


def nonzero(x):
    x = _t(x)
    if x.shape.rank == 0:
        raise ValueError("nonzero: input must have rank >= 1, got a scalar.")
    idx = tf.cast(tf.where(_bool(x)), tf.int32)
    return tuple(idx[:, i] for i in range(x.shape.rank))


def corrcoef(x):
    x = _float(x)
    one_d = x.shape.rank == 1
    if one_d:
        x = x[None]
    xc = x - tf.reduce_mean(x, axis=1, keepdims=True)
    cov = tf.matmul(xc, xc, transpose_b=True)
    d = tf.sqrt(tf.linalg.diag_part(cov))
    out = cov / d[:, None] / d[None, :]
    out = tf.clip_by_value(out, tf.constant(-1, x.dtype), tf.constant(1, x.dtype))
    return out[0, 0] if one_d else out


def correlate(x1, x2, mode="valid"):
    a, b = _pair(x1, x2)
    dt = float_dtype(a.dtype.name)
    a, b = _as(a, dt), _as(b, dt)
    m, n = a.shape[0], b.shape[0]
    padded = tf.pad(a, [[n - 1, n - 1]])
    full = tf.nn.conv1d(padded[None, :, None], b[:, None, None], stride=1, padding="VALID")[0, :, 0]
    short, long_ = builtins.min(m, n), builtins.max(m, n)
    if mode == "full":
        return full
    if mode == "same":
        start = (short - 1) // 2 if m >= n else short // 2  # as NumPy centres it
        return full[start:start + long_]
    return full[short - 1:long_]


def cdist(x, y):
    a, b = _pair(x, y)
    dt = float_dtype(a.dtype.name)
    a, b = _as(a, dt), _as(b, dt)
    d = a[..., :, None, :] - b[..., None, :, :]
    sq = tf.reduce_sum(d * d, axis=-1)
    pos = sq > 0
    zero = tf.zeros((), sq.dtype)
    return tf.where(pos, tf.sqrt(tf.where(pos, sq, tf.ones((), sq.dtype))), zero)


def _segment(fn, identity, data, segment_ids, num_segments):
    data = _t(data)
    if data.dtype is _BOOL:   # no bool segment kernels: reduce 0/1 in int32 (sum = any, ...)
        out = _segment(fn, identity, tf.cast(data, tf.int32), segment_ids, num_segments)
        return tf.greater(out, 0)   # empty segments: max -> int min, min -> int max
    ids = tf.cast(_t(segment_ids), tf.int32)
    if num_segments is None:
        num_segments = tf.reduce_max(tf.concat([ids, [-1]], 0)) + 1
    out = fn(data, ids, num_segments)
    if identity is None:
        return out
    # Empty segments get the reduction's identity (TF gives the dtype's finite extreme).
    count = tf.math.unsorted_segment_sum(tf.ones_like(ids), ids, num_segments)
    empty = tf.reshape(count == 0, tf.concat([[-1], tf.ones([data.shape.rank - 1], tf.int32)], 0))
    return tf.where(empty, tf.constant(identity(data.dtype), data.dtype), out)


def _lowest(dt):
    return -np.inf if dt in _FLOATS else dt.min


def _highest(dt):
    return np.inf if dt in _FLOATS else dt.max


def segment_sum(data, segment_ids, num_segments=None, sorted=False):
    return _segment(tf.math.unsorted_segment_sum, None, data, segment_ids, num_segments)


def segment_max(data, segment_ids, num_segments=None, sorted=False):
    return _segment(tf.math.unsorted_segment_max, _lowest, data, segment_ids, num_segments)


def segment_min(data, segment_ids, num_segments=None, sorted=False):
    return _segment(tf.math.unsorted_segment_min, _highest, data, segment_ids, num_segments)


def segment_prod(data, segment_ids, num_segments=None, sorted=False):
    return _segment(tf.math.unsorted_segment_prod, None, data, segment_ids, num_segments)


# Every op of the family is implemented here: export the family's list.
from unikeras.common.ops.reductions import __all__  # noqa: E402,F401
