"""Backend implementations of the linalg op family: jnp.linalg, jax.scipy.linalg, jnp.fft."""
import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np

from unikeras.adapters.flax.ops import (
    _FLOATS, _convert, _floatx, _j, _jdtype, _jit, _result_jdtype, _static_jit)
from unikeras.common.ops.linalg import istft_length, norm_axes

# Every op of the family is implemented here: export the family's list.
from unikeras.common.ops.linalg import __all__  # noqa: E402,F401


def _f(x):
    x = _j(x)
    return x if x.dtype in _FLOATS else _convert(x, _jdtype(_floatx()))


def _f2(a, b):
    a, b = _j(a), _j(b)
    d = _result_jdtype(a, b)
    if d not in _FLOATS:
        d = _jdtype(_floatx())
    return _convert(a, d), _convert(b, d)


def _jitted(*static):
    """Run the decorated kernel behind jax.jit (one XLA computation per shape, not one per
    primitive when called eagerly); `static` names its non-array arguments."""
    def deco(fn):
        return _static_jit(fn, *static) if static else _jit(fn)
    return deco


def _mT(x):
    return jnp.swapaxes(x, -1, -2)


@_jitted("upper")
def _cholesky(x, upper):
    out = jnp.linalg.cholesky(x)
    return jnp.conj(_mT(out)) if upper else out


def cholesky(x, upper=False):
    return _cholesky(_f(x), upper=bool(upper))


@_jitted("upper")
def _cholesky_inverse(x, upper):
    eye = jnp.broadcast_to(jnp.eye(x.shape[-1], dtype=x.dtype), x.shape)
    return jsl.cho_solve((x, not upper), eye)


def cholesky_inverse(x, upper=False):
    return _cholesky_inverse(_f(x), upper=bool(upper))


_det = _jitted()(jnp.linalg.det)
_eig = _jitted()(jnp.linalg.eig)
_eigh = _jitted()(jnp.linalg.eigh)
_inv = _jitted()(jnp.linalg.inv)
_slogdet = _jitted()(jnp.linalg.slogdet)


def det(x):
    return _det(_f(x))


def eig(x):
    x = _f(x)
    w, v = _eig(x)
    c = jnp.complex128 if x.dtype == jnp.float64 else jnp.complex64
    return w.astype(c), v.astype(c)


def eigh(x):
    w, v = _eigh(_f(x))
    return w, v


def inv(x):
    return _inv(_f(x))


def slogdet(x):
    sign, logabs = _slogdet(_f(x))
    return sign, logabs


def logdet(x):
    return _slogdet(_f(x))[1]


@_jitted("rcond")
def _lstsq(a, b, rcond):
    return jnp.linalg.lstsq(a, b, rcond=rcond)[0]


def lstsq(a, b, rcond=None):
    a, b = _f2(a, b)
    return _lstsq(a, b, rcond=rcond)


@_jitted()
def _lu_factor(x):
    lu, piv = jsl.lu_factor(x)
    return lu, piv.astype(jnp.int32)


def lu_factor(x):
    return _lu_factor(_f(x))


@_jitted()
def _matrix_rank(x, tol):
    s = jnp.linalg.svd(x, compute_uv=False)
    if tol is None:
        tol = s.max(axis=-1, keepdims=True) * max(x.shape[-2:]) * jnp.finfo(x.dtype).eps
    else:
        tol = jnp.asarray(tol, x.dtype)[..., None]
    return jnp.sum(s > tol, axis=-1).astype(jnp.int32)


def matrix_rank(x, tol=None):
    return _matrix_rank(_f(x), tol)


@_jitted("ord", "axes", "keepdims")
def _norm(x, ord, axes, keepdims):
    if axes is None:
        out = jnp.sqrt(jnp.sum(jnp.square(x)))
        return out.reshape((1,) * x.ndim) if keepdims else out
    return jnp.linalg.norm(x, ord=ord, axis=axes if len(axes) == 2 else axes[0],
                           keepdims=keepdims).astype(x.dtype)


def norm(x, ord=None, axis=None, keepdims=False):
    x = _f(x)
    return _norm(x, ord=ord, axes=norm_axes(tuple(x.shape), ord, axis), keepdims=bool(keepdims))


@_jitted("rtol")
def _pinv(x, rtol):
    return jnp.linalg.pinv(x, rtol=rtol)


def pinv(x, rcond=None):
    x = _f(x)
    r = max(x.shape[-2:]) * float(jnp.finfo(x.dtype).eps) if rcond is None else float(rcond)
    return _pinv(x, rtol=r)


@_jitted("mode")
def _qr(x, mode):
    return jnp.linalg.qr(x, mode=mode)


def qr(x, mode="reduced"):
    return _qr(_f(x), mode=mode)


def _solve_with(fn, a, b):
    if b.ndim == 1:
        b = jnp.broadcast_to(b[:, None], a.shape[:-2] + (b.shape[0], 1))
        return fn(a, b)[..., 0]
    batch = jnp.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    return fn(jnp.broadcast_to(a, batch + a.shape[-2:]), jnp.broadcast_to(b, batch + b.shape[-2:]))


_solve = _jitted()(lambda a, b: _solve_with(jnp.linalg.solve, a, b))


@_jitted("lower")
def _solve_triangular(a, b, lower):
    return _solve_with(lambda a, b: jsl.solve_triangular(a, b, lower=lower), a, b)


def solve(a, b):
    a, b = _f2(a, b)
    return _solve(a, b)


def solve_triangular(a, b, lower=False):
    a, b = _f2(a, b)
    return _solve_triangular(a, b, lower=bool(lower))


@_jitted("full_matrices", "compute_uv")
def _svd(x, full_matrices, compute_uv):
    return jnp.linalg.svd(x, full_matrices=full_matrices, compute_uv=compute_uv)


def svd(x, full_matrices=True, compute_uv=True):
    out = _svd(_f(x), full_matrices=bool(full_matrices), compute_uv=bool(compute_uv))
    return tuple(out) if compute_uv else out


# --- Fourier -------------------------------------------------------------------------------
def _complex(x):
    re, im = _f2(x[0], x[1])
    return re, im


def _split(c, dtype):
    return jnp.real(c).astype(dtype), jnp.imag(c).astype(dtype)


@_jitted()
def _fft(re, im):
    return _split(jnp.fft.fft(jax.lax.complex(re, im), axis=-1), re.dtype)


@_jitted()
def _fft2(re, im):
    return _split(jnp.fft.fft2(jax.lax.complex(re, im), axes=(-2, -1)), re.dtype)


@_jitted()
def _ifft2(re, im):
    return _split(jnp.fft.ifft2(jax.lax.complex(re, im), axes=(-2, -1)), re.dtype)


@_jitted("n")
def _rfft(x, n):
    return _split(jnp.fft.rfft(x, n=n, axis=-1), x.dtype)


@_jitted("n")
def _irfft(re, im, n):
    return jnp.fft.irfft(jax.lax.complex(re, im), n=n, axis=-1).astype(re.dtype)


def fft(x):
    return _fft(*_complex(x))


def fft2(x):
    return _fft2(*_complex(x))


def ifft2(x):
    return _ifft2(*_complex(x))


def rfft(x, fft_length=None):
    return _rfft(_f(x), n=fft_length)


def irfft(x, fft_length=None):
    return _irfft(*_complex(x), n=fft_length)


def _window(window, sequence_length, fft_length, dtype):
    if window is None:
        w = jnp.ones(sequence_length, dtype)
    elif isinstance(window, str):
        t = 2 * np.pi * np.arange(sequence_length) / sequence_length   # periodic windows
        a0 = 0.5 if window == "hann" else 0.54
        w = jnp.asarray(a0 - (1 - a0) * np.cos(t), dtype)
    else:
        w = _j(window).astype(dtype)
    left = (fft_length - sequence_length) // 2
    return jnp.pad(w, (left, fft_length - sequence_length - left))


def _frame_index(n_frames, sequence_stride, fft_length):
    return np.arange(n_frames)[:, None] * sequence_stride + np.arange(fft_length)[None, :]


@_jitted("sequence_stride", "fft_length", "center")
def _stft(x, w, sequence_stride, fft_length, center):
    if center:
        pad = [(0, 0)] * (x.ndim - 1) + [(fft_length // 2, fft_length // 2)]
        x = jnp.pad(x, pad, mode="reflect")
    n = 1 + (x.shape[-1] - fft_length) // sequence_stride
    frames = x[..., _frame_index(n, sequence_stride, fft_length)]
    return _split(jnp.fft.rfft(frames * w, n=fft_length, axis=-1), x.dtype)


def stft(x, sequence_length, sequence_stride, fft_length, window="hann", center=True):
    x = _f(x)
    w = _window(window, sequence_length, fft_length, x.dtype)
    return _stft(x, w, sequence_stride=int(sequence_stride), fft_length=int(fft_length),
                 center=bool(center))


@_jitted("sequence_stride", "fft_length", "start", "n", "scale")
def _istft(re, im, w, sequence_stride, fft_length, start, n, scale):
    d = re.dtype
    frames = jnp.fft.irfft(jax.lax.complex(re, im), n=fft_length, axis=-1).astype(d)
    t = frames.shape[-2]
    total = fft_length + sequence_stride * (t - 1)
    idx = _frame_index(t, sequence_stride, fft_length).reshape(-1)
    out = jnp.zeros(frames.shape[:-2] + (total,), d).at[..., idx].add(
        (frames * w).reshape(frames.shape[:-2] + (-1,)))
    norm = jnp.zeros((total,), d).at[idx].add(jnp.tile(w * w, t))
    out = out / jnp.where(norm > 1e-10, norm, 1.0)
    if scale != 1:
        out = out * scale
    return out[..., start:start + n]


def istft(x, sequence_length, sequence_stride, fft_length, length=None, window="hann",
          center=True):
    re, im = _complex(x)
    w = _window(window, sequence_length, fft_length, re.dtype)
    n = istft_length(re.shape[-2], sequence_stride, fft_length, length, center)
    return _istft(re, im, w, sequence_stride=int(sequence_stride), fft_length=int(fft_length),
                  start=fft_length // 2 if center else 0, n=n,
                  scale=fft_length / sequence_stride if window is None else 1)


def jvp(fun, primals, tangents, has_aux=False):
    return jax.jvp(fun, tuple(primals), tuple(tangents), has_aux=has_aux)
