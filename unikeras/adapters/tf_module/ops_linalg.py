"""Backend implementations of the linalg op family: tf.linalg and tf.signal kernels."""
import numpy as np
import tensorflow as tf

from unikeras import config
from unikeras.adapters.tf_module.ops import _FLOATS, _TF, _t
from unikeras.common import dtypes
from unikeras.common.ops.control import map_leaves
from unikeras.common.ops.linalg import istft_length, norm_axes

# Every op of the family is implemented here: export the family's list.
from unikeras.common.ops.linalg import __all__  # noqa: E402,F401


def _f(x):
    x = _t(x)
    return x if x.dtype in _FLOATS else tf.cast(x, _TF[config.floatx()])


def _f2(a, b):
    a, b = _t(a), _t(b)
    d = dtypes.result_type(a.dtype.name, b.dtype.name)
    d = _TF[d] if _TF[d] in _FLOATS else _TF[config.floatx()]
    return tf.cast(a, d), tf.cast(b, d)


def _mT(x):
    return tf.linalg.adjoint(x)


def _eye_like(x):
    return tf.eye(tf.shape(x)[-1], batch_shape=tf.shape(x)[:-2], dtype=x.dtype)


def cholesky(x, upper=False):
    out = tf.linalg.cholesky(_f(x))
    return _mT(out) if upper else out


def cholesky_inverse(x, upper=False):
    x = _f(x)
    return tf.linalg.cholesky_solve(_mT(x) if upper else x, _eye_like(x))


def det(x):
    return tf.linalg.det(_f(x))


def eig(x):
    x = _f(x)
    w, v = tf.linalg.eig(x)
    return w, v


def eigh(x):
    w, v = tf.linalg.eigh(_f(x))
    return w, v


def inv(x):
    return tf.linalg.inv(_f(x))


def slogdet(x):
    sign, logabs = tf.linalg.slogdet(_f(x))
    return sign, logabs


def logdet(x):
    return tf.linalg.slogdet(_f(x))[1]


def _rtol(x, rcond):
    if rcond is not None:
        return rcond
    return max(x.shape[-2:]) * float(np.finfo(x.dtype.as_numpy_dtype).eps)


def pinv(x, rcond=None):
    x = _f(x)
    s, u, v = tf.linalg.svd(x, full_matrices=False)
    cut = s > _rtol(x, rcond) * tf.reduce_max(s, axis=-1, keepdims=True)
    s_inv = tf.where(cut, 1.0 / tf.where(cut, s, tf.ones_like(s)), tf.zeros_like(s))
    return tf.matmul(v * s_inv[..., None, :], u, adjoint_b=True)


def lstsq(a, b, rcond=None):
    a, b = _f2(a, b)   # minimum-norm solution through the SVD, as LAPACK's gelsd
    p = pinv(a, rcond)
    return tf.linalg.matvec(p, b) if b.shape.rank == 1 else tf.matmul(p, b)


def lu_factor(x):
    x = _f(x)
    lu, perm = tf.linalg.lu(x)
    # tf gives the final row permutation; LAPACK pivots are the sequence of row swaps
    # producing it: pivot[j] = current position of row perm[j] when step j runs.
    n = x.shape[-1]
    perm = tf.cast(perm, tf.int32)
    idx = tf.range(n, dtype=tf.int32)
    cur = tf.broadcast_to(idx, tf.shape(perm))
    pivots = []
    for j in range(n):
        target = perm[..., j:j + 1]
        p = tf.argmax(tf.cast(tf.equal(cur, target), tf.int32), axis=-1, output_type=tf.int32)
        pivots.append(p)
        row_j = cur[..., j:j + 1]
        row_p = tf.gather(cur, p[..., None], batch_dims=len(cur.shape) - 1)
        cur = tf.where(tf.equal(idx, j), row_p, tf.where(tf.equal(idx, p[..., None]), row_j, cur))
    return lu, tf.stack(pivots, axis=-1)


def matrix_rank(x, tol=None):
    x = _f(x)
    s = tf.linalg.svd(x, compute_uv=False)
    if tol is None:
        tol = tf.reduce_max(s, axis=-1, keepdims=True) * _rtol(x, None)
    else:
        tol = tf.cast(_t(tol), x.dtype)[..., None]
    return tf.reduce_sum(tf.cast(s > tol, tf.int32), axis=-1)


def _vector_norm(x, ord, axis, keepdims):
    a = tf.abs(x)
    if ord is None or ord == 2:
        return tf.sqrt(tf.reduce_sum(a * a, axis=axis, keepdims=keepdims))
    if ord == float("inf"):
        return tf.reduce_max(a, axis=axis, keepdims=keepdims)
    if ord == float("-inf"):
        return tf.reduce_min(a, axis=axis, keepdims=keepdims)
    if ord == 0:
        return tf.cast(tf.math.count_nonzero(a, axis=axis, keepdims=keepdims), x.dtype)
    return tf.pow(tf.reduce_sum(tf.pow(a, ord), axis=axis, keepdims=keepdims), 1.0 / ord)


def _matrix_norm(x, ord, r, c, keepdims):
    a = tf.abs(x)
    if ord in (None, "fro"):
        return tf.sqrt(tf.reduce_sum(a * a, axis=(r, c), keepdims=keepdims))
    if ord in (1, -1, float("inf"), float("-inf")):
        inner, outer = (r, c) if ord in (1, -1) else (c, r)
        reduce = tf.reduce_max if ord in (1, float("inf")) else tf.reduce_min
        out = reduce(tf.reduce_sum(a, axis=inner, keepdims=True), axis=outer, keepdims=True)
        return out if keepdims else tf.squeeze(out, axis=(r, c))
    rank = x.shape.rank
    perm = [i for i in range(rank) if i not in (r, c)] + [r, c]
    s = tf.linalg.svd(tf.transpose(x, perm), compute_uv=False)
    out = {"nuc": tf.reduce_sum, 2: tf.reduce_max, -2: tf.reduce_min}[ord](s, axis=-1)
    if keepdims:
        for ax in sorted((r, c)):
            out = tf.expand_dims(out, ax)
    return out


def norm(x, ord=None, axis=None, keepdims=False):
    x = _f(x)
    axes = norm_axes(tuple(x.shape), ord, axis)
    if axes is None:
        out = tf.sqrt(tf.reduce_sum(x * x))
        return tf.reshape(out, (1,) * x.shape.rank) if keepdims else out
    if len(axes) == 1:
        return _vector_norm(x, ord, axes[0], keepdims)
    return _matrix_norm(x, ord, axes[0], axes[1], keepdims)


def qr(x, mode="reduced"):
    q, r = tf.linalg.qr(_f(x), full_matrices=mode == "complete")
    return q, r


def _solve(fn, a, b):
    if b.shape.rank == 1:
        b = tf.broadcast_to(b[:, None], tf.concat([tf.shape(a)[:-2], [tf.shape(b)[0], 1]], 0))
        return fn(a, b)[..., 0]
    batch = tf.broadcast_dynamic_shape(tf.shape(a)[:-2], tf.shape(b)[:-2])
    return fn(tf.broadcast_to(a, tf.concat([batch, tf.shape(a)[-2:]], 0)),
              tf.broadcast_to(b, tf.concat([batch, tf.shape(b)[-2:]], 0)))


def solve(a, b):
    a, b = _f2(a, b)
    return _solve(tf.linalg.solve, a, b)


def solve_triangular(a, b, lower=False):
    a, b = _f2(a, b)
    return _solve(lambda a, b: tf.linalg.triangular_solve(a, b, lower=lower), a, b)


def svd(x, full_matrices=True, compute_uv=True):
    x = _f(x)
    if not compute_uv:
        return tf.linalg.svd(x, compute_uv=False)
    s, u, v = tf.linalg.svd(x, full_matrices=full_matrices)
    return u, s, _mT(v)


# --- Fourier -------------------------------------------------------------------------------
def _complex(x):
    re, im = _f2(x[0], x[1])
    return tf.complex(re, im)


def _split(c):
    return tf.math.real(c), tf.math.imag(c)


def fft(x):
    return _split(tf.signal.fft(_complex(x)))


def fft2(x):
    return _split(tf.signal.fft2d(_complex(x)))


def ifft2(x):
    return _split(tf.signal.ifft2d(_complex(x)))


def rfft(x, fft_length=None):
    x = _f(x)
    n = x.shape[-1] if fft_length is None else fft_length
    if n is None:
        n = tf.shape(x)[-1]
    return _split(tf.signal.rfft(x, fft_length=tf.reshape(n, [1])))


def irfft(x, fft_length=None):
    c = _complex(x)
    if fft_length is None:
        m = c.shape[-1]
        fft_length = 2 * (m - 1) if m is not None else 2 * (tf.shape(c)[-1] - 1)
    return tf.signal.irfft(c, fft_length=tf.reshape(fft_length, [1]))


def _window(window, sequence_length, fft_length, dtype):
    if window is None:
        w = tf.ones((sequence_length,), dtype)
    elif isinstance(window, str):
        t = 2 * np.pi * np.arange(sequence_length) / sequence_length   # periodic windows
        a0 = 0.5 if window == "hann" else 0.54
        w = tf.constant(a0 - (1 - a0) * np.cos(t), dtype)
    else:
        w = tf.cast(_t(window), dtype)
    left = (fft_length - sequence_length) // 2
    return tf.pad(w, [[left, fft_length - sequence_length - left]])


def stft(x, sequence_length, sequence_stride, fft_length, window="hann", center=True):
    x = _f(x)
    if center:
        pad = fft_length // 2
        x = tf.pad(x, [[0, 0]] * (x.shape.rank - 1) + [[pad, pad]], mode="REFLECT")
    w = _window(window, sequence_length, fft_length, x.dtype)
    frames = tf.signal.frame(x, fft_length, sequence_stride, pad_end=False)
    return _split(tf.signal.rfft(frames * w, fft_length=[fft_length]))


def istft(x, sequence_length, sequence_stride, fft_length, length=None, window="hann",
          center=True):
    c = _complex(x)
    frames = tf.signal.irfft(c, fft_length=[fft_length])
    dtype = frames.dtype
    w = _window(window, sequence_length, fft_length, dtype)
    t = frames.shape[-2]
    out = tf.signal.overlap_and_add(frames * w, sequence_stride)
    norm = tf.signal.overlap_and_add(tf.tile((w * w)[None, :], [t, 1]), sequence_stride)
    out = out / tf.where(norm > 1e-10, norm, tf.ones_like(norm))
    if window is None:
        out = out * (fft_length / sequence_stride)
    start = fft_length // 2 if center else 0
    n = istft_length(t, sequence_stride, fft_length, length, center)
    return out[..., start:start + n]


def jvp(fun, primals, tangents, has_aux=False):
    primals = tuple(map_leaves(_t, p) for p in primals)
    tangents = tuple(map_leaves(_t, t) for t in tangents)
    with tf.autodiff.ForwardAccumulator(primals, tangents) as acc:
        out = fun(*primals)
        if has_aux:
            out, aux = out
    tangent_out = map_leaves(lambda o: _jvp_or_zeros(acc, o), out)
    return (out, tangent_out, aux) if has_aux else (out, tangent_out)


def _jvp_or_zeros(acc, o):
    t = acc.jvp(o)
    return tf.zeros_like(o) if t is None else t
