"""Pooling layers on torch, jax and tensorflow vs torch.nn.functional pools (float64) and vs
Keras 3; structure (config, shapes with None dims) vs Keras; gradients across backends;
OpenVINO graphs vs the NumPy backend; masks of GlobalAveragePooling1D; bad input."""
import math

import numpy as np
import pytest

import unikeras as uk
from unikeras import layers, ops
from unikeras.common.layers.pooling import BasePooling
from tests.conftest import FRAMEWORKS, to_backend
from tests.keras_oracle import run_layer_cases
from tests.layer_checks import backend_gradients

torch = pytest.importorskip("torch")
F = torch.nn.functional

TOL = dict(rtol=1e-5, atol=1e-6)

# id: (layer class, constructor arguments, input shape without the batch dim)
CASES = {
    "max1d": ("MaxPooling1D", {}, (9, 3)),
    "max1d_same_cf": ("MaxPooling1D", {"pool_size": 3, "strides": 2, "padding": "same",
                                       "data_format": "channels_first"}, (3, 8)),
    "max2d_same_rect": ("MaxPooling2D", {"pool_size": (2, 3), "strides": (1, 2),
                                         "padding": "same"}, (5, 7, 2)),
    "max2d_cf": ("MaxPooling2D", {"data_format": "channels_first"}, (2, 6, 7)),
    "max3d_overlapping": ("MaxPooling3D", {"pool_size": 2, "strides": 1}, (3, 4, 3, 2)),
    "max3d_same": ("MaxPooling3D", {"pool_size": 3, "strides": 2, "padding": "same"},
                   (4, 5, 4, 2)),
    "avg1d_same": ("AveragePooling1D", {"pool_size": 3, "strides": 1, "padding": "same"},
                   (7, 3)),
    "avg2d_same_asymmetric_cf": ("AveragePooling2D", {"pool_size": 3, "strides": 2,
                                                      "padding": "same",
                                                      "data_format": "channels_first"},
                                 (2, 8, 8)),
    "avg2d_rect": ("AveragePooling2D", {"pool_size": (2, 3)}, (6, 7, 3)),
    "avg3d_cf": ("AveragePooling3D", {"pool_size": 2, "data_format": "channels_first"},
                 (2, 4, 5, 4)),
    "avg3d_same": ("AveragePooling3D", {"pool_size": 2, "padding": "same"}, (3, 5, 3, 2)),
    "global_max1d": ("GlobalMaxPooling1D", {}, (7, 3)),
    "global_max2d_keepdims_cf": ("GlobalMaxPooling2D", {"data_format": "channels_first",
                                                        "keepdims": True}, (3, 5, 4)),
    "global_max3d": ("GlobalMaxPooling3D", {}, (3, 4, 2, 3)),
    "global_avg1d_cf": ("GlobalAveragePooling1D", {"data_format": "channels_first"}, (3, 7)),
    "global_avg2d_keepdims": ("GlobalAveragePooling2D", {"keepdims": True}, (5, 4, 3)),
    "global_avg3d_cf": ("GlobalAveragePooling3D", {"data_format": "channels_first"},
                        (2, 3, 4, 2)),
    "adaptive_avg1d": ("AdaptiveAveragePooling1D", {"output_size": 3}, (7, 2)),
    "adaptive_avg2d_cf": ("AdaptiveAveragePooling2D", {"output_size": (3, 2),
                                                       "data_format": "channels_first"},
                          (2, 7, 5)),
    "adaptive_avg3d": ("AdaptiveAveragePooling3D", {"output_size": 2}, (5, 3, 4, 2)),
    "adaptive_max1d_cf": ("AdaptiveMaxPooling1D", {"output_size": 4,
                                                   "data_format": "channels_first"}, (2, 10)),
    "adaptive_max2d": ("AdaptiveMaxPooling2D", {"output_size": (2, 3)}, (5, 7, 2)),
    "adaptive_max3d_cf": ("AdaptiveMaxPooling3D", {"output_size": (2, 3, 2),
                                                   "data_format": "channels_first"},
                          (2, 5, 6, 3)),
}
MASKED = {  # GlobalAveragePooling1D with a padding mask: (config, input shape, mask)
    "masked_cl": ({}, (5, 3), np.array([[1, 1, 1, 0, 0], [1, 0, 1, 1, 1]], bool)),
    "masked_cf_keepdims": ({"data_format": "channels_first", "keepdims": True}, (3, 5),
                           np.array([[0, 1, 1, 1, 1], [1, 1, 0, 0, 0]], bool)),
}
BATCH = 2


def _np(x):
    return ops.convert_to_numpy(x)


def _inputs(case):
    rng = np.random.default_rng(sorted(CASES).index(case))
    return rng.standard_normal((BATCH,) + CASES[case][2]).astype("float32")


def _masked_inputs(case):
    config, shape, mask = MASKED[case]
    return np.random.default_rng(len(case)).standard_normal((BATCH,) + shape).astype("float32")


def _make(case, **extra):
    cls, config, _ = CASES[case]
    return getattr(layers, cls)(**config, **extra)


@pytest.fixture(scope="module")
def keras_results():
    cases = [{"layer": CASES[c][0], "config": CASES[c][1], "inputs": _inputs(c)} for c in CASES]
    cases += [{"layer": "GlobalAveragePooling1D", "config": MASKED[c][0],
               "inputs": _masked_inputs(c), "mask": MASKED[c][2]} for c in MASKED]
    return dict(zip(list(CASES) + list(MASKED), run_layer_cases(cases)))


# --- the independent reference: torch.nn.functional in float64 ---------------------------
def _tf_same_pads(n, k, s):
    total = max((math.ceil(n / s) - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def _window_reference(kind, x, config, n):
    def tup(name, default):
        v = config.get(name, default)
        return (v,) * n if isinstance(v, int) else tuple(v)
    k = tup("pool_size", 2)
    s = k if config.get("strides") is None else tup("strides", None)
    pads = ([_tf_same_pads(x.shape[2 + i], k[i], s[i]) for i in range(n)]
            if config.get("padding") == "same" else [(0, 0)] * n)
    flat = [p for pair in reversed(pads) for p in pair]
    if kind == "Max":
        pool = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[n]
        return pool(F.pad(x, flat, value=-math.inf), k, s)
    pool = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}[n]
    counts = pool(F.pad(torch.ones_like(x), flat), k, s)   # padded cells do not count
    return pool(F.pad(x, flat), k, s) / counts


def torch_reference(case, x):
    cls, config, _ = CASES[case]
    n = x.ndim - 2
    channels_last = config.get("data_format", "channels_last") == "channels_last"
    xt = torch.from_numpy(np.moveaxis(x, -1, 1) if channels_last else x).double()
    spatial = tuple(range(2, n + 2))
    if cls.startswith("Global"):
        keepdims = config.get("keepdims", False)
        reduce = torch.amax if "Max" in cls else torch.mean
        out = reduce(xt, dim=spatial, keepdim=True)
        if not keepdims:
            return out.reshape(out.shape[:2]).numpy()
    elif cls.startswith("Adaptive"):
        size = config["output_size"]
        pools = ({1: F.adaptive_max_pool1d, 2: F.adaptive_max_pool2d, 3: F.adaptive_max_pool3d}
                 if "Max" in cls else
                 {1: F.adaptive_avg_pool1d, 2: F.adaptive_avg_pool2d, 3: F.adaptive_avg_pool3d})
        out = pools[n](xt, size)
    else:
        out = _window_reference("Max" if cls.startswith("Max") else "Avg", xt, config, n)
    out = out.numpy()
    return np.moveaxis(out, 1, -1) if channels_last else out


# --- values --------------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES)
def test_values_match_torch_functional_and_keras(case, backend, keras_results):
    x = _inputs(case)
    with ops.backend_scope(backend):
        got = _np(_make(case)(to_backend(x, backend)))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, torch_reference(case, x), **TOL)
    keras = keras_results[case]
    assert "error" not in keras, keras
    np.testing.assert_allclose(got, keras["outputs"], **TOL)


def _masked_mean(x, mask, config):
    channels_last = config.get("data_format", "channels_last") == "channels_last"
    steps = x if channels_last else np.moveaxis(x, 1, 2)
    out = np.stack([steps[b][mask[b]].astype("float64").mean(0) for b in range(len(x))])
    if config.get("keepdims"):
        out = out[:, None, :] if channels_last else out[:, :, None]
    return out


@pytest.mark.parametrize("case", MASKED)
def test_global_average_pooling1d_excludes_masked_steps(case, backend, keras_results):
    config, _, mask = MASKED[case]
    x = _masked_inputs(case)
    layer = layers.GlobalAveragePooling1D(**config)
    assert layer.supports_masking and layer.compute_mask(x, mask) is None
    with ops.backend_scope(backend):
        got = _np(layer(to_backend(x, backend), mask=to_backend(mask, backend)))
    np.testing.assert_allclose(got, _masked_mean(x, mask, config), **TOL)
    np.testing.assert_allclose(got, keras_results[case]["outputs"], **TOL)


def test_global_max_pooling1d_takes_no_mask_like_keras():
    layer = layers.GlobalMaxPooling1D()
    assert not layer.supports_masking
    with pytest.raises(TypeError, match="mask"):
        layer(np.zeros((1, 3, 2), "float32"), mask=np.ones((1, 3), bool))


def test_wrong_shaped_mask_names_layer_and_shapes(backend):
    layer = layers.GlobalAveragePooling1D(name="gap")
    with ops.backend_scope(backend):
        with pytest.raises(ValueError, match=r"GlobalAveragePooling1D 'gap'.*\(2, 5\).*\(2, 4\)"):
            layer(to_backend(np.zeros((2, 5, 3), "float32"), backend),
                  mask=to_backend(np.ones((2, 4), bool), backend))


# --- structure vs Keras -------------------------------------------------------------------
def _plain(value):
    return tuple(value) if isinstance(value, list) else value


@pytest.mark.parametrize("case", CASES)
def test_structure_matches_keras(case, keras_results):
    keras = keras_results[case]
    layer = _make(case)
    config = layer.get_config()
    assert list(config) == list(keras["config"])
    for key in ("pool_size", "strides", "padding", "data_format", "keepdims", "output_size"):
        if key in config:
            assert config[key] == _plain(keras["config"][key]), key
    assert type(layer).from_config(config).get_config() == config
    assert layer.weights == [] and layer.built
    x = _inputs(case)
    with ops.backend_scope("numpy"):
        eager = layer(x).shape
    assert _plain(keras["output_shape"]) == eager == layer.compute_output_shape(x.shape)
    symbolic = layer(uk.Input(x.shape[1:]))
    assert symbolic.shape == (None,) + eager[1:] and symbolic.dtype == "float32"


@pytest.mark.parametrize("case", CASES)
def test_none_spatial_dims(case):
    layer = _make(case)
    channels_last = layer.data_format == "channels_last"
    channels = CASES[case][2][-1 if channels_last else 0]
    spatial = (None,) * layer.rank
    out = layer(uk.Input(spatial + (channels,) if channels_last else (channels,) + spatial))
    with ops.backend_scope("numpy"):
        expected = list(layer(_inputs(case)).shape)
    if isinstance(layer, BasePooling):   # windowed: unknown lengths stay unknown
        first = 1 if channels_last else 2
        expected[first:first + layer.rank] = spatial
    assert out.shape == (None,) + tuple(expected[1:])


def test_aliases_and_defaults():
    uk.utils.clear_session()
    assert layers.MaxPool2D is layers.MaxPooling2D and layers.AvgPool1D is layers.AveragePooling1D
    assert layers.GlobalAvgPool3D is layers.GlobalAveragePooling3D
    assert layers.GlobalMaxPool1D is layers.GlobalMaxPooling1D
    pool = layers.MaxPooling3D()
    assert pool.pool_size == (2, 2, 2) and pool.strides == (2, 2, 2)
    assert pool.name == "max_pooling3d"
    assert layers.AveragePooling2D(3, padding="SAME").padding == "same"


# --- gradients across backends -----------------------------------------------------------
@pytest.mark.parametrize("case", CASES)
def test_gradients_agree_across_backends(case):
    if len(FRAMEWORKS) < 2:
        pytest.skip("needs two framework backends")
    x = _inputs(case)
    cotangent = np.random.default_rng(5).standard_normal(torch_reference(case, x).shape)
    cotangent = cotangent.astype("float32")
    grads = {b: backend_gradients(_make(case), b, x, [], cotangent)[0]
             for b in FRAMEWORKS}
    first = grads[FRAMEWORKS[0]]
    assert first.shape == x.shape and np.abs(first).sum() > 0
    for backend in FRAMEWORKS[1:]:
        np.testing.assert_allclose(grads[backend], first, **TOL)


# --- OpenVINO -----------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES)
def test_openvino_graph_matches_numpy_backend(case):
    pytest.importorskip("openvino")
    from unikeras.adapters import openvino as uov
    x = _inputs(case)
    model = uk.Sequential([uk.Input(CASES[case][2]), _make(case)])
    compiled = uov.compile(model)
    for batch in (x, np.concatenate([x, -x, 2 * x])):   # the batch dim is dynamic
        with ops.backend_scope("numpy"):
            expected = model(batch)
        np.testing.assert_allclose(compiled(batch), expected, **TOL)


# --- bad input ----------------------------------------------------------------------------
@pytest.mark.parametrize("make,shape,pattern", [
    (lambda: layers.MaxPooling2D(name="p"), (2, 4, 4), r"MaxPooling2D 'p'.*rank 4.*\(2, 4, 4\)"),
    (lambda: layers.AveragePooling1D(2, name="p"), (2, 4, 4, 1), r"AveragePooling1D 'p'.*rank 3"),
    (lambda: layers.GlobalMaxPooling3D(name="p"), (2, 4, 4, 1), r"GlobalMaxPooling3D 'p'.*rank 5"),
    (lambda: layers.AdaptiveAveragePooling2D(2, name="p"), (2, 4, 4),
     r"AdaptiveAveragePooling2D 'p'.*rank 4"),
])
def test_wrong_rank_names_layer_and_shape(make, shape, pattern, backend):
    with ops.backend_scope(backend):
        with pytest.raises(ValueError, match=pattern):
            make()(to_backend(np.zeros(shape, "float32"), backend))
    with pytest.raises(ValueError, match=pattern.split(".*")[0]):
        make()(uk.Input(shape[1:]))


@pytest.mark.parametrize("make,pattern", [
    (lambda: layers.MaxPooling1D(padding="causal", name="x"), r"MaxPooling1D 'x'.*'causal'"),
    (lambda: layers.AveragePooling2D(2, data_format="NCHW", name="x"),
     r"AveragePooling2D 'x'.*data_format.*'NCHW'"),
    (lambda: layers.GlobalAveragePooling2D(data_format="bad", name="x"), r"data_format.*'bad'"),
    (lambda: layers.MaxPooling2D((2, 2, 2), name="x"), r"pool_size.*2 ints.*\(2, 2, 2\)"),
    (lambda: layers.AveragePooling1D(0, name="x"), r"pool_size"),
    (lambda: layers.AdaptiveMaxPooling2D((2, 3, 4), name="x"),
     r"AdaptiveMaxPooling2D 'x'.*output_size.*\(2, 3, 4\)"),
])
def test_bad_arguments_are_value_errors(make, pattern):
    with pytest.raises(ValueError, match=pattern):
        make()
