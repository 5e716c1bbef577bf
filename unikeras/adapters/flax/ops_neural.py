"""JAX implementations of the neural op family: jax.nn activations, lax.conv_general_dilated
convolutions, lax.reduce_window pooling; every function jit-safe and differentiable."""
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from unikeras import config
from unikeras.adapters.flax.ops import (
    _FLOATS, _as, _convert, _dtype_name, _float, _j, _jdtype, _static_jit)
from unikeras.common import dtypes
from unikeras.common.ops import neural as _def

__all__ = list(_def.IMPL_NAMES)


def _float_op(fn, *static):
    """Activation `fn(x, **static)` on float x, behind jit with `static` hyper-parameters."""
    jitted = _static_jit(fn, *static)

    def apply(x, *args, **kwargs):
        return jitted(_float(x), *args, **kwargs)
    apply.__name__ = apply.__qualname__ = fn.__name__
    return apply


def _elu(x, alpha):
    return jnp.where(x > 0, x, alpha * jnp.expm1(jnp.minimum(x, 0)))


def _celu(x, alpha):
    return jax.nn.celu(x, alpha)


def _soft_shrink(x, threshold):
    return jnp.where(x > threshold, x - threshold,
                     jnp.where(x < -threshold, x + threshold, jnp.zeros((), x.dtype)))


def _sparsemax(x, axis):
    z = jnp.moveaxis(x, axis, -1)
    zs = -jnp.sort(-z, axis=-1)
    k = jnp.arange(1, z.shape[-1] + 1, dtype=x.dtype)
    cs = jnp.cumsum(zs, axis=-1)
    kz = jnp.sum((1 + k * zs) > cs, axis=-1, keepdims=True)
    tau = (jnp.take_along_axis(cs, kz - 1, axis=-1) - 1) / kz.astype(x.dtype)
    return jnp.moveaxis(jnp.maximum(z - tau, 0), -1, axis)


relu6 = _float_op(jax.nn.relu6)
_elu_j = _static_jit(_elu, "alpha")
_celu_j = _static_jit(_celu, "alpha")
_gelu_j = _static_jit(lambda x, approximate: jax.nn.gelu(x, approximate=approximate),
                      "approximate")
_glu_j = _static_jit(lambda x, axis: jax.nn.glu(x, axis=axis), "axis")
selu = _float_op(jax.nn.selu)
silu = _float_op(jax.nn.silu)
hard_sigmoid = _float_op(jax.nn.hard_sigmoid)
hard_silu = _float_op(jax.nn.hard_silu)
hard_tanh = _float_op(jax.nn.hard_tanh)
tanh_shrink = _float_op(lambda x: x - jnp.tanh(x))
softplus = _float_op(jax.nn.softplus)
softsign = _float_op(jax.nn.soft_sign)
sparse_plus = _float_op(jax.nn.sparse_plus)
sparse_sigmoid = _float_op(jax.nn.sparse_sigmoid)
log_sigmoid = _float_op(jax.nn.log_sigmoid)
_hard_shrink_j = _static_jit(lambda x, threshold: jnp.where(jnp.abs(x) > threshold, x,
                                                            jnp.zeros((), x.dtype)), "threshold")
_soft_shrink_j = _static_jit(_soft_shrink, "threshold")
_sparsemax_j = _static_jit(_sparsemax, "axis")
_leaky_j = _static_jit(lambda x, negative_slope: jax.nn.leaky_relu(x, negative_slope),
                       "negative_slope")


def elu(x, alpha=1.0):
    return _elu_j(_float(x), alpha=alpha)


def celu(x, alpha=1.0):
    return _celu_j(_float(x), alpha=alpha)


def gelu(x, approximate=True):
    return _gelu_j(_float(x), approximate=bool(approximate))


def glu(x, axis=-1):
    x = _float(x)
    if x.shape[axis] % 2:
        raise ValueError(f"glu: axis {axis} of shape {x.shape} must have an even size.")
    return _glu_j(x, axis=axis)


def hard_shrink(x, threshold=0.5):
    return _hard_shrink_j(_float(x), threshold=threshold)


def soft_shrink(x, threshold=0.5):
    return _soft_shrink_j(_float(x), threshold=threshold)


def sparsemax(x, axis=-1):
    return _sparsemax_j(_float(x), axis=axis)


def squareplus(x, b=4):
    x = _float(x)
    return (x + jnp.sqrt(x * x + b)) / 2


def threshold(x, threshold, default_value):
    x = _float(x)
    return jnp.where(x > threshold, x, jnp.asarray(default_value, x.dtype))


def leaky_relu(x, negative_slope=0.2):
    return _leaky_j(_float(x), negative_slope=negative_slope)


# --- convolution and pooling -----------------------------------------------------------------
_SPATIAL = {1: "W", 2: "HW", 3: "DHW"}


def _dimension_numbers(n, fmt):
    sp = _SPATIAL[n]
    lhs = "N" + sp + "C" if fmt == "channels_last" else "NC" + sp
    return lhs, sp + "IO", lhs


def _promote_float(*xs):
    xs = [_j(x) for x in xs]
    dt = dtypes.result_type(*[_dtype_name(x.dtype) for x in xs])
    jd = _jdtype(dt if dtypes.is_float(dt) else config.floatx())
    return [_as(x, jd) for x in xs]


def _h(v):
    """A hashable static argument (lists become tuples)."""
    return tuple(v) if isinstance(v, list) else v


def _spatial(x, fmt):
    return x.shape[1:-1] if fmt == "channels_last" else x.shape[2:]


@functools.partial(jax.jit, static_argnames=("name", "strides", "padding", "dilation_rate", "fmt"),
                   inline=True)
def _conv_impl(x, kernel, name, strides, padding, dilation_rate, fmt):
    n = x.ndim - 2
    if n not in _SPATIAL:
        raise ValueError(f"{name}: 1, 2 or 3 spatial dims supported, got inputs of rank {x.ndim}.")
    s = _def.tuple_arg(name, "strides", strides, n)
    d = _def.tuple_arg(name, "dilation_rate", dilation_rate, n)
    p = _def.padding_of(name, padding)
    sp = _spatial(x, fmt)
    ch = x.shape[-1] if fmt == "channels_last" else x.shape[1]
    cin = kernel.shape[-2]
    if ch % cin:
        raise ValueError(f"{name}: inputs have {ch} channels, not a multiple of the kernel's "
                         f"{cin} input channels (kernel shape {kernel.shape}).")
    pads = [_def.same_pads(sp[i], kernel.shape[i], s[i], d[i]) if p == "same" else (0, 0)
            for i in range(n)]
    return lax.conv_general_dilated(x, kernel, s, pads, rhs_dilation=d,
                                    dimension_numbers=_dimension_numbers(n, fmt),
                                    feature_group_count=ch // cin)


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    fmt = _def.data_format_of("conv", data_format)
    x, kernel = _promote_float(inputs, kernel)
    return _conv_impl(x, kernel, name="conv", strides=_h(strides), padding=padding,
                      dilation_rate=_h(dilation_rate), fmt=fmt)


def _depthwise_kernel(k):
    return jnp.reshape(k, k.shape[:-2] + (1, k.shape[-2] * k.shape[-1]))


def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    fmt = _def.data_format_of("depthwise_conv", data_format)
    x, kernel = _promote_float(inputs, kernel)
    return _conv_impl(x, _depthwise_kernel(kernel), name="depthwise_conv", strides=_h(strides),
                      padding=padding, dilation_rate=_h(dilation_rate), fmt=fmt)


def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid",
                   data_format=None, dilation_rate=1):
    fmt = _def.data_format_of("separable_conv", data_format)
    x, dk, pk = _promote_float(inputs, depthwise_kernel, pointwise_kernel)
    mid = _conv_impl(x, _depthwise_kernel(dk), name="separable_conv", strides=_h(strides),
                     padding=padding, dilation_rate=_h(dilation_rate), fmt=fmt)
    return _conv_impl(mid, pk, name="separable_conv", strides=1, padding="valid",
                      dilation_rate=1, fmt=fmt)


def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None,
                   data_format=None, dilation_rate=1):
    fmt = _def.data_format_of("conv_transpose", data_format)
    x, kernel = _promote_float(inputs, kernel)
    return _conv_transpose(x, kernel, strides=_h(strides), padding=padding,
                           output_padding=_h(output_padding), fmt=fmt,
                           dilation_rate=_h(dilation_rate))


@functools.partial(jax.jit, static_argnames=("strides", "padding", "output_padding", "fmt",
                                             "dilation_rate"), inline=True)
def _conv_transpose(x, kernel, strides, padding, output_padding, fmt, dilation_rate):
    n = x.ndim - 2
    s = _def.tuple_arg("conv_transpose", "strides", strides, n)
    d = _def.tuple_arg("conv_transpose", "dilation_rate", dilation_rate, n)
    p = _def.padding_of("conv_transpose", padding)
    ops_ = (None,) * n if output_padding is None else _def.tuple_arg(
        "conv_transpose", "output_padding", output_padding, n)
    sp = _spatial(x, fmt)
    pads = [_def.transpose_pads(sp[i], kernel.shape[i], s[i], d[i], p, ops_[i])[:2]
            for i in range(n)]
    flipped = jnp.swapaxes(jnp.flip(kernel, axis=tuple(range(n))), -1, -2)
    return lax.conv_general_dilated(x, flipped, (1,) * n, pads, lhs_dilation=s, rhs_dilation=d,
                                    dimension_numbers=_dimension_numbers(n, fmt))


def _window(name, x, pool_size, strides, padding, fmt):
    n = x.ndim - 2
    k = _def.tuple_arg(name, "pool_size", pool_size, n)
    s = k if strides is None else _def.tuple_arg(name, "strides", strides, n)
    p = _def.padding_of(name, padding)
    sp = _spatial(x, fmt)
    pads = [_def.same_pads(sp[i], k[i], s[i], 1) if p == "same" else (0, 0) for i in range(n)]
    if fmt == "channels_last":
        return (1,) + k + (1,), (1,) + s + (1,), [(0, 0)] + pads + [(0, 0)]
    return (1, 1) + k, (1, 1) + s, [(0, 0), (0, 0)] + pads


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    fmt = _def.data_format_of("max_pool", data_format)
    return _max_pool(_j(inputs), pool_size=_h(pool_size), strides=_h(strides), padding=padding,
                     fmt=fmt)


_POOL_STATIC = ("pool_size", "strides", "padding", "fmt")


@functools.partial(jax.jit, static_argnames=_POOL_STATIC, inline=True)
def _max_pool(x, pool_size, strides, padding, fmt):
    dims, strides_, pads = _window("max_pool", x, pool_size, strides, padding, fmt)
    if dims == strides_ and all(p == (0, 0) for p in pads) and x.dtype in _FLOATS:
        return _tiled_max_pool(x, dims)
    return _window_max(x, dims, strides_, pads)


def _window_max(x, dims, strides, pads):
    # Python-scalar identities: lax then picks its differentiable max/add window primitives.
    init = -np.inf if x.dtype in _FLOATS else int(jnp.iinfo(x.dtype).min)
    return lax.reduce_window(x, init, lax.max, dims, strides, pads)


@functools.partial(jax.custom_jvp, nondiff_argnums=(1,))
def _tiled_max_pool(x, dims):
    """Max pooling over non-overlapping windows (strides = pool size, no padding), the
    usual case. Forward as `reduce_window`; its derivative takes, as there, the first
    maximum of each window, but as element-wise ops on the windows laid out as tiles,
    which XLA fuses, so that the gradient (the transposed JVP) is no `select_and_scatter`
    (5x slower on XLA's CPU backend, where it dominated a small CNN's training step)."""
    return _window_max(x, dims, dims, [(0, 0)] * x.ndim)


def _tiles(x, dims, out_shape):
    """`x` cropped to the windows and reshaped to (..., d_i, k_i, ...) for each axis."""
    cropped = x[tuple(slice(0, o * k) for o, k in zip(out_shape, dims))]
    shape = [s for o, k in zip(out_shape, dims) for s in ((o, k) if k > 1 else (o,))]
    return cropped.reshape(shape)


@_tiled_max_pool.defjvp
def _tiled_max_pool_jvp(dims, primals, tangents):
    (x,), (t,) = primals, tangents
    out = _tiled_max_pool(x, dims)
    window_axes, at = [], 0   # where each window axis sits in the tiled layout
    for k in dims:
        if k > 1:
            window_axes.append(at + 1)
        at += 2 if k > 1 else 1
    hit = _tiles(x, dims, out.shape) == jnp.expand_dims(out, window_axes)
    # the first maximum in row-major window order: the one with no earlier hit
    last = list(range(hit.ndim - len(window_axes), hit.ndim))
    moved = jnp.moveaxis(hit, window_axes, last)
    flat = moved.reshape(moved.shape[:last[0]] + (-1,))
    first = flat & (jnp.cumsum(flat, axis=-1, dtype=jnp.int32) == 1)
    first = jnp.moveaxis(first.reshape(moved.shape), last, window_axes)
    picked = jnp.where(first, _tiles(t, dims, out.shape), jnp.zeros((), t.dtype))
    return out, jnp.sum(picked, axis=tuple(window_axes))


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    fmt = _def.data_format_of("average_pool", data_format)
    return _average_pool(_float(inputs), pool_size=_h(pool_size), strides=_h(strides),
                         padding=padding, fmt=fmt)


@functools.partial(jax.jit, static_argnames=_POOL_STATIC, inline=True)
def _average_pool(x, pool_size, strides, padding, fmt):
    dims, strides_, pads = _window("average_pool", x, pool_size, strides, padding, fmt)
    zero = 0.0
    total = lax.reduce_window(x, zero, lax.add, dims, strides_, pads)
    if all(p == (0, 0) for p in pads):
        return total / math.prod(dims)
    ones = jnp.ones((1,) + x.shape[1:], x.dtype)
    count = lax.reduce_window(ones, zero, lax.add, dims, strides_, pads)
    return total / count


def _adaptive_matrix(n, m, dtype):
    starts, ends = _def.adaptive_windows(n, m)
    mat = np.zeros((m, n), dtype)
    for i, (a, b) in enumerate(zip(starts, ends)):
        mat[i, a:b] = 1.0 / (b - a)
    return mat


def _adaptive_axes(x, fmt):
    return range(1, x.ndim - 1) if fmt == "channels_last" else range(2, x.ndim)


def adaptive_average_pool(inputs, output_size, data_format=None):
    fmt = _def.data_format_of("adaptive_average_pool", data_format)
    x = _float(inputs)
    axes = list(_adaptive_axes(x, fmt))
    out = _def.tuple_arg("adaptive_average_pool", "output_size", output_size, len(axes))
    for a, m in zip(axes, out):
        mat = jnp.asarray(_adaptive_matrix(x.shape[a], m, "float32"), x.dtype)
        x = jnp.moveaxis(jnp.tensordot(x, mat, axes=[[a], [1]]), -1, a)
    return x


def _gather_windows(n, m):
    starts, ends = _def.adaptive_windows(n, m)
    length = max(b - a for a, b in zip(starts, ends))
    idx = np.array([[min(a + j, b - 1) for j in range(length)] for a, b in zip(starts, ends)])
    return idx


def adaptive_max_pool(inputs, output_size, data_format=None):
    fmt = _def.data_format_of("adaptive_max_pool", data_format)
    x = _j(inputs)
    axes = list(_adaptive_axes(x, fmt))
    out = _def.tuple_arg("adaptive_max_pool", "output_size", output_size, len(axes))
    for a, m in zip(axes, out):
        # Windows of unequal length: repeat each window's last index up to the longest.
        idx = _gather_windows(x.shape[a], m)
        g = jnp.take(x, jnp.asarray(idx.reshape(-1)), axis=a)
        g = jnp.reshape(g, x.shape[:a] + idx.shape + x.shape[a + 1:])
        x = jnp.max(g, axis=a + 1)
    return x


# --- normalization ---------------------------------------------------------------------------
@functools.partial(jax.jit, static_argnames=("axes", "keepdims"), inline=True)
def _moments(x, axes, keepdims):
    mean = jnp.mean(x, axis=axes, keepdims=True)
    var = jnp.mean(jnp.square(x - mean), axis=axes, keepdims=keepdims)
    return (mean if keepdims else jnp.squeeze(mean, axes)), var


def moments(x, axes, keepdims=False, synchronized=False):
    x = _float(x)
    return _moments(x, axes=_def.axes_tuple("moments", axes, x.ndim), keepdims=bool(keepdims))


def _along(v, axis, ndim):
    shape = [1] * ndim
    shape[axis] = -1
    return jnp.reshape(v, shape)


def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    args = [a for a in (x, mean, variance, offset, scale) if a is not None]
    parts = iter(_promote_float(*args))
    x, mean, variance = next(parts), next(parts), next(parts)
    offset = next(parts) if offset is not None else None
    scale = next(parts) if scale is not None else None
    a = _def.canonical_axis("batch_normalization", axis, x.ndim)
    return _batch_norm(x, mean, variance, offset, scale, axis=a, epsilon=epsilon)


@functools.partial(jax.jit, static_argnames=("axis", "epsilon"), inline=True)
def _batch_norm(x, mean, variance, offset, scale, axis, epsilon):
    a = axis
    inv = lax.rsqrt(_along(variance, a, x.ndim) + epsilon)
    if scale is not None:
        inv = inv * _along(scale, a, x.ndim)
    out = (x - _along(mean, a, x.ndim)) * inv
    return out if offset is None else out + _along(offset, a, x.ndim)


def _param(p, x, axes):
    if p.ndim != x.ndim and p.ndim == len(axes):
        shape = [1] * x.ndim
        for a, size in zip(axes, p.shape):
            shape[a] = size
        p = jnp.reshape(p, shape)
    return p


def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon=None, **kwargs):
    parts = iter(_promote_float(*[a for a in (x, gamma, beta) if a is not None]))
    x = next(parts)
    gamma = next(parts) if gamma is not None else None
    beta = next(parts) if beta is not None else None
    axes = _def.axes_tuple("layer_normalization", axis, x.ndim)
    eps = config.epsilon() if epsilon is None else epsilon
    return _layer_norm(x, gamma, beta, axes=axes, eps=eps)


@functools.partial(jax.jit, static_argnames=("axes", "eps"), inline=True)
def _layer_norm(x, gamma, beta, axes, eps):
    mean = jnp.mean(x, axis=axes, keepdims=True)
    var = jnp.mean(jnp.square(x - mean), axis=axes, keepdims=True)
    out = (x - mean) * lax.rsqrt(var + eps)
    if gamma is not None:
        out = out * _param(gamma, x, axes)
    return out if beta is None else out + _param(beta, x, axes)


def rms_normalization(x, scale=None, axis=-1, epsilon=None):
    parts = iter(_promote_float(*[a for a in (x, scale) if a is not None]))
    x = next(parts)
    scale = next(parts) if scale is not None else None
    axes = _def.axes_tuple("rms_normalization", axis, x.ndim)
    eps = config.epsilon() if epsilon is None else epsilon
    return _rms_norm(x, scale, axes=axes, eps=eps)


@functools.partial(jax.jit, static_argnames=("axes", "eps"), inline=True)
def _rms_norm(x, scale, axes, eps):
    out = x * lax.rsqrt(jnp.mean(jnp.square(x), axis=axes, keepdims=True) + eps)
    return out if scale is None else out * _param(scale, x, axes)


def normalize(x, axis=-1, order=2, epsilon=None):
    x = _float(x)
    eps = config.epsilon() if epsilon is None else epsilon
    return _normalize(x, axes=_def.axes_tuple("normalize", axis, x.ndim), order=order, eps=eps)


@functools.partial(jax.jit, static_argnames=("axes", "order", "eps"), inline=True)
def _normalize(x, axes, order, eps):
    if order == 2:
        inv = lax.rsqrt(jnp.sum(jnp.square(x), axis=axes, keepdims=True))
        return x * jnp.minimum(inv, 1.0 / eps)
    norm = jnp.sum(jnp.abs(x) ** order, axis=axes, keepdims=True) ** (1.0 / order)
    return x / jnp.maximum(norm, eps)


# --- losses ----------------------------------------------------------------------------------
def binary_crossentropy(target, output, from_logits=False):
    t, o = _promote_float(target, output)
    return _bce(t, o, from_logits=bool(from_logits), eps=config.epsilon())


@functools.partial(jax.jit, static_argnames=("from_logits", "eps"), inline=True)
def _bce(t, o, from_logits, eps):
    if from_logits:
        return jnp.maximum(o, 0) - o * t + jnp.log1p(jnp.exp(-jnp.abs(o)))
    o = jnp.clip(o, eps, 1 - eps)
    return -(t * jnp.log(o) + (1 - t) * jnp.log1p(-o))


def _log_probs(o, from_logits, axis, eps):
    if from_logits:
        return jax.nn.log_softmax(o, axis=axis)
    o = o / jnp.sum(o, axis=axis, keepdims=True)
    return jnp.log(jnp.clip(o, eps, 1 - eps))


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    t, o = _promote_float(target, output)
    return _cce(t, o, from_logits=bool(from_logits), axis=axis, eps=config.epsilon())


@functools.partial(jax.jit, static_argnames=("from_logits", "axis", "eps"), inline=True)
def _cce(t, o, from_logits, axis, eps):
    return -jnp.sum(t * _log_probs(o, from_logits, axis, eps), axis=axis)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    o = _float(output)
    t = _j(target)
    if t.ndim == o.ndim and t.shape[-1] == 1:
        t = jnp.squeeze(t, -1)
    a = _def.canonical_axis("sparse_categorical_crossentropy", axis, o.ndim)
    return _scce(_convert(t, jnp.int32), o, from_logits=bool(from_logits), axis=a,
                 eps=config.epsilon())


@functools.partial(jax.jit, static_argnames=("from_logits", "axis", "eps"), inline=True)
def _scce(t, o, from_logits, axis, eps):
    # Each label's log-probability picked by a select against the class index and a sum:
    # XLA fuses both into the log-softmax's own loops, where a gather (and the scatter of
    # its gradient) runs as separate kernels. Labels outside [0, classes) get 0.
    lp = _log_probs(o, from_logits, axis, eps)
    hit = lax.broadcasted_iota(t.dtype, lp.shape, axis) == jnp.expand_dims(t, axis)
    return -jnp.sum(jnp.where(hit, lp, 0), axis=axis)


# --- the rest --------------------------------------------------------------------------------
def multi_hot(inputs, num_classes=None, axis=-1, dtype=None, sparse=False, **kwargs):
    if num_classes is None:
        num_classes = kwargs.pop("num_tokens", None)
    if sparse:
        raise ValueError("multi_hot: sparse=True is not supported.")
    x = _j(inputs)
    if not jnp.issubdtype(x.dtype, jnp.integer):
        x = _convert(x, jnp.int32)
    out = jnp.expand_dims(x, -1) == jnp.arange(num_classes)
    if axis != -1:
        out = jnp.moveaxis(out, -1, axis)
    return _convert(jnp.any(out, axis=1 if x.ndim > 1 else 0), _jdtype(dtype))


def psnr(x1, x2, max_val):
    a, b = _promote_float(x1, x2)
    mse = jnp.mean(jnp.square(a - b))
    return (20 * math.log10(max_val) - 10 * jnp.log10(mse)).astype(a.dtype)


def depth_to_space(x, block_size, data_format="channels_last"):
    x = _j(x)
    b = int(block_size)
    if data_format == "channels_last":
        n, h, w, c = x.shape
        x = jnp.reshape(x, (n, h, w, b, b, c // (b * b))).transpose(0, 1, 3, 2, 4, 5)
        return jnp.reshape(x, (n, h * b, w * b, c // (b * b)))
    n, c, h, w = x.shape
    x = jnp.reshape(x, (n, c // (b * b), b, b, h, w)).transpose(0, 1, 4, 2, 5, 3)
    return jnp.reshape(x, (n, c // (b * b), h * b, w * b))


def space_to_depth(x, block_size, data_format="channels_last"):
    x = _j(x)
    b = int(block_size)
    if data_format == "channels_last":
        n, h, w, c = x.shape
        x = jnp.reshape(x, (n, h // b, b, w // b, b, c)).transpose(0, 1, 3, 2, 4, 5)
        return jnp.reshape(x, (n, h // b, w // b, c * b * b))
    n, c, h, w = x.shape
    x = jnp.reshape(x, (n, c, h // b, b, w // b, b)).transpose(0, 1, 3, 5, 2, 4)
    return jnp.reshape(x, (n, c * b * b, h // b, w // b))


def dot_product_attention(query, key, value, bias=None, mask=None, scale=None, is_causal=False,
                          flash_attention=None, attn_logits_soft_cap=None):
    q, k, v = _promote_float(query, key, value)
    bias = None if bias is None else _as(_j(bias), q.dtype)
    mask = None if mask is None else _convert(_j(mask), jnp.bool_)
    if scale is not None and not isinstance(scale, (int, float)):  # a tensor: fold into q
        q, scale = q * _as(_j(scale), q.dtype), 1.0
    return _attention(q, k, v, bias, mask, scale=scale, is_causal=bool(is_causal),
                      cap=attn_logits_soft_cap)


@functools.partial(jax.jit, static_argnames=("scale", "is_causal", "cap"), inline=True)
def _attention(q, k, v, bias, mask, scale, is_causal, cap):
    attn_logits_soft_cap = cap
    batched = q.ndim == 4
    if not batched:
        q, k, v = q[None], k[None], v[None]
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    if attn_logits_soft_cap is None and v.shape[-1] == k.shape[-1]:
        # jax's fused attention takes grouped key/value heads, the boolean mask and the bias
        # (not a soft cap, nor value depth differing from key depth).
        out = jax.nn.dot_product_attention(q, k, v, bias=bias, mask=mask, scale=scale,
                                           is_causal=bool(is_causal))
        return out if batched else out[0]
    heads, kv_heads = q.shape[2], k.shape[2]
    if kv_heads != heads:
        k = jnp.repeat(k, heads // kv_heads, axis=2)
        v = jnp.repeat(v, heads // kv_heads, axis=2)
    logits = jnp.einsum("btnh,bsnh->bnts", q, k) * scale
    if attn_logits_soft_cap is not None:
        logits = jnp.tanh(logits / attn_logits_soft_cap) * attn_logits_soft_cap
    if bias is not None:
        logits = logits + bias
    allowed = jnp.ones((), bool)
    if mask is not None:
        allowed = allowed & mask
    if is_causal:
        t, s = logits.shape[-2:]
        allowed = allowed & jnp.tril(jnp.ones((t, s), bool))
    big = 0.7 * float(jnp.finfo(q.dtype).max)
    logits = jnp.where(allowed, logits, jnp.asarray(-big, q.dtype))
    out = jnp.einsum("bnts,bsnh->btnh", jax.nn.softmax(logits, axis=-1), v)
    return out if batched else out[0]


def polar(abs_, angle):
    r, a = _promote_float(abs_, angle)
    if r.dtype not in (jnp.float32, jnp.float64):
        r, a = r.astype(jnp.float32), a.astype(jnp.float32)
    return lax.complex(r * jnp.cos(a), r * jnp.sin(a))


@functools.partial(jax.jit, static_argnames=("k", "d", "p", "s"), inline=True)
def _unfold(x, k, d, p, s):
    n, c = x.shape[:2]
    # Patches come out channel-major (C, kh, kw), as PyTorch's unfold orders them.
    patches = lax.conv_general_dilated_patches(
        x, k, s, [(p[0], p[0]), (p[1], p[1])], rhs_dilation=d,
        dimension_numbers=("NCHW", "OIHW", "NCHW"))
    return jnp.reshape(patches, (n, c * k[0] * k[1], -1))


def unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    x = _j(x)
    k, d, p, s, _ = _def.patch_geometry("unfold", x.shape[2:], kernel_size, dilation, padding,
                                        stride)
    return _unfold(x, k=k, d=d, p=p, s=s)


@functools.partial(jax.jit, static_argnames=("out", "k", "d", "p", "s"), inline=True)
def _fold(x, out, k, d, p, s):
    n, c = x.shape[0], x.shape[1] // (k[0] * k[1])
    image = jax.ShapeDtypeStruct((n, c) + out, x.dtype)
    # fold is the adjoint (linear transpose) of unfold: overlapping patches are summed.
    (img,) = jax.linear_transpose(lambda v: _unfold(v, k=k, d=d, p=p, s=s), image)(x)
    return img


def fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    x = _j(x)
    out = _def.pair_arg("fold", "output_size", output_size)
    k, d, p, s, _ = _def.patch_geometry("fold", out, kernel_size, dilation, padding, stride)
    return _fold(x, out=out, k=k, d=d, p=p, s=s)


def ctc_loss(target, output, target_length, output_length, mask_index=0):
    import optax
    o = _float(output)
    t = _convert(_j(target), jnp.int32)
    steps = jnp.arange(o.shape[1])
    labels = jnp.arange(t.shape[1])
    logit_pad = (steps[None] >= _j(output_length).reshape(-1, 1)).astype(o.dtype)
    label_pad = (labels[None] >= _j(target_length).reshape(-1, 1)).astype(o.dtype)
    return optax.ctc_loss(o, logit_pad, t, label_pad, blank_id=mask_index)


def ctc_decode(inputs, sequence_lengths, strategy="greedy", beam_width=100, top_paths=1,
               merge_repeated=True, mask_index=0):
    x = _j(inputs)
    x = _as(x, _jdtype(_def.ctc_decode_dtype(_dtype_name(x.dtype))))
    blank = _def.ctc_decode_args(strategy, beam_width, top_paths, mask_index, x.shape[2])
    if strategy == "beam_search":
        return _ctc_beam_search(x, _j(sequence_lengths), width=int(beam_width),
                                top_paths=int(top_paths), blank=blank)
    return _ctc_greedy(x, _j(sequence_lengths), merge_repeated=bool(merge_repeated),
                       mask_index=blank)


@functools.partial(jax.jit, static_argnames=("merge_repeated", "mask_index"), inline=True)
def _ctc_greedy(x, lengths, merge_repeated, mask_index):
    steps = x.shape[1]
    pos = jnp.arange(steps)[None]
    valid = pos < jnp.reshape(lengths, (-1, 1))
    best = jnp.where(valid, jnp.argmax(x, -1).astype(jnp.int32), mask_index)
    scores = jnp.where(valid, jnp.max(x, -1), jnp.zeros((), x.dtype))
    if merge_repeated:
        repeat = jnp.pad(best[:, 1:] == best[:, :-1], ((0, 0), (1, 0)))
        best = jnp.where(repeat, mask_index, best)
    keep = best != mask_index
    order = jnp.argsort(jnp.where(keep, pos, steps), axis=-1, stable=True)
    decoded = jnp.take_along_axis(jnp.where(keep, best, -1), order, axis=-1)
    return decoded[None].astype(jnp.int32), -jnp.sum(scores, axis=1, keepdims=True)


@functools.partial(jax.jit, static_argnames=("width", "top_paths", "blank"), inline=True)
def _ctc_beam_search(x, lengths, width, top_paths, blank):
    """Prefix beam search with `width` fixed slots in a lax.scan over time (the NumPy
    reference's algorithm, see unikeras/adapters/numpy_ref/ops_neural.py)."""
    n, steps, classes = x.shape
    lp = jax.nn.log_softmax(x, axis=-1)
    ninf = jnp.asarray(-jnp.inf, x.dtype)
    lengths = jnp.reshape(lengths, (-1,)).astype(jnp.int32)
    mult = jnp.asarray(_def.CTC_HASH, jnp.uint32)[:, None, None]
    pos = jnp.arange(steps)
    label_ids = jnp.arange(classes)
    take = functools.partial(jnp.take_along_axis, axis=1)

    def step(state, inp):
        prefix, length, last, hash_, parent_hash, p_blank, p_label = state
        lpt, t = inp
        total = jnp.logaddexp(p_blank, p_label)
        lp_last = jnp.where(last >= 0, take(lpt, jnp.maximum(last, 0)), ninf)
        match = ((parent_hash[0][:, :, None] == hash_[0][:, None, :])
                 & (parent_hash[1][:, :, None] == hash_[1][:, None, :])
                 & (length[:, :, None] == length[:, None, :] + 1)
                 & (total[:, None, :] > ninf))
        parent = jnp.argmax(match, -1)
        has_parent = jnp.any(match, -1) & (length > 0) & (total > ninf)
        own = jnp.where(pos == (length - 1)[..., None], -1, prefix)
        has_parent &= jnp.all(take(prefix, parent[..., None]) == own, -1)
        keep_blank = total + lpt[:, blank, None]
        keep_label = p_label + lp_last
        from_parent = jnp.where(last == take(last, parent), take(p_blank, parent),
                                take(total, parent)) + lp_last
        keep_label = jnp.where(has_parent, jnp.logaddexp(keep_label, from_parent), keep_label)
        ext = jnp.where(label_ids == last[..., None], p_blank[..., None], total[..., None])
        ext = (ext + lpt[:, None, :]).at[:, :, blank].set(ninf).reshape(n, -1)
        dup = jnp.where(has_parent, parent * classes + last, width * classes)
        ext = jnp.pad(ext, ((0, 0), (0, 1))).at[jnp.arange(n)[:, None], dup].set(ninf)[:, :-1]
        cand = jnp.concatenate([jnp.logaddexp(keep_blank, keep_label), ext], 1)
        _, best = lax.top_k(cand, width)
        is_ext = best >= width
        src = jnp.where(is_ext, (best - width) // classes, best)
        lab = jnp.where(is_ext, (best - width) % classes, 0).astype(jnp.int32)
        new_len = take(length, src)
        put = is_ext[..., None] & (pos == new_len[..., None])
        old_hash = jax.vmap(take, (0, None))(hash_, src)
        new = (jnp.where(put, lab[..., None], take(prefix, src[..., None])),
               new_len + is_ext,
               jnp.where(is_ext, lab, take(last, src)),
               jnp.where(is_ext, old_hash * mult + (lab + 1).astype(jnp.uint32), old_hash),
               jnp.where(is_ext, old_hash, jax.vmap(take, (0, None))(parent_hash, src)),
               jnp.where(is_ext, ninf, take(keep_blank, src)),
               jnp.where(is_ext, take(ext, jnp.maximum(best - width, 0)),
                         take(keep_label, src)))
        active = t < lengths
        # (batch, width, steps) prefixes first; the rest end in (batch, width)
        state = tuple(jnp.where(active[:, None, None] if i == 0 else active[:, None], v, o)
                      for i, (o, v) in enumerate(zip(state, new)))
        return state, None

    state = (jnp.full((n, width, steps), -1, jnp.int32), jnp.zeros((n, width), jnp.int32),
             jnp.full((n, width), -1, jnp.int32), jnp.zeros((2, n, width), jnp.uint32),
             jnp.zeros((2, n, width), jnp.uint32),
             jnp.full((n, width), ninf).at[:, 0].set(0), jnp.full((n, width), ninf))
    state, _ = lax.scan(step, state, (jnp.swapaxes(lp, 0, 1), jnp.arange(steps)))
    prefix, p_blank, p_label = state[0], state[5], state[6]
    scores = jnp.logaddexp(p_blank, p_label)[:, :top_paths]
    decoded = jnp.where((scores > ninf)[..., None], prefix[:, :top_paths], -1)
    return jnp.swapaxes(decoded, 0, 1).astype(jnp.int32), scores
