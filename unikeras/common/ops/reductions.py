"""Op definitions: the reductions family (reductions, sorting, searching, statistics,
segment ops). Each body is the op's symbolic rule (see unikeras/common/ops/op.py).

Dtype conventions shared by every backend (the helpers below are imported by them):
- index results (argmin, argsort, top_k indices, nonzero, searchsorted, ...) are int32,
  as `argmax`;
- accumulating integer ops (prod, nansum, nanprod, cumsum, cumprod) widen small integers:
  bool/int8/int16 -> int32, uint8/uint16 -> uint32 (see `acc_dtype`; Keras's rule for sum
  and prod; Keras keeps the dtype for cumsum/cumprod, where we widen on purpose so that
  running totals do not wrap around in 8 or 16 bits, as NumPy, JAX and torch do);
- statistics (std, var, median, quantile, logsumexp, ...) are float: float inputs keep
  their dtype, others give floatx (see `float_dtype`).
"""
import builtins

from unikeras import config
from unikeras.common import dtypes
from unikeras.common.ops.op import op
from unikeras.common.ops.shapes import broadcast_shapes, canonical_axis, reduce_shape, spec
from unikeras.common.symbolic import KerasTensor

_ACC = {"bool": "int32", "int8": "int32", "int16": "int32", "uint8": "uint32", "uint16": "uint32"}


def acc_dtype(dtype, override=None):
    """Result dtype of an accumulating op (prod, cumsum, cumprod) on `dtype`."""
    if override is not None:
        return dtypes.standardize_dtype(override)
    dtype = dtypes.standardize_dtype(dtype)
    return _ACC.get(dtype, dtype)


def float_dtype(dtype):
    """Result dtype of a statistic on `dtype`: floats stay, others give floatx."""
    dtype = dtypes.standardize_dtype(dtype)
    return dtype if dtypes.is_float(dtype) else config.floatx()


def sum_dtype(dtype):
    """Result dtype of `sum`-like ops (nansum, weighted bincount): bool and small integers
    widen as Keras's `sum` does (bool/int8/int16 -> int32, uint8/uint16 -> uint32)."""
    dtype = dtypes.standardize_dtype(dtype)
    return _ACC.get(dtype, dtype)


def _reduced(name, x, axis, keepdims, dtype_fn=None):
    shape, dtype = spec(x)
    return KerasTensor(reduce_shape(name, shape, axis, keepdims),
                       dtype if dtype_fn is None else dtype_fn(dtype))


def _arg_reduced(name, x, axis, keepdims):
    shape, _ = spec(x)
    if axis is None:
        return KerasTensor((1,) * len(shape) if keepdims else (), "int32")
    if not isinstance(axis, int):
        raise ValueError(f"{name}: axis must be an int or None, got {axis!r}.")
    return KerasTensor(reduce_shape(name, shape, axis, keepdims), "int32")


def _flat_size(shape):
    if None in shape:
        return None
    n = 1
    for d in shape:
        n *= d
    return n


def _along(name, x, axis, dtype):
    """Shape of an op that keeps `x`'s shape along `axis` (None: flattened)."""
    shape, _ = spec(x)
    if axis is None:
        return KerasTensor((_flat_size(shape),), dtype)
    canonical_axis(name, axis, len(shape))
    return KerasTensor(shape, dtype)


def _q_shape(q):
    if isinstance(q, (int, float)):
        return ()
    return spec(q)[0]


# --- boolean and extreme reductions -------------------------------------------------------
@op
def all(x, axis=None, keepdims=False):
    """True where every element along `axis` is non-zero (logical AND reduction)."""
    return _reduced("all", x, axis, keepdims, lambda d: "bool")


@op
def any(x, axis=None, keepdims=False):
    """True where some element along `axis` is non-zero (logical OR reduction)."""
    return _reduced("any", x, axis, keepdims, lambda d: "bool")


@op
def amax(x, axis=None, keepdims=False):
    """Maximum along `axis` (NumPy's name for `max`)."""
    return _reduced("amax", x, axis, keepdims)


@op
def amin(x, axis=None, keepdims=False):
    """Minimum along `axis` (NumPy's name for `min`)."""
    return _reduced("amin", x, axis, keepdims)


@op
def argmin(x, axis=None, keepdims=False):
    """Index (int32) of the first minimum along `axis` (of the flattened tensor when None)."""
    return _arg_reduced("argmin", x, axis, keepdims)


@op
def prod(x, axis=None, keepdims=False, dtype=None):
    """Product along `axis`; small integers accumulate in int32/uint32 unless `dtype` is set."""
    return _reduced("prod", x, axis, keepdims, lambda d: acc_dtype(d, dtype))


@op
def std(x, axis=None, keepdims=False):
    """Population standard deviation (ddof=0) along `axis`; integers give floatx."""
    return _reduced("std", x, axis, keepdims, float_dtype)


@op
def var(x, axis=None, keepdims=False):
    """Population variance (ddof=0) along `axis`; integers give floatx."""
    return _reduced("var", x, axis, keepdims, float_dtype)


@op
def count_nonzero(x, axis=None):
    """Number (int32) of non-zero elements along `axis`."""
    return _reduced("count_nonzero", x, axis, False, lambda d: "int32")


@op
def logsumexp(x, axis=None, keepdims=False):
    """`log(sum(exp(x)))` along `axis`, computed stably (shifted by the maximum)."""
    return _reduced("logsumexp", x, axis, keepdims, float_dtype)


@op
def cumsum(x, axis=None, dtype=None):
    """Running sum along `axis` (over the flattened tensor when None)."""
    return _along("cumsum", x, axis, acc_dtype(spec(x)[1], dtype))


@op
def cumprod(x, axis=None, dtype=None):
    """Running product along `axis` (over the flattened tensor when None)."""
    return _along("cumprod", x, axis, acc_dtype(spec(x)[1], dtype))


# --- sorting and selection ----------------------------------------------------------------
@op
def sort(x, axis=-1):
    """Values sorted ascending along `axis` (the flattened tensor when None)."""
    return _along("sort", x, axis, spec(x)[1])


@op
def argsort(x, axis=-1):
    """Indices (int32) that sort `x` ascending along `axis`; stable, so ties keep order."""
    return _along("argsort", x, axis, "int32")


@op
def top_k(x, k, sorted=True):
    """The `k` largest entries of the last axis: (values, int32 indices), largest first."""
    shape, dtype = spec(x)
    if not shape:
        raise ValueError("top_k: input must have rank >= 1, got a scalar.")
    if shape[-1] is not None and not 0 <= k <= shape[-1]:
        raise ValueError(f"top_k: k={k} is out of range for a last dimension of {shape[-1]}.")
    out = shape[:-1] + (k,)
    return KerasTensor(out, dtype), KerasTensor(out, "int32")


# --- order statistics ---------------------------------------------------------------------
_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile_rule(name, x, q, axis, method, keepdims):
    if method not in _METHODS:
        raise ValueError(f"{name}: method must be one of {_METHODS}, got {method!r}.")
    qs = _q_shape(q)
    if len(qs) > 1:
        raise ValueError(f"{name}: q must be a scalar or 1-D, got shape {qs}.")
    shape, dtype = spec(x)
    return KerasTensor(qs + reduce_shape(name, shape, axis, keepdims), float_dtype(dtype))


@op
def median(x, axis=None, keepdims=False):
    """Median along `axis` (mean of the two middle values for even sizes); float result."""
    return _reduced("median", x, axis, keepdims, float_dtype)


@op
def quantile(x, q, axis=None, method="linear", keepdims=False):
    """q-th quantile(s) (q in [0, 1]) along `axis`; q's shape leads the output shape."""
    return _quantile_rule("quantile", x, q, axis, method, keepdims)



@op
def percentile(x, q, axis=None, method="linear", keepdims=False):
    """q-th percentile(s) (q in [0, 100]) along `axis`: `quantile(x, q / 100)`."""
    return _quantile_rule("percentile", x, q, axis, method, keepdims)


@op
def average(x, axis=None, weights=None):
    """Weighted mean along `axis`: sum(x * w) / sum(w); `weights` has `x`'s shape, or is 1-D
    along `axis`. Without weights, the mean. Float result."""
    shape, dtype = spec(x)
    if weights is not None:
        wshape, wdtype = spec(weights)
        same = len(wshape) == len(shape) and builtins.all(
            a is None or b is None or a == b for a, b in zip(wshape, shape))  # None: unknown
        if not same:
            if axis is None or not isinstance(axis, int) or len(wshape) != 1:
                raise ValueError(f"average: weights of shape {wshape} differ from x's shape "
                                 f"{shape}; 1-D weights need an int axis.")
            a = canonical_axis("average", axis, len(shape))
            if None not in (wshape[0], shape[a]) and wshape[0] != shape[a]:
                raise ValueError(f"average: weights of length {wshape[0]} do not match axis "
                                 f"{axis} of shape {shape}.")
        dtype = dtypes.result_type(dtype, wdtype)
    return KerasTensor(reduce_shape("average", shape, axis, False), float_dtype(dtype))


@op
def ptp(x, axis=None, keepdims=False):
    """Range (max - min) along `axis`, in `x`'s dtype."""
    shape, dtype = spec(x)
    if dtype == "bool":
        raise TypeError("ptp: not supported for bool tensors.")
    return KerasTensor(reduce_shape("ptp", shape, axis, keepdims), dtype)


@op
def diff(a, n=1, axis=-1):
    """n-th discrete difference `a[i + 1] - a[i]` along `axis` (bool: a[i + 1] != a[i])."""
    shape, dtype = spec(a)
    if not shape:
        raise ValueError("diff: input must have rank >= 1, got a scalar.")
    if n < 0:
        raise ValueError(f"diff: n must be non-negative, got {n}.")
    ax = canonical_axis("diff", axis, len(shape))
    out = list(shape)
    if out[ax] is not None:
        out[ax] = builtins.max(out[ax] - n, 0)
    return KerasTensor(tuple(out), dtype)


@op
def trapezoid(y, x=None, dx=1.0, axis=-1):
    """Integral of `y` along `axis` by the trapezoidal rule, with sample points `x` (1-D or
    `y`'s shape) or constant spacing `dx`."""
    shape, dtype = spec(y)
    if not shape:
        raise ValueError("trapezoid: y must have rank >= 1, got a scalar.")
    ax = canonical_axis("trapezoid", axis, len(shape))
    if x is not None:
        xshape, xdtype = spec(x)
        if len(xshape) == 1:
            if None not in (xshape[0], shape[ax]) and xshape[0] != shape[ax]:
                raise ValueError(f"trapezoid: x of length {xshape[0]} does not match axis "
                                 f"{axis} of y's shape {shape}.")
        else:
            broadcast_shapes("trapezoid", shape, xshape)
        dtype = dtypes.result_type(dtype, xdtype)
    return KerasTensor(shape[:ax] + shape[ax + 1:], float_dtype(dtype))


# --- NaN-ignoring variants ----------------------------------------------------------------
@op
def nansum(x, axis=None, keepdims=False):
    """Sum along `axis` treating NaN as zero."""
    return _reduced("nansum", x, axis, keepdims, sum_dtype)


@op
def nanprod(x, axis=None, keepdims=False):
    """Product along `axis` treating NaN as one."""
    return _reduced("nanprod", x, axis, keepdims, acc_dtype)


@op
def nanmean(x, axis=None, keepdims=False):
    """Mean of the non-NaN elements along `axis` (NaN where all are NaN)."""
    return _reduced("nanmean", x, axis, keepdims, float_dtype)


@op
def nanvar(x, axis=None, keepdims=False):
    """Population variance of the non-NaN elements along `axis`."""
    return _reduced("nanvar", x, axis, keepdims, float_dtype)


@op
def nanstd(x, axis=None, keepdims=False):
    """Population standard deviation of the non-NaN elements along `axis`."""
    return _reduced("nanstd", x, axis, keepdims, float_dtype)


@op
def nanmax(x, axis=None, keepdims=False):
    """Maximum along `axis` ignoring NaN (NaN where all are NaN)."""
    return _reduced("nanmax", x, axis, keepdims)


@op
def nanmin(x, axis=None, keepdims=False):
    """Minimum along `axis` ignoring NaN (NaN where all are NaN)."""
    return _reduced("nanmin", x, axis, keepdims)


@op
def nanargmax(x, axis=None, keepdims=False):
    """Index (int32) of the maximum along `axis` ignoring NaN."""
    return _arg_reduced("nanargmax", x, axis, keepdims)


@op
def nanargmin(x, axis=None, keepdims=False):
    """Index (int32) of the minimum along `axis` ignoring NaN."""
    return _arg_reduced("nanargmin", x, axis, keepdims)


@op
def nancumsum(x, axis=None, dtype=None):
    """Running sum along `axis` treating NaN as zero."""
    return _along("nancumsum", x, axis, acc_dtype(spec(x)[1], dtype))


@op
def nancumprod(x, axis=None, dtype=None):
    """Running product along `axis` treating NaN as one."""
    return _along("nancumprod", x, axis, acc_dtype(spec(x)[1], dtype))


@op
def nanmedian(x, axis=None, keepdims=False):
    """Median of the non-NaN elements along `axis`."""
    return _reduced("nanmedian", x, axis, keepdims, float_dtype)


@op
def nanquantile(x, q, axis=None, method="linear", keepdims=False):
    """`quantile` of the non-NaN elements along `axis`."""
    return _quantile_rule("nanquantile", x, q, axis, method, keepdims)


@op
def nanpercentile(x, q, axis=None, method="linear", keepdims=False):
    """`percentile` of the non-NaN elements along `axis`."""
    return _quantile_rule("nanpercentile", x, q, axis, method, keepdims)



# --- searching and counting ---------------------------------------------------------------
@op
def searchsorted(sorted_sequence, values, side="left"):
    """Insertion indices (int32) of `values` into the ascending 1-D `sorted_sequence`."""
    seq_shape, _ = spec(sorted_sequence)
    if len(seq_shape) != 1:
        raise ValueError(f"searchsorted: sorted_sequence must be 1-D, got shape {seq_shape}.")
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}.")
    return KerasTensor(spec(values)[0], "int32")


@op
def digitize(x, bins):
    """Bin index (int32) of each element of `x` for ascending 1-D `bins`:
    i such that bins[i - 1] <= x < bins[i]."""
    bshape, _ = spec(bins)
    if len(bshape) != 1:
        raise ValueError(f"digitize: bins must be 1-D, got shape {bshape}.")
    return KerasTensor(spec(x)[0], "int32")


@op
def bincount(x, weights=None, minlength=0, sparse=False):
    """Count (or sum `weights` of) each non-negative integer value of 1-D `x`; the length is
    max(x) + 1, at least `minlength` (value-dependent: under jax.jit it is `minlength`)."""
    shape, dtype = spec(x)
    if len(shape) != 1:
        raise ValueError(f"bincount: x must be 1-D, got shape {shape}.")
    if not dtypes.is_int(dtype):
        raise ValueError(f"bincount: x must hold integers, got {dtype}.")
    if sparse:
        raise ValueError("bincount: sparse=True is not supported.")
    out = "int32" if weights is None else sum_dtype(spec(weights)[1])
    return KerasTensor((None,), out)


@op
def histogram(x, bins=10, range=None):
    """Counts (int32) of `x`'s values in `bins` equal-width bins over `range` (default: the
    values' min and max; the last bin includes its right edge), and the bins+1 edges."""
    shape, dtype = spec(x)
    if not isinstance(bins, int) or bins < 1:
        raise ValueError(f"histogram: bins must be a positive int, got {bins!r}.")
    if range is not None and (len(range) != 2 or range[0] > range[1]):
        raise ValueError(f"histogram: range must be (min, max) with min <= max, got {range!r}.")
    return KerasTensor((bins,), "int32"), KerasTensor((bins + 1,), float_dtype(dtype))


@op
def isin(x1, x2, assume_unique=False, invert=False):
    """True where an element of `x1` occurs anywhere in `x2` (False with `invert`)."""
    return KerasTensor(spec(x1)[0], "bool")


@op
def in_top_k(targets, predictions, k):
    """True where the target class's prediction is among the `k` largest of its row (ties
    with the k-th value count as inside)."""
    tshape, _ = spec(targets)
    pshape, _ = spec(predictions)
    if len(tshape) != 1 or len(pshape) != 2:
        raise ValueError(f"in_top_k: targets must be 1-D and predictions 2-D, got shapes "
                         f"{tshape} and {pshape}.")
    broadcast_shapes("in_top_k", tshape, pshape[:1])
    return KerasTensor(tshape if tshape[0] is not None else pshape[:1], "bool")


@op
def argpartition(x, kth, axis=-1):
    """Indices (int32) that partition `x` along `axis` around its `kth` smallest element:
    smaller elements first, then it, then the rest (here: a full stable argsort)."""
    shape, _ = spec(x)
    if axis is None:
        return KerasTensor((_flat_size(shape),), "int32")
    a = canonical_axis("argpartition", axis, len(shape))
    if shape[a] is not None and not -shape[a] <= kth < shape[a]:
        raise ValueError(f"argpartition: kth={kth} is out of range for axis {axis} of shape "
                         f"{shape}.")
    return KerasTensor(shape, "int32")


@op
def unique(x, sorted=True, return_index=False, return_inverse=False, return_counts=False,
           axis=None, size=None, fill_value=None):
    """Sorted unique elements of the flattened `x` (or unique slices along `axis`);
    optionally each one's first index, the inverse indices (x's shape; 1-D along `axis`)
    and the counts (all int32). The length is value-dependent: `size` fixes it (padding
    with `fill_value`, default the smallest unique entry), as jax.jit needs."""
    shape, dtype = spec(x)
    n = (size,)
    if axis is None:
        values = n
        inverse = shape
    else:
        a = canonical_axis("unique", axis, len(shape))
        values = shape[:a] + n + shape[a + 1:]
        inverse = (shape[a],)
    if size is None:
        n = (None,)
        values = tuple(None if d is None and i == (0 if axis is None else a) else d
                       for i, d in enumerate(values))
    out = [KerasTensor(values, dtype)]
    if return_index:
        out.append(KerasTensor(n, "int32"))
    if return_inverse:
        out.append(KerasTensor(inverse, "int32"))
    if return_counts:
        out.append(KerasTensor(n, "int32"))
    return out[0] if len(out) == 1 else tuple(out)


@op
def nonzero(x):
    """Indices (int32) of the non-zero elements: one 1-D tensor per dimension of `x`."""
    shape, _ = spec(x)
    if not shape:
        raise ValueError("nonzero: input must have rank >= 1, got a scalar.")
    return tuple(KerasTensor((None,), "int32") for _ in shape)


# --- statistics between tensors -----------------------------------------------------------
@op
def corrcoef(x):
    """Pearson correlation coefficients between the rows (variables) of `x`, whose columns
    are observations; a 1-D `x` gives 1.0."""
    shape, dtype = spec(x)
    if len(shape) not in (1, 2):
        raise ValueError(f"corrcoef: x must be 1-D or 2-D, got shape {shape}.")
    out = () if len(shape) == 1 else (shape[0], shape[0])
    return KerasTensor(out, float_dtype(dtype))


_CORR_MODES = ("valid", "same", "full")


@op
def correlate(x1, x2, mode="valid"):
    """Cross-correlation of 1-D sequences: c[k] = sum_n x1[n + k] * x2[n], for the lags that
    `mode` keeps ('valid', 'same' or 'full')."""
    s1, d1 = spec(x1)
    s2, d2 = spec(x2)
    if len(s1) != 1 or len(s2) != 1:
        raise ValueError(f"correlate: inputs must be 1-D, got shapes {s1} and {s2}.")
    if mode not in _CORR_MODES:
        raise ValueError(f"correlate: mode must be one of {_CORR_MODES}, got {mode!r}.")
    m, n = s1[0], s2[0]
    if m is None or n is None:
        length = None
    elif mode == "valid":
        length = builtins.max(m, n) - builtins.min(m, n) + 1
    elif mode == "same":
        length = builtins.max(m, n)
    else:
        length = m + n - 1
    return KerasTensor((length,), float_dtype(dtypes.result_type(d1, d2)))


@op
def cdist(x, y):
    """Euclidean distances between the rows of `x` (..., P, M) and of `y` (..., R, M):
    (..., P, R); leading dimensions broadcast."""
    sx, dx = spec(x)
    sy, dy = spec(y)
    if len(sx) < 2 or len(sy) < 2:
        raise ValueError(f"cdist: inputs must have rank >= 2, got shapes {sx} and {sy}.")
    if None not in (sx[-1], sy[-1]) and sx[-1] != sy[-1]:
        raise ValueError(f"cdist: feature dimensions differ: shapes {sx} and {sy}.")
    batch = broadcast_shapes("cdist", sx[:-2], sy[:-2])
    return KerasTensor(batch + (sx[-2], sy[-2]), float_dtype(dtypes.result_type(dx, dy)))


# --- segment reductions -------------------------------------------------------------------
def _segment_rule(name, data, segment_ids, num_segments):
    shape, dtype = spec(data)
    ishape, idtype = spec(segment_ids)
    if len(ishape) != 1 or not shape:
        raise ValueError(f"{name}: segment_ids must be 1-D and data of rank >= 1, got shapes "
                         f"{ishape} and {shape}.")
    if None not in (ishape[0], shape[0]) and ishape[0] != shape[0]:
        raise ValueError(f"{name}: segment_ids of length {ishape[0]} do not match data's first "
                         f"dimension {shape[0]}.")
    if not dtypes.is_int(idtype):
        raise ValueError(f"{name}: segment_ids must be integers, got {idtype}.")
    return KerasTensor((num_segments,) + shape[1:], dtype)


@op
def segment_sum(data, segment_ids, num_segments=None, sorted=False):
    """Sum of the rows of `data` per segment id (0 for empty segments); `num_segments`
    fixes the output length (default max id + 1, value-dependent)."""
    return _segment_rule("segment_sum", data, segment_ids, num_segments)


@op
def segment_max(data, segment_ids, num_segments=None, sorted=False):
    """Maximum of the rows of `data` per segment id (-inf, or the dtype's minimum, for
    empty segments)."""
    return _segment_rule("segment_max", data, segment_ids, num_segments)


@op
def segment_min(data, segment_ids, num_segments=None, sorted=False):
    """Minimum of the rows of `data` per segment id (+inf, or the dtype's maximum, for
    empty segments)."""
    return _segment_rule("segment_min", data, segment_ids, num_segments)


@op
def segment_prod(data, segment_ids, num_segments=None, sorted=False):
    """Product of the rows of `data` per segment id (1 for empty segments)."""
    return _segment_rule("segment_prod", data, segment_ids, num_segments)


__all__ = ["all", "any", "amax", "amin", "argmin", "prod", "std", "var", "count_nonzero",
           "logsumexp", "cumsum", "cumprod", "sort", "argsort", "top_k", "median", "quantile",
           "percentile", "average", "ptp", "diff", "trapezoid", "nansum", "nanprod", "nanmean",
           "nanvar", "nanstd", "nanmax", "nanmin", "nanargmax", "nanargmin", "nancumsum",
           "nancumprod", "nanmedian", "nanquantile", "nanpercentile", "searchsorted", "digitize",
           "bincount", "histogram", "isin", "in_top_k", "argpartition", "unique", "nonzero",
           "corrcoef", "correlate", "cdist", "segment_sum", "segment_max", "segment_min",
           "segment_prod"]
