"""Linear-algebra and Fourier ops (`unikeras.ops.linalg`, also top level). Each body is the
op's symbolic rule (see `op`): matrices are the last two axes, leading axes are a batch.

Results are floating point: integer and bool inputs compute in floatx. Complex results
of the Fourier ops are (real, imag) pairs of float tensors, as in Keras.
"""
import numbers

from unikeras import config
from unikeras.common import dtypes
from unikeras.common.ops.op import op
from unikeras.common.ops.shapes import broadcast_shapes, canonical_axis, spec
from unikeras.common.symbolic import KerasTensor

__all__ = ["cholesky", "cholesky_inverse", "det", "eig", "eigh", "inv", "logdet", "lstsq",
           "lu_factor", "matrix_rank", "norm", "pinv", "qr", "slogdet", "solve",
           "solve_triangular", "svd", "fft", "fft2", "ifft2", "rfft", "irfft", "stft", "istft",
           "jvp"]


def float_dtype(dtype):
    """The dtype linalg computes in for input dtype `dtype` (ints and bool: floatx)."""
    return dtype if dtypes.is_float(dtype) else config.floatx()


def complex_dtype(dtype):
    return "complex128" if float_dtype(dtype) == "float64" else "complex64"


def _matrix(name, x, square=False):
    shape, dtype = spec(x)
    if len(shape) < 2:
        raise ValueError(f"{name}: expected a matrix (rank >= 2), got shape {shape}.")
    m, n = shape[-2:]
    if square and m is not None and n is not None and m != n:
        raise ValueError(f"{name}: expected square matrices, got shape {shape}.")
    return shape, float_dtype(dtype)


def _dim_min(a, b):
    return None if a is None or b is None else min(a, b)


@op
def cholesky(x, upper=False):
    """Cholesky factor of Hermitian positive-definite `x`: lower L with x = L L^H (upper:
    L^H)."""
    return KerasTensor(*_matrix("cholesky", x, True))


@op
def cholesky_inverse(x, upper=False):
    """Inverse of A from its Cholesky factor `x` (A = x x^H, or x^H x when `upper`)."""
    return KerasTensor(*_matrix("cholesky_inverse", x, True))


@op
def det(x):
    """Determinant of each square matrix."""
    shape, dtype = _matrix("det", x, True)
    return KerasTensor(shape[:-2], dtype)


@op
def eig(x):
    """Eigenvalues and right eigenvectors (complex) of general square matrices."""
    shape, dtype = _matrix("eig", x, True)
    c = complex_dtype(dtype)
    return KerasTensor(shape[:-1], c), KerasTensor(shape, c)


@op
def eigh(x):
    """Eigenvalues (ascending) and orthonormal eigenvectors of symmetric/Hermitian matrices."""
    shape, dtype = _matrix("eigh", x, True)
    return KerasTensor(shape[:-1], dtype), KerasTensor(shape, dtype)


@op
def inv(x):
    """Inverse of each square matrix."""
    return KerasTensor(*_matrix("inv", x, True))


@op
def logdet(x):
    """log(det(x)) of positive-definite matrices (computed as slogdet's log|det|)."""
    shape, dtype = _matrix("logdet", x, True)
    return KerasTensor(shape[:-2], dtype)


@op
def slogdet(x):
    """(sign, log|det|) of each square matrix: the determinant without overflow."""
    shape, dtype = _matrix("slogdet", x, True)
    return KerasTensor(shape[:-2], dtype), KerasTensor(shape[:-2], dtype)


@op
def lstsq(a, b, rcond=None):
    """Least-squares solution x of a @ x = b for a (M, N) and b (M,) or (M, K)."""
    sa, da = spec(a)
    sb, db = spec(b)
    if len(sa) != 2 or len(sb) not in (1, 2):
        raise ValueError(f"lstsq: expected a of rank 2 and b of rank 1 or 2, got shapes {sa} "
                         f"and {sb}.")
    if sa[0] is not None and sb[0] is not None and sa[0] != sb[0]:
        raise ValueError(f"lstsq: a {sa} and b {sb} have different numbers of rows.")
    return KerasTensor((sa[1],) + sb[1:], float_dtype(dtypes.result_type(da, db)))


@op
def lu_factor(x):
    """LU factorization with partial pivoting: (lu, pivots); `lu` holds L (unit diagonal,
    below) and U, `pivots[i]` is the 0-based row swapped with row i (as LAPACK/SciPy)."""
    shape, dtype = _matrix("lu_factor", x, True)
    return KerasTensor(shape, dtype), KerasTensor(shape[:-2] + (_dim_min(*shape[-2:]),), "int32")


@op
def matrix_rank(x, tol=None):
    """Number of singular values above `tol` (default: largest * max(M, N) * eps)."""
    shape, _ = _matrix("matrix_rank", x)
    return KerasTensor(shape[:-2], "int32")


_VECTOR_ORDS = (None, 0, 1, 2, float("inf"), float("-inf"))
_MATRIX_ORDS = (None, "fro", "nuc", 1, -1, 2, -2, float("inf"), float("-inf"))


def norm_axes(x_shape, ord, axis):
    """Axes `norm` reduces over, as a tuple (1 or 2 entries), or None for all (flattened)."""
    ndim = len(x_shape)
    if axis is None:
        if ord is None:
            return None
        if ndim not in (1, 2):
            raise ValueError(f"norm: ord={ord!r} without axis needs a 1-D or 2-D input, got rank "
                             f"{ndim}.")
        axis = tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    if len(axes) not in (1, 2):
        raise ValueError(f"norm: axis must name 1 or 2 axes, got {axis!r}.")
    axes = tuple(canonical_axis("norm", a, ndim) for a in axes)
    if len(set(axes)) != len(axes):
        raise ValueError(f"norm: duplicate axes {axis!r}.")
    if len(axes) == 1 and ord is not None and (isinstance(ord, (str, bool)) or
                                               not isinstance(ord, numbers.Real)):
        raise ValueError(f"norm: invalid ord {ord!r} for a vector norm.")
    if len(axes) == 2 and ord not in _MATRIX_ORDS:
        raise ValueError(f"norm: invalid ord {ord!r} for a matrix norm.")
    return axes


@op
def norm(x, ord=None, axis=None, keepdims=False):
    """Vector norm (one axis) or matrix norm (two axes), as `numpy.linalg.norm`."""
    shape, dtype = spec(x)
    axes = norm_axes(shape, ord, axis)
    axes = tuple(range(len(shape))) if axes is None else axes
    if keepdims:
        out = tuple(1 if i in axes else d for i, d in enumerate(shape))
    else:
        out = tuple(d for i, d in enumerate(shape) if i not in axes)
    return KerasTensor(out, float_dtype(dtype))


@op
def pinv(x, rcond=None):
    """Moore-Penrose pseudo-inverse (singular values below rcond * largest are dropped)."""
    shape, dtype = _matrix("pinv", x)
    return KerasTensor(shape[:-2] + (shape[-1], shape[-2]), dtype)


@op
def qr(x, mode="reduced"):
    """QR decomposition (q, r); mode "reduced" (K = min(M, N) columns) or "complete"."""
    if mode not in ("reduced", "complete"):
        raise ValueError(f"qr: mode must be 'reduced' or 'complete', got {mode!r}.")
    shape, dtype = _matrix("qr", x)
    m, n = shape[-2:]
    k = m if mode == "complete" else _dim_min(m, n)
    return KerasTensor(shape[:-2] + (m, k), dtype), KerasTensor(shape[:-2] + (k, n), dtype)


def solve_shape(name, sa, sb):
    if len(sa) < 2 or (sa[-1] is not None and sa[-2] is not None and sa[-1] != sa[-2]):
        raise ValueError(f"{name}: a must hold square matrices, got shape {sa}.")
    if not sb:
        raise ValueError(f"{name}: b must have rank >= 1, got shape {sb}.")
    m = sa[-1]
    if len(sb) == 1:
        if m is not None and sb[0] is not None and m != sb[0]:
            raise ValueError(f"{name}: a {sa} and b {sb} do not match.")
        return sa[:-2] + (m,)
    if m is not None and sb[-2] is not None and m != sb[-2]:
        raise ValueError(f"{name}: a {sa} and b {sb} do not match.")
    return broadcast_shapes(name, sa[:-2], sb[:-2]) + sb[-2:]


@op
def solve(a, b):
    """x with a @ x = b (b a vector when 1-D, else a batch of (M, K) matrices)."""
    sa, da = spec(a)
    sb, db = spec(b)
    return KerasTensor(solve_shape("solve", sa, sb), float_dtype(dtypes.result_type(da, db)))


@op
def solve_triangular(a, b, lower=False):
    """solve() for triangular a: only its lower (or upper) triangle is read."""
    sa, da = spec(a)
    sb, db = spec(b)
    return KerasTensor(solve_shape("solve_triangular", sa, sb),
                       float_dtype(dtypes.result_type(da, db)))


@op
def svd(x, full_matrices=True, compute_uv=True):
    """Singular value decomposition: (u, s, vh) with x = u @ diag(s) @ vh, s descending;
    only s when not `compute_uv`."""
    shape, dtype = _matrix("svd", x)
    batch, (m, n) = shape[:-2], shape[-2:]
    k = _dim_min(m, n)
    s = KerasTensor(batch + (k,), dtype)
    if not compute_uv:
        return s
    if full_matrices:
        return KerasTensor(batch + (m, m), dtype), s, KerasTensor(batch + (n, n), dtype)
    return KerasTensor(batch + (m, k), dtype), s, KerasTensor(batch + (k, n), dtype)


# --- Fourier transforms ((real, imag) pairs) ------------------------------------------------
def complex_pair(name, x):
    """Shape and float dtype of a (real, imag) pair; ValueError if it is not one."""
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise ValueError(f"{name}: expected a tuple (real, imag) of two tensors, got {type(x)}.")
    (sr, dr), (si, di) = spec(x[0]), spec(x[1])
    if len(sr) != len(si) or any(a is not None and b is not None and a != b
                                 for a, b in zip(sr, si)):
        raise ValueError(f"{name}: real and imaginary parts have different shapes {sr} and {si}.")
    if not dtypes.is_float(dr) or not dtypes.is_float(di):
        raise ValueError(f"{name}: real and imaginary parts must be float tensors, got {dr} "
                         f"and {di}.")
    shape = tuple(a if a is not None else b for a, b in zip(sr, si))
    return shape, dtypes.result_type(dr, di)


def _pair(shape, dtype):
    return KerasTensor(shape, dtype), KerasTensor(shape, dtype)


@op
def fft(x):
    """FFT along the last axis of the complex tensor x = (real, imag); returns a pair."""
    shape, dtype = complex_pair("fft", x)
    if not shape:
        raise ValueError("fft: input must have rank >= 1.")
    return _pair(shape, dtype)


@op
def fft2(x):
    """2-D FFT over the last two axes of x = (real, imag); returns a pair."""
    shape, dtype = complex_pair("fft2", x)
    if len(shape) < 2:
        raise ValueError(f"fft2: input must have rank >= 2, got shape {shape}.")
    return _pair(shape, dtype)


@op
def ifft2(x):
    """Inverse 2-D FFT over the last two axes of x = (real, imag); returns a pair."""
    shape, dtype = complex_pair("ifft2", x)
    if len(shape) < 2:
        raise ValueError(f"ifft2: input must have rank >= 2, got shape {shape}.")
    return _pair(shape, dtype)


@op
def rfft(x, fft_length=None):
    """FFT of the real `x` along its last axis (cropped/zero-padded to `fft_length`): the
    fft_length // 2 + 1 non-negative frequencies as (real, imag)."""
    shape, dtype = spec(x)
    if not shape:
        raise ValueError("rfft: input must have rank >= 1.")
    n = shape[-1] if fft_length is None else int(fft_length)
    return _pair(shape[:-1] + (None if n is None else n // 2 + 1,), float_dtype(dtype))


@op
def irfft(x, fft_length=None):
    """Inverse of rfft: a real signal of length `fft_length` (default 2 * (n - 1)) from the
    non-negative frequencies (real, imag)."""
    shape, dtype = complex_pair("irfft", x)
    if not shape:
        raise ValueError("irfft: input must have rank >= 1.")
    m = shape[-1]
    n = int(fft_length) if fft_length is not None else None if m is None else 2 * (m - 1)
    return KerasTensor(shape[:-1] + (n,), dtype)


def check_stft_args(name, sequence_length, sequence_stride, fft_length, window):
    if fft_length < sequence_length:
        raise ValueError(f"{name}: fft_length ({fft_length}) must be >= sequence_length "
                         f"({sequence_length}).")
    if sequence_stride < 1:
        raise ValueError(f"{name}: sequence_stride must be positive, got {sequence_stride}.")
    if isinstance(window, str) and window not in ("hann", "hamming"):
        raise ValueError(f"{name}: window must be 'hann', 'hamming', a tensor or None, got "
                         f"{window!r}.")
    if window is not None and not isinstance(window, str):
        wshape = spec(window)[0]
        if wshape != (sequence_length,):
            raise ValueError(f"{name}: window shape {wshape} must be ({sequence_length},).")


def stft_frames(n, sequence_stride, fft_length, center):
    if n is None:
        return None
    if center:
        n += 2 * (fft_length // 2)
    return 1 + (n - fft_length) // sequence_stride


def istft_length(frames, sequence_stride, fft_length, length, center):
    if length is not None:
        return int(length)
    if frames is None:
        return None
    n = fft_length + sequence_stride * (frames - 1)
    return n - 2 * (fft_length // 2) if center else n


@op
def stft(x, sequence_length, sequence_stride, fft_length, window="hann", center=True):
    """Short-time Fourier transform of real signals along the last axis: frames of
    `fft_length` samples every `sequence_stride` (input reflect-padded by fft_length // 2
    when `center`), windowed (periodic "hann"/"hamming" of `sequence_length` samples, a
    tensor, or None), then rfft. Returns (real, imag) of shape (..., frames, bins)."""
    shape, dtype = spec(x)
    if not shape:
        raise ValueError("stft: input must have rank >= 1.")
    check_stft_args("stft", sequence_length, sequence_stride, fft_length, window)
    frames = stft_frames(shape[-1], sequence_stride, fft_length, center)
    if frames is not None and frames < 1:
        raise ValueError(f"stft: a signal of length {shape[-1]} is shorter than one frame.")
    return _pair(shape[:-1] + (frames, fft_length // 2 + 1), float_dtype(dtype))


@op
def istft(x, sequence_length, sequence_stride, fft_length, length=None, window="hann",
          center=True):
    """Inverse of stft by windowed overlap-add of the irfft frames of x = (real, imag)
    (..., frames, bins), normalized by the overlapped squared window."""
    shape, dtype = complex_pair("istft", x)
    if len(shape) < 2:
        raise ValueError(f"istft: input must have rank >= 2, got shape {shape}.")
    check_stft_args("istft", sequence_length, sequence_stride, fft_length, window)
    n = istft_length(shape[-2], sequence_stride, fft_length, length, center)
    return KerasTensor(shape[:-2] + (n,), dtype)


@op
def jvp(fun, primals, tangents, has_aux=False):
    """Forward-mode derivative: (fun(*primals), J @ tangents) (and aux when `has_aux`, fun
    then returning (output, aux))."""
    out = fun(*primals)
    if has_aux:
        out, aux = out
    from unikeras.common.ops.control import map_leaves
    from unikeras.common.ops.shapes import spec as _spec
    specs = map_leaves(lambda t: KerasTensor(*_spec(t)), out)
    return (out, specs, aux) if has_aux else (out, specs)
