"""Op definitions: the neural family (activations, convolutions, pooling, normalization,
losses, attention). Each body is the op's symbolic rule (see unikeras/common/ops/op.py).

Layouts are Keras's: channels_last by default, convolution kernels `(spatial..., in, out)`,
attention tensors `(batch, seq, heads, dim)`.
"""
from unikeras import config
from unikeras.common import dtypes
from unikeras.common.ops.op import op
from unikeras.common.ops.shapes import (
    axes_tuple, broadcast_shapes, canonical_axis, reduce_shape, spec)
from unikeras.common.symbolic import KerasTensor

__all__ = [
    # activations
    "relu6", "elu", "selu", "celu", "gelu", "glu", "silu", "swish", "hard_sigmoid", "hard_silu",
    "hard_swish", "hard_tanh", "hard_shrink", "soft_shrink", "tanh_shrink", "softplus",
    "softsign", "sparse_plus", "sparse_sigmoid", "sparsemax", "squareplus", "threshold",
    "leaky_relu", "log_sigmoid",
    # convolution and pooling
    "conv", "depthwise_conv", "separable_conv", "conv_transpose", "max_pool", "average_pool",
    "adaptive_average_pool", "adaptive_max_pool",
    # normalization
    "moments", "batch_normalization", "layer_normalization", "rms_normalization", "normalize",
    # losses and the rest
    "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
    "multi_hot", "psnr", "depth_to_space", "space_to_depth", "dot_product_attention", "polar",
    "unfold", "fold", "ctc_loss", "ctc_decode",
]


def _float_dtype(*dts):
    d = dtypes.result_type(*dts)
    return d if dtypes.is_float(d) else config.floatx()


def _float_like(x):
    shape, dtype = spec(x)
    return KerasTensor(shape, dtype if dtypes.is_float(dtype) else config.floatx())


# --- activations -----------------------------------------------------------------------------
@op
def relu6(x):
    """min(max(x, 0), 6) element-wise."""
    return _float_like(x)


@op
def elu(x, alpha=1.0):
    """x where x > 0, alpha * (exp(x) - 1) elsewhere."""
    return _float_like(x)


@op
def selu(x):
    """Scaled ELU with the self-normalizing constants (alpha ~1.6733, scale ~1.0507)."""
    return _float_like(x)


@op
def celu(x, alpha=1.0):
    """max(x, 0) + min(0, alpha * (exp(x / alpha) - 1)): ELU made continuously differentiable."""
    return _float_like(x)


@op
def gelu(x, approximate=True):
    """Gaussian error linear unit x * Phi(x); `approximate=True` uses the tanh formula."""
    return _float_like(x)


@op
def glu(x, axis=-1):
    """Gated linear unit: split `x` in halves a, b along `axis`; a * sigmoid(b)."""
    shape, dtype = spec(x)
    a = canonical_axis("glu", axis, len(shape))
    if shape[a] is not None and shape[a] % 2:
        raise ValueError(f"glu: axis {axis} of shape {shape} must have an even size.")
    out = list(shape)
    out[a] = None if shape[a] is None else shape[a] // 2
    return KerasTensor(tuple(out), dtype if dtypes.is_float(dtype) else config.floatx())


@op
def silu(x):
    """x * sigmoid(x) (also called swish)."""
    return _float_like(x)


@op(impl="silu")
def swish(x):
    """x * sigmoid(x); the same op as `silu`."""
    return _float_like(x)


@op
def hard_sigmoid(x):
    """Piecewise-linear sigmoid: relu6(x + 3) / 6."""
    return _float_like(x)


@op
def hard_silu(x):
    """x * hard_sigmoid(x) (also called hard_swish)."""
    return _float_like(x)


@op(impl="hard_silu")
def hard_swish(x):
    """x * hard_sigmoid(x); the same op as `hard_silu`."""
    return _float_like(x)


@op
def hard_tanh(x):
    """clip(x, -1, 1)."""
    return _float_like(x)


@op
def hard_shrink(x, threshold=0.5):
    """x where |x| > threshold, else 0."""
    return _float_like(x)


@op
def soft_shrink(x, threshold=0.5):
    """x - threshold above threshold, x + threshold below -threshold, 0 between."""
    return _float_like(x)


@op
def tanh_shrink(x):
    """x - tanh(x)."""
    return _float_like(x)


@op
def softplus(x):
    """log(1 + exp(x)), computed stably."""
    return _float_like(x)


@op
def softsign(x):
    """x / (1 + |x|)."""
    return _float_like(x)


@op
def sparse_plus(x):
    """0 for x <= -1, x for x >= 1, (x + 1)**2 / 4 between: a smooth-at-the-joins relu."""
    return _float_like(x)


@op
def sparse_sigmoid(x):
    """0 for x <= -1, 1 for x >= 1, (x + 1) / 2 between."""
    return _float_like(x)


@op
def sparsemax(x, axis=-1):
    """Euclidean projection of `x` onto the probability simplex along `axis` (sparse softmax)."""
    canonical_axis("sparsemax", axis, len(spec(x)[0]))
    return _float_like(x)


@op
def squareplus(x, b=4):
    """(x + sqrt(x**2 + b)) / 2: a smooth relu."""
    if not isinstance(b, KerasTensor) and isinstance(b, (int, float)) and b < 0:
        raise ValueError(f"squareplus: b must be >= 0, got {b}.")
    return _float_like(x)


@op
def threshold(x, threshold, default_value):
    """x where x > threshold, else `default_value`."""
    return _float_like(x)


@op
def leaky_relu(x, negative_slope=0.2):
    """x where x >= 0, negative_slope * x elsewhere."""
    return _float_like(x)


@op
def log_sigmoid(x):
    """log(sigmoid(x)) = -softplus(-x), computed stably."""
    return _float_like(x)


# --- convolution and pooling -----------------------------------------------------------------
def data_format_of(name, data_format):
    data_format = data_format or config.image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{name}: data_format must be 'channels_last' or 'channels_first', "
                         f"got {data_format!r}.")
    return data_format


def tuple_arg(name, what, value, n):
    """`value` (int or sequence of n ints) as a tuple of n ints."""
    if isinstance(value, int):
        value = (value,) * n
    value = tuple(int(v) for v in value)
    if len(value) != n:
        raise ValueError(f"{name}: {what} must be an int or {n} ints, got {value}.")
    if any(v < 1 for v in value) and what != "output_padding":
        raise ValueError(f"{name}: {what} must be positive, got {value}.")
    return value


def padding_of(name, padding):
    p = str(padding).lower()
    if p not in ("valid", "same"):
        raise ValueError(f"{name}: padding must be 'valid' or 'same', got {padding!r}.")
    return p


def conv_out_length(n, k, s, d, padding):
    if n is None:
        return None
    k_eff = (k - 1) * d + 1
    if padding == "same":
        return -(-n // s)
    return max((n - k_eff) // s + 1, 0)


def same_pads(n, k, s, d):
    """(before, after) zero padding of TF/Keras 'same' for length n."""
    k_eff = (k - 1) * d + 1
    total = max((-(-n // s) - 1) * s + k_eff - n, 0)
    return total // 2, total - total // 2


def transpose_pads(n, k, s, d, padding, output_padding):
    """Keras conv_transpose geometry: (left, right) padding of the stride-dilated input for a
    stride-1 correlation with the flipped kernel, and the output length."""
    k_eff = (k - 1) * d + 1
    if padding == "valid":
        op_ = max(k_eff, s) - k_eff if output_padding is None else output_padding
        left, right = k_eff - 1, k_eff - 1 + op_
    else:
        if output_padding is None:
            pad_len = s + k_eff - 2
        else:
            pad_len = k_eff + k_eff % 2 - 2 + output_padding
        left = min(pad_len // 2 + pad_len % 2, k_eff - 1)
        right = pad_len - left
    if n is None:
        return left, right, None
    return left, right, (n - 1) * s + 1 + left + right - k_eff + 1


def _split_channels(name, shape, data_format):
    if len(shape) < 3:
        raise ValueError(f"{name}: inputs must have rank >= 3 (batch, spatial..., channels), "
                         f"got shape {shape}.")
    if data_format == "channels_last":
        return shape[0], shape[1:-1], shape[-1]
    return shape[0], shape[2:], shape[1]


def _join_channels(batch, spatial, channels, data_format):
    if data_format == "channels_last":
        return (batch,) + tuple(spatial) + (channels,)
    return (batch, channels) + tuple(spatial)


@op
def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """N-d convolution (1-3 spatial dims); kernel `(spatial..., in_channels / groups, out)`;
    input channels a multiple of the kernel's make a grouped convolution."""
    shape, dt = spec(inputs)
    ks, kd = spec(kernel)
    fmt = data_format_of("conv", data_format)
    batch, spatial, ch = _split_channels("conv", shape, fmt)
    n = len(spatial)
    if len(ks) != n + 2:
        raise ValueError(f"conv: kernel of shape {ks} does not fit inputs of shape {shape} "
                         f"(expected rank {n + 2}).")
    if ch is not None and ks[-2] is not None and (ch % ks[-2] or ks[-1] % (ch // ks[-2])):
        raise ValueError(f"conv: inputs have {ch} channels, not a multiple of the kernel's "
                         f"{ks[-2]} input channels (kernel shape {ks}), or the groups do not "
                         f"divide the {ks[-1]} output channels.")
    s = tuple_arg("conv", "strides", strides, n)
    d = tuple_arg("conv", "dilation_rate", dilation_rate, n)
    p = padding_of("conv", padding)
    out = [conv_out_length(spatial[i], ks[i], s[i], d[i], p) for i in range(n)]
    return KerasTensor(_join_channels(batch, out, ks[-1], fmt), _float_dtype(dt, kd))


@op
def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None,
                   dilation_rate=1):
    """Per-channel convolution; kernel `(spatial..., in_channels, multiplier)` gives
    in_channels * multiplier output channels."""
    shape, dt = spec(inputs)
    ks, kd = spec(kernel)
    fmt = data_format_of("depthwise_conv", data_format)
    batch, spatial, ch = _split_channels("depthwise_conv", shape, fmt)
    n = len(spatial)
    if len(ks) != n + 2 or (ch is not None and ks[-2] != ch):
        raise ValueError(f"depthwise_conv: kernel of shape {ks} does not fit inputs of shape "
                         f"{shape}.")
    s = tuple_arg("depthwise_conv", "strides", strides, n)
    d = tuple_arg("depthwise_conv", "dilation_rate", dilation_rate, n)
    p = padding_of("depthwise_conv", padding)
    out = [conv_out_length(spatial[i], ks[i], s[i], d[i], p) for i in range(n)]
    return KerasTensor(_join_channels(batch, out, ks[-2] * ks[-1], fmt), _float_dtype(dt, kd))


@op
def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid",
                   data_format=None, dilation_rate=1):
    """depthwise_conv followed by a 1x1 conv with `pointwise_kernel` `(1..., in*mult, out)`."""
    mid = depthwise_conv.rule(inputs, depthwise_kernel, strides, padding, data_format,
                              dilation_rate)
    ps, pd = spec(pointwise_kernel)
    fmt = data_format_of("separable_conv", data_format)
    batch, spatial, ch = _split_channels("separable_conv", mid.shape, fmt)
    if len(ps) != len(spatial) + 2 or any(k != 1 for k in ps[:-2]) or (
            ch is not None and ps[-2] != ch):
        raise ValueError(f"separable_conv: pointwise kernel of shape {ps} does not fit the "
                         f"depthwise output of shape {mid.shape}.")
    return KerasTensor(_join_channels(batch, spatial, ps[-1], fmt),
                       _float_dtype(mid.dtype, pd))


@op
def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None,
                   data_format=None, dilation_rate=1):
    """Transposed convolution (the gradient of `conv`); kernel `(spatial..., out, in)`."""
    shape, dt = spec(inputs)
    ks, kd = spec(kernel)
    fmt = data_format_of("conv_transpose", data_format)
    batch, spatial, ch = _split_channels("conv_transpose", shape, fmt)
    n = len(spatial)
    if len(ks) != n + 2 or (ch is not None and ks[-1] != ch):
        raise ValueError(f"conv_transpose: kernel of shape {ks} does not fit inputs of shape "
                         f"{shape} (kernel layout (spatial..., out_channels, in_channels)).")
    s = tuple_arg("conv_transpose", "strides", strides, n)
    d = tuple_arg("conv_transpose", "dilation_rate", dilation_rate, n)
    p = padding_of("conv_transpose", padding)
    op_ = None if output_padding is None else tuple_arg("conv_transpose", "output_padding",
                                                         output_padding, n)
    out = [transpose_pads(spatial[i], ks[i], s[i], d[i], p, None if op_ is None else op_[i])[2]
           for i in range(n)]
    return KerasTensor(_join_channels(batch, out, ks[-2], fmt), _float_dtype(dt, kd))


def _pool_rule(name, inputs, pool_size, strides, padding, data_format):
    shape, dt = spec(inputs)
    fmt = data_format_of(name, data_format)
    batch, spatial, ch = _split_channels(name, shape, fmt)
    n = len(spatial)
    k = tuple_arg(name, "pool_size", pool_size, n)
    s = k if strides is None else tuple_arg(name, "strides", strides, n)
    p = padding_of(name, padding)
    out = [conv_out_length(spatial[i], k[i], s[i], 1, p) for i in range(n)]
    return _join_channels(batch, out, ch, fmt), dt


@op
def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Maximum over sliding windows (strides default to pool_size; 'same' pads with -inf)."""
    shape, dt = _pool_rule("max_pool", inputs, pool_size, strides, padding, data_format)
    return KerasTensor(shape, dt)


@op
def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Mean over sliding windows; with 'same' padding, padded positions are not counted."""
    shape, dt = _pool_rule("average_pool", inputs, pool_size, strides, padding, data_format)
    return KerasTensor(shape, dt if dtypes.is_float(dt) else config.floatx())


def _adaptive_rule(name, inputs, output_size, data_format):
    shape, dt = spec(inputs)
    fmt = data_format_of(name, data_format)
    batch, spatial, ch = _split_channels(name, shape, fmt)
    out = tuple_arg(name, "output_size", output_size, len(spatial))
    return _join_channels(batch, out, ch, fmt), dt


def adaptive_windows(n, m):
    """Start and end index of the m adaptive-pooling windows over length n."""
    return [(i * n) // m for i in range(m)], [-(-((i + 1) * n) // m) for i in range(m)]


@op
def adaptive_average_pool(inputs, output_size, data_format=None):
    """Average pooling to a fixed spatial `output_size` (windows as in PyTorch's)."""
    shape, dt = _adaptive_rule("adaptive_average_pool", inputs, output_size, data_format)
    return KerasTensor(shape, dt if dtypes.is_float(dt) else config.floatx())


@op
def adaptive_max_pool(inputs, output_size, data_format=None):
    """Max pooling to a fixed spatial `output_size` (windows as in PyTorch's)."""
    shape, dt = _adaptive_rule("adaptive_max_pool", inputs, output_size, data_format)
    return KerasTensor(shape, dt)


# --- normalization ---------------------------------------------------------------------------
@op
def moments(x, axes, keepdims=False, synchronized=False):
    """(mean, variance) of `x` over `axes` (`synchronized` is accepted and ignored)."""
    shape, dt = spec(x)
    out = reduce_shape("moments", shape, axes, keepdims)
    dt = dt if dtypes.is_float(dt) else config.floatx()
    return KerasTensor(out, dt), KerasTensor(out, dt)


@op
def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    """(x - mean) / sqrt(variance + epsilon) * scale + offset, with the 1-d statistics laid
    along `axis` of `x`."""
    shape, dt = spec(x)
    a = canonical_axis("batch_normalization", axis, len(shape))
    for what, v in (("mean", mean), ("variance", variance), ("offset", offset), ("scale", scale)):
        if v is None:
            continue
        vs = spec(v)[0]
        if len(vs) != 1 or (vs[0] is not None and shape[a] is not None and vs[0] != shape[a]):
            raise ValueError(f"batch_normalization: {what} of shape {vs} does not match axis "
                             f"{axis} of x with shape {shape}.")
    dts = [spec(v)[1] for v in (x, mean, variance, offset, scale) if v is not None]
    return KerasTensor(shape, _float_dtype(*dts))


def _norm_params_rule(name, x, axis, params):
    shape, dt = spec(x)
    axes = axes_tuple(name, axis, len(shape))
    dts = [dt]
    for what, p in params:
        if p is None:
            continue
        ps, pd = spec(p)
        dts.append(pd)
        want = tuple(shape[a] for a in axes)
        if len(ps) != len(shape):
            if ps and len(ps) == len(want) and all(
                    u is None or v is None or u == v for u, v in zip(ps, want)):
                continue
            broadcast_shapes(name, shape, ps)
    return KerasTensor(shape, _float_dtype(*dts))


@op
def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon=None, **kwargs):
    """(x - mean) / sqrt(var + epsilon) * gamma + beta over `axis` (epsilon default:
    `config.epsilon()`)."""
    return _norm_params_rule("layer_normalization", x, axis, (("gamma", gamma), ("beta", beta)))


@op
def rms_normalization(x, scale=None, axis=-1, epsilon=None):
    """x / sqrt(mean(x**2) + epsilon) * scale over `axis`."""
    return _norm_params_rule("rms_normalization", x, axis, (("scale", scale),))


@op
def normalize(x, axis=-1, order=2, epsilon=None):
    """x / max(norm(x, order), epsilon) along `axis` (L2 by default)."""
    shape, _ = spec(x)
    axes_tuple("normalize", axis, len(shape))
    if order not in (1, 2) and not isinstance(order, (int, float)):
        raise ValueError(f"normalize: order must be a number, got {order!r}.")
    return _float_like(x)


# --- losses ----------------------------------------------------------------------------------
@op
def binary_crossentropy(target, output, from_logits=False):
    """Element-wise binary cross-entropy (outputs clipped to [eps, 1 - eps] unless logits)."""
    ts, td = spec(target)
    os_, od = spec(output)
    if len(ts) != len(os_) or broadcast_shapes("binary_crossentropy", ts, os_) != tuple(
            a if a is not None else b for a, b in zip(os_, ts)):
        raise ValueError(f"binary_crossentropy: target shape {ts} and output shape {os_} differ.")
    return KerasTensor(broadcast_shapes("binary_crossentropy", ts, os_), _float_dtype(td, od))


@op
def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """-sum(target * log(probabilities)) along `axis`; `output` are probabilities (rescaled
    to sum 1, clipped) or logits."""
    ts, td = spec(target)
    os_, od = spec(output)
    if len(ts) != len(os_):
        raise ValueError(f"categorical_crossentropy: target shape {ts} and output shape {os_} "
                         "differ in rank.")
    shape = broadcast_shapes("categorical_crossentropy", ts, os_)
    a = canonical_axis("categorical_crossentropy", axis, len(shape))
    return KerasTensor(shape[:a] + shape[a + 1:], _float_dtype(td, od))


@op
def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Categorical cross-entropy with integer class targets (a trailing target dim of 1 is
    squeezed)."""
    ts, _ = spec(target)
    os_, od = spec(output)
    if len(ts) == len(os_) and ts and ts[-1] == 1:
        ts = ts[:-1]
    a = canonical_axis("sparse_categorical_crossentropy", axis, len(os_))
    rest = os_[:a] + os_[a + 1:]
    if len(ts) != len(rest) or any(u is not None and v is not None and u != v
                                   for u, v in zip(ts, rest)):
        raise ValueError(f"sparse_categorical_crossentropy: target shape {spec(target)[0]} does "
                         f"not match output shape {os_} without axis {axis}.")
    return KerasTensor(tuple(u if u is not None else v for u, v in zip(rest, ts)),
                       od if dtypes.is_float(od) else config.floatx())


# --- the rest --------------------------------------------------------------------------------
@op
def multi_hot(inputs, num_classes=None, axis=-1, dtype=None, sparse=False, **kwargs):
    """Integer labels to multi-hot vectors: one_hot of each label, max-reduced over axis 1
    (over axis 0 for 1-d inputs)."""
    if num_classes is None:
        num_classes = kwargs.pop("num_tokens", None)
    if num_classes is None:
        raise ValueError("multi_hot: num_classes is required.")
    if sparse:
        raise ValueError("multi_hot: sparse=True is not supported.")
    shape, _ = spec(inputs)
    a = canonical_axis("multi_hot", axis, len(shape) + 1)
    oh = shape[:a] + (int(num_classes),) + shape[a:]
    r = 1 if len(shape) > 1 else 0
    return KerasTensor(oh[:r] + oh[r + 1:], dtypes.standardize_dtype(dtype))


@op
def psnr(x1, x2, max_val):
    """Peak signal-to-noise ratio 20 log10(max_val) - 10 log10(mean((x1 - x2)**2)) (a scalar)."""
    s1, d1 = spec(x1)
    s2, d2 = spec(x2)
    if len(s1) != len(s2) or any(u is not None and v is not None and u != v
                                 for u, v in zip(s1, s2)):
        raise ValueError(f"psnr: shapes {s1} and {s2} differ.")
    return KerasTensor((), _float_dtype(d1, d2))


def _block_rule(name, x, block_size, data_format, to_space):
    shape, dt = spec(x)
    if len(shape) != 4:
        raise ValueError(f"{name}: x must have rank 4, got shape {shape}.")
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{name}: data_format must be 'channels_last' or 'channels_first', "
                         f"got {data_format!r}.")
    b = int(block_size)
    if b < 1:
        raise ValueError(f"{name}: block_size must be positive, got {block_size}.")
    n, h, w, c = shape if data_format == "channels_last" else (shape[0],) + shape[2:] + (shape[1],)
    mul = lambda v, f: None if v is None else v * f  # noqa: E731
    if to_space:
        if c is not None and c % (b * b):
            raise ValueError(f"{name}: channels {c} are not divisible by block_size**2 = {b * b}.")
        h, w, c = mul(h, b), mul(w, b), None if c is None else c // (b * b)
    else:
        for v in (h, w):
            if v is not None and v % b:
                raise ValueError(f"{name}: spatial dims {(h, w)} are not divisible by "
                                 f"block_size {b}.")
        h, w, c = None if h is None else h // b, None if w is None else w // b, mul(c, b * b)
    out = (n, h, w, c) if data_format == "channels_last" else (n, c, h, w)
    return KerasTensor(out, dt)


@op
def depth_to_space(x, block_size, data_format="channels_last"):
    """Move channel blocks into block_size x block_size spatial tiles (pixel shuffle)."""
    return _block_rule("depth_to_space", x, block_size, data_format, True)


@op
def space_to_depth(x, block_size, data_format="channels_last"):
    """Move block_size x block_size spatial tiles into channels (inverse of depth_to_space)."""
    return _block_rule("space_to_depth", x, block_size, data_format, False)


@op
def dot_product_attention(query, key, value, bias=None, mask=None, scale=None, is_causal=False,
                          flash_attention=None, attn_logits_soft_cap=None):
    """softmax(q k^T * scale + bias, masked) v with tensors `(batch, seq, heads, dim)` (or
    without batch); key/value heads may divide query heads (grouped-query attention)."""
    qs, qd = spec(query)
    ks, kd = spec(key)
    vs, vd = spec(value)
    if len(qs) not in (3, 4) or len(ks) != len(qs) or len(vs) != len(qs):
        raise ValueError(f"dot_product_attention: query, key and value must all have rank 3 or "
                         f"4, got shapes {qs}, {ks}, {vs}.")
    known = lambda a, b: a is None or b is None or a == b  # noqa: E731
    if not (known(qs[-1], ks[-1]) and known(ks[-2], vs[-2]) and known(ks[-3], vs[-3])
            and (len(qs) == 3 or known(qs[0], ks[0]) and known(ks[0], vs[0]))
            and (qs[-2] is None or ks[-2] is None or qs[-2] % ks[-2] == 0)):
        raise ValueError(f"dot_product_attention: shapes query {qs}, key {ks}, value {vs} do not "
                         "fit (batch, seq, heads, dim) with key/value heads dividing query heads.")
    return KerasTensor(qs[:-1] + vs[-1:], _float_dtype(qd, kd, vd))


@op
def polar(abs_, angle):
    """Complex numbers from magnitudes and phases: abs_ * (cos(angle) + 1j * sin(angle))."""
    s1, d1 = spec(abs_)
    s2, d2 = spec(angle)
    d = _float_dtype(d1, d2)
    return KerasTensor(broadcast_shapes("polar", s1, s2),
                       "complex128" if d == "float64" else "complex64")


def pair_arg(name, what, v):
    v = (v, v) if isinstance(v, int) else tuple(int(i) for i in v)
    if len(v) != 2 or any(i < 0 for i in v) or (what != "padding" and any(i < 1 for i in v)):
        raise ValueError(f"{name}: {what} must be an int or 2 ints (positive), got {v}.")
    return v


def patch_geometry(name, spatial, kernel_size, dilation, padding, stride):
    """(k, d, p, s) pairs and the number of patches along each spatial dim (None: unknown)."""
    k = pair_arg(name, "kernel_size", kernel_size)
    d = pair_arg(name, "dilation", dilation)
    p = pair_arg(name, "padding", padding)
    s = pair_arg(name, "stride", stride)
    blocks = []
    for i in range(2):
        if spatial[i] is None:
            blocks.append(None)
            continue
        span = spatial[i] + 2 * p[i] - (k[i] - 1) * d[i] - 1
        if span < 0:
            raise ValueError(f"{name}: kernel {k} with dilation {d} does not fit the padded "
                             f"spatial shape {tuple(spatial)} (padding {p}).")
        blocks.append(span // s[i] + 1)
    return k, d, p, s, blocks


@op
def unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    """im2col: sliding kernel_size blocks of a channels-first (N, C, H, W) image as
    (N, C * kh * kw, L) columns (PyTorch's layout)."""
    shape, dt = spec(x)
    if len(shape) != 4:
        raise ValueError(f"unfold: x must have rank 4 (N, C, H, W), got shape {shape}.")
    k, _, _, _, blocks = patch_geometry("unfold", shape[2:], kernel_size, dilation, padding, stride)
    n_blocks = None if None in blocks else blocks[0] * blocks[1]
    return KerasTensor((shape[0], None if shape[1] is None else shape[1] * k[0] * k[1], n_blocks),
                       dt)


@op
def fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """col2im: sums (N, C * kh * kw, L) columns back into a (N, C, oh, ow) image (the adjoint
    of `unfold`)."""
    shape, dt = spec(x)
    if len(shape) != 3:
        raise ValueError(f"fold: x must have rank 3 (N, C * kh * kw, L), got shape {shape}.")
    out = pair_arg("fold", "output_size", output_size)
    k, _, _, _, blocks = patch_geometry("fold", out, kernel_size, dilation, padding, stride)
    if shape[1] is not None and shape[1] % (k[0] * k[1]):
        raise ValueError(f"fold: dimension 1 ({shape[1]}) is not a multiple of kh * kw = "
                         f"{k[0] * k[1]}.")
    if shape[2] is not None and shape[2] != blocks[0] * blocks[1]:
        raise ValueError(f"fold: {shape[2]} blocks given, output_size {out} with kernel {k} "
                         f"makes {blocks[0] * blocks[1]}.")
    c = None if shape[1] is None else shape[1] // (k[0] * k[1])
    return KerasTensor((shape[0], c) + out, dt)


@op
def ctc_loss(target, output, target_length, output_length, mask_index=0):
    """Connectionist temporal classification loss per sequence: -log p(target | output) over
    all alignments; `output` are logits (batch, time, classes), `mask_index` the blank class."""
    ts, _ = spec(target)
    os_, od = spec(output)
    if len(ts) != 2 or len(os_) != 3:
        raise ValueError(f"ctc_loss: target must be (batch, max_label_length) and output "
                         f"(batch, time, classes); got shapes {ts} and {os_}.")
    if ts[0] is not None and os_[0] is not None and ts[0] != os_[0]:
        raise ValueError(f"ctc_loss: batch sizes differ: target {ts}, output {os_}.")
    for what, v in (("target_length", target_length), ("output_length", output_length)):
        vs = spec(v)[0]
        if len(vs) != 1:
            raise ValueError(f"ctc_loss: {what} must have shape (batch,), got {vs}.")
    return KerasTensor((os_[0] if os_[0] is not None else ts[0],),
                       od if dtypes.is_float(od) else config.floatx())


def ctc_decode_dtype(dtype):
    """Scores of ctc_decode are computed in at least float32."""
    return dtypes.result_type(dtype, "float32") if dtypes.is_float(dtype) else "float32"


def ctc_decode_args(strategy, beam_width, top_paths, mask_index, num_classes=None):
    """Validate ctc_decode's static arguments; return the blank class as a non-negative index
    (`mask_index=None` means the last class, negative values count from the end), or None
    while `num_classes` is unknown."""
    if strategy not in ("greedy", "beam_search"):
        raise ValueError(f"ctc_decode: strategy must be 'greedy' or 'beam_search', got "
                         f"{strategy!r}.")
    if strategy == "beam_search":
        if int(beam_width) < 1 or int(top_paths) < 1:
            raise ValueError(f"ctc_decode: beam_width and top_paths must be >= 1, got "
                             f"beam_width={beam_width}, top_paths={top_paths}.")
        if int(top_paths) > int(beam_width):
            raise ValueError(f"ctc_decode: top_paths ({top_paths}) must not exceed beam_width "
                             f"({beam_width}).")
    if num_classes is None:
        return None
    blank = num_classes - 1 if mask_index is None else int(mask_index)
    if not -num_classes <= blank < num_classes:
        raise ValueError(f"ctc_decode: mask_index {mask_index} is out of range for "
                         f"{num_classes} classes.")
    return blank % num_classes


# Multipliers of the two 32-bit label-prefix hashes of the beam search (odd, < 2**31 so that
# int64 products cannot overflow where a backend computes the hashes in int64).
CTC_HASH = (0x5BD1E995, 0x27D4EB2F)


@op
def ctc_decode(inputs, sequence_lengths, strategy="greedy", beam_width=100, top_paths=1,
               merge_repeated=True, mask_index=0):
    """Decode CTC outputs `inputs` (batch, time, classes); class `mask_index` is the blank
    (None: the last class). Steps at or after `sequence_lengths[b]` are ignored.

    strategy="greedy": per step the best class; repeats merged if `merge_repeated`, blanks
    dropped. Returns (decoded (1, batch, time) int32 padded with -1, scores (batch, 1) =
    -sum over steps of the best input value), like TensorFlow's greedy decoder.

    strategy="beam_search": CTC prefix beam search over the per-step log_softmax of `inputs`
    (so logits and log-probabilities decode alike), keeping the `beam_width` most probable
    label prefixes (probability summed over all their alignments) at every step. Returns the
    `top_paths` best: decoded (top_paths, batch, time) int32 padded with -1, best path first,
    and scores (batch, top_paths) = their log-probabilities (descending). `merge_repeated`
    does not apply (CTC collapsing: a label repeated across a blank is kept twice). Ties are
    broken in favour of prefixes already in the beam, then of extensions of better beams and
    lower labels. When fewer than `top_paths` prefixes exist (very short sequences) the rest
    are -1 paths with score -inf. Scores are float32 (float64 for float64 inputs). Results
    equal Keras 3's on its JAX, PyTorch and NumPy backends. TensorFlow's fused decoder (Keras's
    TensorFlow backend) agrees wherever the beam keeps every prefix; when it prunes, that
    decoder can skip the extensions of a beam pushed out earlier in the same step, so its
    paths and scores, the best one rarely, the others more often, can differ (and it fails
    where fewer than `top_paths` prefixes exist)."""
    shape, dt = spec(inputs)
    if len(shape) != 3:
        raise ValueError(f"ctc_decode: inputs must be (batch, time, classes), got {shape}.")
    if len(spec(sequence_lengths)[0]) != 1:
        raise ValueError(f"ctc_decode: sequence_lengths must have shape (batch,), got "
                         f"{spec(sequence_lengths)[0]}.")
    ctc_decode_args(strategy, beam_width, top_paths, mask_index, shape[2])
    paths = 1 if strategy == "greedy" else int(top_paths)
    return (KerasTensor((paths, shape[0], shape[1]), "int32"),
            KerasTensor((shape[0], paths), ctc_decode_dtype(dt)))


# Names of the backend table functions of these ops (what each full backend module exports;
# swish and hard_swish run the silu / hard_silu implementations).
IMPL_NAMES = tuple(dict.fromkeys(globals()[n].impl_name for n in __all__))
