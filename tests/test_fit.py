"""compile / fit / evaluate / predict on every backend: learning, equivalence, callbacks."""
import numpy as np
import pytest

import unikeras as uk
from unikeras import layers, ops
from tests.conftest import FRAMEWORKS


def _data(n=256, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 6)).astype("float32")
    y = (x[:, :3].sum(1) > 0).astype("int32") + 2 * (x[:, 3] > 0.5).astype("int32")
    return x, y


def _model(backend, seed=0):
    uk.utils.set_random_seed(seed)
    with ops.backend_scope(backend):
        return uk.Sequential([uk.Input((6,)), layers.Dense(16, activation="relu"),
                              layers.Dense(4, activation="softmax")])


def test_fit_learns_and_reports_history(backend):
    x, y = _data()
    model = _model(backend)
    model.compile(optimizer=uk.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, batch_size=32, epochs=15, validation_split=0.25, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(history.history["loss"]) == 15 and history.epoch == list(range(15))
    assert history.history["loss"][-1] < 0.6 * history.history["loss"][0]
    loss, acc = model.evaluate(x, y, verbose=0)
    assert acc > 0.85
    probs = model.predict(x, batch_size=50, verbose=0)
    assert isinstance(probs, np.ndarray) and probs.shape == (256, 4)
    np.testing.assert_allclose(probs.sum(1), 1, rtol=1e-5)
    assert np.mean(probs.argmax(1) == y) == pytest.approx(acc, abs=1e-6)


def test_evaluate_matches_numpy_loss(backend):
    x, y = _data(64)
    model = _model(backend)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    logs = model.evaluate(x, y, batch_size=64, verbose=0, return_dict=True)
    k1, b1, k2, b2 = model.get_weights()
    h = np.maximum(x @ k1 + b1, 0) @ k2 + b2
    p = np.exp(h - h.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    expected = -np.mean(np.log(np.clip(p[np.arange(64), y], 1e-7, 1)))
    assert logs["loss"] == pytest.approx(expected, rel=1e-5)
    assert logs["accuracy"] == pytest.approx(np.mean(p.argmax(1) == y))


def _sgd_weights_after_10_steps(backend, weights):
    x, y = _data(160, seed=1)
    model = _model(backend)
    model.set_weights(weights)
    model.compile(optimizer=uk.optimizers.SGD(0.1, momentum=0.9), loss="sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    return model.get_weights()


def test_same_weights_same_fit_results_across_backends():
    if len(FRAMEWORKS) < 2:
        pytest.skip("needs two frameworks")
    weights = _model("numpy").get_weights()
    results = {b: _sgd_weights_after_10_steps(b, weights) for b in FRAMEWORKS}
    first = results[FRAMEWORKS[0]]
    for backend, result in results.items():
        assert not np.allclose(result[0], weights[0]), "weights must have moved"
        for a, b in zip(first, result):
            np.testing.assert_allclose(b, a, atol=1e-4, err_msg=f"{backend} differs")


def test_sgd_fit_matches_numpy_reimplementation(backend):
    """Two full-batch SGD steps on MSE, computed by hand in NumPy."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((8, 3)).astype("float32")
    y = rng.standard_normal((8, 2)).astype("float32")
    with ops.backend_scope(backend):
        model = uk.Sequential([uk.Input((3,)), layers.Dense(2)])
    k, b = [w.astype("float64") for w in model.get_weights()]
    model.compile(optimizer=uk.optimizers.SGD(0.05), loss="mse")
    model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    for _ in range(2):
        err = x @ k + b - y
        grad_out = 2 * err / err.size
        k, b = k - 0.05 * x.T @ grad_out, b - 0.05 * grad_out.sum(0)
    np.testing.assert_allclose(model.get_weights()[0], k, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.get_weights()[1], b, rtol=1e-5, atol=1e-6)


def test_early_stopping_stops_when_the_loss_does_not_move(backend):
    x, y = _data(128)
    model = _model(backend)
    model.compile(optimizer=uk.optimizers.SGD(0.0), loss="sparse_categorical_crossentropy")
    # lr=0: the weights never change, so the epoch loss differs between epochs only by the
    # order in which shuffled batches are summed (last bits). min_delta makes that no gain.
    stop = uk.callbacks.EarlyStopping(monitor="loss", patience=2, min_delta=1e-3)
    history = model.fit(x, y, epochs=20, verbose=0, callbacks=[stop])
    assert len(history.epoch) == 3, "lr=0 never improves by min_delta: stop after patience epochs"
    assert stop.stopped_epoch == 2


def test_early_stopping_restores_the_best_weights(backend):
    """The monitored value follows a script (set by a callback that runs first), so which
    epoch is best does not depend on floating-point details of training."""
    x, y = _data(64)
    model = _model(backend)
    model.compile(optimizer=uk.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    script = [3.0, 2.0, 1.0, 1.5, 1.2, 1.1, 0.5]
    weights_at = {}

    class Scripted(uk.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["scripted"] = script[epoch]
            weights_at[epoch] = self.model.get_weights()

    stop = uk.callbacks.EarlyStopping(monitor="scripted", mode="min", patience=3,
                                      restore_best_weights=True)
    history = model.fit(x, y, epochs=len(script), verbose=0, callbacks=[Scripted(), stop])
    assert history.epoch == [0, 1, 2, 3, 4, 5], "no improvement after epoch 2 for 3 epochs"
    assert stop.best_epoch == 2 and stop.best == 1.0
    for got, want in zip(model.get_weights(), weights_at[2]):
        np.testing.assert_array_equal(got, want)
    assert not np.array_equal(model.get_weights()[0], weights_at[5][0])


def test_custom_callback_sees_epochs_and_batches(backend):
    x, y = _data(100)
    seen = []

    class Recorder(uk.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(("epoch", epoch, sorted(logs)))

        def on_train_batch_end(self, batch, logs=None):
            seen.append(("batch", batch))

    model = _model(backend)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, batch_size=40, epochs=2, verbose=0, callbacks=[Recorder()],
              validation_data=(x[:20], y[:20]))
    assert seen.count(("batch", 2)) == 2 and ("batch", 3) not in seen
    assert ("epoch", 1, ["accuracy", "loss", "val_accuracy", "val_loss"]) in seen


def test_fit_with_dropout_updates_seed_state(backend):
    x, y = _data(64)
    with ops.backend_scope(backend):
        model = uk.Sequential([uk.Input((6,)), layers.Dense(8), layers.Dropout(0.5, seed=1), layers.Dense(4)])
    state = model.non_trainable_variables[0]
    before = ops.convert_to_numpy(state.value).copy()
    model.compile(optimizer="adam", loss=uk.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    after = ops.convert_to_numpy(state.value)
    assert after[1] - before[1] == 4, "one seed draw per training step"


def test_progress_bar_output(capsys):
    x, y = _data(64)
    model = _model(FRAMEWORKS[0])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, batch_size=32, epochs=2, verbose=2)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out
    assert "2/2" in out and "loss:" in out and "accuracy:" in out


def test_fit_before_compile_is_clear():
    model = _model(FRAMEWORKS[0])
    with pytest.raises(RuntimeError, match="must be compiled before fit"):
        model.fit(*_data(8))


def test_fit_with_wrong_feature_count_is_clear(backend):
    model = _model(backend)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"expects shape \(None, 6\), got \((32|None), 5\)"):
        model.fit(np.zeros((40, 5), "float32"), np.zeros(40, "int32"), verbose=0)
