"""The neural op family (`unikeras.ops.nn`): every op on every framework backend vs the NumPy
reference; the reference vs independent formulas written here (naive loops, textbook
definitions); symbolic shape/dtype rules; gradients vs finite differences and across
backends; jax.jit / tf.function; OpenVINO graphs for the ops inference graphs use."""
import math

import numpy as np
import pytest

from unikeras import KerasTensor, config, ops
from unikeras.common.variables import runtime
from tests.conftest import FRAMEWORKS, to_backend
from tests.conftest import (  # noqa: E402
    reference as _reference, as_backend as _convert, as_symbolic as _symbolic)

R = np.random.default_rng(3)
F = lambda *s: R.standard_normal(s).astype("float32")  # noqa: E731
U = lambda *s: R.uniform(0.05, 0.95, s).astype("float32")  # noqa: E731


def _probs(*s):
    p = R.uniform(0.1, 1.0, s).astype("float32")
    return p / p.sum(-1, keepdims=True)


# (op name, positional args, kwargs[, index of the argument to differentiate]).
ACTIVATIONS = ["relu6", "elu", "selu", "celu", "gelu", "glu", "silu", "swish", "hard_sigmoid",
               "hard_silu", "hard_swish", "hard_tanh", "hard_shrink", "soft_shrink",
               "tanh_shrink", "softplus", "softsign", "sparse_plus", "sparse_sigmoid",
               "sparsemax", "squareplus", "leaky_relu", "log_sigmoid"]
CASES = [(n, (F(3, 8) * 3,), {}) for n in ACTIVATIONS] + [
    ("elu", (F(10),), {"alpha": 0.5}), ("celu", (F(10),), {"alpha": 2.0}),
    ("gelu", (F(4, 5),), {"approximate": False}), ("glu", (F(4, 6),), {"axis": 0}),
    ("hard_shrink", (F(12),), {"threshold": 1.0}), ("soft_shrink", (F(12),), {"threshold": 0.2}),
    ("sparsemax", (F(4, 5),), {"axis": 0}), ("squareplus", (F(7),), {"b": 1.0}),
    ("leaky_relu", (F(7),), {"negative_slope": 0.01}), ("threshold", (F(3, 4), 0.3, -2.0), {}),
    ("relu6", (np.arange(-3, 9, dtype="int32"),), {}), ("elu", (F(5).astype("float16"),), {}),
    ("softplus", (F(3, 0),), {}), ("selu", (np.array(0.7, "float32"),), {}),
    # convolution
    ("conv", (F(2, 9, 3), F(3, 3, 4)), {}),
    ("conv", (F(2, 9, 3), F(3, 3, 4)), {"strides": 2, "padding": "same"}),
    ("conv", (F(2, 6, 7, 4), F(3, 2, 4, 5)), {"padding": "same", "dilation_rate": 2}),
    ("conv", (F(2, 7, 8, 4), F(3, 3, 2, 6)), {"strides": (2, 1), "padding": "same"}),
    ("conv", (F(2, 3, 8, 7), F(3, 3, 3, 2)), {"data_format": "channels_first", "strides": 2,
                                              "padding": "same"}),
    ("conv", (F(1, 4, 5, 6, 2), F(2, 3, 2, 2, 3)), {"strides": (1, 2, 2)}),
    ("conv", (F(2, 8, 9, 2), F(2, 2, 2, 3)), {"strides": 2, "dilation_rate": 2}),
    ("conv", (F(1, 5, 4), F(3, 2, 4)), {"padding": "same"}),
    ("depthwise_conv", (F(2, 7, 8, 3), F(3, 3, 3, 2)), {"strides": 2, "padding": "same"}),
    ("depthwise_conv", (F(1, 5, 5, 2), F(3, 3, 2, 2)), {"strides": (2, 1)}),
    ("depthwise_conv", (F(2, 9, 4), F(3, 4, 1)), {"dilation_rate": 2}),
    ("separable_conv", (F(2, 7, 8, 3), F(3, 3, 3, 2), F(1, 1, 6, 4)), {"padding": "same"}),
    ("separable_conv", (F(1, 5, 5, 2), F(3, 3, 2, 1), F(1, 1, 2, 3)), {"strides": 2}),
    ("conv_transpose", (F(2, 5, 6, 3), F(3, 3, 4, 3)), {"strides": 2, "padding": "same"}),
    ("conv_transpose", (F(2, 5, 3), F(4, 2, 3)), {"strides": 3}),
    ("conv_transpose", (F(2, 5, 3), F(2, 2, 3)), {"strides": 3}),
    ("conv_transpose", (F(2, 4, 5, 3), F(3, 3, 4, 3)), {"strides": 2, "padding": "same",
                                                        "output_padding": 1}),
    ("conv_transpose", (F(2, 4, 5, 3), F(3, 2, 4, 3)), {"strides": 2, "output_padding": 1}),
    ("conv_transpose", (F(2, 4, 5, 3), F(3, 2, 4, 3)), {"padding": "same", "dilation_rate": 2}),
    ("conv_transpose", (F(2, 3, 4, 5), F(3, 3, 2, 3)), {"strides": 2,
                                                        "data_format": "channels_first"}),
    # pooling
    ("max_pool", (F(2, 7, 8, 3), 3), {"strides": 2, "padding": "same"}),
    ("max_pool", (F(2, 9, 3), 2), {}),
    ("max_pool", (F(2, 3, 5, 6, 4), 2), {"padding": "same", "data_format": "channels_first"}),
    ("average_pool", (F(2, 7, 8, 3), 3), {"strides": 2, "padding": "same"}),
    ("average_pool", (F(2, 6, 8, 3), (2, 3)), {"strides": (1, 2), "padding": "same"}),
    ("average_pool", (F(2, 9, 3), 2), {}),
    ("average_pool", (F(1, 4, 4, 5, 2), 2), {"strides": 1}),
    ("adaptive_average_pool", (F(2, 7, 9, 3), (3, 4)), {}),
    ("adaptive_average_pool", (F(2, 3, 10), 4), {"data_format": "channels_first"}),
    ("adaptive_max_pool", (F(2, 7, 9, 3), (3, 4)), {}),
    ("adaptive_max_pool", (F(2, 5, 6, 7, 2), (2, 3, 3)), {}),
    ("adaptive_max_pool", (F(1, 5, 7, 2), (2, 3)), {}),
    # normalization
    ("batch_normalization", (F(3, 4), F(4), U(4), -1, F(4), F(4)), {}),
    ("batch_normalization", (F(2, 3, 4, 5), F(3), U(3), 1), {"epsilon": 1e-2}),
    ("layer_normalization", (F(3, 4), F(4), F(4)), {}),
    ("layer_normalization", (F(2, 3, 4),), {"axis": (1, 2), "epsilon": 1e-3}),
    ("layer_normalization", (F(2, 3, 4), F(3, 4)), {"axis": (1, 2)}),
    ("rms_normalization", (F(3, 4), F(4)), {}),
    ("rms_normalization", (F(2, 3, 4),), {"axis": 1}),
    ("normalize", (F(3, 4),), {}), ("normalize", (F(3, 4),), {"order": 1, "axis": 0}),
    ("normalize", (F(2, 3, 4),), {"axis": (1, 2)}),
    # losses (differentiated with respect to the output: argument 1)
    ("binary_crossentropy", (U(3, 4), U(3, 4)), {}, 1),
    ("binary_crossentropy", (U(3, 4), F(3, 4)), {"from_logits": True}, 1),
    ("categorical_crossentropy", (_probs(3, 4), _probs(3, 4)), {}, 1),
    ("categorical_crossentropy", (_probs(4, 3).T.copy(), F(3, 4)), {"from_logits": True,
                                                                    "axis": 0}, 1),
    ("sparse_categorical_crossentropy", (np.array([1, 0, 3], "int32"), _probs(3, 4)), {}, 1),
    ("sparse_categorical_crossentropy", (np.array([[1], [0], [3]], "int32"), F(3, 4)),
     {"from_logits": True}, 1),
    ("sparse_categorical_crossentropy", (np.array([[1, 2], [0, 0]], "int32"), F(2, 3, 2)),
     {"from_logits": True, "axis": 1}, 1),
    ("ctc_loss", (np.array([[1, 1, 3, 2], [4, 2, 0, 0], [3, 1, 4, 0]], "int32"), F(3, 8, 5),
                  np.array([4, 2, 3], "int32"), np.array([8, 6, 7], "int32")), {}, 1),
    ("ctc_loss", (np.array([[1, 0], [4, 4]], "int32"), F(2, 6, 5), np.array([2, 2], "int32"),
                  np.array([6, 5], "int32")), {"mask_index": 2}, 1),
    # the rest
    ("multi_hot", (np.array([[1, 0, 3], [2, 2, 0]], "int32"), 5), {}),
    ("multi_hot", (np.array([1, 3], "int32"), 5), {"dtype": "int32"}),
    ("psnr", (U(3, 4), U(3, 4), 1.0), {}),
    ("depth_to_space", (F(2, 3, 4, 8), 2), {}),
    ("depth_to_space", (F(2, 8, 3, 4), 2), {"data_format": "channels_first"}),
    ("space_to_depth", (F(2, 4, 6, 3), 2), {}), ("space_to_depth", (F(1, 4, 4, 2), 2), {}),
    ("depth_to_space", (F(1, 2, 2, 8), 2), {}),
    ("space_to_depth", (F(2, 3, 4, 6), 2), {"data_format": "channels_first"}),
    ("polar", (U(3, 4), F(4) * 3), {}), ("polar", (np.array(2.0, "float32"), F(5)), {}),
    ("unfold", (F(2, 3, 7, 8), 3), {}),
    ("unfold", (F(1, 2, 7, 8), (2, 3)), {"dilation": (2, 1), "padding": 1, "stride": (2, 3)}),
    ("fold", (F(2, 27, 30), (7, 8), 3), {}),
    ("fold", (F(1, 12, 12), (7, 8), (2, 3)), {"dilation": (2, 1), "padding": 1, "stride": (2, 3)}),
    ("dot_product_attention", (F(2, 5, 4, 3), F(2, 6, 4, 3), F(2, 6, 4, 3)), {}),
    ("dot_product_attention", (F(2, 5, 4, 3), F(2, 5, 4, 3), F(2, 5, 4, 3)), {"is_causal": True}),
    ("dot_product_attention", (F(2, 5, 4, 3), F(2, 5, 2, 3), F(2, 5, 2, 3)),
     {"is_causal": True, "bias": F(2, 4, 5, 5)}),
    ("dot_product_attention", (F(2, 5, 4, 3), F(2, 6, 4, 3), F(2, 6, 4, 3)),
     {"mask": R.uniform(size=(2, 1, 5, 6)) > 0.4, "scale": 0.3}),
    ("dot_product_attention", (F(5, 2, 3), F(6, 2, 3), F(6, 2, 3)),
     {"attn_logits_soft_cap": 2.0, "is_causal": True}),
]
# multi_hot has integer inputs; polar has complex outputs (the real-valued weighted-sum loss
# of the gradient test does not apply).
NOT_DIFFERENTIABLE = {"multi_hot", "polar"}


def _case(c):
    return c if len(c) == 4 else c + (0,)


def _case_id(c):
    name, args, kwargs = c[:3]
    parts = ["x".join(map(str, a.shape)) if isinstance(a, np.ndarray) else repr(a) for a in args]
    return name + "(" + ",".join(parts + [f"{k}" for k in kwargs]) + ")"


IDS = [_case_id(c) for c in CASES]


def _run(name, args, kwargs, backend):
    return getattr(ops, name)(*[_convert(a, backend) for a in args],
                              **{k: _convert(v, backend) for k, v in kwargs.items()})


def _outputs(out):
    return out if isinstance(out, tuple) else (out,)


@pytest.mark.parametrize("backend", FRAMEWORKS)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_op_matches_numpy_reference(backend, case):
    name, args, kwargs, _ = _case(case)
    expected = _reference(name, args, kwargs)
    out = _run(name, args, kwargs, backend)
    assert ops.is_tensor(out), f"{name} on {backend} returned {type(out)}"
    got = ops.convert_to_numpy(out)
    assert got.dtype == expected.dtype, f"{name}: {got.dtype} != reference {expected.dtype}"
    assert got.shape == expected.shape
    tol = 2e-3 if expected.dtype == np.float16 else 1e-4
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol / 10)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_symbolic_rule_matches_reference(case):
    name, args, kwargs, _ = _case(case)
    expected = _reference(name, args, kwargs)
    spec = getattr(ops, name)(*[_symbolic(a) for a in args],
                              **{k: _symbolic(v) for k, v in kwargs.items()})
    assert isinstance(spec, KerasTensor)
    assert spec.shape == expected.shape and spec.dtype == expected.dtype.name


# --- the reference against independent formulas ---------------------------------------------
def _sig(x):
    return 1 / (1 + np.exp(-x))


def _same_pad(n, k, s, d=1):
    # TensorFlow's documented SAME rule: out = ceil(n / s); pad the rest, extra at the end.
    out = -(-n // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
    return total // 2, total - total // 2


def _naive_conv(x, k, strides=1, padding="valid", dilation_rate=1, data_format=None):
    """Loops over output positions and kernel taps, channels last, groups from channels."""
    if data_format == "channels_first":
        x = np.moveaxis(x, 1, -1)
    x, k = x.astype("float64"), k.astype("float64")
    nd = x.ndim - 2
    s = (strides,) * nd if isinstance(strides, int) else strides
    d = (dilation_rate,) * nd if isinstance(dilation_rate, int) else dilation_rate
    sp = x.shape[1:-1]
    pads = [_same_pad(sp[i], k.shape[i], s[i], d[i]) if padding == "same" else (0, 0)
            for i in range(nd)]
    xp = np.pad(x, [(0, 0)] + pads + [(0, 0)])
    out_sp = [(xp.shape[1 + i] - (k.shape[i] - 1) * d[i] - 1) // s[i] + 1 for i in range(nd)]
    cin, cout = k.shape[-2:]
    groups = x.shape[-1] // cin
    per = cout // groups
    out = np.zeros((x.shape[0], *out_sp, cout))
    for pos in np.ndindex(*out_sp):
        for tap in np.ndindex(*k.shape[:nd]):
            idx = tuple(pos[i] * s[i] + tap[i] * d[i] for i in range(nd))
            patch = xp[(slice(None),) + idx]  # (N, C)
            for g in range(groups):
                out[(slice(None),) + pos + (slice(g * per, (g + 1) * per),)] += \
                    patch[:, g * cin:(g + 1) * cin] @ k[tap][:, g * per:(g + 1) * per]
    return np.moveaxis(out, -1, 1) if data_format == "channels_first" else out


def _naive_depthwise(x, k, **kw):
    c, m = k.shape[-2:]
    out = [_naive_conv(x[..., i:i + 1], k[..., i:i + 1, :], **kw) for i in range(c)]
    return np.concatenate(out, axis=-1)


def _naive_pool(x, pool, strides=None, padding="valid", data_format=None, kind="max"):
    if data_format == "channels_first":
        x = np.moveaxis(x, 1, -1)
    nd = x.ndim - 2
    k = (pool,) * nd if isinstance(pool, int) else pool
    s = k if strides is None else ((strides,) * nd if isinstance(strides, int) else strides)
    sp = x.shape[1:-1]
    pads = [_same_pad(sp[i], k[i], s[i]) if padding == "same" else (0, 0) for i in range(nd)]
    out_sp = [(sp[i] + sum(pads[i]) - k[i]) // s[i] + 1 for i in range(nd)]
    out = np.zeros((x.shape[0], *out_sp, x.shape[-1]))
    for pos in np.ndindex(*out_sp):
        sl = tuple(slice(max(pos[i] * s[i] - pads[i][0], 0), pos[i] * s[i] - pads[i][0] + k[i])
                   for i in range(nd))
        win = x[(slice(None),) + sl + (slice(None),)].reshape(x.shape[0], -1, x.shape[-1])
        out[(slice(None),) + pos] = win.max(1) if kind == "max" else win.mean(1)
    return np.moveaxis(out, -1, 1) if data_format == "channels_first" else out


def _naive_adaptive(x, size, data_format=None, kind="max"):
    if data_format == "channels_first":
        x = np.moveaxis(x, 1, -1)
    nd = x.ndim - 2
    size = (size,) * nd if isinstance(size, int) else size
    out = np.zeros((x.shape[0], *size, x.shape[-1]))
    for pos in np.ndindex(*size):
        sl = tuple(slice(math.floor(pos[i] * x.shape[1 + i] / size[i]),
                         math.ceil((pos[i] + 1) * x.shape[1 + i] / size[i])) for i in range(nd))
        win = x[(slice(None),) + sl + (slice(None),)].reshape(x.shape[0], -1, x.shape[-1])
        out[(slice(None),) + pos] = win.max(1) if kind == "max" else win.mean(1)
    return np.moveaxis(out, -1, 1) if data_format == "channels_first" else out


def _sparsemax_bisect(x, axis):
    z = np.moveaxis(x.astype("float64"), axis, -1)
    lo, hi = z.min(-1, keepdims=True) - 1, z.max(-1, keepdims=True)
    for _ in range(100):  # sum(max(z - tau, 0)) = 1 decides tau
        mid = (lo + hi) / 2
        big = np.maximum(z - mid, 0).sum(-1, keepdims=True) > 1
        lo, hi = np.where(big, mid, lo), np.where(big, hi, mid)
    return np.moveaxis(np.maximum(z - (lo + hi) / 2, 0), -1, axis)


def _attention_loops(q, k, v, bias=None, mask=None, scale=None, is_causal=False,
                     attn_logits_soft_cap=None):
    if q.ndim == 3:
        return _attention_loops(q[None], k[None], v[None], bias, mask, scale, is_causal,
                                attn_logits_soft_cap)[0]
    b, t, n, h = q.shape
    s_len, kv = k.shape[1], k.shape[2]
    scale = 1 / math.sqrt(h) if scale is None else scale
    out = np.zeros((b, t, n, v.shape[-1]))
    for bi in range(b):
        for ni in range(n):
            kh = ni // (n // kv)
            for ti in range(t):
                logits = np.array([q[bi, ti, ni] @ k[bi, si, kh] for si in range(s_len)],
                                  "float64") * scale
                if attn_logits_soft_cap:
                    logits = np.tanh(logits / attn_logits_soft_cap) * attn_logits_soft_cap
                if bias is not None:
                    logits = logits + np.broadcast_to(bias, (b, n, t, s_len))[bi, ni, ti]
                ok = np.ones(s_len, bool)
                if mask is not None:
                    ok &= np.broadcast_to(mask, (b, n, t, s_len))[bi, ni, ti]
                if is_causal:
                    ok &= np.arange(s_len) <= ti
                w = np.where(ok, np.exp(logits - logits[ok].max()), 0) if ok.any() \
                    else np.ones(s_len)
                out[bi, ti, ni] = (w / w.sum()) @ v[bi, :, kh]
    return out


def _bn(x, mean, var, axis, offset=None, scale=None, epsilon=1e-3):
    shape = [1] * x.ndim
    shape[axis] = -1
    r = lambda v: np.asarray(v, "float64").reshape(shape)  # noqa: E731
    out = (x - r(mean)) / np.sqrt(r(var) + epsilon)
    return out * (1 if scale is None else r(scale)) + (0 if offset is None else r(offset))


def _layer_norm(x, gamma=None, beta=None, axis=-1, epsilon=None):
    eps = config.epsilon() if epsilon is None else epsilon
    axes = axis if isinstance(axis, tuple) else (axis,)
    mu = x.mean(axis=axes, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=axes, keepdims=True)
    out = (x - mu) / np.sqrt(var + eps)
    return out * (1 if gamma is None else gamma) + (0 if beta is None else beta)


def _log_softmax(x, axis):
    return x - np.log(np.exp(x).sum(axis, keepdims=True))


def _d2s_loops(x, b):
    n, h, w, c = x.shape
    out = np.zeros((n, h * b, w * b, c // (b * b)), x.dtype)
    for i in range(h * b):
        for j in range(w * b):
            ch = ((i % b) * b + (j % b)) * (c // (b * b))
            out[:, i, j] = x[:, i // b, j // b, ch:ch + c // (b * b)]
    return out


def _independent(name, args, kwargs):
    a = [np.asarray(v, "float64") if isinstance(v, np.ndarray) and v.dtype.kind == "f" else v
         for v in args]
    x = a[0]
    kw = kwargs
    t = kw.get("threshold", 0.5)
    if name == "relu6":
        return np.minimum(np.maximum(np.asarray(x, "float64"), 0), 6)
    if name == "elu":
        return np.where(x > 0, x, kw.get("alpha", 1.0) * (np.exp(x) - 1))
    if name == "selu":
        return 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * (np.exp(x) - 1))
    if name == "celu":
        al = kw.get("alpha", 1.0)
        return np.maximum(0, x) + np.minimum(0, al * (np.exp(x / al) - 1))
    if name == "gelu":
        if kw.get("approximate", True):
            return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))
        return np.vectorize(lambda v: v * 0.5 * (1 + math.erf(v / math.sqrt(2))))(x)
    if name == "glu":
        half = x.shape[kw.get("axis", -1)] // 2
        first, second = np.split(x, [half], axis=kw.get("axis", -1))
        return first * _sig(second)
    if name in ("silu", "swish"):
        return x * _sig(x)
    if name == "hard_sigmoid":
        return np.clip(x / 6 + 0.5, 0, 1)
    if name in ("hard_silu", "hard_swish"):
        return x * np.clip(x / 6 + 0.5, 0, 1)
    if name == "hard_tanh":
        return np.clip(x, -1, 1)
    if name == "hard_shrink":
        return x * (np.abs(x) > t)
    if name == "soft_shrink":
        return np.sign(x) * np.maximum(np.abs(x) - t, 0)
    if name == "tanh_shrink":
        return x - np.tanh(x)
    if name == "softplus":
        return np.log1p(np.exp(x))
    if name == "softsign":
        return x / (1 + np.abs(x))
    if name == "sparse_plus":
        return np.select([x <= -1, x >= 1], [0 * x, x], (x + 1) ** 2 / 4)
    if name == "sparse_sigmoid":
        return np.clip(0.5 * x + 0.5, 0, 1)
    if name == "sparsemax":
        return _sparsemax_bisect(x, kw.get("axis", -1))
    if name == "squareplus":
        return 0.5 * (x + np.sqrt(x ** 2 + kw.get("b", 4)))
    if name == "threshold":
        return np.where(x > a[1], x, a[2])
    if name == "leaky_relu":
        return np.where(x > 0, x, kw.get("negative_slope", 0.2) * x)
    if name == "log_sigmoid":
        return -np.log1p(np.exp(-x))
    if name == "conv":
        return _naive_conv(x, a[1], **kw)
    if name == "depthwise_conv":
        kw2 = dict(kw)
        return _naive_depthwise(x, a[1], **kw2)
    if name == "separable_conv":
        mid = _naive_depthwise(x, a[1], **kw)
        return mid @ a[2][0, 0]
    if name == "conv_transpose":
        return None  # checked by the adjoint identity and the scatter definition below
    if name in ("max_pool", "average_pool"):
        return _naive_pool(x, a[1], **kw, kind="max" if name == "max_pool" else "avg")
    if name in ("adaptive_max_pool", "adaptive_average_pool"):
        return _naive_adaptive(x, a[1], **kw, kind="max" if "max" in name else "avg")
    if name == "batch_normalization":
        return _bn(*a, **kw)
    if name == "layer_normalization":
        return _layer_norm(x, *a[1:], **kw)
    if name == "rms_normalization":
        axis = kw.get("axis", -1)
        out = x / np.sqrt((x ** 2).mean(axis, keepdims=True) + config.epsilon())
        return out * (a[1] if len(a) > 1 else 1)
    if name == "normalize":
        order, axis = kw.get("order", 2), kw.get("axis", -1)
        axes = axis if isinstance(axis, tuple) else (axis,)
        norm = (np.abs(x) ** order).sum(axes, keepdims=True) ** (1 / order)
        return x / np.maximum(norm, config.epsilon())
    if name == "binary_crossentropy":
        p = _sig(a[1]) if kw.get("from_logits") else a[1]
        return -(x * np.log(p) + (1 - x) * np.log(1 - p))
    if name == "categorical_crossentropy":
        axis = kw.get("axis", -1)
        lp = _log_softmax(a[1], axis) if kw.get("from_logits") else np.log(
            a[1] / a[1].sum(axis, keepdims=True))
        return -(x * lp).sum(axis)
    if name == "sparse_categorical_crossentropy":
        axis = kw.get("axis", -1)
        lp = np.moveaxis(_log_softmax(a[1], axis) if kw.get("from_logits") else np.log(a[1]),
                         axis, -1)
        labels = x.reshape(lp.shape[:-1])
        out = np.zeros(lp.shape[:-1])
        for idx in np.ndindex(*labels.shape):
            out[idx] = -lp[idx + (labels[idx],)]
        return out
    if name == "multi_hot":
        out = np.zeros((x.shape[0], a[1]) if x.ndim > 1 else (a[1],))
        for idx in np.ndindex(*x.shape):
            out[(idx[0], x[idx]) if x.ndim > 1 else (x[idx],)] = 1
        return out
    if name == "psnr":
        return 10 * np.log10(a[2] ** 2 / np.mean((x - a[1]) ** 2))
    if name == "depth_to_space":
        b = a[1]
        if kw.get("data_format") == "channels_first":
            return None  # checked against torch.nn.functional.pixel_shuffle below
        return _d2s_loops(x, b)
    if name == "space_to_depth":
        return None  # inverse of depth_to_space: checked below
    if name == "dot_product_attention":
        return _attention_loops(*a, **{k: np.asarray(v) if isinstance(v, np.ndarray) else v
                                       for k, v in kw.items()})
    if name == "ctc_loss":  # PyTorch's CTC kernel as the oracle
        import torch
        import torch.nn.functional as tF
        lp = torch.log_softmax(torch.from_numpy(a[1]), -1).transpose(0, 1)
        return tF.ctc_loss(lp, torch.from_numpy(x).long(), torch.from_numpy(a[3]).long(),
                           torch.from_numpy(a[2]).long(), blank=kw.get("mask_index", 0),
                           reduction="none").numpy()
    if name == "polar":
        return a[0] * np.exp(1j * a[1])
    if name in ("unfold", "fold"):  # PyTorch's own im2col / col2im as the oracle
        import torch
        import torch.nn.functional as tF
        t = torch.from_numpy(np.asarray(x))
        if name == "unfold":
            return tF.unfold(t, a[1], **kw).numpy()
        return tF.fold(t, a[1], a[2], **kw).numpy()
    raise AssertionError(f"no independent formula for {name}")


INDEPENDENT = [c for c in CASES if _independent(*c[:3]) is not None]


@pytest.mark.parametrize("case", INDEPENDENT, ids=[_case_id(c) for c in INDEPENDENT])
def test_reference_matches_independent_formula(case):
    name, args, kwargs, _ = _case(case)
    expected = _reference(name, args, kwargs)
    tol = 2e-3 if expected.dtype == np.float16 else 1e-4
    np.testing.assert_allclose(expected, _independent(name, args, kwargs), rtol=tol, atol=tol / 10)


def test_sparsemax_is_a_sparse_distribution():
    out = _reference("sparsemax", (F(6, 9) * 3,), {})
    np.testing.assert_allclose(out.sum(-1), 1, rtol=1e-5)
    assert (out >= 0).all() and (out == 0).any()


CONV_T = [c for c in CASES if c[0] == "conv_transpose"]


@pytest.mark.parametrize("case", CONV_T, ids=[_case_id(c) for c in CONV_T])
def test_conv_transpose_is_the_adjoint_of_conv(case):
    """<conv_transpose(y, K), x> == <y, conv(x, K)> whenever conv maps x's shape to y's."""
    name, (y, kernel), kwargs, _ = _case(case)
    out = _reference(name, (y, kernel), kwargs)
    conv_kw = {k: v for k, v in kwargs.items() if k != "output_padding"}
    x = R.standard_normal(out.shape)
    y_back = _naive_conv(x, kernel, **conv_kw)
    if y_back.shape != y.shape:  # output_padding made a shape conv cannot invert exactly
        fmt_first = kwargs.get("data_format") == "channels_first"
        sp = slice(2, None) if fmt_first else slice(1, -1)
        assert all(o >= i for o, i in zip(y_back.shape[sp], y.shape[sp]))
        y_back = y_back[tuple(slice(0, n) for n in y.shape)]
    lhs = np.sum(out.astype("float64") * x)
    rhs = np.sum(y.astype("float64") * y_back)
    np.testing.assert_allclose(lhs, rhs, rtol=1e-4)


def test_conv_transpose_valid_is_a_scatter_of_kernel_copies():
    x, k = F(1, 4, 2), F(3, 5, 2)
    out = _reference("conv_transpose", (x, k), {"strides": 2})
    want = np.zeros((1, (4 - 1) * 2 + 3, 5))
    for i in range(4):
        for j in range(3):
            want[0, i * 2 + j] += k[j] @ x[0, i]
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-5)


def test_depth_space_rearrangements():
    import torch
    import torch.nn.functional as tF
    first = {"data_format": "channels_first"}
    x = F(2, 8, 3, 4)
    np.testing.assert_array_equal(_reference("depth_to_space", (x, 2), first),
                                  tF.pixel_shuffle(torch.from_numpy(x), 2).numpy())
    y = F(2, 4, 6, 3)
    packed = _reference("space_to_depth", (y, 2), {})
    np.testing.assert_array_equal(_reference("depth_to_space", (packed, 2), {}), y)
    z = F(2, 3, 4, 6)
    np.testing.assert_array_equal(_reference("space_to_depth", (z, 2), first),
                                  tF.pixel_unshuffle(torch.from_numpy(z), 2).numpy())


def test_moments_and_keepdims():
    x = F(3, 4, 5)
    for keepdims in (False, True):
        mean, var = _reference("moments", (x, (0, 2)), {"keepdims": keepdims})
        np.testing.assert_allclose(mean, x.mean((0, 2), keepdims=keepdims), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(var, x.var((0, 2), keepdims=keepdims), rtol=1e-5, atol=1e-6)
        spec = ops.moments(KerasTensor((None, 4, 5)), (0, 2), keepdims=keepdims)
        assert spec[0].shape == ((1, 4, 1) if keepdims else (4,)) and spec[1].dtype == "float32"
        for backend in FRAMEWORKS:
            got = ops.moments(to_backend(x, backend), (0, 2), keepdims=keepdims)
            for g, w in zip(got, (mean, var)):
                g = ops.convert_to_numpy(g)
                assert g.dtype == w.dtype and g.shape == w.shape
                np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


# --- symbolic rules: unknown dims, errors ----------------------------------------------------
def test_symbolic_rules_keep_unknown_dims():
    x = KerasTensor((None, None, 3))
    assert ops.conv(x, KerasTensor((3, 3, 8)), padding="same").shape == (None, None, 8)
    assert ops.max_pool(KerasTensor((None, 9, 3)), 2).shape == (None, 4, 3)
    assert ops.conv_transpose(KerasTensor((None, 5, 6, 3)), KerasTensor((3, 3, 4, 3)),
                              strides=2, padding="same").shape == (None, 10, 12, 4)
    assert ops.adaptive_average_pool(KerasTensor((None, None, None, 3)), 2).shape == (None, 2, 2, 3)
    assert ops.layer_normalization(KerasTensor((None, 4))).shape == (None, 4)
    assert ops.dot_product_attention(KerasTensor((None, 5, 4, 3)), KerasTensor((None, 7, 2, 3)),
                                     KerasTensor((None, 7, 2, 6))).shape == (None, 5, 4, 6)
    assert ops.sparse_categorical_crossentropy(KerasTensor((None,), "int32"),
                                               KerasTensor((None, 5))).shape == (None,)
    assert ops.gelu(KerasTensor((None, 2), "int32")).dtype == "float32"
    assert ops.nn.swish is ops.swish and ops.nn.conv is ops.conv


@pytest.mark.parametrize("bad", [
    lambda: ops.conv(KerasTensor((2, 8, 3)), KerasTensor((3, 2, 4))),
    lambda: ops.conv(KerasTensor((2, 8, 3)), KerasTensor((3, 3, 4)), padding="full"),
    lambda: ops.conv(KerasTensor((2, 8, 3)), KerasTensor((3, 3, 3, 4))),
    lambda: ops.max_pool(KerasTensor((2, 8)), 2),
    lambda: ops.glu(KerasTensor((2, 5))),
    lambda: ops.sparsemax(KerasTensor((2, 5)), axis=2),
    lambda: ops.batch_normalization(KerasTensor((2, 5)), KerasTensor((4,)), KerasTensor((5,)), -1),
    lambda: ops.categorical_crossentropy(KerasTensor((2, 5)), KerasTensor((2, 4))),
    lambda: ops.sparse_categorical_crossentropy(KerasTensor((3,)), KerasTensor((2, 4))),
    lambda: ops.depth_to_space(KerasTensor((1, 2, 2, 6)), 2),
    lambda: ops.dot_product_attention(KerasTensor((2, 5, 3, 8)), KerasTensor((2, 5, 2, 8)),
                                      KerasTensor((2, 5, 2, 8))),
])
def test_symbolic_errors_name_the_op(bad):
    with pytest.raises(ValueError, match=r"^[a-z_0-9]+: "):
        bad()


# --- gradients -------------------------------------------------------------------------------
def _grad_cases():
    """Small float32 cases, one per op, plus every variant of the geometry-heavy ops."""
    seen, out = set(), []
    for c in map(_case, CASES):
        x = c[1][c[3]]
        if c[0] in NOT_DIFFERENTIABLE or not isinstance(x, np.ndarray) or \
                x.dtype != np.float32 or not 0 < x.size <= 120:
            continue
        if c[0] in seen and c[0] not in ("conv", "depthwise_conv", "conv_transpose",
                                         "dot_product_attention"):
            continue
        seen.add(c[0])
        out.append(c)
    return out


GRAD_CASES = _grad_cases()


def _weights(shape):
    return np.random.default_rng(7).standard_normal(shape)


def _numeric_grad(name, args, kwargs, i):
    x = args[i].astype("float64")
    w = _weights(_reference(name, args, kwargs).shape)
    grad = np.zeros_like(x)
    eps = 1e-4
    for idx in np.ndindex(x.shape):
        vals = []
        for sign in (1, -1):
            xp = x.copy()
            xp[idx] += sign * eps
            new = list(args)
            new[i] = xp
            new = [a.astype("float64") if isinstance(a, np.ndarray) and a.dtype == np.float32
                   else a for a in new]
            kw = {k: v.astype("float64") if isinstance(v, np.ndarray) and v.dtype == np.float32
                  else v for k, v in kwargs.items()}
            vals.append(float(np.sum(_reference(name, new, kw) * w)))
        grad[idx] = (vals[0] - vals[1]) / (2 * eps)
    return grad


@pytest.mark.parametrize("case", GRAD_CASES, ids=[_case_id(c) for c in GRAD_CASES])
def test_gradients_match_finite_differences_and_agree_across_backends(case):
    name, args, kwargs, i = case
    expected = _numeric_grad(name, list(args), kwargs, i)
    weights = _weights(_reference(name, args, kwargs).shape).astype("float32")
    per_backend = {}
    for backend in FRAMEWORKS:
        conv_args = [_convert(a, backend) for a in args]
        conv_kw = {k: _convert(v, backend) for k, v in kwargs.items()}
        w = to_backend(weights, backend)

        def loss(params, *unused):
            call = list(conv_args)
            call[i] = params[0]
            return ops.sum(ops.multiply(getattr(ops, name)(*call, **conv_kw), w)), None

        (_, _), grads = runtime(backend).value_and_grad(loss)([conv_args[i]])
        per_backend[backend] = ops.convert_to_numpy(grads[0])
        np.testing.assert_allclose(per_backend[backend], expected, rtol=1e-2, atol=1e-2,
                                   err_msg=f"{name} gradient on {backend}")
    first = next(iter(per_backend.values()))
    for backend, g in per_backend.items():
        np.testing.assert_allclose(g, first, rtol=1e-3, atol=1e-4,
                                   err_msg=f"{name} gradients differ on {backend}")


def test_batch_normalization_gradients_reach_the_statistics():
    x, mean, var = F(4, 3), F(3), U(3)
    w = _weights((4, 3))
    want_mean = -(w / np.sqrt(var + 1e-3)).sum(0)
    for backend in FRAMEWORKS:
        xb, vb, wb = (to_backend(a, backend) for a in (x, var, w.astype("float32")))

        def loss(params, *unused):
            return ops.sum(ops.multiply(ops.batch_normalization(xb, params[0], vb, -1), wb)), None

        (_, _), grads = runtime(backend).value_and_grad(loss)([to_backend(mean, backend)])
        np.testing.assert_allclose(ops.convert_to_numpy(grads[0]), want_mean, rtol=1e-4, atol=1e-5)


# --- compiled functions ----------------------------------------------------------------------
JIT_CASES = [c for c in CASES if c[0] in ("gelu", "sparsemax", "conv", "conv_transpose",
                                          "max_pool", "average_pool", "adaptive_max_pool",
                                          "layer_normalization", "dot_product_attention",
                                          "sparse_categorical_crossentropy", "normalize")][::2]


@pytest.mark.parametrize("case", JIT_CASES, ids=[_case_id(c) for c in JIT_CASES])
def test_ops_inside_jax_jit_and_tf_function(case):
    name, args, kwargs, _ = _case(case)
    arrays = [i for i, a in enumerate(args) if isinstance(a, np.ndarray)]
    expected = _reference(name, args, kwargs)

    def call(*tensors):
        full = list(args)
        for i, t in zip(arrays, tensors):
            full[i] = t
        return getattr(ops, name)(*full, **kwargs)

    if "jax" in FRAMEWORKS:
        import jax
        got = jax.jit(call)(*[to_backend(args[i], "jax") for i in arrays])
        np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-4, atol=1e-5)
    if "tensorflow" in FRAMEWORKS:
        import tensorflow as tf
        got = tf.function(call)(*[to_backend(args[i], "tensorflow") for i in arrays])
        np.testing.assert_allclose(got.numpy(), expected, rtol=1e-4, atol=1e-5)
        got = tf.function(call, jit_compile=True)(*[to_backend(args[i], "tensorflow")
                                                    for i in arrays])
        np.testing.assert_allclose(got.numpy(), expected, rtol=1e-4, atol=1e-5)


def test_torch_attention_uses_the_fused_kernel(monkeypatch):
    if "torch" not in FRAMEWORKS:
        pytest.skip("torch not installed")
    import torch.nn.functional as tF
    calls = []
    real = tF.scaled_dot_product_attention
    monkeypatch.setattr(tF, "scaled_dot_product_attention",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    q = F(2, 5, 4, 3)
    out = ops.dot_product_attention(*(to_backend(q, "torch"),) * 3, is_causal=True)
    np.testing.assert_allclose(ops.convert_to_numpy(out),
                               _reference("dot_product_attention", (q, q, q), {"is_causal": True}),
                               rtol=1e-4, atol=1e-5)
    assert calls


# --- OpenVINO (every shared case runs as a graph in tests/test_openvino_elementwise_neural.py)
def test_openvino_conv_pool_stack_with_dynamic_batch():
    ov = pytest.importorskip("openvino")
    ovo = pytest.importorskip("openvino.opset16")
    k1, k2 = F(3, 3, 3, 8), F(3, 3, 8, 1)
    x = ovo.parameter([-1, 9, 10, 3], np.float32)
    h = ops.max_pool(ops.gelu(ops.conv(x.output(0), k1, padding="same")), 2, padding="same")
    y = ops.layer_normalization(ops.depthwise_conv(h, k2, strides=2))
    compiled = ov.compile_model(ov.Model([y], [x]), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    for batch in (1, 3):
        xs = F(batch, 9, 10, 3)
        with ops.backend_scope("numpy"):
            want = ops.layer_normalization(ops.depthwise_conv(ops.max_pool(ops.gelu(
                ops.conv(xs, k1, padding="same")), 2, padding="same"), k2, strides=2))
        np.testing.assert_allclose(np.array(compiled([xs])[0]), want, rtol=1e-4, atol=1e-4)


def test_fold_is_the_adjoint_of_unfold():
    x, kw = F(2, 3, 7, 8), {"kernel_size": (3, 2), "dilation": (1, 2), "padding": (1, 0),
                            "stride": 2}
    cols = _reference("unfold", (x,), kw)
    c = R.standard_normal(cols.shape)
    back = _reference("fold", (c, (7, 8)), kw)
    np.testing.assert_allclose(np.sum(cols * c), np.sum(x * back), rtol=1e-4)


def test_ctc_loss_sums_over_every_alignment():
    """Brute force: p(label) = sum over the 3**5 paths that collapse (merge repeats, drop
    blanks) to the label."""
    import itertools
    logits = F(1, 5, 3)
    probs = np.exp(logits[0].astype("float64"))
    probs /= probs.sum(-1, keepdims=True)
    for label, blank in (((1, 1), 0), ((2, 0, 2), 1)):
        total = 0.0
        for path in itertools.product(range(3), repeat=5):
            merged = [c for i, c in enumerate(path) if i == 0 or c != path[i - 1]]
            if tuple(c for c in merged if c != blank) == label:
                total += np.prod(probs[np.arange(5), path])
        got = _reference("ctc_loss", (np.array([label], "int32"), logits,
                                      np.array([len(label)], "int32"), np.array([5], "int32")),
                         {"mask_index": blank})
        np.testing.assert_allclose(got, [-np.log(total)], rtol=1e-5)


def _greedy_loops(x, lengths, merge_repeated=True, mask_index=0):
    decoded = -np.ones(x.shape[:2], "int32")
    scores = np.zeros((x.shape[0], 1))
    blank = x.shape[2] - 1 if mask_index is None else mask_index % x.shape[2]
    for b in range(x.shape[0]):
        out, prev = [], None
        for t in range(lengths[b]):
            c = int(np.argmax(x[b, t]))
            scores[b, 0] -= x[b, t, c]
            if c != blank and not (merge_repeated and c == prev):
                out.append(c)
            prev = c
        decoded[b, :len(out)] = out
    return decoded[None], scores


def _tf_decoder(x, lengths, strategy, blank, **kw):
    """TensorFlow's fused decoders (what Keras 3 calls on its TensorFlow backend), as dense
    (paths, batch, time) labels padded with -1 and scores: an oracle independent of our code.
    The beam search decoder takes the blank last, so the blank column is moved there."""
    import tensorflow as tf
    n, steps, classes = x.shape
    xt = np.transpose(x, (1, 0, 2))
    if strategy == "greedy":
        decoded, scores = tf.nn.ctc_greedy_decoder(xt, lengths, blank_index=blank, **kw)
    else:
        xt = np.concatenate([xt[..., :blank], xt[..., blank + 1:], xt[..., blank:blank + 1]], -1)
        decoded, scores = tf.nn.ctc_beam_search_decoder(xt, lengths, **kw)
    dense = []
    for st in decoded:
        d = tf.sparse.to_dense(tf.SparseTensor(st.indices, st.values, (n, steps)), -1).numpy()
        dense.append(d if strategy == "greedy" else np.where(d >= blank, d + 1, d))
    return np.stack(dense).astype("int32"), scores.numpy()


def _check_backends(x, lengths, kwargs, ref):
    for backend in FRAMEWORKS:
        got = ops.ctc_decode(to_backend(x, backend), to_backend(lengths, backend), **kwargs)
        for g, r in zip(got, ref):
            g = ops.convert_to_numpy(g)
            assert g.dtype == r.dtype and g.shape == r.shape, (backend, g.dtype, g.shape)
            np.testing.assert_allclose(g, r, rtol=1e-5, atol=1e-6, err_msg=backend)


@pytest.mark.parametrize("kwargs", [{}, {"merge_repeated": False}, {"mask_index": 2},
                                    {"mask_index": None}, {"mask_index": -3}])
def test_ctc_decode_greedy(kwargs):
    x = F(3, 9, 4)
    x[0, 2:5, 1] += 5  # a repeated best class
    x[1, 3:6, 3] += 5
    lengths = np.array([9, 5, 7], "int32")
    want = _greedy_loops(x, lengths, **kwargs)
    ref = _reference("ctc_decode", (x, lengths), kwargs)
    np.testing.assert_array_equal(ref[0], want[0])
    np.testing.assert_allclose(ref[1], want[1], rtol=1e-5)
    if "tensorflow" in FRAMEWORKS:  # what Keras 3 returns on its TensorFlow backend
        blank = kwargs.get("mask_index", 0)
        tfd, tfs = _tf_decoder(x, lengths, "greedy", 3 if blank is None else blank % 4,
                               merge_repeated=kwargs.get("merge_repeated", True))
        np.testing.assert_array_equal(ref[0], tfd)
        np.testing.assert_allclose(ref[1], tfs, rtol=1e-5)
    spec = ops.ctc_decode(KerasTensor((None, 9, 4)), KerasTensor((None,), "int32"), **kwargs)
    assert spec[0].shape == (1, None, 9) and spec[0].dtype == "int32"
    assert spec[1].shape == (None, 1) and spec[1].dtype == "float32"
    _check_backends(x, lengths, kwargs, ref)


def _ctc_label_log_probs(logits, blank):
    """Brute force: log p(labels) for every label sequence, summing the probability of every
    one of the classes**steps alignments that collapses to it (merge repeats, drop blanks)."""
    import itertools
    x = logits.astype("float64")
    lp = x - np.log(np.sum(np.exp(x), -1, keepdims=True))
    steps, classes = lp.shape
    out = {}
    for path in itertools.product(range(classes), repeat=steps):
        labels = tuple(c for i, c in enumerate(path)
                       if c != blank and (i == 0 or c != path[i - 1]))
        out[labels] = np.logaddexp(out.get(labels, -np.inf), lp[np.arange(steps), path].sum())
    return out


@pytest.mark.parametrize("blank", [0, None])
def test_ctc_beam_search_without_pruning_is_exact(blank):
    """A beam wide enough to keep every prefix returns the most probable label sequences with
    their exact probabilities (log_softmax of the inputs), best first; sequences shorter than
    the time axis decode from their first steps; past the existing prefixes: -1 and -inf."""
    x = F(3, 5, 3) * 2
    x[2] = np.log(_probs(5, 3))  # log-probabilities decode like logits
    lengths = np.array([5, 3, 1], "int32")
    top = 6
    kwargs = {"strategy": "beam_search", "beam_width": 64, "top_paths": top,
              "mask_index": blank}
    ref = _reference("ctc_decode", (x, lengths), kwargs)
    assert ref[0].shape == (top, 3, 5) and ref[0].dtype == np.int32
    assert ref[1].shape == (3, top) and ref[1].dtype == np.float32
    for b in range(3):
        exact = _ctc_label_log_probs(x[b, :lengths[b]], 2 if blank is None else blank)
        best = sorted(exact.items(), key=lambda kv: -kv[1])[:top]
        for i in range(top):
            if i < len(best):
                labels = [c for c in ref[0][i, b] if c >= 0]
                assert tuple(labels) == best[i][0], (b, i)
                assert list(ref[0][i, b, len(labels):]) == [-1] * (5 - len(labels))
                np.testing.assert_allclose(ref[1][b, i], best[i][1], rtol=1e-5)
            else:  # length 1 with 2 labels: only 3 sequences exist
                assert np.all(ref[0][i, b] == -1) and ref[1][b, i] == -np.inf
    _check_backends(x, lengths, kwargs, ref)
    if "tensorflow" in FRAMEWORKS:  # no pruning: TensorFlow's decoder is exact too
        tfd, tfs = _tf_decoder(x[:2], lengths[:2], "beam_search", 2 if blank is None else blank,
                               beam_width=64, top_paths=top)
        np.testing.assert_array_equal(ref[0][:, :2], tfd)
        np.testing.assert_allclose(ref[1][:2], tfs, rtol=1e-5)


def _pruned_case():
    r = np.random.default_rng(11)
    x = (r.standard_normal((4, 12, 7)) * 2).astype("float32")
    return x, np.array([12, 9, 12, 0], "int32")


@pytest.mark.parametrize("kwargs", [{"beam_width": 4, "top_paths": 3},
                                    {"beam_width": 6, "top_paths": 6, "mask_index": 3}])
def test_ctc_beam_search_with_pruning(kwargs):
    """Narrow beams prune: every backend equals the reference; the paths are distinct and
    sorted by score; each score is the probability the beam kept, at most the exact one (the
    CTC forward algorithm, via ctc_loss); the best path equals TensorFlow's fused decoder."""
    x, lengths = _pruned_case()
    kwargs = dict(kwargs, strategy="beam_search")
    ref = _reference("ctc_decode", (x, lengths), kwargs)
    top, blank = kwargs["top_paths"], kwargs.get("mask_index", 0)
    for b in range(3):
        paths = [tuple(c for c in ref[0][i, b] if c >= 0) for i in range(top)]
        assert len(set(paths)) == top and all(blank not in p for p in paths)
        assert np.all(np.diff(ref[1][b]) <= 0)
        labels = np.array([list(p) + [0] * (12 - len(p)) for p in paths], "int32")
        exact = -_reference("ctc_loss", (labels, np.repeat(x[b:b + 1], top, 0),
                                         np.array([len(p) for p in paths], "int32"),
                                         np.full(top, lengths[b], "int32")),
                            {"mask_index": blank})
        assert np.all(ref[1][b] <= exact + 1e-5)
    # an empty sequence: the empty label sequence with probability 1
    assert np.all(ref[0][0, 3] == -1) and ref[1][3, 0] == 0
    _check_backends(x, lengths, kwargs, ref)
    if "tensorflow" in FRAMEWORKS:
        tfd, tfs = _tf_decoder(x[:3], lengths[:3], "beam_search", blank,
                               beam_width=kwargs["beam_width"], top_paths=1)
        np.testing.assert_array_equal(ref[0][:1, :3], tfd)
        np.testing.assert_allclose(ref[1][:3, :1], tfs, rtol=1e-5)


def test_ctc_beam_search_breaks_ties_alike_on_every_backend():
    """Uniform inputs make many equal scores: every backend keeps and orders the same paths,
    equal scores in label order."""
    x = np.zeros((2, 4, 4), "float32")
    x[1, :, 2] = 1.0
    lengths = np.array([4, 3], "int32")
    kwargs = {"strategy": "beam_search", "beam_width": 3, "top_paths": 3, "mask_index": 1}
    ref = _reference("ctc_decode", (x, lengths), kwargs)
    paths = [[tuple(c for c in ref[0][i, b] if c >= 0) for i in range(3)] for b in range(2)]
    assert paths[0][1:] == [(0,), (2,)] and ref[1][0, 1] == ref[1][0, 2]
    assert paths[1][0] == (2,) and np.all(np.diff(ref[1][1]) < 0)
    _check_backends(x, lengths, kwargs, ref)


def test_ctc_beam_search_matches_keras():
    """Keras 3.15's ctc_decode(strategy="beam_search", beam_width=3, top_paths=2) on its JAX,
    PyTorch and NumPy backends gives these (computed with keras.ops.ctc_decode). Its
    TensorFlow backend (tf.nn.ctc_beam_search_decoder) finds the same paths but scores the
    third sequence's -1.916 / -2.313: after another candidate pushes a beam out, TensorFlow
    can skip that beam's extensions, keeping other prefixes in the narrow beam."""
    x = np.array([[[0.12573022, -0.13210486, 0.64042264, 0.10490011],
                   [-0.5356694, 0.36159506, 1.304, 0.94708097],
                   [-0.70373523, -1.2654215, -0.62327445, 0.04132598],
                   [-2.3250308, -0.21879166, -1.245911, -0.7322674],
                   [-0.544259, -0.31630015, 0.41163054, 1.0425134],
                   [-0.12853466, 1.3664634, -0.6651947, 0.35151008]],
                  [[0.90347016, 0.0940123, -0.7434993, -0.9217254],
                   [-0.45772582, 0.22019513, -1.0096182, -0.20917557],
                   [-0.15922502, 0.5408456, 0.21465912, 0.3553727],
                   [-0.6538286, -0.12961364, 0.7839755, 1.4934311],
                   [-1.2590655, 1.5139238, 1.3458754, 0.7813114],
                   [0.26445562, -0.31392282, 1.4580207, 1.9602584]],
                  [[1.8016349, 1.3151038, 0.35738042, -1.2083186],
                   [-0.00445413, 0.65647495, -1.2883614, 0.39512205],
                   [0.4298637, 0.6960427, -1.1841179, -0.6617026],
                   [-0.43643525, -1.169802, 1.7393678, -0.49591073],
                   [0.32896963, -0.25857255, 1.5834728, 1.320361],
                   [0.63335264, -2.2035098, 0.05202897, 0.6836862]]], "float32")
    lengths = np.array([6, 4, 6], "int32")
    want_paths = np.array([[[2, 3, 1, -1, -1, -1], [1, 3, -1, -1, -1, -1],
                            [1, 2, 3, -1, -1, -1]],
                           [[2, 3, 1, 3, 1, -1], [1, 2, -1, -1, -1, -1],
                            [1, 2, -1, -1, -1, -1]]], "int32")
    want_scores = np.array([[-2.9673877, -3.5351083], [-1.7233427, -2.8756611],
                            [-1.9671681, -2.4295363]], "float32")
    kwargs = {"strategy": "beam_search", "beam_width": 3, "top_paths": 2}
    ref = _reference("ctc_decode", (x, lengths), kwargs)
    np.testing.assert_array_equal(ref[0], want_paths)
    np.testing.assert_allclose(ref[1], want_scores, rtol=1e-5)
    _check_backends(x, lengths, kwargs, ref)


def test_ctc_decode_compiled_and_symbolic():
    x, lengths = _pruned_case()
    x64 = x.astype("float64")
    cases = [({"strategy": "beam_search", "beam_width": 5, "top_paths": 2, "mask_index": 6}, x),
             ({"strategy": "beam_search", "beam_width": 3, "top_paths": 3}, x64),
             ({"strategy": "greedy", "merge_repeated": False}, x)]
    for kwargs, xs in cases:
        ref = _reference("ctc_decode", (xs, lengths), kwargs)
        assert ref[1].dtype == xs.dtype
        spec = ops.ctc_decode(KerasTensor((None, 12, 7), xs.dtype.name),
                              KerasTensor((None,), "int32"), **kwargs)
        assert [s.shape for s in spec] == [(r.shape[0], None, 12) if i == 0 else (None,
                                           r.shape[1]) for i, r in enumerate(ref)]
        assert [s.dtype for s in spec] == ["int32", xs.dtype.name]

        def call(a, n):
            return ops.ctc_decode(a, n, **kwargs)

        compiled = []
        if "jax" in FRAMEWORKS and xs.dtype == np.float32:  # jax runs without float64
            import jax
            compiled.append(jax.jit(call)(to_backend(xs, "jax"), to_backend(lengths, "jax")))
        if "tensorflow" in FRAMEWORKS:
            import tensorflow as tf
            args = (to_backend(xs, "tensorflow"), to_backend(lengths, "tensorflow"))
            compiled.append(tf.function(call)(*args))
            if kwargs.get("mask_index"):  # XLA, and a graph with unknown batch and time
                compiled.append(tf.function(call, jit_compile=True)(*args))
                dyn = tf.function(call, input_signature=[
                    tf.TensorSpec((None, None, 7), xs.dtype), tf.TensorSpec((None,), tf.int32)])
                compiled.append(dyn(*args))
        for got in compiled:
            for g, r in zip(got, ref):
                g = ops.convert_to_numpy(g)
                assert g.dtype == r.dtype and g.shape == r.shape
                np.testing.assert_allclose(g, r, rtol=1e-5, atol=1e-6)
    assert ops.ctc_decode(KerasTensor((2, 9, 4), "float16"), KerasTensor((2,), "int32"),
                          strategy="beam_search", top_paths=4)[1].dtype == "float32"


@pytest.mark.parametrize("kwargs", [{"strategy": "prefix"},
                                    {"strategy": "beam_search", "beam_width": 2, "top_paths": 3},
                                    {"strategy": "beam_search", "top_paths": 0},
                                    {"mask_index": 4}])
def test_ctc_decode_bad_arguments(kwargs):
    x, lengths = F(2, 9, 4), np.array([9, 9], "int32")
    with pytest.raises(ValueError, match="^ctc_decode: "):
        ops.ctc_decode(KerasTensor((2, 9, 4)), KerasTensor((2,), "int32"), **kwargs)
    with pytest.raises(ValueError, match="^ctc_decode: "):
        _reference("ctc_decode", (x, lengths), kwargs)
    for backend in FRAMEWORKS:
        with pytest.raises(ValueError, match="^ctc_decode: "):
            ops.ctc_decode(to_backend(x, backend), to_backend(lengths, backend), **kwargs)
