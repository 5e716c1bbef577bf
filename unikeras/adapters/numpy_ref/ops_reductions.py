"""NumPy reference implementations of the reductions op family."""
import builtins

import numpy as np

from unikeras.adapters.numpy_ref.ops import _float, _promote
from unikeras.common import dtypes
from unikeras.common.ops.reductions import acc_dtype, float_dtype, sum_dtype


def _ax(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def _a(x):
    return np.asarray(x)


def all(x, axis=None, keepdims=False):
    return np.asarray(np.all(_a(x), axis=_ax(axis), keepdims=keepdims))


def any(x, axis=None, keepdims=False):
    return np.asarray(np.any(_a(x), axis=_ax(axis), keepdims=keepdims))


def amax(x, axis=None, keepdims=False):
    return np.asarray(np.amax(_a(x), axis=_ax(axis), keepdims=keepdims))


def amin(x, axis=None, keepdims=False):
    return np.asarray(np.amin(_a(x), axis=_ax(axis), keepdims=keepdims))


def argmin(x, axis=None, keepdims=False):
    return np.asarray(np.argmin(_a(x), axis=axis, keepdims=keepdims), dtype="int32")


def prod(x, axis=None, keepdims=False, dtype=None):
    x = _a(x)
    dt = acc_dtype(x.dtype, dtype)
    return np.asarray(np.prod(x.astype(dt), axis=_ax(axis), keepdims=keepdims, dtype=dt))


def var(x, axis=None, keepdims=False):
    x = _float(x)
    return np.asarray(np.var(x, axis=_ax(axis), keepdims=keepdims), dtype=x.dtype)


def std(x, axis=None, keepdims=False):
    x = _float(x)
    return np.asarray(np.std(x, axis=_ax(axis), keepdims=keepdims), dtype=x.dtype)


def count_nonzero(x, axis=None):
    return np.asarray(np.count_nonzero(_a(x), axis=_ax(axis)), dtype="int32")


def logsumexp(x, axis=None, keepdims=False):
    x = _float(x)
    axis = _ax(axis)
    if x.size == 0:
        return np.asarray(np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims)), x.dtype)
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, np.zeros((), x.dtype))
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    if not keepdims:
        out = np.squeeze(out, axis=axis)
    return np.asarray(out, x.dtype)


def _cumulative(fn, x, axis, dtype):
    x = _a(x)
    dt = acc_dtype(x.dtype, dtype)
    if axis is None:
        x, axis = x.reshape(-1), 0
    return np.asarray(fn(x.astype(dt), axis=axis, dtype=dt))


def cumsum(x, axis=None, dtype=None):
    return _cumulative(np.cumsum, x, axis, dtype)


def cumprod(x, axis=None, dtype=None):
    return _cumulative(np.cumprod, x, axis, dtype)


def sort(x, axis=-1):
    return np.sort(_a(x), axis=axis, kind="stable")


def argsort(x, axis=-1):
    return np.argsort(_a(x), axis=axis, kind="stable").astype("int32")


def top_k(x, k, sorted=True):
    x = _a(x)
    key = x.astype("float64") if x.dtype.kind in "bu" else x
    idx = np.argsort(-key, axis=-1, kind="stable")[..., :k]
    return np.take_along_axis(x, idx, axis=-1), idx.astype("int32")


def median(x, axis=None, keepdims=False):
    x = _float(x)
    return np.asarray(np.median(x, axis=_ax(axis), keepdims=keepdims), dtype=x.dtype)


def quantile(x, q, axis=None, method="linear", keepdims=False):
    x = _float(x)
    q = np.asarray(q, "float64")
    return np.asarray(np.quantile(x, q, axis=_ax(axis), method=method, keepdims=keepdims),
                      dtype=x.dtype)



def percentile(x, q, axis=None, method="linear", keepdims=False):
    x = _float(x)
    q = np.asarray(q, "float64")
    return np.asarray(np.percentile(x, q, axis=_ax(axis), method=method, keepdims=keepdims),
                      dtype=x.dtype)


def average(x, axis=None, weights=None):
    x = np.asarray(x)
    if weights is None:
        x = _float(x)
        return np.asarray(np.mean(x, axis=_ax(axis), dtype=x.dtype))
    w = np.asarray(weights)
    dt = float_dtype(dtypes.result_type(x.dtype.name, w.dtype.name))
    return np.asarray(np.average(x.astype(dt), axis=_ax(axis), weights=w.astype(dt)), dtype=dt)


def ptp(x, axis=None, keepdims=False):
    x = np.asarray(x)
    if x.dtype == bool:
        raise TypeError("ptp: not supported for bool tensors.")
    return np.asarray(np.ptp(x, axis=_ax(axis), keepdims=keepdims))


def diff(a, n=1, axis=-1):
    return np.diff(np.asarray(a), n=n, axis=axis)


def trapezoid(y, x=None, dx=1.0, axis=-1):
    y = np.asarray(y)
    if x is None:
        dt = float_dtype(y.dtype)
        return np.asarray(np.trapezoid(y.astype(dt), dx=dx, axis=axis), dtype=dt)
    x = np.asarray(x)
    dt = float_dtype(dtypes.result_type(y.dtype.name, x.dtype.name))
    return np.asarray(np.trapezoid(y.astype(dt), x.astype(dt), axis=axis), dtype=dt)


def nansum(x, axis=None, keepdims=False):
    x = _a(x)
    dt = sum_dtype(x.dtype)
    return np.asarray(np.nansum(x, axis=_ax(axis), keepdims=keepdims, dtype=dt))


def nanprod(x, axis=None, keepdims=False):
    x = _a(x)
    dt = acc_dtype(x.dtype)
    return np.asarray(np.nanprod(x.astype(dt), axis=_ax(axis), keepdims=keepdims, dtype=dt))


def _nanstat(fn, x, axis, keepdims):
    x = _float(x)
    return np.asarray(fn(x, axis=_ax(axis), keepdims=keepdims), dtype=x.dtype)


def nanmean(x, axis=None, keepdims=False):
    return _nanstat(np.nanmean, x, axis, keepdims)


def nanvar(x, axis=None, keepdims=False):
    return _nanstat(np.nanvar, x, axis, keepdims)


def nanstd(x, axis=None, keepdims=False):
    return _nanstat(np.nanstd, x, axis, keepdims)


def nanmedian(x, axis=None, keepdims=False):
    return _nanstat(np.nanmedian, x, axis, keepdims)


def nanmax(x, axis=None, keepdims=False):
    return np.asarray(np.nanmax(_a(x), axis=_ax(axis), keepdims=keepdims))


def nanmin(x, axis=None, keepdims=False):
    return np.asarray(np.nanmin(_a(x), axis=_ax(axis), keepdims=keepdims))


def nanargmax(x, axis=None, keepdims=False):
    return np.asarray(np.nanargmax(_a(x), axis=axis, keepdims=keepdims), dtype="int32")


def nanargmin(x, axis=None, keepdims=False):
    return np.asarray(np.nanargmin(_a(x), axis=axis, keepdims=keepdims), dtype="int32")


def nancumsum(x, axis=None, dtype=None):
    return _cumulative(np.nancumsum, x, axis, dtype)


def nancumprod(x, axis=None, dtype=None):
    return _cumulative(np.nancumprod, x, axis, dtype)


def nanquantile(x, q, axis=None, method="linear", keepdims=False):
    x = _float(x)
    q = np.asarray(q, "float64")
    return np.asarray(np.nanquantile(x, q, axis=_ax(axis), method=method, keepdims=keepdims),
                      dtype=x.dtype)


def nanpercentile(x, q, axis=None, method="linear", keepdims=False):
    x = _float(x)
    q = np.asarray(q, "float64")
    return np.asarray(np.nanpercentile(x, q, axis=_ax(axis), method=method, keepdims=keepdims),
                      dtype=x.dtype)



def searchsorted(sorted_sequence, values, side="left"):
    seq, v = _promote(np.asarray(sorted_sequence), np.asarray(values))
    return np.asarray(np.searchsorted(seq, v, side=side), dtype="int32")


def digitize(x, bins):
    x, b = _promote(np.asarray(x), np.asarray(bins))
    return np.asarray(np.searchsorted(b, x, side="right"), dtype="int32")


def bincount(x, weights=None, minlength=0, sparse=False):
    x = np.asarray(x)
    if x.ndim != 1:
        raise ValueError(f"bincount: x must be 1-D, got shape {x.shape}.")
    if sparse:
        raise ValueError("bincount: sparse=True is not supported.")
    if weights is None:
        return np.bincount(x, minlength=minlength).astype("int32")
    w = np.asarray(weights)
    dt = sum_dtype(w.dtype)
    return np.bincount(x, weights=w.astype("float64"), minlength=minlength).astype(dt)


def histogram(x, bins=10, range=None):
    x = _float(x)
    dt = x.dtype
    if range is not None:
        lo, hi = np.asarray(range[0], dt), np.asarray(range[1], dt)
    elif x.size:
        lo, hi = x.min(), x.max()
    else:
        lo, hi = np.asarray(0, dt), np.asarray(1, dt)
    if lo == hi:
        lo, hi = lo - np.asarray(0.5, dt), hi + np.asarray(0.5, dt)
    # Edges (lo * (bins - i) + hi * i) / bins in x's dtype (exact for integer data; the
    # last exactly hi); bin i holds edges[i] <= v < edges[i + 1], the last also v == hi.
    i = np.arange(bins + 1, dtype=dt)
    edges = ((lo * (np.asarray(bins, dt) - i) + hi * i) / np.asarray(bins, dt)).astype(dt)
    edges[-1] = hi
    flat = x.reshape(-1)
    idx = np.searchsorted(edges, flat, side="right") - 1
    idx[flat == hi] = bins - 1
    counts = np.bincount(idx[(idx >= 0) & (idx < bins)], minlength=bins)
    return counts.astype("int32"), edges


def isin(x1, x2, assume_unique=False, invert=False):
    a, b = _promote(np.asarray(x1), np.asarray(x2))
    return np.isin(a, b, invert=invert)


def in_top_k(targets, predictions, k):
    t = np.asarray(targets).astype("int64")
    p = np.asarray(predictions)
    target = np.take_along_axis(p, t[:, None], axis=1)
    return np.sum(p > target, axis=1) < k


def argpartition(x, kth, axis=-1):
    # A full stable argsort is one valid partition, and the same on every backend.
    x = np.asarray(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    return np.argsort(x, axis=axis, kind="stable").astype("int32")


def unique(x, sorted=True, return_index=False, return_inverse=False, return_counts=False,
           axis=None, size=None, fill_value=None):
    x = np.asarray(x)
    values, index, inverse, counts = np.unique(x, return_index=True, return_inverse=True,
                                               return_counts=True, axis=axis)
    inverse = inverse.reshape(x.shape if axis is None else (-1,))
    if size is not None:
        a = 0 if axis is None else axis % x.ndim
        n = values.shape[a]
        pad = builtins.max(size - n, 0)
        values = np.take(values, np.arange(builtins.min(n, size)), axis=a)
        if fill_value is None:
            filler = np.take(values, [0] * pad, axis=a)
        else:
            fshape = list(values.shape)
            fshape[a] = pad
            filler = np.full(fshape, fill_value, x.dtype)
        values = np.concatenate([values, filler], axis=a)
        index = np.concatenate([index[:size], np.zeros(pad, index.dtype)])
        counts = np.concatenate([counts[:size], np.zeros(pad, counts.dtype)])
    out = [values]
    if return_index:
        out.append(index.astype("int32"))
    if return_inverse:
        out.append(inverse.astype("int32"))
    if return_counts:
        out.append(counts.astype("int32"))
    return out[0] if len(out) == 1 else tuple(out)


def nonzero(x):
    x = np.asarray(x)
    if x.ndim == 0:
        raise ValueError("nonzero: input must have rank >= 1, got a scalar.")
    return tuple(i.astype("int32") for i in np.nonzero(x))


def corrcoef(x):
    x = _float(x)
    return np.asarray(np.corrcoef(x), dtype=x.dtype)


def correlate(x1, x2, mode="valid"):
    a, b = _promote(np.asarray(x1), np.asarray(x2))
    dt = float_dtype(a.dtype)
    return np.correlate(a.astype(dt), b.astype(dt), mode=mode).astype(dt)


def cdist(x, y):
    a, b = _promote(np.asarray(x), np.asarray(y))
    dt = float_dtype(a.dtype)
    a, b = a.astype(dt), b.astype(dt)
    d = a[..., :, None, :] - b[..., None, :, :]
    return np.sqrt(np.sum(d * d, axis=-1)).astype(dt)


def _segment(ufunc, identity, data, segment_ids, num_segments):
    data = np.asarray(data)
    ids = np.asarray(segment_ids).astype("int64")
    if num_segments is None:
        num_segments = int(ids.max()) + 1 if ids.size else 0
    out = np.full((num_segments,) + data.shape[1:], identity(data.dtype), data.dtype)
    keep = (ids >= 0) & (ids < num_segments)
    ufunc.at(out, ids[keep], data[keep])
    return out


def _lowest(dt):
    return -np.inf if dt.kind == "f" else (False if dt.kind == "b" else np.iinfo(dt).min)


def _highest(dt):
    return np.inf if dt.kind == "f" else (True if dt.kind == "b" else np.iinfo(dt).max)


def segment_sum(data, segment_ids, num_segments=None, sorted=False):
    return _segment(np.add, lambda d: 0, data, segment_ids, num_segments)


def segment_max(data, segment_ids, num_segments=None, sorted=False):
    return _segment(np.maximum, _lowest, data, segment_ids, num_segments)


def segment_min(data, segment_ids, num_segments=None, sorted=False):
    return _segment(np.minimum, _highest, data, segment_ids, num_segments)


def segment_prod(data, segment_ids, num_segments=None, sorted=False):
    return _segment(np.multiply, lambda d: 1, data, segment_ids, num_segments)


# Every op of the family is implemented here: export the family's list.
from unikeras.common.ops.reductions import __all__  # noqa: E402,F401
