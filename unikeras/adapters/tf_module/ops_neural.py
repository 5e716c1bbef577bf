"""TensorFlow implementations of the neural op family: tf.nn activations, tf.nn.convolution,
tf.nn.conv_transpose, tf.nn.max_pool / avg_pool, tf.nn.moments and the fused cross-entropy
kernels; all traceable by tf.function and differentiable under GradientTape."""
import math

import numpy as np
import tensorflow as tf

from unikeras import config
from unikeras.adapters.tf_module import logits_memo
from unikeras.adapters.tf_module.ops import _TF, _as, _dtype_of, _float, _t
from unikeras.common import dtypes
from unikeras.common.ops import neural as _def

__all__ = list(_def.IMPL_NAMES)


def _c(v, x):
    return tf.constant(v, x.dtype)


# --- activations -----------------------------------------------------------------------------
def relu6(x):
    return tf.nn.relu6(_float(x))


def elu(x, alpha=1.0):
    x = _float(x)
    if alpha == 1.0:
        return tf.nn.elu(x)
    return tf.where(x > 0, x, _c(alpha, x) * tf.math.expm1(tf.minimum(x, _c(0, x))))


def selu(x):
    return tf.nn.selu(_float(x))


def celu(x, alpha=1.0):
    x = _float(x)
    a = _c(alpha, x)
    return tf.nn.relu(x) + tf.minimum(_c(0, x), a * tf.math.expm1(tf.minimum(x, _c(0, x)) / a))


def gelu(x, approximate=True):
    return tf.nn.gelu(_float(x), approximate=bool(approximate))


def glu(x, axis=-1):
    x = _float(x)
    if x.shape[axis] is not None and x.shape[axis] % 2:
        raise ValueError(f"glu: axis {axis} of shape {tuple(x.shape)} must have an even size.")
    a, b = tf.split(x, 2, axis=axis)
    return a * tf.sigmoid(b)


def silu(x):
    return tf.nn.silu(_float(x))


def hard_sigmoid(x):
    x = _float(x)
    return tf.nn.relu6(x + _c(3, x)) / _c(6, x)


def hard_silu(x):
    x = _float(x)
    return x * (tf.nn.relu6(x + _c(3, x)) / _c(6, x))


def hard_tanh(x):
    x = _float(x)
    return tf.clip_by_value(x, _c(-1, x), _c(1, x))


def hard_shrink(x, threshold=0.5):
    x = _float(x)
    return tf.where(tf.abs(x) > _c(threshold, x), x, tf.zeros_like(x))


def soft_shrink(x, threshold=0.5):
    x = _float(x)
    t = _c(threshold, x)
    return tf.where(x > t, x - t, tf.where(x < -t, x + t, tf.zeros_like(x)))


def tanh_shrink(x):
    x = _float(x)
    return x - tf.tanh(x)


def softplus(x):
    return tf.nn.softplus(_float(x))


def softsign(x):
    return tf.nn.softsign(_float(x))


def sparse_plus(x):
    x = _float(x)
    return tf.where(x <= -1, tf.zeros_like(x),
                    tf.where(x >= 1, x, tf.square(x + _c(1, x)) / _c(4, x)))


def sparse_sigmoid(x):
    x = _float(x)
    return tf.clip_by_value((x + _c(1, x)) / _c(2, x), _c(0, x), _c(1, x))


def sparsemax(x, axis=-1):
    x = _float(x)
    rank = x.shape.rank
    a = axis % rank
    perm = [i for i in range(rank) if i != a] + [a]
    z = tf.transpose(x, perm) if a != rank - 1 else x
    zs = tf.sort(z, axis=-1, direction="DESCENDING")
    k = tf.cast(tf.range(1, tf.shape(z)[-1] + 1), x.dtype)
    cs = tf.cumsum(zs, axis=-1)
    kz = tf.reduce_sum(tf.cast((1 + k * zs) > cs, tf.int32), axis=-1, keepdims=True)
    tau = (tf.gather(cs, kz - 1, batch_dims=rank - 1) - 1) / tf.cast(kz, x.dtype)
    out = tf.nn.relu(z - tau)
    return tf.transpose(out, np.argsort(perm)) if a != rank - 1 else out


def squareplus(x, b=4):
    x = _float(x)
    return (x + tf.sqrt(x * x + _c(b, x))) / _c(2, x)


def threshold(x, threshold, default_value):
    x = _float(x)
    return tf.where(x > _as(threshold, x.dtype.name), x,
                    tf.broadcast_to(_as(default_value, x.dtype.name), tf.shape(x)))


def leaky_relu(x, negative_slope=0.2):
    return tf.nn.leaky_relu(_float(x), alpha=negative_slope)


def log_sigmoid(x):
    return tf.math.log_sigmoid(_float(x))


# --- convolution and pooling -----------------------------------------------------------------
_FORMATS = {1: "NWC", 2: "NHWC", 3: "NDHWC"}


def _promote_float(*xs):
    dt = dtypes.result_type(*[_dtype_of(x) for x in xs])
    dt = dt if dtypes.is_float(dt) else config.floatx()
    return [_as(x, dt) for x in xs]


def _to_cl(x, fmt):
    if fmt == "channels_last":
        return x
    r = x.shape.rank
    return tf.transpose(x, [0] + list(range(2, r)) + [1])


def _from_cl(x, fmt):
    if fmt == "channels_last":
        return x
    r = x.shape.rank
    return tf.transpose(x, [0, r - 1] + list(range(1, r - 1)))


def _dilate_kernel(kernel, d, n):
    """Insert d-1 zeros between kernel taps along each spatial dim (same result as dilation)."""
    if all(di == 1 for di in d):
        return kernel
    k = kernel
    for i in range(n):
        if d[i] == 1:
            continue
        size = k.shape[i]
        idx = np.full(((size - 1) * d[i] + 1,), size, np.int64)
        idx[::d[i]] = np.arange(size)
        padded = tf.concat([k, tf.zeros_like(tf.gather(k, [0], axis=i))], axis=i)
        k = tf.gather(padded, idx, axis=i)
    return k


def _conv_cl(name, x, kernel, strides, padding, dilation_rate):
    n = x.shape.rank - 2
    if n not in _FORMATS:
        raise ValueError(f"{name}: 1, 2 or 3 spatial dims supported, got inputs of rank "
                         f"{x.shape.rank}.")
    s = _def.tuple_arg(name, "strides", strides, n)
    d = _def.tuple_arg(name, "dilation_rate", dilation_rate, n)
    p = _def.padding_of(name, padding).upper()
    ch, cin = x.shape[-1], kernel.shape[-2]
    if ch is not None and ch % cin:
        raise ValueError(f"{name}: inputs have {ch} channels, not a multiple of the kernel's "
                         f"{cin} input channels (kernel shape {tuple(kernel.shape)}).")
    if any(si > 1 for si in s) and any(di > 1 for di in d):
        kernel, d = _dilate_kernel(kernel, d, n), (1,) * n
    groups = 1 if ch is None else ch // cin
    if groups == 1:
        return tf.nn.convolution(x, kernel, strides=s, padding=p, dilations=d,
                                 data_format=_FORMATS[n])
    if cin == 1 and n <= 2 and (n == 1 or s[0] == s[1]):
        return _depthwise_2d(x, kernel, s, p, d, n, groups)
    # Grouped convolutions have no CPU gradient kernel in TF: one convolution per group.
    outs = [tf.nn.convolution(xi, ki, strides=s, padding=p, dilations=d, data_format=_FORMATS[n])
            for xi, ki in zip(tf.split(x, groups, axis=-1), tf.split(kernel, groups, axis=-1))]
    return tf.concat(outs, axis=-1)


def _depthwise_2d(x, kernel, s, p, d, n, channels):
    """tf.nn.depthwise_conv2d (1-d inputs get a unit height) with a (*k, 1, C*M) kernel."""
    k = tf.reshape(kernel, list(kernel.shape[:n]) + [channels, kernel.shape[-1] // channels])
    if n == 1:
        x, k, s, d = x[:, None], k[None], (s[0], s[0]), (1, d[0])
    out = tf.nn.depthwise_conv2d(x, k, [1, s[0], s[1], 1], p, dilations=d)
    return out[:, 0] if n == 1 else out


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    fmt = _def.data_format_of("conv", data_format)
    x, kernel = _promote_float(inputs, kernel)
    return _from_cl(_conv_cl("conv", _to_cl(x, fmt), kernel, strides, padding, dilation_rate), fmt)


def _depthwise_kernel(k):
    s = k.shape
    return tf.reshape(k, list(s[:-2]) + [1, s[-2] * s[-1]])


def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    fmt = _def.data_format_of("depthwise_conv", data_format)
    x, kernel = _promote_float(inputs, kernel)
    return _from_cl(_conv_cl("depthwise_conv", _to_cl(x, fmt), _depthwise_kernel(kernel), strides,
                             padding, dilation_rate), fmt)


def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid",
                   data_format=None, dilation_rate=1):
    fmt = _def.data_format_of("separable_conv", data_format)
    x, dk, pk = _promote_float(inputs, depthwise_kernel, pointwise_kernel)
    mid = _conv_cl("separable_conv", _to_cl(x, fmt), _depthwise_kernel(dk), strides, padding,
                   dilation_rate)
    return _from_cl(_conv_cl("separable_conv", mid, pk, 1, "valid", 1), fmt)


def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None,
                   data_format=None, dilation_rate=1):
    fmt = _def.data_format_of("conv_transpose", data_format)
    x, kernel = _promote_float(inputs, kernel)
    x = _to_cl(x, fmt)
    n = x.shape.rank - 2
    s = _def.tuple_arg("conv_transpose", "strides", strides, n)
    d = _def.tuple_arg("conv_transpose", "dilation_rate", dilation_rate, n)
    p = _def.padding_of("conv_transpose", padding)
    ops_ = (None,) * n if output_padding is None else _def.tuple_arg(
        "conv_transpose", "output_padding", output_padding, n)
    sp = x.shape[1:-1]
    kernel = _dilate_kernel(kernel, d, n)  # CPU kernels take no dilation for transposes
    fulls = [(sp[i] - 1) * s[i] + kernel.shape[i] for i in range(n)]
    out_shape = tf.stack([tf.shape(x)[0]] + fulls + [kernel.shape[-2]])
    full = tf.nn.conv_transpose(x, kernel, out_shape, strides=s, padding="VALID",
                                data_format=_FORMATS[n])
    crops, pads = [], []
    for i in range(n):
        left, _, length = _def.transpose_pads(sp[i], kernel.shape[i] if d[i] == 1 else
                                              (kernel.shape[i] - 1) // d[i] + 1, s[i], d[i], p,
                                              ops_[i])
        c = kernel.shape[i] - 1 - left
        crop_lo, pad_lo = max(c, 0), max(-c, 0)
        end = min(c + length, fulls[i])
        crops.append((crop_lo, end))
        pads.append((pad_lo, length - (end - crop_lo) - pad_lo))
    out = full[(slice(None),) + tuple(slice(a, b) for a, b in crops) + (slice(None),)]
    if any(p_ != (0, 0) for p_ in pads):
        out = tf.pad(out, [(0, 0)] + pads + [(0, 0)])
    return _from_cl(out, fmt)


def _pool_args(name, x, pool_size, strides, padding):
    n = x.shape.rank - 2
    if n not in _FORMATS:
        raise ValueError(f"{name}: 1, 2 or 3 spatial dims supported, got inputs of rank "
                         f"{x.shape.rank}.")
    k = _def.tuple_arg(name, "pool_size", pool_size, n)
    s = k if strides is None else _def.tuple_arg(name, "strides", strides, n)
    return n, k, s, _def.padding_of(name, padding).upper()


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    fmt = _def.data_format_of("max_pool", data_format)
    x = _to_cl(_t(inputs), fmt)
    n, k, s, p = _pool_args("max_pool", x, pool_size, strides, padding)
    return _from_cl(tf.nn.max_pool(x, k, s, p, data_format=_FORMATS[n]), fmt)


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    fmt = _def.data_format_of("average_pool", data_format)
    x = _to_cl(_float(inputs), fmt)
    n, k, s, p = _pool_args("average_pool", x, pool_size, strides, padding)
    return _from_cl(tf.nn.avg_pool(x, k, s, p, data_format=_FORMATS[n]), fmt)


def _adaptive_axes(x, fmt):
    r = x.shape.rank
    return list(range(1, r - 1)) if fmt == "channels_last" else list(range(2, r))


def adaptive_average_pool(inputs, output_size, data_format=None):
    fmt = _def.data_format_of("adaptive_average_pool", data_format)
    x = _float(inputs)
    axes = _adaptive_axes(x, fmt)
    out = _def.tuple_arg("adaptive_average_pool", "output_size", output_size, len(axes))
    for a, m in zip(axes, out):
        n = x.shape[a]
        starts, ends = _def.adaptive_windows(n, m)
        mat = np.zeros((m, n), "float64")
        for i, (lo, hi) in enumerate(zip(starts, ends)):
            mat[i, lo:hi] = 1.0 / (hi - lo)
        y = tf.tensordot(x, tf.constant(mat, x.dtype), axes=[[a], [1]])
        r = y.shape.rank
        x = tf.transpose(y, list(range(a)) + [r - 1] + list(range(a, r - 1)))
    return x


def adaptive_max_pool(inputs, output_size, data_format=None):
    fmt = _def.data_format_of("adaptive_max_pool", data_format)
    x = _t(inputs)
    axes = _adaptive_axes(x, fmt)
    out = _def.tuple_arg("adaptive_max_pool", "output_size", output_size, len(axes))
    for a, m in zip(axes, out):
        n = x.shape[a]
        starts, ends = _def.adaptive_windows(n, m)
        length = max(hi - lo for lo, hi in zip(starts, ends))
        idx = np.array([[min(lo + j, hi - 1) for j in range(length)]
                        for lo, hi in zip(starts, ends)])
        x = tf.reduce_max(tf.gather(x, idx, axis=a), axis=a + 1)
    return x


# --- normalization ---------------------------------------------------------------------------
def moments(x, axes, keepdims=False, synchronized=False):
    x = _float(x)
    axes = list(_def.axes_tuple("moments", axes, x.shape.rank))
    return tf.nn.moments(x, axes, keepdims=keepdims)


def _along(v, axis, ndim):
    shape = [1] * ndim
    shape[axis] = -1
    return tf.reshape(v, shape)


def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    parts = iter(_promote_float(*[a for a in (x, mean, variance, offset, scale) if a is not None]))
    x, mean, variance = next(parts), next(parts), next(parts)
    offset = next(parts) if offset is not None else None
    scale = next(parts) if scale is not None else None
    r = x.shape.rank
    a = _def.canonical_axis("batch_normalization", axis, r)
    b = lambda v: None if v is None else _along(v, a, r)  # noqa: E731
    return tf.nn.batch_normalization(x, b(mean), b(variance), b(offset), b(scale), epsilon)


def _param(p, x, axes):
    if p.shape.rank != x.shape.rank and p.shape.rank == len(axes):
        shape = [1] * x.shape.rank
        for a, size in zip(axes, p.shape):
            shape[a] = size
        p = tf.reshape(p, shape)
    return p


def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon=None, **kwargs):
    parts = iter(_promote_float(*[a for a in (x, gamma, beta) if a is not None]))
    x = next(parts)
    gamma = next(parts) if gamma is not None else None
    beta = next(parts) if beta is not None else None
    axes = list(_def.axes_tuple("layer_normalization", axis, x.shape.rank))
    eps = config.epsilon() if epsilon is None else epsilon
    mean, var = tf.nn.moments(x, axes, keepdims=True)
    out = (x - mean) * tf.math.rsqrt(var + _c(eps, x))
    if gamma is not None:
        out = out * _param(gamma, x, axes)
    return out if beta is None else out + _param(beta, x, axes)


def rms_normalization(x, scale=None, axis=-1, epsilon=None):
    parts = iter(_promote_float(*[a for a in (x, scale) if a is not None]))
    x = next(parts)
    scale = next(parts) if scale is not None else None
    axes = list(_def.axes_tuple("rms_normalization", axis, x.shape.rank))
    eps = config.epsilon() if epsilon is None else epsilon
    out = x * tf.math.rsqrt(tf.reduce_mean(tf.square(x), axis=axes, keepdims=True) + _c(eps, x))
    return out if scale is None else out * _param(scale, x, axes)


def normalize(x, axis=-1, order=2, epsilon=None):
    x = _float(x)
    eps = config.epsilon() if epsilon is None else epsilon
    axes = list(_def.axes_tuple("normalize", axis, x.shape.rank))
    if order == 2:
        inv = tf.math.rsqrt(tf.reduce_sum(tf.square(x), axis=axes, keepdims=True))
        return x * tf.minimum(inv, _c(1.0 / eps, x))
    norm = tf.reduce_sum(tf.abs(x) ** order, axis=axes, keepdims=True) ** (1.0 / order)
    return x / tf.maximum(norm, _c(eps, x))


# --- losses ----------------------------------------------------------------------------------
def _logits_or_probs(probs, axis):
    """(logits, True) when `probs` remembers the logits it came from (`logits_memo`),
    else (probs, False)."""
    logits = logits_memo.recall(probs, axis)
    return (probs, False) if logits is None else (logits, True)


def binary_crossentropy(target, output, from_logits=False):
    t, o = _promote_float(target, output)
    if not from_logits:
        o, from_logits = _logits_or_probs(o, None)
    if from_logits:
        return tf.nn.sigmoid_cross_entropy_with_logits(labels=t, logits=o)
    eps = config.epsilon()
    o = tf.clip_by_value(o, _c(eps, o), _c(1 - eps, o))
    return -(t * tf.math.log(o) + (1 - t) * tf.math.log1p(-o))


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    t, o = _promote_float(target, output)
    if not from_logits and o.shape.rank:
        o, from_logits = _logits_or_probs(o, axis % o.shape.rank)
    if from_logits:
        return tf.nn.softmax_cross_entropy_with_logits(labels=t, logits=o, axis=axis)
    eps = config.epsilon()
    o = o / tf.reduce_sum(o, axis=axis, keepdims=True)
    o = tf.clip_by_value(o, _c(eps, o), _c(1 - eps, o))
    return -tf.reduce_sum(t * tf.math.log(o), axis=axis)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    o = _float(output)
    t = _t(target)
    r = o.shape.rank
    if t.shape.rank == r and t.shape[-1] == 1:
        t = tf.squeeze(t, -1)
    a = _def.canonical_axis("sparse_categorical_crossentropy", axis, r)
    t = tf.cast(t, tf.int32)
    if not from_logits:
        o, from_logits = _logits_or_probs(o, a)
    if from_logits:  # one fused kernel, which also yields the gradient
        if a != r - 1:
            o = tf.transpose(o, [i for i in range(r) if i != a] + [a])
        return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=t, logits=o)
    eps = config.epsilon()
    o = o / tf.reduce_sum(o, axis=a, keepdims=True)
    lp = tf.math.log(tf.clip_by_value(o, _c(eps, o), _c(1 - eps, o)))
    # The label's log-probability picked by a select against the class index (fused by
    # XLA with the log, where a gather and its gradient's scatter are kernels of their
    # own); labels outside [0, classes) get 0.
    classes = lp.shape[a] if lp.shape[a] is not None else tf.shape(lp)[a]
    index_shape = [1] * r
    index_shape[a] = -1
    hit = tf.equal(tf.reshape(tf.range(classes), index_shape), tf.expand_dims(t, a))
    return -tf.reduce_sum(tf.where(hit, lp, tf.zeros_like(lp)), axis=a)


# --- the rest --------------------------------------------------------------------------------
def multi_hot(inputs, num_classes=None, axis=-1, dtype=None, sparse=False, **kwargs):
    if num_classes is None:
        num_classes = kwargs.pop("num_tokens", None)
    if sparse:
        raise ValueError("multi_hot: sparse=True is not supported.")
    x = tf.cast(_t(inputs), tf.int64)
    out = tf.equal(x[..., None], tf.range(num_classes, dtype=tf.int64))
    r = x.shape.rank
    if axis != -1:
        a = axis % (r + 1)
        out = tf.transpose(out, list(range(a)) + [r] + list(range(a, r)))
    out = tf.reduce_any(out, axis=1 if r > 1 else 0)
    return tf.cast(out, _TF[dtypes.standardize_dtype(dtype)])


def psnr(x1, x2, max_val):
    a, b = _promote_float(x1, x2)
    mse = tf.reduce_mean(tf.square(a - b))
    ten = _c(10.0, a)
    return _c(20 * math.log10(max_val), a) - ten * tf.math.log(mse) / _c(math.log(10.0), a)


def depth_to_space(x, block_size, data_format="channels_last"):
    x = _t(x)
    b = int(block_size)
    if data_format == "channels_last":
        return tf.nn.depth_to_space(x, b)
    n, c, h, w = x.shape
    x = tf.reshape(x, [-1, c // (b * b), b, b, h, w])
    x = tf.transpose(x, [0, 1, 4, 2, 5, 3])
    return tf.reshape(x, [-1, c // (b * b), h * b, w * b])


def space_to_depth(x, block_size, data_format="channels_last"):
    x = _t(x)
    b = int(block_size)
    if data_format == "channels_last":
        return tf.nn.space_to_depth(x, b)
    n, c, h, w = x.shape
    x = tf.reshape(x, [-1, c, h // b, b, w // b, b])
    x = tf.transpose(x, [0, 1, 3, 5, 2, 4])
    return tf.reshape(x, [-1, c * b * b, h // b, w // b])


def dot_product_attention(query, key, value, bias=None, mask=None, scale=None, is_causal=False,
                          flash_attention=None, attn_logits_soft_cap=None):
    q, k, v = _promote_float(query, key, value)
    batched = q.shape.rank == 4
    if not batched:
        q, k, v = q[None], k[None], v[None]
    heads, kv_heads = q.shape[2], k.shape[2]
    if kv_heads != heads:
        k = tf.repeat(k, heads // kv_heads, axis=2)
        v = tf.repeat(v, heads // kv_heads, axis=2)
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    logits = tf.einsum("btnh,bsnh->bnts", q, k) * _c(scale, q)
    if attn_logits_soft_cap is not None:
        cap = _c(attn_logits_soft_cap, q)
        logits = tf.tanh(logits / cap) * cap
    if bias is not None:
        logits = logits + _as(bias, q.dtype.name)
    allowed = None
    if mask is not None:
        allowed = tf.cast(_t(mask), tf.bool)
    if is_causal:
        t, s = tf.shape(logits)[-2], tf.shape(logits)[-1]
        causal = tf.linalg.band_part(tf.ones(tf.stack([t, s]), tf.int32), -1, 0) > 0
        allowed = causal if allowed is None else tf.logical_and(allowed, causal)
    if allowed is not None:
        big = 0.7 * q.dtype.max
        logits = tf.where(allowed, logits, _c(-big, q))
    out = tf.einsum("bnts,bsnh->btnh", tf.nn.softmax(logits, axis=-1), v)
    return out if batched else out[0]


def polar(abs_, angle):
    r, a = _promote_float(abs_, angle)
    if r.dtype not in (tf.float32, tf.float64):
        r, a = tf.cast(r, tf.float32), tf.cast(a, tf.float32)
    return tf.complex(r * tf.cos(a), r * tf.sin(a))


def unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    x = _t(x)
    k, d, p, s, blocks = _def.patch_geometry("unfold", x.shape[2:], kernel_size, dilation,
                                             padding, stride)
    c = x.shape[1]
    xl = tf.transpose(x, [0, 2, 3, 1])
    if any(p):
        xl = tf.pad(xl, [(0, 0), (p[0], p[0]), (p[1], p[1]), (0, 0)])
    patches = tf.image.extract_patches(xl, [1, k[0], k[1], 1], [1, s[0], s[1], 1],
                                       [1, d[0], d[1], 1], "VALID")  # (N, bh, bw, kh*kw*C)
    patches = tf.reshape(patches, [-1, blocks[0] * blocks[1], k[0] * k[1], c])
    return tf.reshape(tf.transpose(patches, [0, 3, 2, 1]), [-1, c * k[0] * k[1],
                                                             blocks[0] * blocks[1]])


def fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    x = _t(x)
    out = _def.pair_arg("fold", "output_size", output_size)
    k, d, p, s, blocks = _def.patch_geometry("fold", out, kernel_size, dilation, padding, stride)
    kk = k[0] * k[1]
    c = x.shape[1] // kk
    # Each (image, channel) becomes a batch entry; a one-hot kernel places tap j of every
    # column at its offset, and the transposed convolution sums the overlaps.
    cols = tf.reshape(x, [-1, kk, blocks[0], blocks[1]])
    cols = tf.transpose(cols, [0, 2, 3, 1])
    onehot = np.eye(kk, dtype=x.dtype.as_numpy_dtype).reshape(k[0], k[1], 1, kk)
    kernel = _dilate_kernel(tf.constant(onehot), d, 2)
    ph, pw = out[0] + 2 * p[0], out[1] + 2 * p[1]
    img = tf.nn.conv2d_transpose(cols, kernel, tf.stack([tf.shape(cols)[0], ph, pw, 1]),
                                 [1, s[0], s[1], 1], "VALID")
    img = tf.reshape(img[:, p[0]:p[0] + out[0], p[1]:p[1] + out[1], 0], [-1, c, out[0], out[1]])
    return img


def ctc_loss(target, output, target_length, output_length, mask_index=0):
    o = _float(output)
    return tf.nn.ctc_loss(labels=tf.cast(_t(target), tf.int32), logits=o,
                          label_length=tf.reshape(tf.cast(_t(target_length), tf.int32), [-1]),
                          logit_length=tf.reshape(tf.cast(_t(output_length), tf.int32), [-1]),
                          logits_time_major=False, blank_index=mask_index)


def ctc_decode(inputs, sequence_lengths, strategy="greedy", beam_width=100, top_paths=1,
               merge_repeated=True, mask_index=0):
    x = _t(inputs)
    x = _as(x, _def.ctc_decode_dtype(x.dtype.name))
    blank = _def.ctc_decode_args(strategy, beam_width, top_paths, mask_index, x.shape[2])
    if blank is None:  # unknown number of classes (a graph input of shape (..., None))
        if strategy == "beam_search" or mask_index is None or mask_index < 0:
            raise ValueError("ctc_decode: the number of classes (last dimension of inputs) "
                             f"must be known for strategy={strategy!r}, "
                             f"mask_index={mask_index}.")
        blank = int(mask_index)
    lengths = tf.reshape(tf.cast(_t(sequence_lengths), tf.int32), [-1])
    if strategy == "beam_search":
        return _ctc_beam_search_graph(tf.stop_gradient(x), lengths, width=int(beam_width),
                                      top_paths=int(top_paths), blank=blank)
    steps = tf.shape(x)[1]
    pos = tf.range(steps)[None]
    valid = pos < lengths[:, None]
    best = tf.where(valid, tf.argmax(x, -1, output_type=tf.int32), blank)
    scores = tf.where(valid, tf.reduce_max(x, -1), tf.zeros((), x.dtype))
    if merge_repeated:
        repeat = tf.pad(tf.equal(best[:, 1:], best[:, :-1]), [(0, 0), (1, 0)])
        best = tf.where(repeat, blank, best)
    keep = tf.not_equal(best, blank)
    order = tf.argsort(tf.where(keep, pos, steps), axis=-1, stable=True)
    decoded = tf.gather(tf.where(keep, best, -1), order, batch_dims=1)
    return decoded[None], -tf.reduce_sum(scores, axis=1, keepdims=True)


def _ctc_beam_search(x, lengths, width, top_paths, blank):
    """Prefix beam search with `width` fixed slots in a tf.while_loop over time (the NumPy
    reference's algorithm, see unikeras/adapters/numpy_ref/ops_neural.py); works in
    tf.function and XLA, on every device. (tf.nn.ctc_beam_search_decoder is CPU-only, fails
    when fewer prefixes than `top_paths` exist, and can drop the extensions of a beam that
    another candidate pushed out earlier in the same step, so its lower-ranked paths differ
    from the other backends' in rare cases.)"""
    classes = x.shape[2]
    shape = tf.shape(x)
    n, steps = shape[0], shape[1]
    lp = tf.transpose(tf.nn.log_softmax(x, axis=-1), (1, 0, 2))
    ninf = tf.constant(-np.inf, x.dtype)
    mult = [tf.constant(m, tf.int64) for m in _def.CTC_HASH]
    pos = tf.range(steps, dtype=tf.int64)
    label_ids = tf.range(classes, dtype=tf.int64)
    rows = tf.range(n, dtype=tf.int64)[:, None]

    def take(v, idx):
        return tf.gather(v, idx, batch_dims=1)

    def step(t, prefix, length, last, h1, h2, ph1, ph2, p_blank, p_label):
        lpt = tf.gather(lp, t)
        total = _logaddexp(p_blank, p_label, ninf)
        lp_last = tf.where(last >= 0, take(lpt, tf.maximum(last, 0)), ninf)
        match = ((ph1[:, :, None] == h1[:, None, :]) & (ph2[:, :, None] == h2[:, None, :])
                 & (length[:, :, None] == length[:, None, :] + 1)
                 & (total[:, None, :] > ninf))
        parent = tf.argmax(tf.cast(match, tf.int32), -1)
        has_parent = tf.reduce_any(match, -1) & (length > 0) & (total > ninf)
        own = tf.where(pos == (length - 1)[..., None], tf.constant(-1, tf.int64), prefix)
        has_parent &= tf.reduce_all(take(prefix, parent) == own, -1)
        keep_blank = total + lpt[:, blank, None]
        keep_label = p_label + lp_last
        from_parent = tf.where(last == take(last, parent), take(p_blank, parent),
                               take(total, parent)) + lp_last
        keep_label = tf.where(has_parent, _logaddexp(keep_label, from_parent, ninf), keep_label)
        ext = tf.where(label_ids == last[..., None], p_blank[..., None], total[..., None])
        ext = tf.where(label_ids == blank, ninf, ext + lpt[:, None, :])
        dup = tf.where(has_parent, parent * classes + last, width * classes)
        ext = tf.pad(tf.reshape(ext, [n, width * classes]), [(0, 0), (0, 1)])
        idx = tf.reshape(tf.stack([tf.broadcast_to(rows, tf.shape(dup)), dup], -1), [-1, 2])
        ext = tf.tensor_scatter_nd_update(ext, idx, tf.fill(tf.shape(idx)[:1], ninf))
        ext = ext[:, :-1]
        cand = tf.concat([_logaddexp(keep_blank, keep_label, ninf), ext], 1)
        best = tf.cast(tf.math.top_k(cand, width).indices, tf.int64)
        is_ext = best >= width
        src = tf.where(is_ext, (best - width) // classes, best)
        lab = tf.where(is_ext, (best - width) % classes, 0)
        new_len = take(length, src)
        put = is_ext[..., None] & (pos == new_len[..., None])
        old1, old2 = take(h1, src), take(h2, src)
        new = (tf.where(put, lab[..., None], take(prefix, src)),
               new_len + tf.cast(is_ext, tf.int64),
               tf.where(is_ext, lab, take(last, src)),
               tf.where(is_ext, tf.bitwise.bitwise_and(old1 * mult[0] + lab + 1, 0xFFFFFFFF),
                        old1),
               tf.where(is_ext, tf.bitwise.bitwise_and(old2 * mult[1] + lab + 1, 0xFFFFFFFF),
                        old2),
               tf.where(is_ext, old1, take(ph1, src)), tf.where(is_ext, old2, take(ph2, src)),
               tf.where(is_ext, ninf, take(keep_blank, src)),
               tf.where(is_ext, take(ext, tf.maximum(best - width, 0)),
                        take(keep_label, src)))
        active = t < lengths
        state = (prefix, length, last, h1, h2, ph1, ph2, p_blank, p_label)
        return (t + 1,) + tuple(
            tf.where(active[:, None, None] if i == 0 else active[:, None], v, o)
            for i, (o, v) in enumerate(zip(state, new)))

    minus1 = tf.fill([n, width], tf.constant(-1, tf.int64))
    zeros = tf.zeros([n, width], tf.int64)
    empty = tf.fill([n, width], ninf)
    init = (tf.constant(0), tf.fill([n, width, steps], tf.constant(-1, tf.int64)), zeros,
            minus1, zeros, zeros, zeros, zeros,
            tf.concat([tf.zeros([n, 1], x.dtype), empty[:, 1:]], 1), empty)
    out = tf.while_loop(lambda t, *_: t < steps, step, init)
    prefix, p_blank, p_label = out[1], out[8], out[9]
    scores = _logaddexp(p_blank, p_label, ninf)[:, :top_paths]
    decoded = tf.where((scores > ninf)[..., None], prefix[:, :top_paths],
                       tf.constant(-1, tf.int64))
    return tf.cast(tf.transpose(decoded, (1, 0, 2)), tf.int32), scores


# One graph per input signature and static arguments: eager calls run the loop as a graph.
_ctc_beam_search_graph = tf.function(_ctc_beam_search, reduce_retracing=True)


def _logaddexp(a, b, ninf):
    """log(exp(a) + exp(b)), -inf where both are -inf (no NaN)."""
    hi = tf.maximum(a, b)
    safe = tf.where(hi > ninf, hi, tf.zeros_like(hi))
    return tf.where(hi > ninf, safe + tf.math.log(tf.exp(a - safe) + tf.exp(b - safe)), ninf)
