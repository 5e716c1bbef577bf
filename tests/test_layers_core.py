"""Core layers on every backend vs NumPy formulas, the native layer, and their specs."""
import numpy as np
import pytest

import unikeras as uk
from unikeras import layers, ops
from tests.conftest import to_backend


def _np(x):
    return ops.convert_to_numpy(x)


def test_dense_matches_numpy_formula(backend, rng):
    x = rng.standard_normal((4, 3)).astype("float32")
    with ops.backend_scope(backend):
        layer = layers.Dense(5, activation="relu")
        out = layer(to_backend(x, backend))
    kernel, bias = layer.get_weights()
    assert kernel.shape == (3, 5) and bias.shape == (5,)
    np.testing.assert_allclose(_np(out), np.maximum(x @ kernel + bias, 0), rtol=1e-5, atol=1e-6)
    assert [w.path for w in layer.weights] == [f"{layer.name}/kernel", f"{layer.name}/bias"]


def test_dense_matches_torch_linear(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((6, 4)).astype("float32")
    with ops.backend_scope("torch"):
        layer = layers.Dense(3)
        layer(to_backend(x, "torch"))
    native = torch.nn.Linear(4, 3)
    kernel, bias = layer.get_weights()
    with torch.no_grad():
        native.weight.copy_(torch.from_numpy(kernel.T))
        native.bias.copy_(torch.from_numpy(bias))
    expected = native(torch.from_numpy(x)).detach().numpy()
    with ops.backend_scope("torch"):
        np.testing.assert_allclose(_np(layer(torch.from_numpy(x))), expected, rtol=1e-5, atol=1e-6)


def test_dense_on_rank3_inputs(backend, rng):
    x = rng.standard_normal((2, 5, 3)).astype("float32")
    with ops.backend_scope(backend):
        layer = layers.Dense(4, use_bias=False)
        out = layer(to_backend(x, backend))
    assert len(layer.weights) == 1
    np.testing.assert_allclose(_np(out), x @ layer.get_weights()[0], rtol=1e-5, atol=1e-6)


def test_dense_symbolic_shape_and_dtype():
    out = layers.Dense(7)(uk.Input((None, 4)))
    assert out.shape == (None, None, 7) and out.dtype == "float32"


def test_dense_shape_mismatch_names_layer_and_shapes():
    layer = layers.Dense(3, name="head")
    layer(uk.Input((5,)))
    with pytest.raises(ValueError, match=r"head.*axis -1 of size 5.*\(None, 6\)"):
        layer(uk.Input((6,)))


def test_model_construction_mismatch_names_layer_and_shapes():
    bad = layers.Dense(2, name="dense_bad")
    bad(uk.Input((7,)))
    with pytest.raises(ValueError, match=r"'dense_bad'.*size 7.*\(None, 3\)"):
        uk.Sequential([uk.Input((4,)), layers.Dense(3), bad])
    x = uk.Input((4, 5))
    with pytest.raises(ValueError, match=r"'dense_bad'.*\(None, 4, 5\)"):
        uk.Model(x, bad(x))


def test_dense_rejects_bad_units():
    with pytest.raises(ValueError, match="units"):
        layers.Dense(0)


def test_dense_rank1_input_is_rejected():
    with pytest.raises(ValueError, match="rank >= 2"):
        layers.Dense(3)(uk.Input(batch_shape=(5,)))


@pytest.mark.parametrize("name,fn", [
    ("relu", lambda x: np.maximum(x, 0)), ("sigmoid", lambda x: 1 / (1 + np.exp(-x))),
    ("tanh", np.tanh), ("linear", lambda x: x),
    ("softmax", lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True)),
])
def test_activation_layer(backend, rng, name, fn):
    x = rng.standard_normal((3, 4)).astype("float32")
    out = layers.Activation(name)(to_backend(x, backend))
    np.testing.assert_allclose(_np(out), fn(x), rtol=1e-5, atol=1e-6)


def test_unknown_activation_is_value_error():
    with pytest.raises(ValueError, match="Unknown activation 'nope'"):
        layers.Activation("nope")


def test_dropout_training_and_inference(backend):
    x = np.ones((200, 50), "float32")
    with ops.backend_scope(backend):
        layer = layers.Dropout(0.4, seed=1)
        y_infer = _np(layer(to_backend(x, backend)))
        y_train = _np(layer(to_backend(x, backend), training=True))
        y_train2 = _np(layer(to_backend(x, backend), training=True))
    np.testing.assert_array_equal(y_infer, x)
    kept = y_train != 0
    assert 0.55 < kept.mean() < 0.65
    np.testing.assert_allclose(y_train[kept], 1 / 0.6, rtol=1e-6)
    assert not np.array_equal(y_train, y_train2), "seed generator must advance between calls"
    assert layer.weights == [] and len(layer.non_trainable_variables) == 1


def test_flatten(backend, rng):
    x = rng.standard_normal((2, 3, 4)).astype("float32")
    out = layers.Flatten()(to_backend(x, backend))
    np.testing.assert_array_equal(_np(out), x.reshape(2, 12))
    assert layers.Flatten()(uk.Input((3, 4))).shape == (None, 12)


def test_layer_names_are_unique_like_keras():
    uk.utils.clear_session()
    names = [layers.Dense(1).name for _ in range(3)]
    assert names == ["dense", "dense_1", "dense_2"]
    assert layers.Dense(1, name="mine").name == "mine"


def test_layer_config_round_trip():
    layer = layers.Dense(4, activation="tanh", use_bias=False, kernel_initializer="he_normal", name="d")
    config = layer.get_config()
    assert {"units", "activation", "use_bias", "kernel_initializer", "bias_initializer", "name",
            "trainable", "dtype"} <= set(config)
    clone = layers.Dense.from_config(config)
    assert clone.get_config() == config


def test_unexpected_kwarg_is_type_error():
    with pytest.raises(TypeError, match="Dense: unexpected keyword arguments \\['unitz'\\]"):
        layers.Dense(3, unitz=4)


def test_custom_layer_with_training_propagation(backend):
    class Block(uk.Layer):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.drop = layers.Dropout(0.9, seed=0)
            self.dense = layers.Dense(2, kernel_initializer="ones")

        def call(self, x):
            return self.dense(self.drop(x))

    block = Block()
    x = to_backend(np.ones((4, 3), "float32"), backend)
    with ops.backend_scope(backend):
        infer = _np(block(x))
        train = _np(block(x, training=True))
    np.testing.assert_allclose(infer, np.full((4, 2), 3.0))
    assert not np.allclose(train, infer)
    assert [v.name for v in block.trainable_weights] == ["kernel", "bias"]
    assert len(block.non_trainable_variables) == 1


def test_trainable_flag_moves_weights():
    layer = layers.Dense(2)
    layer(uk.Input((3,)))
    layer.trainable = False
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 2


def test_set_weights_validates_shapes():
    layer = layers.Dense(2, name="dz")
    layer(uk.Input((3,)))
    with pytest.raises(ValueError, match="dz/kernel has shape \\(3, 2\\)"):
        layer.set_weights([np.zeros((2, 2)), np.zeros(2)])
    with pytest.raises(ValueError, match="got 1 arrays, expected 2"):
        layer.set_weights([np.zeros((3, 2))])


def test_stateless_call_leaves_storage_untouched(backend, rng):
    x = to_backend(rng.standard_normal((2, 3)).astype("float32"), backend)
    with ops.backend_scope(backend):
        layer = layers.Dense(2)
        layer(x)
        before = layer.get_weights()
        zeros = [ops.zeros(v.shape) for v in layer.trainable_variables]
        out, new_nt = layer.stateless_call(zeros, [], x)
    np.testing.assert_array_equal(_np(out), np.zeros((2, 2)))
    assert new_nt == []
    for a, b in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(a, b)
