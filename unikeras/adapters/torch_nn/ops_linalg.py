"""Backend implementations of the linalg op family: torch.linalg / torch.fft kernels."""
import torch

from unikeras.adapters.torch_nn.ops import _FLOATS, _floatx, _result_dtype, _to_tensor
from unikeras.common.ops.linalg import istft_length, norm_axes

# Every op of the family is implemented here: export the family's list.
from unikeras.common.ops.linalg import __all__  # noqa: E402,F401

_COMPLEX = {torch.float64: torch.complex128}


def _f(x):
    x = _to_tensor(x)
    return x if x.dtype in _FLOATS else x.to(_floatx())


def _f2(a, b):
    a, b = _to_tensor(a), _to_tensor(b)
    d = _result_dtype(a.dtype, b.dtype)
    if d not in _FLOATS:
        d = _floatx()
    return a.to(d), b.to(device=a.device, dtype=d)


def cholesky(x, upper=False):
    return torch.linalg.cholesky(_f(x), upper=upper)


def cholesky_inverse(x, upper=False):
    return torch.cholesky_inverse(_f(x), upper=upper)


def det(x):
    return torch.linalg.det(_f(x))


def eig(x):
    x = _f(x)
    w, v = torch.linalg.eig(x)
    c = _COMPLEX.get(x.dtype, torch.complex64)
    return w.to(c), v.to(c)


def eigh(x):
    w, v = torch.linalg.eigh(_f(x))
    return w, v


def inv(x):
    return torch.linalg.inv(_f(x))


def slogdet(x):
    sign, logabs = torch.linalg.slogdet(_f(x))
    return sign, logabs


def logdet(x):
    return torch.linalg.slogdet(_f(x))[1]


def lstsq(a, b, rcond=None):
    a, b = _f2(a, b)
    vec = b.ndim == 1
    if vec:
        b = b[:, None]
    driver = "gelsd" if a.device.type == "cpu" else None
    out = torch.linalg.lstsq(a, b, rcond=rcond, driver=driver).solution
    return out[:, 0] if vec else out


def lu_factor(x):
    lu, piv = torch.linalg.lu_factor(_f(x))
    return lu, (piv - 1).to(torch.int32)   # LAPACK's 1-based pivots -> 0-based


def matrix_rank(x, tol=None):
    x = _f(x)
    if tol is None:
        out = torch.linalg.matrix_rank(x)
    else:
        out = torch.linalg.matrix_rank(x, atol=tol, rtol=0.0)
    return out.to(torch.int32)


def norm(x, ord=None, axis=None, keepdims=False):
    x = _f(x)
    axes = norm_axes(tuple(x.shape), ord, axis)
    if axes is None:
        out = torch.linalg.vector_norm(x, 2)
        return out.reshape((1,) * x.ndim) if keepdims else out
    if len(axes) == 1:
        return torch.linalg.vector_norm(x, 2 if ord is None else ord, dim=axes, keepdim=keepdims)
    return torch.linalg.matrix_norm(x, "fro" if ord is None else ord, dim=axes, keepdim=keepdims)


def pinv(x, rcond=None):
    x = _f(x)
    r = max(x.shape[-2:]) * torch.finfo(x.dtype).eps if rcond is None else rcond
    return torch.linalg.pinv(x, rtol=r)


def qr(x, mode="reduced"):
    return torch.linalg.qr(_f(x), mode=mode)


def _solve(fn, a, b):
    if b.ndim == 1:
        b = b[:, None].expand(a.shape[:-2] + (b.shape[0], 1))
        return fn(a, b)[..., 0]
    batch = torch.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    return fn(a.expand(batch + a.shape[-2:]), b.expand(batch + b.shape[-2:]))


def solve(a, b):
    a, b = _f2(a, b)
    return _solve(torch.linalg.solve, a, b)


def solve_triangular(a, b, lower=False):
    a, b = _f2(a, b)
    return _solve(lambda a, b: torch.linalg.solve_triangular(a, b, upper=not lower), a, b)


def svd(x, full_matrices=True, compute_uv=True):
    x = _f(x)
    if not compute_uv:
        return torch.linalg.svdvals(x)
    u, s, vh = torch.linalg.svd(x, full_matrices=full_matrices)
    return u, s, vh


# --- Fourier -------------------------------------------------------------------------------
def _complex(x):
    re, im = _f2(x[0], x[1])
    return torch.complex(re, im)


def fft(x):
    out = torch.fft.fft(_complex(x), dim=-1)
    return out.real, out.imag


def fft2(x):
    out = torch.fft.fft2(_complex(x), dim=(-2, -1))
    return out.real, out.imag


def ifft2(x):
    out = torch.fft.ifft2(_complex(x), dim=(-2, -1))
    return out.real, out.imag


def rfft(x, fft_length=None):
    out = torch.fft.rfft(_f(x), n=fft_length, dim=-1)
    return out.real, out.imag


def irfft(x, fft_length=None):
    return torch.fft.irfft(_complex(x), n=fft_length, dim=-1)


def _window(window, sequence_length, fft_length, dtype, device):
    if window is None:
        w = torch.ones(sequence_length, dtype=dtype, device=device)
    elif isinstance(window, str):
        fn = torch.hann_window if window == "hann" else torch.hamming_window
        w = fn(sequence_length, periodic=True, dtype=dtype, device=device)
    else:
        w = _to_tensor(window).to(device=device, dtype=dtype)
    left = (fft_length - sequence_length) // 2
    return torch.nn.functional.pad(w, (left, fft_length - sequence_length - left))


def stft(x, sequence_length, sequence_stride, fft_length, window="hann", center=True):
    x = _f(x)
    w = _window(window, sequence_length, fft_length, x.dtype, x.device)
    if center:
        pad = fft_length // 2
        flat = x.reshape(-1, 1, x.shape[-1])
        x = torch.nn.functional.pad(flat, (pad, pad), mode="reflect").reshape(
            x.shape[:-1] + (x.shape[-1] + 2 * pad,))
    frames = x.unfold(-1, fft_length, sequence_stride)
    out = torch.fft.rfft(frames * w, n=fft_length, dim=-1)
    return out.real, out.imag


def istft(x, sequence_length, sequence_stride, fft_length, length=None, window="hann",
          center=True):
    c = _complex(x)
    frames = torch.fft.irfft(c, n=fft_length, dim=-1)
    dtype = frames.dtype
    w = _window(window, sequence_length, fft_length, dtype, frames.device)
    t = frames.shape[-2]
    total = fft_length + sequence_stride * (t - 1)
    batch = frames.shape[:-2]
    cols = (frames * w).reshape((-1, t, fft_length)).transpose(1, 2)
    fold = dict(output_size=(1, total), kernel_size=(1, fft_length), stride=(1, sequence_stride))
    out = torch.nn.functional.fold(cols, **fold).reshape(batch + (total,))
    wsq = (w * w)[None, :, None].expand(1, fft_length, t)
    norm = torch.nn.functional.fold(wsq, **fold).reshape((total,))
    out = out / torch.where(norm > 1e-10, norm, torch.ones((), dtype=dtype, device=norm.device))
    if window is None:
        out = out * (fft_length / sequence_stride)
    start = fft_length // 2 if center else 0
    n = istft_length(t, sequence_stride, fft_length, length, center)
    return out[..., start:start + n]


def jvp(fun, primals, tangents, has_aux=False):
    return torch.func.jvp(fun, tuple(primals), tuple(tangents), has_aux=has_aux)

