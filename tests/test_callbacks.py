"""Callbacks: EarlyStopping logic on a fake model, History, CallbackList dispatch and the
progress bar's output format."""
import re

import numpy as np
import pytest

from unikeras.common.callbacks import (
    Callback, CallbackList, EarlyStopping, History, Progbar, ProgbarLogger, pythonify_logs)


class FakeModel:
    """Just what callbacks touch: weights, stop_training, metrics, history."""

    def __init__(self):
        self.stop_training = False
        self.weights = [np.zeros(2)]
        self.set_calls = 0
        self.metrics = []

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.set_calls += 1
        self.weights = [np.array(w) for w in weights]


def _train(callback, values, monitor="val_loss", model=None):
    """Run epochs whose monitored value is `values[i]` and whose weights are `[i, i]`;
    returns (model, number of epochs run)."""
    model = model or FakeModel()
    cbs = CallbackList([callback], model=model, epochs=len(values), steps=1, verbose=0)
    cbs.on_train_begin()
    epochs = 0
    for epoch, value in enumerate(values):
        cbs.on_epoch_begin(epoch)
        model.weights = [np.full(2, float(epoch))]
        cbs.on_epoch_end(epoch, {monitor: value, "loss": 1.0})
        epochs += 1
        if model.stop_training:
            break
    cbs.on_train_end()
    return model, epochs


def test_early_stopping_patience():
    _, n = _train(EarlyStopping(patience=2), [1.0, 0.9, 0.95, 0.92, 0.5, 0.4])
    assert n == 4   # best at epoch 1, then two epochs without improvement
    _, n = _train(EarlyStopping(patience=0), [1.0, 0.9, 0.95, 0.5])
    assert n == 3
    _, n = _train(EarlyStopping(patience=3), [1.0, 0.9, 0.8, 0.7])
    assert n == 4


def test_early_stopping_min_delta_and_mode():
    # Improvements smaller than min_delta do not count.
    _, n = _train(EarlyStopping(min_delta=0.1, patience=2), [1.0, 0.95, 0.92, 0.5])
    assert n == 3
    _, n = _train(EarlyStopping(min_delta=0.0, patience=2), [1.0, 0.95, 0.92, 0.5])
    assert n == 4
    _, n = _train(EarlyStopping(monitor="val_accuracy", mode="max", patience=1),
                  [0.5, 0.6, 0.55, 0.7], monitor="val_accuracy")
    assert n == 3
    # "auto" reads the direction of the model's metric of that name.
    model = FakeModel()
    metric = type("M", (), {"name": "accuracy", "_direction": "up"})()
    model.metrics = [metric]
    _, n = _train(EarlyStopping(monitor="val_accuracy", patience=1), [0.5, 0.6, 0.7, 0.65],
                  monitor="val_accuracy", model=model)
    assert n == 4
    with pytest.raises(ValueError, match="mode='max'"):
        _train(EarlyStopping(monitor="val_f1"), [0.1, 0.2], monitor="val_f1")


def test_early_stopping_baseline_and_start_from_epoch():
    # While the baseline is not beaten, improvements do not reset the wait.
    values = [1.0, 0.9, 0.95, 0.97, 0.99]
    _, n = _train(EarlyStopping(patience=2, baseline=0.5), values)
    assert n == 3
    _, n = _train(EarlyStopping(patience=2), values)
    assert n == 4
    # Epochs before start_from_epoch are ignored.
    es = EarlyStopping(patience=0, start_from_epoch=2)
    _, n = _train(es, [1.0, 2.0, 3.0, 4.0, 5.0])
    assert n == 4 and es.best == 3.0 and es.stopped_epoch == 3


def test_early_stopping_restore_best_weights(capsys):
    es = EarlyStopping(patience=1, restore_best_weights=True, verbose=1)
    model, n = _train(es, [1.0, 0.4, 0.6, 0.7, 0.1])
    assert n == 3 and es.best_epoch == 1
    assert model.set_calls == 1
    np.testing.assert_array_equal(model.weights[0], [1.0, 1.0])
    out = capsys.readouterr().out
    assert "Epoch 3: early stopping" in out
    assert "Restoring model weights from the end of the best epoch: 2." in out
    # Without a stop, the best weights are restored at the end too.
    model, _ = _train(EarlyStopping(patience=5, restore_best_weights=True), [3.0, 1.0, 2.0])
    np.testing.assert_array_equal(model.weights[0], [1.0, 1.0])
    model, _ = _train(EarlyStopping(patience=5), [3.0, 1.0, 2.0])
    assert model.set_calls == 0


def test_early_stopping_missing_monitor_warns():
    with pytest.warns(UserWarning, match="not available"):
        _, n = _train(EarlyStopping(monitor="val_loss"), [1.0, 2.0], monitor="other")
    assert n == 2


def test_history_and_model_attribute():
    model = FakeModel()
    cbs = CallbackList(None, add_history=True, model=model, epochs=2, steps=1)
    history = model.history
    assert isinstance(history, History)
    cbs.on_train_begin()
    for epoch in range(2):
        cbs.on_epoch_end(epoch, {"loss": np.float32(1.0 / (epoch + 1)), "accuracy": 0.5 + epoch})
    cbs.on_train_end()
    assert history.epoch == [0, 1]
    assert history.history == {"accuracy": [0.5, 1.5], "loss": [1.0, 0.5]}
    assert all(type(v) is float for vs in history.history.values() for v in vs)


def test_pythonify_logs():
    logs = pythonify_logs({"b": np.array(2.5, "float32"), "a": {"x": np.int64(3)}, "c": "text"})
    assert list(logs) == ["x", "b", "c"] and logs == {"x": 3.0, "b": 2.5, "c": "text"}
    assert pythonify_logs(None) == {}


def test_callback_list_dispatch():
    calls = []

    class Recorder(Callback):
        def on_train_begin(self, logs=None):
            calls.append(("train_begin", self.params["epochs"], self.model is model))

        def on_batch_end(self, batch, logs=None):   # tf.keras-1 name: reached via on_train_batch_end
            calls.append(("batch_end", batch, logs))

        def on_test_batch_end(self, batch, logs=None):
            calls.append(("test_batch_end", batch))

        def on_predict_batch_end(self, batch, logs=None):
            calls.append(("predict_batch_end", batch, sorted(logs)))

    model = FakeModel()
    cbs = CallbackList([Recorder(), Callback()], model=model, epochs=3, steps=2, verbose=0)
    cbs.on_train_begin()
    cbs.on_train_batch_end(0, {"loss": np.float32(0.25)})
    cbs.on_test_batch_end(1, {})
    cbs.on_predict_batch_end(0, {"outputs": np.zeros(3)})
    assert calls == [("train_begin", 3, True), ("batch_end", 0, {"loss": 0.25}),
                     ("test_batch_end", 1), ("predict_batch_end", 0, ["outputs"])]
    # Only callbacks overriding a batch hook receive it.
    assert len(cbs._batch_targets["on_train_batch_end"]) == 1

    instance_level = Callback()
    instance_level.on_train_batch_begin = lambda batch, logs=None: calls.append(("lambda", batch))
    cbs = CallbackList([instance_level])
    cbs.on_train_batch_begin(7)
    assert calls[-1] == ("lambda", 7)


def test_callback_list_reuses_given_history_and_progbar():
    history, progbar = History(), ProgbarLogger()
    cbs = CallbackList([history, progbar], add_history=True, add_progbar=True)
    assert cbs.callbacks == [history, progbar]
    cbs = CallbackList([], add_history=True, add_progbar=True)
    assert [type(c) for c in cbs.callbacks] == [History, ProgbarLogger]


# --- progress bar -----------------------------------------------------------------------------------
def _strip(out):
    return re.sub(r"\x1b\[[0-9;]*m", "", out)


def _fit_like(verbose, epochs=2, steps=3, logs=None):
    logs = logs or {"accuracy": 0.95123, "loss": 0.16204}
    cbs = CallbackList([], add_progbar=True, model=FakeModel(), verbose=verbose, epochs=epochs,
                       steps=steps)
    cbs.on_train_begin()
    for epoch in range(epochs):
        cbs.on_epoch_begin(epoch)
        for batch in range(steps):
            cbs.on_train_batch_begin(batch)
            cbs.on_train_batch_end(batch, logs)
        cbs.on_epoch_end(epoch, logs)
    cbs.on_train_end()


FINAL_1 = re.compile(r"^3/3 ━{20} \d+s \d+(us|ms|s)/step - accuracy: 0\.9512 - loss: 0\.1620 *$")
FINAL_2 = re.compile(r"^3/3 - \d+s - \d+(us|ms|s)/step - accuracy: 0\.9512 - loss: 0\.1620$")


def test_progbar_verbose_1(capsys):
    _fit_like(verbose=1)
    out = _strip(capsys.readouterr().out)
    lines = out.split("\n")
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2" and lines[-1] == ""
    for line in (lines[1], lines[3]):
        assert line.startswith("\r")   # redrawn in place
        assert FINAL_1.match(line.split("\r")[-1]), line.split("\r")[-1]


def test_progbar_verbose_2(capsys):
    _fit_like(verbose=2)
    out = capsys.readouterr().out
    assert "\r" not in out and "━" not in out
    lines = out.split("\n")
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2"
    assert FINAL_2.match(lines[1]) and FINAL_2.match(lines[3]), out


def test_progbar_single_epoch_has_no_epoch_line_and_verbose_0_is_silent(capsys):
    _fit_like(verbose=1, epochs=1)
    out = _strip(capsys.readouterr().out)
    assert "Epoch" not in out and FINAL_1.match(out.split("\r")[-1].rstrip("\n"))
    _fit_like(verbose=0)
    assert capsys.readouterr().out == ""


def test_progbar_class_formats(capsys):
    bar = Progbar(target=None, interval=0)
    bar.update(5, [("loss", 0.00001)])
    out = _strip(capsys.readouterr().out)
    assert re.match(r"^\r      5/Unknown \d+s \d+(us|ms|s)/step - loss: 1\.0000e-05$", out), out
    bar = Progbar(target=200, interval=0)
    bar.update(50, [("loss", 2.0)])
    out = _strip(capsys.readouterr().out)
    assert re.match(r"^\r 50/200 ━{5}━{15} \d+s \d+(us|ms|s)/step - loss: 2\.0000$", out), out
    bar.update(200, [("loss", 1.5), ("note", "x")])
    out = _strip(capsys.readouterr().out)
    assert out.endswith("- loss: 1.5000 - note: x\n")


def test_progbar_evaluate_and_predict(capsys):
    logger = ProgbarLogger()
    cbs = CallbackList([logger], model=FakeModel(), verbose=1, epochs=1, steps=2)
    cbs.on_test_begin()
    for batch in range(2):
        cbs.on_test_batch_end(batch, {"loss": 0.5})
    cbs.on_test_end({"loss": 0.5})
    out = _strip(capsys.readouterr().out)
    assert out.rstrip("\n").split("\r")[-1].startswith("2/2 ━")
    cbs.on_predict_begin()
    for batch in range(2):
        cbs.on_predict_batch_end(batch, {"outputs": np.zeros(3)})
    cbs.on_predict_end()
    out = _strip(capsys.readouterr().out)
    assert "outputs" not in out and out.rstrip().split("\r")[-1].startswith("2/2 ━")


# --- Keras 3 as an oracle ----------------------------------------------------------------------------
ES_CASES = [
    ({"patience": 2}, [1.0, 0.9, 0.95, 0.92, 0.5, 0.4]),
    ({"patience": 0}, [1.0, 0.9, 0.95, 0.5]),
    ({"min_delta": 0.1, "patience": 2}, [1.0, 0.95, 0.92, 0.5]),
    ({"patience": 2, "baseline": 0.5}, [1.0, 0.9, 0.95, 0.97, 0.99]),
    ({"patience": 2, "baseline": 0.5}, [1.0, 0.9, 0.8, 0.7, 0.6]),
    ({"patience": 0, "start_from_epoch": 2}, [1.0, 2.0, 3.0, 4.0, 5.0]),
    ({"patience": 1, "restore_best_weights": True}, [1.0, 0.4, 0.6, 0.7, 0.1]),
    ({"patience": 5, "restore_best_weights": True}, [3.0, 1.0, 2.0]),
    ({"mode": "max", "patience": 1, "min_delta": 0.05}, [0.5, 0.6, 0.62, 0.7]),
]

ORACLE = r"""
import io, json, re, sys
import numpy as np
import keras

class FakeModel:
    def __init__(self):
        self.stop_training = False
        self.weights = [np.zeros(2)]
    def get_weights(self):
        return [w.copy() for w in self.weights]
    def set_weights(self, weights):
        self.weights = [np.array(w) for w in weights]

def train(callback, values, model):
    cbs = keras.callbacks.CallbackList([callback], model=model, epochs=len(values), steps=1, verbose=0)
    cbs.on_train_begin()
    n = 0
    for epoch, value in enumerate(values):
        cbs.on_epoch_begin(epoch)
        model.weights = [np.full(2, float(epoch))]
        cbs.on_epoch_end(epoch, {"val_loss": value, "loss": 1.0})
        n += 1
        if model.stop_training:
            break
    cbs.on_train_end()
    return n

spec = json.load(sys.stdin)
out = {"es": [], "progbar": {}}
for kwargs, values in spec["es"]:
    es = keras.callbacks.EarlyStopping(**kwargs)
    model = FakeModel()
    n = train(es, values, model)
    out["es"].append([n, es.stopped_epoch, es.best_epoch, model.weights[0].tolist()])
for verbose in (1, 2):
    buf, old = io.StringIO(), sys.stdout
    sys.stdout = buf
    try:
        logs = {"accuracy": 0.95123, "loss": 0.16204}
        cbs = keras.callbacks.CallbackList([], add_progbar=True, model=FakeModel(), verbose=verbose,
                                           epochs=2, steps=3)
        cbs.on_train_begin()
        for epoch in range(2):
            cbs.on_epoch_begin(epoch)
            for batch in range(3):
                cbs.on_train_batch_begin(batch)
                cbs.on_train_batch_end(batch, logs)
            cbs.on_epoch_end(epoch, logs)
        cbs.on_train_end()
    finally:
        sys.stdout = old
    out["progbar"][str(verbose)] = buf.getvalue()
print("ORACLE:" + json.dumps(out))
"""


@pytest.fixture(scope="module")
def keras_ref():
    import importlib.util
    import json
    import os
    import subprocess
    import sys
    if importlib.util.find_spec("keras") is None:
        pytest.skip("keras is not installed")
    env = dict(os.environ, KERAS_BACKEND="numpy", TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, "-c", ORACLE], input=json.dumps({"es": ES_CASES}),
                          env=env, capture_output=True, text=True, timeout=300)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("ORACLE:")]
    assert lines, f"keras oracle failed:\n{proc.stderr[-3000:]}"
    return json.loads(lines[0][len("ORACLE:"):])


@pytest.mark.parametrize("index", range(len(ES_CASES)))
def test_early_stopping_matches_keras(index, keras_ref):
    kwargs, values = ES_CASES[index]
    es = EarlyStopping(**kwargs)
    model, n = _train(es, values)
    assert [n, es.stopped_epoch, es.best_epoch, model.weights[0].tolist()] == keras_ref["es"][index]


def _final_lines(out):
    """Each finished line as shown on a terminal: last redraw, no styling, no timings."""
    out = _strip(out).replace("\b", "")
    shown = [line.split("\r")[-1].rstrip() for line in out.split("\n")]
    return [re.sub(r"\d+(us|ms|s)\b", "T", line) for line in shown if line]


@pytest.mark.parametrize("verbose", [1, 2])
def test_progbar_output_matches_keras(verbose, keras_ref, capsys):
    _fit_like(verbose=verbose)
    assert _final_lines(capsys.readouterr().out) == _final_lines(keras_ref["progbar"][str(verbose)])
