"""Layer losses as in Keras 3: `add_loss`, weight regularization penalties, activity
regularizers (divided by the batch size), `model.losses`, and their place in the loss that
fit/evaluate minimize and report on every backend (inside jax.jit / tf.function steps)."""
import numpy as np
import pytest

import unikeras as uk
from unikeras import layers, ops
from tests.conftest import FRAMEWORKS, to_backend


def _np(x):
    return ops.convert_to_numpy(x)


def l2_penalty(factor):
    """An L2-like weight regularizer: a plain callable tensor -> scalar."""
    return lambda w: ops.multiply(factor, ops.sum(ops.square(w)))


class SumLoss(uk.Layer):
    """Adds sum(x) as a loss and returns x."""

    def call(self, x):
        self.add_loss(ops.sum(x))
        return x


class Twice(uk.Layer):
    """Calls one shared sublayer twice."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.inner = SumLoss()

    def call(self, x):
        return self.inner(self.inner(x) * 2.0)


def _floats(values):
    return [float(_np(v)) for v in values]


def test_add_loss_keeps_only_the_last_call(backend):
    layer = SumLoss()
    with ops.backend_scope(backend):
        layer(to_backend(np.ones(2, "float32"), backend))
        layer(to_backend(np.ones(3, "float32"), backend))
    assert _floats(layer.losses) == [3.0]


def test_shared_sublayer_losses_of_one_outer_call_all_count(backend):
    outer = Twice()
    with ops.backend_scope(backend):
        outer(to_backend(np.ones(2, "float32"), backend))
        assert _floats(outer.losses) == [2.0, 4.0]
        outer(to_backend(np.ones(1, "float32"), backend))
    assert _floats(outer.losses) == [1.0, 2.0]


def test_weight_and_activity_penalties_in_losses(backend, rng):
    x = rng.standard_normal((4, 3)).astype("float32")
    with ops.backend_scope(backend):
        dense = layers.Dense(2, kernel_regularizer=l2_penalty(0.5), bias_regularizer=l2_penalty(2.0),
                             bias_initializer="ones", activity_regularizer=uk.regularizers.L1(0.1))
        y = _np(dense(to_backend(x, backend)))
    kernel, bias = dense.get_weights()
    expected = [0.1 * np.abs(y).sum() / 4, 0.5 * (kernel ** 2).sum(), 2.0 * (bias ** 2).sum()]
    np.testing.assert_allclose(_floats(dense.losses), expected, rtol=1e-5)


def test_frozen_layers_have_no_weight_penalty():
    dense = layers.Dense(2, kernel_regularizer=l2_penalty(1.0))
    dense(uk.Input((3,)))
    assert len(dense.losses) == 1
    dense.trainable = False
    assert dense.losses == []


def test_activity_regularization_reaches_model_losses(backend, rng):
    x = rng.standard_normal((5, 3)).astype("float32")
    with ops.backend_scope(backend):
        model = uk.Sequential([uk.Input((3,)), layers.Dense(4, kernel_regularizer=l2_penalty(0.01)),
                               layers.ActivityRegularization(l1=0.2, l2=0.3)])
        y = _np(model(to_backend(x, backend)))
    kernel = model.layers[0].get_weights()[0]
    activity = (0.2 * np.abs(y).sum() + 0.3 * (y ** 2).sum()) / 5
    np.testing.assert_allclose(_floats(model.losses), [activity, 0.01 * (kernel ** 2).sum()],
                               rtol=1e-5)
    np.testing.assert_allclose(y, x @ kernel + model.layers[0].get_weights()[1], rtol=1e-5, atol=1e-6)


def _regularized_model(backend, factor=0.5, activity=0.0):
    with ops.backend_scope(backend):
        model = uk.Sequential([uk.Input((3,)),
                               layers.Dense(1, use_bias=False, kernel_regularizer=l2_penalty(factor)),
                               layers.ActivityRegularization(l2=activity)])
    model.layers[0].set_weights([np.array([[1.0], [-2.0], [0.5]], "float32")])
    return model


@pytest.mark.parametrize("backend_name", FRAMEWORKS)
def test_fit_loss_is_data_loss_plus_penalties(backend_name):
    """With learning rate 0 the reported loss is mse + l2 penalty + activity penalty, all
    computed here in NumPy; evaluate reports the same (Keras adds them there too)."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((8, 3)).astype("float32")
    y = rng.standard_normal((8, 1)).astype("float32")
    model = _regularized_model(backend_name, factor=0.5, activity=0.25)
    model.compile(optimizer=uk.optimizers.SGD(learning_rate=0.0), loss="mse")
    history = model.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    w = np.array([[1.0], [-2.0], [0.5]], "float32")
    pred = x @ w
    expected = np.mean((pred - y) ** 2) + 0.5 * (w ** 2).sum() + 0.25 * (pred ** 2).sum() / 8
    np.testing.assert_allclose(history.history["loss"][0], expected, rtol=1e-5)
    np.testing.assert_allclose(model.evaluate(x, y, batch_size=8, verbose=0), expected, rtol=1e-5)


@pytest.mark.parametrize("backend_name", FRAMEWORKS)
def test_penalty_gradient_flows_inside_compiled_step(backend_name):
    """One SGD step: w <- w - lr * (d mse / dw + 2 * factor * w), checked in NumPy."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((8, 3)).astype("float32")
    y = rng.standard_normal((8, 1)).astype("float32")
    model = _regularized_model(backend_name, factor=0.5)
    model.compile(optimizer=uk.optimizers.SGD(learning_rate=0.1), loss="mse")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    w = np.array([[1.0], [-2.0], [0.5]])
    grad = 2 * x.T.astype("float64") @ (x @ w - y) / 8 + 2 * 0.5 * w
    np.testing.assert_allclose(model.layers[0].get_weights()[0], w - 0.1 * grad, rtol=1e-5)
    assert [float(_np(v)) for v in model.losses] == pytest.approx(
        [0.5 * float((model.layers[0].get_weights()[0] ** 2).sum())], rel=1e-5)


def test_stateless_call_returns_losses_under_jax_jit():
    jax = pytest.importorskip("jax")
    x = np.ones((2, 3), "float32")
    with ops.backend_scope("jax"):
        model = uk.Sequential([uk.Input((3,)), layers.Dense(2, kernel_regularizer=l2_penalty(1.0),
                                                            use_bias=False),
                               layers.ActivityRegularization(l1=1.0)])

    def penalty(kernel):
        _, _, losses = model.stateless_call([kernel], [], x, return_losses=True)
        return sum(losses)

    kernel = np.asarray(model.layers[0].get_weights()[0])
    value, grad = jax.jit(jax.value_and_grad(penalty))(kernel)
    y = x @ kernel
    np.testing.assert_allclose(float(value), np.abs(y).sum() / 2 + (kernel ** 2).sum(), rtol=1e-5)
    expected_grad = x.T @ np.sign(y) / 2 + 2 * kernel
    np.testing.assert_allclose(np.asarray(grad), expected_grad, rtol=1e-5)
    assert all(not isinstance(v, jax.core.Tracer) for v in model.losses)
