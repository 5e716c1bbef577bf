"""Dropout (noise_shape), SpatialDropout1D/2D/3D, GaussianDropout, GaussianNoise,
AlphaDropout and ActivityRegularization: identity at inference, the right statistics in
training on torch, jax and tensorflow, the frameworks' own train/eval switches through the
adapters, compiled fit steps, structure vs Keras 3, OpenVINO graphs, bad arguments."""
import math

import numpy as np
import pytest

import unikeras as uk
from unikeras import layers, ops
from tests.conftest import FRAMEWORKS, to_backend
from tests.keras_oracle import run_layer_cases
from tests.layer_checks import assert_openvino_matches_numpy, assert_structure_matches_keras

# id: (layer, constructor arguments, input shape without the batch dim)
CASES = {
    "dropout_noise_shape": ("Dropout", {"rate": 0.3, "noise_shape": [None, 1, 5], "seed": 1}, (4, 5)),
    "spatial1d": ("SpatialDropout1D", {"rate": 0.4, "seed": 2}, (6, 3)),
    "spatial2d": ("SpatialDropout2D", {"rate": 0.5, "seed": 3}, (4, 4, 3)),
    "spatial2d_cf": ("SpatialDropout2D", {"rate": 0.5, "data_format": "channels_first", "seed": 4},
                     (3, 4, 4)),
    "spatial3d": ("SpatialDropout3D", {"rate": 0.25, "seed": 5}, (2, 3, 2, 3)),
    "gaussian_dropout": ("GaussianDropout", {"rate": 0.2, "seed": 6}, (5,)),
    "gaussian_noise": ("GaussianNoise", {"stddev": 0.3, "seed": 7}, (5,)),
    "alpha_dropout": ("AlphaDropout", {"rate": 0.2, "seed": 8}, (5,)),
    "alpha_dropout_noise_shape": ("AlphaDropout", {"rate": 0.3, "noise_shape": [None, 1, 4],
                                                   "seed": 9}, (3, 4)),
    "activity_regularization": ("ActivityRegularization", {"l1": 0.1, "l2": 0.2}, (5,)),
}
NOISE = [c for c in CASES if c != "activity_regularization"]


def _np(x):
    return ops.convert_to_numpy(x)


def _make(case, backend):
    cls, config, _ = CASES[case]
    with ops.backend_scope(backend):
        return getattr(layers, cls)(**config)


def _x(case, batch=2, seed=0):
    return np.random.default_rng(seed).standard_normal((batch,) + CASES[case][2]).astype("float32")


@pytest.fixture(scope="module")
def keras_results():
    cases = [{"layer": CASES[c][0], "config": CASES[c][1], "inputs": _x(c),
              "call_kwargs": {"training": False} if c in NOISE else {}} for c in CASES]
    return dict(zip(CASES, run_layer_cases(cases)))


# --- inference: the identity, as in Keras ----------------------------------------------------
@pytest.mark.parametrize("case", CASES)
def test_identity_at_inference_and_structure_matches_keras(case, backend, keras_results):
    x = _x(case)
    layer = _make(case, backend)
    with ops.backend_scope(backend):
        for kwargs in ({}, {"training": False}):
            np.testing.assert_array_equal(_np(layer(to_backend(x, backend), **kwargs)), x)
    keras = keras_results[case]
    assert "error" not in keras, keras
    np.testing.assert_array_equal(keras["outputs"], x)
    assert layer.weights == [] and keras["weight_shapes"] == []
    assert_structure_matches_keras(layer, keras)
    assert layer.compute_output_shape(x.shape) == x.shape == tuple(keras["output_shape"])
    assert layer(uk.Input(x.shape[1:])).shape == (None,) + x.shape[1:]
    assert layer.supports_masking


# --- training: statistics --------------------------------------------------------------------
def _train(case, backend, x):
    layer = _make(case, backend)
    with ops.backend_scope(backend):
        xt = to_backend(x, backend)
        return _np(layer(xt, training=True)), _np(layer(xt, training=True))


def _assert_shared_pattern(out, x, rate, shared_axes):
    """Each kept/dropped draw covers `shared_axes` entirely; about `rate` is dropped."""
    scale = out / x
    kept = np.isclose(scale, 1 / (1 - rate), rtol=1e-5)
    assert np.all(kept | (scale == 0))
    assert np.all(kept == kept.take([0], axis=shared_axes[0]))
    for axis in shared_axes[1:]:
        assert np.all(kept == kept.take([0], axis=axis))
    assert abs(1 - kept.mean() - rate) < 0.05


@pytest.mark.parametrize("case,shared_axes", [
    ("dropout_noise_shape", (1,)), ("spatial1d", (1,)), ("spatial2d", (1, 2)),
    ("spatial2d_cf", (2, 3)), ("spatial3d", (1, 2, 3))])
def test_dropout_patterns_are_shared_along_the_noise_axes(case, shared_axes, backend):
    x = np.abs(_x(case, batch=300)) + 0.5
    out, again = _train(case, backend, x)
    _assert_shared_pattern(out, x, CASES[case][1]["rate"], shared_axes)
    assert not np.array_equal(out, again), "the seed generator must advance"


def test_gaussian_layers_keep_the_mean_and_set_the_variance(backend):
    ones = np.ones((400, 250), "float32")
    rate = 0.2
    out = _np(_call_training(layers.GaussianDropout(rate, seed=1), ones, backend))
    assert abs(out.mean() - 1) < 0.01 and abs(out.var() - rate / (1 - rate)) < 0.01
    noise = _np(_call_training(layers.GaussianNoise(0.3, seed=2), ones, backend)) - 1
    assert abs(noise.mean()) < 0.005 and abs(noise.std() - 0.3) < 0.005


def test_alpha_dropout_keeps_selu_statistics(backend):
    x = np.random.default_rng(0).standard_normal((400, 250)).astype("float32")
    rate = 0.2
    out = _np(_call_training(layers.AlphaDropout(rate, seed=3), x, backend))
    assert abs(out.mean()) < 0.01 and abs(out.var() - 1) < 0.02
    saturated = -1.6732632423543772 * 1.0507009873554805
    a = ((1 - rate) * (1 + rate * saturated ** 2)) ** -0.5
    dropped = np.isclose(out, a * saturated - a * saturated * rate, rtol=1e-5)
    assert abs(dropped.mean() - rate) < 0.01
    np.testing.assert_allclose(out[~dropped], a * x[~dropped] - a * saturated * rate, rtol=1e-4,
                               atol=1e-5)


def test_alpha_dropout_noise_shape_is_shared(backend):
    x = _x("alpha_dropout_noise_shape", batch=300)
    out, _ = _train("alpha_dropout_noise_shape", backend, x)
    rate = 0.3
    saturated = -1.6732632423543772 * 1.0507009873554805
    a = ((1 - rate) * (1 + rate * saturated ** 2)) ** -0.5
    dropped = np.isclose(out, a * saturated * (1 - rate), rtol=1e-5)
    assert np.all(dropped == dropped[:, :1]) and abs(dropped.mean() - rate) < 0.05


def _call_training(layer, x, backend):
    with ops.backend_scope(backend):
        return layer(to_backend(x, backend), training=True)


def test_same_seed_same_noise_and_gradient_follows_the_noise(backend):
    """Two layers with one seed draw the same noise; d sum(out) / dx is the noise's scale."""
    x = np.ones((3, 4), "float32")
    for cls, kwargs in (("Dropout", {"rate": 0.5}), ("GaussianDropout", {"rate": 0.3}),
                        ("GaussianNoise", {"stddev": 0.2}), ("AlphaDropout", {"rate": 0.4})):
        first = _np(_call_training(getattr(layers, cls)(seed=11, **kwargs), x, backend))
        second = _np(_call_training(getattr(layers, cls)(seed=11, **kwargs), x, backend))
        np.testing.assert_array_equal(first, second, err_msg=cls)
    layer = layers.GaussianDropout(0.3, seed=5)
    grad, out = _grad_of_sum(layer, x, backend)
    np.testing.assert_allclose(grad, out, rtol=1e-6)   # out = x * noise with x = 1


def _grad_of_sum(layer, x, backend):
    if backend == "torch":
        import torch
        xt = torch.tensor(x, requires_grad=True)
        with ops.backend_scope("torch"):
            out = layer(xt, training=True)
        out.sum().backward()
        return xt.grad.numpy(), out.detach().numpy()
    if backend == "jax":
        import jax
        with ops.backend_scope("jax"):
            out, vjp = jax.vjp(lambda t: layer.stateless_call([], [layer.non_trainable_variables[0].value],
                                                               t, training=True)[0], x)
        return np.asarray(vjp(np.ones_like(x))[0]), np.asarray(out)
    import tensorflow as tf
    xt = tf.Variable(x)
    with tf.GradientTape() as tape, ops.backend_scope("tensorflow"):
        out = layer(xt, training=True)
        total = tf.reduce_sum(out)
    return tape.gradient(total, xt).numpy(), out.numpy()


# --- adapters: each framework's own train / eval switch --------------------------------------
def _noise_model(backend):
    with ops.backend_scope(backend):
        return uk.Sequential([uk.Input((6, 4)), layers.GaussianNoise(0.5, seed=1),
                              layers.SpatialDropout1D(0.5, seed=2), layers.GaussianDropout(0.3, seed=3),
                              layers.AlphaDropout(0.3, seed=4), layers.Dropout(0.4, seed=5)])


def test_adapters_follow_native_training_switches():
    x = np.random.default_rng(1).standard_normal((8, 6, 4)).astype("float32")
    checked = 0
    if "torch" in FRAMEWORKS:
        import torch
        from unikeras.adapters.torch_nn import to_torch
        module = to_torch(_noise_model("torch"))
        np.testing.assert_array_equal(module.eval()(torch.from_numpy(x)).numpy(), x)
        assert not np.allclose(module.train()(torch.from_numpy(x)).detach().numpy(), x)
        checked += 1
    if "jax" in FRAMEWORKS:
        from flax import nnx
        from unikeras.adapters.flax import to_flax
        module = to_flax(_noise_model("jax"))
        step = nnx.jit(lambda m, t: m(t))
        module.eval()
        np.testing.assert_array_equal(np.asarray(step(module, x)), x)
        module.train()
        first, second = np.asarray(step(module, x)), np.asarray(step(module, x))
        assert not np.allclose(first, x) and not np.allclose(first, second)
        checked += 1
    if "tensorflow" in FRAMEWORKS:
        import tensorflow as tf
        from unikeras.adapters.tf_module import to_tf
        module = to_tf(_noise_model("tensorflow"))
        run = tf.function(lambda t, training: module(t, training=training))
        np.testing.assert_array_equal(run(tf.constant(x), False).numpy(), x)
        assert not np.allclose(run(tf.constant(x), True).numpy(), x)
        checked += 1
    assert checked == len(FRAMEWORKS)


@pytest.mark.parametrize("backend_name", FRAMEWORKS)
def test_noise_layers_inside_compiled_fit(backend_name):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((32, 6, 4)).astype("float32")
    y = rng.standard_normal((32, 1)).astype("float32")
    with ops.backend_scope(backend_name):
        model = _noise_model(backend_name)
        model.add(layers.Flatten())
        model.add(layers.Dense(1))
    model.compile(optimizer=uk.optimizers.SGD(learning_rate=0.01), loss="mse")
    history = model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert all(math.isfinite(v) for v in history.history["loss"])
    kernel, bias = model.layers[-1].get_weights()
    np.testing.assert_allclose(model.predict(x, verbose=0), x.reshape(32, -1) @ kernel + bias,
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case", CASES)
def test_openvino_inference_graph_is_the_identity(case):
    x = _x(case)
    with ops.backend_scope("numpy"):
        model = uk.Sequential([uk.Input(x.shape[1:]), _make(case, "numpy")])
    assert_openvino_matches_numpy(model, [x, np.concatenate([x, x, -x])])


# --- bad arguments -------------------------------------------------------------------------
@pytest.mark.parametrize("make,match", [
    (lambda: layers.Dropout(1.5, name="bad"), r"Dropout 'bad'.*1.5"),
    (lambda: layers.GaussianDropout(1.0, name="bad"), r"GaussianDropout 'bad'.*\[0, 1\).*1.0"),
    (lambda: layers.GaussianNoise(2.0, name="bad"), r"GaussianNoise 'bad'.*stddev.*2.0"),
    (lambda: layers.AlphaDropout(-0.1, name="bad"), r"AlphaDropout 'bad'.*-0.1"),
    (lambda: layers.SpatialDropout2D(0.5, data_format="nchw", name="bad"),
     r"SpatialDropout2D 'bad'.*data_format.*'nchw'"),
])
def test_bad_arguments_name_the_layer(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_wrong_rank_and_noise_shape_name_the_layer(backend):
    with pytest.raises(ValueError, match=r"'sd2'.*rank 4.*\(None, 5, 3\)"):
        layers.SpatialDropout2D(0.5, name="sd2")(uk.Input((5, 3)))
    with ops.backend_scope(backend):
        x = to_backend(np.ones((2, 5, 3), "float32"), backend)
        with pytest.raises(ValueError, match=r"SpatialDropout3D 'sd3'.*rank 5.*\(2, 5, 3\)"):
            layers.SpatialDropout3D(0.5, name="sd3")(x, training=True)
        with pytest.raises(ValueError, match=r"Dropout 'dn'.*noise_shape \(None, 1\).*\(2, 5, 3\)"):
            layers.Dropout(0.5, noise_shape=(None, 1), name="dn")(x, training=True)
