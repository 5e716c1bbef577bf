"""NumPy reference implementations of the neural op family (activations, convolution,
pooling, normalization, losses, attention). Plain formulas: the semantics every backend is
tested against."""
import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from unikeras import config
from unikeras.adapters.numpy_ref.ops import _float
from unikeras.common import dtypes
from unikeras.common.ops import neural as _def

__all__ = list(_def.IMPL_NAMES)

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
_erf = np.vectorize(math.erf, otypes=[np.float64])


def _c(value, x):
    """Scalar `value` as a 0-d array of x's dtype (keeps float16/float32 results)."""
    return np.asarray(value, x.dtype)


# --- activations -----------------------------------------------------------------------------
def relu6(x):
    x = _float(x)
    return np.clip(x, _c(0, x), _c(6, x)).astype(x.dtype)   # np.clip promotes bfloat16


def elu(x, alpha=1.0):
    x = _float(x)
    return np.where(x > 0, x, _c(alpha, x) * np.expm1(np.minimum(x, _c(0, x))))


def selu(x):
    x = _float(x)
    return _c(SELU_SCALE, x) * elu(x, SELU_ALPHA)


def celu(x, alpha=1.0):
    x = _float(x)
    return (np.maximum(x, _c(0, x))
            + np.minimum(_c(0, x), _c(alpha, x) * np.expm1(np.minimum(x, _c(0, x)) / _c(alpha, x))))


def gelu(x, approximate=True):
    x = _float(x)
    if approximate:
        inner = _c(math.sqrt(2 / math.pi), x) * (x + _c(0.044715, x) * x ** 3)
        return (_c(0.5, x) * x * (1 + np.tanh(inner))).astype(x.dtype)
    return (0.5 * x * (1 + _erf(x / math.sqrt(2)))).astype(x.dtype)


def _sigmoid(x):
    return (1 / (1 + np.exp(-x.astype("float64")))).astype(x.dtype)


def glu(x, axis=-1):
    x = _float(x)
    a, b = np.split(x, 2, axis=axis)
    return a * _sigmoid(b)


def silu(x):
    x = _float(x)
    return x * _sigmoid(x)


def hard_sigmoid(x):
    x = _float(x)
    return relu6(x + _c(3, x)) / _c(6, x)


def hard_silu(x):
    x = _float(x)
    return x * hard_sigmoid(x)


def hard_tanh(x):
    x = _float(x)
    return np.clip(x, _c(-1, x), _c(1, x)).astype(x.dtype)


def hard_shrink(x, threshold=0.5):
    x = _float(x)
    return np.where(np.abs(x) > threshold, x, _c(0, x))


def soft_shrink(x, threshold=0.5):
    x = _float(x)
    t = _c(threshold, x)
    return np.where(x > t, x - t, np.where(x < -t, x + t, _c(0, x)))


def tanh_shrink(x):
    x = _float(x)
    return x - np.tanh(x)


def softplus(x):
    x = _float(x)
    return np.logaddexp(x, _c(0, x))


def softsign(x):
    x = _float(x)
    return x / (1 + np.abs(x))


def sparse_plus(x):
    x = _float(x)
    return np.where(x <= -1, _c(0, x), np.where(x >= 1, x, (x + 1) ** 2 / _c(4, x)))


def sparse_sigmoid(x):
    x = _float(x)
    return np.where(x <= -1, _c(0, x), np.where(x >= 1, _c(1, x), (x + 1) / _c(2, x)))


def sparsemax(x, axis=-1):
    x = _float(x)
    z = np.moveaxis(x, axis, -1)
    zs = -np.sort(-z, axis=-1)
    k = np.arange(1, z.shape[-1] + 1, dtype=x.dtype)
    cs = np.cumsum(zs, axis=-1)
    support = (1 + k * zs) > cs
    kz = np.sum(support, axis=-1, keepdims=True)
    tau = (np.take_along_axis(cs, kz - 1, axis=-1) - 1) / kz.astype(x.dtype)
    return np.moveaxis(np.maximum(z - tau, _c(0, x)), -1, axis)


def squareplus(x, b=4):
    x = _float(x)
    return (x + np.sqrt(x * x + _c(b, x))) / _c(2, x)


def threshold(x, threshold, default_value):
    x = _float(x)
    return np.where(x > threshold, x, _c(default_value, x))


def leaky_relu(x, negative_slope=0.2):
    x = _float(x)
    return np.where(x >= 0, x, _c(negative_slope, x) * x)


def log_sigmoid(x):
    x = _float(x)
    return -np.logaddexp(-x, _c(0, x))


# --- convolution and pooling -----------------------------------------------------------------
def _channels_last(x, fmt):
    return x if fmt == "channels_last" else np.moveaxis(x, 1, -1)


def _restore(x, fmt):
    return x if fmt == "channels_last" else np.moveaxis(x, -1, 1)


def _windows(x, k, s, d, pads, value):
    """Sliding windows of channels-last `x`: shape (N, *out, C, *k) after padding `pads`."""
    n = len(k)
    x = np.pad(x, [(0, 0)] + list(pads) + [(0, 0)], constant_values=value)
    k_eff = tuple((k[i] - 1) * d[i] + 1 for i in range(n))
    w = sliding_window_view(x, k_eff, axis=tuple(range(1, n + 1)))
    idx = (slice(None),) + tuple(slice(None, None, si) for si in s) + (slice(None),) + tuple(
        slice(None, None, di) for di in d)
    return w[idx]


def _conv_cl(x, kernel, s, d, pads):
    """Channels-last grouped correlation of x (N, *sp, C) with kernel (*k, C/g, O)."""
    n = kernel.ndim - 2
    k = kernel.shape[:n]
    cg, o = kernel.shape[-2:]
    g = x.shape[-1] // cg
    w = _windows(x, k, s, d, pads, 0)
    w = w.reshape(w.shape[:n + 1] + (g, cg) + k)
    kern = kernel.reshape(k + (cg, g, o // g))
    letters = "hijk"[:n]
    sp = "pqrs"[:n]
    out = np.einsum(f"n{sp}gc{letters},{letters}cgo->n{sp}go", w, kern)
    return out.reshape(out.shape[:n + 1] + (o,))


def _conv_args(name, x, kernel, strides, padding, dilation_rate, fmt):
    n = x.ndim - 2
    s = _def.tuple_arg(name, "strides", strides, n)
    d = _def.tuple_arg(name, "dilation_rate", dilation_rate, n)
    p = _def.padding_of(name, padding)
    sp = x.shape[1:-1]
    pads = [_def.same_pads(sp[i], kernel.shape[i], s[i], d[i]) if p == "same" else (0, 0)
            for i in range(n)]
    return s, d, pads


def _conv_inputs(inputs, kernel, data_format):
    fmt = _def.data_format_of("conv", data_format)
    x, kernel = np.asarray(inputs), np.asarray(kernel)
    dt = dtypes.result_type(dtypes.standardize_dtype(x.dtype),
                            dtypes.standardize_dtype(kernel.dtype))
    dt = dt if dtypes.is_float(dt) else config.floatx()
    return _channels_last(x.astype(dt), fmt), kernel.astype(dt), fmt


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    x, kernel, fmt = _conv_inputs(inputs, kernel, data_format)
    s, d, pads = _conv_args("conv", x, kernel, strides, padding, dilation_rate, fmt)
    return _restore(_conv_cl(x, kernel, s, d, pads).astype(x.dtype), fmt)


def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    kernel = np.asarray(kernel)
    k = kernel.reshape(kernel.shape[:-2] + (1, kernel.shape[-2] * kernel.shape[-1]))
    return conv(inputs, k, strides, padding, data_format, dilation_rate)


def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid",
                   data_format=None, dilation_rate=1):
    mid = depthwise_conv(inputs, depthwise_kernel, strides, padding, data_format, dilation_rate)
    return conv(mid, pointwise_kernel, 1, "valid", data_format, 1)


def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None,
                   data_format=None, dilation_rate=1):
    x, kernel, fmt = _conv_inputs(inputs, kernel, data_format)
    n = x.ndim - 2
    s = _def.tuple_arg("conv_transpose", "strides", strides, n)
    d = _def.tuple_arg("conv_transpose", "dilation_rate", dilation_rate, n)
    p = _def.padding_of("conv_transpose", padding)
    op_ = (None,) * n if output_padding is None else _def.tuple_arg(
        "conv_transpose", "output_padding", output_padding, n)
    # Stride-dilate the input, pad, correlate with the flipped kernel (in/out swapped).
    sp = x.shape[1:-1]
    dil = np.zeros((x.shape[0],) + tuple((sp[i] - 1) * s[i] + 1 for i in range(n)) + x.shape[-1:],
                   x.dtype)
    dil[(slice(None),) + tuple(slice(None, None, si) for si in s)] = x
    pads = [_def.transpose_pads(sp[i], kernel.shape[i], s[i], d[i], p, op_[i])[:2]
            for i in range(n)]
    flipped = np.flip(kernel, axis=tuple(range(n))).swapaxes(-1, -2)
    return _restore(_conv_cl(dil, flipped, (1,) * n, d, pads).astype(x.dtype), fmt)


def _pool(name, inputs, pool_size, strides, padding, data_format, reduce):
    fmt = _def.data_format_of(name, data_format)
    x = _channels_last(np.asarray(inputs), fmt)
    n = x.ndim - 2
    k = _def.tuple_arg(name, "pool_size", pool_size, n)
    s = k if strides is None else _def.tuple_arg(name, "strides", strides, n)
    p = _def.padding_of(name, padding)
    pads = [_def.same_pads(x.shape[1 + i], k[i], s[i], 1) if p == "same" else (0, 0)
            for i in range(n)]
    return _restore(reduce(x, k, s, pads, n), fmt)


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    def reduce(x, k, s, pads, n):
        low = -np.inf if dtypes.is_float(x.dtype) else np.iinfo(x.dtype).min
        w = _windows(x, k, s, (1,) * n, pads, low)
        return np.max(w, axis=tuple(range(-n, 0)))
    return _pool("max_pool", inputs, pool_size, strides, padding, data_format, reduce)


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    def reduce(x, k, s, pads, n):
        x = _float(x)
        total = np.sum(_windows(x, k, s, (1,) * n, pads, 0), axis=tuple(range(-n, 0)))
        ones = np.ones((1,) + x.shape[1:-1] + (1,), x.dtype)
        count = np.sum(_windows(ones, k, s, (1,) * n, pads, 0), axis=tuple(range(-n, 0)))
        return (total / count).astype(x.dtype)
    return _pool("average_pool", inputs, pool_size, strides, padding, data_format, reduce)


def _adaptive(name, inputs, output_size, data_format, reduce):
    fmt = _def.data_format_of(name, data_format)
    x = _channels_last(np.asarray(inputs), fmt)
    n = x.ndim - 2
    out = _def.tuple_arg(name, "output_size", output_size, n)
    for i in range(n):
        starts, ends = _def.adaptive_windows(x.shape[1 + i], out[i])
        parts = [reduce(np.take(x, np.arange(a, b), axis=1 + i), axis=1 + i, keepdims=True)
                 for a, b in zip(starts, ends)]
        x = np.concatenate(parts, axis=1 + i)
    return _restore(x, fmt)


def adaptive_average_pool(inputs, output_size, data_format=None):
    x = _float(inputs)
    return _adaptive("adaptive_average_pool", x, output_size, data_format,
                     lambda v, axis, keepdims: np.mean(v, axis=axis, keepdims=keepdims,
                                                       dtype=x.dtype))


def adaptive_max_pool(inputs, output_size, data_format=None):
    return _adaptive("adaptive_max_pool", inputs, output_size, data_format, np.max)


# --- normalization ---------------------------------------------------------------------------
def moments(x, axes, keepdims=False, synchronized=False):
    x = _float(x)
    axes = _def.axes_tuple("moments", axes, x.ndim)
    wide = x.astype("float64")
    mean = np.mean(wide, axis=axes, keepdims=True)
    var = np.mean(np.square(wide - mean), axis=axes, keepdims=keepdims)
    if not keepdims:
        mean = np.squeeze(mean, axes)
    return mean.astype(x.dtype), var.astype(x.dtype)


def _along(v, axis, ndim, dtype):
    v = np.asarray(v, dtype)
    shape = [1] * ndim
    shape[axis] = -1
    return v.reshape(shape)


def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    x = np.asarray(x)
    args = [a for a in (x, mean, variance, offset, scale) if a is not None]
    dt = dtypes.result_type(*[dtypes.standardize_dtype(np.asarray(a).dtype) for a in args])
    dt = dt if dtypes.is_float(dt) else config.floatx()
    a = _def.canonical_axis("batch_normalization", axis, x.ndim)
    x = x.astype(dt)
    inv = 1 / np.sqrt(_along(variance, a, x.ndim, dt) + _c(epsilon, x))
    if scale is not None:
        inv = inv * _along(scale, a, x.ndim, dt)
    out = (x - _along(mean, a, x.ndim, dt)) * inv
    if offset is not None:
        out = out + _along(offset, a, x.ndim, dt)
    return out.astype(dt)


def _param(p, x, axes, dt):
    p = np.asarray(p, dt)
    if p.ndim != x.ndim and p.ndim == len(axes):
        shape = [1] * x.ndim
        for a, size in zip(axes, p.shape):
            shape[a] = size
        p = p.reshape(shape)
    return p


def _out_dtype(*arrays):
    dt = dtypes.result_type(*[dtypes.standardize_dtype(np.asarray(a).dtype)
                              for a in arrays if a is not None])
    return dt if dtypes.is_float(dt) else config.floatx()


def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon=None, **kwargs):
    dt = _out_dtype(x, gamma, beta)
    x = np.asarray(x, dt)
    axes = _def.axes_tuple("layer_normalization", axis, x.ndim)
    eps = config.epsilon() if epsilon is None else epsilon
    wide = x.astype("float64")
    mean = np.mean(wide, axis=axes, keepdims=True)
    var = np.mean(np.square(wide - mean), axis=axes, keepdims=True)
    out = (wide - mean) / np.sqrt(var + eps)
    if gamma is not None:
        out = out * _param(gamma, x, axes, "float64")
    if beta is not None:
        out = out + _param(beta, x, axes, "float64")
    return out.astype(dt)


def rms_normalization(x, scale=None, axis=-1, epsilon=None):
    dt = _out_dtype(x, scale)
    x = np.asarray(x, dt)
    axes = _def.axes_tuple("rms_normalization", axis, x.ndim)
    eps = config.epsilon() if epsilon is None else epsilon
    wide = x.astype("float64")
    out = wide / np.sqrt(np.mean(np.square(wide), axis=axes, keepdims=True) + eps)
    if scale is not None:
        out = out * _param(scale, x, axes, "float64")
    return out.astype(dt)


def normalize(x, axis=-1, order=2, epsilon=None):
    x = _float(x)
    eps = config.epsilon() if epsilon is None else epsilon
    wide = x.astype("float64")
    axes = _def.axes_tuple("normalize", axis, x.ndim)
    norm = np.sum(np.abs(wide) ** order, axis=axes, keepdims=True) ** (1.0 / order)
    return (wide / np.maximum(norm, eps)).astype(x.dtype)


# --- losses ----------------------------------------------------------------------------------
def _loss_inputs(target, output):
    dt = _out_dtype(target, output)
    return np.asarray(target, dt), np.asarray(output, dt), dt


def binary_crossentropy(target, output, from_logits=False):
    t, o, dt = _loss_inputs(target, output)
    t, o = t.astype("float64"), o.astype("float64")
    if from_logits:
        out = np.maximum(o, 0) - o * t + np.log1p(np.exp(-np.abs(o)))
    else:
        eps = config.epsilon()
        o = np.clip(o, eps, 1 - eps)
        out = -(t * np.log(o) + (1 - t) * np.log(1 - o))
    return out.astype(dt)


def _log_probs(o, from_logits, axis):
    if from_logits:
        shifted = o - np.max(o, axis=axis, keepdims=True)
        return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
    eps = config.epsilon()
    o = o / np.sum(o, axis=axis, keepdims=True)
    return np.log(np.clip(o, eps, 1 - eps))


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    t, o, dt = _loss_inputs(target, output)
    lp = _log_probs(o.astype("float64"), from_logits, axis)
    return (-np.sum(t.astype("float64") * lp, axis=axis)).astype(dt)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    o = _float(output)
    t = np.asarray(target)
    if t.ndim == o.ndim and t.shape[-1] == 1:
        t = t[..., 0]
    a = _def.canonical_axis("sparse_categorical_crossentropy", axis, o.ndim)
    lp = np.moveaxis(_log_probs(o.astype("float64"), from_logits, a), a, -1)
    picked = np.take_along_axis(lp, t.astype("int64")[..., None], axis=-1)[..., 0]
    return (-picked).astype(o.dtype)


# --- the rest --------------------------------------------------------------------------------
def multi_hot(inputs, num_classes=None, axis=-1, dtype=None, sparse=False, **kwargs):
    if num_classes is None:
        num_classes = kwargs.pop("num_tokens", None)
    x = np.asarray(inputs).astype("int64")
    out = (x[..., None] == np.arange(num_classes)).astype(dtypes.standardize_dtype(dtype))
    if axis != -1:
        out = np.moveaxis(out, -1, axis)
    return np.max(out, axis=1 if x.ndim > 1 else 0)


def psnr(x1, x2, max_val):
    dt = _out_dtype(x1, x2)
    a, b = np.asarray(x1, "float64"), np.asarray(x2, "float64")
    mse = np.mean(np.square(a - b))
    return np.asarray(20 * np.log10(max_val) - 10 * np.log10(mse), dt)


def depth_to_space(x, block_size, data_format="channels_last"):
    x = np.asarray(x)
    b = int(block_size)
    if data_format == "channels_last":
        n, h, w, c = x.shape
        x = x.reshape(n, h, w, b, b, c // (b * b)).transpose(0, 1, 3, 2, 4, 5)
        return x.reshape(n, h * b, w * b, c // (b * b))
    n, c, h, w = x.shape
    x = x.reshape(n, c // (b * b), b, b, h, w).transpose(0, 1, 4, 2, 5, 3)
    return x.reshape(n, c // (b * b), h * b, w * b)


def space_to_depth(x, block_size, data_format="channels_last"):
    x = np.asarray(x)
    b = int(block_size)
    if data_format == "channels_last":
        n, h, w, c = x.shape
        x = x.reshape(n, h // b, b, w // b, b, c).transpose(0, 1, 3, 2, 4, 5)
        return x.reshape(n, h // b, w // b, c * b * b)
    n, c, h, w = x.shape
    x = x.reshape(n, c, h // b, b, w // b, b).transpose(0, 1, 3, 5, 2, 4)
    return x.reshape(n, c * b * b, h // b, w // b)


def dot_product_attention(query, key, value, bias=None, mask=None, scale=None, is_causal=False,
                          flash_attention=None, attn_logits_soft_cap=None):
    dt = _out_dtype(query, key, value)
    q, k, v = (np.asarray(a, "float64") for a in (query, key, value))
    batched = q.ndim == 4
    if not batched:
        q, k, v = q[None], k[None], v[None]
    heads, kv_heads = q.shape[2], k.shape[2]
    if kv_heads != heads:
        k = np.repeat(k, heads // kv_heads, axis=2)
        v = np.repeat(v, heads // kv_heads, axis=2)
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    logits = np.einsum("btnh,bsnh->bnts", q, k) * scale
    if attn_logits_soft_cap is not None:
        logits = np.tanh(logits / attn_logits_soft_cap) * attn_logits_soft_cap
    if bias is not None:
        logits = logits + np.asarray(bias, "float64")
    allowed = np.ones(logits.shape, bool)
    if mask is not None:
        allowed = allowed & np.asarray(mask).astype(bool)
    if is_causal:
        t, s = logits.shape[-2:]
        allowed = allowed & np.tril(np.ones((t, s), bool))
    big = 0.7 * np.finfo(np.dtype(dt) if dt != "bfloat16" else np.float32).max
    logits = np.where(allowed, logits, -big)
    e = np.exp(logits - np.max(logits, axis=-1, keepdims=True))
    probs = e / np.sum(e, axis=-1, keepdims=True)
    out = np.einsum("bnts,bsnh->btnh", probs, v)
    return (out if batched else out[0]).astype(dt)


def polar(abs_, angle):
    # Python scalars read as convert_to_tensor reads them (float -> floatx), as in the rule.
    abs_, angle = [np.asarray(v, dtypes.result_type(v)) if isinstance(v, (int, float)) else v
                   for v in (abs_, angle)]
    dt = _out_dtype(abs_, angle)
    r, a = np.asarray(abs_, dt), np.asarray(angle, dt)
    ct = "complex128" if dt == "float64" else "complex64"
    return (r * np.cos(a)).astype(ct) + 1j * (r * np.sin(a)).astype(ct)


def unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    x = np.asarray(x)
    k, d, p, s, blocks = _def.patch_geometry("unfold", x.shape[2:], kernel_size, dilation,
                                             padding, stride)
    w = _windows(np.moveaxis(x, 1, -1), k, s, d, [(p[0], p[0]), (p[1], p[1])], 0)
    n, c = x.shape[:2]
    return w.transpose(0, 3, 4, 5, 1, 2).reshape(n, c * k[0] * k[1], blocks[0] * blocks[1])


def fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    x = np.asarray(x)
    out = _def.pair_arg("fold", "output_size", output_size)
    k, d, p, s, blocks = _def.patch_geometry("fold", out, kernel_size, dilation, padding, stride)
    n, c = x.shape[0], x.shape[1] // (k[0] * k[1])
    cols = x.reshape(n, c, k[0], k[1], blocks[0], blocks[1])
    img = np.zeros((n, c, out[0] + 2 * p[0], out[1] + 2 * p[1]), x.dtype)
    for a in range(k[0]):
        for b in range(k[1]):
            rows = slice(a * d[0], a * d[0] + (blocks[0] - 1) * s[0] + 1, s[0])
            colss = slice(b * d[1], b * d[1] + (blocks[1] - 1) * s[1] + 1, s[1])
            img[:, :, rows, colss] += cols[:, :, a, b]
    return img[:, :, p[0]:p[0] + out[0], p[1]:p[1] + out[1]]


def ctc_loss(target, output, target_length, output_length, mask_index=0):
    o = _float(output)
    x = o.astype("float64")
    lp = x - np.max(x, -1, keepdims=True)
    lp = lp - np.log(np.sum(np.exp(lp), -1, keepdims=True))
    t = np.asarray(target).astype("int64")
    tl = np.asarray(target_length).astype("int64").reshape(-1)
    ol = np.asarray(output_length).astype("int64").reshape(-1)
    out = np.zeros(x.shape[0])
    with np.errstate(divide="ignore"):
        for b in range(x.shape[0]):
            ext = np.full(2 * tl[b] + 1, mask_index)
            ext[1::2] = t[b, :tl[b]]
            skip = np.zeros(len(ext), bool)  # s - 2 -> s allowed between distinct labels
            skip[2:] = (ext[2:] != mask_index) & (ext[2:] != ext[:-2])
            alpha = np.full(len(ext), -np.inf)
            alpha[0] = lp[b, 0, ext[0]]
            if len(ext) > 1:
                alpha[1] = lp[b, 0, ext[1]]
            for step in range(1, ol[b]):
                prev1 = np.concatenate([[-np.inf], alpha[:-1]])
                prev2 = np.where(skip, np.concatenate([[-np.inf, -np.inf], alpha[:-2]]), -np.inf)
                alpha = np.logaddexp(np.logaddexp(alpha, prev1), prev2) + lp[b, step, ext]
            out[b] = -np.logaddexp(alpha[-1], alpha[-2] if len(ext) > 1 else -np.inf)
    return out.astype(o.dtype)


def ctc_decode(inputs, sequence_lengths, strategy="greedy", beam_width=100, top_paths=1,
               merge_repeated=True, mask_index=0):
    x = np.asarray(inputs)
    x = x.astype(_def.ctc_decode_dtype(dtypes.standardize_dtype(x.dtype)))
    blank = _def.ctc_decode_args(strategy, beam_width, top_paths, mask_index, x.shape[2])
    lengths = np.asarray(sequence_lengths).astype("int64").reshape(-1)
    if strategy == "beam_search":
        return _ctc_beam_search(x, lengths, int(beam_width), int(top_paths), blank)
    steps = x.shape[1]
    valid = np.arange(steps)[None] < lengths[:, None]
    best = np.where(valid, np.argmax(x, -1), blank)
    scores = np.where(valid, np.max(x, -1), 0).astype(x.dtype)
    if merge_repeated:
        repeat = np.zeros_like(valid)
        repeat[:, 1:] = best[:, 1:] == best[:, :-1]
        best = np.where(repeat, blank, best)
    keep = best != blank
    order = np.argsort(np.where(keep, np.arange(steps)[None], steps), axis=-1, kind="stable")
    decoded = np.take_along_axis(np.where(keep, best, -1), order, axis=-1)
    return decoded[None].astype("int32"), -np.sum(scores, axis=1, keepdims=True)


def _ctc_beam_search(x, lengths, width, top_paths, blank):
    """Prefix beam search, vectorized over batch and beams, one Python step per time step.

    Each of the `width` beam slots holds a distinct label prefix (labels padded with -1), its
    length, its last label, two 32-bit hashes of the prefix and of the prefix without its last
    label, and log P(prefix, alignment ends in blank) / (ends in its last label); empty slots
    have both -inf. A step scores every slot kept as is and every slot extended by every
    non-blank label; an extension equal to a slot already in the beam (found through the
    hashes, then checked label by label) is merged into that slot. The `width` best
    candidates (stable order: kept slots, then extensions by slot and label) form the next
    beam, so slots stay sorted by probability."""
    n, steps, classes = x.shape
    dt = x.dtype
    lp = x - np.max(x, -1, keepdims=True)
    lp = lp - np.log(np.sum(np.exp(lp), -1, keepdims=True))
    ninf = np.asarray(-np.inf, dt)
    prefix = np.full((n, width, steps), -1, np.int32)
    length = np.zeros((n, width), np.int64)
    last = np.full((n, width), -1, np.int64)
    hash_ = np.zeros((2, n, width), np.uint32)
    parent_hash = np.zeros((2, n, width), np.uint32)
    p_blank = np.full((n, width), ninf)
    p_blank[:, 0] = 0
    p_label = np.full((n, width), ninf)
    mult = np.array(_def.CTC_HASH, np.uint32)[:, None, None]
    rows = np.arange(n)[:, None]
    pos = np.arange(steps)
    label_ids = np.arange(classes)
    for t in range(steps):
        lpt = lp[:, t]
        total = np.logaddexp(p_blank, p_label)
        lp_last = np.where(last >= 0, np.take_along_axis(lpt, np.maximum(last, 0), 1), ninf)
        # the slot holding each slot's parent prefix, if any
        match = ((parent_hash[0][:, :, None] == hash_[0][:, None, :])
                 & (parent_hash[1][:, :, None] == hash_[1][:, None, :])
                 & (length[:, :, None] == length[:, None, :] + 1)
                 & (total[:, None, :] > ninf))
        parent = np.argmax(match, -1)
        has_parent = match.any(-1) & (length > 0) & (total > ninf)
        own = np.where(pos == (length - 1)[..., None], -1, prefix)
        has_parent &= np.all(prefix[rows, parent] == own, -1)
        # kept prefixes
        keep_blank = total + lpt[:, blank, None]
        keep_label = p_label + lp_last
        from_parent = np.where(last == last[rows, parent], p_blank[rows, parent],
                               total[rows, parent]) + lp_last
        keep_label = np.where(has_parent, np.logaddexp(keep_label, from_parent), keep_label)
        # extended prefixes (batch, slot, label)
        ext = np.where(label_ids == last[..., None], p_blank[..., None], total[..., None])
        ext = ext + lpt[:, None, :]
        ext[:, :, blank] = ninf
        b_idx, j_idx = np.nonzero(has_parent)
        ext[b_idx, parent[b_idx, j_idx], last[b_idx, j_idx]] = ninf
        cand = np.concatenate([np.logaddexp(keep_blank, keep_label), ext.reshape(n, -1)], 1)
        best = np.argsort(-cand, axis=1, kind="stable")[:, :width]
        is_ext = best >= width
        src = np.where(is_ext, (best - width) // classes, best)
        lab = np.where(is_ext, (best - width) % classes, 0)
        new_prefix = prefix[rows, src]
        new_len = length[rows, src]
        put = is_ext[..., None] & (pos == new_len[..., None])
        new_prefix = np.where(put, lab[..., None], new_prefix).astype(np.int32)
        new_hash = np.where(is_ext, hash_[:, rows, src] * mult
                            + (lab + 1).astype(np.uint32), hash_[:, rows, src])
        new_parent = np.where(is_ext, hash_[:, rows, src], parent_hash[:, rows, src])
        new_blank = np.where(is_ext, ninf, keep_blank[rows, src])
        new_label = np.where(is_ext, ext.reshape(n, -1)[rows, np.maximum(best - width, 0)],
                             keep_label[rows, src])
        active = (t < lengths)[:, None]
        prefix = np.where(active[..., None], new_prefix, prefix)
        length = np.where(active, new_len + is_ext, length)
        last = np.where(active, np.where(is_ext, lab, last[rows, src]), last)
        hash_ = np.where(active, new_hash, hash_)
        parent_hash = np.where(active, new_parent, parent_hash)
        p_blank = np.where(active, new_blank, p_blank)
        p_label = np.where(active, new_label, p_label)
    scores = np.logaddexp(p_blank, p_label)[:, :top_paths]
    decoded = np.where((scores > ninf)[..., None], prefix[:, :top_paths], -1)
    return np.transpose(decoded, (1, 0, 2)).astype(np.int32), scores.astype(dt)
