"""OpenVINO graph builders of the linalg op family.

`inv` is OpenVINO's Inverse; `solve`, `solve_triangular` and `cholesky_inverse` multiply by
it. `det`, `slogdet`, `logdet` and `lu_factor` run Gaussian elimination with partial pivoting
(the reference's algorithm: largest |pivot|, first of ties) unrolled over the static matrix
size, and `cholesky` unrolls the column-by-column factorization the same way: the batch
dimensions may be dynamic, the matrix dimensions must be static. `norm` builds every
vector norm and the matrix norms 'fro', 1, -1, inf and -inf.

Not here, because OpenVINO has no primitive for them and an unrolled iterative method would
not equal the reference: `eig`, `eigh`, `svd`, `qr`, `lstsq`, `pinv`, `matrix_rank`, and
`norm` with ord 2, -2 or 'nuc' (singular values; refused with a ValueError).

The Fourier ops use DFT / IDFT / RDFT / IRDFT on (..., 2) interleaved complex tensors; stft
frames with a Gather and istft overlap-adds with a ScatterNDUpdate (sum), so their frame
counts must be static.
"""
import builtins

import numpy as np
from unikeras.adapters.openvino import opset as ovo

from unikeras.adapters.openvino.ops import (
    _as, _cast, _rule, _sym, _constant, _graph_op, _i64, _is_graph, _shape, as_output, dtype_name)
from unikeras.adapters.numpy_ref import ops_linalg as _np_linalg
from unikeras.common.ops import linalg as _defs
from unikeras.common.ops.linalg import float_dtype, norm_axes






def _f(x):
    """`x` as an Output of its linalg float dtype."""
    o = as_output(x) if _is_graph(x) else _constant(np.asarray(x))
    return _cast(o, float_dtype(dtype_name(o)))


def _static_n(name, o):
    n = _shape(o)[-1]
    if n is None or _shape(o)[-2] is None:
        raise ValueError(f"{name}: the matrix dimensions must be static on OpenVINO (the "
                         f"factorization is unrolled over them), got shape {_shape(o)}.")
    return n


def _col(o, j):
    """Column j of the last two axes: (..., n)."""
    return ovo.gather(o, _i64(j), _i64(-1)).output(0)


def _swap_last(o):
    rank = len(_shape(o))
    return ovo.transpose(o, _i64(list(range(rank - 2)) + [rank - 1, rank - 2])).output(0)


# --- inverse and solves ----------------------------------------------------------------------
@_graph_op
def inv(x):
    o = _f(x)
    _rule("inv", o)
    return ovo.inverse(o, False).output(0)


def _solve_with(name, a, b, a_inv_of):
    d = _rule(name, a, b).dtype
    a, b = _cast(_f(a), d), _cast(_f(b), d)
    ainv = a_inv_of(a)
    if len(_shape(b)) == 1:
        x = ovo.matmul(ainv, ovo.unsqueeze(b, _i64([1])), False, False).output(0)
        return ovo.squeeze(x, _i64([-1])).output(0)
    return ovo.matmul(ainv, b, False, False).output(0)


@_graph_op
def solve(a, b):
    return _solve_with("solve", a, b, lambda m: ovo.inverse(m, False).output(0))


def _triangle(o, lower):
    rank = len(_shape(o))
    n, m = _shape(o)[-2:]
    rows = ovo.unsqueeze(_iota(o, rank - 2, n), _i64([1])).output(0)
    cols = ovo.unsqueeze(_iota(o, rank - 1, m), _i64([0])).output(0)
    keep = (ovo.less_equal if lower else ovo.greater_equal)(cols, rows).output(0)
    return ovo.select(keep, o, _as(0, dtype_name(o))).output(0)


def _iota(o, a, static):
    if static is not None:
        return _i64(np.arange(static))
    dim = ovo.gather(ovo.shape_of(o, "i64"), _i64(a), _i64(0)).output(0)
    return ovo.range(_i64(0), dim, _i64(1), "i64").output(0)


@_graph_op
def solve_triangular(a, b, lower=False):
    return _solve_with("solve_triangular", a, b,
                       lambda m: ovo.inverse(_triangle(m, lower), False).output(0))


# --- LU with partial pivoting, unrolled --------------------------------------------------------
def _lu(name, x):
    """(packed LU, pivots (..., k) int64, permutation sign (...,), float input) of the
    reference's elimination."""
    a = _f(x)
    shape = _shape(a)
    if len(shape) < 2:
        raise ValueError(f"{name}: needs a tensor of rank >= 2, got shape {shape}.")
    n = _static_n(name, a)
    m_rows = shape[-2]
    d = dtype_name(a)
    rank = len(shape)
    zero, one = _as(0, d), _as(1, d)
    rows = _i64(np.arange(m_rows).reshape(m_rows, 1))
    sign = None
    pivots = []
    for j in range(builtins.min(m_rows, n)):
        col = _col(a, j)  # (..., m)
        masked = ovo.select(_as(np.arange(m_rows) >= j, "bool"), ovo.abs(col), _as(-1, d))
        p = ovo.topk(masked, np.int64(1), -1, "max", "value", "i64", stable=True).output(1)
        pivots.append(p)  # (..., 1)
        row_j = ovo.gather(a, _i64([j]), _i64(-2)).output(0)  # (..., 1, n)
        row_p = ovo.gather(a, p, _i64(-2), rank - 2).output(0)  # (..., 1, n)
        is_p = ovo.equal(rows, ovo.unsqueeze(p, _i64([-1]))).output(0)  # (..., m, 1)
        is_j = _as(np.arange(m_rows).reshape(m_rows, 1) == j, "bool")
        a = ovo.select(is_p, row_j, a).output(0)
        a = ovo.select(is_j, row_p, a).output(0)
        flip = ovo.select(ovo.equal(p, _i64(j)), one, _as(-1, d)).output(0)  # (..., 1)
        sign = flip if sign is None else ovo.multiply(sign, flip).output(0)
        pivot = ovo.gather(ovo.gather(a, _i64([j]), _i64(-2)), _i64([j]), _i64(-1)).output(0)
        below = _as(np.arange(m_rows).reshape(m_rows, 1) > j, "bool")
        safe = ovo.select(ovo.equal(pivot, zero), one, pivot).output(0)
        factors = ovo.divide(ovo.gather(a, _i64([j]), _i64(-1)), safe).output(0)  # (..., m, 1)
        factors = ovo.select(ovo.logical_and(below, ovo.not_equal(pivot, zero)), factors,
                             zero).output(0)
        row_j = ovo.gather(a, _i64([j]), _i64(-2)).output(0)
        right = _as(np.arange(n).reshape(1, n) > j, "bool")
        update = ovo.select(right, ovo.multiply(factors, row_j), zero).output(0)
        a = ovo.subtract(a, update).output(0)
        in_col = ovo.logical_and(below, _as(np.arange(n).reshape(1, n) == j, "bool"))
        packed = ovo.select(ovo.equal(pivot, zero), ovo.gather(a, _i64([j]), _i64(-1)),
                            factors).output(0)
        a = ovo.select(in_col, packed, a).output(0)
    piv = ovo.concat(pivots, rank - 2).output(0) if pivots else None
    sign = ovo.squeeze(sign, _i64([-1])).output(0) if sign is not None else None
    return a, piv, sign


def _diag(a):
    n = _shape(a)[-1]
    rank = len(_shape(a))
    flat = ovo.reshape(a, _i64([0] * (rank - 2) + [-1]), True).output(0)
    return ovo.gather(flat, _i64(np.arange(n) * (n + 1)), _i64(rank - 2)).output(0)


@_graph_op
def lu_factor(x):
    _rule("lu_factor", x)
    lu, piv, _ = _lu("lu_factor", x)
    return lu, _cast(piv, "int32")


def _slogdet(name, x):
    o = _f(x)
    _rule(name, o)
    n = _static_n(name, o)
    d = dtype_name(o)
    if n == 0:
        raise ValueError(f"{name}: empty matrices are not supported on OpenVINO.")
    lu, _, sign = _lu(name, o)
    diag = _diag(lu)
    last = _i64([len(_shape(diag)) - 1])
    sign = ovo.multiply(sign, ovo.reduce_prod(ovo.sign(diag), last, False)).output(0)
    logabs = ovo.reduce_sum(ovo.log(ovo.abs(diag)), last, False).output(0)
    return sign, logabs, diag, d


@_graph_op
def det(x):
    o = _f(x)
    _rule("det", o)
    if _static_n("det", o) == 0:
        raise ValueError("det: empty matrices are not supported on OpenVINO.")
    lu, _, perm_sign = _lu("det", o)
    dg = _diag(lu)
    return ovo.multiply(perm_sign, ovo.reduce_prod(dg, _i64([len(_shape(dg)) - 1]),
                                                   False)).output(0)


@_graph_op
def slogdet(x):
    sign, logabs, _, _ = _slogdet("slogdet", x)
    return sign, logabs


@_graph_op
def logdet(x):
    return _slogdet("logdet", x)[1]


# --- Cholesky, unrolled ------------------------------------------------------------------------
def _cholesky(name, x):
    a = _f(x)
    _rule(name, a)
    n = _static_n(name, a)
    d = dtype_name(a)
    rank = len(_shape(a))
    cols = []
    for j in range(n):
        s = _col(a, j)  # (..., n)
        if cols:
            done = ovo.concat(cols, rank - 1).output(0)  # (..., n, j)
            row_j = ovo.gather(done, _i64([j]), _i64(-2)).output(0)  # (..., 1, j)
            s = ovo.subtract(s, ovo.squeeze(ovo.matmul(done, row_j, False, True),
                                            _i64([-1]))).output(0)
        diag_ = ovo.sqrt(ovo.gather(s, _i64([j]), _i64(-1))).output(0)  # (..., 1)
        keep = _as(np.arange(n) >= j, "bool")
        col = ovo.select(keep, ovo.divide(s, diag_), _as(0, d)).output(0)
        cols.append(ovo.unsqueeze(col, _i64([-1])).output(0))
    return ovo.concat(cols, rank - 1).output(0)


@_graph_op
def cholesky(x, upper=False):
    low = _cholesky("cholesky", x)
    return _swap_last(low) if upper else low


@_graph_op
def cholesky_inverse(x, upper=False):
    o = _f(x)
    _rule("cholesky_inverse", o, upper)
    t = _swap_last(o)
    prod = ovo.matmul(t, o, False, False) if upper else ovo.matmul(o, t, False, False)
    return ovo.inverse(prod, False).output(0)


# --- norms -------------------------------------------------------------------------------------
def _vector_norm(o, ord, axis, keepdims):
    ax = _i64([axis])
    d = dtype_name(o)
    a = ovo.abs(o).output(0)
    if ord is None or ord == 2:
        return ovo.sqrt(ovo.reduce_sum(ovo.multiply(a, a), ax, keepdims)).output(0)
    if ord == float("inf"):
        return ovo.reduce_max(a, ax, keepdims).output(0)
    if ord == float("-inf"):
        return ovo.reduce_min(a, ax, keepdims).output(0)
    if ord == 0:
        return _cast(ovo.reduce_sum(_cast(ovo.not_equal(a, _as(0, d)).output(0), d), ax,
                                    keepdims).output(0), d)
    s = ovo.reduce_sum(ovo.power(a, _as(ord, d)), ax, keepdims).output(0)
    return ovo.power(s, _as(1.0 / ord, d)).output(0)


@_graph_op
def norm(x, ord=None, axis=None, keepdims=False):
    o = _f(x)
    _rule("norm", o, ord, axis, keepdims)
    shape = _shape(o)
    axes = norm_axes(shape, ord, axis)
    if axes is None:
        all_ = _i64(list(range(len(shape))))
        return ovo.sqrt(ovo.reduce_sum(ovo.multiply(o, o), all_, keepdims)).output(0)
    if len(axes) == 1:
        return _vector_norm(o, ord, axes[0], keepdims)
    row, col = axes
    a = ovo.abs(o).output(0)
    if ord in (None, "fro"):
        out = ovo.sqrt(ovo.reduce_sum(ovo.multiply(a, a), _i64(list(axes)), True)).output(0)
    elif ord in (1, -1):
        pick = ovo.reduce_max if ord == 1 else ovo.reduce_min
        out = pick(ovo.reduce_sum(a, _i64([row]), True), _i64([col]), True).output(0)
    elif ord in (float("inf"), float("-inf")):
        pick = ovo.reduce_max if ord > 0 else ovo.reduce_min
        out = pick(ovo.reduce_sum(a, _i64([col]), True), _i64([row]), True).output(0)
    else:
        raise ValueError(f"norm: ord={ord!r} needs singular values, which OpenVINO cannot "
                         "compute; use ord 'fro', 1, -1, inf or -inf.")
    return out if keepdims else ovo.squeeze(out, _i64(sorted(axes))).output(0)


# --- Fourier transforms ((real, imag) pairs; OpenVINO's DFT family) ----------------------------
def _pair_in(name, x):
    """(real, imag) Outputs of a pair argument, cast to the pair's float dtype."""
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise ValueError(f"{name}: expected a tuple (real, imag) of two tensors, got {type(x)}.")
    _, d = _defs.complex_pair(name, _sym(tuple(x)))
    return _as(x[0], d), _as(x[1], d), d


def _complex(re, im):
    """(..., 2) interleaved complex tensor of OpenVINO's DFT ops."""
    r = len(_shape(re))
    return ovo.concat([ovo.unsqueeze(re, _i64([r])), ovo.unsqueeze(im, _i64([r]))], r).output(0)


def _split_complex(c):
    r = len(_shape(c)) - 1
    return (ovo.squeeze(ovo.gather(c, _i64([0]), _i64(r)), _i64([r])).output(0),
            ovo.squeeze(ovo.gather(c, _i64([1]), _i64(r)), _i64([r])).output(0))


def _resize_last(o, n):
    """`o` cropped or zero-padded to length `n` along its last axis."""
    r = len(_shape(o))
    size = ovo.gather(ovo.shape_of(o, "i64"), _i64([r - 1]), _i64(0)).output(0)
    end = ovo.concat([_i64([0] * (r - 1)), ovo.subtract(_i64([n]), size)], 0).output(0)
    return ovo.pad(o, _i64([0] * r), end, "constant", _as(0, dtype_name(o))).output(0)


def _fourier(name, x, axes, inverse):
    re, im, _ = _pair_in(name, x)
    _rule(name, (re, im))
    r = len(_shape(re))
    fn = ovo.idft if inverse else ovo.dft
    return _split_complex(fn(_complex(re, im), _i64([r + a for a in axes])).output(0))


@_graph_op
def fft(x):
    return _fourier("fft", x, [-1], False)


@_graph_op
def fft2(x):
    return _fourier("fft2", x, [-2, -1], False)


@_graph_op
def ifft2(x):
    return _fourier("ifft2", x, [-2, -1], True)


@_graph_op
def rfft(x, fft_length=None):
    o = _f(x)
    _rule("rfft", o, fft_length)
    if fft_length is not None:  # (the CPU plugin's RDFT does not pad by signal_size itself)
        o = _resize_last(o, int(fft_length))
    return _split_complex(ovo.rdft(o, _i64([len(_shape(o)) - 1])).output(0))


@_graph_op
def irfft(x, fft_length=None):
    re, im, _ = _pair_in("irfft", x)
    out = _rule("irfft", (re, im), fft_length)
    r = len(_shape(re))
    if fft_length is None:
        return ovo.irdft(_complex(re, im), _i64([r - 1])).output(0)
    n = int(fft_length)
    re, im = _resize_last(re, n // 2 + 1), _resize_last(im, n // 2 + 1)
    del out
    return ovo.irdft(_complex(re, im), _i64([r - 1]), _i64([n])).output(0)


def _window(window, sequence_length, fft_length, d):
    """The analysis window, zero-padded (centered) to fft_length, as the reference's."""
    if _is_graph(window):
        left = (fft_length - sequence_length) // 2
        w = _cast(as_output(window), d)
        return ovo.pad(w, _i64([left]), _i64([fft_length - sequence_length - left]),
                       "constant", _as(0, d)).output(0)
    values = _np_linalg.window_values(window, sequence_length, fft_length, "float64")
    return _as(values, d)


@_graph_op
def stft(x, sequence_length, sequence_stride, fft_length, window="hann", center=True):
    o = _f(x)
    out, _ = _rule("stft", o, sequence_length, sequence_stride, fft_length, _sym(window),
                   center)
    d = dtype_name(o)
    r = len(_shape(o))
    frames = out.shape[-2]
    if frames is None:
        raise ValueError(f"stft: the signal length must be static on OpenVINO, got shape "
                         f"{_shape(o)}.")
    if center:
        half = fft_length // 2
        o = ovo.pad(o, _i64([0] * (r - 1) + [half]), _i64([0] * (r - 1) + [half]),
                    "reflect").output(0)
    idx = np.arange(frames)[:, None] * sequence_stride + np.arange(fft_length)[None, :]
    framed = ovo.gather(o, _i64(idx), _i64(r - 1)).output(0)  # (..., frames, fft_length)
    framed = ovo.multiply(framed, _window(window, sequence_length, fft_length, d)).output(0)
    return _split_complex(ovo.rdft(framed, _i64([r])).output(0))


@_graph_op
def istft(x, sequence_length, sequence_stride, fft_length, length=None, window="hann",
          center=True):
    re, im, d = _pair_in("istft", x)
    out = _rule("istft", (re, im), sequence_length, sequence_stride, fft_length, length,
                _sym(window), center)
    r = len(_shape(re))
    t = _shape(re)[-2]
    if t is None:
        raise ValueError(f"istft: the number of frames must be static on OpenVINO, got shape "
                         f"{_shape(re)}.")
    frames = ovo.irdft(_complex(re, im), _i64([r - 1]), _i64([fft_length])).output(0)
    if _is_graph(window):
        raise ValueError("istft: the window must be a string, None or a constant on OpenVINO "
                         "(its overlap normalization is computed when the graph is built).")
    w = _np_linalg.window_values(window, sequence_length, fft_length, np.float64)
    frames = ovo.multiply(frames, _as(w, d)).output(0)  # (..., t, fft_length)
    total = fft_length + sequence_stride * (t - 1)
    # Overlap-add: move (t, fft_length) to the front, flatten them, scatter-add at positions.
    batch = list(range(r - 2))
    front = ovo.transpose(frames, _i64([r - 2, r - 1] + batch)).output(0)
    dims = ovo.shape_of(front, "i64").output(0)
    rest = ovo.gather(dims, _i64(list(range(2, r))), _i64(0)).output(0)
    flat = ovo.reshape(front, ovo.concat([_i64([-1]), rest], 0), False).output(0)
    pos = (np.arange(t)[:, None] * sequence_stride + np.arange(fft_length)[None, :])
    zeros = ovo.broadcast(_as(0, d), ovo.concat([_i64([total]), rest], 0)).output(0)
    summed = ovo.scatter_nd_update(zeros, _i64(pos.reshape(-1, 1)), flat, "sum").output(0)
    summed = ovo.transpose(summed, _i64(list(range(1, r - 1)) + [0])).output(0)
    norm = np.zeros(total)
    for i in range(t):
        norm[i * sequence_stride:i * sequence_stride + fft_length] += w * w
    scale = 1.0 / np.where(norm > 1e-10, norm, 1.0)
    if window is None:
        scale = scale * (fft_length / sequence_stride)
    summed = ovo.multiply(summed, _as(scale, d)).output(0)
    start = fft_length // 2 if center else 0
    n = out.shape[-1]
    idx = np.arange(start, start + n)
    if idx.size and idx[-1] >= total:  # (a requested length past the signal: zeros)
        summed = ovo.pad(summed, _i64([0] * (r - 2) + [0]),
                         _i64([0] * (r - 2) + [int(idx[-1]) + 1 - total]), "constant",
                         _as(0, d)).output(0)
    return ovo.gather(summed, _i64(idx), _i64(r - 2)).output(0)


__all__ = ["inv", "solve", "solve_triangular", "lu_factor", "det", "slogdet", "logdet",
           "cholesky", "cholesky_inverse", "norm", "fft", "fft2", "ifft2", "rfft", "irfft",
           "stft", "istft"]
