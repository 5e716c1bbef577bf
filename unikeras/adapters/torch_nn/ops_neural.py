"""PyTorch implementations of the neural op family, on torch.nn.functional's fused kernels
(F.conv*d, F.*pool*d, F.layer_norm, F.rms_norm, F.scaled_dot_product_attention, ...).
Channels-last layouts are handled with `permute` views at the boundary."""
import math

import torch
import torch.nn.functional as F

from unikeras import config
from unikeras.adapters.torch_nn import logits_memo, prepared
from unikeras.adapters.torch_nn.shape_cache import cached_per_shape
from unikeras.adapters.torch_nn.ops import (
    _FLOATS, _NAME, _T, _float, _result_dtype, _tensor, _to_tensor, _torch_dtype)
from unikeras.common import dtypes
from unikeras.common.ops import neural as _def

__all__ = list(_def.IMPL_NAMES)


# --- activations -----------------------------------------------------------------------------
def relu6(x):
    return F.relu6(_float(x))


def elu(x, alpha=1.0):
    return F.elu(_float(x), alpha)


def selu(x):
    return F.selu(_float(x))


def celu(x, alpha=1.0):
    return F.celu(_float(x), alpha)


def gelu(x, approximate=True):
    return F.gelu(_float(x), approximate="tanh" if approximate else "none")


def glu(x, axis=-1):
    x = _float(x)
    if x.shape[axis] % 2:
        raise ValueError(f"glu: axis {axis} of shape {tuple(x.shape)} must have an even size.")
    return F.glu(x, axis)


def silu(x):
    return F.silu(_float(x))


def hard_sigmoid(x):
    return F.hardsigmoid(_float(x))


def hard_silu(x):
    return F.hardswish(_float(x))


def hard_tanh(x):
    return F.hardtanh(_float(x))


def hard_shrink(x, threshold=0.5):
    return F.hardshrink(_float(x), threshold)


def soft_shrink(x, threshold=0.5):
    return F.softshrink(_float(x), threshold)


def tanh_shrink(x):
    return F.tanhshrink(_float(x))


def softplus(x):
    x = _float(x)
    return torch.logaddexp(x, torch.zeros((), dtype=x.dtype, device=x.device))


def softsign(x):
    return F.softsign(_float(x))


def sparse_plus(x):
    x = _float(x)
    mid = torch.square(x + 1) / 4
    return torch.where(x <= -1, torch.zeros_like(x), torch.where(x >= 1, x, mid))


def sparse_sigmoid(x):
    x = _float(x)
    return torch.clamp((x + 1) / 2, 0, 1)


def sparsemax(x, axis=-1):
    x = _float(x)
    z = torch.movedim(x, axis, -1)
    zs = torch.sort(z, dim=-1, descending=True).values
    k = torch.arange(1, z.shape[-1] + 1, dtype=x.dtype, device=x.device)
    cs = torch.cumsum(zs, dim=-1)
    kz = torch.sum((1 + k * zs) > cs, dim=-1, keepdim=True)
    tau = (torch.gather(cs, -1, kz - 1) - 1) / kz.to(x.dtype)
    return torch.movedim(torch.clamp_min(z - tau, 0), -1, axis)


def squareplus(x, b=4):
    x = _float(x)
    return (x + torch.sqrt(x * x + b)) / 2


def threshold(x, threshold, default_value):
    x = _float(x)
    if isinstance(threshold, (int, float)) and isinstance(default_value, (int, float)):
        return F.threshold(x, threshold, default_value)
    return torch.where(x > threshold, x, torch.as_tensor(default_value, dtype=x.dtype))


def leaky_relu(x, negative_slope=0.2):
    return F.leaky_relu(_float(x), negative_slope)


def log_sigmoid(x):
    return F.logsigmoid(_float(x))


# --- convolution and pooling -----------------------------------------------------------------
_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}
_MAX_POOL = {1: torch.max_pool1d, 2: torch.max_pool2d, 3: torch.max_pool3d}
_AVG_POOL = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}
_ADA_AVG = {1: F.adaptive_avg_pool1d, 2: F.adaptive_avg_pool2d, 3: F.adaptive_avg_pool3d}
_ADA_MAX = {1: F.adaptive_max_pool1d, 2: F.adaptive_max_pool2d, 3: F.adaptive_max_pool3d}


def _promote_float(*xs):
    first = xs[0]
    if type(first) in _T and first.dtype in _FLOATS:   # the common call: float tensors
        dtype, device = first.dtype, first.device       # of one dtype on one device
        for x in xs:
            if type(x) not in _T or x.dtype is not dtype or x.device != device:
                break
        else:
            return xs
    xs = [_to_tensor(x) for x in xs]
    tdt = _result_dtype(*[x.dtype for x in xs])
    if tdt not in _FLOATS:
        tdt = _torch_dtype(config.floatx())
    device = next((x.device for x in xs if x.device.type != "cpu"), xs[0].device)
    return [x if x.dtype is tdt and x.device == device else x.to(device=device, dtype=tdt)
            for x in xs]


_TO_CF = {3: (0, 2, 1), 4: (0, 3, 1, 2), 5: (0, 4, 1, 2, 3)}
_FROM_CF = {3: (0, 2, 1), 4: (0, 2, 3, 1), 5: (0, 2, 3, 4, 1)}


def _to_cf(x, fmt):
    if fmt != "channels_last":
        return x
    order = _TO_CF.get(x.ndim)
    if order is None:
        return torch.movedim(x, -1, 1)
    if x.shape[-1] == 1 and x.is_contiguous():
        # One channel: the same memory read channels-first. oneDNN picks a faster kernel
        # for these plain strides than for the permuted view's (measured: 1.5x at 28x28).
        return x.view(tuple(x.shape[i] for i in order))
    return x.permute(order)


def _from_cf(x, fmt):
    if fmt != "channels_last":
        return x
    order = _FROM_CF.get(x.ndim)
    return torch.movedim(x, 1, -1) if order is None else x.permute(order)


def _f_pad(pads):
    """F.pad's argument (last dim first) from per-spatial-dim (before, after) pairs."""
    out = []
    for lo, hi in reversed(pads):
        out += [lo, hi]
    return out


_CHANNELS_LAST = {4: torch.channels_last, 5: torch.channels_last_3d}


def _torch_weight(kernel, memory_format, depthwise):
    """The Keras-layout kernel (spatial..., in/g, out) as torch's (out, in/g, spatial...),
    laid out in `memory_format` (channels_last strides when the input is a channels_last
    tensor viewed channels-first: oneDNN's fast convolutions need weight and data in one
    memory format, otherwise torch falls back to its slow im2col kernel). A `depthwise`
    kernel (spatial..., in, multiplier) is first read as (spatial..., 1, in * multiplier)."""
    if depthwise:
        shape = tuple(kernel.shape)
        kernel = torch.reshape(kernel, shape[:-2] + (1, shape[-2] * shape[-1]))
    n = kernel.ndim - 2
    return torch.permute(kernel, (n + 1, n) + tuple(range(n))).contiguous(
        memory_format=memory_format)


def _hashable(v):
    return tuple(v) if isinstance(v, list) else v


@cached_per_shape(512)
def _conv_geometry(name, shape, kernel_shape, strides, padding, dilation_rate, depthwise):
    """(strides, symmetric padding, explicit F.pad amounts or None, dilation, groups) of a
    channels-first convolution; cached so that an eager call validates its arguments once."""
    n = len(shape) - 2
    if n not in _CONV:
        raise ValueError(f"{name}: 1, 2 or 3 spatial dims supported, got inputs of rank {len(shape)}.")
    if depthwise:   # (spatial..., in, multiplier) read as (spatial..., 1, in * multiplier)
        kernel_shape = tuple(kernel_shape[:-2]) + (1, kernel_shape[-2] * kernel_shape[-1])
    s = _def.tuple_arg(name, "strides", strides, n)
    d = _def.tuple_arg(name, "dilation_rate", dilation_rate, n)
    p = _def.padding_of(name, padding)
    cin = kernel_shape[-2]
    if shape[1] % cin:
        raise ValueError(f"{name}: inputs have {shape[1]} channels, not a multiple of the "
                         f"kernel's {cin} input channels (kernel shape {tuple(kernel_shape)}).")
    pad, explicit = 0, None
    if p == "same":
        pads = [_def.same_pads(shape[2 + i], kernel_shape[i], s[i], d[i]) for i in range(n)]
        if all(lo == hi for lo, hi in pads):
            pad = tuple(lo for lo, _ in pads)
        else:
            explicit = _f_pad(pads)
    return s, pad, explicit, d, shape[1] // cin


def _conv_cf(x, kernel, strides, padding, dilation_rate, name, bias=None, depthwise=False):
    """Correlation of channels-first x with a Keras-layout kernel (spatial..., in/g, out;
    `depthwise`: spatial..., in, multiplier), plus `bias` (per output channel) inside the
    kernel when given. The torch-layout weight is made once per weight version for
    inference (`prepared.derived`), in the memory format of `x`."""
    try:
        s, pad, explicit, d, groups = _conv_geometry(
            name, x.shape, kernel.shape, strides, padding, dilation_rate, depthwise)
    except TypeError:   # list arguments, which the cache cannot hash
        s, pad, explicit, d, groups = _conv_geometry(
            name, x.shape, kernel.shape, _hashable(strides), padding, _hashable(dilation_rate),
            depthwise)
    memory_format = _CHANNELS_LAST.get(x.ndim)
    if memory_format is None or not x.is_contiguous(memory_format=memory_format):
        memory_format = torch.contiguous_format
    w = prepared.derived(("conv", memory_format, depthwise), (kernel,),
                         lambda k: _torch_weight(k, memory_format, depthwise))
    if explicit is not None:
        x = F.pad(x, explicit)
    return _CONV[x.ndim - 2](x, w, bias, s, pad, d, groups)


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    fmt = _def.data_format_of("conv", data_format)
    x, kernel = _promote_float(inputs, kernel)
    return _from_cf(_conv_cf(_to_cf(x, fmt), kernel, strides, padding, dilation_rate, "conv"), fmt)


def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    fmt = _def.data_format_of("depthwise_conv", data_format)
    x, kernel = _promote_float(inputs, kernel)
    return _from_cf(_conv_cf(_to_cf(x, fmt), kernel, strides, padding, dilation_rate,
                             "depthwise_conv", depthwise=True), fmt)


def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid",
                   data_format=None, dilation_rate=1):
    fmt = _def.data_format_of("separable_conv", data_format)
    x, dk, pk = _promote_float(inputs, depthwise_kernel, pointwise_kernel)
    mid = _conv_cf(_to_cf(x, fmt), dk, strides, padding, dilation_rate, "separable_conv",
                   depthwise=True)
    return _from_cf(_conv_cf(mid, pk, 1, "valid", 1, "separable_conv"), fmt)


def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None,
                   data_format=None, dilation_rate=1):
    fmt = _def.data_format_of("conv_transpose", data_format)
    x, kernel = _promote_float(inputs, kernel)
    x = _to_cf(x, fmt)
    n = x.ndim - 2
    s = _def.tuple_arg("conv_transpose", "strides", strides, n)
    d = _def.tuple_arg("conv_transpose", "dilation_rate", dilation_rate, n)
    p = _def.padding_of("conv_transpose", padding)
    ops_ = (None,) * n if output_padding is None else _def.tuple_arg(
        "conv_transpose", "output_padding", output_padding, n)
    # torch weight layout (in, out, *k) from Keras (*k, out, in).
    w = torch.permute(kernel, (n + 1, n) + tuple(range(n)))
    crops, lengths, fulls = [], [], []
    for i in range(n):
        left, _, length = _def.transpose_pads(x.shape[2 + i], kernel.shape[i], s[i], d[i], p,
                                              ops_[i])
        k_eff = (kernel.shape[i] - 1) * d[i] + 1
        crops.append(k_eff - 1 - left)
        lengths.append(length)
        fulls.append((x.shape[2 + i] - 1) * s[i] + k_eff)
    # Direct when torch's padding/output_padding express the crop; else full output + F.pad.
    extra = [lengths[i] - (fulls[i] - 2 * crops[i]) for i in range(n)]
    if all(c >= 0 for c in crops) and all(0 <= e < max(s[i], d[i]) for i, e in enumerate(extra)):
        out = _CONV_T[n](x, w, None, s, tuple(crops), tuple(extra), 1, d)
    else:
        out = _CONV_T[n](x, w, None, s, 0, 0, 1, d)
        out = F.pad(out, _f_pad([(-crops[i], lengths[i] - fulls[i] + crops[i]) for i in range(n)]))
    return _from_cf(out, fmt)


def _pool_args(name, x, pool_size, strides, padding):
    try:
        return _pool_geometry(name, x.shape, pool_size, strides, padding)
    except TypeError:   # list arguments, which the cache cannot hash
        return _pool_geometry(name, x.shape, _hashable(pool_size), _hashable(strides), padding)


@cached_per_shape(512)
def _pool_geometry(name, shape, pool_size, strides, padding):
    """(n, window, strides, per-dim (before, after) pads, the symmetric padding torch's
    kernels take or None when the pads are not expressible so); cached per call shape."""
    n = len(shape) - 2
    if n not in _MAX_POOL:
        raise ValueError(f"{name}: 1, 2 or 3 spatial dims supported, got inputs of rank {len(shape)}.")
    k = _def.tuple_arg(name, "pool_size", pool_size, n)
    s = k if strides is None else _def.tuple_arg(name, "strides", strides, n)
    p = _def.padding_of(name, padding)
    pads = tuple(_def.same_pads(shape[2 + i], k[i], s[i], 1) if p == "same" else (0, 0)
                 for i in range(n))
    symmetric = None
    if all(lo == hi and 2 * lo <= k[i] for i, (lo, hi) in enumerate(pads)):
        symmetric = tuple(lo for lo, _ in pads)
    return n, k, s, pads, symmetric


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    fmt = _def.data_format_of("max_pool", data_format)
    x = _to_cf(_to_tensor(inputs), fmt)
    n, k, s, pads, pad = _pool_args("max_pool", x, pool_size, strides, padding)
    dt = x.dtype
    if dt not in _FLOATS:
        x = x.to(torch.float64)
    if pad is None:
        x, pad = F.pad(x, _f_pad(pads), value=-math.inf), 0
    out = _MAX_POOL[n](x, k, s, pad)
    return _from_cf(out if out.dtype is dt else out.to(dt), fmt)


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    fmt = _def.data_format_of("average_pool", data_format)
    x = _to_cf(_float(inputs), fmt)
    n, k, s, pads, pad = _pool_args("average_pool", x, pool_size, strides, padding)
    if pad is not None:
        out = _AVG_POOL[n](x, k, s, pad, False, False)
    else:  # asymmetric 'same' padding: window sums over window counts
        fp = _f_pad(pads)
        total = _AVG_POOL[n](F.pad(x, fp), k, s, 0, False, True) * math.prod(k)
        ones = torch.ones((1, 1) + tuple(x.shape[2:]), dtype=x.dtype, device=x.device)
        count = _AVG_POOL[n](F.pad(ones, fp), k, s, 0, False, True) * math.prod(k)
        out = total / count
    return _from_cf(out, fmt)


def adaptive_average_pool(inputs, output_size, data_format=None):
    fmt = _def.data_format_of("adaptive_average_pool", data_format)
    x = _to_cf(_float(inputs), fmt)
    n = x.ndim - 2
    out = _def.tuple_arg("adaptive_average_pool", "output_size", output_size, n)
    return _from_cf(_ADA_AVG[n](x, out), fmt)


def adaptive_max_pool(inputs, output_size, data_format=None):
    fmt = _def.data_format_of("adaptive_max_pool", data_format)
    x = _to_cf(_to_tensor(inputs), fmt)
    n = x.ndim - 2
    out = _def.tuple_arg("adaptive_max_pool", "output_size", output_size, n)
    dt = x.dtype
    y = _ADA_MAX[n](x if dt in _FLOATS else x.to(torch.float64), out)
    return _from_cf(y if y.dtype is dt else y.to(dt), fmt)


# --- normalization ---------------------------------------------------------------------------
def moments(x, axes, keepdims=False, synchronized=False):
    x = _float(x)
    dims = _def.axes_tuple("moments", axes, x.ndim)
    var, mean = torch.var_mean(x, dim=dims, correction=0, keepdim=keepdims)
    return mean, var


def _along(v, axis, ndim, tdt, device):
    v = _tensor(v, tdt, device)
    shape = [1] * ndim
    shape[axis] = -1
    return torch.reshape(v, shape)


def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    args = [a for a in (x, mean, variance, offset, scale) if a is not None]
    tensors = _promote_float(*args)
    x = tensors[0]
    a = _def.canonical_axis("batch_normalization", axis, x.ndim)
    stats = [_tensor(v, x.dtype, x.device) if v is not None else None
             for v in (mean, variance, offset, scale)]
    if x.ndim >= 2 and not (stats[0].requires_grad or stats[1].requires_grad):
        # Fused inference kernel (statistics as constants; gradients to x, scale, offset).
        out = F.batch_norm(torch.movedim(x, a, 1), stats[0], stats[1], stats[3], stats[2],
                           False, 0.0, epsilon)
        return torch.movedim(out, 1, a)
    inv = torch.rsqrt(_along(stats[1], a, x.ndim, x.dtype, x.device) + epsilon)
    if scale is not None:
        inv = inv * _along(stats[3], a, x.ndim, x.dtype, x.device)
    out = (x - _along(stats[0], a, x.ndim, x.dtype, x.device)) * inv
    if offset is not None:
        out = out + _along(stats[2], a, x.ndim, x.dtype, x.device)
    return out


def _param(p, x, axes):
    if p.ndim != x.ndim and p.ndim == len(axes):
        shape = [1] * x.ndim
        for a, size in zip(axes, p.shape):
            shape[a] = size
        p = torch.reshape(p, shape)
    return p


def _trailing(axes, ndim):
    return axes == tuple(range(ndim - len(axes), ndim))


def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon=None, **kwargs):
    parts = _promote_float(*[a for a in (x, gamma, beta) if a is not None])
    x = parts[0]
    it = iter(parts[1:])
    gamma = next(it) if gamma is not None else None
    beta = next(it) if beta is not None else None
    axes = _def.axes_tuple("layer_normalization", axis, x.ndim)
    eps = config.epsilon() if epsilon is None else epsilon
    norm_shape = tuple(x.shape[a] for a in axes)
    if _trailing(axes, x.ndim) and all(p is None or tuple(p.shape) == norm_shape
                                       for p in (gamma, beta)):
        return F.layer_norm(x, norm_shape, gamma, beta, eps)
    var, mean = torch.var_mean(x, dim=axes, correction=0, keepdim=True)
    out = (x - mean) * torch.rsqrt(var + eps)
    if gamma is not None:
        out = out * _param(gamma, x, axes)
    if beta is not None:
        out = out + _param(beta, x, axes)
    return out


def rms_normalization(x, scale=None, axis=-1, epsilon=None):
    parts = _promote_float(*[a for a in (x, scale) if a is not None])
    x = parts[0]
    scale = parts[1] if scale is not None else None
    axes = _def.axes_tuple("rms_normalization", axis, x.ndim)
    eps = config.epsilon() if epsilon is None else epsilon
    norm_shape = tuple(x.shape[a] for a in axes)
    if _trailing(axes, x.ndim) and (scale is None or tuple(scale.shape) == norm_shape):
        return F.rms_norm(x, norm_shape, scale, eps)
    out = x * torch.rsqrt(torch.mean(torch.square(x), dim=axes, keepdim=True) + eps)
    return out if scale is None else out * _param(scale, x, axes)


def normalize(x, axis=-1, order=2, epsilon=None):
    x = _float(x)
    eps = config.epsilon() if epsilon is None else epsilon
    axes = _def.axes_tuple("normalize", axis, x.ndim)
    if len(axes) == 1:
        return F.normalize(x, p=order, dim=axes[0], eps=eps)
    norm = torch.linalg.vector_norm(x, ord=order, dim=axes, keepdim=True)
    return x / torch.clamp_min(norm, eps)


# --- losses ----------------------------------------------------------------------------------
def binary_crossentropy(target, output, from_logits=False):
    t, o = _promote_float(target, output)
    if not from_logits:
        o, from_logits = _logits_or_probs(o, None)
    if from_logits:
        return F.binary_cross_entropy_with_logits(o, t, reduction="none")
    eps = config.epsilon()
    o = torch.clamp(o, eps, 1 - eps)
    return -(t * torch.log(o) + (1 - t) * torch.log1p(-o))


def _log_probs(o, from_logits, axis):
    if from_logits:
        return torch.log_softmax(o, dim=axis)
    eps = config.epsilon()
    o = o / torch.sum(o, dim=axis, keepdim=True)
    return torch.log(torch.clamp(o, eps, 1 - eps))


def _logits_or_probs(probs, axis):
    """(logits, True) when `probs` remembers the logits it came from (`logits_memo`),
    else (probs, False)."""
    logits = logits_memo.recall(probs, axis)
    if logits is None or logits.dtype is not probs.dtype:
        return probs, False
    return logits, True


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    t, o = _promote_float(target, output)
    if not from_logits and o.ndim >= 1:
        o, from_logits = _logits_or_probs(o, axis % o.ndim)
    if from_logits and o.ndim >= 1 and t.shape == o.shape:
        a = axis % o.ndim
        return F.cross_entropy(torch.movedim(o, a, 1) if o.ndim > 1 else o,
                               torch.movedim(t, a, 1) if o.ndim > 1 else t, reduction="none")
    return -torch.sum(t * _log_probs(o, from_logits, axis), dim=axis)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Keras's formula on torch's fused kernels: `F.cross_entropy` on logits (also on
    probabilities that remember theirs, see `logits_memo`); on other probabilities the
    clipped log of `output / sum(output)` picked by `F.nll_loss`."""
    o = _float(output)
    t = _to_tensor(target)
    if t.ndim == o.ndim and t.shape[-1] == 1:
        t = torch.squeeze(t, -1)
    a = _def.canonical_axis("sparse_categorical_crossentropy", axis, o.ndim)
    t = t.to(device=o.device, dtype=torch.int64)
    if not from_logits:
        o, from_logits = _logits_or_probs(o, a)
    if not from_logits:
        o = _log_probs(o, False, a)
    if a != 1 and o.ndim > 1:   # torch's losses take the classes on axis 1, contiguous
        o = torch.movedim(o, a, 1).contiguous()   # (nll_loss2d's backward requires it)
    if from_logits:
        return F.cross_entropy(o, t, reduction="none")
    return F.nll_loss(o, t, reduction="none")


# --- the rest --------------------------------------------------------------------------------
def multi_hot(inputs, num_classes=None, axis=-1, dtype=None, sparse=False, **kwargs):
    if num_classes is None:
        num_classes = kwargs.pop("num_tokens", None)
    if sparse:
        raise ValueError("multi_hot: sparse=True is not supported.")
    x = _to_tensor(inputs).to(torch.int64)
    classes = torch.arange(num_classes, device=x.device)
    out = torch.eq(torch.unsqueeze(x, -1), classes)
    if axis != -1:
        out = torch.movedim(out, -1, axis)
    out = torch.any(out, dim=1 if x.ndim > 1 else 0)
    return out.to(_torch_dtype(dtype))


def psnr(x1, x2, max_val):
    a, b = _promote_float(x1, x2)
    mse = torch.mean(torch.square(a - b))
    return 20 * math.log10(max_val) - 10 * torch.log10(mse)


def depth_to_space(x, block_size, data_format="channels_last"):
    x = _to_tensor(x)
    b = int(block_size)
    if data_format == "channels_first":
        return F.pixel_shuffle(x, b)
    n, h, w, c = x.shape
    x = torch.reshape(x, (n, h, w, b, b, c // (b * b))).permute(0, 1, 3, 2, 4, 5)
    return torch.reshape(x, (n, h * b, w * b, c // (b * b)))


def space_to_depth(x, block_size, data_format="channels_last"):
    x = _to_tensor(x)
    b = int(block_size)
    if data_format == "channels_first":
        return F.pixel_unshuffle(x, b)
    n, h, w, c = x.shape
    x = torch.reshape(x, (n, h // b, b, w // b, b, c)).permute(0, 1, 3, 2, 4, 5)
    return torch.reshape(x, (n, h // b, w // b, c * b * b))


def _unmask_blind_rows(q, bias, allowed):
    """(q, bias, allowed) with the query rows that see no key made to average all values,
    as Keras's masked softmax does (its logits there all equal the large negative), yet
    with its gradients: Keras selects the large negative with `where`, so no gradient
    reaches such a row's query, keys or bias, while an additive mask would pass it on.
    Such a row runs unmasked with a zeroed query and bias: equal logits, zero gradients.
    A CPU mask without such rows is returned as it is (checking is free there); on other
    devices the rewrite always runs, as checking would wait for the device."""
    seen = allowed.any(-1, keepdim=True)
    if not torch.compiler.is_compiling() and seen.device.type == "cpu" and bool(seen.all()):
        return q, bias, allowed
    q = torch.where(seen, q, torch.zeros((), dtype=q.dtype, device=q.device))
    if bias is not None:
        bias = torch.where(seen, bias, torch.zeros((), dtype=bias.dtype, device=bias.device))
    return q, bias, allowed | ~seen


def dot_product_attention(query, key, value, bias=None, mask=None, scale=None, is_causal=False,
                          flash_attention=None, attn_logits_soft_cap=None):
    q, k, v = _promote_float(query, key, value)
    batched = q.ndim == 4
    if not batched:
        q, k, v = q[None], k[None], v[None]
    # (batch, seq, heads, dim) -> (batch, heads, seq, dim): views, no copies.
    q, k, v = (torch.transpose(a, 1, 2) for a in (q, k, v))
    heads, kv_heads = q.shape[1], k.shape[1]
    if kv_heads != heads:
        k = torch.repeat_interleave(k, heads // kv_heads, dim=1)
        v = torch.repeat_interleave(v, heads // kv_heads, dim=1)
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    big = 0.7 * torch.finfo(q.dtype).max
    t, s = q.shape[2], k.shape[2]
    if attn_logits_soft_cap is None:
        attn = None
        if bias is not None:
            attn = _tensor(bias, q.dtype, q.device)
        allowed = None
        if mask is not None:
            allowed = _tensor(mask, torch.bool, q.device)
        if is_causal and (attn is not None or allowed is not None):
            causal = torch.ones((t, s), dtype=torch.bool, device=q.device).tril()
            allowed = causal if allowed is None else allowed & causal
            is_causal = False
        if allowed is not None:
            q, attn, allowed = _unmask_blind_rows(q, attn, allowed)
            # A large finite negative (not -inf), as in Keras.
            neg = torch.where(allowed, torch.zeros((), dtype=q.dtype, device=q.device),
                              torch.full((), -big, dtype=q.dtype, device=q.device))
            attn = neg if attn is None else attn + neg
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn, is_causal=bool(is_causal),
                                             scale=scale)
    else:
        logits = torch.matmul(q, k.transpose(-1, -2)) * scale
        logits = torch.tanh(logits / attn_logits_soft_cap) * attn_logits_soft_cap
        if bias is not None:
            logits = logits + _tensor(bias, q.dtype, q.device)
        allowed = torch.ones((), dtype=torch.bool, device=q.device)
        if mask is not None:
            allowed = allowed & _tensor(mask, torch.bool, q.device)
        if is_causal:
            allowed = allowed & torch.ones((t, s), dtype=torch.bool, device=q.device).tril()
        logits = torch.where(allowed, logits, torch.full((), -big, dtype=q.dtype, device=q.device))
        out = torch.matmul(torch.softmax(logits, dim=-1), v)
    out = torch.transpose(out, 1, 2)
    return out if batched else out[0]


def polar(abs_, angle):
    # Python scalars read as convert_to_tensor reads them (float -> floatx), as in the rule.
    abs_, angle = [_tensor(v, _torch_dtype(dtypes.result_type(v))) if isinstance(v, (int, float))
                   else v for v in (abs_, angle)]
    r, a = _promote_float(abs_, angle)
    if r.dtype not in (torch.float32, torch.float64):
        r, a = r.to(torch.float32), a.to(torch.float32)
    r, a = torch.broadcast_tensors(r, a)
    return torch.polar(r, a)


def unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    x = _to_tensor(x)
    k, d, p, s, _ = _def.patch_geometry("unfold", tuple(x.shape[2:]), kernel_size, dilation,
                                        padding, stride)
    return F.unfold(x, k, d, p, s)


def fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    x = _to_tensor(x)
    out = _def.pair_arg("fold", "output_size", output_size)
    k, d, p, s, _ = _def.patch_geometry("fold", out, kernel_size, dilation, padding, stride)
    return F.fold(x, out, k, d, p, s)


def ctc_loss(target, output, target_length, output_length, mask_index=0):
    o = _float(output)
    lp = torch.log_softmax(o, dim=-1).transpose(0, 1)  # (time, batch, classes)
    dev = o.device
    t = _to_tensor(target).to(device=dev, dtype=torch.int64)
    tl = _to_tensor(target_length).to(device=dev, dtype=torch.int64)
    ol = _to_tensor(output_length).to(device=dev, dtype=torch.int64)
    return F.ctc_loss(lp, t, ol, tl, blank=mask_index, reduction="none")


def ctc_decode(inputs, sequence_lengths, strategy="greedy", beam_width=100, top_paths=1,
               merge_repeated=True, mask_index=0):
    x = _to_tensor(inputs)
    x = x.to(_torch_dtype(_def.ctc_decode_dtype(_NAME[x.dtype])))
    blank = _def.ctc_decode_args(strategy, beam_width, top_paths, mask_index, x.shape[2])
    lengths = _to_tensor(sequence_lengths).to(x.device).reshape(-1)
    if strategy == "beam_search":
        with torch.no_grad():
            return _ctc_beam_search(x.detach(), lengths, int(beam_width), int(top_paths), blank)
    steps = x.shape[1]
    pos = torch.arange(steps, device=x.device)[None]
    valid = pos < lengths[:, None]
    scores, best = torch.max(x, dim=-1)
    blank_t = torch.full((), blank, dtype=best.dtype, device=x.device)
    best = torch.where(valid, best, blank_t)
    scores = torch.where(valid, scores, torch.zeros((), dtype=x.dtype, device=x.device))
    if merge_repeated:
        repeat = F.pad(best[:, 1:] == best[:, :-1], (1, 0))
        best = torch.where(repeat, blank_t, best)
    keep = best != blank
    order = torch.argsort(torch.where(keep, pos, steps), dim=-1, stable=True)
    decoded = torch.gather(torch.where(keep, best, -1), -1, order)
    return decoded[None].to(torch.int32), -torch.sum(scores, dim=1, keepdim=True)


def _ctc_beam_search(x, lengths, width, top_paths, blank):
    """Prefix beam search vectorized over batch and `width` beam slots, one step per time
    step (the NumPy reference's algorithm, see unikeras/adapters/numpy_ref/ops_neural.py).
    The 32-bit prefix hashes are computed in int64 and masked to 32 bits."""
    n, steps, classes = x.shape
    dev = x.device
    lp = torch.log_softmax(x, dim=-1)
    ninf = torch.tensor(-math.inf, dtype=x.dtype, device=dev)
    mult = torch.tensor(_def.CTC_HASH, dtype=torch.int64, device=dev)[:, None, None]
    prefix = torch.full((n, width, steps), -1, dtype=torch.int64, device=dev)
    length = torch.zeros((n, width), dtype=torch.int64, device=dev)
    last = torch.full((n, width), -1, dtype=torch.int64, device=dev)
    hash_ = torch.zeros((2, n, width), dtype=torch.int64, device=dev)
    parent_hash = torch.zeros_like(hash_)
    p_blank = torch.full((n, width), -math.inf, dtype=x.dtype, device=dev)
    p_blank[:, 0] = 0
    p_label = torch.full_like(p_blank, -math.inf)
    rows = torch.arange(n, device=dev)[:, None]
    pos = torch.arange(steps, device=dev)
    label_ids = torch.arange(classes, device=dev)
    for t in range(steps):
        lpt = lp[:, t]
        total = torch.logaddexp(p_blank, p_label)
        lp_last = torch.where(last >= 0, torch.gather(lpt, 1, last.clamp(min=0)), ninf)
        match = ((parent_hash[0][:, :, None] == hash_[0][:, None, :])
                 & (parent_hash[1][:, :, None] == hash_[1][:, None, :])
                 & (length[:, :, None] == length[:, None, :] + 1)
                 & (total[:, None, :] > ninf))
        parent = match.to(torch.uint8).argmax(-1)
        has_parent = match.any(-1) & (length > 0) & (total > ninf)
        own = torch.where(pos == (length - 1)[..., None], -1, prefix)
        has_parent &= torch.all(prefix[rows, parent] == own, -1)
        keep_blank = total + lpt[:, blank, None]
        keep_label = p_label + lp_last
        from_parent = torch.where(last == last[rows, parent], p_blank[rows, parent],
                                  total[rows, parent]) + lp_last
        keep_label = torch.where(has_parent, torch.logaddexp(keep_label, from_parent),
                                 keep_label)
        ext = torch.where(label_ids == last[..., None], p_blank[..., None], total[..., None])
        ext = ext + lpt[:, None, :]
        ext[:, :, blank] = -math.inf
        dup = torch.where(has_parent, parent * classes + last, width * classes)
        ext = F.pad(ext.reshape(n, -1), (0, 1)).scatter_(1, dup, -math.inf)[:, :-1]
        cand = torch.cat([torch.logaddexp(keep_blank, keep_label), ext], 1)
        best = torch.sort(cand, dim=1, descending=True, stable=True)[1][:, :width]
        is_ext = best >= width
        src = torch.where(is_ext, torch.div(best - width, classes, rounding_mode="floor"), best)
        lab = torch.where(is_ext, (best - width) % classes, 0)
        new_len = length[rows, src]
        put = is_ext[..., None] & (pos == new_len[..., None])
        old_hash = hash_[:, rows, src]
        active = (t < lengths)[:, None]
        new_prefix = torch.where(put, lab[..., None], prefix[rows, src])
        prefix = torch.where(active[..., None], new_prefix, prefix)
        hash_ = torch.where(active, torch.where(
            is_ext, (old_hash * mult + lab + 1) & 0xFFFFFFFF, old_hash), hash_)
        parent_hash = torch.where(active, torch.where(is_ext, old_hash,
                                                      parent_hash[:, rows, src]), parent_hash)
        new_blank = torch.where(is_ext, ninf, keep_blank[rows, src])
        new_label = torch.where(is_ext, ext[rows, (best - width).clamp(min=0)],
                                keep_label[rows, src])
        last = torch.where(active, torch.where(is_ext, lab, last[rows, src]), last)
        length = torch.where(active, new_len + is_ext, length)
        p_blank = torch.where(active, new_blank, p_blank)
        p_label = torch.where(active, new_label, p_label)
    scores = torch.logaddexp(p_blank, p_label)[:, :top_paths]
    decoded = torch.where((scores > ninf)[..., None], prefix[:, :top_paths], -1)
    return decoded.transpose(0, 1).to(torch.int32), scores
