"""Optimizers against Keras 3 (three steps on given gradients: variables, slot values,
slot names, configs), against torch.optim / optax where the algorithm is the same, the
fused torch path against the generic one, the functional API and bad input.

Each case is an expression over `O` (the optimizers module: Keras's or ours), so the very
same text builds the Keras oracle's optimizer and ours."""
import functools
import importlib.util

import numpy as np
import pytest

import unikeras.optimizers as O
from unikeras import ops
from unikeras.common.variables import Variable, runtime
from tests.conftest import FRAMEWORKS, to_backend
from tests.keras_oracle import run_keras_code

BACKENDS = ["numpy"] + FRAMEWORKS
R = np.random.default_rng(3)
INIT = {"w": R.standard_normal((3, 4)).astype("float32"),
        "b": R.standard_normal(4).astype("float32")}
STEPS = 3
GRADS = [{k: R.standard_normal(x.shape).astype("float32") for k, x in INIT.items()}
         for _ in range(STEPS)]
INF_GRADS = [dict(g) for g in GRADS]
INF_GRADS[1] = {"w": np.full((3, 4), np.inf, "float32"), "b": GRADS[1]["b"]}

# (id, optimizer expression, statement run on `opt` before the first step, gradients)
CASES = [
    ("sgd", "O.SGD(0.1)", "", "plain"),
    ("sgd_momentum", "O.SGD(0.1, momentum=0.9)", "", "plain"),
    ("sgd_nesterov", "O.SGD(0.05, momentum=0.8, nesterov=True)", "", "plain"),
    ("adam", "O.Adam()", "", "plain"),
    ("adam_custom", "O.Adam(0.1, beta_1=0.8, beta_2=0.99, epsilon=1e-5)", "", "plain"),
    ("adam_amsgrad", "O.Adam(0.1, amsgrad=True)", "", "plain"),
    ("adamw", "O.AdamW(0.05, weight_decay=0.1)", "", "plain"),
    ("adamw_amsgrad_exclude", "O.AdamW(0.05, weight_decay=0.1, amsgrad=True)",
     "opt.exclude_from_weight_decay(var_names=['b'])", "plain"),
    ("adamax", "O.Adamax(0.1)", "", "plain"),
    ("nadam", "O.Nadam(0.1)", "", "plain"),
    ("adagrad", "O.Adagrad(0.1)", "", "plain"),
    ("adadelta", "O.Adadelta(1.0)", "", "plain"),
    ("adafactor", "O.Adafactor(0.1)", "", "plain"),
    ("adafactor_absolute", "O.Adafactor(0.1, relative_step=False, clip_threshold=0.5)", "",
     "plain"),
    ("ftrl", "O.Ftrl(0.1)", "", "plain"),
    ("ftrl_regularized", "O.Ftrl(0.1, l1_regularization_strength=0.01, "
     "l2_regularization_strength=0.02, l2_shrinkage_regularization_strength=0.01, beta=0.1)",
     "", "plain"),
    ("lion", "O.Lion(0.01)", "", "plain"),
    ("lamb", "O.Lamb(0.05, weight_decay=0.01)", "", "plain"),
    ("muon", "O.Muon(0.02)", "", "plain"),
    ("muon_plain", "O.Muon(0.02, nesterov=False, rms_rate=None, weight_decay=0.1)", "", "plain"),
    ("schedule_free", "O.ScheduleFreeAdamW(0.05, warmup_steps=2)", "", "plain"),
    ("rmsprop", "O.RMSprop()", "", "plain"),
    ("rmsprop_centered", "O.RMSprop(0.01, momentum=0.9, centered=True)", "", "plain"),
    ("sgd_weight_decay", "O.SGD(0.1, momentum=0.5, weight_decay=0.2)", "", "plain"),
    ("rmsprop_weight_decay", "O.RMSprop(0.01, weight_decay=0.1)",
     "opt.exclude_from_weight_decay(var_names=['w'])", "plain"),
    ("adam_clipnorm", "O.Adam(0.1, clipnorm=0.5)", "", "plain"),
    ("sgd_clipvalue", "O.SGD(0.1, momentum=0.5, clipvalue=0.3)", "", "plain"),
    ("rmsprop_global_clipnorm", "O.RMSprop(0.05, global_clipnorm=1.0)", "", "plain"),
    ("adam_ema", "O.Adam(0.1, use_ema=True, ema_momentum=0.9, ema_overwrite_frequency=2)", "",
     "plain"),
    ("sgd_ema", "O.SGD(0.1, use_ema=True, ema_momentum=0.5)", "", "plain"),
    ("adam_accumulation", "O.Adam(0.1, gradient_accumulation_steps=2)", "", "plain"),
    ("lion_accumulation_wd", "O.Lion(0.01, weight_decay=0.2, gradient_accumulation_steps=2)",
     "", "plain"),
    ("adam_loss_scale", "O.Adam(0.1, loss_scale_factor=4.0)", "", "plain"),
    ("sgd_schedule", "O.SGD(O.schedules.ExponentialDecay(0.1, 2, 0.5), momentum=0.5)", "",
     "plain"),
    ("adam_cosine", "O.Adam(O.schedules.CosineDecay(0.1, 4, warmup_target=0.2, "
     "warmup_steps=1))", "", "plain"),
    ("adam_callable_lr", "O.Adam(lambda: 0.05)", "", "plain"),
    ("loss_scale", "O.LossScaleOptimizer(O.SGD(0.1, momentum=0.5), initial_scale=4.0, "
     "dynamic_growth_steps=1)", "", "plain"),
    ("loss_scale_overflow", "O.LossScaleOptimizer(O.Adam(0.1), initial_scale=8.0, "
     "dynamic_growth_steps=2)", "", "inf"),
    ("multi", "O.MultiOptimizer(O.OptimizerMap(O.SGD(0.1, momentum=0.5), {'w': O.Adam(0.1)}))",
     "", "plain"),
    ("multi_regex", "O.MultiOptimizer(O.OptimizerMap(O.RMSprop(0.01), {'[bc]': O.Lion(0.01)}))",
     "", "plain"),
]
# Eager jax compiles every new op/shape on first use (~30 s for all cases on CI): there,
# the cases that cover each option and the optimizers with their own ops.
JAX_CASES = {"adamw_amsgrad_exclude", "adafactor", "muon", "ftrl_regularized", "sgd_clipvalue",
             "rmsprop_global_clipnorm", "adam_ema", "lion_accumulation_wd", "adam_loss_scale",
             "sgd_schedule", "loss_scale_overflow", "multi_regex", "schedule_free"}

ORACLE = r"""
O = keras.optimizers
for cid, expr, prepare, grads_kind in CASES:
    variables = [keras.Variable(arrays["init_" + n], name=n) for n in ("w", "b")]
    opt = eval(expr)
    if prepare:
        exec(prepare)
    for s in range(STEPS):
        grads = [keras.ops.convert_to_tensor(arrays[f"{grads_kind}{s}_{n}"]) for n in ("w", "b")]
        opt.apply_gradients(zip(grads, variables))
    for n, v in zip(("w", "b"), variables):
        result[f"{cid}/{n}"] = np.asarray(v.numpy())
    for i, v in enumerate(opt.variables):
        result[f"{cid}/slot{i}"] = np.asarray(v.numpy())
    result[f"{cid}/names"] = [v.name for v in opt.variables]
    try:
        result[f"{cid}/config"] = json.loads(json.dumps(opt.get_config()))
    except Exception:   # a callable learning rate is not JSON-able
        result[f"{cid}/config"] = None
"""


def _arrays():
    out = {f"init_{n}": x for n, x in INIT.items()}
    for kind, grads in (("plain", GRADS), ("inf", INF_GRADS)):
        for s, step in enumerate(grads):
            out.update({f"{kind}{s}_{n}": g for n, g in step.items()})
    return out


@functools.lru_cache(maxsize=None)
def keras_reference():
    """One Keras subprocess (its numpy backend: every case runs eagerly there, the
    LossScaleOptimizer included, which Keras's eager jax cannot) computing all cases;
    every backend of ours is checked against it (a subprocess per Keras backend would
    cost ~30 s more of the suite's time).
    (The schedules' Keras values come from the same subprocess: see test_schedules.py.)"""
    from tests import test_schedules
    code = (f"import json\nCASES = {CASES!r}\nSTEPS = {STEPS}\n" + ORACLE
            + test_schedules.keras_code())
    return run_keras_code(code, _arrays(), backend="numpy")


@pytest.fixture(scope="module")
def keras_results():
    return keras_reference()


def _run(backend, expr, prepare="", grads=GRADS, steps=STEPS):
    with ops.backend_scope(backend):
        variables = [Variable(INIT[n].copy(), name=n) for n in ("w", "b")]
        opt = eval(expr)
        if prepare:
            exec(prepare)
        for step in grads[:steps]:
            opt.apply_gradients(zip([to_backend(step[n], backend) for n in ("w", "b")],
                                    variables))
    return variables, opt


def _np(x):
    return np.asarray(ops.convert_to_numpy(x.value if isinstance(x, Variable) else x), "float64")


def _close(a, b, rtol=1e-5, atol=1e-6, what=""):
    np.testing.assert_allclose(np.asarray(a, "float64"), np.asarray(b, "float64"), rtol=rtol,
                               atol=atol, err_msg=what)


@pytest.mark.filterwarnings("ignore:invalid value encountered")   # the overflow case's inf/inf
@pytest.mark.parametrize("backend", BACKENDS)
def test_every_case_matches_keras(backend, keras_results):
    ref = keras_results
    failures = []
    for cid, expr, prepare, kind in CASES:
        if backend == "jax" and cid not in JAX_CASES:
            continue
        try:
            variables, opt = _run(backend, expr, prepare, INF_GRADS if kind == "inf" else GRADS)
            assert [v.name for v in opt.variables] == ref[f"{cid}/names"], cid
            for n, v in zip(("w", "b"), variables):
                _close(_np(v), ref[f"{cid}/{n}"], atol=1e-5, what=f"{cid}: variable {n}")
            for i, v in enumerate(opt.variables):
                expected = ref[f"{cid}/slot{i}"]
                if opt.variables[i].name in ("iteration", "step_counter"):
                    assert int(_np(v)) == int(expected), f"{cid}: {v.name}"
                else:
                    _close(_np(v), expected, atol=1e-5, what=f"{cid}: slot {i} ({v.name})")
            theirs = ref[f"{cid}/config"]
            if theirs is not None:
                ours = opt.get_config()
                assert set(ours) == set(theirs), f"{cid}: config keys {set(ours) ^ set(theirs)}"
        except AssertionError as e:
            failures.append(f"{cid}: {e}")
    assert not failures, "\n".join(failures)


def _without_names(config):
    """A config without names (Keras numbers its default names) and module paths (Keras's
    torch backend names its own subclasses there)."""
    if isinstance(config, dict):
        return {k: _without_names(v) for k, v in config.items()
                if k not in ("name", "module", "registered_name")}
    return config


def test_configs_match_keras_and_round_trip(keras_results):
    ref = keras_results
    for cid, expr, _, _ in CASES:
        if ref[f"{cid}/config"] is None:
            continue
        opt = eval(expr)
        ours = opt.get_config()
        assert _without_names(ours) == _without_names(ref[f"{cid}/config"]), cid
        again = O.deserialize(O.serialize(opt))
        assert type(again) is type(opt)
        assert again.get_config() == ours, cid


@pytest.mark.parametrize("backend", BACKENDS)
def test_schedule_free_adamw_matches_numpy(backend):
    lr, b1, b2, eps, warmup = 0.05, 0.9, 0.999, 1e-8, 2
    ys = {n: INIT[n].astype("float64") for n in INIT}
    zs = {n: ys[n].copy() for n in INIT}
    vs = {n: np.zeros_like(ys[n]) for n in INIT}
    for t, step in enumerate(GRADS, start=1):
        rate = lr * min(t / warmup, 1.0)
        for n, g in step.items():
            vs[n] = vs[n] + (g * g - vs[n]) * (1 - b2)
            z_new = zs[n] - rate * g / (np.sqrt(vs[n] / (1 - b2 ** t)) + eps)
            x_old = (ys[n] - (1 - b1) * zs[n]) / b1
            x_new = (1 - 1 / t) * x_old + z_new / t
            ys[n], zs[n] = (1 - b1) * z_new + b1 * x_new, z_new
    variables, _ = _run(backend, "O.ScheduleFreeAdamW(0.05, warmup_steps=2)")
    for v, n in zip(variables, ("w", "b")):
        _close(_np(v), ys[n], atol=1e-5)


# --- torch.optim and optax where the algorithm is the same -------------------------------------
def _torch_reference(make, steps=STEPS):
    import torch
    params = [torch.nn.Parameter(torch.tensor(INIT[n])) for n in ("w", "b")]
    opt = make(params)
    for step in GRADS[:steps]:
        for p, n in zip(params, ("w", "b")):
            p.grad = torch.tensor(step[n])
        opt.step()
    return [p.detach().numpy() for p in params]


@pytest.mark.skipif("torch" not in FRAMEWORKS, reason="torch is not installed")
def test_matches_torch_optim():
    import torch
    cases = [  # Keras's epsilon placement differs from torch's by O(epsilon): tolerance 1e-5
        ("O.SGD(0.1)", lambda p: torch.optim.SGD(p, lr=0.1)),
        ("O.SGD(0.1, momentum=0.9)", lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)),
        ("O.SGD(0.05, momentum=0.8, nesterov=True)",
         lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.8, nesterov=True)),
        ("O.Adam(0.01, epsilon=1e-8)", lambda p: torch.optim.Adam(p, lr=0.01, eps=1e-8)),
        ("O.AdamW(0.01, weight_decay=0.1, epsilon=1e-8)",
         lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1, eps=1e-8)),
        ("O.Adam(0.01, amsgrad=True, epsilon=1e-8)",
         lambda p: torch.optim.Adam(p, lr=0.01, eps=1e-8, amsgrad=True)),
        ("O.RMSprop(0.01, epsilon=1e-10)",
         lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-10)),
    ]
    for expr, make in cases:   # the backends agree with each other through Keras above
        variables, _ = _run("torch", expr)
        for v, expected in zip(variables, _torch_reference(make)):
            _close(_np(v), expected, what=expr)


@pytest.mark.skipif("jax" not in FRAMEWORKS or importlib.util.find_spec("optax") is None,
                    reason="jax/optax is not installed")
def test_matches_optax():
    import jax.numpy as jnp
    import optax
    cases = [("O.SGD(0.1, momentum=0.9, nesterov=True)",
              optax.sgd(0.1, momentum=0.9, nesterov=True)),
             ("O.Adam(0.01, epsilon=1e-8)", optax.adam(0.01, eps=1e-8)),
             ("O.Lion(0.01)", optax.lion(0.01, b1=0.9, b2=0.99, weight_decay=0.0)),
             ("O.Adagrad(0.1, initial_accumulator_value=0.1, epsilon=1e-7)",
              optax.adagrad(0.1, initial_accumulator_value=0.1, eps=1e-7))]
    for expr, tx in cases:
        params = {n: jnp.asarray(INIT[n]) for n in ("w", "b")}
        state = tx.init(params)
        for step in GRADS:
            updates, state = tx.update({n: jnp.asarray(step[n]) for n in params}, state, params)
            params = optax.apply_updates(params, updates)
        variables, _ = _run("jax", expr)
        for v, n in zip(variables, ("w", "b")):
            _close(_np(v), np.asarray(params[n]), rtol=2e-5, atol=2e-6, what=expr)


# --- the fused torch path ------------------------------------------------------------------------
FUSED = [("O.SGD(0.1)", ""), ("O.SGD(0.1, momentum=0.9)", ""),
         ("O.SGD(0.05, momentum=0.8, nesterov=True, weight_decay=0.1)", ""),
         ("O.Adam(0.1)", ""), ("O.Adam(0.1, amsgrad=True, weight_decay=0.05)", ""),
         ("O.AdamW(0.05, weight_decay=0.1)", "opt.exclude_from_weight_decay(var_names=['b'])"),
         ("O.Adam(O.schedules.ExponentialDecay(0.1, 2, 0.5))", ""),
         ("O.RMSprop(0.01)", ""), ("O.RMSprop(0.01, momentum=0.9, centered=True)", ""),
         ("O.RMSprop(0.01, weight_decay=0.1, clipnorm=0.5)", "")]


@pytest.mark.skipif("torch" not in FRAMEWORKS, reason="torch is not installed")
def test_fused_torch_path_equals_generic_path(monkeypatch):
    torch_runtime = runtime("torch")
    kernels = torch_runtime.optimizer_kernels
    real_apply, calls = kernels.apply, []

    def counting_apply(*args):
        calls.append(real_apply(*args))
        return calls[-1]

    monkeypatch.setattr(kernels, "apply", counting_apply)
    fused = {expr: _run("torch", expr, prepare) for expr, prepare in FUSED}
    assert calls == [True] * (len(FUSED) * STEPS)   # every step took the fused path
    monkeypatch.setattr(torch_runtime, "optimizer_kernels", None)
    for expr, prepare in FUSED:
        variables, opt = _run("torch", expr, prepare)
        f_vars, f_opt = fused[expr]
        for a, b in zip(f_vars + f_opt.variables, variables + opt.variables):
            _close(_np(a), _np(b), rtol=1e-6, atol=1e-7, what=expr)


# --- functional API and compilation ------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_stateless_apply_equals_apply(backend):
    for expr in ("O.SGD(0.1, momentum=0.9, nesterov=True)",
                 "O.Adam(0.1, amsgrad=True, weight_decay=0.01)",
                 "O.Adam(0.1, gradient_accumulation_steps=2, use_ema=True)",
                 "O.Nadam(0.1)", "O.LossScaleOptimizer(O.SGD(0.1), initial_scale=2.0)",
                 "O.MultiOptimizer(O.OptimizerMap(O.SGD(0.1), {'w': O.Adam(0.1)}))"):
        eager_vars, eager = _run(backend, expr)
        with ops.backend_scope(backend):
            variables = [Variable(INIT[n].copy(), name=n) for n in ("w", "b")]
            opt = eval(expr)
            opt.build(variables)
            values = [v.value for v in variables]
            state = [v.value for v in opt.variables]
            for step in GRADS:
                values, state = opt.stateless_apply(
                    state, [to_backend(step[n], backend) for n in ("w", "b")], values)
        for v, n in zip(variables, ("w", "b")):
            _close(_np(v), INIT[n], what=expr)   # storage untouched
        for v, new in zip(eager_vars + eager.variables, values + state):
            _close(_np(new), _np(v), what=expr)


@pytest.mark.skipif("jax" not in FRAMEWORKS, reason="jax is not installed")
def test_stateless_apply_under_jax_jit():
    import jax
    expr = "O.Adam(0.1, clipnorm=1.0)"
    eager_vars, _ = _run("jax", expr)
    with ops.backend_scope("jax"):
        variables = [Variable(INIT[n].copy(), name=n) for n in ("w", "b")]
        opt = eval(expr)
        opt.build(variables)
        step = jax.jit(opt.stateless_apply)
        values, state = [v.value for v in variables], [v.value for v in opt.variables]
        for grads in GRADS:
            values, state = step(state, [grads["w"], grads["b"]], values)
    for v, new in zip(eager_vars, values):
        _close(_np(new), _np(v))


@pytest.mark.skipif("tensorflow" not in FRAMEWORKS, reason="tensorflow is not installed")
def test_stateless_apply_under_tf_function():
    import tensorflow as tf
    expr = "O.SGD(0.1, momentum=0.9, gradient_accumulation_steps=2)"
    eager_vars, _ = _run("tensorflow", expr)
    with ops.backend_scope("tensorflow"):
        variables = [Variable(INIT[n].copy(), name=n) for n in ("w", "b")]
        opt = eval(expr)
        opt.build(variables)
        step = tf.function(opt.stateless_apply)
        values, state = [v.value for v in variables], [v.value for v in opt.variables]
        for grads in GRADS:
            values, state = step(state, [tf.constant(grads["w"]), tf.constant(grads["b"])], values)
    for v, new in zip(eager_vars, values):
        _close(_np(new), _np(v))


@pytest.mark.skipif("torch" not in FRAMEWORKS, reason="torch is not installed")
def test_optimizer_made_before_its_backend_is_known():
    with ops.backend_scope("numpy"):
        opt = O.Adam(0.1)
    with ops.backend_scope("torch"):
        variables = [Variable(INIT[n].copy(), name=n) for n in ("w", "b")]
        opt.apply_gradients(zip([to_backend(GRADS[0][n], "torch") for n in ("w", "b")],
                                variables))
    assert all(type(v.value).__module__.startswith("torch") for v in opt.variables)
    assert [v.name for v in opt.variables][:2] == ["iteration", "learning_rate"]
    assert int(_np(opt.iterations)) == 1


def test_save_and_load_own_variables():
    _, opt = _run("numpy", "O.Adam(0.1, amsgrad=True)")
    store = {}
    opt.save_own_variables(store)
    with ops.backend_scope("numpy"):
        variables = [Variable(INIT[n].copy(), name=n) for n in ("w", "b")]
        other = O.Adam(0.1, amsgrad=True)
        other.build(variables)
        other.load_own_variables(store)
    for a, b in zip(opt.variables, other.variables):
        _close(_np(a), _np(b))


# --- learning rate, lookup, errors ------------------------------------------------------------------
def test_learning_rate_get_and_set():
    with ops.backend_scope("numpy"):
        opt = O.SGD(learning_rate=0.5)
        assert isinstance(opt.learning_rate, Variable)
        opt.learning_rate = 0.25
        assert float(opt.learning_rate.numpy()) == 0.25
        opt = O.SGD(learning_rate=O.schedules.ExponentialDecay(0.1, 1, 0.5))
        with pytest.raises(TypeError, match="schedule"):
            opt.learning_rate = 0.1
        lso = O.LossScaleOptimizer(O.SGD(0.3))
        assert float(lso.learning_rate.numpy()) == pytest.approx(0.3)
        with pytest.raises(AttributeError, match="MultiOptimizer"):
            O.MultiOptimizer(O.OptimizerMap(O.SGD())).learning_rate


def test_get():
    for name, cls in (("sgd", O.SGD), ("SGD", O.SGD), ("adam", O.Adam), ("adamw", O.AdamW),
                      ("rmsprop", O.RMSprop), ("lion", O.Lion), ("nadam", O.Nadam),
                      ("Adafactor", O.Adafactor), ("muon", O.Muon)):
        assert type(O.get(name)) is cls
    assert isinstance(O.get(O.Adam), O.Adam)
    opt = O.SGD()
    assert O.get(opt) is opt
    again = O.get(O.serialize(O.Adam(learning_rate=0.5, amsgrad=True)))
    assert again.amsgrad is True and again.get_config()["learning_rate"] == 0.5


def test_bad_input_is_a_clear_value_error():
    bad = [(lambda: O.get("nope"), "Unknown optimizer 'nope'"),
           (lambda: O.get(3), "optimizer identifier"),
           (lambda: O.SGD(clipnorm=1.0, clipvalue=1.0), "only one of"),
           (lambda: O.Adam(clipnorm=1.0, global_clipnorm=1.0), "only one of"),
           (lambda: O.SGD(learning_rate="fast"), "learning_rate"),
           (lambda: O.Adam(learning_rate=float("nan")), "learning_rate"),
           (lambda: O.Adam(learning_rate=None), "learning_rate"),
           (lambda: O.SGD(momentum=1), "momentum"),
           (lambda: O.Adam(beta=0.9), "not recognized"),
           (lambda: O.SGD(gradient_accumulation_steps=1), "gradient_accumulation_steps"),
           (lambda: O.Lion(beta_1=0.0), "beta_1"),
           (lambda: O.Ftrl(learning_rate_power=0.5), "learning_rate_power"),
           (lambda: O.LossScaleOptimizer(O.SGD(), clipnorm=1.0), "does not support"),
           (lambda: O.OptimizerMap(O.SGD()).__setitem__("x", O.LossScaleOptimizer(O.SGD())),
            "LossScaleOptimizer")]
    for make, message in bad:
        with pytest.raises(ValueError, match=message):
            make()
    with ops.backend_scope("numpy"):
        opt = O.SGD()
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
        opt = O.SGD(0.5)
        with pytest.warns(UserWarning, match="Gradients do not exist"):
            opt.apply_gradients([(np.ones(2, "float32"), a), (None, b)])
        _close(a.numpy(), 0.5)
        _close(b.numpy(), 1.0)


def test_finalize_ema():
    with ops.backend_scope("numpy"):
        opt = O.SGD(0.1, use_ema=True, ema_momentum=0.5)
        v = Variable(np.zeros(1, "float32"), name="v")
        for _ in range(2):
            opt.apply_gradients([(np.ones(1, "float32"), v)])
        # average: step 1 copies v (-0.1); step 2: 0.5 * -0.1 + 0.5 * -0.2
        opt.finalize_variable_values([v])
        _close(v.numpy(), -0.15)
