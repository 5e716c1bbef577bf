"""The full fit system: per-output losses and metrics, class/sample weights, steps per
execution, single-batch methods, overridable steps, data sources, and clear errors."""
import numpy as np
import pytest

import unikeras as uk
from unikeras import layers, ops
from tests.conftest import FRAMEWORKS


def _two_io_data(n=48, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, 3)).astype("float32")
    b = rng.standard_normal((n, 2)).astype("float32")
    reg = (a[:, :1] - b[:, 1:]).astype("float32")
    cls = ((a[:, 0] + b[:, 0]) > 0).astype("int32") + (a[:, 1] > 0.7).astype("int32")
    sw = np.linspace(0.5, 1.5, n).astype("float32")
    return {"a": a, "b": b}, {"reg": reg, "cls": cls}, sw


def _two_io_model(backend, weights=None):
    with ops.backend_scope(backend):
        a, b = uk.Input((3,), name="a"), uk.Input((2,), name="b")
        h = layers.Dense(8, activation="tanh", name="hidden")(layers.Concatenate()([a, b]))
        reg = layers.Dense(1, name="reg")(h)
        cls = layers.Dense(3, activation="softmax", name="cls")(h)
        model = uk.Model({"a": a, "b": b}, {"reg": reg, "cls": cls})
    if weights is not None:
        model.set_weights(weights)
    model.compile(optimizer=uk.optimizers.SGD(0.05, momentum=0.5),
                  loss={"reg": "mse", "cls": "sparse_categorical_crossentropy"},
                  loss_weights={"reg": 0.5, "cls": 2.0},
                  metrics={"cls": ["accuracy"]}, weighted_metrics={"cls": ["accuracy"], "reg": ["mae"]})
    return model


def _mlp(backend, weights=None, n_out=3):
    with ops.backend_scope(backend):
        model = uk.Sequential([uk.Input((4,)), layers.Dense(8, activation="relu"),
                               layers.Dense(n_out, activation="softmax")])
    if weights is not None:
        model.set_weights(weights)
    return model


def _mlp_data(n=60, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int32") + (x[:, 1] > 0.5).astype("int32")
    return x, y


def test_two_input_two_output_history_is_the_same_on_every_backend():
    x, y, sw = _two_io_data()
    weights = _two_io_model("numpy").get_weights()
    histories = {}
    for backend in FRAMEWORKS:
        model = _two_io_model(backend, weights)
        history = model.fit(x, y, sample_weight={"reg": sw, "cls": sw}, batch_size=16, epochs=3,
                            validation_split=0.25, shuffle=False, verbose=0)
        histories[backend] = history.history
    first = histories[FRAMEWORKS[0]]
    assert set(first) == {"loss", "reg_loss", "cls_loss", "cls_accuracy", "cls_weighted_accuracy",
                          "reg_mae", "val_loss", "val_reg_loss", "val_cls_loss", "val_cls_accuracy",
                          "val_cls_weighted_accuracy", "val_reg_mae"}  # Keras 3's names
    for backend, history in histories.items():
        for key, values in first.items():
            np.testing.assert_allclose(history[key], values, atol=1e-4, err_msg=f"{backend} {key}")
    assert first["loss"][-1] < first["loss"][0]


def test_evaluate_combines_the_output_losses_with_their_weights(backend):
    x, y, sw = _two_io_data(32, seed=2)
    model = _two_io_model(backend)
    logs = model.evaluate(x, y, sample_weight={"reg": sw, "cls": sw}, batch_size=32, verbose=0,
                          return_dict=True)
    pred = model.predict(x, batch_size=32, verbose=0)
    assert set(pred) == {"reg", "cls"} and pred["reg"].shape == (32, 1)
    mse = np.sum(sw * ((pred["reg"] - y["reg"]) ** 2)[:, 0]) / 32
    p = np.clip(pred["cls"][np.arange(32), y["cls"]], 1e-7, 1)
    sce = np.sum(sw * -np.log(p)) / 32
    np.testing.assert_allclose(logs["reg_loss"], mse, rtol=1e-5)
    np.testing.assert_allclose(logs["cls_loss"], sce, rtol=1e-5)
    np.testing.assert_allclose(logs["loss"], 0.5 * mse + 2.0 * sce, rtol=1e-5)
    correct = pred["cls"].argmax(1) == y["cls"]
    np.testing.assert_allclose(logs["cls_accuracy"], correct.mean(), atol=1e-6)
    np.testing.assert_allclose(logs["cls_weighted_accuracy"], np.sum(sw * correct) / sw.sum(), rtol=1e-5)
    np.testing.assert_allclose(logs["reg_mae"], np.sum(sw * np.abs(pred["reg"] - y["reg"])[:, 0]) / sw.sum(),
                               rtol=1e-5)


def test_mlp_with_class_weight_and_validation_split_is_the_same_on_every_backend():
    x, y = _mlp_data()
    weights = _mlp("numpy").get_weights()
    histories = {}
    for backend in FRAMEWORKS:
        model = _mlp(backend, weights)
        model.compile(optimizer=uk.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        histories[backend] = model.fit(x, y, batch_size=10, epochs=3, validation_split=0.2,
                                       class_weight={0: 1.0, 1: 2.0, 2: 0.5}, shuffle=False,
                                       verbose=0).history
    first = histories[FRAMEWORKS[0]]
    for backend, history in histories.items():
        for key in first:
            np.testing.assert_allclose(history[key], first[key], atol=1e-4, err_msg=f"{backend} {key}")


def test_class_weight_scales_each_sample_loss(backend):
    x, y = _mlp_data(12)
    model = _mlp(backend)
    model.compile(optimizer=uk.optimizers.SGD(0.0), loss="sparse_categorical_crossentropy")
    p = model.predict(x, verbose=0)
    cw = {0: 1.0, 1: 3.0, 2: 0.25}
    logs = model.train_on_batch(x, y, class_weight=cw, return_dict=True)
    per_sample = -np.log(np.clip(p[np.arange(12), y], 1e-7, 1))
    expected = np.sum(per_sample * np.array([cw[c] for c in y])) / 12
    np.testing.assert_allclose(logs["loss"], expected, rtol=1e-5)


def test_steps_per_execution_gives_the_same_weights(backend):
    x, y = _mlp_data(70)  # 7 batches of 10: groups of 3, 3 and 1
    weights = _mlp("numpy").get_weights()
    results, step_counts = [], []
    for spe in (1, 3):
        model = _mlp(backend, weights)
        model.compile(optimizer=uk.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"], steps_per_execution=spe)
        seen = []
        cb = uk.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(b))
        history = model.fit(x, y, batch_size=10, epochs=2, shuffle=False, verbose=0, callbacks=[cb])
        results.append((model.get_weights(), history.history))
        step_counts.append(int(ops.convert_to_numpy(model.optimizer.iterations)))
        assert seen[-1] == 6
    assert step_counts == [14, 14]
    for a, b in zip(results[0][0], results[1][0]):
        np.testing.assert_allclose(b, a, atol=1e-5)
    np.testing.assert_allclose(results[1][1]["loss"], results[0][1]["loss"], atol=1e-5)


def test_run_eagerly_matches_the_compiled_step(backend):
    x, y = _mlp_data(16)
    weights = _mlp("numpy").get_weights()
    out = []
    for eager in (False, True):
        model = _mlp(backend, weights)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", run_eagerly=eager)
        model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
        out.append(model.get_weights())
    for a, b in zip(*out):
        np.testing.assert_allclose(b, a, atol=1e-5)


def test_single_batch_methods(backend):
    x, y = _mlp_data(16)
    model = _mlp(backend)
    model.compile(optimizer=uk.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    before = model.get_weights()
    k1, b1, k2, b2 = before
    h = np.maximum(x @ k1 + b1, 0) @ k2 + b2
    p = np.exp(h - h.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    np.testing.assert_allclose(model.predict_on_batch(x), p, rtol=1e-5, atol=1e-6)
    loss, acc = model.test_on_batch(x, y)
    np.testing.assert_allclose(loss, -np.mean(np.log(p[np.arange(16), y])), rtol=1e-5)
    np.testing.assert_allclose(acc, np.mean(p.argmax(1) == y))
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    logs = model.train_on_batch(x, y, return_dict=True)
    np.testing.assert_allclose(logs["loss"], loss, rtol=1e-5)
    assert not np.allclose(model.get_weights()[0], k1), "train_on_batch updates the weights"
    k1, b1, k2, b2 = model.get_weights()   # predict_on_batch sees the updated weights
    h = np.maximum(x @ k1 + b1, 0) @ k2 + b2
    p = np.exp(h - h.max(1, keepdims=True))
    np.testing.assert_allclose(model.predict_on_batch(x), p / p.sum(1, keepdims=True),
                               rtol=1e-5, atol=1e-6)


def test_predict_on_batch_runs_in_inference_mode(backend):
    with ops.backend_scope(backend):
        model = uk.Sequential([uk.Input((4,)), layers.Dense(16), layers.Dropout(0.5),
                               layers.Dense(2)])
    x = np.random.default_rng(5).standard_normal((3, 4)).astype("float32")
    k1, b1, k2, b2 = model.get_weights()
    want = (x @ k1 + b1) @ k2 + b2
    for _ in range(2):
        np.testing.assert_allclose(model.predict_on_batch(x), want, rtol=1e-5, atol=1e-6)
    model.compile(optimizer=uk.optimizers.SGD(0.1), loss="mse")
    model.fit(x, np.zeros((3, 2), "float32"), verbose=0)
    k1, b1, k2, b2 = model.get_weights()
    np.testing.assert_allclose(model.predict_on_batch(x), (x @ k1 + b1) @ k2 + b2,
                               rtol=1e-5, atol=1e-6)


class _ClippedTargetModel(uk.Model):
    """Overrides compute_loss and train_step the backend-agnostic way."""

    def __init__(self):
        super().__init__()
        self.dense = layers.Dense(1)
        self.steps_seen = uk.Variable(0.0, trainable=False, name="steps_seen")

    def call(self, x):
        return self.dense(x)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        return ops.mean(ops.abs(ops.clip(y, -1.0, 1.0) - y_pred))

    def train_step(self, data):
        self.steps_seen.assign_add(1.0)
        return super().train_step(data)


def test_overridden_train_step_and_compute_loss(backend):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((20, 2)).astype("float32")
    y = (3 * x[:, :1]).astype("float32")
    with ops.backend_scope(backend):
        model = _ClippedTargetModel()
        model(x[:1])
    model.compile(optimizer=uk.optimizers.SGD(0.0), loss="mse")
    logs = model.evaluate(x, y, batch_size=20, verbose=0, return_dict=True)
    pred = model.predict(x, verbose=0)
    np.testing.assert_allclose(logs["loss"], np.mean(np.abs(np.clip(y, -1, 1) - pred)), rtol=1e-5)
    model.fit(x, y, batch_size=5, epochs=2, verbose=0)
    assert float(ops.convert_to_numpy(model.steps_seen.value)) == 8.0


def test_add_loss_reaches_the_fit_loss(backend):
    x, y = _mlp_data(10)

    class Penalized(layers.Layer):
        def call(self, inputs):
            self.add_loss(ops.sum(inputs) * 0.0 + 7.0)
            return inputs

    with ops.backend_scope(backend):
        model = uk.Sequential([uk.Input((4,)), Penalized(), layers.Dense(3, activation="softmax")])
    model.compile(optimizer=uk.optimizers.SGD(0.0), loss="sparse_categorical_crossentropy")
    p = model.predict(x, verbose=0)
    logs = model.test_on_batch(x, y, return_dict=True)
    np.testing.assert_allclose(logs["loss"], 7.0 - np.mean(np.log(p[np.arange(10), y])), rtol=1e-5)


def _sources(x, y, batch):
    import tensorflow as tf
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    class Batches(uk.utils.PyDataset):
        def __len__(self):
            return len(x) // batch

        def __getitem__(self, i):
            return x[i * batch:(i + 1) * batch], y[i * batch:(i + 1) * batch]

    def generator():
        while True:
            for i in range(0, len(x), batch):
                yield x[i:i + batch], y[i:i + batch]

    yield "tf.data", tf.data.Dataset.from_tensor_slices((x, y)).batch(batch), None
    yield "DataLoader", DataLoader(TensorDataset(torch.from_numpy(x), torch.from_numpy(y)),
                                   batch_size=batch), None
    yield "generator", generator(), len(x) // batch
    yield "PyDataset", Batches(), None


def test_every_data_source_trains_and_evaluates_the_same(backend):
    x, y = _mlp_data(40)
    weights = _mlp("numpy").get_weights()
    model = _mlp(backend, weights)
    model.compile(optimizer=uk.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=10, epochs=2, shuffle=False, verbose=0)
    want_weights, want_loss = model.get_weights(), model.evaluate(x, y, batch_size=10, verbose=0)
    for name, source, steps in _sources(x, y, 10):
        model = _mlp(backend, weights)
        model.compile(optimizer=uk.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
        model.fit(source, epochs=2, steps_per_epoch=steps, shuffle=False, verbose=0)
        for a, b in zip(want_weights, model.get_weights()):
            np.testing.assert_allclose(b, a, atol=1e-5, err_msg=name)
        if steps is None:
            np.testing.assert_allclose(model.evaluate(source, verbose=0), want_loss, rtol=1e-5,
                                       err_msg=name)


def _unchanged(model, weights):
    return all(np.array_equal(a, b) for a, b in zip(model.get_weights(), weights))


def test_bad_training_input_is_clear_and_leaves_the_model_untouched():
    backend = FRAMEWORKS[0]
    x, y = _mlp_data(20)
    model = _mlp(backend)
    weights = model.get_weights()
    with pytest.raises(ValueError, match="no_such_loss"):
        model.compile(optimizer="adam", loss="no_such_loss")
    with pytest.raises(ValueError, match="no_such_metric"):
        model.compile(optimizer="adam", loss="mse", metrics=["no_such_metric"])
    with pytest.raises(ValueError, match="no_such_optimizer"):
        model.compile(optimizer="no_such_optimizer", loss="mse")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"20.*19|19.*20"):
        model.fit(x, y[:19], verbose=0)
    with pytest.raises(ValueError, match="validation_split"):
        model.fit((b for b in [(x, y)]), validation_split=0.2, verbose=0)
    model.compile(optimizer="adam", loss="mse")
    with pytest.raises(ValueError, match=r"Loss 'mean_squared_error'.*\(20, 7\).*\(None, 3\)"):
        model.fit(x, np.zeros((20, 7), "float32"), verbose=0)
    assert _unchanged(model, weights)
    with pytest.raises(ValueError, match="steps_per_execution"):
        model.compile(optimizer="adam", loss="mse", steps_per_execution=0)


def test_metrics_that_size_their_state_from_the_data_work_in_compiled_steps(backend):
    """F1Score and R2Score make their variables from the first batch's shapes: compiled
    steps need them to exist before tracing."""
    x, y = _mlp_data(30)
    onehot = np.eye(3, dtype="float32")[y]
    uk.utils.set_random_seed(3)
    model = _mlp(backend)
    model.compile(optimizer=uk.optimizers.SGD(0.0), loss="categorical_crossentropy",
                  metrics=[uk.metrics.F1Score(average="macro"), uk.metrics.R2Score()])
    logs = model.evaluate(x, onehot, batch_size=10, verbose=0, return_dict=True)
    p = model.predict(x, batch_size=10, verbose=0)
    top2 = np.sort(p, axis=1)[:, -2:]
    assert np.all(top2[:, 1] - top2[:, 0] > 1e-4), "a near tie would make the argmax fragile"
    hard = np.eye(3)[p.argmax(1)]
    tp, fp, fn = (hard * onehot).sum(0), (hard * (1 - onehot)).sum(0), ((1 - hard) * onehot).sum(0)
    f1 = np.where(tp > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1), 0.0)
    np.testing.assert_allclose(logs["f1_score"], f1.mean(), rtol=1e-5)
    ss_res = ((onehot - p) ** 2).sum(0)
    ss_tot = ((onehot - onehot.mean(0)) ** 2).sum(0)
    np.testing.assert_allclose(logs["r2_score"], np.mean(1 - ss_res / ss_tot), rtol=1e-4)


def test_one_target_for_two_outputs_is_an_error_not_a_first_output_loss():
    x, y, _ = _two_io_data(16)
    model = _two_io_model(FRAMEWORKS[0])
    weights = model.get_weights()
    with pytest.raises(ValueError, match=r"y is a single array but the model has 2 outputs"):
        model.fit(x, y["reg"], verbose=0)
    assert _unchanged(model, weights)
