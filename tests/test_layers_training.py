"""Real training with the layer catalog: a small CNN and an LSTM classifier learn
scikit-learn's digits with `model.fit` on torch, jax and tensorflow and land in the same
accuracy band (as 8x8x1 images, and as 8 steps of 8 features)."""
import numpy as np
import pytest

import unikeras as uk
from unikeras import layers, ops
from tests.conftest import FRAMEWORKS

sklearn = pytest.importorskip("sklearn.datasets")


@pytest.fixture(scope="module")
def digits():
    data = sklearn.load_digits()
    x = (data.data / 16.0).astype("float32")
    y = data.target.astype("int32")
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], y[order]
    return x[:1400], y[:1400], x[1400:], y[1400:]


def _cnn():
    return uk.Sequential([
        uk.Input((8, 8, 1)),
        layers.Conv2D(16, 3, padding="same", activation="relu"),
        layers.BatchNormalization(),
        layers.MaxPooling2D(2),
        layers.Conv2D(32, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dropout(0.2, seed=1),
        layers.Dense(10, activation="softmax"),
    ])


def _lstm():
    return uk.Sequential([uk.Input((8, 8)), layers.LSTM(32), layers.Dense(10, activation="softmax")])


@pytest.mark.parametrize("backend", FRAMEWORKS)
@pytest.mark.parametrize("kind", ["cnn", "lstm"])
def test_digits_train_to_the_same_accuracy_band(digits, backend, kind):
    x_train, y_train, x_test, y_test = digits
    shape = (-1, 8, 8, 1) if kind == "cnn" else (-1, 8, 8)
    uk.utils.set_random_seed(0)
    with ops.backend_scope(backend):
        model = _cnn() if kind == "cnn" else _lstm()
    model.compile(optimizer=uk.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x_train.reshape(shape), y_train, batch_size=32, epochs=8, verbose=0)
    loss, accuracy = model.evaluate(x_test.reshape(shape), y_test, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    # Chance is 10%; both models reach about 95% here on every backend.
    assert accuracy > 0.88, f"{kind} on {backend}: test accuracy {accuracy:.3f}"
    if kind == "cnn":
        bn = model.layers[1]
        moving_mean = bn.get_weights()[2]
        assert np.abs(moving_mean).max() > 0, "BatchNormalization's moving mean was updated by fit"
