"""Optimizers: a few steps on fixed gradients vs NumPy formulas and vs Keras 3 (one
subprocess oracle); stateless_apply == apply; jit; configs and lookup."""
import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from unikeras import ops
from unikeras.common import optimizers
from unikeras.common.variables import Variable
from tests.conftest import FRAMEWORKS, to_backend

BACKENDS = ["numpy"] + FRAMEWORKS
R = np.random.default_rng(3)
INIT = [R.standard_normal((3, 2)).astype("float32"), R.standard_normal(2).astype("float32")]
STEPS = 6
GRADS = [[R.standard_normal(x.shape).astype("float32") for x in INIT] for _ in range(STEPS)]

CASES = [
    ("sgd", "SGD", {"learning_rate": 0.1}),
    ("sgd_momentum", "SGD", {"learning_rate": 0.1, "momentum": 0.9}),
    ("sgd_nesterov", "SGD", {"learning_rate": 0.05, "momentum": 0.8, "nesterov": True}),
    ("adam", "Adam", {}),
    ("adam_custom", "Adam", {"learning_rate": 0.1, "beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-5}),
    ("adam_amsgrad", "Adam", {"learning_rate": 0.1, "amsgrad": True}),
    ("adam_weight_decay", "Adam", {"learning_rate": 0.05, "weight_decay": 0.1}),
    ("sgd_clipnorm", "SGD", {"learning_rate": 0.1, "clipnorm": 0.5}),
    ("sgd_clipvalue", "SGD", {"learning_rate": 0.1, "clipvalue": 0.3}),
    ("adam_global_clipnorm", "Adam", {"learning_rate": 0.1, "global_clipnorm": 1.0}),
    ("sgd_ema", "SGD", {"learning_rate": 0.1, "use_ema": True, "ema_momentum": 0.9,
                        "ema_overwrite_frequency": 3}),
    ("adam_accumulation", "Adam", {"learning_rate": 0.1, "gradient_accumulation_steps": 2}),
    ("sgd_accumulation_wd", "SGD", {"learning_rate": 0.1, "momentum": 0.5, "weight_decay": 0.2,
                                    "gradient_accumulation_steps": 3}),
    ("sgd_loss_scale", "SGD", {"learning_rate": 0.1, "momentum": 0.5, "loss_scale_factor": 4.0}),
    ("rmsprop", "RMSprop", {}),
    ("rmsprop_centered", "RMSprop", {"learning_rate": 0.01, "momentum": 0.9, "centered": True}),
]

ORACLE = r"""
import json, sys
import numpy as np
import keras

spec = json.load(sys.stdin)
init = [np.array(x, "float32") for x in spec["init"]]
grads = [[np.array(g, "float32") for g in step] for step in spec["grads"]]
out = {}
for cid, cls, kw in spec["cases"]:
    variables = [keras.Variable(x, name=n) for x, n in zip(init, ("w", "b"))]
    opt = getattr(keras.optimizers, cls)(**kw)
    for step in grads:
        opt.apply_gradients(zip(step, variables))
    out[cid] = {
        "weights": [np.asarray(v.numpy(), "float64").tolist() for v in variables],
        "slots": [np.asarray(v.numpy(), "float64").tolist() for v in opt.variables],
        "names": [v.name for v in opt.variables],
        "config": opt.get_config(),
    }
print("ORACLE:" + json.dumps(out))
"""


@pytest.fixture(scope="module")
def keras_ref():
    if importlib.util.find_spec("keras") is None:
        pytest.skip("keras is not installed")
    spec = {"init": [x.tolist() for x in INIT], "grads": [[g.tolist() for g in s] for s in GRADS],
            "cases": CASES}
    env = dict(os.environ, KERAS_BACKEND="numpy", TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, "-c", ORACLE], input=json.dumps(spec), env=env,
                          capture_output=True, text=True, timeout=300)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("ORACLE:")]
    assert lines, f"keras oracle failed:\n{proc.stderr[-3000:]}"
    return json.loads(lines[0][len("ORACLE:"):])


def _np(x):
    return np.asarray(ops.convert_to_numpy(x), "float64")


def _make(backend, cls, kw):
    with ops.backend_scope(backend):
        variables = [Variable(x.copy(), name=n) for x, n in zip(INIT, ("w", "b"))]
        return variables, getattr(optimizers, cls)(**kw)


def _run(backend, cls, kw, steps=STEPS):
    variables, opt = _make(backend, cls, kw)
    with ops.backend_scope(backend):
        for step in GRADS[:steps]:
            opt.apply_gradients(zip([to_backend(g, backend) for g in step], variables))
    return variables, opt


def _close(a, b, rtol=1e-5, atol=1e-6):
    np.testing.assert_allclose(np.asarray(a, "float64"), np.asarray(b, "float64"), rtol=rtol, atol=atol)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_matches_keras(case, backend, keras_ref):
    cid, cls, kw = case
    variables, opt = _run(backend, cls, kw)
    ref = keras_ref[cid]
    for v, expected in zip(variables, ref["weights"]):
        _close(_np(v.value), expected)
    assert [v.name for v in opt.variables] == ref["names"]
    assert len(opt.variables) == len(ref["slots"])
    for v, expected in zip(opt.variables, ref["slots"]):
        _close(_np(v.value), expected)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_config_matches_keras(case, keras_ref):
    cid, cls, kw = case
    ours = getattr(optimizers, cls)(**kw).get_config()
    theirs = keras_ref[cid]["config"]
    assert set(ours) == set(theirs)
    assert {k: v for k, v in ours.items() if k != "name"} == {
        k: v for k, v in theirs.items() if k != "name"}


# --- NumPy formulas --------------------------------------------------------------------------------
def _np_sgd(lr, momentum=0.0, nesterov=False):
    ws = [x.astype("float64") for x in INIT]
    ms = [np.zeros_like(w) for w in ws]
    for step in GRADS:
        for i, g in enumerate(step):
            if momentum:
                ms[i] = ms[i] * momentum - g * lr
                ws[i] = ws[i] + (ms[i] * momentum - g * lr if nesterov else ms[i])
            else:
                ws[i] = ws[i] - g * lr
    return ws


def _np_adam(lr=0.001, b1=0.9, b2=0.999, eps=1e-7, amsgrad=False):
    ws = [x.astype("float64") for x in INIT]
    m, v, vh = ([np.zeros_like(w) for w in ws] for _ in range(3))
    for t, step in enumerate(GRADS, start=1):
        alpha = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        for i, g in enumerate(step):
            m[i] += (g - m[i]) * (1 - b1)
            v[i] += (g * g - v[i]) * (1 - b2)
            vh[i] = np.maximum(vh[i], v[i])
            ws[i] = ws[i] - m[i] * alpha / (np.sqrt(vh[i] if amsgrad else v[i]) + eps)
    return ws


FORMULAS = [
    ("SGD", {"learning_rate": 0.1}, lambda: _np_sgd(0.1)),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9}, lambda: _np_sgd(0.1, 0.9)),
    ("SGD", {"learning_rate": 0.05, "momentum": 0.8, "nesterov": True}, lambda: _np_sgd(0.05, 0.8, True)),
    ("Adam", {}, lambda: _np_adam()),
    ("Adam", {"learning_rate": 0.1, "beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-5},
     lambda: _np_adam(0.1, 0.8, 0.99, 1e-5)),
    ("Adam", {"learning_rate": 0.1, "amsgrad": True}, lambda: _np_adam(0.1, amsgrad=True)),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("cls,kw,formula", FORMULAS, ids=[f"{c}-{k}" for c, k, _ in FORMULAS])
def test_matches_numpy_formula(cls, kw, formula, backend):
    variables, opt = _run(backend, cls, kw)
    for v, expected in zip(variables, formula()):   # float32 steps vs a float64 formula
        _close(_np(v.value), expected, atol=1e-5)
    assert int(_np(opt.iterations.value)) == STEPS


# --- functional API and compilation ------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("cls,kw", [("SGD", {"momentum": 0.9, "nesterov": True}),
                                    ("Adam", {"amsgrad": True, "weight_decay": 0.01}),
                                    ("Adam", {"gradient_accumulation_steps": 2, "use_ema": True})])
def test_stateless_apply_equals_apply(cls, kw, backend):
    eager_vars, eager = _run(backend, cls, kw, steps=3)
    variables, opt = _make(backend, cls, kw)
    with ops.backend_scope(backend):
        opt.build(variables)
        values = [v.value for v in variables]
        state = [v.value for v in opt.variables]
        for step in GRADS[:3]:
            values, state = opt.stateless_apply(state, [to_backend(g, backend) for g in step], values)
    for v, x in zip(variables, INIT):
        _close(_np(v.value), x)   # storage untouched
    assert int(_np(opt._iterations.value)) == 0
    for v, new in zip(eager_vars, values):
        _close(_np(new), _np(v.value))
    for v, new in zip(eager.variables, state):
        _close(_np(new), _np(v.value))


@pytest.mark.skipif("jax" not in FRAMEWORKS, reason="jax is not installed")
def test_stateless_apply_under_jax_jit():
    import jax
    eager_vars, _ = _run("jax", "Adam", {"learning_rate": 0.1, "clipnorm": 1.0}, steps=3)
    variables, opt = _make("jax", "Adam", {"learning_rate": 0.1, "clipnorm": 1.0})
    with ops.backend_scope("jax"):
        opt.build(variables)
        step = jax.jit(opt.stateless_apply)
        values, state = [v.value for v in variables], [v.value for v in opt.variables]
        for grads in GRADS[:3]:
            values, state = step(state, grads, values)
    for v, new in zip(eager_vars, values):
        _close(_np(new), _np(v.value))


@pytest.mark.skipif("tensorflow" not in FRAMEWORKS, reason="tensorflow is not installed")
def test_stateless_apply_under_tf_function():
    import tensorflow as tf
    kw = {"learning_rate": 0.1, "momentum": 0.9, "gradient_accumulation_steps": 2}
    eager_vars, _ = _run("tensorflow", "SGD", kw, steps=4)
    variables, opt = _make("tensorflow", "SGD", kw)
    with ops.backend_scope("tensorflow"):
        opt.build(variables)
        step = tf.function(opt.stateless_apply)
        values, state = [v.value for v in variables], [v.value for v in opt.variables]
        for grads in GRADS[:4]:
            values, state = step(state, [tf.constant(g) for g in grads], values)
    for v, new in zip(eager_vars, values):
        _close(_np(new), _np(v.value))


@pytest.mark.skipif("torch" not in FRAMEWORKS, reason="torch is not installed")
def test_optimizer_made_before_its_backend_is_known():
    with ops.backend_scope("numpy"):
        opt = optimizers.Adam(0.1)
    variables, _ = _make("torch", "SGD", {})
    with ops.backend_scope("torch"):
        opt.apply_gradients(zip([to_backend(g, "torch") for g in GRADS[0]], variables))
    assert all(type(v.value).__module__.startswith("torch") for v in opt.variables)
    assert [v.name for v in opt.variables][:2] == ["iteration", "learning_rate"]
    assert int(_np(opt.iterations.value)) == 1


# --- learning rate, lookup, config, errors -----------------------------------------------------------
class _Halving:
    """A schedule object: called with the iteration count."""

    def __call__(self, step):
        return 0.1 * ops.power(0.5, ops.cast(step, "float32"))

    def get_config(self):
        return {}


def test_learning_rate_variable_schedule_and_setter():
    with ops.backend_scope("numpy"):
        opt = optimizers.SGD(learning_rate=0.5)
        assert isinstance(opt.learning_rate, Variable)
        opt.learning_rate = 0.25
        assert float(opt.learning_rate.numpy()) == 0.25
        w = Variable(np.ones(2, "float32"), name="w")
        opt = optimizers.SGD(learning_rate=_Halving())
        for _ in range(3):
            opt.apply_gradients([(np.ones(2, "float32"), w)])
        _close(w.numpy(), 1 - (0.1 + 0.05 + 0.025))
        assert [v.name for v in opt.variables] == ["iteration"]
        with pytest.raises(TypeError, match="schedule"):
            opt.learning_rate = 0.1
        opt = optimizers.SGD(learning_rate=lambda: 0.2)
        w = Variable(np.ones(2, "float32"), name="w")
        opt.apply_gradients([(np.ones(2, "float32"), w)])
        _close(w.numpy(), 0.8)


def test_get():
    assert isinstance(optimizers.get("sgd"), optimizers.SGD)
    assert isinstance(optimizers.get("SGD"), optimizers.SGD)
    assert isinstance(optimizers.get("adam"), optimizers.Adam)
    assert isinstance(optimizers.get("rmsprop"), optimizers.RMSprop)
    assert isinstance(optimizers.get(optimizers.Adam), optimizers.Adam)
    opt = optimizers.SGD()
    assert optimizers.get(opt) is opt
    again = optimizers.get(optimizers.serialize(optimizers.Adam(learning_rate=0.5, amsgrad=True)))
    assert again.amsgrad is True and again.get_config()["learning_rate"] == 0.5
    with pytest.raises(ValueError, match="Unknown optimizer"):
        optimizers.get("nope")
    with pytest.raises(ValueError, match="optimizer identifier"):
        optimizers.get(3)


def test_config_round_trip_and_defaults():
    opt = optimizers.Adam(learning_rate=0.01, beta_1=0.8, clipvalue=2.0, name="my_adam")
    again = optimizers.Adam.from_config(opt.get_config())
    assert again.get_config() == opt.get_config()
    assert optimizers.SGD().get_config()["learning_rate"] == pytest.approx(0.01)
    assert optimizers.Adam().epsilon == 1e-7


def test_bad_arguments():
    with pytest.raises(ValueError, match="Only one of"):
        optimizers.SGD(clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(ValueError, match="momentum"):
        optimizers.SGD(momentum=1)
    with pytest.raises(ValueError, match="not recognized"):
        optimizers.Adam(beta=0.9)
    with pytest.raises(ValueError, match="gradient_accumulation_steps"):
        optimizers.SGD(gradient_accumulation_steps=1)
    with ops.backend_scope("numpy"):
        opt = optimizers.SGD()
        w = Variable(np.ones(2, "float32"), name="w")
        other = Variable(np.ones(2, "float32"), name="other")
        opt.apply_gradients([(np.ones(2, "float32"), w)])
        with pytest.raises(ValueError, match="Unknown variable"):
            opt.apply_gradients([(np.ones(2, "float32"), other)])
        with pytest.raises(ValueError, match="no gradients"):
            opt.apply([None], [w])
        with pytest.raises(ValueError, match="expected 2 optimizer"):
            opt.stateless_apply([], [np.ones(2, "float32")], [w.value])


def test_none_gradients_are_skipped_with_a_warning():
    with ops.backend_scope("numpy"):
        a = Variable(np.ones(2, "float32"), name="a")
        b = Variable(np.ones(2, "float32"), name="b")
        opt = optimizers.SGD(0.5)
        with pytest.warns(UserWarning, match="Gradients do not exist"):
            opt.apply_gradients([(np.ones(2, "float32"), a), (None, b)])
        _close(a.numpy(), 0.5)
        _close(b.numpy(), 1.0)


def test_exclude_from_weight_decay_and_finalize_ema():
    with ops.backend_scope("numpy"):
        w = Variable(np.ones(2, "float32"), name="kernel")
        bias = Variable(np.ones(2, "float32"), name="bias")
        opt = optimizers.SGD(0.1, weight_decay=0.5)
        opt.exclude_from_weight_decay(var_names=["bias"])
        zero = np.zeros(2, "float32")
        opt.apply_gradients([(zero, w), (zero, bias)])
        _close(w.numpy(), 0.95)
        _close(bias.numpy(), 1.0)
        opt = optimizers.SGD(0.1, use_ema=True, ema_momentum=0.5)
        v = Variable(np.zeros(1, "float32"), name="v")
        for _ in range(2):
            opt.apply_gradients([(np.ones(1, "float32"), v)])
        # average: step 1 copies v (-0.1); step 2: 0.5 * -0.1 + 0.5 * -0.2
        opt.finalize_variable_values([v])
        _close(v.numpy(), -0.15)
