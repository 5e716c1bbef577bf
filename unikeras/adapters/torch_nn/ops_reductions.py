"""PyTorch implementations of the reductions op family."""
import builtins

import torch

from unikeras.adapters.torch_nn.ops import (
    _FLOATS, _NAME, _device_of, _float, _tensor, _to_tensor, _torch_dtype)
from unikeras.adapters.torch_nn.ops import mean as _mean
from unikeras.adapters.torch_nn.ops import sum as _sum
from unikeras.adapters.torch_nn.ops import max as _max
from unikeras.adapters.torch_nn.ops import min as _min
from unikeras.common import dtypes
from unikeras.common.ops.reductions import acc_dtype, float_dtype, sum_dtype


def _dims(x, axis):
    """Tuple of non-negative reduction dims (all dims when None)."""
    if axis is None:
        return tuple(range(x.ndim))
    if isinstance(axis, builtins.int):
        axis = (axis,)
    nd = builtins.max(x.ndim, 1)
    return tuple(sorted(a % nd for a in axis))


def _bool(x):
    x = _to_tensor(x)
    return x if x.dtype is torch.bool else x != 0


def all(x, axis=None, keepdims=False):
    x = _bool(x)
    if x.ndim == 0:
        return x
    return torch.all(x, dim=_dims(x, axis), keepdim=keepdims)


def any(x, axis=None, keepdims=False):
    x = _bool(x)
    if x.ndim == 0:
        return x
    return torch.any(x, dim=_dims(x, axis), keepdim=keepdims)


def amax(x, axis=None, keepdims=False):
    return _max(x, axis=axis, keepdims=keepdims)


def amin(x, axis=None, keepdims=False):
    return _min(x, axis=axis, keepdims=keepdims)


def _argext(fn, x, axis, keepdims):
    x = _to_tensor(x)
    if x.dtype is torch.bool:
        x = x.to(torch.uint8)
    if axis is None:
        out = fn(x.reshape(-1))
        if keepdims:
            out = out.reshape((1,) * x.ndim)
    else:
        out = fn(x, dim=axis, keepdim=keepdims)
    return out.to(torch.int32)


def argmin(x, axis=None, keepdims=False):
    return _argext(torch.argmin, x, axis, keepdims)


_WIDE_UNSIGNED = frozenset((torch.uint16, torch.uint32, torch.uint64))


def _compute(tdt):
    """Dtype to accumulate in for result dtype `tdt`: torch has no CPU sum/prod/cumsum
    kernels for uint16/32/64, so those accumulate in int64 and are cast back (wrapping as
    the unsigned type would)."""
    return torch.int64 if tdt in _WIDE_UNSIGNED else tdt


def prod(x, axis=None, keepdims=False, dtype=None):
    x = _to_tensor(x)
    tdt = _torch_dtype(acc_dtype(_NAME[x.dtype], dtype))
    cdt = _compute(tdt)
    if axis is None:
        out = torch.prod(x, dtype=cdt).to(tdt)
        return out.reshape((1,) * x.ndim) if keepdims else out
    for a in sorted(_dims(x, axis), reverse=True):  # torch.prod reduces one dim at a time
        x = torch.prod(x, dim=a, keepdim=keepdims, dtype=cdt)
    return x.to(tdt)


def var(x, axis=None, keepdims=False):
    x = _float(x)
    return torch.var(x, dim=_dims(x, axis) or None, correction=0, keepdim=keepdims)


def std(x, axis=None, keepdims=False):
    x = _float(x)
    return torch.std(x, dim=_dims(x, axis) or None, correction=0, keepdim=keepdims)


def count_nonzero(x, axis=None):
    x = _to_tensor(x)
    return torch.count_nonzero(x, dim=_dims(x, axis)).to(torch.int32)


def logsumexp(x, axis=None, keepdims=False):
    x = _float(x)
    if x.ndim == 0:
        return x
    return torch.logsumexp(x, dim=_dims(x, axis), keepdim=keepdims)


def _cumulative(fn, x, axis, dtype):
    x = _to_tensor(x)
    tdt = _torch_dtype(acc_dtype(_NAME[x.dtype], dtype))
    if axis is None:
        x, axis = x.reshape(-1), 0
    cdt = _compute(tdt)
    out = fn(x, dim=axis, dtype=cdt)
    return out if cdt is tdt else out.to(tdt)


def cumsum(x, axis=None, dtype=None):
    return _cumulative(torch.cumsum, x, axis, dtype)


def cumprod(x, axis=None, dtype=None):
    return _cumulative(torch.cumprod, x, axis, dtype)


def sort(x, axis=-1):
    x = _to_tensor(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    return torch.sort(x, dim=axis, stable=True).values


def argsort(x, axis=-1):
    x = _to_tensor(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    return torch.argsort(x, dim=axis, stable=True).to(torch.int32)


def top_k(x, k, sorted=True):
    x = _to_tensor(x)
    if x.dtype is torch.bool:   # no CPU bool kernel: rank 0/1 as uint8
        values, indices = torch.topk(x.to(torch.uint8), k, dim=-1, largest=True, sorted=sorted)
        return values.to(torch.bool), indices.to(torch.int32)
    values, indices = torch.topk(x, k, dim=-1, largest=True, sorted=sorted)
    return values, indices.to(torch.int32)


_ROUND = {"lower": torch.floor, "higher": torch.ceil, "nearest": torch.round}


def _quantile(x, q, axis, method, keepdims, ignore_nan=False):
    """Quantiles by sorting: the reduced axes are flattened into one sorted row per kept
    position; NaNs (when ignored) sort last as +inf and shrink each row's count."""
    x = _float(x)
    q = _tensor(q, torch.float64, x.device)
    dims = _dims(x, axis)
    keep = [d for d in range(x.ndim) if d not in dims]
    keep_shape = [x.shape[d] for d in keep]
    y = x.permute(keep + list(dims)) if x.ndim else x.reshape(1)
    m = 1
    for d in keep_shape:
        m *= d
    y = y.reshape(m, -1)
    if ignore_nan:
        nan = torch.isnan(y)
        y = torch.where(nan, float("inf"), y)
        count = (~nan).sum(-1, keepdim=True)
    else:
        count = torch.full((m, 1), y.shape[-1], device=y.device)
    y = torch.sort(y, dim=-1).values
    last = (count - 1).clamp_min(0)
    pos = q.reshape(1, -1) * (count - 1).to(torch.float64)
    if method in _ROUND:
        out = torch.gather(y, 1, torch.minimum(_ROUND[method](pos).long().clamp_min(0), last))
    else:
        lo = torch.minimum(torch.floor(pos).long().clamp_min(0), last)
        hi = torch.minimum(torch.ceil(pos).long().clamp_min(0), last)
        a, b = torch.gather(y, 1, lo), torch.gather(y, 1, hi)
        if method == "midpoint":
            out = (a + b) * 0.5
        else:
            out = a + (b - a) * (pos - lo.to(torch.float64)).to(x.dtype)
    if ignore_nan:
        out = torch.where(count == 0, float("nan"), out)
    out = out.reshape(keep_shape + [-1])
    out = torch.movedim(out, -1, 0) if q.ndim else out[..., 0]
    if keepdims:
        for d in dims:
            out = out.unsqueeze(q.ndim + d)
    return out


def quantile(x, q, axis=None, method="linear", keepdims=False):
    return _quantile(x, q, axis, method, keepdims)


def median(x, axis=None, keepdims=False):
    return _quantile(x, 0.5, axis, "linear", keepdims)


def _pct(q, x):
    return _tensor(q, torch.float64, _device_of(x)) / 100


def percentile(x, q, axis=None, method="linear", keepdims=False):
    return _quantile(x, _pct(q, x), axis, method, keepdims)


def nanquantile(x, q, axis=None, method="linear", keepdims=False):
    return _quantile(x, q, axis, method, keepdims, True)


def nanpercentile(x, q, axis=None, method="linear", keepdims=False):
    return _quantile(x, _pct(q, x), axis, method, keepdims, True)


def nanmedian(x, axis=None, keepdims=False):
    return _quantile(x, 0.5, axis, "linear", keepdims, True)


def average(x, axis=None, weights=None):
    if weights is None:
        return _mean(x, axis=axis)
    x = _to_tensor(x)
    w = _to_tensor(weights)
    tdt = _torch_dtype(float_dtype(dtypes.result_type(_NAME[x.dtype], _NAME[w.dtype])))
    x, w = x.to(tdt), w.to(device=x.device, dtype=tdt)
    if w.ndim == 1 and x.ndim > 1:
        shape = [1] * x.ndim
        shape[axis] = -1
        w = w.reshape(shape)
    dims = _dims(x, axis)
    return torch.sum(x * w, dim=dims) / torch.sum(w.expand_as(x), dim=dims)


def ptp(x, axis=None, keepdims=False):
    x = _to_tensor(x)
    if x.dtype is torch.bool:
        raise TypeError("ptp: not supported for bool tensors.")
    return _max(x, axis=axis, keepdims=keepdims) - _min(x, axis=axis, keepdims=keepdims)


def diff(a, n=1, axis=-1):
    a = _to_tensor(a)
    return torch.diff(a, n=n, dim=axis) if n else a


def trapezoid(y, x=None, dx=1.0, axis=-1):
    y = _to_tensor(y)
    if x is None:
        return torch.trapezoid(_float(y), dx=dx, dim=axis)
    x = _to_tensor(x)
    tdt = _torch_dtype(float_dtype(dtypes.result_type(_NAME[y.dtype], _NAME[x.dtype])))
    return torch.trapezoid(y.to(tdt), x.to(device=y.device, dtype=tdt), dim=axis)


def _nan_to(x, value):
    return torch.where(torch.isnan(x), value, x) if x.dtype in _FLOATS else x


def nansum(x, axis=None, keepdims=False):
    x = _nan_to(_to_tensor(x), 0.0)
    tdt = _torch_dtype(sum_dtype(_NAME[x.dtype]))
    if tdt is x.dtype:
        return _sum(x, axis=axis, keepdims=keepdims)
    out = _sum(x.to(_compute(tdt)), axis=axis, keepdims=keepdims)
    return out.to(tdt)


def nanprod(x, axis=None, keepdims=False):
    return prod(_nan_to(_to_tensor(x), 1.0), axis=axis, keepdims=keepdims)


def nanmean(x, axis=None, keepdims=False):
    x = _float(x)
    return torch.nanmean(x, dim=_dims(x, axis), keepdim=keepdims)


def nanvar(x, axis=None, keepdims=False):
    x = _float(x)
    dims = _dims(x, axis)
    valid = ~torch.isnan(x)
    xz = torch.where(valid, x, 0.0)
    count = valid.sum(dim=dims, keepdim=True).to(x.dtype)
    mean = xz.sum(dim=dims, keepdim=True) / count
    d = torch.where(valid, xz - mean, 0.0)
    out = (d * d).sum(dim=dims, keepdim=True) / count
    return out if keepdims else out.reshape([s for i, s in enumerate(x.shape) if i not in dims])


def nanstd(x, axis=None, keepdims=False):
    return torch.sqrt(nanvar(x, axis, keepdims))


def _nanext(reduce, fill, x, axis, keepdims):
    x = _to_tensor(x)
    if x.dtype not in _FLOATS:
        return reduce(x, axis=axis, keepdims=keepdims)
    nan = torch.isnan(x)
    out = reduce(torch.where(nan, fill, x), axis=axis, keepdims=keepdims)
    return torch.where(all(nan, axis=axis, keepdims=keepdims), float("nan"), out)


def nanmax(x, axis=None, keepdims=False):
    return _nanext(_max, float("-inf"), x, axis, keepdims)


def nanmin(x, axis=None, keepdims=False):
    return _nanext(_min, float("inf"), x, axis, keepdims)


def nanargmax(x, axis=None, keepdims=False):
    return _argext(torch.argmax, _nan_to(_to_tensor(x), float("-inf")), axis, keepdims)


def nanargmin(x, axis=None, keepdims=False):
    return _argext(torch.argmin, _nan_to(_to_tensor(x), float("inf")), axis, keepdims)


def nancumsum(x, axis=None, dtype=None):
    return cumsum(_nan_to(_to_tensor(x), 0.0), axis=axis, dtype=dtype)


def nancumprod(x, axis=None, dtype=None):
    return cumprod(_nan_to(_to_tensor(x), 1.0), axis=axis, dtype=dtype)



def _pair(x1, x2):
    a, b = _to_tensor(x1), _to_tensor(x2)
    tdt = _torch_dtype(dtypes.result_type(_NAME[a.dtype], _NAME[b.dtype]))
    device = _device_of(a, b)
    return a.to(device=device, dtype=tdt), b.to(device=device, dtype=tdt)


def searchsorted(sorted_sequence, values, side="left"):
    seq, v = _pair(sorted_sequence, values)
    if seq.dtype is torch.bool:
        seq, v = seq.to(torch.int32), v.to(torch.int32)
    return torch.searchsorted(seq, v, right=side == "right", out_int32=True)


def digitize(x, bins):
    return searchsorted(bins, x, side="right")


def bincount(x, weights=None, minlength=0, sparse=False):
    x = _to_tensor(x)
    if x.ndim != 1:
        raise ValueError(f"bincount: x must be 1-D, got shape {tuple(x.shape)}.")
    if sparse:
        raise ValueError("bincount: sparse=True is not supported.")
    if weights is None:
        return torch.bincount(x, minlength=minlength).to(torch.int32)
    w = _to_tensor(weights)
    tdt = _torch_dtype(sum_dtype(_NAME[w.dtype]))
    cdt = _compute(tdt)
    n = builtins.max(int(x.max()) + 1 if x.numel() else 0, minlength)
    out = torch.zeros(n, dtype=cdt, device=x.device).index_add(0, x.long(), w.to(cdt))
    return out if cdt is tdt else out.to(tdt)


def histogram(x, bins=10, range=None):
    x = _float(x).reshape(-1)
    dt = x.dtype
    if range is not None:
        lo = torch.tensor(range[0], dtype=dt, device=x.device)
        hi = torch.tensor(range[1], dtype=dt, device=x.device)
    else:
        lo, hi = torch.aminmax(x)
    same = lo == hi
    lo, hi = torch.where(same, lo - 0.5, lo), torch.where(same, hi + 0.5, hi)
    i = torch.arange(bins + 1, dtype=dt, device=x.device)
    nb = torch.tensor(bins, dtype=dt, device=x.device)
    edges = (lo * (nb - i) + hi * i) / nb
    edges = torch.cat([edges[:-1], hi.reshape(1)])
    idx = torch.searchsorted(edges, x, right=True) - 1
    idx = torch.where(x == hi, bins - 1, idx)
    valid = (idx >= 0) & (idx < bins)
    counts = torch.zeros(bins, dtype=torch.int32, device=x.device).index_add(
        0, idx.clamp(0, bins - 1), valid.to(torch.int32))
    return counts, edges


def isin(x1, x2, assume_unique=False, invert=False):
    a, b = _pair(x1, x2)
    if a.dtype is torch.bool:   # torch.isin has no bool kernel
        a, b = a.to(torch.uint8), b.to(torch.uint8)
    return torch.isin(a, b, assume_unique=assume_unique, invert=invert)


def in_top_k(targets, predictions, k):
    p = _to_tensor(predictions)
    t = _to_tensor(targets).to(device=p.device, dtype=torch.int64)
    target = torch.gather(p, 1, t[:, None])
    return torch.sum(p > target, dim=1) < k


def argpartition(x, kth, axis=-1):
    return argsort(x, axis=axis)


def unique(x, sorted=True, return_index=False, return_inverse=False, return_counts=False,
           axis=None, size=None, fill_value=None):
    x = _to_tensor(x)
    if axis is None:
        values, inverse, counts = torch.unique(x.reshape(-1), sorted=True, return_inverse=True,
                                               return_counts=True)
        a, length = 0, x.numel()
    else:
        a = axis % x.ndim
        values, inverse, counts = torch.unique(x, sorted=True, return_inverse=True,
                                               return_counts=True, dim=a)
        length = x.shape[a]
    n = values.shape[a]
    index = torch.full((n,), length, dtype=torch.int64, device=x.device).scatter_reduce(
        0, inverse.reshape(-1), torch.arange(length, device=x.device), reduce="amin")
    if size is not None:
        pad = builtins.max(size - n, 0)
        values = torch.narrow(values, a, 0, builtins.min(n, size))
        if fill_value is None:
            filler = torch.narrow(values, a, 0, 1).expand(
                *[pad if i == a else d for i, d in enumerate(values.shape)])
        else:
            filler = torch.full([pad if i == a else d for i, d in enumerate(values.shape)],
                                fill_value, dtype=x.dtype, device=x.device)
        values = torch.cat([values, filler], dim=a)
        index = torch.cat([index[:size], index.new_zeros(pad)])
        counts = torch.cat([counts[:size], counts.new_zeros(pad)])
    out = [values]
    if return_index:
        out.append(index.to(torch.int32))
    if return_inverse:
        out.append(inverse.reshape(x.shape if axis is None else (-1,)).to(torch.int32))
    if return_counts:
        out.append(counts.to(torch.int32))
    return out[0] if len(out) == 1 else tuple(out)


def nonzero(x):
    x = _to_tensor(x)
    if x.ndim == 0:
        raise ValueError("nonzero: input must have rank >= 1, got a scalar.")
    return tuple(i.to(torch.int32) for i in torch.nonzero(x, as_tuple=True))


def corrcoef(x):
    x = _float(x)
    return torch.corrcoef(x)


def correlate(x1, x2, mode="valid"):
    a, b = _pair(x1, x2)
    if a.dtype not in _FLOATS:
        a, b = a.to(_torch_dtype(float_dtype(_NAME[a.dtype]))), b.to(
            _torch_dtype(float_dtype(_NAME[a.dtype])))
    m, n = a.shape[0], b.shape[0]
    full = torch.nn.functional.conv1d(a[None, None], b[None, None], padding=n - 1)[0, 0]
    return _corr_slice(full, m, n, mode)


def _corr_slice(full, m, n, mode):
    short, long_ = builtins.min(m, n), builtins.max(m, n)
    if mode == "full":
        return full
    if mode == "same":
        start = (short - 1) // 2 if m >= n else short // 2  # as NumPy centres it
        return full[start:start + long_]
    return full[short - 1:long_]


def cdist(x, y):
    a, b = _pair(x, y)
    if a.dtype not in _FLOATS:
        a, b = a.to(_torch_dtype(float_dtype(_NAME[a.dtype]))), b.to(
            _torch_dtype(float_dtype(_NAME[a.dtype])))
    return torch.cdist(a, b, compute_mode="donot_use_mm_for_euclid_dist")


def _segment(reduce, identity, data, segment_ids, num_segments):
    data = _to_tensor(data)
    ids = _to_tensor(segment_ids).to(device=data.device, dtype=torch.int64)
    if num_segments is None:
        num_segments = int(ids.max()) + 1 if ids.numel() else 0
    shape = (num_segments,) + tuple(data.shape[1:])
    if reduce == "sum":
        return torch.zeros(shape, dtype=data.dtype, device=data.device).index_add(0, ids, data)
    index = ids.reshape((-1,) + (1,) * (data.ndim - 1)).expand(data.shape)
    init = torch.full(shape, identity(data.dtype), dtype=data.dtype, device=data.device)
    return init.scatter_reduce(0, index, data, reduce=reduce, include_self=True)


def _lowest(dt):
    if dt in _FLOATS:
        return float("-inf")
    return False if dt is torch.bool else torch.iinfo(dt).min


def _highest(dt):
    if dt in _FLOATS:
        return float("inf")
    return True if dt is torch.bool else torch.iinfo(dt).max


def segment_sum(data, segment_ids, num_segments=None, sorted=False):
    return _segment("sum", None, data, segment_ids, num_segments)


def segment_max(data, segment_ids, num_segments=None, sorted=False):
    return _segment("amax", _lowest, data, segment_ids, num_segments)


def segment_min(data, segment_ids, num_segments=None, sorted=False):
    return _segment("amin", _highest, data, segment_ids, num_segments)


def segment_prod(data, segment_ids, num_segments=None, sorted=False):
    return _segment("prod", lambda dt: 1, data, segment_ids, num_segments)


# Every op of the family is implemented here: export the family's list.
from unikeras.common.ops.reductions import __all__  # noqa: E402,F401
