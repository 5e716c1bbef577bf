"""OpenVINO graph builders for the neural ops that inference graphs of the layer catalog use:
activations, conv / depthwise_conv, max_pool / average_pool, batch and layer normalization,
dot_product_attention. OpenVINO convolutions and pools are channels-first (NCHW data, OIHW
filters): Keras layouts are transposed at the boundary (constant kernels fold at compile)."""
import math

import numpy as np
import openvino.opset16 as ovo

from unikeras import config
from unikeras.adapters.openvino.ops import (
    _as, _axes, _axis, _constant, _float, _graph_op, _i64, _shape, _weak_dtype, as_output,
    dtype_name)
from unikeras.common import dtypes
from unikeras.common.ops import neural as _def

__all__ = [
    "relu6", "elu", "selu", "gelu", "silu", "hard_sigmoid", "leaky_relu", "softplus", "softsign",
    "log_sigmoid",
    "conv", "depthwise_conv", "max_pool", "average_pool",
    "batch_normalization", "layer_normalization", "dot_product_attention",
]


def _c(value, o):
    return _constant(value, _dtype(o))


def _dtype(o):
    return dtype_name(o)


# --- activations -----------------------------------------------------------------------------
@_graph_op
def relu6(x):
    return ovo.clamp(_float(x), 0.0, 6.0).output(0)


@_graph_op
def elu(x, alpha=1.0):
    return ovo.elu(_float(x), float(alpha)).output(0)


@_graph_op
def selu(x):
    o = _float(x)
    return ovo.selu(o, _c(1.6732632423543772848170429916717, o),
                    _c(1.0507009873554804934193349852946, o)).output(0)


@_graph_op
def gelu(x, approximate=True):
    return ovo.gelu(_float(x), "tanh" if approximate else "erf").output(0)


@_graph_op
def silu(x):
    return ovo.swish(_float(x)).output(0)


@_graph_op
def hard_sigmoid(x):
    o = _float(x)
    return ovo.hard_sigmoid(o, _c(1.0 / 6.0, o), _c(0.5, o)).output(0)


@_graph_op
def leaky_relu(x, negative_slope=0.2):
    o = _float(x)
    return ovo.prelu(o, _c([negative_slope], o)).output(0)


@_graph_op
def softplus(x):
    return ovo.softplus(_float(x)).output(0)


@_graph_op
def softsign(x):
    return ovo.softsign(_float(x)).output(0)


@_graph_op
def log_sigmoid(x):
    o = _float(x)
    return ovo.negative(ovo.softplus(ovo.negative(o))).output(0)


# --- convolution and pooling -----------------------------------------------------------------
def _promote_float(*xs):
    dt = dtypes.result_type(*[_weak_dtype(x) for x in xs])
    dt = dt if dtypes.is_float(dt) else config.floatx()
    return [_as(x, dt) for x in xs]


def _to_cf(o, fmt):
    if fmt == "channels_first":
        return o
    r = len(_shape(o))
    return ovo.transpose(o, _i64([0, r - 1] + list(range(1, r - 1)))).output(0)


def _from_cf(o, fmt):
    if fmt == "channels_first":
        return o
    r = len(_shape(o))
    return ovo.transpose(o, _i64([0] + list(range(2, r)) + [1])).output(0)


def _conv_args(name, x, kshape, strides, padding, dilation_rate):
    n = len(_shape(x)) - 2
    if n not in (1, 2, 3) or len(kshape) != n + 2:
        raise ValueError(f"{name}: inputs of shape {_shape(x)} and kernel of shape {kshape} do "
                         "not make a 1-3d convolution.")
    s = list(_def.tuple_arg(name, "strides", strides, n))
    d = list(_def.tuple_arg(name, "dilation_rate", dilation_rate, n))
    p = _def.padding_of(name, padding)
    return n, s, d, ("same_upper" if p == "same" else "valid")


@_graph_op
def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    fmt = _def.data_format_of("conv", data_format)
    x, k = _promote_float(inputs, kernel)
    ks = _shape(k)
    xcf = _to_cf(x, fmt)
    n, s, d, auto = _conv_args("conv", xcf, ks, strides, padding, dilation_rate)
    ch = _shape(xcf)[1]
    if ch is None or ch % ks[-2]:
        raise ValueError(f"conv: inputs have {ch} channels, not a (static) multiple of the "
                         f"kernel's {ks[-2]} input channels (kernel shape {ks}).")
    groups = ch // ks[-2]
    w = ovo.transpose(k, _i64([n + 1, n] + list(range(n)))).output(0)  # (O, I/g, *k)
    zeros = [0] * n
    if groups == 1:
        out = ovo.convolution(xcf, w, s, zeros, zeros, d, auto)
    else:
        w = ovo.reshape(w, _i64([groups, ks[-1] // groups, ks[-2]] + list(ks[:n])), False)
        out = ovo.group_convolution(xcf, w, s, zeros, zeros, d, auto)
    return _from_cf(out.output(0), fmt)


@_graph_op
def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    fmt = _def.data_format_of("depthwise_conv", data_format)
    x, k = _promote_float(inputs, kernel)
    ks = _shape(k)
    xcf = _to_cf(x, fmt)
    n, s, d, auto = _conv_args("depthwise_conv", xcf, ks, strides, padding, dilation_rate)
    if _shape(xcf)[1] != ks[-2]:
        raise ValueError(f"depthwise_conv: kernel of shape {ks} does not fit inputs of shape "
                         f"{_shape(x)}.")
    # (*k, C, M) -> (C, M, 1, *k): one group per input channel.
    w = ovo.transpose(k, _i64([n, n + 1] + list(range(n)))).output(0)
    w = ovo.unsqueeze(w, _i64([2])).output(0)
    zeros = [0] * n
    return _from_cf(ovo.group_convolution(xcf, w, s, zeros, zeros, d, auto).output(0), fmt)


def _pool_args(name, x, pool_size, strides, padding):
    n = len(_shape(x)) - 2
    if n not in (1, 2, 3):
        raise ValueError(f"{name}: 1, 2 or 3 spatial dims supported, got shape {_shape(x)}.")
    k = list(_def.tuple_arg(name, "pool_size", pool_size, n))
    s = k if strides is None else list(_def.tuple_arg(name, "strides", strides, n))
    p = _def.padding_of(name, padding)
    return n, k, s, ("same_upper" if p == "same" else "valid")


@_graph_op
def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    fmt = _def.data_format_of("max_pool", data_format)
    xcf = _to_cf(as_output(inputs), fmt)
    n, k, s, auto = _pool_args("max_pool", xcf, pool_size, strides, padding)
    zeros = [0] * n
    out = ovo.max_pool(xcf, s, [1] * n, zeros, zeros, k, "floor", auto).output(0)
    return _from_cf(out, fmt)


@_graph_op
def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    fmt = _def.data_format_of("average_pool", data_format)
    xcf = _to_cf(_float(inputs), fmt)
    n, k, s, auto = _pool_args("average_pool", xcf, pool_size, strides, padding)
    zeros = [0] * n
    out = ovo.avg_pool(xcf, s, zeros, zeros, k, True, "floor", auto, [1] * n).output(0)
    return _from_cf(out, fmt)


# --- normalization ---------------------------------------------------------------------------
def _along(v, axis, rank):
    shape = [1] * rank
    shape[axis] = -1
    return ovo.reshape(v, _i64(shape), False).output(0)


@_graph_op
def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    args = [a for a in (x, mean, variance, offset, scale) if a is not None]
    parts = iter(_promote_float(*args))
    o, mean, variance = next(parts), next(parts), next(parts)
    offset = next(parts) if offset is not None else None
    scale = next(parts) if scale is not None else None
    r = len(_shape(o))
    a = _axis("batch_normalization", axis, r)
    c = _shape(o)[a]
    if a == 1 and r >= 2 and c is not None:
        gamma = scale if scale is not None else _c(np.ones(c), o)
        beta = offset if offset is not None else _c(np.zeros(c), o)
        return ovo.batch_norm_inference(o, gamma, beta, mean, variance, float(epsilon)).output(0)
    # x * inv + (offset - mean * inv): per-channel factors, folded when the stats are constant.
    inv = ovo.power(ovo.add(variance, _c(epsilon, o)), _c(-0.5, o)).output(0)
    if scale is not None:
        inv = ovo.multiply(inv, scale).output(0)
    shift = ovo.negative(ovo.multiply(mean, inv)).output(0)
    if offset is not None:
        shift = ovo.add(shift, offset).output(0)
    return ovo.add(ovo.multiply(o, _along(inv, a, r)), _along(shift, a, r)).output(0)


def _param(p, rank, axes):
    ps = _shape(p)
    if len(ps) != rank and len(ps) == len(axes):
        shape = [1] * rank
        for a, size in zip(axes, ps):
            shape[a] = -1 if size is None else size
        p = ovo.reshape(p, _i64(shape), False).output(0)
    return p


@_graph_op
def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon=None, **kwargs):
    parts = iter(_promote_float(*[a for a in (x, gamma, beta) if a is not None]))
    o = next(parts)
    gamma = next(parts) if gamma is not None else None
    beta = next(parts) if beta is not None else None
    r = len(_shape(o))
    axes = _axes("layer_normalization", axis, r)
    eps = config.epsilon() if epsilon is None else epsilon
    out = ovo.mvn(o, _i64(axes), True, float(eps), "inside_sqrt").output(0)
    if gamma is not None:
        out = ovo.multiply(out, _param(gamma, r, axes)).output(0)
    if beta is not None:
        out = ovo.add(out, _param(beta, r, axes)).output(0)
    return out


# --- attention -------------------------------------------------------------------------------
def _repeat_heads(o, reps):
    """(B, S, K, H) -> (B, S, K * reps, H), each head repeated `reps` times in place."""
    s = _shape(o)
    e = ovo.unsqueeze(o, _i64([3])).output(0)
    e = ovo.broadcast(e, _i64([1, 1, 1, reps, 1]), broadcast_spec="BIDIRECTIONAL").output(0)
    return ovo.reshape(e, _i64([0, 0, s[2] * reps, s[3]]), True).output(0)


def _causal_allowed(q, k):
    """Bool (T, S) lower-triangular mask from the (possibly dynamic) sequence lengths."""
    def length(o):
        return ovo.gather(ovo.shape_of(o, "i64"), _i64(2), _i64(0)).output(0)
    zero, one = _i64(0), _i64(1)
    rows = ovo.range(zero, length(q), one, "i64").output(0)
    cols = ovo.range(zero, length(k), one, "i64").output(0)
    return ovo.less_equal(ovo.unsqueeze(cols, _i64([0])), ovo.unsqueeze(rows, _i64([1]))).output(0)


@_graph_op
def dot_product_attention(query, key, value, bias=None, mask=None, scale=None, is_causal=False,
                          flash_attention=None, attn_logits_soft_cap=None):
    q, k, v = _promote_float(query, key, value)
    qs, ks_ = _shape(q), _shape(k)
    batched = len(qs) == 4
    if not batched:
        q, k, v = (ovo.unsqueeze(t, _i64([0])).output(0) for t in (q, k, v))
        qs, ks_ = _shape(q), _shape(k)
    if len(qs) != 4 or len(ks_) != 4 or len(_shape(v)) != 4:
        raise ValueError(f"dot_product_attention: query, key and value must have rank 3 or 4, "
                         f"got {_shape(query)}, {_shape(key)}, {_shape(value)}.")
    if qs[2] != ks_[2]:
        if qs[2] is None or ks_[2] is None or qs[2] % ks_[2]:
            raise ValueError(f"dot_product_attention: key heads {ks_[2]} must divide query "
                             f"heads {qs[2]}.")
        k, v = _repeat_heads(k, qs[2] // ks_[2]), _repeat_heads(v, qs[2] // ks_[2])
    scale = 1.0 / math.sqrt(qs[-1]) if scale is None else scale
    perm = _i64([0, 2, 1, 3])
    qt, kt, vt = (ovo.transpose(t, perm).output(0) for t in (q, k, v))
    dt = _dtype(q)
    big = 0.7 * float(np.finfo(np.float32 if dt == "bfloat16" else np.dtype(dt)).max)
    if attn_logits_soft_cap is None:
        attn = None if bias is None else _as(bias, dt)
        allowed = None if mask is None else _as(mask, "bool")
        causal = bool(is_causal)
        if causal and (attn is not None or allowed is not None):
            c = _causal_allowed(qt, kt)
            allowed = c if allowed is None else ovo.logical_and(allowed, c).output(0)
            causal = False
        if allowed is not None:
            neg = ovo.select(allowed, _c(0.0, q), _c(-big, q)).output(0)
            attn = neg if attn is None else ovo.add(attn, neg).output(0)
        if attn is not None and len(_shape(attn)) < 4:
            attn = ovo.reshape(attn, _i64([1] * (4 - len(_shape(attn))) + [0] * len(_shape(attn))),
                               True).output(0)
        out = ovo.scaled_dot_product_attention(qt, kt, vt, attn, _c(scale, q), causal).output(0)
    else:
        logits = ovo.multiply(ovo.matmul(qt, kt, False, True), _c(scale, q)).output(0)
        cap = _c(attn_logits_soft_cap, q)
        logits = ovo.multiply(ovo.tanh(ovo.divide(logits, cap)), cap).output(0)
        if bias is not None:
            logits = ovo.add(logits, _as(bias, dt)).output(0)
        allowed = None if mask is None else _as(mask, "bool")
        if is_causal:
            c = _causal_allowed(qt, kt)
            allowed = c if allowed is None else ovo.logical_and(allowed, c).output(0)
        if allowed is not None:
            logits = ovo.select(allowed, logits, _c(-big, q)).output(0)
        out = ovo.matmul(ovo.softmax(logits, -1), vt, False, False).output(0)
    out = ovo.transpose(out, perm).output(0)
    return out if batched else ovo.squeeze(out, _i64([0])).output(0)
