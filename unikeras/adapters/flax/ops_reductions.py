"""JAX implementations of the reductions op family."""
import builtins

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from unikeras.adapters.flax.ops import (
    _INT32, _dtype_name, _float, _j, _jdtype, _jit, _static_jit)
from unikeras.adapters.flax.ops import max as _max
from unikeras.adapters.flax.ops import mean as _mean
from unikeras.adapters.flax.ops import min as _min
from unikeras.common import dtypes
from unikeras.common.ops.reductions import acc_dtype, float_dtype, sum_dtype


def _ax(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def _static(fn, *names):
    """`fn(x, **static)` behind jax.jit with the keyword arguments static."""
    return _static_jit(fn, *names)


_all = _static(lambda x, axis, keepdims: jnp.all(x, axis=axis, keepdims=keepdims),
               "axis", "keepdims")
_any = _static(lambda x, axis, keepdims: jnp.any(x, axis=axis, keepdims=keepdims),
               "axis", "keepdims")
_argmin = _static(lambda x, axis, keepdims: jnp.argmin(x, axis, keepdims=keepdims).astype(_INT32),
                  "axis", "keepdims")
_prod = _static(lambda x, axis, keepdims, dtype: jnp.prod(x.astype(dtype), axis, dtype,
                                                          keepdims=keepdims),
                "axis", "keepdims", "dtype")
_var = _static(lambda x, axis, keepdims: jnp.var(x, axis, keepdims=keepdims), "axis", "keepdims")
_std = _static(lambda x, axis, keepdims: jnp.std(x, axis, keepdims=keepdims), "axis", "keepdims")
_count_nonzero = _static(lambda x, axis: jnp.count_nonzero(x, axis).astype(_INT32), "axis")
_logsumexp = _static(lambda x, axis, keepdims: jax.nn.logsumexp(x, axis, keepdims=keepdims),
                     "axis", "keepdims")
_cumsum = _static(lambda x, axis, dtype: jnp.cumsum(x.astype(dtype), axis, dtype), "axis", "dtype")
_cumprod = _static(lambda x, axis, dtype: jnp.cumprod(x.astype(dtype), axis, dtype),
                   "axis", "dtype")
_sort = _static(lambda x, axis: jnp.sort(x, axis, stable=True), "axis")
_argsort = _static(lambda x, axis: jnp.argsort(x, axis=axis, stable=True).astype(_INT32), "axis")
_median = _static(lambda x, axis, keepdims: jnp.median(x, axis, keepdims=keepdims),
                  "axis", "keepdims")
_quantile = _static(lambda x, q, axis, method, keepdims: jnp.quantile(
    x, q.astype(x.dtype), axis=axis, method=method, keepdims=keepdims).astype(x.dtype),
    "axis", "method", "keepdims")


def all(x, axis=None, keepdims=False):
    return _all(_j(x), axis=_ax(axis), keepdims=keepdims)


def any(x, axis=None, keepdims=False):
    return _any(_j(x), axis=_ax(axis), keepdims=keepdims)


def amax(x, axis=None, keepdims=False):
    return _max(x, axis=axis, keepdims=keepdims)


def amin(x, axis=None, keepdims=False):
    return _min(x, axis=axis, keepdims=keepdims)


def argmin(x, axis=None, keepdims=False):
    return _argmin(_j(x), axis=axis, keepdims=keepdims)


def prod(x, axis=None, keepdims=False, dtype=None):
    x = _j(x)
    return _prod(x, axis=_ax(axis), keepdims=keepdims,
                 dtype=_jdtype(acc_dtype(_dtype_name(x.dtype), dtype)))


def var(x, axis=None, keepdims=False):
    return _var(_float(x), axis=_ax(axis), keepdims=keepdims)


def std(x, axis=None, keepdims=False):
    return _std(_float(x), axis=_ax(axis), keepdims=keepdims)


def count_nonzero(x, axis=None):
    return _count_nonzero(_j(x), axis=_ax(axis))


def logsumexp(x, axis=None, keepdims=False):
    return _logsumexp(_float(x), axis=_ax(axis), keepdims=keepdims)


def cumsum(x, axis=None, dtype=None):
    x = _j(x)
    return _cumsum(x, axis=axis, dtype=_jdtype(acc_dtype(_dtype_name(x.dtype), dtype)))


def cumprod(x, axis=None, dtype=None):
    x = _j(x)
    return _cumprod(x, axis=axis, dtype=_jdtype(acc_dtype(_dtype_name(x.dtype), dtype)))


def sort(x, axis=-1):
    return _sort(_j(x), axis=axis)


def argsort(x, axis=-1):
    return _argsort(_j(x), axis=axis)


def top_k(x, k, sorted=True):
    values, indices = lax.top_k(_j(x), k)
    return values, indices.astype(_INT32)


def median(x, axis=None, keepdims=False):
    return _median(_float(x), axis=_ax(axis), keepdims=keepdims)


def _q(q):
    if isinstance(q, (builtins.int, builtins.float)):
        return np.asarray(q, "float32")
    return q if isinstance(q, jax.Array) else np.asarray(q, "float32")


def quantile(x, q, axis=None, method="linear", keepdims=False):
    return _quantile(_float(x), _q(q), axis=_ax(axis), method=method, keepdims=keepdims)



def _pct(q):
    return _q(q) / 100 if not isinstance(q, jax.Array) else q / 100


def percentile(x, q, axis=None, method="linear", keepdims=False):
    return _quantile(_float(x), _pct(q), axis=_ax(axis), method=method, keepdims=keepdims)


_nanquantile = _static(lambda x, q, axis, method, keepdims: jnp.nanquantile(
    x, q.astype(x.dtype), axis=axis, method=method, keepdims=keepdims).astype(x.dtype),
    "axis", "method", "keepdims")


def nanquantile(x, q, axis=None, method="linear", keepdims=False):
    return _nanquantile(_float(x), _q(q), axis=_ax(axis), method=method, keepdims=keepdims)


def nanpercentile(x, q, axis=None, method="linear", keepdims=False):
    return _nanquantile(_float(x), _pct(q), axis=_ax(axis), method=method, keepdims=keepdims)


def _float_of(*xs):
    name = dtypes.result_type(*[_dtype_name(x.dtype) for x in xs])
    return _jdtype(float_dtype(name))


_average = _static(lambda x, w, axis: jnp.average(x, axis, w), "axis")


def average(x, axis=None, weights=None):
    if weights is None:
        return _mean(x, axis=axis)
    x, w = _j(x), _j(weights)
    jd = _float_of(x, w)
    return _average(x.astype(jd), w.astype(jd), axis=_ax(axis))


def ptp(x, axis=None, keepdims=False):
    x = _j(x)
    if x.dtype == jnp.bool_:
        raise TypeError("ptp: not supported for bool tensors.")
    return _ptp(x, axis=_ax(axis), keepdims=keepdims)


_ptp = _static(lambda x, axis, keepdims: jnp.ptp(x, axis, keepdims=keepdims), "axis", "keepdims")
_diff = _static(lambda a, n, axis: jnp.diff(a, n, axis), "n", "axis")
_trapezoid = _static(lambda y, x, dx, axis: jnp.trapezoid(y, x, dx, axis), "axis")


def diff(a, n=1, axis=-1):
    return _diff(_j(a), n=n, axis=axis)


def trapezoid(y, x=None, dx=1.0, axis=-1):
    y = _j(y)
    if x is None:
        return _trapezoid(_float(y), None, dx, axis=axis)
    x = _j(x)
    jd = _float_of(y, x)
    return _trapezoid(y.astype(jd), x.astype(jd), dx, axis=axis)


def _reducer(fn, dtype_fn=None, to_float=False):
    jitted = _static(lambda x, axis, keepdims, dtype: fn(x, axis, keepdims=keepdims, dtype=dtype)
                     if dtype is not None else fn(x, axis, keepdims=keepdims),
                     "axis", "keepdims", "dtype")

    def apply(x, axis=None, keepdims=False):
        x = _float(x) if to_float else _j(x)
        dtype = None if dtype_fn is None else _jdtype(dtype_fn(_dtype_name(x.dtype)))
        return jitted(x.astype(dtype) if dtype is not None else x, axis=_ax(axis),
                      keepdims=keepdims, dtype=dtype)
    return apply


nansum = _reducer(jnp.nansum, sum_dtype)
nanprod = _reducer(jnp.nanprod, acc_dtype)
nanmean = _reducer(jnp.nanmean, to_float=True)
nanvar = _reducer(jnp.nanvar, to_float=True)
nanstd = _reducer(jnp.nanstd, to_float=True)
nanmax = _reducer(jnp.nanmax)
nanmin = _reducer(jnp.nanmin)
_nanmedian = _static(lambda x, axis, keepdims: jnp.nanmedian(x, axis, keepdims=keepdims),
                     "axis", "keepdims")
_nanargmax = _static(lambda x, axis, keepdims: jnp.nanargmax(x, axis, keepdims=keepdims)
                     .astype(_INT32), "axis", "keepdims")
_nanargmin = _static(lambda x, axis, keepdims: jnp.nanargmin(x, axis, keepdims=keepdims)
                     .astype(_INT32), "axis", "keepdims")


def nanmedian(x, axis=None, keepdims=False):
    return _nanmedian(_float(x), axis=_ax(axis), keepdims=keepdims)


def nanargmax(x, axis=None, keepdims=False):
    return _nanargmax(_j(x), axis=axis, keepdims=keepdims)


def nanargmin(x, axis=None, keepdims=False):
    return _nanargmin(_j(x), axis=axis, keepdims=keepdims)


def _nan_to(x, value):
    x = _j(x)
    return jnp.where(jnp.isnan(x), value, x) if jnp.issubdtype(x.dtype, jnp.floating) else x


def nancumsum(x, axis=None, dtype=None):
    return cumsum(_nan_to(x, 0), axis=axis, dtype=dtype)


def nancumprod(x, axis=None, dtype=None):
    return cumprod(_nan_to(x, 1), axis=axis, dtype=dtype)



def _pair(x1, x2):
    a, b = _j(x1), _j(x2)
    jd = _jdtype(dtypes.result_type(_dtype_name(a.dtype), _dtype_name(b.dtype)))
    return a.astype(jd), b.astype(jd)


_searchsorted = _static(lambda seq, v, side: jnp.searchsorted(seq, v, side=side).astype(_INT32),
                        "side")


def searchsorted(sorted_sequence, values, side="left"):
    seq, v = _pair(sorted_sequence, values)
    return _searchsorted(seq, v, side=side)


def digitize(x, bins):
    return searchsorted(bins, x, side="right")


def bincount(x, weights=None, minlength=0, sparse=False):
    x = _j(x)
    if x.ndim != 1:
        raise ValueError(f"bincount: x must be 1-D, got shape {x.shape}.")
    if sparse:
        raise ValueError("bincount: sparse=True is not supported.")
    # Value-dependent length: under jit (abstract x) the output has `minlength` entries.
    length = minlength if isinstance(x, jax.core.Tracer) else None
    if weights is None:
        return jnp.bincount(x, minlength=minlength, length=length).astype(_INT32)
    w = _j(weights)
    jd = _jdtype(sum_dtype(_dtype_name(w.dtype)))
    return jnp.bincount(x, w.astype(jd), minlength=minlength, length=length).astype(jd)


def _histogram(x, bins, lo, hi, nb):
    dt = x.dtype
    same = lo == hi
    lo, hi = jnp.where(same, lo - 0.5, lo), jnp.where(same, hi + 0.5, hi)
    i = jnp.arange(bins + 1, dtype=dt)
    edges = (lo * (nb - i) + hi * i) / nb  # nb traced: XLA keeps a true division
    edges = edges.at[-1].set(hi)
    idx = jnp.searchsorted(edges, x, side="right") - 1
    idx = jnp.where(x == hi, bins - 1, idx)
    valid = (idx >= 0) & (idx < bins)
    counts = jnp.zeros(bins, _INT32).at[jnp.clip(idx, 0, bins - 1)].add(valid.astype(_INT32))
    return counts, edges


_histogram_jit = _static(_histogram, "bins")


def histogram(x, bins=10, range=None):
    x = _float(x).reshape(-1)
    if range is None:
        lo, hi = jnp.min(x), jnp.max(x)
    else:
        lo, hi = jnp.asarray(range[0], x.dtype), jnp.asarray(range[1], x.dtype)
    return _histogram_jit(x, bins=bins, lo=lo, hi=hi, nb=jnp.asarray(bins, x.dtype))


_isin = _static(lambda a, b, invert: jnp.isin(a, b, invert=invert), "invert")


def isin(x1, x2, assume_unique=False, invert=False):
    a, b = _pair(x1, x2)
    return _isin(a, b, invert=invert)


def in_top_k(targets, predictions, k):
    p = _j(predictions)
    t = _j(targets).astype(_INT32)
    target = jnp.take_along_axis(p, t[:, None], axis=1)
    return jnp.sum(p > target, axis=1) < k


def argpartition(x, kth, axis=-1):
    return argsort(x, axis=axis)


def unique(x, sorted=True, return_index=False, return_inverse=False, return_counts=False,
           axis=None, size=None, fill_value=None):
    x = _j(x)
    values, index, inverse, counts = jnp.unique(
        x, return_index=True, return_inverse=True, return_counts=True, axis=axis, size=size,
        fill_value=fill_value)
    if size is not None:  # padded entries (count 0) get index 0, as the other backends
        index = jnp.where(counts > 0, index, 0)
    out = [values]
    if return_index:
        out.append(index.astype(_INT32))
    if return_inverse:
        out.append(inverse.reshape(x.shape if axis is None else (-1,)).astype(_INT32))
    if return_counts:
        out.append(counts.astype(_INT32))
    return out[0] if len(out) == 1 else tuple(out)


def nonzero(x):
    x = _j(x)
    if x.ndim == 0:
        raise ValueError("nonzero: input must have rank >= 1, got a scalar.")
    return tuple(i.astype(_INT32) for i in jnp.nonzero(x))


_corrcoef = _jit(jnp.corrcoef)


def corrcoef(x):
    x = _float(x)
    return _corrcoef(x).astype(x.dtype)


_correlate = _static(lambda a, b, mode: jnp.correlate(a, b, mode=mode), "mode")


def correlate(x1, x2, mode="valid"):
    a, b = _pair(x1, x2)
    jd = _jdtype(float_dtype(_dtype_name(a.dtype)))
    return _correlate(a.astype(jd), b.astype(jd), mode=mode)


def _cdist_fn(a, b):
    d = a[..., :, None, :] - b[..., None, :, :]
    sq = jnp.sum(d * d, axis=-1)
    # Safe square root: zero distances give zero gradient instead of nan.
    pos = sq > 0
    return jnp.where(pos, jnp.sqrt(jnp.where(pos, sq, 1)), 0).astype(a.dtype)


_cdist = _jit(_cdist_fn)


def cdist(x, y):
    a, b = _pair(x, y)
    jd = _jdtype(float_dtype(_dtype_name(a.dtype)))
    return _cdist(a.astype(jd), b.astype(jd))


def _segment(fn, data, segment_ids, num_segments, sorted):
    data = _j(data)
    if data.dtype == jnp.bool_:   # segment_sum has no bool kernel: reduce 0/1 in int32
        return _segment(fn, data.astype(jnp.int32), segment_ids, num_segments, sorted) > 0
    ids = _j(segment_ids)
    if num_segments is None:
        num_segments = int(jnp.max(ids)) + 1 if ids.size else 0
    return fn(data, ids, num_segments=num_segments, indices_are_sorted=sorted)


def segment_sum(data, segment_ids, num_segments=None, sorted=False):
    return _segment(jax.ops.segment_sum, data, segment_ids, num_segments, sorted)


def segment_max(data, segment_ids, num_segments=None, sorted=False):
    return _segment(jax.ops.segment_max, data, segment_ids, num_segments, sorted)


def segment_min(data, segment_ids, num_segments=None, sorted=False):
    return _segment(jax.ops.segment_min, data, segment_ids, num_segments, sorted)


def _dense_segment_prod(data, ids, num_segments, indices_are_sorted=False):
    # jax.ops.segment_prod has no gradient for repeated ids: a (segments x rows) product
    # of one-hot-selected rows is differentiable.
    hit = ids[None, :] == jnp.arange(num_segments, dtype=ids.dtype)[:, None]
    hit = hit.reshape(hit.shape + (1,) * (data.ndim - 1))
    # dtype= keeps small integers and bools from widening to int32 (jnp.prod's default).
    return jnp.prod(jnp.where(hit, data[None], jnp.ones((), data.dtype)), axis=1,
                    dtype=data.dtype)


def segment_prod(data, segment_ids, num_segments=None, sorted=False):
    return _segment(_dense_segment_prod, data, segment_ids, num_segments, sorted)


# Every op of the family is implemented here: export the family's list.
from unikeras.common.ops.reductions import __all__  # noqa: E402,F401
