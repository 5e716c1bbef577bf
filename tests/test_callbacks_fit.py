"""Callbacks inside real fits: learning-rate callbacks reach the compiled step, checkpoints
hold the weights of the epoch they name, CSV and progress output match the history,
TerminateOnNaN stops, SwapEMAWeights swaps in the moving averages, and BackupAndRestore
resumes an interrupted fit to the same weights as an uninterrupted one.

A one-layer linear model on MSE with full-batch or unshuffled SGD keeps every expected
value computable in NumPy (float64), compared with float32 tolerances."""
import csv
import json
import os
import re
import warnings

import numpy as np
import pytest

import unikeras as uk
from unikeras import callbacks, layers, ops
from tests.conftest import FRAMEWORKS

X = (np.arange(24, dtype="float32").reshape(8, 3) % 5 - 2) / 4
Y = np.stack([X.sum(1), X[:, 0] - X[:, 2]], 1).astype("float32") + 0.5


def _linear(backend, seed=0, **optimizer_kwargs):
    uk.utils.set_random_seed(seed)
    with ops.backend_scope(backend):
        model = uk.Sequential([uk.Input((3,)), layers.Dense(2)])
    optimizer_kwargs.setdefault("learning_rate", 0.1)
    model.compile(optimizer=uk.optimizers.SGD(**optimizer_kwargs), loss="mse")
    return model


def _full_batch_sgd(weights, learning_rates):
    """[kernel, bias] after one full-batch SGD step on MSE per learning rate, in float64."""
    k, b = [w.astype("float64") for w in weights]
    x, y = X.astype("float64"), Y.astype("float64")
    for lr in learning_rates:
        grad_out = 2 * (x @ k + b - y) / y.size
        k, b = k - lr * x.T @ grad_out, b - lr * grad_out.sum(0)
    return [k, b]


def _close(got, want):
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


class Recorder(callbacks.Callback):
    """Epochs and batches run, and the weights at each epoch end."""

    def __init__(self):
        super().__init__()
        self.epochs, self.batches, self.weights = [], [], []

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append(epoch)
        self.weights.append(self.model.get_weights())

    def on_train_batch_end(self, batch, logs=None):
        self.batches.append(batch)


@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_learning_rate_scheduler_drives_the_step(backend):
    model = _linear(backend)
    start = model.get_weights()
    schedule = callbacks.LearningRateScheduler(lambda epoch, lr: 0.2 / (epoch + 1))
    history = model.fit(X, Y, batch_size=8, epochs=3, shuffle=False, verbose=0,
                        callbacks=[schedule])
    rates = [0.2, 0.1, 0.2 / 3]
    assert history.history["learning_rate"] == pytest.approx(rates, rel=1e-6)
    assert float(np.asarray(model.optimizer.learning_rate)) == pytest.approx(rates[-1], rel=1e-6)
    _close(model.get_weights(), _full_batch_sgd(start, rates))


def test_reduce_lr_on_plateau_in_fit():
    model = _linear("torch")
    start = model.get_weights()
    # min_delta larger than any change: every epoch after the first is a plateau.
    reduce = callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=10)
    history = model.fit(X, Y, batch_size=8, epochs=4, shuffle=False, verbose=0,
                        callbacks=[reduce])
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.1, 0.05, 0.025])
    _close(model.get_weights(), _full_batch_sgd(start, [0.1, 0.1, 0.05, 0.025]))


def test_model_checkpoint_files_hold_their_epoch(tmp_path):
    model = _linear("torch")
    recorder = Recorder()
    every_epoch = callbacks.ModelCheckpoint(str(tmp_path / "e{epoch:02d}-{val_loss:.3f}.safetensors"),
                                            save_weights_only=True)
    best = callbacks.ModelCheckpoint(str(tmp_path / "best.safetensors"), save_weights_only=True,
                                     save_best_only=True, monitor="val_loss")
    batches = callbacks.ModelCheckpoint(str(tmp_path / "b{epoch}-{batch}.safetensors"),
                                        save_weights_only=True, save_freq=3)
    val = (X[::-1] * 2, Y[::-1])   # a validation loss that falls, then rises
    history = model.fit(X, Y, batch_size=4, epochs=3, shuffle=False, verbose=0,
                        validation_data=val, callbacks=[recorder, every_epoch, best, batches])
    val_loss = history.history["val_loss"]
    expected = {f"e{i + 1:02d}-{v:.3f}.safetensors" for i, v in enumerate(val_loss)}
    expected |= {"best.safetensors", "b2-1.safetensors", "b3-2.safetensors"}   # batches 3 and 6
    assert set(os.listdir(tmp_path)) == expected
    reader = _linear("torch", seed=5)
    for i, v in enumerate(val_loss):
        reader.load_weights(str(tmp_path / f"e{i + 1:02d}-{v:.3f}.safetensors"))
        _close(reader.get_weights(), recorder.weights[i])
    reader.load_weights(str(tmp_path / "best.safetensors"))
    _close(reader.get_weights(), recorder.weights[int(np.argmin(val_loss))])
    reader.load_weights(str(tmp_path / "b3-2.safetensors"))
    _close(reader.get_weights(), recorder.weights[2])
    whole = callbacks.ModelCheckpoint(str(tmp_path / "m-{epoch}.keras"))
    if hasattr(model, "save"):   # the whole model goes through model.save
        model.fit(X, Y, epochs=1, verbose=0, callbacks=[whole])
        assert os.path.exists(tmp_path / "m-1.keras")
    else:
        with pytest.raises(TypeError, match="no save"):
            model.fit(X, Y, epochs=1, verbose=0, callbacks=[whole])


def test_csv_logger_and_terminate_on_nan_in_fit(tmp_path):
    path = str(tmp_path / "log.csv")
    model = _linear("torch")
    history = model.fit(X, Y, batch_size=4, epochs=2, verbose=0, validation_data=(X, Y),
                        callbacks=[callbacks.CSVLogger(path)])
    more = model.fit(X, Y, batch_size=4, epochs=1, verbose=0, validation_data=(X, Y),
                     callbacks=[callbacks.CSVLogger(path, append=True)])
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["epoch"] for r in rows] == ["0", "1", "0"]
    for row, (loss, val_loss) in zip(rows, zip(history.history["loss"] + more.history["loss"],
                                               history.history["val_loss"] + more.history["val_loss"])):
        assert float(row["loss"]) == loss and float(row["val_loss"]) == val_loss

    x = X.copy()
    x[5, 1] = np.nan   # second batch of the first epoch
    recorder = Recorder()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # fit's own note on a NaN loss
        history = model.fit(x, Y, batch_size=4, epochs=3, shuffle=False, verbose=0,
                            callbacks=[recorder, callbacks.TerminateOnNaN()])
    assert recorder.batches == [0, 1] and history.epoch == [0]
    assert np.isnan(history.history["loss"][0])


@pytest.mark.parametrize("verbose", [1, 2])
def test_progbar_logger_in_fit(verbose, capsys):
    model = _linear("torch")
    history = model.fit(X, Y, batch_size=2, epochs=2, verbose=verbose, validation_data=(X, Y))
    out = re.sub(r"\x1b\[[0-9;]*m", "", capsys.readouterr().out)
    lines = out.split("\n")
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2" and lines[4] == ""
    for epoch, line in ((0, lines[1]), (1, lines[3])):
        metrics = (f"- loss: {history.history['loss'][epoch]:.4f} - "
                   f"val_loss: {history.history['val_loss'][epoch]:.4f}")
        if verbose == 1:
            redraws = line.split("\r")[1:]   # redrawn in place (at most every 50 ms)
            assert redraws[0].startswith("1/4 ") and redraws[-1].startswith("4/4 ")
            assert re.fullmatch(r"4/4 ━{20} \d+s \d+(us|ms|s)/step " + re.escape(metrics) + " *",
                                redraws[-1]), redraws[-1]
            assert re.search(r"^1/4 ━{20} \d+s", redraws[0])   # ETA while running
        else:
            assert re.fullmatch(r"4/4 - \d+s - \d+(us|ms|s)/step " + re.escape(metrics), line), line


def test_swap_ema_weights_in_fit():
    momentum = 0.5
    model = _linear("torch", use_ema=True, ema_momentum=momentum)
    start = model.get_weights()
    recorder = Recorder()
    swap = callbacks.SwapEMAWeights(swap_on_epoch=True)
    model.fit(X, Y, batch_size=8, epochs=3, shuffle=False, verbose=0, callbacks=[swap, recorder])
    raw, averages = [w.astype("float64") for w in start], None
    for epoch in range(3):
        raw = _full_batch_sgd(raw, [0.1])
        averages = raw if averages is None else [momentum * a + (1 - momentum) * w
                                                 for a, w in zip(averages, raw)]
        _close(recorder.weights[epoch], averages)   # callbacks after the swap see the EMA
    _close(model.get_weights(), averages)           # and the model keeps it after fit


class Interrupted(Exception):
    """Stands for the process being killed."""


def _interrupt_at(epoch):
    def stop(e, logs=None):
        if e == epoch:
            raise Interrupted(f"interrupted at epoch {e}")
    return callbacks.LambdaCallback(on_epoch_begin=stop)


@pytest.mark.parametrize("backend", [b for b in ("torch", "jax") if b in FRAMEWORKS])
def test_backup_and_restore_resumes_to_the_same_weights(backend, tmp_path):
    backup = str(tmp_path / "backup")
    kwargs = dict(batch_size=4, epochs=4, shuffle=False, verbose=0)
    reference = _linear(backend, momentum=0.9)
    reference.fit(X, Y, **kwargs)

    first = _linear(backend, momentum=0.9)
    with pytest.raises(Interrupted):
        first.fit(X, Y, callbacks=[callbacks.BackupAndRestore(backup), _interrupt_at(2)], **kwargs)
    with open(os.path.join(backup, "training_metadata.json")) as f:
        metadata = json.load(f)
    assert metadata["epoch"] == 2 and metadata["batch"] == 0
    assert sorted(os.listdir(backup)) == ["model-2.safetensors", "optimizer-2.safetensors",
                                          "training_metadata.json"]

    # A new process: other initial weights, a fresh optimizer (momentum slots at zero).
    resumed = _linear(backend, seed=7, momentum=0.9)
    recorder = Recorder()
    resumed.fit(X, Y, callbacks=[callbacks.BackupAndRestore(backup), recorder], **kwargs)
    assert recorder.epochs == [2, 3], "fit must start at the epoch BackupAndRestore restored"
    _close(resumed.get_weights(), reference.get_weights())
    assert not os.path.exists(backup), "delete_checkpoint removes the backup after a full fit"


def test_backup_and_restore_batches_and_double_checkpoint(tmp_path):
    backup = str(tmp_path / "backup")
    kwargs = dict(batch_size=4, epochs=3, shuffle=False, verbose=0)

    def crash_in_epoch_1_batch_1(batch, logs=None):
        if recorder.epochs == [0] and batch == 1:
            raise Interrupted

    recorder = Recorder()
    model = _linear("torch", momentum=0.9)
    with pytest.raises(Interrupted):
        model.fit(X, Y, callbacks=[recorder, callbacks.LambdaCallback(
            on_train_batch_begin=crash_in_epoch_1_batch_1), callbacks.BackupAndRestore(
            backup, save_freq=1, double_checkpoint=True)], **kwargs)
    # Backups after batches 1, 2 (the end of epoch 0) and 3: the last two are kept.
    assert sorted(os.listdir(backup)) == [
        "model-2.safetensors", "model-3.safetensors", "optimizer-2.safetensors",
        "optimizer-3.safetensors", "training_metadata.json", "training_metadata.json.bkp"]
    with open(os.path.join(backup, "training_metadata.json")) as f:
        assert json.load(f) == {"epoch": 1, "batch": 0, "number": 3, "weights": "model-3.safetensors",
                                "optimizer": "optimizer-3.safetensors"}
    # A damaged latest backup falls back on the previous one (epoch 0 after its last batch).
    os.remove(os.path.join(backup, "model-3.safetensors"))
    restorer = callbacks.BackupAndRestore(backup, double_checkpoint=True)
    fresh = _linear("torch", seed=3, momentum=0.9)
    restorer.set_model(fresh)
    restorer.on_train_begin()
    _close(fresh.get_weights(), recorder.weights[0])
    assert fresh._initial_epoch == 0
    with pytest.raises(ValueError, match="save_freq"):
        callbacks.BackupAndRestore(backup, save_freq="sometimes")
