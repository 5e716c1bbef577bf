"""TensorBoard event files read back with TensorBoard's own EventAccumulator: tags, steps
and values of epoch and batch scalars, the learning rate and weight histograms, written by
TensorBoard's writer and by tensorboardX's."""
import os

import numpy as np
import pytest

import unikeras as uk
from unikeras import callbacks, layers, ops
from unikeras.common.callbacks import event_writer

event_accumulator = pytest.importorskip(
    "tensorboard.backend.event_processing.event_accumulator",
    reason="the tensorboard package (unikeras[tensorboard]) reads the event files")

X = (np.arange(24, dtype="float32").reshape(8, 3) % 5 - 2) / 4
Y = np.stack([X.sum(1), X[:, 0] - X[:, 2]], 1).astype("float32")


def _read(directory):
    accumulator = event_accumulator.EventAccumulator(
        str(directory), size_guidance={event_accumulator.SCALARS: 0,
                                       event_accumulator.HISTOGRAMS: 0})
    accumulator.Reload()
    return accumulator


def _scalars(accumulator, tag):
    return [(e.step, e.value) for e in accumulator.Scalars(tag)]


def _fit(log_dir, **kwargs):
    uk.utils.set_random_seed(0)
    with ops.backend_scope("torch"):
        model = uk.Sequential([uk.Input((3,)), layers.Dense(2, name="dense")], name="tb")
    model.compile(optimizer=uk.optimizers.SGD(0.05), loss="mse")
    weights = []
    recorder = callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: weights.append(model.get_weights()))
    board = callbacks.TensorBoard(str(log_dir), **kwargs)
    batch_losses = []
    batches = callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: batch_losses.append(logs["loss"]))
    history = model.fit(X, Y, batch_size=4, epochs=3, shuffle=False, verbose=0,
                        validation_data=(X[::-1] * 2, Y), callbacks=[recorder, batches, board])
    return history.history, weights, batch_losses


@pytest.mark.parametrize("writer", ["tensorboard", "tensorboardX"])
def test_tensorboard_event_files(writer, tmp_path, monkeypatch):
    if writer == "tensorboardX":
        pytest.importorskip("tensorboardX")
        # The TensorBoard writer is preferred: make it unavailable to reach tensorboardX's.
        def no_tensorboard(logdir):
            raise ImportError("tensorboard hidden by the test")
        monkeypatch.setattr(event_writer, "_TensorBoardWriter", no_tensorboard)
    history, weights, batch_losses = _fit(tmp_path, histogram_freq=2, update_freq=2)
    assert sorted(os.listdir(tmp_path)) == ["train", "validation"]

    train = _read(tmp_path / "train")
    tags = train.Tags()
    assert sorted(tags["scalars"]) == ["batch_loss", "epoch_learning_rate", "epoch_loss"]
    for (step, value), expected in zip(_scalars(train, "epoch_loss"), history["loss"]):
        assert value == pytest.approx(expected, rel=1e-6)
    assert [s for s, _ in _scalars(train, "epoch_loss")] == [0, 1, 2]
    assert _scalars(train, "epoch_learning_rate") == [(e, pytest.approx(0.05)) for e in range(3)]
    # Six batches in all, numbered from 1 across epochs; every second one is written.
    assert [s for s, _ in _scalars(train, "batch_loss")] == [2, 4, 6]
    assert [v for _, v in _scalars(train, "batch_loss")] == pytest.approx(batch_losses[1::2],
                                                                          rel=1e-6)

    assert sorted(tags["histograms"]) == ["tb/dense/bias/histogram", "tb/dense/kernel/histogram"]
    kernels = train.Histograms("tb/dense/kernel/histogram")
    assert [h.step for h in kernels] == [0, 2]   # histogram_freq=2
    for h, epoch in zip(kernels, (0, 2)):
        kernel = weights[epoch][0].astype("float64")
        value = h.histogram_value
        assert value.num == kernel.size and sum(value.bucket) == kernel.size
        assert value.min == pytest.approx(kernel.min(), rel=1e-6)
        assert value.max == pytest.approx(kernel.max(), rel=1e-6)
        assert value.sum == pytest.approx(kernel.sum(), rel=1e-5, abs=1e-6)
        assert value.sum_squares == pytest.approx((kernel ** 2).sum(), rel=1e-5)

    validation = _read(tmp_path / "validation")
    # fit's validation runs through the callbacks, so, as in Keras, on_test_end also writes
    # the evaluation_*_vs_iterations scalars (at the optimizer's step count).
    assert sorted(validation.Tags()["scalars"]) == ["epoch_loss", "evaluation_loss_vs_iterations"]
    for tag in ("epoch_loss", "evaluation_loss_vs_iterations"):
        assert [v for _, v in _scalars(validation, tag)] == pytest.approx(
            history["val_loss"], rel=1e-6)


def test_tensorboard_epoch_only_and_options(tmp_path):
    history, _, _ = _fit(tmp_path, write_steps_per_second=True)
    train = _read(tmp_path / "train")
    assert sorted(train.Tags()["scalars"]) == ["epoch_learning_rate", "epoch_loss",
                                                "epoch_steps_per_second"]
    assert all(v > 0 for _, v in _scalars(train, "epoch_steps_per_second"))
    assert train.Tags()["histograms"] == []
    board = callbacks.TensorBoard(str(tmp_path))
    assert "on_train_batch_end" not in vars(board), "no batch hook when nothing is per batch"
    with pytest.raises(ValueError, match="update_freq"):
        callbacks.TensorBoard(update_freq="often")
    with pytest.raises(NotImplementedError, match="profile_batch"):
        callbacks.TensorBoard(profile_batch=2)


def test_missing_writer_names_the_extra(monkeypatch):
    def missing(logdir):
        raise ImportError("absent")
    monkeypatch.setattr(event_writer, "_TensorBoardWriter", missing)
    monkeypatch.setattr(event_writer, "_TensorBoardXWriter", missing)
    with pytest.raises(ImportError, match=r"pip install unikeras\[tensorboard\]"):
        event_writer.open_event_writer("unused")
