"""Losses and metrics on every backend vs NumPy formulas and vs Keras 3 (run once, in a
subprocess, as an oracle); configs, lookup, stateless state updates, jit."""
import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from unikeras import ops
from unikeras.common import losses, metrics
from unikeras.common.variables import Variable
from tests.conftest import FRAMEWORKS, to_backend

BACKENDS = ["numpy"] + FRAMEWORKS
R = np.random.default_rng(7)


def _f(*shape):
    return R.standard_normal(shape).astype("float32")


def _probs(*shape):
    p = R.uniform(0.05, 1.0, shape).astype("float32")
    return (p / p.sum(-1, keepdims=True) * 1.3).astype("float32")   # not normalized on purpose


def _onehot(labels, n):
    return np.eye(n, dtype="float32")[labels]


def _labels(*shape, n=3):
    return R.integers(0, n, shape).astype("int32")


def _w(*shape):
    return R.uniform(0.0, 2.0, shape).astype("float32")


L4 = _labels(4)
L23 = _labels(2, 3, n=4)
L4_IGN = np.array([1, 0, 1, 2], "int32")
P_EXTREME = np.array([[0.0, 1.0, 0.0], [0.5, 0.5, 0.0]], "float32")

# Loss objects: (id, class, kwargs, y_true, y_pred, sample_weight)
LOSS_CASES = [
    ("mse", "MeanSquaredError", {}, _f(4, 3), _f(4, 3), None),
    ("mse_sw", "MeanSquaredError", {}, _f(4, 3), _f(4, 3), _w(4)),
    ("mse_sum", "MeanSquaredError", {"reduction": "sum"}, _f(4, 3), _f(4, 3), _w(4)),
    ("mse_none", "MeanSquaredError", {"reduction": None}, _f(4, 3), _f(4, 3), None),
    ("mse_mean_sw", "MeanSquaredError", {"reduction": "mean_with_sample_weight"}, _f(4, 3), _f(4, 3), _w(4)),
    ("mse_rank", "MeanSquaredError", {}, _f(4), _f(4, 1), None),
    ("mse_3d", "MeanSquaredError", {"reduction": "mean"}, _f(2, 3, 4), _f(2, 3, 4), _w(2, 3)),
    ("cce", "CategoricalCrossentropy", {}, _onehot(L4, 3), _probs(4, 3), None),
    ("cce_logits_ls", "CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.1},
     _onehot(L4, 3), _f(4, 3), None),
    ("cce_sw", "CategoricalCrossentropy", {"from_logits": True}, _onehot(L4, 3), _f(4, 3), _w(4)),
    ("cce_3d", "CategoricalCrossentropy", {}, _onehot(L23, 4), _probs(2, 3, 4), None),
    ("cce_extreme", "CategoricalCrossentropy", {}, _onehot(np.array([0, 2]), 3), P_EXTREME, None),
    ("scce", "SparseCategoricalCrossentropy", {}, L4, _probs(4, 3), None),
    ("scce_logits_col", "SparseCategoricalCrossentropy", {"from_logits": True}, L4[:, None], _f(4, 3), _w(4)),
    ("scce_ignore", "SparseCategoricalCrossentropy", {"from_logits": True, "ignore_class": 1},
     L4_IGN, _f(4, 3), None),
    ("scce_ignore_probs_sw", "SparseCategoricalCrossentropy", {"ignore_class": 1}, L4_IGN, _probs(4, 3), _w(4)),
    ("scce_ignore_3d", "SparseCategoricalCrossentropy", {"from_logits": True, "ignore_class": 0},
     L23, _f(2, 3, 4), _w(2, 3)),
    ("scce_ignore_none", "SparseCategoricalCrossentropy",
     {"from_logits": True, "ignore_class": 2, "reduction": "none"}, L4_IGN, _f(4, 3), None),
    ("scce_extreme", "SparseCategoricalCrossentropy", {}, np.array([0, 2], "int32"), P_EXTREME, None),
]

# Loss functions: (id, function, kwargs, y_true, y_pred)
FN_CASES = [
    ("f_mse", "mean_squared_error", {}, _f(3, 5), _f(3, 5)),
    ("f_cce", "categorical_crossentropy", {"from_logits": True, "label_smoothing": 0.2},
     _onehot(L4, 3), _f(4, 3)),
    ("f_scce", "sparse_categorical_crossentropy", {"ignore_class": 1}, L4_IGN, _probs(4, 3)),
]

# Metrics: (id, class, kwargs, [(args, sample_weight), ...] successive update_state calls)
METRIC_CASES = [
    ("mean", "Mean", {}, [((_f(4),), None), ((_f(2),), _w(2)), ((np.float32(3.0),), None)]),
    ("mean_2d", "Mean", {}, [((_f(4, 3),), _w(4)), ((_f(2, 3),), None)]),
    ("sum", "Sum", {}, [((_f(4, 2),), _w(4)), ((_f(3),), None)]),
    ("acc", "Accuracy", {}, [((np.array([1, 2, 3, 4], "float32"), np.array([1, 2, 0, 4], "float32")), None),
                             ((np.array([[1], [2]], "float32"), np.array([1, 1], "float32")), _w(2))]),
    ("bin_acc", "BinaryAccuracy", {}, [((np.array([[1], [0], [1], [0]], "float32"), R.uniform(0, 1, (4, 1)).astype("float32")), None),
                                       ((np.array([1, 1, 0], "float32"), R.uniform(0, 1, 3).astype("float32")), _w(3))]),
    ("bin_acc_thr", "BinaryAccuracy", {"threshold": 0.7},
     [((np.array([[1, 0], [0, 1]], "float32"), R.uniform(0, 1, (2, 2)).astype("float32")), None)]),
    ("cat_acc", "CategoricalAccuracy", {}, [((_onehot(L4, 3), _probs(4, 3)), None),
                                            ((_onehot(L4[:2], 3), _probs(2, 3)), _w(2))]),
    ("cat_acc_3d", "CategoricalAccuracy", {}, [((_onehot(L23, 4), _probs(2, 3, 4)), _w(2))]),
    ("sparse_acc", "SparseCategoricalAccuracy", {}, [((L4[:, None], _probs(4, 3)), None),
                                                    ((L4, _probs(4, 3)), _w(4))]),
    ("sparse_acc_3d", "SparseCategoricalAccuracy", {}, [((L23, _probs(2, 3, 4)), None)]),
    ("mse_metric", "MeanSquaredError", {}, [((_f(4, 3), _f(4, 3)), None), ((_f(2, 3), _f(2, 3)), _w(2))]),
    ("cce_metric", "CategoricalCrossentropy", {"from_logits": True},
     [((_onehot(L4, 3), _f(4, 3)), _w(4))]),
    ("scce_metric", "SparseCategoricalCrossentropy", {"from_logits": True},
     [((L4, _f(4, 3)), None), ((L4[:2], _f(2, 3)), _w(2))]),
    ("scce_metric_ignore", "SparseCategoricalCrossentropy", {"ignore_class": 1},
     [((L4_IGN, _probs(4, 3)), None), ((L4_IGN, _probs(4, 3)), _w(4))]),
]

# get_config of freshly built objects, compared key for key with Keras's.
CONFIG_CASES = [
    ("losses", "MeanSquaredError", {}), ("losses", "CategoricalCrossentropy", {"label_smoothing": 0.2}),
    ("losses", "SparseCategoricalCrossentropy", {"ignore_class": 3, "reduction": "sum"}),
    ("metrics", "Mean", {}), ("metrics", "Sum", {}), ("metrics", "Accuracy", {}),
    ("metrics", "BinaryAccuracy", {"threshold": 0.3}), ("metrics", "CategoricalAccuracy", {}),
    ("metrics", "SparseCategoricalAccuracy", {}), ("metrics", "MeanSquaredError", {}),
    ("metrics", "CategoricalCrossentropy", {}), ("metrics", "SparseCategoricalCrossentropy", {}),
]


# --- the Keras oracle --------------------------------------------------------------------------
def _enc(x):
    return None if x is None else {"data": np.asarray(x).tolist(), "dtype": str(np.asarray(x).dtype)}


ORACLE = r"""
import json, sys
import numpy as np
import keras

def dec(x):
    return None if x is None else np.array(x["data"], dtype=x["dtype"])

spec = json.load(sys.stdin)
out = {}
for cid, cls, kw, yt, yp, sw in spec["loss"]:
    v = getattr(keras.losses, cls)(**kw)(dec(yt), dec(yp), sample_weight=dec(sw))
    out[cid] = np.asarray(keras.ops.convert_to_numpy(v)).tolist()
for cid, fn, kw, yt, yp in spec["fn"]:
    out[cid] = np.asarray(keras.ops.convert_to_numpy(getattr(keras.losses, fn)(dec(yt), dec(yp), **kw))).tolist()
for cid, cls, kw, updates in spec["metric"]:
    m = getattr(keras.metrics, cls)(**kw)
    for args, sw in updates:
        m.update_state(*[dec(a) for a in args], sample_weight=dec(sw))
    out[cid] = np.asarray(keras.ops.convert_to_numpy(m.result())).tolist()
for module, cls, kw in spec["config"]:
    out[module + "." + cls] = getattr(getattr(keras, module), cls)(**kw).get_config()
print("ORACLE:" + json.dumps(out))
"""


@pytest.fixture(scope="module")
def keras_ref():
    if importlib.util.find_spec("keras") is None:
        pytest.skip("keras is not installed")
    spec = {
        "loss": [(c[0], c[1], c[2], _enc(c[3]), _enc(c[4]), _enc(c[5])) for c in LOSS_CASES],
        "fn": [(c[0], c[1], c[2], _enc(c[3]), _enc(c[4])) for c in FN_CASES],
        "metric": [(c[0], c[1], c[2], [([_enc(a) for a in args], _enc(sw)) for args, sw in c[3]])
                   for c in METRIC_CASES],
        "config": CONFIG_CASES,
    }
    env = dict(os.environ, KERAS_BACKEND="numpy", TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, "-c", ORACLE], input=json.dumps(spec), env=env,
                          capture_output=True, text=True, timeout=300)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("ORACLE:")]
    assert lines, f"keras oracle failed:\n{proc.stderr[-3000:]}"
    return json.loads(lines[0][len("ORACLE:"):])


# --- running our side ---------------------------------------------------------------------------
def _t(x, backend):
    return None if x is None else to_backend(x, backend)


def _loss_value(case, backend):
    _, cls, kw, yt, yp, sw = case
    with ops.backend_scope(backend):
        # sample_weight stays NumPy: it must follow y_pred's backend.
        value = getattr(losses, cls)(**kw)(_t(yt, backend), _t(yp, backend), sample_weight=sw)
        return ops.convert_to_numpy(value)


def _metric_value(case, backend):
    _, cls, kw, updates = case
    with ops.backend_scope(backend):
        m = getattr(metrics, cls)(**kw)
        for args, sw in updates:
            m.update_state(*[_t(a, backend) for a in args], sample_weight=sw)
        return ops.convert_to_numpy(m.result())


def _close(actual, expected):
    np.testing.assert_allclose(np.asarray(actual, "float64"), np.asarray(expected, "float64"),
                               rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", LOSS_CASES, ids=[c[0] for c in LOSS_CASES])
def test_loss_matches_keras(case, backend, keras_ref):
    out = _loss_value(case, backend)
    assert out.dtype == np.float32
    _close(out, keras_ref[case[0]])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", FN_CASES, ids=[c[0] for c in FN_CASES])
def test_loss_function_matches_keras(case, backend, keras_ref):
    cid, fn, kw, yt, yp = case
    with ops.backend_scope(backend):
        out = ops.convert_to_numpy(getattr(losses, fn)(_t(yt, backend), _t(yp, backend), **kw))
    _close(out, keras_ref[cid])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", METRIC_CASES, ids=[c[0] for c in METRIC_CASES])
def test_metric_matches_keras(case, backend, keras_ref):
    _close(_metric_value(case, backend), keras_ref[case[0]])


@pytest.mark.parametrize("case", CONFIG_CASES, ids=[f"{c[0]}.{c[1]}" for c in CONFIG_CASES])
def test_config_matches_keras(case, keras_ref):
    module, cls, kw = case
    ours = getattr({"losses": losses, "metrics": metrics}[module], cls)(**kw).get_config()
    theirs = keras_ref[f"{module}.{cls}"]
    assert set(ours) == set(theirs)
    for k in ours:
        if k != "name":   # auto-generated names carry process-wide counters
            assert ours[k] == theirs[k], k


# --- NumPy formulas ------------------------------------------------------------------------------
EPS = 1e-7


def _np_log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def _np_log_probs(p):
    return np.log(np.clip(p / p.sum(-1, keepdims=True), EPS, 1 - EPS))


def test_formulas_mse_and_reductions():
    yt, yp, sw = _f(5, 3), _f(5, 3), _w(5)
    per_sample = ((yt - yp) ** 2).mean(-1)
    with ops.backend_scope("numpy"):
        _close(losses.mean_squared_error(yt, yp), per_sample)
        _close(losses.MeanSquaredError()(yt, yp), per_sample.mean())
        _close(losses.MeanSquaredError()(yt, yp, sample_weight=sw), (per_sample * sw).sum() / 5)
        _close(losses.MeanSquaredError(reduction="sum")(yt, yp, sw), (per_sample * sw).sum())
        _close(losses.MeanSquaredError(reduction="mean_with_sample_weight")(yt, yp, sw),
               (per_sample * sw).sum() / sw.sum())
        _close(losses.MeanSquaredError(reduction="none")(yt, yp, sw), per_sample * sw)


def test_formulas_crossentropies():
    labels, logits, probs = _labels(6), _f(6, 3), _probs(6, 3)
    onehot = _onehot(labels, 3)
    smooth = onehot * 0.9 + 0.1 / 3
    with ops.backend_scope("numpy"):
        _close(losses.CategoricalCrossentropy()(onehot, probs),
               -(onehot * _np_log_probs(probs)).sum(-1).mean())
        _close(losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)(onehot, logits),
               -(smooth * _np_log_softmax(logits)).sum(-1).mean())
        _close(losses.SparseCategoricalCrossentropy(from_logits=True)(labels, logits),
               -_np_log_softmax(logits)[np.arange(6), labels].mean())
        labels[:2] = 2
        per = -_np_log_probs(probs)[np.arange(6), labels]
        valid = labels != 2
        _close(losses.SparseCategoricalCrossentropy(ignore_class=2)(labels, probs),
               per[valid].sum() / valid.sum())


def test_formulas_accuracy_metrics():
    labels, probs = _labels(8), _probs(8, 3)
    sw = _w(8)
    hit = (probs.argmax(-1) == labels).astype("float32")
    with ops.backend_scope("numpy"):
        m = metrics.SparseCategoricalAccuracy()
        m.update_state(labels, probs, sample_weight=sw)
        _close(m.result(), (hit * sw).sum() / sw.sum())
        m = metrics.CategoricalAccuracy()
        m.update_state(_onehot(labels, 3), probs)
        _close(m.result(), hit.mean())
        yt = (R.uniform(size=8) > 0.5).astype("float32")
        yp = R.uniform(size=8).astype("float32")
        m = metrics.BinaryAccuracy(threshold=0.3)
        m.update_state(yt, yp)
        _close(m.result(), ((yp > 0.3) == yt).mean())


# --- behaviour --------------------------------------------------------------------------------------
def test_get_losses():
    assert losses.get("mse") is losses.mean_squared_error
    assert losses.get("mean_squared_error") is losses.mean_squared_error
    assert losses.get("categorical_crossentropy") is losses.categorical_crossentropy
    assert losses.get("sparse_categorical_crossentropy") is losses.sparse_categorical_crossentropy
    assert isinstance(losses.get("CategoricalCrossentropy"), losses.CategoricalCrossentropy)
    assert isinstance(losses.get(losses.MeanSquaredError), losses.MeanSquaredError)
    inst = losses.SparseCategoricalCrossentropy()
    assert losses.get(inst) is inst
    fn = lambda a, b: a  # noqa: E731
    assert losses.get(fn) is fn
    assert losses.get(None) is None
    got = losses.get({"class_name": "CategoricalCrossentropy", "config": {"from_logits": True}})
    assert got.from_logits is True
    assert losses.get(losses.serialize(losses.mean_squared_error)) is losses.mean_squared_error
    with pytest.raises(ValueError, match="loss identifier"):
        losses.get("no_such_loss")


def test_get_metrics():
    assert isinstance(metrics.get("accuracy"), metrics.Accuracy)
    assert isinstance(metrics.get("sparse_categorical_accuracy"), metrics.SparseCategoricalAccuracy)
    assert isinstance(metrics.get("mse"), metrics.MeanSquaredError)
    assert isinstance(metrics.get("BinaryAccuracy"), metrics.BinaryAccuracy)
    assert isinstance(metrics.get(metrics.Mean), metrics.Mean)
    m = metrics.Sum()
    assert metrics.get(m) is m
    restored = metrics.get(metrics.serialize(metrics.BinaryAccuracy(threshold=0.2)))
    assert restored.threshold == 0.2
    with pytest.raises(ValueError, match="metric identifier"):
        metrics.get("nope")


def test_config_round_trips():
    for obj in (losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.3, axis=-1),
                losses.SparseCategoricalCrossentropy(ignore_class=4, reduction="sum"),
                losses.LossFunctionWrapper(losses.mean_squared_error, name="wrapped")):
        again = type(obj).from_config(obj.get_config())
        assert again.get_config() == obj.get_config()
    wrapper = metrics.MeanMetricWrapper(metrics.binary_accuracy, name="ba", threshold=0.4)
    again = metrics.MeanMetricWrapper.from_config(wrapper.get_config())
    assert again._fn is metrics.binary_accuracy and again._fn_kwargs == {"threshold": 0.4}


def test_bad_arguments():
    with pytest.raises(ValueError, match="reduction"):
        losses.MeanSquaredError(reduction="average")
    with ops.backend_scope("numpy"):
        with pytest.raises(ValueError, match="same shape"):
            losses.categorical_crossentropy(_onehot(L4, 3), _probs(4, 4))
        with pytest.raises(ValueError, match="class axis"):
            losses.sparse_categorical_crossentropy(_labels(5), _probs(4, 3))


@pytest.mark.parametrize("backend", BACKENDS)
def test_metric_state_and_stateless(backend):
    yt, yp, sw = _labels(6), _probs(6, 3), _w(6)
    with ops.backend_scope(backend):
        m = metrics.SparseCategoricalAccuracy()
        assert all(isinstance(v, Variable) and not v.trainable for v in m.variables)
        assert [v.path for v in m.variables] == [f"{m.name}/total", f"{m.name}/count"]
        state = m.stateless_reset_state()
        state = m.stateless_update_state(state, _t(yt, backend), _t(yp, backend), sample_weight=sw)
        stateless = ops.convert_to_numpy(m.stateless_result(state))
        assert float(ops.convert_to_numpy(m.result())) == 0.0   # storage untouched
        m.update_state(_t(yt, backend), _t(yp, backend), sample_weight=sw)
        _close(ops.convert_to_numpy(m.result()), stateless)
        _close([ops.convert_to_numpy(v.value) for v in m.variables],
               [ops.convert_to_numpy(s) for s in state])
        m.reset_state()
        assert float(ops.convert_to_numpy(m.count.value)) == 0.0
        with pytest.raises(ValueError, match="expected 2"):
            m.stateless_result(state[:1])


def test_metric_subclass_and_call():
    class Count(metrics.Metric):
        def __init__(self, name="count", dtype=None):
            super().__init__(name=name, dtype=dtype)
            self.n = self.add_variable((), "zeros", name="n")
            self.inner = metrics.Sum()

        def update_state(self, x):
            self.n.assign(self.n.value + 1)
            self.inner.update_state(x)

        def result(self):
            return self.n.value

    with ops.backend_scope("numpy"):
        c = Count()
        assert len(c.variables) == 2   # its own and the sub-metric's
        assert float(c(np.ones(3, "float32"))) == 1.0
        assert float(c.inner.result()) == 3.0
        c.reset_state()
        assert float(c.inner.result()) == 0.0


@pytest.mark.skipif("jax" not in FRAMEWORKS, reason="jax is not installed")
def test_under_jax_jit():
    import jax
    yt, yp, sw = _labels(5), _f(5, 3), _w(5)
    loss = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=1)
    with ops.backend_scope("jax"):
        eager = ops.convert_to_numpy(loss(to_backend(yt, "jax"), to_backend(yp, "jax"), sw))
        jitted = jax.jit(lambda a, b, w: loss(a, b, w))(yt, yp, sw)
        _close(jitted, eager)
        m = metrics.SparseCategoricalAccuracy()
        step = jax.jit(lambda state, a, b: m.stateless_update_state(state, a, b))
        state = step([v.value for v in m.variables], yt, yp)
        _close(m.stateless_result(state), (yp.argmax(-1) == yt).mean())


@pytest.mark.skipif("tensorflow" not in FRAMEWORKS, reason="tensorflow is not installed")
def test_under_tf_function():
    import tensorflow as tf
    yt, yp = _onehot(L4, 3), _f(4, 3)
    loss = losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
    with ops.backend_scope("tensorflow"):
        eager = ops.convert_to_numpy(loss(to_backend(yt, "tensorflow"), to_backend(yp, "tensorflow")))
        graph = tf.function(lambda a, b: loss(a, b))(tf.constant(yt), tf.constant(yp))
        _close(graph.numpy(), eager)

        # Unknown batch size at trace time: reductions and counts go dynamic.
        sparse = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0)
        m = metrics.Mean()

        def step(state, labels, logits, sw):
            value = sparse(labels, logits, sample_weight=sw)
            return value, m.stateless_update_state(state, logits)

        spec = [[tf.TensorSpec([]), tf.TensorSpec([])], tf.TensorSpec([None], tf.int32),
                tf.TensorSpec([None, 3]), tf.TensorSpec([None])]
        value, state = tf.function(step, input_signature=spec)([0.0, 0.0], L4_IGN, yp, _w(4) * 0 + 1)
        _close(value.numpy(), ops.convert_to_numpy(sparse(L4_IGN, to_backend(yp, "tensorflow"))))
        _close([s.numpy() for s in state], [yp.mean(-1).sum(), 4.0])
