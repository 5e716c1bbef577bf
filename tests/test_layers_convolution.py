"""Convolution layers on torch, jax and tensorflow vs torch.nn.functional given the mapped
weights (Keras HWIO -> torch OIHW, computed in float64) and vs Keras 3 given the same
weights; structure (weights, config, shapes) vs Keras; gradients across backends; OpenVINO
graphs vs the NumPy backend; bad input."""
import math

import numpy as np
import pytest

import unikeras as uk
from unikeras import layers, ops
from tests.conftest import FRAMEWORKS, to_backend
from tests.keras_oracle import run_layer_cases
from tests.layer_checks import make_layer

torch = pytest.importorskip("torch")
F = torch.nn.functional

TOL = dict(rtol=1e-5, atol=1e-5)

# id: (layer class, constructor arguments, input shape without the batch dim)
CASES = {
    "conv1d": ("Conv1D", {"filters": 4, "kernel_size": 3}, (9, 3)),
    "conv1d_causal_dilated": ("Conv1D", {"filters": 4, "kernel_size": 3, "padding": "causal",
                                         "dilation_rate": 2, "activation": "tanh"}, (9, 3)),
    "conv1d_causal_cf": ("Conv1D", {"filters": 2, "kernel_size": 4, "padding": "causal",
                                    "data_format": "channels_first"}, (3, 8)),
    "conv1d_groups_strided_same_cf": ("Conv1D", {"filters": 6, "kernel_size": 4, "strides": 2,
                                                 "padding": "same", "groups": 3,
                                                 "data_format": "channels_first"}, (6, 9)),
    "conv2d_strided_same": ("Conv2D", {"filters": 4, "kernel_size": 3, "strides": 2,
                                       "padding": "same"}, (8, 7, 3)),
    "conv2d_even_kernel_same_no_bias": ("Conv2D", {"filters": 2, "kernel_size": 4,
                                                   "padding": "same", "use_bias": False,
                                                   "kernel_regularizer": "l2",
                                                   "kernel_constraint": "non_neg"},
                                        (6, 5, 2)),
    "conv2d_dilated_groups_cf": ("Conv2D", {"filters": 4, "kernel_size": (3, 2),
                                            "dilation_rate": 2, "groups": 2, "activation": "relu",
                                            "data_format": "channels_first"}, (4, 8, 7)),
    "conv3d_same": ("Conv3D", {"filters": 3, "kernel_size": 2, "padding": "same"}, (4, 5, 3, 2)),
    "conv3d_strided_cf": ("Conv3D", {"filters": 2, "kernel_size": (2, 3, 2), "strides": (1, 2, 2),
                                     "data_format": "channels_first"}, (2, 4, 6, 5)),
    "conv1d_transpose": ("Conv1DTranspose", {"filters": 3, "kernel_size": 3, "strides": 2},
                         (5, 2)),
    "conv1d_transpose_stride_over_kernel": ("Conv1DTranspose", {"filters": 2, "kernel_size": 2,
                                                                "strides": 3, "padding": "same"},
                                            (4, 3)),
    "conv2d_transpose_same": ("Conv2DTranspose", {"filters": 3, "kernel_size": 4, "strides": 2,
                                                  "padding": "same"}, (4, 5, 2)),
    "conv2d_transpose_output_padding_cf": ("Conv2DTranspose", {
        "filters": 4, "kernel_size": 3, "strides": 2, "padding": "same", "output_padding": 1,
        "data_format": "channels_first"}, (3, 5, 4)),
    "conv2d_transpose_dilated": ("Conv2DTranspose", {"filters": 2, "kernel_size": (3, 2),
                                                     "dilation_rate": 2}, (5, 4, 3)),
    "conv3d_transpose": ("Conv3DTranspose", {"filters": 2, "kernel_size": 2, "strides": 2,
                                             "output_padding": 1}, (3, 2, 3, 2)),
    "depthwise1d_same": ("DepthwiseConv1D", {"kernel_size": 3, "depth_multiplier": 2,
                                             "padding": "same"}, (8, 3)),
    "depthwise2d_strided_cf": ("DepthwiseConv2D", {"kernel_size": 3, "strides": 2,
                                                   "depth_multiplier": 2,
                                                   "data_format": "channels_first"}, (3, 7, 8)),
    "depthwise2d_dilated_same": ("DepthwiseConv2D", {"kernel_size": 2, "dilation_rate": 2,
                                                     "padding": "same"}, (6, 6, 4)),
    "separable1d_same_cf": ("SeparableConv1D", {"filters": 4, "kernel_size": 3,
                                                "depth_multiplier": 2, "padding": "same",
                                                "data_format": "channels_first"}, (3, 9)),
    "separable2d_strided": ("SeparableConv2D", {"filters": 5, "kernel_size": 3, "strides": 2,
                                                "activation": "relu"}, (7, 7, 3)),
}
BATCH = 2
ACTIVATIONS = {None: lambda x: x, "relu": lambda x: np.maximum(x, 0), "tanh": np.tanh}


def _np(x):
    return ops.convert_to_numpy(x)


def _make(case, backend, weights=None):
    """The layer of `case`, built on `backend` (with `weights` if given)."""
    cls, config, shape = CASES[case]
    return make_layer(cls, config, backend, shape, weights)


@pytest.fixture(scope="module")
def prepared():
    """Per case: inputs and weights (shaped as our layer orders them), fixed seeds."""
    out = {}
    for i, case in enumerate(CASES):
        rng = np.random.default_rng(i)
        x = rng.standard_normal((BATCH,) + CASES[case][2]).astype("float32")
        weights = [(0.5 * rng.standard_normal(w.shape)).astype("float32")
                   for w in _make(case, "numpy").get_weights()]
        out[case] = (x, weights)
    return out


@pytest.fixture(scope="module")
def keras_results(prepared):
    cases = [{"layer": CASES[c][0], "config": CASES[c][1], "inputs": prepared[c][0],
              "weights": prepared[c][1]} for c in CASES]
    return dict(zip(CASES, run_layer_cases(cases)))


# --- the independent reference: torch.nn.functional in float64 ---------------------------
def _tf_same_pads(n, k, s, d):
    """TensorFlow's 'same' zero padding (before, after) of a length-n axis."""
    k_eff = (k - 1) * d + 1
    total = max((math.ceil(n / s) - 1) * s + k_eff - n, 0)
    return total // 2, total - total // 2


def _spatial_geometry(config, rank):
    def tup(name, default):
        v = config.get(name, default)
        return (v,) * rank if isinstance(v, int) else tuple(v)
    return tup("kernel_size", None), tup("strides", 1), tup("dilation_rate", 1)


def _torch_correlate(x, w, strides, dilation, pads, groups):
    """Channels-first correlation with explicit (before, after) zero pads per spatial dim."""
    flat = [p for pair in reversed(pads) for p in pair]
    conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[x.ndim - 2]
    return conv(F.pad(x, flat), w, None, strides, 0, dilation, groups)


def _correlation_pads(config, spatial, k, s, d):
    padding = config.get("padding", "valid")
    if padding == "same":
        return [_tf_same_pads(spatial[i], k[i], s[i], d[i]) for i in range(len(k))]
    if padding == "causal":
        return [((k[0] - 1) * d[0], 0)]
    return [(0, 0)] * len(k)


def _to_oihw(kernel):
    """Keras (*k, in, out) -> torch (out, in, *k)."""
    n = kernel.ndim - 2
    return np.transpose(kernel, (n + 1, n) + tuple(range(n)))


def _transpose_reference(x, kernel, config, k, s, d):
    """torch's full transposed convolution (the adjoint of a stride-s correlation), then the
    window of the output length L Keras documents; the window starts where a 'same'
    correlation from length L down to the input length would start (TF's convention)."""
    n = x.ndim - 2
    w = torch.from_numpy(np.transpose(kernel, (n + 1, n) + tuple(range(n))).copy())
    conv_t = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[n]
    full = conv_t(x, w, None, s, 0, 0, 1, d)
    padding, output_padding = config.get("padding", "valid"), config.get("output_padding")
    windows = []
    for i in range(n):
        length, k_eff = x.shape[2 + i], (k[i] - 1) * d[i] + 1
        if output_padding is not None:
            op = (output_padding,) * n if isinstance(output_padding, int) else output_padding
            size = (length - 1) * s[i] + k_eff - 2 * (k_eff // 2 if padding == "same" else 0) \
                + op[i]
        else:
            size = length * s[i] + (max(k_eff - s[i], 0) if padding == "valid" else 0)
        start = max((length - 1) * s[i] + k_eff - size, 0) // 2 if padding == "same" else 0
        windows.append((start, size))
    # Zero-extend the end where the window reaches past the full output, then crop.
    extend = [max(c + z - full.shape[2 + i], 0) for i, (c, z) in enumerate(windows)]
    full = F.pad(full, [p for e in reversed(extend) for p in (0, e)])
    return full[(slice(None), slice(None)) + tuple(slice(c, c + z) for c, z in windows)]


def torch_reference(case, x, weights):
    cls, config, _ = CASES[case]
    n = x.ndim - 2
    channels_last = config.get("data_format", "channels_last") == "channels_last"
    xt = torch.from_numpy(np.moveaxis(x, -1, 1) if channels_last else x).double()
    k, s, d = _spatial_geometry(config, n)
    spatial = xt.shape[2:]
    kernels = [torch.from_numpy(w).double() for w in weights]
    if cls.startswith("Conv") and cls.endswith("Transpose"):
        out = _transpose_reference(xt, weights[0].astype("float64"), config, k, s, d)
    elif cls.startswith("Conv"):
        w = torch.from_numpy(_to_oihw(weights[0]).astype("float64"))
        groups = config.get("groups", 1)
        out = _torch_correlate(xt, w, s, d, _correlation_pads(config, spatial, k, s, d), groups)
    else:  # depthwise / separable: one group per input channel
        dk = weights[0]
        w = torch.from_numpy(_to_oihw(dk.reshape(dk.shape[:n] + (1, -1))).astype("float64"))
        out = _torch_correlate(xt, w, s, d, _correlation_pads(config, spatial, k, s, d),
                               dk.shape[-2])
        if cls.startswith("Separable"):
            pw = torch.from_numpy(_to_oihw(weights[1]).astype("float64"))
            out = _torch_correlate(out, pw, (1,) * n, (1,) * n, [(0, 0)] * n, 1)
    if config.get("use_bias", True):
        out = out + kernels[-1].reshape((-1,) + (1,) * n)
    out = ACTIVATIONS[config.get("activation")](out.numpy())
    return np.moveaxis(out, 1, -1) if channels_last else out


# --- values --------------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES)
def test_values_match_torch_functional_and_keras(case, backend, prepared, keras_results):
    x, weights = prepared[case]
    layer = _make(case, backend, weights)
    with ops.backend_scope(backend):
        out = layer(to_backend(x, backend))
    got = _np(out)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, torch_reference(case, x, weights), **TOL)
    keras = keras_results[case]
    assert "error" not in keras, keras
    np.testing.assert_allclose(got, keras["outputs"], **TOL)


def test_torch_reference_agrees_with_native_conv_modules(prepared):
    """The reference's weight mapping is torch.nn.Conv2d's / ConvTranspose1d's own."""
    x, weights = prepared["conv2d_strided_same"]
    native = torch.nn.Conv2d(3, 4, 3, stride=2)
    with torch.no_grad():
        native.weight.copy_(torch.from_numpy(_to_oihw(weights[0])))
        native.bias.copy_(torch.from_numpy(weights[1]))
        padded = F.pad(torch.from_numpy(np.moveaxis(x, -1, 1)), [1, 1, 0, 1])  # TF same pads
        expected = np.moveaxis(native(padded).numpy(), 1, -1)
    np.testing.assert_allclose(torch_reference("conv2d_strided_same", x, weights), expected,
                               **TOL)
    x, weights = prepared["conv1d_transpose"]
    native = torch.nn.ConvTranspose1d(2, 3, 3, stride=2)  # Keras: 5 * 2 + 3 - 2 steps
    with torch.no_grad():
        native.weight.copy_(torch.from_numpy(np.transpose(weights[0], (2, 1, 0))))
        native.bias.copy_(torch.from_numpy(weights[1]))
        expected = np.moveaxis(native(torch.from_numpy(np.moveaxis(x, -1, 1))).numpy(), 1, -1)
    np.testing.assert_allclose(torch_reference("conv1d_transpose", x, weights), expected, **TOL)


# --- structure vs Keras -------------------------------------------------------------------
def _plain(value):
    return tuple(value) if isinstance(value, list) else value


@pytest.mark.parametrize("case", CASES)
def test_structure_matches_keras(case, prepared, keras_results):
    x, weights = prepared[case]
    keras = keras_results[case]
    layer = _make(case, "numpy", weights)
    assert [w.shape for w in layer.weights] == [tuple(s) for s in keras["weight_shapes"]]
    assert [w.path for w in layer.weights] == [
        f"{layer.name}/{p.split('/')[-1]}" for p in keras["weight_names"]]
    config = layer.get_config()
    assert list(config) == list(keras["config"])
    for key in ("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate",
                "groups", "output_padding", "depth_multiplier", "activation", "use_bias"):
        if key in config:
            assert config[key] == _plain(keras["config"][key]), key
    for key, value in config.items():   # initializers, regularizers, constraints
        if isinstance(value, dict) and key != "dtype":
            theirs = keras["config"][key]
            assert value["class_name"] == theirs["class_name"], key
            if not key.endswith("initializer"):
                assert value["config"] == theirs["config"], key
        elif key.endswith(("initializer", "regularizer", "constraint")):
            assert value is None and keras["config"][key] is None, key
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    with ops.backend_scope("numpy"):
        eager = layer(x).shape
    assert tuple(keras["output_shape"]) == eager == layer.compute_output_shape(x.shape)
    symbolic = layer(uk.Input(x.shape[1:]))
    assert symbolic.shape == (None,) + eager[1:] and symbolic.dtype == "float32"


@pytest.mark.parametrize("case", [c for c in CASES if "causal" in c or "transpose" in c
                                  or c in ("conv2d_strided_same", "separable2d_strided")])
def test_none_spatial_dims_are_kept(case, prepared):
    x, weights = prepared[case]
    layer = _make(case, "numpy", weights)
    channels_last = layer.data_format == "channels_last"
    shape = ((None,) * layer.rank + x.shape[-1:]) if channels_last else (
        x.shape[1:2] + (None,) * layer.rank)
    out = layer(uk.Input(shape)).shape
    channels = layer.compute_output_shape(x.shape)[-1 if channels_last else 1]
    assert out == ((None,) * (layer.rank + 1) + (channels,) if channels_last
                   else (None, channels) + (None,) * layer.rank)
    assert layer.compute_output_shape((None,) + shape) == out


def test_aliases_and_default_weight_names():
    uk.utils.clear_session()
    assert layers.Convolution2D is layers.Conv2D
    assert layers.SeparableConvolution1D is layers.SeparableConv1D
    assert layers.Convolution3DTranspose is layers.Conv3DTranspose
    layer = layers.Conv2D(2, 3)
    layer.build((None, 5, 5, 1))
    assert [w.path for w in layer.weights] == ["conv2d/kernel", "conv2d/bias"]
    assert layers.DepthwiseConv1D(3).name == "depthwise_conv1d"


# --- gradients across backends -----------------------------------------------------------
def _grads(case, backend, x, weights, cotangent):
    layer = _make(case, backend, weights)
    if backend == "torch":
        values = [torch.tensor(w, requires_grad=True) for w in weights]
        xt = torch.tensor(x, requires_grad=True)
        out, _ = layer.stateless_call(values, [], xt)
        (out * torch.from_numpy(cotangent)).sum().backward()
        return [v.grad.numpy() for v in values] + [xt.grad.numpy()]
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        def loss(values, xj):
            out, _ = layer.stateless_call(values, [], xj)
            return jnp.sum(out * cotangent)
        gw, gx = jax.grad(loss, argnums=(0, 1))([jnp.asarray(w) for w in weights], jnp.asarray(x))
        return [np.asarray(g) for g in gw] + [np.asarray(gx)]
    import tensorflow as tf
    values = [tf.Variable(w) for w in weights]
    xt = tf.Variable(x)
    with tf.GradientTape() as tape:
        out, _ = layer.stateless_call(values, [], xt)
        loss = tf.reduce_sum(out * cotangent)
    return [tf.convert_to_tensor(g).numpy() for g in tape.gradient(loss, values + [xt])]


@pytest.mark.parametrize("case", CASES)
def test_gradients_agree_across_backends(case, prepared):
    if len(FRAMEWORKS) < 2:
        pytest.skip("needs two framework backends")
    x, weights = prepared[case]
    with ops.backend_scope("numpy"):
        out_shape = _make(case, "numpy", weights)(x).shape
    cotangent = np.random.default_rng(7).standard_normal(out_shape).astype("float32")
    if CASES[case][1].get("activation") == "relu":  # keep away from relu's kink
        cotangent = cotangent * (torch_reference(case, x, weights) > 1e-3)
    grads = {b: _grads(case, b, x, weights, cotangent) for b in FRAMEWORKS}
    first = grads[FRAMEWORKS[0]]
    assert len(first) == len(weights) + 1 and all(np.abs(g).sum() > 0 for g in first)
    for backend in FRAMEWORKS[1:]:
        for a, b in zip(first, grads[backend]):
            np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5)


# --- OpenVINO -----------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES)
def test_openvino_graph_matches_numpy_backend(case, prepared):
    pytest.importorskip("openvino")
    from unikeras.adapters import openvino as uov
    x, weights = prepared[case]
    cls, config, shape = CASES[case]
    with ops.backend_scope("numpy"):
        model = uk.Sequential([uk.Input(shape), getattr(layers, cls)(**config)])
    model.set_weights(weights)
    compiled = uov.compile(model)
    for batch in (x, np.concatenate([x, -x, 0.5 * x])):   # the batch dim is dynamic
        with ops.backend_scope("numpy"):
            expected = model(batch)
        np.testing.assert_allclose(compiled(batch), expected, **TOL)


# --- bad input ----------------------------------------------------------------------------
def test_wrong_rank_names_layer_and_shape(backend):
    layer = layers.Conv2D(2, 3, name="c2")
    with pytest.raises(ValueError, match=r"Conv2D 'c2'.*rank 4.*\(None, 5, 3\)"):
        layer(uk.Input((5, 3)))
    with ops.backend_scope(backend):
        with pytest.raises(ValueError, match=r"Conv2D 'c2'.*rank 4.*\(2, 5, 3\)"):
            layer(to_backend(np.zeros((2, 5, 3), "float32"), backend))
        layer(to_backend(np.zeros((2, 5, 5, 3), "float32"), backend))
        with pytest.raises(ValueError, match=r"Conv2D 'c2'.*rank 4.*\(2, 1, 5, 5, 3\)"):
            layer(to_backend(np.zeros((2, 1, 5, 5, 3), "float32"), backend))


def test_wrong_channel_count_after_build(backend):
    layer = layers.Conv1D(2, 3, name="c1")
    with ops.backend_scope(backend):
        layer(to_backend(np.zeros((1, 6, 3), "float32"), backend))
        # 6 channels would silently make a grouped convolution if not checked.
        with pytest.raises(ValueError, match=r"Conv1D 'c1'.*3 input channels.*\(1, 6, 6\)"):
            layer(to_backend(np.zeros((1, 6, 6), "float32"), backend))
    with pytest.raises(ValueError, match=r"'c1' \(Conv1D\).*3 input channels.*\(None, 6, 2\)"):
        layer(uk.Input((6, 2)))
    transposed = layers.Conv2DTranspose(2, 3, data_format="channels_first", name="t")
    transposed.build((None, 4, 5, 5))
    with pytest.raises(ValueError, match=r"Conv2DTranspose 't'.*4 input channels"):
        transposed.compute_output_shape((None, 3, 5, 5))


@pytest.mark.parametrize("make,pattern", [
    (lambda: layers.Conv2D(2, 3, padding="causal", name="x"), r"Conv2D 'x'.*padding.*'causal'"),
    (lambda: layers.SeparableConv1D(2, 3, padding="causal", name="x"), r"padding.*'causal'"),
    (lambda: layers.Conv1DTranspose(2, 3, padding="full", name="x"), r"padding.*'full'"),
    (lambda: layers.DepthwiseConv2D(3, data_format="NHWC", name="x"),
     r"DepthwiseConv2D 'x'.*data_format.*'NHWC'"),
    (lambda: layers.Conv2D(0, 3, name="x"), r"Conv2D 'x'.*filters.*0"),
    (lambda: layers.Conv2D(2, (3, 3, 3), name="x"), r"kernel_size.*2 ints.*\(3, 3, 3\)"),
    (lambda: layers.Conv2D(4, 3, groups=3, name="x"), r"filters \(4\).*groups \(3\)"),
    (lambda: layers.Conv2D(4, 3, strides=2, dilation_rate=2, name="x"), r"strides.*dilation"),
    (lambda: layers.Conv2DTranspose(4, 3, strides=2, output_padding=2, name="x"),
     r"output_padding.*smaller than strides"),
    (lambda: layers.Conv2D(4, 3, groups=2, name="x")(uk.Input((5, 5, 3))),
     r"3 input channels must be divisible by groups \(2\)"),
    (lambda: layers.Conv2D(4, 3, name="x")(uk.Input((5, 5, None))), r"channel dimension"),
])
def test_bad_arguments_are_value_errors(make, pattern):
    with pytest.raises(ValueError, match=pattern):
        make()


def test_default_data_format_is_channels_last():
    assert layers.Conv2D(2, 3).data_format == "channels_last"
    assert layers.SeparableConv2D(2, 3, padding="SAME").padding == "same"
