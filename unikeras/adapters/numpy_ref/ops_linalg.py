"""Backend implementations of the linalg op family: NumPy reference (plain formulas)."""
import numpy as np

from unikeras.common import dtypes
from unikeras.common.ops.linalg import (
    complex_dtype, float_dtype, istft_length, norm_axes)

__all__ = ["cholesky", "cholesky_inverse", "det", "eig", "eigh", "inv", "logdet", "lstsq",
           "lu_factor", "matrix_rank", "norm", "pinv", "qr", "slogdet", "solve",
           "solve_triangular", "svd", "fft", "fft2", "ifft2", "rfft", "irfft", "stft", "istft"]


def _f(x):
    x = np.asarray(x)
    return x.astype(float_dtype(dtypes.standardize_dtype(x.dtype)), copy=False)


def _f2(a, b):
    a, b = np.asarray(a), np.asarray(b)
    d = float_dtype(dtypes.result_type(dtypes.standardize_dtype(a.dtype),
                                       dtypes.standardize_dtype(b.dtype)))
    return a.astype(d, copy=False), b.astype(d, copy=False)


def cholesky(x, upper=False):
    x = _f(x)
    out = np.linalg.cholesky(x)
    return np.conj(np.swapaxes(out, -1, -2)) if upper else out


def cholesky_inverse(x, upper=False):
    x = _f(x)
    a = np.swapaxes(x, -1, -2) @ x if upper else x @ np.swapaxes(x, -1, -2)
    return np.linalg.inv(a).astype(x.dtype)


def det(x):
    x = _f(x)
    return np.asarray(np.linalg.det(x), x.dtype)


def eig(x):
    x = _f(x)
    w, v = np.linalg.eig(x)
    c = complex_dtype(x.dtype.name)
    return w.astype(c), v.astype(c)


def eigh(x):
    x = _f(x)
    w, v = np.linalg.eigh(x)
    return w.astype(x.dtype), v.astype(x.dtype)


def inv(x):
    x = _f(x)
    return np.linalg.inv(x).astype(x.dtype)


def slogdet(x):
    x = _f(x)
    sign, logabs = np.linalg.slogdet(x)
    return np.asarray(sign, x.dtype), np.asarray(logabs, x.dtype)


def logdet(x):
    return slogdet(x)[1]


def lstsq(a, b, rcond=None):
    a, b = _f2(a, b)
    return np.linalg.lstsq(a, b, rcond=rcond)[0].astype(a.dtype)


def lu_factor(x):
    # Doolittle elimination with partial pivoting (largest |pivot|), row swaps recorded.
    x = _f(x)
    lu = np.array(x, dtype=np.float64, copy=True)
    m, n = lu.shape[-2:]
    k = min(m, n)
    batch = lu.reshape((-1, m, n))
    piv = np.zeros((batch.shape[0], k), "int32")
    for b in range(batch.shape[0]):
        a = batch[b]
        for j in range(k):
            p = j + int(np.argmax(np.abs(a[j:, j])))
            piv[b, j] = p
            if p != j:
                a[[j, p]] = a[[p, j]]
            if a[j, j] != 0:
                a[j + 1:, j] /= a[j, j]
                a[j + 1:, j + 1:] -= np.outer(a[j + 1:, j], a[j, j + 1:])
    return batch.reshape(lu.shape).astype(x.dtype), piv.reshape(x.shape[:-2] + (k,))


def matrix_rank(x, tol=None):
    x = _f(x)
    s = np.linalg.svd(x, compute_uv=False)
    if tol is None:
        tol = s.max(axis=-1, keepdims=True) * max(x.shape[-2:]) * np.finfo(x.dtype).eps
    else:
        tol = np.asarray(tol)[..., None]
    return np.asarray(np.sum(s > tol, axis=-1), "int32")


def _vector_norm(x, ord, axis, keepdims):
    a = np.abs(x)
    if ord is None or ord == 2:
        return np.sqrt(np.sum(a * a, axis=axis, keepdims=keepdims))
    if ord == np.inf:
        return np.max(a, axis=axis, keepdims=keepdims)
    if ord == -np.inf:
        return np.min(a, axis=axis, keepdims=keepdims)
    if ord == 0:
        return np.sum(a != 0, axis=axis, keepdims=keepdims).astype(x.dtype)
    return np.sum(a ** ord, axis=axis, keepdims=keepdims) ** (1.0 / ord)


def norm(x, ord=None, axis=None, keepdims=False):
    x = _f(x)
    axes = norm_axes(x.shape, ord, axis)
    if axes is None:
        out = np.sqrt(np.sum(x * x))
        return np.asarray(out.reshape((1,) * x.ndim) if keepdims else out, x.dtype)
    if len(axes) == 1:
        return np.asarray(_vector_norm(x, ord, axes[0], keepdims), x.dtype)
    return np.asarray(np.linalg.norm(x, ord=ord, axis=axes, keepdims=keepdims), x.dtype)


def pinv(x, rcond=None):
    x = _f(x)
    u, s, vh = np.linalg.svd(x, full_matrices=False)
    r = max(x.shape[-2:]) * np.finfo(x.dtype).eps if rcond is None else rcond
    cut = s > r * s.max(axis=-1, keepdims=True)
    s_inv = np.where(cut, 1.0 / np.where(cut, s, 1.0), 0.0)
    out = np.swapaxes(vh, -1, -2) @ (s_inv[..., None] * np.swapaxes(u, -1, -2))
    return out.astype(x.dtype)


def qr(x, mode="reduced"):
    x = _f(x)
    q, r = np.linalg.qr(x, mode=mode)
    return q.astype(x.dtype), r.astype(x.dtype)


def _solve(a, b):
    if b.ndim == 1:
        return np.linalg.solve(a, b[:, None])[..., 0] if a.ndim == 2 else \
            np.linalg.solve(a, np.broadcast_to(b[:, None], a.shape[:-2] + (b.shape[0], 1)))[..., 0]
    return np.linalg.solve(a, b)


def solve(a, b):
    a, b = _f2(a, b)
    return _solve(a, b).astype(a.dtype)


def solve_triangular(a, b, lower=False):
    a, b = _f2(a, b)
    a = np.tril(a) if lower else np.triu(a)
    return _solve(a, b).astype(a.dtype)


def svd(x, full_matrices=True, compute_uv=True):
    x = _f(x)
    if not compute_uv:
        return np.linalg.svd(x, compute_uv=False).astype(x.dtype)
    u, s, vh = np.linalg.svd(x, full_matrices=full_matrices)
    return u.astype(x.dtype), s.astype(x.dtype), vh.astype(x.dtype)


# --- Fourier -------------------------------------------------------------------------------
def _complex(x):
    re, im = _f2(x[0], x[1])
    return re + 1j * im, re.dtype


def _split(c, dtype):
    return np.real(c).astype(dtype), np.imag(c).astype(dtype)


def fft(x):
    c, d = _complex(x)
    return _split(np.fft.fft(c, axis=-1), d)


def fft2(x):
    c, d = _complex(x)
    return _split(np.fft.fft2(c, axes=(-2, -1)), d)


def ifft2(x):
    c, d = _complex(x)
    return _split(np.fft.ifft2(c, axes=(-2, -1)), d)


def rfft(x, fft_length=None):
    x = _f(x)
    return _split(np.fft.rfft(x, n=fft_length, axis=-1), x.dtype)


def irfft(x, fft_length=None):
    c, d = _complex(x)
    return np.fft.irfft(c, n=fft_length, axis=-1).astype(d)


def window_values(window, sequence_length, fft_length, dtype):
    """The analysis window, `sequence_length` long, zero-padded (centered) to fft_length."""
    if window is None:
        w = np.ones(sequence_length)
    elif isinstance(window, str):
        t = 2 * np.pi * np.arange(sequence_length) / sequence_length   # periodic windows
        a0 = 0.5 if window == "hann" else 0.54
        w = a0 - (1 - a0) * np.cos(t)
    else:
        w = np.asarray(window, np.float64)
    left = (fft_length - sequence_length) // 2
    return np.pad(w, (left, fft_length - sequence_length - left)).astype(dtype)


def stft(x, sequence_length, sequence_stride, fft_length, window="hann", center=True):
    x = _f(x)
    if center:
        pad = [(0, 0)] * (x.ndim - 1) + [(fft_length // 2, fft_length // 2)]
        x = np.pad(x, pad, mode="reflect")
    w = window_values(window, sequence_length, fft_length, x.dtype)
    n = 1 + (x.shape[-1] - fft_length) // sequence_stride
    frames = np.stack([x[..., i * sequence_stride:i * sequence_stride + fft_length]
                       for i in range(n)], axis=-2)
    return _split(np.fft.rfft(frames * w, n=fft_length, axis=-1), x.dtype)


def istft(x, sequence_length, sequence_stride, fft_length, length=None, window="hann",
          center=True):
    c, d = _complex(x)
    frames = np.fft.irfft(c, n=fft_length, axis=-1)
    w = window_values(window, sequence_length, fft_length, np.float64)
    t = frames.shape[-2]
    total = fft_length + sequence_stride * (t - 1)
    out = np.zeros(frames.shape[:-2] + (total,))
    norm = np.zeros(total)
    for i in range(t):
        out[..., i * sequence_stride:i * sequence_stride + fft_length] += frames[..., i, :] * w
        norm[i * sequence_stride:i * sequence_stride + fft_length] += w * w
    out = out / np.where(norm > 1e-10, norm, 1.0)
    if window is None:
        out = out * (fft_length / sequence_stride)
    start = fft_length // 2 if center else 0
    n = istft_length(t, sequence_stride, fft_length, length, center)
    return out[..., start:start + n].astype(d)
