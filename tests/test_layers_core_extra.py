"""EinsumDense, Identity, Lambda, Masking, Wrapper, Embedding and ReversibleEmbedding on
torch, jax and tensorflow vs NumPy (and torch.nn.Embedding), vs Keras 3 with the same
weights; structure vs Keras; gradients across backends; OpenVINO vs the NumPy backend."""
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
ACTIVATIONS = {None: lambda x: x, "relu": lambda x: np.maximum(x, 0)}

# id: (layer, constructor arguments, input shape without the batch dim, input kind, call kwargs)
CASES = {
    "einsum_matmul_relu": ("EinsumDense", {"equation": "ab,bc->ac", "output_shape": 4,
                                           "bias_axes": "c", "activation": "relu"},
                           (3,), "float", {}),
    "einsum_rank3_bias2": ("EinsumDense", {"equation": "abc,cde->abde",
                                           "output_shape": [None, 4, 5], "bias_axes": "de"},
                           (3, 6), "float", {}),
    "einsum_left_ellipsis": ("EinsumDense", {"equation": "...b,bc->...c", "output_shape": 3},
                             (2, 4), "float", {}),
    "einsum_right_ellipsis": ("EinsumDense", {"equation": "ab...,bc->ac...", "output_shape": 4,
                                              "bias_axes": "c"}, (3, 5), "float", {}),
    "identity": ("Identity", {}, (3, 2), "float", {}),
    "masking": ("Masking", {"mask_value": 0.5}, (4, 3), "masked", {}),
    "embedding": ("Embedding", {"input_dim": 7, "output_dim": 3}, (5,), "ids", {}),
    "embedding_mask_zero": ("Embedding", {"input_dim": 7, "output_dim": 3, "mask_zero": True},
                            (5,), "ids", {}),
    "reversible_forward": ("ReversibleEmbedding", {"input_dim": 7, "output_dim": 3}, (5,),
                           "ids", {}),
    "reversible_reverse_tied": ("ReversibleEmbedding", {"input_dim": 7, "output_dim": 3},
                                (4, 3), "float", {"reverse": True}),
    "reversible_reverse_untied_capped": ("ReversibleEmbedding", {
        "input_dim": 7, "output_dim": 3, "tie_weights": False, "logit_soft_cap": 0.5},
        (4, 3), "float", {"reverse": True}),
}
BATCH = 2


def _np(x):
    return ops.convert_to_numpy(x)


def _inputs(case, rng):
    _, config, shape, kind, _ = CASES[case]
    if kind == "ids":
        ids = rng.integers(0, config["input_dim"], (BATCH,) + shape).astype("int32")
        ids[0, -2:] = 0   # padding, for mask_zero
        return ids
    x = rng.standard_normal((BATCH,) + shape).astype("float32")
    if kind == "masked":
        x[0, 1] = 0.5
        x[1, 2:] = 0.5
    return x


def _make(case, backend, weights=None, x=None):
    cls, config, _, _, call_kwargs = CASES[case]
    if x is None:
        return make_layer(cls, config, backend, weights=weights)
    return make_layer(cls, config, backend, x.shape[1:], weights, str(x.dtype), **call_kwargs)


@pytest.fixture(scope="module")
def prepared():
    out = {}
    for i, case in enumerate(CASES):
        rng = np.random.default_rng(i)
        x = _inputs(case, rng)
        weights = [(0.5 * rng.standard_normal(w.shape)).astype("float32")
                   for w in _make(case, "numpy", x=x).get_weights()]
        out[case] = (x, weights)
    return out


@pytest.fixture(scope="module")
def keras_results(prepared):
    cases = [{"layer": CASES[c][0], "config": CASES[c][1], "inputs": prepared[c][0],
              "weights": prepared[c][1] or None, "call_kwargs": CASES[c][4]} for c in CASES]
    return dict(zip(CASES, run_layer_cases(cases)))


def numpy_reference(case, x, weights):
    cls, config, _, _, call_kwargs = CASES[case]
    if cls == "EinsumDense":
        out = np.einsum(config["equation"], x, weights[0])
        if len(weights) > 1:
            out = out + weights[1]
        return ACTIVATIONS[config.get("activation")](out)
    if cls == "Identity":
        return x
    if cls == "Masking":
        return x * np.any(x != config["mask_value"], axis=-1, keepdims=True)
    if not call_kwargs.get("reverse"):
        return weights[0][x]
    logits = x @ (weights[0].T if config.get("tie_weights", True) else weights[1])
    cap = config.get("logit_soft_cap")
    return logits if cap is None else cap * np.tanh(logits / cap)


# --- values --------------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES)
def test_values_match_numpy_and_keras(case, backend, prepared, keras_results):
    x, weights = prepared[case]
    layer = _make(case, backend, weights, x)
    with ops.backend_scope(backend):
        got = _np(layer(to_backend(x, backend), **CASES[case][4]))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, numpy_reference(case, x, weights), **TOL)
    keras = keras_results[case]
    assert "error" not in keras, keras
    np.testing.assert_allclose(got, keras["outputs"], **TOL)


def test_embedding_matches_torch_nn_embedding(prepared):
    torch = pytest.importorskip("torch")
    ids, (table,) = prepared["embedding"]
    native = torch.nn.Embedding(7, 3)
    with torch.no_grad():
        native.weight.copy_(torch.from_numpy(table))
    layer = _make("embedding", "torch", [table], ids)
    with ops.backend_scope("torch"):
        got = _np(layer(torch.from_numpy(ids.astype("int64"))))
    np.testing.assert_allclose(got, native(torch.from_numpy(ids.astype("int64"))).detach().numpy(),
                               rtol=1e-6)


def test_embedding_mask_casts_and_initial_weights(backend):
    ids = np.array([[3, 0, 1], [0, 0, 2]])
    table = np.arange(12, dtype="float32").reshape(4, 3)
    with ops.backend_scope(backend):
        layer = layers.Embedding(4, 3, mask_zero=True, weights=[table])
        out = _np(layer(to_backend(ids.astype("float32"), backend)))   # float ids are cast
        mask = _np(layer.compute_mask(to_backend(ids, backend)))
    np.testing.assert_array_equal(out, table[ids])
    np.testing.assert_array_equal(mask, ids != 0)
    assert layers.Embedding(4, 3).compute_mask(ids) is None


def test_masking_compute_mask(backend, prepared):
    x, _ = prepared["masking"]
    with ops.backend_scope(backend):
        mask = _np(layers.Masking(0.5).compute_mask(to_backend(x, backend)))
    np.testing.assert_array_equal(mask, np.any(x != 0.5, axis=-1))


# --- structure vs Keras -------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES)
def test_structure_matches_keras(case, prepared, keras_results):
    x, weights = prepared[case]
    keras = keras_results[case]
    call_kwargs = CASES[case][4]
    layer = _make(case, "numpy", weights, x)
    assert_structure_matches_keras(layer, keras)
    with ops.backend_scope("numpy"):
        eager = tuple(layer(x, **call_kwargs).shape)
    assert layer.compute_output_shape(x.shape, **call_kwargs) == eager
    if not call_kwargs:   # Keras's compute_output_shape leaves output_shape's Nones unfilled
        keras_shape = tuple(keras["output_shape"])
        assert len(keras_shape) == len(eager)
        assert all(k is None or k == e for k, e in zip(keras_shape, eager))
    symbolic = layer(uk.Input(x.shape[1:], dtype=str(x.dtype)), **call_kwargs)
    assert symbolic.shape == (None,) + eager[1:] and symbolic.dtype == "float32"


@pytest.mark.parametrize("case", [c for c in CASES if CASES[c][0] in ("EinsumDense", "Embedding",
                                                                       "ReversibleEmbedding")])
def test_gradients_agree_across_backends(case, prepared):
    x, weights = prepared[case]
    assert_gradients_agree(lambda b: _make(case, b, weights, x), x, weights, **CASES[case][4])


@pytest.mark.parametrize("case", CASES)
def test_openvino_graph_matches_numpy_backend(case, prepared):
    x, weights = prepared[case]
    with ops.backend_scope("numpy"):
        layer = _make(case, "numpy", weights, x)
        inputs = uk.Input(x.shape[1:], dtype=str(x.dtype))
        model = uk.Model(inputs, layer(inputs, **CASES[case][4]))
    assert_openvino_matches_numpy(model, [x, np.concatenate([x, x[:1]])])


# --- EinsumDense and Embedding errors -------------------------------------------------------
@pytest.mark.parametrize("kwargs,match", [
    ({"equation": "ab->b", "output_shape": 3}, r"EinsumDense 'ed'.*not of the form"),
    ({"equation": "abc,cd->abd", "output_shape": (None, 3), "bias_axes": "e"}, r"'ed'.*bias_axes 'e'"),
    ({"equation": "abc,cd->abd", "output_shape": (7, 2)}, r"'ed'.*7 for dimension 'b'.*\(None, 5, 4\)"),
    ({"equation": "abc,cd->abd", "output_shape": 2}, r"'ed'.*output_shape \(2,\) does not fit"),
])
def test_einsum_dense_bad_arguments_name_the_layer(kwargs, match):
    with pytest.raises(ValueError, match=match):
        layers.EinsumDense(name="ed", **kwargs)(uk.Input((5, 4)))


def test_einsum_dense_wrong_rank_and_embedding_bad_dims():
    with pytest.raises(ValueError, match=r"EinsumDense 'e2'.*rank 2.*\(None, 5, 4\)"):
        layers.EinsumDense("ab,bc->ac", 3, name="e2")(uk.Input((5, 4)))
    with pytest.raises(ValueError, match=r"Embedding 'emb'.*input_dim.*-1"):
        layers.Embedding(-1, 3, name="emb")


def test_einsum_dense_keeps_none_dims():
    layer = layers.EinsumDense("abc,cd->abd", output_shape=(None, 8), bias_axes="d")
    out = layer(uk.Input((None, 4)))
    assert out.shape == (None, None, 8) and layer.compute_output_shape((None, None, 4)) == out.shape
    assert [w.shape for w in layer.weights] == [(4, 8), (8,)]


# --- Lambda ---------------------------------------------------------------------------------
@uk.saving.register_keras_serializable(package="test_core_extra")
def scaled(x, factor=2.0):
    return ops.multiply(x, factor)


@uk.saving.register_keras_serializable(package="test_core_extra")
def any_feature_nonzero(inputs, mask):
    return ops.any(ops.not_equal(inputs, 0.0), axis=-1) if mask is None else mask


def test_lambda_values_arguments_and_symbolic_shapes(backend, rng):
    x = rng.standard_normal((3, 4)).astype("float32")
    with ops.backend_scope(backend):
        out = _np(layers.Lambda(scaled, arguments={"factor": 3.0})(to_backend(x, backend)))
        seen = {}

        def probe(t, mask=None, training=None):
            seen.update(mask=mask, training=training)
            return t
        layers.Lambda(probe)(to_backend(x, backend), training=True)
    np.testing.assert_allclose(out, 3.0 * x, rtol=1e-6)
    assert seen == {"mask": None, "training": True}
    assert layers.Lambda(scaled)(uk.Input((5, 2))).shape == (None, 5, 2)
    assert layers.Lambda(lambda t: t[:, :1], output_shape=(1,))(uk.Input((4,))).shape == (None, 1)
    assert layers.Lambda(scaled).compute_output_shape((None, 7)) == (None, 7)


def test_lambda_mask_function_and_openvino(rng):
    x = rng.standard_normal((2, 3, 4)).astype("float32")
    layer = layers.Lambda(scaled, mask=any_feature_nonzero)
    assert layer.supports_masking
    with ops.backend_scope("numpy"):
        np.testing.assert_array_equal(_np(layer.compute_mask(x, None)), np.any(x != 0, axis=-1))
        model = uk.Sequential([uk.Input((3, 4)), layer])
    assert_openvino_matches_numpy(model, [x])


def test_lambda_config_records_names_never_code():
    layer = layers.Lambda(scaled, output_shape=(3,), mask=any_feature_nonzero, arguments={"factor": 1.5})
    config = layer.get_config()
    assert config["function"] == {"module": "builtins", "class_name": "function",
                                  "config": "test_core_extra>scaled", "registered_name": "function"}
    assert config["mask"]["config"] == "test_core_extra>any_feature_nonzero"
    assert config["arguments"] == {"factor": 1.5} and config["output_shape"] == (3,)
    clone = layers.Lambda.from_config(config)
    assert clone.function is scaled and clone.mask is any_feature_nonzero
    assert clone.get_config() == config
    assert set(layers.Lambda(scaled).get_config()) == {"name", "trainable", "dtype", "function",
                                                       "arguments"}
    with pytest.raises(ValueError, match=r"Lambda 'anon'.*by name only.*register_keras_serializable"):
        layers.Lambda(lambda t: t, name="anon").get_config()


def test_lambda_from_config_refuses_bytecode():
    keras_style = {"name": "lambda", "trainable": True, "arguments": {},
                   "function": {"class_name": "__lambda__",
                                "config": {"code": "4wEAAAAA", "defaults": None, "closure": None}}}
    with pytest.raises(ValueError, match="bytecode.*refuses"):
        layers.Lambda.from_config(keras_style)
    unknown = dict(keras_style, function={"module": "builtins", "class_name": "function",
                                          "config": "nowhere", "registered_name": "function"})
    with pytest.raises(ValueError, match="unknown function 'nowhere'"):
        layers.Lambda.from_config(unknown)


# --- Wrapper --------------------------------------------------------------------------------
def test_wrapper_holds_and_builds_the_wrapped_layer():
    inner = layers.Dense(3, name="inner_dense")
    wrapper = layers.Wrapper(inner, name="wrap")
    wrapper.build((None, 4))
    assert inner.built and [w.path for w in wrapper.weights] == ["inner_dense/kernel", "inner_dense/bias"]
    assert wrapper.supports_masking == inner.supports_masking
    config = wrapper.get_config()
    assert config["layer"]["class_name"] == "Dense" and config["layer"]["config"]["units"] == 3
    clone = layers.Wrapper.from_config(config)
    assert isinstance(clone.layer, layers.Dense) and clone.layer.units == 3
    with pytest.raises(ValueError, match="Wrapper.*must be a Layer"):
        layers.Wrapper("dense")


def test_keras_wrappers_subclass_wrapper_and_keep_their_config_keys():
    # As in Keras 3.15: TimeDistributed and SpectralNormalization are Wrappers (config keys
    # dtype, layer, name, trainable, plus power_iterations), Bidirectional is a plain Layer.
    base = ["dtype", "layer", "name", "trainable"]
    for wrapper, extra in [(layers.TimeDistributed(layers.Dense(2)), []),
                           (layers.SpectralNormalization(layers.Dense(2)), ["power_iterations"])]:
        assert isinstance(wrapper, layers.Wrapper)
        assert sorted(wrapper.get_config()) == sorted(base + extra)
        assert isinstance(type(wrapper).from_config(wrapper.get_config()).layer, layers.Dense)
    assert not isinstance(layers.Bidirectional(layers.LSTM(2)), layers.Wrapper)


def test_models_of_these_layers_round_trip_through_json(rng):
    ids = rng.integers(0, 7, (2, 5)).astype("int32")
    with ops.backend_scope("numpy"):
        model = uk.Sequential([uk.Input((5,), dtype="int32"),
                               layers.ReversibleEmbedding(7, 4, mask_zero=True, name="emb"),
                               layers.Identity(), layers.Masking(0.0),
                               layers.EinsumDense("abc,cd->abd", (None, 3), bias_axes="d"),
                               layers.Lambda(scaled, arguments={"factor": 0.5})])
        clone = uk.saving.model_from_json(model.to_json())
        clone.set_weights(model.get_weights())
        np.testing.assert_allclose(_np(clone(ids)), _np(model(ids)), rtol=1e-6)
    assert [type(layer).__name__ for layer in clone.layers] == [
        "ReversibleEmbedding", "Identity", "Masking", "EinsumDense", "Lambda"]
