"""ReLU, LeakyReLU, PReLU, ELU and Softmax (with mask) on torch, jax and tensorflow vs NumPy
formulas (and torch.nn.PReLU with mapped weights), vs Keras 3; structure vs Keras;
gradients across backends; OpenVINO vs the NumPy backend; bad arguments and masks."""
import numpy as np
import pytest

import unikeras as uk
from unikeras import layers, ops
from tests.conftest import to_backend
from tests.keras_oracle import run_layer_cases
from tests.layer_checks import (
    assert_gradients_agree, assert_openvino_matches_numpy, assert_structure_matches_keras,
    make_layer)

TOL = dict(rtol=1e-5, atol=1e-6)

# id: (layer, constructor arguments, input shape without the batch dim)
CASES = {
    "relu": ("ReLU", {}, (5,)),
    "relu_capped_leaky_threshold": ("ReLU", {"max_value": 1.2, "negative_slope": 0.1,
                                             "threshold": 0.4}, (3, 4)),
    "relu6": ("ReLU", {"max_value": 6.0}, (5,)),
    "relu_leaky": ("ReLU", {"negative_slope": 0.2}, (5,)),
    "leaky_relu": ("LeakyReLU", {}, (2, 3)),
    "leaky_relu_slope": ("LeakyReLU", {"negative_slope": 0.05}, (4,)),
    "elu": ("ELU", {}, (2, 3)),
    "elu_alpha": ("ELU", {"alpha": 0.5}, (4,)),
    "softmax": ("Softmax", {}, (6,)),
    "softmax_axis1": ("Softmax", {"axis": 1}, (3, 4)),
    "softmax_two_axes": ("Softmax", {"axis": (1, 2)}, (3, 4)),
    "softmax_masked": ("Softmax", {}, (2, 5)),
    "prelu": ("PReLU", {}, (4,)),
    "prelu_shared_spatial": ("PReLU", {"shared_axes": [1, 2]}, (3, 2, 4)),
    "prelu_rank3": ("PReLU", {"alpha_initializer": "ones"}, (3, 2)),
}
BATCH = 2
# The oracle's JSON turns a tuple axis into a list, which Keras's Softmax cannot take.
NOT_IN_KERAS = {"softmax_two_axes"}


def _np(x):
    return ops.convert_to_numpy(x)


def _mask(case, x):
    if case != "softmax_masked":
        return None
    mask = np.ones(x.shape, bool)
    mask[0, 0, 1:3] = False
    mask[1, 1, :] = False       # a fully masked row: all probabilities 0
    return mask


def _make(case, backend, weights=None, x=None):
    cls, config, _ = CASES[case]
    return make_layer(cls, config, backend, None if x is None else x.shape[1:], weights)


@pytest.fixture(scope="module")
def prepared():
    out = {}
    for i, case in enumerate(CASES):
        rng = np.random.default_rng(i)
        x = (2 * rng.standard_normal((BATCH,) + CASES[case][2])).astype("float32")
        weights = [rng.uniform(0.1, 0.9, w.shape).astype("float32")
                   for w in _make(case, "numpy", x=x).get_weights()]
        out[case] = (x, weights, _mask(case, x))
    return out


@pytest.fixture(scope="module")
def keras_results(prepared):
    names = [c for c in CASES if c not in NOT_IN_KERAS]
    cases = [{"layer": CASES[c][0], "config": CASES[c][1], "inputs": prepared[c][0],
              "weights": prepared[c][1] or None, "mask": prepared[c][2]} for c in names]
    return dict(zip(names, run_layer_cases(cases)))


def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def numpy_reference(case, x, weights, mask):
    cls, config, _ = CASES[case]
    if cls == "ReLU":
        t, slope, cap = config.get("threshold", 0.0), config.get("negative_slope", 0.0), config.get("max_value")
        return np.where(x > t, x if cap is None else np.minimum(x, cap), slope * (x - t))
    if cls == "LeakyReLU":
        return np.where(x >= 0, x, config.get("negative_slope", 0.3) * x)
    if cls == "ELU":
        return np.where(x > 0, x, config.get("alpha", 1.0) * np.expm1(x))
    if cls == "PReLU":
        return np.where(x >= 0, x, weights[0] * x)
    axis = config.get("axis", -1)
    if mask is not None:
        exp = np.exp(x - x.max(axis=axis, keepdims=True)) * mask
        total = exp.sum(axis=axis, keepdims=True)
        return np.divide(exp, total, out=np.zeros_like(exp), where=total > 0)
    return _softmax(x, axis)


def _call(layer, x, mask, backend):
    kwargs = {} if mask is None else {"mask": to_backend(mask, backend)}
    with ops.backend_scope(backend):
        return _np(layer(to_backend(x, backend), **kwargs))


# --- values --------------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES)
def test_values_match_numpy_and_keras(case, backend, prepared, keras_results):
    x, weights, mask = prepared[case]
    got = _call(_make(case, backend, weights, x), x, mask, backend)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, numpy_reference(case, x, weights, mask), **TOL)
    if case not in NOT_IN_KERAS:
        keras = keras_results[case]
        assert "error" not in keras, keras
        np.testing.assert_allclose(got, keras["outputs"], **TOL)


def test_prelu_matches_torch_nn_prelu(prepared):
    torch = pytest.importorskip("torch")
    for case in ("prelu", "prelu_shared_spatial"):
        x, (alpha,), _ = prepared[case]
        native = torch.nn.PReLU(num_parameters=alpha.shape[-1])
        with torch.no_grad():
            native.weight.copy_(torch.from_numpy(alpha.reshape(-1)))
        channels_first = torch.from_numpy(np.moveaxis(x, -1, 1).copy())
        expected = np.moveaxis(native(channels_first).detach().numpy(), 1, -1)
        got = _call(_make(case, "torch", [alpha], x), x, None, "torch")
        np.testing.assert_allclose(got, expected, **TOL)


# --- structure vs Keras -------------------------------------------------------------------
@pytest.mark.parametrize("case", [c for c in CASES if c not in NOT_IN_KERAS])
def test_structure_matches_keras(case, prepared, keras_results):
    x, weights, mask = prepared[case]
    keras = keras_results[case]
    layer = _make(case, "numpy", weights, x)
    assert_structure_matches_keras(layer, keras)
    with ops.backend_scope("numpy"):
        eager = tuple(layer(x).shape)
    assert layer.compute_output_shape(x.shape) == eager == tuple(keras["output_shape"])
    symbolic = layer(uk.Input(x.shape[1:]))
    assert symbolic.shape == (None,) + eager[1:] and symbolic.dtype == "float32"
    assert layer.supports_masking


@pytest.mark.parametrize("case", ["relu_capped_leaky_threshold", "leaky_relu", "elu_alpha",
                                  "softmax_two_axes", "prelu", "prelu_shared_spatial"])
def test_gradients_agree_across_backends(case, prepared):
    x, weights, _ = prepared[case]
    assert_gradients_agree(lambda b: _make(case, b, weights, x), x, weights)


@pytest.mark.parametrize("case", CASES)
def test_openvino_graph_matches_numpy_backend(case, prepared):
    x, weights, mask = prepared[case]
    with ops.backend_scope("numpy"):
        layer = _make(case, "numpy", weights, x)
        inputs = uk.Input(x.shape[1:])
        if mask is None:
            model, batches = uk.Model(inputs, layer(inputs)), [x, np.concatenate([x, -x])]
        else:
            mask_in = uk.Input(x.shape[1:], dtype="bool")
            model = uk.Model([inputs, mask_in], layer(inputs, mask=mask_in))
            batches = [(x, mask), (np.concatenate([x, x]), np.concatenate([mask, ~mask]))]
    assert_openvino_matches_numpy(model, batches)


# --- masks through models and bad arguments -------------------------------------------------
class SqueezeLast(uk.Layer):
    """(batch, steps, 1) -> (batch, steps), passing the (batch, steps) mask on."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, x):
        return ops.squeeze(x, axis=-1)


def test_softmax_takes_the_graph_mask(backend):
    ids = np.array([[1, 2, 0], [3, 0, 0]], "int32")
    with ops.backend_scope(backend):
        model = uk.Sequential([uk.Input((3,), dtype="int32"), layers.Embedding(4, 1, mask_zero=True),
                               SqueezeLast(), layers.Softmax()])
        out = _np(model(to_backend(ids, backend)))
    logits = model.layers[0].get_weights()[0][ids][..., 0]
    np.testing.assert_allclose(out, numpy_reference("softmax_masked", logits, [], ids != 0), **TOL)
    assert np.all(out[ids == 0] == 0)


@pytest.mark.parametrize("cls,kwargs,match", [
    ("ReLU", {"max_value": -1.0}, r"ReLU 'bad'.*max_value.*-1.0"),
    ("ReLU", {"negative_slope": -0.1}, r"ReLU 'bad'.*negative_slope.*-0.1"),
    ("ReLU", {"threshold": None}, r"ReLU 'bad'.*threshold.*None"),
    ("LeakyReLU", {"negative_slope": -2}, r"LeakyReLU 'bad'.*negative_slope.*-2"),
])
def test_bad_arguments_name_the_layer(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        getattr(layers, cls)(name="bad", **kwargs)


def test_wrong_shaped_mask_and_bad_shared_axes(backend):
    with ops.backend_scope(backend):
        x = to_backend(np.zeros((2, 3, 4), "float32"), backend)
        with pytest.raises(ValueError, match=r"Softmax 'sm'.*mask of shape \(2, 5\).*\(2, 3, 4\)"):
            layers.Softmax(name="sm")(x, mask=to_backend(np.ones((2, 5), bool), backend))
        with pytest.raises(ValueError, match=r"PReLU 'pr'.*shared axis 3.*\(2, 3, 4\)"):
            layers.PReLU(shared_axes=3, name="pr")(x)


def test_leaky_relu_legacy_alpha_and_weight_free_layers():
    assert layers.LeakyReLU(alpha=0.1).negative_slope == 0.1
    assert all(getattr(layers, c)().weights == [] for c in ("ReLU", "LeakyReLU", "ELU", "Softmax"))
