"""Callbacks driven by hand on a fake model (no framework): EarlyStopping, ModelCheckpoint,
ReduceLROnPlateau, LearningRateScheduler, CSVLogger, TerminateOnNaN, LambdaCallback,
SwapEMAWeights' swapping, History, CallbackList dispatch and the progress bar's format,
checked against NumPy-free expectations and Keras 3 (one subprocess for the module)."""
import json
import re

import numpy as np
import pytest

import unikeras.callbacks
from unikeras.common.callbacks import (
    Callback, CallbackList, CSVLogger, EarlyStopping, History, LambdaCallback,
    LearningRateScheduler, ModelCheckpoint, OrbaxCheckpoint, Progbar, ProgbarLogger,
    ReduceLROnPlateau, SwapEMAWeights, TerminateOnNaN, pythonify_logs)


class FakeOptimizer:
    def __init__(self, learning_rate=1.0):
        self.learning_rate = learning_rate
        self.name = "sgd"


class FakeModel:
    """Just what callbacks touch: weights, stop_training, metrics, history, an optimizer,
    and save/save_weights that record the paths they are given."""

    def __init__(self):
        self.stop_training = False
        self.weights = [np.zeros(2)]
        self.set_calls = 0
        self.metrics = []
        self.optimizer = FakeOptimizer()
        self.saved = []
        self.name = "fake"

    def save(self, filepath, overwrite=True):
        self.saved.append(filepath)

    save_weights = save

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


# --- monitoring, learning-rate and checkpoint callbacks on the fake model ------------------------
SCHEDULES = {"halve_after_first": lambda epoch, lr: lr if epoch == 0 else lr * 0.5,
             "one_argument": lambda epoch: 0.1 / (epoch + 1)}


def _drive(callbacks, values, steps=1, model=None):
    """Epoch i logs `val_loss=values[i], loss=2*values[i]`, batch j logs
    `loss=values[i]+j`; returns [learning rate after the epoch, logs the last callback saw]
    per epoch run (the same driver runs in Keras below)."""
    model = model or FakeModel()
    seen = []
    recorder = LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(dict(logs)))
    cbs = CallbackList(list(callbacks) + [recorder], model=model, epochs=len(values),
                       steps=steps, verbose=0)
    cbs.on_train_begin()
    lrs = []
    for epoch, value in enumerate(values):
        cbs.on_epoch_begin(epoch)
        for batch in range(steps):
            cbs.on_train_batch_begin(batch)
            cbs.on_train_batch_end(batch, {"loss": value + batch})
            if model.stop_training:
                break
        cbs.on_epoch_end(epoch, {"val_loss": value, "loss": 2 * value})
        lrs.append(float(model.optimizer.learning_rate))
        if model.stop_training:
            break
    cbs.on_train_end()
    return [lrs, seen, model.saved]


def _make(name, kwargs):
    kwargs = dict(kwargs)
    if "schedule" in kwargs:
        kwargs["schedule"] = SCHEDULES[kwargs["schedule"]]
    return getattr(unikeras.callbacks, name)(**kwargs)


NAN = float("nan")
DRIVE_CASES = [
    ("ReduceLROnPlateau", {"patience": 1, "factor": 0.5}, [1.0, 0.9, 0.95, 0.97, 0.96, 0.5], 1),
    ("ReduceLROnPlateau", {"patience": 0, "factor": 0.5, "cooldown": 2}, [1.0] * 7, 1),
    ("ReduceLROnPlateau", {"patience": 1, "factor": 0.1, "min_lr": 0.005, "min_delta": 0.1},
     [1.0, 0.95, 0.93, 0.9, 0.85, 0.8], 1),
    ("ReduceLROnPlateau", {"mode": "max", "patience": 1, "factor": 0.5}, [0.1, 0.2, 0.15, 0.1, 0.3], 1),
    ("LearningRateScheduler", {"schedule": "halve_after_first"}, [1.0, 1.0, 1.0], 1),
    ("LearningRateScheduler", {"schedule": "one_argument"}, [1.0, 1.0, 1.0], 1),
    ("ModelCheckpoint", {"filepath": "m-{epoch:02d}-{val_loss:.2f}.keras"}, [1.0, 0.5, 0.25], 1),
    ("ModelCheckpoint", {"filepath": "best.keras", "save_best_only": True}, [1.0, 0.8, 0.9, 0.7], 1),
    ("ModelCheckpoint", {"filepath": "best-{epoch}.keras", "save_best_only": True,
                         "initial_value_threshold": 0.75}, [1.0, 0.8, 0.9, 0.7, 0.72], 1),
    ("ModelCheckpoint", {"filepath": "w-{epoch}.weights.h5", "save_weights_only": True,
                         "save_best_only": True, "mode": "max", "monitor": "loss"},
     [0.5, 0.4, 0.6], 1),
    ("ModelCheckpoint", {"filepath": "b-{epoch}-{batch}-{loss:.1f}.keras", "save_freq": 2},
     [1.0, 2.0, 3.0], 3),
    ("TerminateOnNaN", {}, [1.0, NAN, 2.0], 2),
    ("TerminateOnNaN", {}, [1.0, float("inf"), 2.0], 2),
]


def test_reduce_lr_on_plateau_steps():
    lrs, seen, _ = _drive([ReduceLROnPlateau(patience=2, factor=0.5)], [1.0, 0.9, 0.95, 0.97, 0.5])
    assert lrs == [1.0, 1.0, 1.0, 0.5, 0.5]   # two epochs without improvement, then halved
    assert [logs["learning_rate"] for logs in seen] == [1.0, 1.0, 1.0, 1.0, 0.5]
    lrs, _, _ = _drive([ReduceLROnPlateau(patience=0, factor=0.5, min_lr=0.2)], [1.0] * 5)
    assert lrs == [1.0, 0.5, 0.25, 0.2, 0.2]
    with pytest.raises(ValueError, match="factor"):
        ReduceLROnPlateau(factor=1.5)


def test_learning_rate_scheduler_sets_and_logs():
    lrs, seen, _ = _drive([LearningRateScheduler(lambda epoch, lr: 0.1 * (epoch + 1))], [1.0] * 3)
    assert lrs == pytest.approx([0.1, 0.2, 0.3])
    assert [logs["learning_rate"] for logs in seen] == pytest.approx([0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="float"):
        _drive([LearningRateScheduler(lambda epoch, lr: "fast")], [1.0])


def test_model_checkpoint_names_best_and_errors():
    _, _, saved = _drive([ModelCheckpoint("ck/{epoch:02d}-{val_loss:.2f}.safetensors",
                                          save_weights_only=True)], [1.0, 0.5])
    assert saved == ["ck/01-1.00.safetensors", "ck/02-0.50.safetensors"]
    _, _, saved = _drive([ModelCheckpoint("best.keras", save_best_only=True)], [1.0, 0.8, 0.9, 0.7])
    assert saved == ["best.keras"] * 3   # epochs 1, 2 and 4 improve
    with pytest.raises(ValueError, match="'.keras' or '.h5'"):
        ModelCheckpoint("model.safetensors")
    with pytest.raises(ValueError, match="'.safetensors' or '.weights.h5'"):
        ModelCheckpoint("model.keras", save_weights_only=True)
    with pytest.raises(ValueError, match="save_freq"):
        ModelCheckpoint("m.keras", save_freq="sometimes")
    with pytest.raises(KeyError, match="val_acc"):
        _drive([ModelCheckpoint("{val_acc}.keras")], [1.0])
    model = FakeModel()
    del model.saved
    model.save = None   # a model without save(): clear error before training starts
    with pytest.raises(TypeError, match="no save"):
        CallbackList([ModelCheckpoint("m.keras")], model=model, epochs=1, steps=1).on_train_begin()


def test_terminate_on_nan_and_lambda_hooks(capsys):
    model = FakeModel()
    _, seen, _ = _drive([TerminateOnNaN()], [1.0, NAN, 2.0], steps=2, model=model)
    assert model.stop_training and len(seen) == 2
    assert "Batch 0: Invalid loss, terminating training" in capsys.readouterr().out
    with pytest.raises(RuntimeError, match="NaN or Inf loss"):
        _drive([TerminateOnNaN(raise_error=True)], [1.0, NAN], steps=2)
    calls = []
    hooks = {name: (lambda name: lambda *args: calls.append((name,) + args[:-1]))(name)
             for name in ("on_train_begin", "on_epoch_begin", "on_train_batch_begin",
                          "on_train_batch_end", "on_epoch_end", "on_train_end")}
    _drive([LambdaCallback(**hooks, on_test_end="extra attribute")], [1.0], steps=2)
    assert calls == [("on_train_begin",), ("on_epoch_begin", 0), ("on_train_batch_begin", 0),
                     ("on_train_batch_end", 0), ("on_train_batch_begin", 1),
                     ("on_train_batch_end", 1), ("on_epoch_end", 0), ("on_train_end",)]


def test_csv_logger_writes_append_and_separator(tmp_path):
    runs = _csv_runs(CSVLogger, tmp_path)
    import csv
    first = list(csv.reader(runs[0].splitlines()))
    assert first == [["epoch", "acc", "loss", "val_acc", "val_loss"],
                     ["0", "0.5", "1.5", "NA", "NA"], ["1", "0.75", "1.25", "NA", "NA"]]
    appended = list(csv.reader(runs[1].splitlines()))
    assert appended == first + [["0", "0.875", "1.125", "NA", "NA"]]   # no second header
    third = list(csv.reader(runs[2].splitlines(), delimiter=";"))
    assert third == [["epoch", "loss", "val_loss", "vec"], ["0", "1.0", "2.0", '"[1, 2]"']]   # Keras quotes lists


def _csv_runs(csv_logger, directory):
    """Three fits' CSV files: two epochs, one appended epoch, one with `;` and a list value."""
    def run(path, epochs_logs, **kwargs):
        logger = csv_logger(str(path), **kwargs)
        logger.set_model(None)
        logger.on_train_begin()
        for epoch, logs in enumerate(epochs_logs):
            logger.on_epoch_end(epoch, logs)
        logger.on_train_end()
        with open(path, newline="") as f:
            return f.read()
    first = run(directory / "a.csv", [{"loss": 1.5, "acc": 0.5}, {"loss": 1.25, "acc": 0.75}])
    second = run(directory / "a.csv", [{"loss": 1.125, "acc": 0.875}], append=True)
    third = run(directory / "b.csv", [{"loss": 1.0, "val_loss": 2.0, "vec": [1, 2]}],
                separator=";")
    return [first, second, third]


class FakeEMAOptimizer(FakeOptimizer):
    """Holds one moving average per weight, with the two methods SwapEMAWeights relies on."""

    use_ema = True

    def __init__(self, variables, averages):
        super().__init__()
        self.variables, self.averages = variables, averages

    def swap_moving_averages(self, variables):
        assert variables is self.variables
        for v, a in zip(variables, self.averages):
            v[...], a[...] = a.copy(), v.copy()

    def finalize_variable_values(self, variables):
        for v, a in zip(variables, self.averages):
            v[...] = a


def test_swap_ema_weights_swaps_around_evaluation_and_epochs():
    weights, averages = [np.zeros(2)], [np.ones(2)]
    model = FakeModel()
    model.trainable_variables = weights
    model.optimizer = FakeEMAOptimizer(weights, averages)
    seen = []
    cbs = CallbackList([SwapEMAWeights(swap_on_epoch=True),
                        LambdaCallback(on_epoch_end=lambda e, logs: seen.append(weights[0][0]),
                                       on_epoch_begin=lambda e, logs: seen.append(weights[0][0]),
                                       on_test_begin=lambda logs: seen.append(weights[0][0]))],
                       model=model, epochs=2, steps=1)
    cbs.on_train_begin()
    for epoch in range(2):
        cbs.on_epoch_begin(epoch)
        cbs.on_test_begin()      # evaluation sees the averages...
        cbs.on_test_end()        # ...and training goes on with the raw weights
        cbs.on_epoch_end(epoch)
    cbs.on_train_end()
    assert seen == [0.0, 1.0, 1.0, 0.0, 1.0, 1.0]
    assert weights[0].tolist() == [1.0, 1.0] and averages[0].tolist() == [1.0, 1.0]
    model.optimizer.use_ema = False
    with pytest.raises(ValueError, match="use_ema=True"):
        CallbackList([SwapEMAWeights()], model=model).on_predict_begin()


def test_remote_monitor_posts_json_and_form(monkeypatch):
    for proxy in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(proxy, raising=False)   # talk to the local server directly
    import http.server
    import socket
    import threading
    import urllib.parse
    from unikeras.common.callbacks import RemoteMonitor
    received = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            received.append((self.path, self.headers["Content-Type"], body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        root = f"http://127.0.0.1:{server.server_port}"
        RemoteMonitor(root=root, send_as_json=True).on_epoch_end(2, {"loss": np.float32(0.5)})
        RemoteMonitor(root=root, path="/p", field="f").on_epoch_end(0, {"acc": 1.0})
    finally:
        server.shutdown()
        server.server_close()
    assert received[0] == ("/publish/epoch/end/", "application/json",
                           json.dumps({"epoch": 2, "loss": 0.5}))
    path, content_type, body = received[1]
    assert (path, content_type) == ("/p", "application/x-www-form-urlencoded")
    assert {k: json.loads(v[0]) for k, v in urllib.parse.parse_qs(body).items()} == {
        "f": {"epoch": 0, "acc": 1.0}}
    with socket.socket() as s:   # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.warns(UserWarning, match="Could not reach RemoteMonitor"):
        RemoteMonitor(root=f"http://127.0.0.1:{port}").on_epoch_end(0, {})


def test_public_names_signatures_and_orbax(keras_ref):
    import inspect
    assert sorted(unikeras.callbacks.__all__) == keras_ref["names"]
    for name in keras_ref["names"]:
        ours = [[p.name, p.kind.name, repr(p.default) if p.default is not p.empty else None]
                for p in inspect.signature(getattr(unikeras.callbacks, name).__init__)
                .parameters.values()]
        assert ours == keras_ref["signatures"][name], name
    with pytest.raises(NotImplementedError, match="ModelCheckpoint"):
        OrbaxCheckpoint("dir")


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

class FakeOptimizer:
    def __init__(self):
        self.learning_rate = 1.0
        self.name = "sgd"

class SavingModel(FakeModel):
    def __init__(self):
        super().__init__()
        self.optimizer = FakeOptimizer()
        self.saved = []
    def save(self, filepath, overwrite=True):
        self.saved.append(filepath)
    save_weights = save

SCHEDULES = {"halve_after_first": lambda epoch, lr: lr if epoch == 0 else lr * 0.5,
             "one_argument": lambda epoch: 0.1 / (epoch + 1)}

def drive(callback, values, steps):
    model = SavingModel()
    seen = []
    recorder = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(dict(logs)))
    cbs = keras.callbacks.CallbackList([callback, recorder], model=model, epochs=len(values),
                                       steps=steps, verbose=0)
    cbs.on_train_begin()
    lrs = []
    for epoch, value in enumerate(values):
        cbs.on_epoch_begin(epoch)
        for batch in range(steps):
            cbs.on_train_batch_begin(batch)
            cbs.on_train_batch_end(batch, {"loss": value + batch})
            if model.stop_training:
                break
        cbs.on_epoch_end(epoch, {"val_loss": value, "loss": 2 * value})
        lrs.append(float(model.optimizer.learning_rate))
        if model.stop_training:
            break
    cbs.on_train_end()
    return [lrs, seen, model.saved]

def csv_runs(directory):
    def run(path, epochs_logs, **kwargs):
        logger = keras.callbacks.CSVLogger(path, **kwargs)
        logger.on_train_begin()
        for epoch, logs in enumerate(epochs_logs):
            logger.on_epoch_end(epoch, logs)
        logger.on_train_end()
        with open(path, newline="") as f:
            return f.read()
    first = run(directory + "/a.csv", [{"loss": 1.5, "acc": 0.5}, {"loss": 1.25, "acc": 0.75}])
    second = run(directory + "/a.csv", [{"loss": 1.125, "acc": 0.875}], append=True)
    third = run(directory + "/b.csv", [{"loss": 1.0, "val_loss": 2.0, "vec": [1, 2]}],
                separator=";")
    return [first, second, third]

spec = json.load(sys.stdin)
out = {"es": [], "progbar": {}, "drive": []}
for name, kwargs, values, steps in spec["drive"]:
    if "schedule" in kwargs:
        kwargs["schedule"] = SCHEDULES[kwargs["schedule"]]
    out["drive"].append(drive(getattr(keras.callbacks, name)(**kwargs), values, steps))
import tempfile
with tempfile.TemporaryDirectory() as directory:
    out["csv"] = csv_runs(directory)
out["names"] = sorted(n for n in dir(keras.callbacks) if not n.startswith("_"))
import inspect
out["signatures"] = {
    n: [[p.name, p.kind.name, repr(p.default) if p.default is not p.empty else None]
        for p in inspect.signature(getattr(keras.callbacks, n).__init__).parameters.values()]
    for n in out["names"]}
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
    proc = subprocess.run([sys.executable, "-c", ORACLE], input=json.dumps({"es": ES_CASES, "drive": DRIVE_CASES}),
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


@pytest.mark.parametrize("index", range(len(DRIVE_CASES)))
def test_callbacks_match_keras(index, keras_ref):
    name, kwargs, values, steps = DRIVE_CASES[index]
    ours = json.loads(json.dumps(_drive([_make(name, kwargs)], values, steps)))  # NaN as Keras'
    assert repr(ours) == repr(keras_ref["drive"][index])


def test_csv_logger_matches_keras(keras_ref, tmp_path):
    assert _csv_runs(CSVLogger, tmp_path) == keras_ref["csv"]
