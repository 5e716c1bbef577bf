"""The reductions op family (reductions, sorting, searching, statistics, segment ops) on
every framework backend: values vs the NumPy reference and vs an independent NumPy formula,
dtypes, symbolic shapes/dtypes, gradients vs finite differences and across backends,
jax.jit / tf.function, and OpenVINO graphs for the ops inference graphs use."""
import numpy as np
import pytest

from unikeras import KerasTensor, ops
from unikeras.common.variables import runtime
from tests.conftest import FRAMEWORKS, to_backend
from tests.conftest import (  # noqa: E402
    reference as _reference, backend_args as _convert, as_symbolic as _symbolic)

R = np.random.default_rng(1234)
F = lambda *s: R.standard_normal(s).astype("float32")  # noqa: E731
P = lambda *s: R.uniform(0.5, 1.5, s).astype("float32")  # noqa: E731
I = lambda *s: R.integers(-3, 4, s).astype("int32")  # noqa: E731
I8 = lambda *s: R.integers(-3, 4, s).astype("int8")  # noqa: E731
B = lambda *s: R.integers(0, 2, s).astype("bool")  # noqa: E731
F64 = np.float64


def _perm(*s):
    """Distinct float32 values (no ties: sorts and arg-reductions are unambiguous)."""
    n = int(np.prod(s))
    return (R.permutation(n).astype("float32") / n - 0.5).reshape(s)


def _nan(*s):
    """float32 with about a fifth NaN, none of the slices along any axis all-NaN."""
    x = F(*s)
    mask = R.uniform(size=s) < 0.2
    mask[(0,) * len(s)] = False
    if len(s) > 1:
        mask[..., 0] = False
        mask[0, ...] = False
    x[mask] = np.nan
    return x


N = _nan


# (op name, positional args, kwargs); NumPy arrays become backend tensors, the rest stays.
CASES = [
    ("all", (I(3, 4),), {}), ("all", (I(3, 4),), {"axis": 1}), ("all", (B(2, 3, 4),), {"axis": (0, 2), "keepdims": True}),
    ("all", (F(0, 3),), {"axis": 0}), ("all", (F(),), {}),
    ("any", (I(3, 4),), {"axis": 0}), ("any", (B(2, 3),), {}), ("any", (F(2, 0),), {"axis": 1}),
    ("amax", (F(3, 4),), {"axis": 1}), ("amax", (I(2, 3, 4),), {"axis": (0, 2), "keepdims": True}), ("amax", (F(5),), {}),
    ("amin", (F(3, 4),), {}), ("amin", (I8(3, 4),), {"axis": -1}),
    ("argmin", (_perm(3, 4),), {"axis": 1}), ("argmin", (_perm(3, 4),), {}), ("argmin", (I(3, 4),), {"axis": 0, "keepdims": True}),
    ("prod", (P(3, 4),), {"axis": 0}), ("prod", (I8(3, 4),), {"axis": 1}), ("prod", (P(2, 3, 4),), {"axis": (0, 2)}),
    ("prod", (I(2, 3),), {"dtype": "float32"}), ("prod", (B(4),), {}), ("prod", (P(2, 3),), {"keepdims": True}),
    ("std", (F(3, 4),), {"axis": 1}), ("std", (I(5, 2),), {}), ("std", (F(2, 3, 4),), {"axis": (0, 2), "keepdims": True}),
    ("var", (F(3, 4),), {"axis": 0}), ("var", (I8(6),), {}), ("var", (F(2, 3, 4),), {"axis": (1, 2)}),
    ("count_nonzero", (I(3, 4),), {}), ("count_nonzero", (I(3, 4, 2),), {"axis": (0, 2)}), ("count_nonzero", (B(5),), {"axis": 0}),
    ("logsumexp", (F(3, 4),), {"axis": -1}), ("logsumexp", (F(3, 4) * 30,), {}),
    ("logsumexp", (F(2, 3, 4),), {"axis": (0, 1), "keepdims": True}), ("logsumexp", (I(4),), {}),
    ("cumsum", (F(3, 4),), {"axis": 1}), ("cumsum", (I8(3, 4),), {}), ("cumsum", (B(2, 3),), {"axis": 0}),
    ("cumsum", (I(2, 3),), {"axis": -1, "dtype": "float32"}), ("cumsum", (F(0, 2),), {"axis": 0}), ("cumsum", (F(),), {}),
    ("cumprod", (P(3, 4),), {"axis": 0}), ("cumprod", (I8(2, 3),), {"axis": 1}), ("cumprod", (P(5),), {}),
    ("sort", (F(3, 5),), {}), ("sort", (I(3, 5),), {"axis": 0}), ("sort", (F(2, 3),), {"axis": None}), ("sort", (B(6),), {}),
    ("argsort", (_perm(3, 5),), {}), ("argsort", (I(4, 6),), {"axis": 0}), ("argsort", (_perm(2, 3),), {"axis": None}),
    ("top_k", (_perm(3, 6), 2), {}), ("top_k", (_perm(7), 7), {}), ("top_k", (I(2, 3, 5) * 100 + np.arange(5, dtype="int32"), 3), {}),
    ("median", (F(3, 5),), {"axis": 1}), ("median", (F(4, 2),), {}), ("median", (I(3, 4),), {"axis": 0, "keepdims": True}),
    ("quantile", (F(4, 5), 0.3), {"axis": 1}), ("quantile", (F(3, 4, 5), [0.1, 0.5, 0.9]), {"axis": (0, 2), "keepdims": True}),
    ("quantile", (F(6, 3), np.array([0.25, 0.8], "float32")), {"axis": 0, "method": "lower"}),
    ("quantile", (F(6, 3), 0.3), {"axis": 0, "method": "higher"}), ("quantile", (F(6, 3), 0.45), {"method": "midpoint"}),
    ("quantile", (I(9, 2), 0.55), {"axis": 0, "method": "nearest"}),
    ("percentile", (F(4, 5), 30), {"axis": 1}), ("percentile", (F(3, 4), [10, 50.0, 90]), {"keepdims": True}),
    ("percentile", (F(6, 3), 62.0), {"axis": 0, "method": "lower"}),
    ("average", (F(3, 4),), {"axis": 1}), ("average", (F(3, 4),), {"axis": 0, "weights": P(3)}),
    ("average", (I(3, 4),), {"weights": P(3, 4)}), ("average", (F(2, 3),), {}),
    ("ptp", (F(3, 4),), {"axis": 1}), ("ptp", (I(3, 4),), {}), ("ptp", (F(2, 3, 4),), {"axis": (0, 2), "keepdims": True}),
    ("diff", (F(3, 5),), {}), ("diff", (I(4, 3),), {"n": 2, "axis": 0}), ("diff", (B(5),), {}), ("diff", (F(2, 3),), {"n": 0}),
    ("trapezoid", (F(3, 5),), {}), ("trapezoid", (F(4, 3),), {"dx": 0.5, "axis": 0}),
    ("trapezoid", (F(3, 5), np.cumsum(P(5))), {}), ("trapezoid", (I(3, 4), np.cumsum(P(3, 4), axis=0)), {"axis": 0}),
    ("nansum", (N(3, 4),), {"axis": 1}), ("nansum", (N(3, 4),), {}), ("nansum", (I(3, 4),), {"axis": 0}),
    ("nansum", (B(3, 2),), {"axis": 0}),
    ("nanprod", (N(3, 4),), {"axis": 0}), ("nanprod", (I8(3, 4),), {"axis": 1}),
    ("nanmean", (N(3, 4),), {"axis": 1}), ("nanmean", (N(2, 3, 4),), {"axis": (0, 2), "keepdims": True}), ("nanmean", (I(5),), {}),
    ("nanvar", (N(3, 5),), {"axis": 1}), ("nanvar", (N(4, 3),), {}), ("nanstd", (N(3, 5),), {"axis": 0, "keepdims": True}),
    ("nanstd", (I(3, 4),), {"axis": 1}),
    ("nanmax", (N(3, 4),), {"axis": 1}), ("nanmax", (I(3, 4),), {}), ("nanmin", (N(3, 4),), {"axis": 0}),
    ("nanmin", (N(2, 3, 4),), {"axis": (1, 2), "keepdims": True}),
    ("nanargmax", (N(3, 5),), {"axis": 1}), ("nanargmax", (N(3, 5),), {}), ("nanargmin", (N(4, 3),), {"axis": 0}),
    ("nanargmin", (I(3, 4),), {"axis": 1, "keepdims": True}),
    ("nancumsum", (N(3, 4),), {"axis": 1}), ("nancumsum", (N(3, 4),), {}), ("nancumsum", (I8(2, 3),), {"axis": 0}),
    ("nancumprod", (N(3, 4),), {"axis": 0}), ("nancumprod", (I(2, 3),), {"axis": -1}),
    ("nanmedian", (N(3, 5),), {"axis": 1}), ("nanmedian", (N(4, 3),), {}), ("nanmedian", (I(3, 4),), {"axis": 0, "keepdims": True}),
    ("nanquantile", (N(5, 6), [0.2, 0.5]), {"axis": 1}), ("nanquantile", (N(6, 3), 0.3), {"axis": 0, "method": "higher"}),
    ("nanpercentile", (N(5, 6), 40.0), {"axis": 0}), ("nanpercentile", (N(2, 3, 4), [25, 75]), {"axis": (0, 2), "method": "midpoint"}),
    ("quantile", (F(3, 4), 0.5), {}), ("median", (F(7),), {}),
    ("searchsorted", (np.sort(F(8)), F(3, 4)), {}), ("searchsorted", (np.array([1, 2, 2, 3, 5], "int32"), I(7)), {"side": "right"}),
    ("searchsorted", (np.array([1, 2, 2, 3, 5], "int32"), I(7)), {}), ("searchsorted", (np.sort(F(6)), I(4)), {}),
    ("digitize", (F(3, 4), np.sort(F(5))), {}), ("digitize", (I(8), np.array([-1, 0, 2], "int32")), {}),
    ("bincount", (np.array([0, 1, 1, 3, 5, 1], "int32"),), {}), ("bincount", (np.array([2, 0, 2, 4], "int32"),), {"weights": P(4)}),
    ("bincount", (np.array([1, 1, 2], "int32"),), {"minlength": 6}),
    ("histogram", (F(50),), {}), ("histogram", (F(5, 6),), {"bins": 4, "range": (-1.0, 1.0)}), ("histogram", (I(20),), {"bins": 3}),
    ("isin", (I(3, 4), np.array([0, 2, -1], "int32")), {}), ("isin", (I(5), np.array([[1, 3]], "int32")), {"invert": True}),
    ("isin", (np.round(F(6)), np.array([0.0, 1.0], "float32")), {}),
    ("in_top_k", (np.array([0, 3, 1], "int32"), _perm(3, 5), 2), {}),
    ("in_top_k", (np.array([0, 1, 2, 3], "int32"), np.array([[1, 2, 2, 0]] * 4, "float32"), 2), {}),
    ("argpartition", (_perm(3, 6), 2), {}), ("argpartition", (I(4, 5), 1), {"axis": 0}),
    ("unique", (I(3, 4),), {}), ("unique", (I(3, 4),), {"return_index": True, "return_inverse": True, "return_counts": True}),
    ("unique", (np.array([3, 1, 3, 2], "int32"),), {"size": 6, "return_counts": True}),
    ("unique", (np.array([3.0, 1.0, 3.0], "float32"),), {"size": 4, "fill_value": -1.0, "return_index": True}),
    ("unique", (np.array([[1, 2], [3, 4], [1, 2], [0, 5]], "int32"),), {"axis": 0, "return_index": True,
                                                                     "return_inverse": True, "return_counts": True}),
    ("unique", (np.array([[1, 0, 1], [2, 5, 2]], "float32"),), {"axis": -1, "return_inverse": True}),
    ("unique", (np.array([[1, 2], [3, 4], [1, 2]], "int32"),), {"axis": 0, "size": 4, "return_counts": True}),
    ("nonzero", (I(3, 4),), {}), ("nonzero", (B(6),), {}),
    ("corrcoef", (F(3, 6),), {}), ("corrcoef", (F(7),), {}), ("corrcoef", (I(2, 5) + np.arange(5, dtype="int32"),), {}),
    ("correlate", (F(5), F(3)), {}), ("correlate", (F(5), F(3)), {"mode": "same"}), ("correlate", (F(5), F(3)), {"mode": "full"}),
    ("correlate", (F(3), F(6)), {}), ("correlate", (F(4), F(6)), {"mode": "same"}), ("correlate", (I(4), I(2)), {"mode": "full"}),
    ("cdist", (F(3, 4), F(5, 4)), {}), ("cdist", (F(2, 3, 4), F(1, 5, 4)), {}), ("cdist", (I(3, 2), I(2, 2) + 10), {}),
    ("segment_sum", (F(6, 3), np.array([0, 0, 1, 3, 3, 3], "int32")), {"num_segments": 5}),
    ("segment_sum", (I(5), np.array([2, 0, 2, 1, 0], "int32")), {}),
    ("segment_max", (F(6, 3), np.array([0, 0, 1, 2, 2, 3], "int32")), {"num_segments": 4, "sorted": True}),
    ("segment_max", (I(5), np.array([2, 0, 2, 1, 0], "int32")), {"num_segments": 4}),
    ("segment_min", (F(6, 3), np.array([1, 0, 1, 2, 0, 2], "int32")), {"num_segments": 3}),
    ("segment_min", (I(5), np.array([2, 0, 2, 1, 0], "int32")), {}),
    ("segment_prod", (P(6, 2), np.array([0, 0, 1, 3, 3, 3], "int32")), {"num_segments": 5}),
    ("segment_prod", (I(5), np.array([2, 0, 2, 1, 0], "int32")), {}),
]

# Plain NumPy formulas, computed differently from the reference where there is a choice.
ax = lambda kw, default=None: kw.get("axis", default)  # noqa: E731


def _q(v):
    return np.asarray(v, F64)


INDEPENDENT = {
    "all": lambda x, **k: ~np.any(np.asarray(x) == 0, axis=ax(k), keepdims=k.get("keepdims", False)),
    "any": lambda x, **k: np.sum(np.asarray(x) != 0, axis=ax(k), keepdims=k.get("keepdims", False)) > 0,
    "amax": lambda x, **k: -np.min(-x.astype(F64), axis=ax(k), keepdims=k.get("keepdims", False)),
    "amin": lambda x, **k: -np.max(-x.astype(F64), axis=ax(k), keepdims=k.get("keepdims", False)),
    "argmin": lambda x, **k: np.argmax(-x.astype(F64), axis=ax(k), keepdims=k.get("keepdims", False)),
    "prod": lambda x, **k: np.multiply.reduce(x.astype(F64), axis=ax(k), keepdims=k.get("keepdims", False)),
    "std": lambda x, **k: np.sqrt(np.mean((x - np.mean(x.astype(F64), axis=ax(k), keepdims=True)) ** 2,
                                          axis=ax(k), keepdims=k.get("keepdims", False))),
    "var": lambda x, **k: np.mean((x - np.mean(x.astype(F64), axis=ax(k), keepdims=True)) ** 2,
                                  axis=ax(k), keepdims=k.get("keepdims", False)),
    "count_nonzero": lambda x, **k: np.sum((x != 0).astype("int64"), axis=ax(k)),
    "logsumexp": lambda x, **k: np.log(np.sum(np.exp(x.astype(F64)), axis=ax(k), keepdims=k.get("keepdims", False))),
    "cumsum": lambda x, **k: np.add.accumulate(x.astype(F64).reshape(-1) if ax(k) is None else x.astype(F64),
                                               axis=0 if ax(k) is None else ax(k)),
    "cumprod": lambda x, **k: np.multiply.accumulate(x.astype(F64).reshape(-1) if ax(k) is None else x.astype(F64),
                                                     axis=0 if ax(k) is None else ax(k)),
    "sort": lambda x, **k: np.sort(x.reshape(-1) if "axis" in k and k["axis"] is None else x, axis=ax(k, -1)),
    "argsort": lambda x, **k: np.argsort(x.reshape(-1) if "axis" in k and k["axis"] is None else x,
                                         axis=ax(k, -1), kind="mergesort"),
    "top_k": lambda x, n: (-np.sort(-x.astype(F64), axis=-1)[..., :n],
                           np.argsort(-x.astype(F64), axis=-1, kind="mergesort")[..., :n]),
    "median": lambda x, **k: np.percentile(x.astype(F64), 50, axis=ax(k), keepdims=k.get("keepdims", False)),
    "quantile": lambda x, q, **k: np.percentile(x.astype(F64), 100 * _q(q), axis=ax(k),
                                                method=k.get("method", "linear"),
                                                keepdims=k.get("keepdims", False)),
}

def _kd(k):
    return k.get("keepdims", False)


def _nanfill(x, v):
    return np.where(np.isnan(x), v, x.astype(F64))


def _avg(x, axis=None, weights=None):
    x = x.astype(F64)
    if weights is None:
        return np.sum(x, axis=axis) / (x.size if axis is None else x.shape[axis])
    w = weights.astype(F64)
    if w.ndim == 1 and x.ndim > 1:
        w = w.reshape([-1 if i == axis else 1 for i in range(x.ndim)])
    w = np.broadcast_to(w, x.shape)
    return np.sum(x * w, axis=axis) / np.sum(w, axis=axis)


def _diff(a, n=1, axis=-1):
    for _ in range(n):
        hi = np.take(a, np.arange(1, a.shape[axis]), axis=axis)
        lo = np.take(a, np.arange(0, a.shape[axis] - 1), axis=axis)
        a = (hi != lo) if a.dtype == bool else hi - lo
    return a


def _trapz(y, x=None, dx=1.0, axis=-1):
    y = y.astype(F64)
    if x is None:
        d = dx
    else:
        x = x.astype(F64)
        if x.ndim == 1:
            x = x.reshape([-1 if i == axis % y.ndim else 1 for i in range(y.ndim)])
        d = _diff(x, axis=axis)
    return np.sum((_diff_mid(y, axis)) * d, axis=axis)


def _diff_mid(y, axis):
    n = y.shape[axis]
    return (np.take(y, np.arange(1, n), axis=axis) + np.take(y, np.arange(0, n - 1), axis=axis)) / 2


def _nanvar(x, **k):
    valid = ~np.isnan(x)
    cnt = np.sum(valid, axis=ax(k), keepdims=True)
    mean = np.sum(_nanfill(x, 0), axis=ax(k), keepdims=True) / cnt
    return np.sum(np.where(valid, (x - mean) ** 2, 0), axis=ax(k), keepdims=_kd(k)) / (
        cnt if _kd(k) else np.squeeze(cnt, axis=ax(k)))


INDEPENDENT.update({
    "percentile": lambda x, q, **k: np.quantile(x.astype(F64), _q(q) / 100, axis=ax(k),
                                                method=k.get("method", "linear"), keepdims=_kd(k)),
    "average": _avg,
    "ptp": lambda x, **k: np.max(x, axis=ax(k), keepdims=_kd(k)).astype(F64) - np.min(x, axis=ax(k), keepdims=_kd(k)),
    "diff": lambda a, **k: _diff(a, k.get("n", 1), k.get("axis", -1)),
    "trapezoid": lambda y, x=None, **k: _trapz(y, x, k.get("dx", 1.0), k.get("axis", -1)),
    "nansum": lambda x, **k: np.sum(_nanfill(x, 0), axis=ax(k), keepdims=_kd(k)),
    "nanprod": lambda x, **k: np.prod(_nanfill(x, 1), axis=ax(k), keepdims=_kd(k)),
    "nanmean": lambda x, **k: np.sum(_nanfill(x, 0), axis=ax(k), keepdims=_kd(k)) / np.sum(
        ~np.isnan(x.astype(F64)), axis=ax(k), keepdims=_kd(k)),
    "nanvar": _nanvar,
    "nanstd": lambda x, **k: np.sqrt(_nanvar(x.astype(F64), **k)),
    "nanmax": lambda x, **k: np.max(_nanfill(x, -np.inf), axis=ax(k), keepdims=_kd(k)),
    "nanmin": lambda x, **k: np.min(_nanfill(x, np.inf), axis=ax(k), keepdims=_kd(k)),
    "nanargmax": lambda x, **k: np.argmax(_nanfill(x, -np.inf), axis=ax(k), keepdims=_kd(k)),
    "nanargmin": lambda x, **k: np.argmin(_nanfill(x, np.inf), axis=ax(k), keepdims=_kd(k)),
    "nancumsum": lambda x, **k: np.cumsum(_nanfill(x, 0).reshape(-1) if ax(k) is None else _nanfill(x, 0),
                                          axis=0 if ax(k) is None else ax(k)),
    "nancumprod": lambda x, **k: np.cumprod(_nanfill(x, 1).reshape(-1) if ax(k) is None else _nanfill(x, 1),
                                            axis=0 if ax(k) is None else ax(k)),
    "nanmedian": lambda x, **k: np.nanpercentile(x.astype(F64), 50, axis=ax(k), keepdims=_kd(k)),
    "nanquantile": lambda x, q, **k: np.nanpercentile(x.astype(F64), 100 * _q(q), axis=ax(k),
                                                      method=k.get("method", "linear"), keepdims=_kd(k)),
    "nanpercentile": lambda x, q, **k: np.nanquantile(x.astype(F64), _q(q) / 100, axis=ax(k),
                                                      method=k.get("method", "linear"), keepdims=_kd(k)),
})

def _bincount(x, weights=None, minlength=0):
    out = np.zeros(max(int(x.max()) + 1, minlength))
    np.add.at(out, x, 1 if weights is None else weights.astype(F64))
    return out


def _in_top_k(t, p, k):
    kth = -np.sort(-p.astype(F64), axis=1)[:, k - 1]
    return p[np.arange(len(t)), t] >= kth


def _unique(x, return_index=False, return_inverse=False, return_counts=False, size=None, fill_value=None,
            axis=None):
    if axis is not None:  # unique slices: tuples of the slices along axis
        moved = np.moveaxis(x, axis, 0)
        flat = [tuple(r.reshape(-1).tolist()) for r in moved]
        vals = sorted(set(flat))
        rows = [np.array(v, x.dtype).reshape(moved.shape[1:]) for v in vals]
        if size is not None:
            rows += [rows[0]] * (size - len(rows))
        out = [np.moveaxis(np.stack(rows), 0, axis)]
        cnt = [flat.count(v) for v in vals] + [0] * ((size or 0) - len(vals))
        out += [a for a, f in ((np.array([flat.index(v) for v in vals]), return_index),
                               (np.array([vals.index(v) for v in flat]), return_inverse),
                               (np.array(cnt), return_counts)) if f]
        return out[0] if len(out) == 1 else tuple(out)
    flat = x.reshape(-1).tolist()
    vals = sorted(set(flat))
    idx = [flat.index(v) for v in vals]
    cnt = [flat.count(v) for v in vals]
    inv = np.array([vals.index(v) for v in flat]).reshape(x.shape)
    if size is not None:
        pad = size - len(vals)
        fill = vals[0] if fill_value is None else fill_value
        vals, idx, cnt = vals + [fill] * pad, idx + [0] * pad, cnt + [0] * pad
    out = [np.array(vals)] + [a for a, f in ((np.array(idx), return_index), (inv, return_inverse),
                                             (np.array(cnt), return_counts)) if f]
    return out[0] if len(out) == 1 else tuple(out)


def _corrcoef(x):
    x = x.astype(F64)
    if x.ndim == 1:
        return np.float64(1.0)
    xc = x - x.mean(axis=1, keepdims=True)
    cov = xc @ xc.T
    d = np.sqrt(np.diag(cov))
    return cov / np.outer(d, d)


def _correlate(a, v, mode="valid"):
    a, v = a.astype(F64), v.astype(F64)
    m, n = len(a), len(v)
    full = np.array([sum(a[i + k] * v[i] for i in range(n) if 0 <= i + k < m)
                     for k in range(-(n - 1), m)])
    short, long_ = min(m, n), max(m, n)
    if mode == "full":
        return full
    if mode == "same":
        start = (short - 1) // 2 if m >= n else short // 2
        return full[start:start + long_]
    return full[short - 1:long_]


def _cdist(x, y):
    x, y = np.broadcast_arrays(x.astype(F64)[..., :, None, :], y.astype(F64)[..., None, :, :])
    return np.linalg.norm(x - y, axis=-1)


def _segment(fn, identity):
    def run(data, ids, num_segments=None, sorted=False):
        n = int(ids.max()) + 1 if num_segments is None else num_segments
        rows = [[data[i].astype(F64) for i in range(len(ids)) if ids[i] == s] for s in range(n)]
        empty = np.full(data.shape[1:], identity(data.dtype), F64)
        return np.stack([fn(np.stack(r), axis=0) if r else empty for r in rows])
    return run


def _lo(dt):
    return -np.inf if dt.kind == "f" else np.iinfo(dt).min


def _hi(dt):
    return np.inf if dt.kind == "f" else np.iinfo(dt).max


INDEPENDENT.update({
    "searchsorted": lambda seq, v, side="left": np.sum(
        (seq[None, :] < v.reshape(-1, 1)) if side == "left" else (seq[None, :] <= v.reshape(-1, 1)), axis=1).reshape(v.shape),
    "digitize": lambda x, bins: np.digitize(x, bins),
    "bincount": _bincount,
    "histogram": lambda x, bins=10, range=None: np.histogram(x.astype(F64), bins, range),
    "isin": lambda a, b, invert=False: np.any(a[..., None] == b.reshape(-1), axis=-1) != invert,
    "in_top_k": _in_top_k,
    "argpartition": lambda x, kth, axis=-1: np.argsort(x, axis=axis, kind="mergesort"),
    "unique": _unique,
    "nonzero": lambda x: tuple(np.argwhere(x).T),
    "corrcoef": _corrcoef,
    "correlate": _correlate,
    "cdist": _cdist,
    "segment_sum": _segment(np.sum, lambda d: 0),
    "segment_max": _segment(np.max, _lo),
    "segment_min": _segment(np.min, _hi),
    "segment_prod": _segment(np.prod, lambda d: 1),
})

DIFFERENTIABLE = {"corrcoef", "correlate", "cdist", "segment_sum", "segment_max", "segment_min",
                  "segment_prod","percentile", "average", "ptp", "diff", "trapezoid", "nansum", "nanprod",
                  "nanmean", "nanvar", "nanstd", "nanmax", "nanmin", "nancumsum", "nancumprod",
                  "nanmedian", "nanquantile", "nanpercentile","amax", "amin", "prod", "std", "var", "logsumexp", "cumsum", "cumprod", "sort",
                  "top_k", "median", "quantile"}


def _case_id(case):
    name, args, kwargs = case
    parts = ["x".join(map(str, a.shape)) + a.dtype.name[0] if isinstance(a, np.ndarray) else repr(a)
             for a in args]
    return name + "(" + ",".join(parts + [f"{k}={v!r}" for k, v in kwargs.items()]) + ")"


def _outputs(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


IDS = [_case_id(c) for c in CASES]
# Ops whose output length depends on the values (symbolically None) unless given a size.
VALUE_DEPENDENT = {"bincount", "unique", "nonzero", "segment_sum", "segment_max", "segment_min",
                   "segment_prod"}


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_reference_matches_independent_formula(case):
    name, args, kwargs = case
    expected = _outputs(INDEPENDENT[name](*args, **kwargs))
    got = _outputs(_reference(name, args, kwargs))
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert g.shape == np.shape(e), (g.shape, np.shape(e))
        np.testing.assert_allclose(g.astype(F64), np.asarray(e, F64), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("backend", FRAMEWORKS)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_op_matches_reference_and_formula(backend, case):
    name, args, kwargs = case
    expected = _outputs(_reference(name, args, kwargs))
    independent = _outputs(INDEPENDENT[name](*args, **kwargs))
    out = _outputs(getattr(ops, name)(*_convert(args, backend), **kwargs))
    assert len(out) == len(expected)
    for o, e, ind in zip(out, expected, independent):
        assert ops.is_tensor(o), f"{name} on {backend} returned {type(o)}"
        got = ops.convert_to_numpy(o)
        assert got.dtype == e.dtype, f"{name}: {got.dtype} != reference {e.dtype}"
        assert got.shape == e.shape
        np.testing.assert_allclose(got, e, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(got.astype(F64), np.asarray(ind, F64), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_symbolic_rule_matches_reference(case):
    name, args, kwargs = case
    expected = _outputs(_reference(name, args, kwargs))
    spec = _outputs(getattr(ops, name)(*[_symbolic(a) for a in args], **kwargs))
    for s, e in zip(spec, expected):
        assert isinstance(s, KerasTensor)
        assert s.dtype == e.dtype.name, (s.dtype, e.dtype)
        assert len(s.shape) == e.ndim and all(
            d == n or (d is None and name in VALUE_DEPENDENT) for d, n in zip(s.shape, e.shape)), (s.shape, e.shape)


def test_symbolic_rules_keep_unknown_dims():
    x = KerasTensor((None, 3, 4))
    assert ops.all(x, axis=1).shape == (None, 4)
    assert ops.std(x, axis=(1, 2), keepdims=True).shape == (None, 1, 1)
    assert ops.argmin(x, axis=0).shape == (3, 4)
    assert ops.cumsum(x).shape == (None,) and ops.cumsum(x, axis=1).shape == (None, 3, 4)
    assert ops.sort(x, axis=0).shape == (None, 3, 4)
    values, indices = ops.top_k(x, 2)
    assert values.shape == indices.shape == (None, 3, 2) and indices.dtype == "int32"
    assert ops.quantile(x, [0.1, 0.9], axis=-1).shape == (2, None, 3)
    assert ops.median(x, axis=-1).dtype == "float32"
    assert ops.prod(KerasTensor((None,), "uint8")).dtype == "uint32"


@pytest.mark.parametrize("bad", [
    lambda: ops.all(KerasTensor((2, 3)), axis=2),
    lambda: ops.std(KerasTensor((2, 3)), axis=-3),
    lambda: ops.cumsum(KerasTensor((2, 3)), axis=2),
    lambda: ops.top_k(KerasTensor((2, 3)), 4),
    lambda: ops.quantile(KerasTensor((2, 3)), 0.5, method="cubic"),
    lambda: ops.argmin(KerasTensor((2, 3)), axis=(0, 1)),
    lambda: ops.average(KerasTensor((2, 3)), axis=1, weights=KerasTensor((2,))),
    lambda: ops.diff(KerasTensor((2, 3)), axis=2),
    lambda: ops.trapezoid(KerasTensor((2, 3)), KerasTensor((4,))),
    lambda: ops.searchsorted(KerasTensor((2, 3)), KerasTensor((4,))),
    lambda: ops.bincount(KerasTensor((2, 3), "int32")),
    lambda: ops.histogram(KerasTensor((5,)), bins=0),
    lambda: ops.correlate(KerasTensor((5,)), KerasTensor((3,)), mode="circular"),
    lambda: ops.cdist(KerasTensor((5, 3)), KerasTensor((4, 2))),
    lambda: ops.segment_sum(KerasTensor((5, 3)), KerasTensor((4,), "int32")),
    lambda: ops.corrcoef(KerasTensor((2, 3, 4))),
    lambda: ops.in_top_k(KerasTensor((3,), "int32"), KerasTensor((4, 5)), 2),
])
def test_symbolic_errors_name_the_op(bad):
    with pytest.raises(ValueError, match=r"^(all|std|cumsum|top_k|quantile|argmin|average|diff|"
                                         r"trapezoid|searchsorted|bincount|histogram|correlate|"
                                         r"cdist|segment_sum|corrcoef|in_top_k):"):
        bad()


def test_average_accepts_full_shape_weights_with_unknown_dims():
    """Regression: the rule compared the weights' shape with x's exactly, so full-shape weights
    were refused when a dimension of x (or of the weights) is unknown."""
    x = KerasTensor((None, 3))
    assert ops.average(x, axis=0, weights=KerasTensor((4, 3))).shape == (3,)
    assert ops.average(x, axis=1, weights=KerasTensor((None, 3), "float16")).shape == (None,)
    assert ops.average(KerasTensor((5, 3)), weights=KerasTensor((None, 3))).shape == ()
    assert ops.average(x, axis=1, weights=KerasTensor((3,))).shape == (None,)
    assert ops.average(x, axis=0, weights=KerasTensor((6,))).shape == (3,)
    for w, axis, msg in [((4, 4), 0, "differ from"), ((None, 3, 1), 0, "differ from"),
                         ((2,), 1, "length 2"), ((3,), None, "need an int axis")]:
        with pytest.raises(ValueError, match=f"^average: .*{msg}"):
            ops.average(x, axis=axis, weights=KerasTensor(w))


def test_average_with_full_weights_in_a_graph_with_a_dynamic_batch():
    """The same weights, built as an OpenVINO graph whose first dimension is dynamic."""
    ov = pytest.importorskip("openvino")
    import openvino.opset16 as ovo
    rng = np.random.default_rng(3)
    x, w = rng.normal(size=(4, 3)).astype("float32"), rng.uniform(0.5, 2, (4, 3)).astype("float32")
    px, pw = ovo.parameter([-1, 3], np.float32), ovo.parameter([-1, 3], np.float32)
    out = ops.average(px.output(0), axis=0, weights=pw.output(0))
    compiled = ov.compile_model(ov.Model([out], [px, pw], "avg"), "CPU",
                                {"INFERENCE_PRECISION_HINT": "f32"})
    got = np.array(compiled([x, w])[0])
    np.testing.assert_allclose(got, (x * w).sum(0) / w.sum(0), rtol=1e-5)


def test_symbolic_value_dependent_shapes():
    assert ops.unique(KerasTensor((4, 5), "int32")).shape == (None,)
    values, inverse = ops.unique(KerasTensor((4, 5), "int32"), axis=1, return_inverse=True)
    assert values.shape == (4, None) and inverse.shape == (5,)
    values, counts = ops.unique(KerasTensor((4, 5), "int32"), size=7, return_counts=True)
    assert values.shape == counts.shape == (7,) and counts.dtype == "int32"
    assert all(i.shape == (None,) for i in ops.nonzero(KerasTensor((3, 4))))
    assert ops.segment_max(KerasTensor((None, 3)), KerasTensor((None,), "int32"), 6).shape == (6, 3)
    counts, edges = ops.histogram(KerasTensor((None,)), bins=5)
    assert counts.shape == (5,) and edges.shape == (6,) and edges.dtype == "float32"
    assert ops.bincount(KerasTensor((7,), "int32"), weights=KerasTensor((7,))).dtype == "float32"


@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_argpartition_partitions(backend):
    x = _perm(4, 9)
    kth = 3
    idx = ops.convert_to_numpy(ops.argpartition(to_backend(x, backend), kth)).astype("int64")
    part = np.take_along_axis(x, idx, axis=-1)
    expected_kth = np.sort(x, axis=-1)[:, kth]
    np.testing.assert_array_equal(part[:, kth], expected_kth)
    assert np.all(part[:, :kth] <= expected_kth[:, None]) and np.all(part[:, kth + 1:] >= expected_kth[:, None])


@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_unique_inverse_rebuilds_the_input(backend):
    x = I(4, 5)
    values, inverse = ops.unique(to_backend(x, backend), return_inverse=True)
    v, inv = ops.convert_to_numpy(values), ops.convert_to_numpy(inverse)
    np.testing.assert_array_equal(v[inv], x)


def test_unique_with_size_inside_jax_jit():
    if "jax" not in FRAMEWORKS:
        pytest.skip("jax is not installed")
    import jax
    x = np.array([4, 1, 4, 2, 1], "int32")
    fn = jax.jit(lambda t: ops.unique(t, size=5, fill_value=-1, return_counts=True))
    values, counts = fn(to_backend(x, "jax"))
    np.testing.assert_array_equal(np.asarray(values), [1, 2, 4, -1, -1])
    np.testing.assert_array_equal(np.asarray(counts), [2, 1, 2, 0, 0])


@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_top_k_unsorted_gives_the_same_set(backend):
    x = _perm(4, 9)
    values, indices = ops.top_k(to_backend(x, backend), 3, sorted=False)
    v, i = ops.convert_to_numpy(values), ops.convert_to_numpy(indices)
    assert i.dtype == np.int32
    np.testing.assert_array_equal(np.sort(v, -1), np.sort(x, -1)[:, -3:])
    np.testing.assert_array_equal(np.take_along_axis(x, i.astype("int64"), -1), v)


# --- gradients -------------------------------------------------------------------------------
def _first(out):
    return out[0] if isinstance(out, (tuple, list)) else out


def _weights(name, args, kwargs):
    shape = _first(_reference(name, args, kwargs)).shape
    return np.random.default_rng(7).standard_normal(shape)


def _numeric_grad(name, args, kwargs):
    x = args[0].astype(F64)
    w = _weights(name, args, kwargs)
    grad = np.zeros_like(x)
    eps = 1e-4
    for idx in np.ndindex(x.shape):
        vals = []
        for sign in (1, -1):
            xp = x.copy()
            xp[idx] += sign * eps
            vals.append(float(np.sum(_first(_reference(name, [xp] + list(args[1:]), kwargs)) * w)))
        grad[idx] = (vals[0] - vals[1]) / (2 * eps)
    return grad


def _first_per_op(cases):
    seen = {}
    for c in cases:
        seen.setdefault(c[0], c)
    return list(seen.values())


# One NaN-free float case per differentiable op (gradients are slow to trace), plus extras.
GRAD_CASES = _first_per_op(
    [c for c in CASES if c[0] in DIFFERENTIABLE and c[1][0].dtype == np.float32
     and c[1][0].size and not np.isnan(c[1][0]).any()]) + [
    ("quantile", (F(3, 4, 5), [0.1, 0.5, 0.9]), {"axis": (0, 2), "keepdims": True}),
    ("prod", (P(2, 3, 4),), {"axis": (0, 2)}),
    # The NaN-ignoring ops on NaN-free inputs (finite differences cannot see through NaN).
    ("nansum", (F(3, 4),), {"axis": 1}), ("nanmean", (F(3, 4),), {}), ("nanvar", (F(3, 4),), {"axis": 0}),
    ("nanstd", (F(3, 4),), {"axis": 1}), ("nanmax", (_perm(3, 4),), {"axis": 1}), ("nancumprod", (P(2, 3),), {"axis": 1}),
    ("nanquantile", (F(5, 3), [0.3, 0.6]), {"axis": 0}), ("nanmedian", (F(3, 5),), {"axis": 1}),
    ("nanprod", (P(3, 4),), {"axis": 0}), ("nancumsum", (F(3, 4),), {"axis": 1}),
    ("nanpercentile", (F(4, 5), 40.0), {"axis": 1}), ("nanmin", (_perm(3, 4),), {"axis": 0}),
]


@pytest.mark.parametrize("case", GRAD_CASES, ids=[_case_id(c) for c in GRAD_CASES])
def test_gradients_match_finite_differences_and_agree_across_backends(case):
    name, args, kwargs = case
    expected = _numeric_grad(name, list(args), kwargs)
    weights = _weights(name, args, kwargs).astype("float32")
    per_backend = {}
    for backend in FRAMEWORKS:
        rest = _convert(args[1:], backend)
        w = to_backend(weights, backend)

        def loss(params, *unused):
            out = _first(getattr(ops, name)(params[0], *rest, **kwargs))
            return ops.sum(ops.multiply(out, w)), None

        (_, _), grads = runtime(backend).value_and_grad(loss)([to_backend(args[0], backend)])
        per_backend[backend] = ops.convert_to_numpy(grads[0])
        np.testing.assert_allclose(per_backend[backend], expected, rtol=2e-2, atol=2e-2,
                                   err_msg=f"{name} gradient on {backend}")
    first = next(iter(per_backend.values()))
    for backend, g in per_backend.items():
        np.testing.assert_allclose(g, first, rtol=1e-4, atol=1e-4, err_msg=f"{name} grads differ on {backend}")


# --- compiled functions ----------------------------------------------------------------------
JIT_CASES = [c for c in CASES if _case_id(c) in {
    "cumsum(3x4f,axis=1)", "logsumexp(3x4f,axis=-1)", "argsort(3x5f)", "top_k(3x6f,2)",
    "median(3x5f,axis=1)", "quantile(3x4x5f,[0.1, 0.5, 0.9],axis=(0, 2),keepdims=True)",
    "std(3x4f,axis=1)", "argmin(3x4f)", "prod(2x3x4f,axis=(0, 2))", "all(3x4i,axis=1)"}]


JIT_CASES += [c for c in CASES if _case_id(c) in {
    "nanquantile(5x6f,[0.2, 0.5],axis=1)", "histogram(5x6f,bins=4,range=(-1.0, 1.0))",
    "searchsorted(8f,3x4f)", "segment_max(6x3f,6i,num_segments=4,sorted=True)",
    "unique(4i,size=6,return_counts=True)", "cdist(2x3x4f,1x5x4f)", "correlate(5f,3f,mode='same')",
    "trapezoid(3x5f,5f)", "nanargmax(3x5f,axis=1)", "in_top_k(3i,3x5f,2)"}]


def test_jit_cases_exist():
    assert len(JIT_CASES) == 20


@pytest.mark.parametrize("case", JIT_CASES, ids=[_case_id(c) for c in JIT_CASES])
def test_inside_jax_jit_and_tf_function(case):
    name, args, kwargs = case
    expected = _outputs(_reference(name, args, kwargs))
    arrays = [i for i, a in enumerate(args) if isinstance(a, np.ndarray)]

    def call(*tensors):
        full = list(args)
        for i, t in zip(arrays, tensors):
            full[i] = t
        return getattr(ops, name)(*full, **kwargs)

    if "jax" in FRAMEWORKS:
        import jax
        got = _outputs(jax.jit(call)(*[to_backend(args[i], "jax") for i in arrays]))
        for g, e in zip(got, expected):
            assert np.asarray(g).dtype == e.dtype
            np.testing.assert_allclose(np.asarray(g), e, rtol=1e-5, atol=1e-5)
    if "tensorflow" in FRAMEWORKS:
        import tensorflow as tf
        fn = tf.function(call)
        got = _outputs(fn(*[to_backend(args[i], "tensorflow") for i in arrays]))
        for g, e in zip(got, expected):
            assert g.numpy().dtype == e.dtype
            np.testing.assert_allclose(g.numpy(), e, rtol=1e-5, atol=1e-5)


# --- OpenVINO --------------------------------------------------------------------------------
OV_OPS = {"all", "any", "amax", "amin", "argmin", "prod", "std", "var", "cumsum", "logsumexp",
          "sort", "argsort", "top_k"}
OV_CASES = [(c, dyn) for c in CASES if c[0] in OV_OPS and c[1][0].ndim and c[1][0].size
            for dyn in (False, True)]


@pytest.mark.parametrize("case,dynamic", OV_CASES,
                         ids=[_case_id(c) + ("-dyn" if d else "-static") for c, d in OV_CASES])
def test_openvino_graph_matches_reference(case, dynamic):
    ov = pytest.importorskip("openvino")
    import openvino.opset16 as ovo
    from unikeras.adapters.openvino import ops as ov_ops

    name, args, kwargs = case
    expected = _outputs(_reference(name, args, kwargs))
    params, feeds, graph_args = [], [], []
    for a in args:
        if isinstance(a, np.ndarray):
            shape = list(a.shape)
            if dynamic:
                shape[0] = -1
            p = ovo.parameter(shape, a.dtype, name=f"arg{len(params)}")
            params.append(p)
            feeds.append(a)
            graph_args.append(p.output(0))
        else:
            graph_args.append(a)
    outs = _outputs(getattr(ops, name)(*graph_args, **kwargs))
    assert all(isinstance(o, ov.Output) for o in outs)
    for o, e in zip(outs, expected):
        assert ov_ops.dtype_name(o) == e.dtype.name
    compiled = ov.compile_model(ov.Model(outs, params, name), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    result = compiled(feeds)
    for i, e in enumerate(expected):
        got = np.array(result[i])
        assert got.dtype == e.dtype and got.shape == e.shape
        np.testing.assert_allclose(got, e, rtol=1e-5, atol=1e-5)
