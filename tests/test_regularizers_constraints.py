"""unikeras.regularizers and unikeras.constraints: values on every backend against NumPy
formulas and Keras 3, Keras's names/signatures/configs, get/serialize/deserialize, and
constraints applied after each optimizer step (eagerly and inside compiled fit steps)."""
import inspect

import numpy as np
import pytest

import unikeras as uk
from unikeras import constraints, ops, regularizers
from tests.conftest import to_backend
from tests.keras_oracle import run_keras_code

RNG = np.random.default_rng(0)
W = RNG.standard_normal((5, 4)).astype("float32")
KERNEL = RNG.standard_normal((3, 3, 2, 4)).astype("float32")   # a Conv2D kernel
EPS = 1e-7

REG_CASES = [("L1", {"l1": 0.1}), ("L1", {}), ("L2", {"l2": 0.2}), ("L2", {}),
             ("L1L2", {"l1": 0.1, "l2": 0.2}), ("L1L2", {"l2": 0.3}), ("L1L2", {}),
             ("OrthogonalRegularizer", {"factor": 0.1}),
             ("OrthogonalRegularizer", {"factor": 0.2, "mode": "columns"})]
CON_CASES = [("MaxNorm", {"max_value": 1.5}, "W"), ("MaxNorm", {"max_value": 1.0, "axis": 1}, "W"),
             ("MaxNorm", {"max_value": 2.0, "axis": [0, 1, 2]}, "KERNEL"),
             ("MinMaxNorm", {"min_value": 1.8, "max_value": 2.2, "rate": 0.5}, "W"),
             ("MinMaxNorm", {"axis": [0, 1, 2]}, "KERNEL"), ("NonNeg", {}, "W"),
             ("UnitNorm", {}, "W"), ("UnitNorm", {"axis": 1}, "W"),
             ("UnitNorm", {"axis": [0, 1, 2]}, "KERNEL")]
INPUTS = {"W": W, "KERNEL": KERNEL}


def _norms(w, axis):
    return np.sqrt(np.sum(w.astype("float64") ** 2, axis=tuple(np.atleast_1d(axis)),
                          keepdims=True))


def _orthogonal_penalty(w, factor=0.01, mode="rows"):
    vectors = w.T if mode == "columns" else w
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    cosines = unit @ unit.T
    n = len(cosines)
    return factor * np.abs(cosines - np.diag(np.diag(cosines))).sum() / (n * (n - 1))


REG_NUMPY = {
    "L1": lambda w, l1=0.01: l1 * np.abs(w).sum(),
    "L2": lambda w, l2=0.01: l2 * np.square(w).sum(),
    "L1L2": lambda w, l1=0.0, l2=0.0: l1 * np.abs(w).sum() + l2 * np.square(w).sum(),
    "OrthogonalRegularizer": _orthogonal_penalty,
}


def _scaled(w, axis, desired):
    return w * desired / (EPS + _norms(w, axis))


CON_NUMPY = {
    "MaxNorm": lambda w, max_value=2, axis=0: _scaled(
        w, axis, np.minimum(_norms(w, axis), max_value)),
    "MinMaxNorm": lambda w, min_value=0.0, max_value=1.0, rate=1.0, axis=0: _scaled(
        w, axis, rate * np.clip(_norms(w, axis), min_value, max_value)
        + (1 - rate) * _norms(w, axis)),
    "NonNeg": lambda w: np.where(w >= 0, w, 0.0),
    "UnitNorm": lambda w, axis=0: w / (EPS + _norms(w, axis)),
}

REG_NAMES = sorted(regularizers.__all__)
CON_NAMES = sorted(constraints.__all__)

_KERAS_CODE = r"""
import inspect
for module, names in (("regularizers", REG_NAMES), ("constraints", CON_NAMES)):
    mod = getattr(keras, module)
    result[module + "_public"] = sorted(n for n in dir(mod) if not n.startswith("_"))
    result[module + "_classes"] = {n: getattr(mod, n).__name__ for n in names
                                   if inspect.isclass(getattr(mod, n))}
    result[module + "_signatures"] = {
        n: str(inspect.signature(getattr(mod, n).__init__)) for n in names
        if inspect.isclass(getattr(mod, n)) and n not in ("Regularizer", "Constraint", "NonNeg")}
    result[module + "_defaults"] = {
        n: getattr(mod, n)().get_config() for n in names
        if inspect.isclass(getattr(mod, n)) and n != "Regularizer"}
R, C = keras.regularizers, keras.constraints
for i, (name, kwargs) in enumerate(REG_CASES):
    reg = getattr(R, name)(**kwargs)
    result[f"reg_{i}"] = reg(keras.ops.convert_to_tensor(arrays["W"]))
    result[f"reg_serialized_{i}"] = R.serialize(reg)
for i, (name, kwargs, which) in enumerate(CON_CASES):
    con = getattr(C, name)(**kwargs)
    result[f"con_{i}"] = con(keras.ops.convert_to_tensor(arrays[which]))
    result[f"con_serialized_{i}"] = C.serialize(con)
"""


@pytest.fixture(scope="module")
def keras_results():
    code = (f"REG_NAMES = {REG_NAMES!r}\nCON_NAMES = {CON_NAMES!r}\nREG_CASES = {REG_CASES!r}\n"
            f"CON_CASES = {CON_CASES!r}\n" + _KERAS_CODE)
    # jax: Keras 3.15's numpy backend cannot run OrthogonalRegularizer's normalize.
    return run_keras_code(code, INPUTS, backend="jax")


def _ours(module, name, kwargs):
    return getattr(module, name)(**kwargs)


# --- catalog ------------------------------------------------------------------------------------
@pytest.mark.parametrize("module", [regularizers, constraints], ids=["regularizers", "constraints"])
def test_names_signatures_and_default_configs_equal_keras(keras_results, module):
    key = module.__name__.rsplit(".", 1)[1]
    assert sorted(module.__all__) == keras_results[key + "_public"]
    for name, cls_name in keras_results[key + "_classes"].items():
        assert getattr(module, name).__name__ == cls_name, name
    for name, signature in keras_results[key + "_signatures"].items():
        assert str(inspect.signature(getattr(module, name).__init__)) == signature, name
    for name, config in keras_results[key + "_defaults"].items():
        _assert_same_config(getattr(module, name)().get_config(), config)


# --- regularizer values -------------------------------------------------------------------------
@pytest.mark.parametrize("i", range(len(REG_CASES)), ids=[f"{n}{kw}" for n, kw in REG_CASES])
def test_regularizer_values_match_numpy_and_keras(backend, keras_results, i):
    name, kwargs = REG_CASES[i]
    with ops.backend_scope(backend):
        penalty = _ours(regularizers, name, kwargs)(to_backend(W, backend))
    value = ops.convert_to_numpy(penalty)
    assert value.shape == () and value.dtype == np.float32
    expected = REG_NUMPY[name](W.astype("float64"), **kwargs)
    np.testing.assert_allclose(value, expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(value, keras_results[f"reg_{i}"], rtol=1e-5, atol=1e-7)


def test_regularizer_gradients_agree_across_backends():
    from tests.conftest import FRAMEWORKS
    if not {"torch", "jax"} <= set(FRAMEWORKS):
        pytest.skip("needs torch and jax")
    import jax
    import jax.numpy as jnp
    import torch
    for reg in (regularizers.L1L2(l1=0.1, l2=0.2), regularizers.OrthogonalRegularizer(0.3),
                regularizers.OrthogonalRegularizer(0.3, mode="columns")):
        x = torch.tensor(W, requires_grad=True)
        reg(x).backward()
        jax_grad = np.asarray(jax.grad(reg)(jnp.asarray(W)))
        np.testing.assert_allclose(x.grad.numpy(), jax_grad, rtol=1e-5, atol=1e-6)
        if isinstance(reg, regularizers.L1L2):
            np.testing.assert_allclose(jax_grad, 0.1 * np.sign(W) + 0.4 * W, rtol=1e-5, atol=1e-6)


def test_regularizer_errors():
    with pytest.raises(ValueError, match="L1: l1 must be a non-negative float.*-1"):
        regularizers.L1(-1)
    with pytest.raises(TypeError, match="L2: l2"):
        regularizers.L2("big")
    with pytest.raises(ValueError, match="mode must be 'rows' or 'columns'.*'diagonal'"):
        regularizers.OrthogonalRegularizer(mode="diagonal")
    with pytest.raises(ValueError, match=r"rank 2.*\(3, 3, 2, 4\)"):
        regularizers.OrthogonalRegularizer()(KERNEL)


# --- constraint values --------------------------------------------------------------------------
@pytest.mark.parametrize("i", range(len(CON_CASES)), ids=[f"{n}{kw}" for n, kw, _ in CON_CASES])
def test_constraint_values_match_numpy_and_keras(backend, keras_results, i):
    name, kwargs, which = CON_CASES[i]
    w = INPUTS[which]
    with ops.backend_scope(backend):
        out = ops.convert_to_numpy(_ours(constraints, name, kwargs)(to_backend(w, backend)))
    assert out.shape == w.shape and out.dtype == np.float32
    np.testing.assert_allclose(out, CON_NUMPY[name](w.astype("float64"), **kwargs), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(out, keras_results[f"con_{i}"], rtol=1e-5, atol=1e-6)


# --- get / serialize / deserialize --------------------------------------------------------------
def test_serialize_equals_keras_and_round_trips(keras_results):
    cases = ([(regularizers, n, kw, f"reg_serialized_{i}") for i, (n, kw) in enumerate(REG_CASES)]
             + [(constraints, n, kw, f"con_serialized_{i}")
                for i, (n, kw, _) in enumerate(CON_CASES)])
    for module, name, kwargs, key in cases:
        obj = _ours(module, name, kwargs)
        ours, theirs = module.serialize(obj), keras_results[key]
        assert {k: v for k, v in ours.items() if k != "config"} == \
            {k: v for k, v in theirs.items() if k != "config"}
        _assert_same_config(ours["config"], theirs["config"])
        for config in (ours, theirs):           # both deserialize to the same object
            back = module.deserialize(config)
            assert type(back) is type(obj)
            _assert_same_config(back.get_config(), obj.get_config())


def _assert_same_config(ours, theirs):
    """Equal keys and values; floats to float32 precision (Keras keeps some as float32)."""
    assert ours.keys() == theirs.keys()
    for k, v in theirs.items():
        assert ours[k] == (pytest.approx(v, rel=1e-7) if isinstance(v, float) else v), k


@pytest.mark.parametrize("module,name,cls", [
    (regularizers, "l1", "L1"), (regularizers, "l2", "L2"), (regularizers, "l1_l2", "L1L2"),
    (regularizers, "orthogonal_regularizer", "OrthogonalRegularizer"),
    (regularizers, "L1L2", "L1L2"), (constraints, "max_norm", "MaxNorm"),
    (constraints, "min_max_norm", "MinMaxNorm"), (constraints, "non_neg", "NonNeg"),
    (constraints, "unit_norm", "UnitNorm"), (constraints, "NonNeg", "NonNeg")])
def test_get_accepts_names(module, name, cls):
    assert type(module.get(name)).__name__ == cls


@pytest.mark.parametrize("module,base,example", [
    (regularizers, regularizers.Regularizer, regularizers.L2(0.5)),
    (constraints, constraints.Constraint, constraints.MaxNorm(3.0))])
def test_get_accepts_none_dicts_instances_classes_and_callables(module, base, example):
    assert module.get(None) is None
    assert module.get(example) is example
    assert module.get(module.serialize(example)).get_config() == example.get_config()
    assert module.get({"class_name": type(example).__name__,
                       "config": example.get_config()}).get_config() == example.get_config()
    assert type(module.get(type(example))) is type(example)

    def plain(x):
        return x
    assert module.get(plain) is plain
    config = module.serialize(plain)   # a plain function: Keras's function dict
    assert config == {"module": "builtins", "class_name": "function", "config": "plain",
                      "registered_name": "function"}
    assert module.deserialize(config, custom_objects={"plain": plain}) is plain
    with pytest.raises(ValueError, match="function 'plain'"):
        module.deserialize(config)
    with pytest.raises(ValueError, match="Unknown .*'nope'"):
        module.get("nope")
    with pytest.raises(ValueError, match="Could not interpret"):
        module.get(42)
    custom = type("Custom", (base,), {"get_config": lambda self: {}})
    found = module.deserialize({"class_name": "Custom", "config": {}},
                               custom_objects={"Custom": custom})
    assert isinstance(found, custom)


def test_registered_custom_regularizer_round_trips():
    @uk.saving.register_keras_serializable(package="tests")
    class Scaled(regularizers.Regularizer):
        def __init__(self, k=1.0):
            self.k = k

        def __call__(self, x):
            return self.k * ops.sum(x)

        def get_config(self):
            return {"k": self.k}
    config = regularizers.serialize(Scaled(2.0))
    assert config["registered_name"] == "tests>Scaled"
    assert regularizers.deserialize(config).k == 2.0


# --- constraints in training --------------------------------------------------------------------
def test_apply_gradients_applies_the_constraint(backend):
    with ops.backend_scope(backend):
        v = uk.Variable(W.copy())
        v.constraint = constraints.NonNeg()
        u = uk.Variable(W.copy())
        u.constraint = constraints.MaxNorm(1.0)
        grads = [to_backend(np.full_like(W, 0.5), backend)] * 2
        uk.optimizers.SGD(1.0).apply_gradients(zip(grads, [v, u]))
    np.testing.assert_allclose(v.numpy(), np.maximum(W - 0.5, 0), rtol=1e-6)
    np.testing.assert_allclose(u.numpy(), CON_NUMPY["MaxNorm"](W - 0.5, max_value=1.0), rtol=1e-5)


def test_fit_keeps_a_non_negative_kernel(backend):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 4)).astype("float32")
    y = x @ -np.abs(rng.standard_normal((4, 2))).astype("float32")   # wants negative weights
    uk.utils.set_random_seed(0)
    with ops.backend_scope(backend):
        model = uk.Sequential([uk.Input((4,)),
                               uk.layers.Dense(2, kernel_constraint=constraints.NonNeg())])
    model.compile(optimizer=uk.optimizers.SGD(0.1), loss="mse")
    start = model.get_weights()[0]
    history = model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    kernel = model.get_weights()[0]
    assert (start < 0).any() and kernel.min() >= 0   # negative entries were projected away
    assert (kernel == 0).sum() >= (start < 0).sum() // 2
    assert history.history["loss"][-1] < history.history["loss"][0]
