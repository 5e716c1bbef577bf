"""OpenVINO graph builders for the neural ops that inference graphs of the layer catalog use:
activations, conv / depthwise_conv / separable_conv / conv_transpose, max / average / adaptive
pooling, batch, layer and RMS normalization, normalize, moments, the cross-entropies and psnr,
multi_hot, in_top_k, depth_to_space / space_to_depth, unfold / fold and dot_product_attention.
OpenVINO convolutions and pools are channels-first (NCHW data, OIHW filters): Keras layouts are
transposed at the boundary (constant kernels fold at compile). Half-precision inputs of the
formula-built ops compute in float32 and round once at the end. Not offered here: polar
(complex output), ctc_loss and ctc_decode."""
import builtins
import math

import numpy as np
from unikeras.adapters.openvino import opset as ovo

from unikeras import config
from unikeras.adapters.openvino.ops import (
    _as, _axes, _axis, _cast, _constant, _float, _graph_op, _i64, _shape, _weak_dtype, as_output,
    dtype_name)
from unikeras.adapters.openvino.ops import one_hot as _one_hot
from unikeras.adapters.openvino import ops_elementwise as _ew  # attributes read at call time
from unikeras.common import dtypes
from unikeras.common.ops import neural as _def
from unikeras.common.symbolic import KerasTensor
from unikeras.common.ops.shapes import broadcast_shapes

builtins_max, builtins_any = builtins.max, builtins.any


def _expm1(o):
    return _ew.expm1(o)


def _log1p(o):
    return _ew.log1p(o)

__all__ = [
    "relu6", "elu", "selu", "gelu", "silu", "hard_sigmoid", "leaky_relu", "softplus", "softsign",
    "log_sigmoid",
    "conv", "depthwise_conv", "max_pool", "average_pool",
    "batch_normalization", "layer_normalization", "dot_product_attention",
    "celu", "glu", "hard_silu", "hard_tanh", "hard_shrink", "soft_shrink", "tanh_shrink",
    "sparse_plus", "sparse_sigmoid", "sparsemax", "squareplus", "threshold",
    "conv_transpose", "separable_conv", "adaptive_average_pool", "adaptive_max_pool",
    "moments", "rms_normalization", "normalize",
    "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
    "psnr", "multi_hot", "in_top_k", "depth_to_space", "space_to_depth", "unfold", "fold",
]


def _c(value, o):
    return _constant(value, _dtype(o))


def _dtype(o):
    return dtype_name(o)


# --- activations -----------------------------------------------------------------------------
def _keep_nan(o, r):
    """`r` with the NaNs of `o` passed through (Clamp / Maximum would drop them)."""
    return ovo.select(ovo.is_nan(o), o, r).output(0)


@_graph_op
def relu6(x):
    o = _float(x)
    return _keep_nan(o, ovo.clamp(o, 0.0, 6.0).output(0))


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


# --- more activations ------------------------------------------------------------------------
_HALF = ("float16", "bfloat16")


def _wide(o):
    """Half precision widened to float32 for computing (rounded back once by _cast)."""
    return _cast(o, "float32") if _dtype(o) in _HALF else o


def _unary(name, formula):
    """A float activation computed by `formula(o)` on the widened input."""
    def apply(x, *args, **kwargs):
        o = _float(x)
        return _cast(formula(_wide(o), *args, **kwargs), _dtype(o))
    apply.__name__ = name
    return _graph_op(apply)


def _sel(cond, a, b):
    return ovo.select(cond, a, b).output(0)


def _celu(o, alpha=1.0):
    zero = _c(0.0, o)
    neg = ovo.divide(ovo.minimum(o, zero), _c(alpha, o)).output(0)
    tail = ovo.multiply(_c(alpha, o), _expm1(neg)).output(0)
    return _keep_nan(o, ovo.add(ovo.maximum(o, zero), ovo.minimum(tail, zero)).output(0))


celu = _unary("celu", _celu)
hard_silu = _unary("hard_silu", lambda o: ovo.hswish(o).output(0))
hard_tanh = _unary("hard_tanh", lambda o: _keep_nan(o, ovo.clamp(o, -1.0, 1.0).output(0)))
tanh_shrink = _unary("tanh_shrink", lambda o: ovo.subtract(o, ovo.tanh(o)).output(0))


def _hard_shrink(o, threshold=0.5):
    big = ovo.greater(ovo.abs(o), _c(threshold, o)).output(0)
    return _sel(big, o, _c(0.0, o))


def _soft_shrink(o, threshold=0.5):
    t = _c(threshold, o)
    inner = _sel(ovo.less(o, ovo.negative(t)).output(0), ovo.add(o, t).output(0), _c(0.0, o))
    return _sel(ovo.greater(o, t).output(0), ovo.subtract(o, t).output(0), inner)


def _sparse_plus(o):
    sq = ovo.add(o, _c(1.0, o)).output(0)
    mid = ovo.divide(ovo.multiply(sq, sq), _c(4.0, o)).output(0)
    mid = _sel(ovo.greater_equal(o, _c(1.0, o)).output(0), o, mid)
    return _sel(ovo.less_equal(o, _c(-1.0, o)).output(0), _c(0.0, o), mid)


def _sparse_sigmoid(o):
    mid = ovo.divide(ovo.add(o, _c(1.0, o)), _c(2.0, o)).output(0)
    mid = _sel(ovo.greater_equal(o, _c(1.0, o)).output(0), _c(1.0, o), mid)
    return _sel(ovo.less_equal(o, _c(-1.0, o)).output(0), _c(0.0, o), mid)


def _squareplus(o, b=4):
    root = ovo.sqrt(ovo.add(ovo.multiply(o, o), _c(b, o)))
    return ovo.divide(ovo.add(o, root), _c(2.0, o)).output(0)


def _threshold(o, threshold, default_value):
    return _sel(ovo.greater(o, _c(threshold, o)).output(0), o, _c(default_value, o))


hard_shrink = _unary("hard_shrink", _hard_shrink)
soft_shrink = _unary("soft_shrink", _soft_shrink)
sparse_plus = _unary("sparse_plus", _sparse_plus)
sparse_sigmoid = _unary("sparse_sigmoid", _sparse_sigmoid)
squareplus = _unary("squareplus", _squareplus)
threshold = _unary("threshold", _threshold)


@_graph_op
def glu(x, axis=-1):
    o = _float(x)
    a = _axis("glu", axis, len(_shape(o)))
    size = _shape(o)[a]
    if size is not None and size % 2:
        raise ValueError(f"glu: axis {axis} of shape {_shape(o)} must have an even size.")
    halves = ovo.split(o, _i64(a), 2)
    return ovo.multiply(halves.output(0), ovo.sigmoid(halves.output(1))).output(0)


def _length(o, axis):
    """Size of dimension `axis` of `o` as a scalar int64 Output (dynamic sizes too)."""
    return ovo.gather(ovo.shape_of(o, "i64"), _i64(axis), _i64(0)).output(0)


def _along_axis(v, axis, rank):
    shape = [1] * rank
    shape[axis] = -1
    return ovo.reshape(v, _i64(shape), False).output(0)


@_graph_op
def sparsemax(x, axis=-1):
    # Sort descending along the axis; the support is the k with 1 + k z_(k) > sum_{j<=k} z_(j),
    # tau = (sum over the support - 1) / |support|, result max(z - tau, 0).
    o = _float(x)
    d = _dtype(o)
    z = _wide(o)
    r = len(_shape(z))
    a = _axis("sparsemax", axis, r)
    n = _length(z, a)
    zs = ovo.topk(z, n, a, "max", "value", "i32").output(0)
    k = ovo.range(_i64(1), ovo.add(n, _i64(1)), _i64(1), "i64").output(0)
    k = _along_axis(_cast(k, _dtype(z)), a, r)
    cs = ovo.cumsum(zs, _i64(a)).output(0)
    support = ovo.greater(ovo.add(_c(1.0, z), ovo.multiply(k, zs)), cs).output(0)
    kz = ovo.reduce_sum(_cast(support, "int64"), _i64([a]), True).output(0)
    top = ovo.gather_elements(cs, ovo.subtract(kz, _i64(1)), a).output(0)
    tau = ovo.divide(ovo.subtract(top, _c(1.0, z)), _cast(kz, _dtype(z))).output(0)
    return _cast(ovo.maximum(ovo.subtract(z, tau), _c(0.0, z)).output(0), d)


# --- more normalization ----------------------------------------------------------------------
@_graph_op
def moments(x, axes, keepdims=False, synchronized=False):
    o = _float(x)
    d = _dtype(o)
    w = _wide(o)
    r = len(_shape(w))
    ax = list(_def.axes_tuple("moments", axes, r))
    if not ax:
        return o, _cast(ovo.multiply(w, _c(0.0, w)).output(0), d)
    mean = ovo.reduce_mean(w, _i64(ax), True).output(0)
    centered = ovo.subtract(w, mean).output(0)
    var = ovo.reduce_mean(ovo.multiply(centered, centered), _i64(ax), keepdims).output(0)
    if not keepdims:
        mean = ovo.squeeze(mean, _i64(ax)).output(0)
    return _cast(mean, d), _cast(var, d)


@_graph_op
def rms_normalization(x, scale=None, axis=-1, epsilon=None):
    parts = _promote_float(*[a for a in (x, scale) if a is not None])
    d = _dtype(parts[0])
    o = _wide(parts[0])
    r = len(_shape(o))
    axes = _axes("rms_normalization", axis, r)
    eps = config.epsilon() if epsilon is None else epsilon
    ms = ovo.reduce_mean(ovo.multiply(o, o), _i64(axes), True).output(0)
    out = ovo.divide(o, ovo.sqrt(ovo.add(ms, _c(eps, ms)))).output(0)
    if scale is not None:
        out = ovo.multiply(out, _param(_wide(parts[1]), r, axes)).output(0)
    return _cast(out, d)


@_graph_op
def normalize(x, axis=-1, order=2, epsilon=None):
    o = _float(x)
    d = _dtype(o)
    w = _wide(o)
    axes = _i64(list(_def.axes_tuple("normalize", axis, len(_shape(w)))))
    eps = config.epsilon() if epsilon is None else epsilon
    if order == 2:
        norm = ovo.reduce_l2(w, axes, True).output(0)
    elif order == 1:
        norm = ovo.reduce_l1(w, axes, True).output(0)
    else:
        s = ovo.reduce_sum(ovo.power(ovo.abs(w), _c(order, w)), axes, True)
        norm = ovo.power(s, _c(1.0 / order, w)).output(0)
    return _cast(ovo.divide(w, ovo.maximum(norm, _c(eps, norm))).output(0), d)


# --- losses and metrics ----------------------------------------------------------------------
def _same_rank(name, a, b):
    sa, sb = _shape(a), _shape(b)
    if len(sa) != len(sb):
        raise ValueError(f"{name}: target shape {sa} and output shape {sb} differ in rank.")
    broadcast_shapes(name, sa, sb)


def _clipped_log(o):
    eps = config.epsilon()
    return ovo.log(ovo.clamp(o, eps, 1.0 - eps)).output(0)


@_graph_op
def binary_crossentropy(target, output, from_logits=False):
    t, o = _promote_float(target, output)
    _same_rank("binary_crossentropy", t, o)
    d = _dtype(o)
    t, o = _wide(t), _wide(o)
    if from_logits:
        # max(o, 0) - o t + log1p(exp(-|o|))
        soft = _log1p(ovo.exp(ovo.negative(ovo.abs(o))).output(0))
        out = ovo.add(ovo.subtract(ovo.maximum(o, _c(0.0, o)), ovo.multiply(o, t)), soft)
        return _cast(out.output(0), d)
    eps = config.epsilon()
    p = ovo.clamp(o, eps, 1.0 - eps).output(0)
    one_minus_t = ovo.subtract(_c(1.0, t), t).output(0)
    ll = ovo.add(ovo.multiply(t, ovo.log(p)),
                 ovo.multiply(one_minus_t, _log1p(ovo.negative(p).output(0))))
    return _cast(ovo.negative(ll).output(0), d)


def _log_probs(o, from_logits, axis):
    if from_logits:
        return ovo.log_softmax(o, axis).output(0)
    total = ovo.reduce_sum(o, _i64([axis]), True).output(0)
    return _clipped_log(ovo.divide(o, total).output(0))


@_graph_op
def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    t, o = _promote_float(target, output)
    _same_rank("categorical_crossentropy", t, o)
    d = _dtype(o)
    t, o = _wide(t), _wide(o)
    a = _axis("categorical_crossentropy", axis, len(_shape(o)))
    lp = _log_probs(o, from_logits, a)
    return _cast(ovo.negative(ovo.reduce_sum(ovo.multiply(t, lp), _i64([a]), False)).output(0), d)


@_graph_op
def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    o = _float(output)
    d = _dtype(o)
    o = _wide(o)
    t = as_output(target)
    ts, os_ = _shape(t), _shape(o)
    if len(ts) == len(os_) and ts and ts[-1] == 1:
        t = ovo.squeeze(t, _i64([len(ts) - 1])).output(0)
        ts = ts[:-1]
    a = _axis("sparse_categorical_crossentropy", axis, len(os_))
    rest = os_[:a] + os_[a + 1:]
    if len(ts) != len(rest) or any(u is not None and v is not None and u != v
                                   for u, v in zip(ts, rest)):
        raise ValueError(f"sparse_categorical_crossentropy: target shape "
                         f"{_shape(as_output(target))} does not match output shape {os_} "
                         f"without axis {axis}.")
    lp = _log_probs(o, from_logits, a)
    idx = ovo.unsqueeze(_cast(t, "int64"), _i64([a])).output(0)
    picked = ovo.squeeze(ovo.gather_elements(lp, idx, a), _i64([a])).output(0)
    return _cast(ovo.negative(picked).output(0), d)


@_graph_op
def psnr(x1, x2, max_val):
    a, b = _promote_float(x1, x2)
    sa, sb = _shape(a), _shape(b)
    if len(sa) != len(sb) or any(u is not None and v is not None and u != v
                                 for u, v in zip(sa, sb)):
        raise ValueError(f"psnr: shapes {sa} and {sb} differ.")
    d = _dtype(a)
    a, b = _wide(a), _wide(b)
    diff = ovo.subtract(a, b).output(0)
    sq = ovo.multiply(diff, diff).output(0)
    mse = ovo.reduce_mean(sq, _i64(list(range(len(sa)))), False).output(0) if sa else sq
    m = _as(max_val, _dtype(a))
    ln10 = _c(math.log(10.0), a)
    out = ovo.subtract(ovo.multiply(_c(20.0, a), ovo.divide(ovo.log(m), ln10)),
                       ovo.multiply(_c(10.0, a), ovo.divide(ovo.log(mse), ln10))).output(0)
    return _cast(out, d)


# --- the one-hot family, top-k membership ----------------------------------------------------
@_graph_op
def multi_hot(inputs, num_classes=None, axis=-1, dtype=None, sparse=False, **kwargs):
    if num_classes is None:
        num_classes = kwargs.pop("num_tokens", None)
    if num_classes is None:
        raise ValueError("multi_hot: num_classes is required.")
    if sparse:
        raise ValueError("multi_hot: sparse=True is not supported.")
    o = as_output(inputs)
    rank = len(_shape(o))
    oh = _one_hot(o, num_classes, axis=axis, dtype=dtype)
    r = _i64([1 if rank > 1 else 0])
    if _dtype(oh) == "bool":
        return ovo.reduce_logical_or(oh, r, False).output(0)
    return ovo.reduce_max(oh, r, False).output(0)


@_graph_op
def in_top_k(targets, predictions, k):
    t, p = as_output(targets), as_output(predictions)
    if len(_shape(t)) != 1 or len(_shape(p)) != 2:
        raise ValueError(f"in_top_k: targets must be 1-D and predictions 2-D, got shapes "
                         f"{_shape(t)} and {_shape(p)}.")
    broadcast_shapes("in_top_k", _shape(t), _shape(p)[:1])
    if _dtype(p) == "bool":
        p = _cast(p, "uint8")
    idx = ovo.unsqueeze(_cast(t, "int64"), _i64([1])).output(0)
    target = ovo.gather_elements(p, idx, 1).output(0)
    above = ovo.reduce_sum(_cast(ovo.greater(p, target).output(0), "int64"), _i64([1]), False)
    return ovo.less(above, _as(k, "int64")).output(0)


# --- transposed and separable convolution ----------------------------------------------------
@_graph_op
def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None,
                   data_format=None, dilation_rate=1):
    fmt = _def.data_format_of("conv_transpose", data_format)
    x, k = _promote_float(inputs, kernel)
    ks = _shape(k)
    xcf = _to_cf(x, fmt)
    n = len(_shape(xcf)) - 2
    if n not in (1, 2, 3) or len(ks) != n + 2 or None in ks or _shape(xcf)[1] not in (ks[-1], None):
        raise ValueError(f"conv_transpose: kernel of shape {ks} does not fit inputs of shape "
                         f"{_shape(x)} (kernel layout (spatial..., out_channels, in_channels)).")
    s = list(_def.tuple_arg("conv_transpose", "strides", strides, n))
    dl = list(_def.tuple_arg("conv_transpose", "dilation_rate", dilation_rate, n))
    p = _def.padding_of("conv_transpose", padding)
    op_ = (None,) * n if output_padding is None else _def.tuple_arg(
        "conv_transpose", "output_padding", output_padding, n)
    # Keras' geometry as (left, right) padding of the stride-dilated input; OpenVINO's
    # ConvolutionBackpropData crops k_eff - 1 - left / - right of its full output instead,
    # and extends the end by output_padding where the right padding exceeds k_eff - 1.
    begin, end, extra = [], [], []
    for i in range(n):
        left, right, _ = _def.transpose_pads(None, ks[i], s[i], dl[i], p, op_[i])
        k_eff = (ks[i] - 1) * dl[i] + 1
        begin.append(k_eff - 1 - left)
        end.append(builtins_max(k_eff - 1 - right, 0))
        extra.append(builtins_max(right - (k_eff - 1), 0))
    w = ovo.transpose(k, _i64([n + 1, n] + list(range(n)))).output(0)  # (in, out, *k)
    out = ovo.convolution_backprop_data(xcf, w, s, None, begin, end, dl, "explicit", extra)
    return _from_cf(out.output(0), fmt)


@_graph_op
def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid",
                   data_format=None, dilation_rate=1):
    mid = depthwise_conv(inputs, depthwise_kernel, strides, padding, data_format, dilation_rate)
    ps = _shape(as_output(pointwise_kernel)) if not isinstance(pointwise_kernel, np.ndarray) \
        else pointwise_kernel.shape
    if len(ps) != len(_shape(mid)) or builtins_any(v != 1 for v in ps[:-2]):
        raise ValueError(f"separable_conv: pointwise kernel of shape {tuple(ps)} does not fit the "
                         f"depthwise output of shape {_shape(mid)}.")
    return conv(mid, pointwise_kernel, 1, "valid", data_format, 1)


# --- rearrangements and adaptive pooling -----------------------------------------------------
def _block(name, x, block_size, data_format, to_space):
    o = as_output(x)
    _def._block_rule(name, KerasTensor(_shape(o), dtype_name(o)), block_size, data_format,
                     to_space)   # validates rank, data_format, block size and divisibility
    b = int(block_size)
    # Channels-last packs channels as (block row, block col, channel): OpenVINO's
    # "blocks_first"; channels-first as (channel, block row, block col): "depth_first".
    fn = ovo.depth_to_space if to_space else ovo.space_to_depth
    if data_format == "channels_first":
        return fn(o, "depth_first", b).output(0)
    out = fn(_to_cf(o, "channels_last"), "blocks_first", b).output(0)
    return _from_cf(out, "channels_last")


@_graph_op
def depth_to_space(x, block_size, data_format="channels_last"):
    return _block("depth_to_space", x, block_size, data_format, True)


@_graph_op
def space_to_depth(x, block_size, data_format="channels_last"):
    return _block("space_to_depth", x, block_size, data_format, False)


def _adaptive(name, o, output_size, data_format, pool):
    fmt = _def.data_format_of(name, data_format)
    shape = _shape(o)
    if len(shape) < 3:
        raise ValueError(f"{name}: inputs must have rank >= 3 (batch, spatial..., channels), "
                         f"got shape {shape}.")
    xcf = _to_cf(o, fmt)
    out = list(_def.tuple_arg(name, "output_size", output_size, len(shape) - 2))
    return _from_cf(pool(xcf, _i64(out)).output(0), fmt)


@_graph_op
def adaptive_average_pool(inputs, output_size, data_format=None):
    o = _float(inputs)
    d = _dtype(o)
    return _cast(_adaptive("adaptive_average_pool", _wide(o), output_size, data_format,
                           ovo.adaptive_avg_pool), d)


@_graph_op
def adaptive_max_pool(inputs, output_size, data_format=None):
    o = as_output(inputs)
    return _adaptive("adaptive_max_pool", o, output_size, data_format,
                     lambda v, size: ovo.adaptive_max_pool(v, size, "i32"))


# --- patches (PyTorch's unfold / fold layouts) -----------------------------------------------
@_graph_op
def unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    o = as_output(x)
    shape = _shape(o)
    if len(shape) != 4:
        raise ValueError(f"unfold: x must have rank 4 (N, C, H, W), got shape {shape}.")
    k, d, p, s, _ = _def.patch_geometry("unfold", shape[2:], kernel_size, dilation, padding,
                                        stride)
    c = shape[1]
    if c is None:
        raise ValueError("unfold: the channel dimension must be static on OpenVINO.")
    if p != (0, 0):
        pads = _i64([0, 0, p[0], p[1]])
        o = ovo.pad(o, pads, pads, "constant", _constant(0, _dtype(o))).output(0)
    # ExtractImagePatches gives (N, kh * kw * C, L_h, L_w) with channels innermost; PyTorch
    # wants (N, C * kh * kw, L_h * L_w) with the kernel taps innermost.
    pt = ovo.extract_image_patches(o, list(k), list(s), list(d), "valid").output(0)
    pt = ovo.reshape(pt, _i64([0, k[0] * k[1], c, -1]), True).output(0)
    pt = ovo.transpose(pt, _i64([0, 2, 1, 3])).output(0)
    return ovo.reshape(pt, _i64([0, c * k[0] * k[1], -1]), True).output(0)


@_graph_op
def fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    o = as_output(x)
    shape = _shape(o)
    if len(shape) != 3:
        raise ValueError(f"fold: x must have rank 3 (N, C * kh * kw, L), got shape {shape}.")
    out = _def.pair_arg("fold", "output_size", output_size)
    k, d, p, s, blocks = _def.patch_geometry("fold", out, kernel_size, dilation, padding, stride)
    if shape[1] is not None and shape[1] % (k[0] * k[1]):
        raise ValueError(f"fold: dimension 1 ({shape[1]}) is not a multiple of kh * kw = "
                         f"{k[0] * k[1]}.")
    if shape[2] is not None and shape[2] != blocks[0] * blocks[1]:
        raise ValueError(f"fold: {shape[2]} blocks given, output_size {out} with kernel {k} "
                         f"makes {blocks[0] * blocks[1]}.")
    return ovo.col2im(o, _i64(list(out)), _i64(list(k)), list(s), list(d), list(p),
                      list(p)).output(0)
