"""Learning-rate schedules: values at several steps against NumPy formulas written here
and against Keras 3; Python steps give Python floats, tensor steps backend scalars;
serialize/deserialize round trips and bad input."""
import importlib
import math
import sys

import numpy as np
import pytest

import unikeras.optimizers as O
from unikeras import ops
from tests.conftest import FRAMEWORKS, to_backend

S = O.schedules
STEPS = [0, 1, 3, 5, 8, 13, 40]
CASES = [
    ("exp", "S.ExponentialDecay(0.1, 4, 0.5)"),
    ("exp_stair", "S.ExponentialDecay(0.1, 4, 0.5, staircase=True)"),
    ("piecewise", "S.PiecewiseConstantDecay([2, 6], [1.0, 0.5, 0.1])"),
    ("poly", "S.PolynomialDecay(0.1, 10, end_learning_rate=0.01, power=2.0)"),
    ("poly_cycle", "S.PolynomialDecay(0.1, 10, end_learning_rate=0.01, cycle=True)"),
    ("inverse", "S.InverseTimeDecay(0.1, 2, 0.5)"),
    ("inverse_stair", "S.InverseTimeDecay(0.1, 2, 0.5, staircase=True)"),
    ("cosine", "S.CosineDecay(0.1, 10, alpha=0.1)"),
    ("cosine_warmup", "S.CosineDecay(0.0, 10, warmup_target=0.2, warmup_steps=4)"),
    ("restarts", "S.CosineDecayRestarts(0.1, 3, t_mul=2.0, m_mul=0.5, alpha=0.1)"),
    ("restarts_even", "S.CosineDecayRestarts(0.1, 3, t_mul=1.0)"),
]


def _cos(f, alpha):
    return (1 - alpha) * 0.5 * (1 + math.cos(math.pi * f)) + alpha


def _restarts(step, first, t_mul, m_mul, alpha):
    f = step / first
    if t_mul == 1.0:
        i = math.floor(f)
        f -= i
    else:
        i = math.floor(math.log(1 - f * (1 - t_mul)) / math.log(t_mul))
        f = (f - (1 - t_mul ** i) / (1 - t_mul)) / t_mul ** i
    return 0.1 * ((1 - alpha) * 0.5 * m_mul ** i * (1 + math.cos(math.pi * f)) + alpha)


FORMULAS = {
    "exp": lambda t: 0.1 * 0.5 ** (t / 4),
    "exp_stair": lambda t: 0.1 * 0.5 ** (t // 4),
    "piecewise": lambda t: 1.0 if t <= 2 else 0.5 if t <= 6 else 0.1,
    "poly": lambda t: 0.09 * (1 - min(t, 10) / 10) ** 2 + 0.01,
    "poly_cycle": lambda t: 0.09 * (1 - t / (10 * max(1, math.ceil(t / 10)))) + 0.01,
    "inverse": lambda t: 0.1 / (1 + 0.5 * t / 2),
    "inverse_stair": lambda t: 0.1 / (1 + 0.5 * (t // 2)),
    "cosine": lambda t: 0.1 * _cos(min(t, 10) / 10, 0.1),
    "cosine_warmup": lambda t: 0.2 * t / 4 if t < 4 else 0.2 * _cos((min(t, 14) - 4) / 10, 0.0),
    "restarts": lambda t: _restarts(t, 3, 2.0, 0.5, 0.1),
    "restarts_even": lambda t: _restarts(t, 3, 1.0, 1.0, 0.0),
}

ORACLE = r"""
S = keras.optimizers.schedules
for cid, expr in SCHEDULE_CASES:
    schedule = eval(expr)
    result["schedule/" + cid] = [float(schedule(keras.ops.convert_to_tensor(t, "int64")))
                                 for t in SCHEDULE_STEPS]
    result["schedule/" + cid + "/config"] = S.serialize(schedule)
"""


def keras_code():
    """Keras code filling `result["schedule/<id>"]`; it runs in test_optimizers.py's
    Keras subprocess, so that both files share one."""
    return f"\nSCHEDULE_CASES = {CASES!r}\nSCHEDULE_STEPS = {STEPS!r}\n" + ORACLE


@pytest.fixture(scope="module")
def keras_values():
    # pytest imports test files by their base name: reuse that module's cached result.
    optimizer_tests = (sys.modules.get("test_optimizers")
                       or importlib.import_module("tests.test_optimizers"))
    ref = optimizer_tests.keras_reference()
    return {k[len("schedule/"):]: v for k, v in ref.items() if k.startswith("schedule/")}


def test_python_steps_match_numpy_formulas_and_keras(keras_values):
    for cid, expr in CASES:
        schedule = eval(expr)
        values = [schedule(t) for t in STEPS]
        assert all(type(v) is float for v in values), cid
        np.testing.assert_allclose(values, [FORMULAS[cid](t) for t in STEPS], rtol=1e-5,
                                   atol=1e-7, err_msg=cid)
        np.testing.assert_allclose(values, keras_values[cid], rtol=1e-5, atol=1e-7, err_msg=cid)
        assert S.serialize(schedule) == keras_values[cid + "/config"], cid
        again = S.deserialize(S.serialize(schedule))
        assert type(again) is type(schedule) and again.get_config() == schedule.get_config()


@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_tensor_steps_give_backend_scalars(backend):
    for cid, expr in CASES:
        schedule = eval(expr)
        for t in (0, 5, 13):
            with ops.backend_scope(backend):
                value = schedule(to_backend(np.int64(t), backend))
            assert type(value).__module__.split(".")[0] in (backend, "jaxlib", "jax"), cid
            assert tuple(value.shape) == ()
            np.testing.assert_allclose(float(ops.convert_to_numpy(value)), FORMULAS[cid](t),
                                       rtol=1e-5, atol=1e-7, err_msg=f"{cid} at {t}")


def test_schedule_drives_an_optimizer_in_its_config():
    opt = O.SGD(learning_rate=S.ExponentialDecay(0.1, 4, 0.5))
    config = opt.get_config()
    assert config["learning_rate"]["class_name"] == "ExponentialDecay"
    again = O.SGD.from_config(config)
    assert isinstance(again._learning_rate, S.ExponentialDecay)


def test_custom_schedule_subclass_with_call():
    class Halving(S.LearningRateSchedule):
        def __call__(self, step):
            return 0.1 * ops.power(0.5, ops.cast(step, "float32"))

        def get_config(self):
            return {}

    config = S.serialize(Halving())
    assert isinstance(S.deserialize(config, custom_objects={"Halving": Halving}), Halving)


def test_bad_input_is_a_clear_value_error():
    for make, message in [(lambda: S.ExponentialDecay(0.1, 0, 0.5), "decay_steps"),
                          (lambda: S.PolynomialDecay(0.1, -1), "decay_steps"),
                          (lambda: S.CosineDecayRestarts(0.1, 0), "first_decay_steps"),
                          (lambda: S.PiecewiseConstantDecay([1, 2], [1.0]), "length"),
                          (lambda: S.ExponentialDecay("a", 2, 0.5), "initial_learning_rate"),
                          (lambda: S.deserialize({"class_name": "Nope", "config": {}}),
                           "Unknown learning-rate schedule"),
                          (lambda: S.deserialize(3), "Cannot deserialize")]:
        with pytest.raises(ValueError, match=message):
            make()
    with pytest.raises(NotImplementedError, match="get_config"):
        S.LearningRateSchedule().get_config()
