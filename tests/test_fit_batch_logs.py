"""Per-batch logs in fit and evaluate: a callback overriding a batch hook gets, after every
batch, the running means of the loss and metrics; when no callback reads them (verbose=0,
or verbose=2 whose bar shows no batch logs), an eager step skips every metric's `result()`
per batch (counted); Mean's path for a scalar and a scalar weight (the loss tracker's) adds
what its general path adds.

A linear model under SGD with learning rate 0 keeps its weights, so every expected value is
a NumPy (float64) mean over the batches seen, compared with float32 tolerances."""
import numpy as np
import pytest

import unikeras as uk
from unikeras import callbacks, layers, ops
from unikeras.common.metrics import reduction
from tests.conftest import FRAMEWORKS

X = (np.arange(30, dtype="float32").reshape(10, 3) % 7 - 3) / 4
Y = np.stack([X.sum(1), X[:, 0] - 2 * X[:, 2]], 1).astype("float32") + 0.25
BATCH = 4   # batches of 4, 4 and 2 samples: the running means are weighted by batch size


def _model(backend, model_class=None, run_eagerly=False):
    uk.utils.set_random_seed(0)
    with ops.backend_scope(backend):
        model = (model_class or uk.Sequential)([uk.Input((3,)), layers.Dense(2)])
    model.compile(optimizer=uk.optimizers.SGD(learning_rate=0.0), loss="mse", metrics=["mae"],
                  run_eagerly=run_eagerly)
    return model


def _running_means(model, x=X, y=Y):
    """{"loss": [...], "mae": [...]}: the running means after each batch, in float64."""
    kernel, bias = [w.astype("float64") for w in model.get_weights()]
    err = x.astype("float64") @ kernel + bias - y.astype("float64")
    out, seen = {"loss": [], "mae": []}, 0
    sums = {"loss": 0.0, "mae": 0.0}
    for start in range(0, len(x), BATCH):
        e = err[start:start + BATCH]
        sums["loss"] += (e ** 2).mean(1).sum()
        sums["mae"] += np.abs(e).mean(1).sum()
        seen += len(e)
        for k in out:
            out[k].append(sums[k] / seen)
    return out


class BatchLogs(callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.train, self.test = [], []

    def on_train_batch_end(self, batch, logs=None):
        self.train.append((batch, dict(logs)))

    def on_test_batch_end(self, batch, logs=None):
        self.test.append((batch, dict(logs)))


class OldHookName(callbacks.Callback):
    """The tf.keras-1 name of the hook, reached through on_train_batch_end."""

    def __init__(self):
        super().__init__()
        self.logs = []

    def on_batch_end(self, batch, logs=None):
        self.logs.append((batch, dict(logs)))


def _check_logs(got, want, steps):
    assert [b for b, _ in got] == list(steps)
    for k in ("loss", "mae"):
        np.testing.assert_allclose([logs[k] for _, logs in got], want[k], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_batch_hooks_get_the_running_means(backend):
    model = _model(backend)
    reader, old = BatchLogs(), OldHookName()
    history = model.fit(X, Y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0,
                        callbacks=[reader, old])
    want = _running_means(model)
    twice = {k: v * 2 for k, v in want.items()}   # the means restart every epoch
    _check_logs(reader.train, twice, [0, 1, 2] * 2)
    _check_logs(old.logs, twice, [0, 1, 2] * 2)
    np.testing.assert_allclose(history.history["loss"], [want["loss"][-1]] * 2, rtol=1e-5)
    model.evaluate(X, Y, batch_size=BATCH, verbose=0, callbacks=[reader])
    _check_logs(reader.test, want, [0, 1, 2])


def _count_results(monkeypatch):
    """A list that grows by one at every Mean.result() (the loss tracker's and mae's)."""
    calls, result = [], reduction.Mean.result

    def counting(self):
        calls.append(self.name)
        return result(self)
    monkeypatch.setattr(reduction.Mean, "result", counting)
    return calls


class CountingComputeMetrics(uk.Sequential):
    """Overrides compute_metrics: it must still run, and return its logs, every batch."""
    batches = 0

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        type(self).batches += 1
        return super().compute_metrics(x, y, y_pred, sample_weight)


class ReadsStepLogs(uk.Sequential):
    """Overrides train_step and reads the logs of the built-in one: they must be there."""

    def train_step(self, data):
        logs = super().train_step(data)
        assert set(logs) == {"loss", "mae"}
        return logs


@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_eager_steps_skip_unread_batch_results(backend, monkeypatch, capsys):
    eager = backend != "torch"   # torch steps are eager anyway; the others only when asked
    CountingComputeMetrics.batches = 0
    model = _model(backend, run_eagerly=eager)
    calls = _count_results(monkeypatch)
    per_epoch = 2   # loss and mae, once each at the end of an epoch

    model.fit(X, Y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
    assert len(calls) == 2 * per_epoch
    del calls[:]
    history = model.fit(X, Y, batch_size=BATCH, epochs=2, shuffle=False, verbose=2)
    assert len(calls) == 2 * per_epoch
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out and "loss:" in out
    np.testing.assert_allclose(history.history["mae"], [_running_means(model)["mae"][-1]] * 2,
                               rtol=1e-5)
    del calls[:]
    model.evaluate(X, Y, batch_size=BATCH, verbose=0)
    assert len(calls) == per_epoch
    del calls[:]
    model.fit(X, Y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0, callbacks=[BatchLogs()])
    assert len(calls) == 2 * (3 + 1) * per_epoch   # every batch, and every epoch's end

    del calls[:]
    reading = _model(backend, ReadsStepLogs, run_eagerly=eager)
    history = reading.fit(X, Y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    assert len(calls) == (3 + 1) * per_epoch and history.history["loss"]

    overriding = _model(backend, CountingComputeMetrics, run_eagerly=eager)
    reader = BatchLogs()
    overriding.fit(X, Y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    overriding.fit(X, Y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0, callbacks=[reader])
    assert CountingComputeMetrics.batches == 6
    _check_logs(reader.train, _running_means(overriding), [0, 1, 2])


@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_mean_of_weighted_scalars(backend):
    values = np.array([0.5, -1.25, 3.0], "float32")
    with ops.backend_scope(backend):
        mean = uk.metrics.Mean()
        mean.update_state(ops.convert_to_tensor(values[0]), sample_weight=4)
        mean.update_state(ops.convert_to_tensor(values[1]), sample_weight=ops.convert_to_tensor(
            np.float32(2.0)))
        mean.update_state(float(values[2]), sample_weight=0.5)
        mean.update_state(ops.convert_to_tensor(values), sample_weight=np.array([1.0, 0.0, 2.0]))
        got = [float(ops.convert_to_numpy(v)) for v in (mean.total, mean.count, mean.result())]
    w = np.array([4, 2, 0.5, 1, 0, 2])
    v = np.concatenate([values, values]).astype("float64")
    np.testing.assert_allclose(got, [(v * w).sum(), w.sum(), (v * w).sum() / w.sum()], rtol=1e-6)


class CountingTrainStep(uk.Sequential):
    """Counts the Python runs of train_step: one per trace of a compiled step."""
    runs = 0

    def train_step(self, data):
        type(self).runs += 1
        return super().train_step(data)


@pytest.mark.skipif("tensorflow" not in FRAMEWORKS, reason="needs tensorflow")
def test_tf_step_traced_once_per_argument_structure():
    CountingTrainStep.runs = 0
    model = _model("tensorflow", CountingTrainStep)
    model.fit(X, Y, batch_size=BATCH, epochs=2, verbose=0)   # the last batch is partial
    assert CountingTrainStep.runs == 1
    model.train_on_batch(X[:3], Y[:3], sample_weight=np.ones(3, "float32"))   # (x, y, sw)
    model.train_on_batch(X[:5], Y[:5])
    assert CountingTrainStep.runs == 2
    logs = BatchLogs()
    model.fit(X, Y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0, callbacks=[logs])
    assert CountingTrainStep.runs == 2
    _check_logs(logs.train, _running_means(model), [0, 1, 2])
