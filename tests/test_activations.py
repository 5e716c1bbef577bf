"""unikeras.activations: every Keras 3 activation with Keras's signature, its values on every
backend against NumPy formulas and against Keras 3 itself, its gradients across backends,
and get/serialize/deserialize in Keras's formats."""
import inspect
import math

import numpy as np
import pytest

import unikeras as uk
from unikeras import KerasTensor, activations, ops
from tests.conftest import FRAMEWORKS, to_backend
from tests.keras_oracle import run_keras_code

PUBLIC_NAMES = sorted(uk.activations.__all__)   # checked against Keras's public names below
FUNCTION_NAMES = [n for n in PUBLIC_NAMES if n not in ("get", "serialize", "deserialize")]

# A grid over [-4, 4] that misses every kink (0, +-1, +-0.5, thresholds) by a wide margin.
X = np.linspace(-4.0, 4.0, 24, dtype="float32").reshape(4, 6) + np.float32(0.05)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _softmax(x, axis):
    e = np.exp(x - x.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


def _sparsemax_1d(z):
    s = np.sort(z)[::-1]
    k = np.arange(1, len(z) + 1)
    cums = np.cumsum(s)
    k_max = k[1 + k * s > cums].max()
    tau = (cums[k_max - 1] - 1) / k_max
    return np.maximum(z - tau, 0)


def _relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    # Keras: x above the threshold (clipped to [0, max_value] when max_value is set),
    # negative_slope * (x - threshold) at or below it.
    upper = np.inf if max_value is None else max_value
    lower = -np.inf if max_value is None else 0.0
    return (np.where(x > threshold, np.clip(x, lower, upper), 0.0)
            + negative_slope * np.minimum(x - threshold, 0.0))


def _gelu(x, approximate=False):
    if approximate:
        return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


def _hard_sigmoid(x):
    return np.clip(x / 6 + 0.5, 0, 1)


SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805
NUMPY = {
    "relu": _relu,
    "leaky_relu": lambda x, negative_slope=0.2: np.where(x >= 0, x, negative_slope * x),
    "relu6": lambda x: np.clip(x, 0, 6),
    "elu": lambda x, alpha=1.0: np.where(x > 0, x, alpha * np.expm1(x)),
    "selu": lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(x)),
    "celu": lambda x, alpha=1.0: np.maximum(x, 0) + np.minimum(0, alpha * np.expm1(x / alpha)),
    "gelu": _gelu,
    "glu": lambda x, axis=-1: (lambda a, b: a * _sigmoid(b))(*np.split(x, 2, axis)),
    "sigmoid": _sigmoid,
    "silu": lambda x: x * _sigmoid(x),
    "swish": lambda x: x * _sigmoid(x),
    "hard_sigmoid": _hard_sigmoid,
    "hard_silu": lambda x: x * _hard_sigmoid(x),
    "hard_swish": lambda x: x * _hard_sigmoid(x),
    "hard_tanh": lambda x: np.clip(x, -1, 1),
    "hard_shrink": lambda x, threshold=0.5: np.where(np.abs(x) > threshold, x, 0),
    "soft_shrink": lambda x, threshold=0.5: np.sign(x) * np.maximum(np.abs(x) - threshold, 0),
    "tanh_shrink": lambda x: x - np.tanh(x),
    "tanh": np.tanh,
    "softplus": lambda x: np.logaddexp(0, x),
    "softsign": lambda x: x / (1 + np.abs(x)),
    "sparse_plus": lambda x: np.where(x <= -1, 0, np.where(x >= 1, x, (x + 1) ** 2 / 4)),
    "sparse_sigmoid": lambda x: np.clip((x + 1) / 2, 0, 1),
    "sparsemax": lambda x, axis=-1: np.apply_along_axis(_sparsemax_1d, axis, x),
    "squareplus": lambda x, b=4: (x + np.sqrt(x ** 2 + b)) / 2,
    "threshold": lambda x, threshold, default_value: np.where(x > threshold, x, default_value),
    "log_sigmoid": lambda x: -np.logaddexp(0, -x),
    "softmax": lambda x, axis=-1: _softmax(x, axis),
    "log_softmax": lambda x, axis=-1: np.log(_softmax(x, axis)),
    "mish": lambda x: x * np.tanh(np.logaddexp(0, x)),
    "exponential": np.exp,
    "linear": lambda x: x,
}

CASES = [(name, {}) for name in FUNCTION_NAMES if name != "threshold"] + [
    ("relu", {"negative_slope": 0.1}), ("relu", {"max_value": 6.0}),
    ("relu", {"max_value": 2.5, "threshold": 0.3}),
    ("relu", {"negative_slope": 0.2, "threshold": 1.1}),
    ("relu", {"negative_slope": 0.1, "max_value": 3.0, "threshold": -1.3}),
    ("relu", {"negative_slope": 0.1, "threshold": -1.3}),
    ("leaky_relu", {"negative_slope": 0.05}), ("elu", {"alpha": 0.5}), ("celu", {"alpha": 2.0}),
    ("gelu", {"approximate": True}), ("glu", {"axis": 0}), ("hard_shrink", {"threshold": 1.1}),
    ("soft_shrink", {"threshold": 1.1}), ("sparsemax", {"axis": 0}), ("squareplus", {"b": 1}),
    ("threshold", {"threshold": 0.3, "default_value": -2.0}), ("softmax", {"axis": 0}),
    ("log_softmax", {"axis": 0}),
]
CASE_IDS = [f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items())}" if kw else n for n, kw in CASES]

_KERAS_CODE = r"""
import inspect
act = keras.activations
x = arrays["x"]
for i, (name, kwargs) in enumerate(CASES):
    result[f"case_{i}"] = getattr(act, name)(keras.ops.convert_to_tensor(x), **kwargs)
result["public_names"] = sorted(n for n in dir(act) if not n.startswith("_"))
result["signatures"] = {n: str(inspect.signature(getattr(act, n))) for n in NAMES}
result["function_names"] = {n: getattr(act, n).__name__ for n in NAMES}
result["serialized"] = {n: act.serialize(getattr(act, n)) for n in FUNCTIONS}

def custom_act(x):
    return x

@keras.saving.register_keras_serializable(package="pkg")
def registered_act(x):
    return x

result["custom"] = act.serialize(custom_act)
result["registered"] = act.serialize(registered_act)
"""


@pytest.fixture(scope="module")
def keras_results():
    code = (f"CASES = {CASES!r}\nNAMES = {PUBLIC_NAMES!r}\nFUNCTIONS = {FUNCTION_NAMES!r}\n"
            + _KERAS_CODE)
    return run_keras_code(code, {"x": X})


def _ours(name, kwargs, x):
    return ops.convert_to_numpy(getattr(activations, name)(x, **kwargs))


def test_public_names_equal_keras(keras_results):
    assert PUBLIC_NAMES == keras_results["public_names"]
    assert all(callable(getattr(uk.activations, n)) for n in PUBLIC_NAMES)


def test_signatures_and_function_names_equal_keras(keras_results):
    for name in PUBLIC_NAMES:
        ours = getattr(activations, name)
        assert str(inspect.signature(ours)) == keras_results["signatures"][name], name
        assert ours.__name__ == keras_results["function_names"][name], name


@pytest.mark.parametrize("name,kwargs", CASES, ids=CASE_IDS)
def test_values_match_numpy_formula(backend, name, kwargs):
    expected = NUMPY[name](X.astype("float64"), **kwargs)
    with ops.backend_scope(backend):
        out = getattr(activations, name)(to_backend(X, backend), **kwargs)
    assert ops.convert_to_numpy(out).dtype == np.float32
    np.testing.assert_allclose(ops.convert_to_numpy(out), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("i", range(len(CASES)), ids=CASE_IDS)
def test_values_match_keras(keras_results, i):
    name, kwargs = CASES[i]
    with ops.backend_scope("numpy"):
        ours = _ours(name, kwargs, X)
    theirs = keras_results[f"case_{i}"]
    if name == "sparsemax" and not np.allclose(theirs.sum(kwargs.get("axis", -1)), 1):
        # Keras 3.15's sparsemax takes a wrong threshold when the support has more than one
        # entry (keras-team/keras#23425), so its slices need not sum to 1; ours is the simplex
        # projection, checked against the NumPy formula above.
        np.testing.assert_allclose(ours.sum(kwargs.get("axis", -1)), 1, rtol=1e-6)
        return
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_symbolic_shapes_equal_eager_shapes():
    for name, kwargs in CASES:
        with ops.backend_scope("numpy"):
            eager = _ours(name, kwargs, X)
        out = getattr(activations, name)(KerasTensor(X.shape), **kwargs)
        assert (out.shape, out.dtype) == (eager.shape, "float32"), (name, kwargs)
        if kwargs.get("axis", -1) != 0:   # an unknown batch dim stays unknown
            out = getattr(activations, name)(KerasTensor((None,) + X.shape[1:]), **kwargs)
            assert out.shape == (None,) + eager.shape[1:], (name, kwargs)


# Gradients: the kinked functions are evaluated away from their kinks by the grid X.
# Every function at its defaults, plus the argument variants that change the computation path.
GRAD_CASES = [(n, kw) for n, kw in CASES if not kw or n in ("relu", "threshold") or "axis" in kw]
WEIGHTS = np.random.default_rng(0).standard_normal((4, 6)).astype("float32")


def _grad_torch(fn):
    import torch
    x = torch.tensor(X, requires_grad=True)
    out = fn(x)
    w = torch.tensor(WEIGHTS[tuple(slice(0, s) for s in out.shape)])
    (out * w).sum().backward()
    return x.grad.numpy()


def _grad_jax(fn):
    import jax
    import jax.numpy as jnp

    def loss(x):
        out = fn(x)
        return jnp.sum(out * WEIGHTS[tuple(slice(0, s) for s in out.shape)])
    return np.asarray(jax.grad(loss)(jnp.asarray(X)))


def _grad_tf(fn):
    import tensorflow as tf
    x = tf.constant(X)
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = fn(x)
        loss = tf.reduce_sum(out * WEIGHTS[tuple(slice(0, s) for s in out.shape)])
    return tape.gradient(loss, x).numpy()


_GRADS = {"torch": _grad_torch, "jax": _grad_jax, "tensorflow": _grad_tf}


def _finite_difference(name, kwargs, h=1e-6):
    x = X.astype("float64")

    def loss(v):
        out = NUMPY[name](v, **kwargs)
        return np.sum(out * WEIGHTS[tuple(slice(0, s) for s in out.shape)].astype("float64"))
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[idx] = h
        grad[idx] = (loss(x + step) - loss(x - step)) / (2 * h)
    return grad


@pytest.mark.skipif(len(FRAMEWORKS) < 2, reason="needs two frameworks to compare")
@pytest.mark.parametrize("name,kwargs", GRAD_CASES, ids=[f"{n}{kw or ''}" for n, kw in GRAD_CASES])
def test_gradients_agree_across_backends_and_with_finite_differences(name, kwargs):
    fn = getattr(activations, name)
    grads = {b: _GRADS[b](lambda x: fn(x, **kwargs)) for b in FRAMEWORKS}
    first = FRAMEWORKS[0]
    for b in FRAMEWORKS[1:]:
        np.testing.assert_allclose(grads[b], grads[first], rtol=1e-5, atol=1e-6, err_msg=b)
    np.testing.assert_allclose(grads[first], _finite_difference(name, kwargs), rtol=1e-4, atol=1e-5)


# --- get / serialize / deserialize -----------------------------------------------------------
def test_get_resolves_none_names_dicts_and_callables():
    assert activations.get(None) is activations.linear
    assert activations.get("swish") is activations.silu
    assert activations.get("hard_swish") is activations.hard_silu
    keras_dict = {"module": "builtins", "class_name": "function", "config": "gelu",
                  "registered_name": "function"}
    assert activations.get(keras_dict) is activations.gelu

    def custom(x):
        return x
    assert activations.get(custom) is custom
    with pytest.raises(ValueError, match="Could not interpret activation.*3"):
        activations.get(3)


def test_serialize_matches_keras(keras_results):
    for name in FUNCTION_NAMES:
        fn = getattr(activations, name)
        assert activations.serialize(fn) == keras_results["serialized"][name], name

    def custom_act(x):
        return x
    assert activations.serialize(custom_act) == keras_results["custom"]

    @uk.saving.register_keras_serializable(package="pkg")
    def registered_act(x):
        return x
    assert activations.serialize(registered_act) == keras_results["registered"]
    assert activations.deserialize(keras_results["registered"]) is registered_act


def test_round_trips_and_custom_objects():
    for name in FUNCTION_NAMES:
        fn = getattr(activations, name)
        assert activations.deserialize(activations.serialize(fn)) is fn

    def my_act(x):
        return x
    config = activations.serialize(my_act)
    assert activations.deserialize(config, custom_objects={"my_act": my_act}) is my_act
    assert activations.deserialize("my_act", custom_objects={"my_act": my_act}) is my_act


def test_deserialize_refuses_unknown_names():
    with pytest.raises(ValueError, match="Unknown activation 'nope'"):
        activations.deserialize("nope")
    with pytest.raises(ValueError, match="'nope'"):
        activations.get({"module": "builtins", "class_name": "function", "config": "nope",
                         "registered_name": "function"})
    with pytest.raises(ValueError, match="Cannot deserialize"):
        activations.deserialize({"config": "relu"})


def test_activation_errors_are_clear():
    with pytest.raises(ValueError, match="glu.*even"):
        activations.glu(KerasTensor((2, 5)))
    with pytest.raises(ValueError, match="squareplus.*b must be >= 0"):
        activations.squareplus(KerasTensor((2, 5)), b=-1)
