"""Random ops on every backend (NumPy reference included): distributions (moments, support,
frequencies) against closed-form values, dtypes, symbolic shapes, seeding, and SeedGenerator
seeds inside jax.jit / tf.function."""
import math

import numpy as np
import pytest

from unikeras import KerasTensor, StatelessScope, ops, random
from unikeras.common.ops import random as rops
from tests.conftest import FRAMEWORKS, to_backend

ALL = ["numpy"] + FRAMEWORKS
N = 20000


def _np(x):
    return ops.convert_to_numpy(x)


def _draw(backend, fn, *args, **kwargs):
    with ops.backend_scope(backend):
        return _np(fn(*args, **kwargs))


# Each sampler called with a seed: (name, call(seed)).
SAMPLERS = [
    ("truncated_normal", lambda s: random.truncated_normal((3, 4), seed=s)),
    ("randint", lambda s: random.randint((5,), 0, 100, seed=s)),
    ("categorical", lambda s: random.categorical(np.zeros((2, 10), "float32"), 6, seed=s)),
    ("shuffle", lambda s: random.shuffle(np.arange(20, dtype="float32"), seed=s)),
    ("gamma", lambda s: random.gamma((6,), 2.0, seed=s)),
    ("beta", lambda s: random.beta((6,), 2.0, 3.0, seed=s)),
    ("binomial", lambda s: random.binomial((6,), 50, 0.5, seed=s)),
]


@pytest.mark.parametrize("backend", ALL)
@pytest.mark.parametrize("name,call", SAMPLERS, ids=[s[0] for s in SAMPLERS])
def test_seeded_reproducible(backend, name, call):
    with ops.backend_scope(backend):
        a, b, c = _np(call(11)), _np(call(11)), _np(call(12))
        gen = random.SeedGenerator(3)
        g1, g2 = _np(call(gen)), _np(call(gen))
        h1 = _np(call(random.SeedGenerator(3)))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert not np.array_equal(g1, g2)            # the generator's state advanced
    np.testing.assert_array_equal(g1, h1)        # same generator seed -> same first draw


def _trunc_std(k=2.0):
    """Std of a standard normal truncated to [-k, k] (closed form)."""
    pdf = math.exp(-k * k / 2) / math.sqrt(2 * math.pi)
    mass = math.erf(k / math.sqrt(2))
    return math.sqrt(1 - 2 * k * pdf / mass)


@pytest.mark.parametrize("backend", ALL)
def test_truncated_normal(backend):
    x = _draw(backend, random.truncated_normal, (N,), mean=1.0, stddev=2.0, seed=0)
    assert x.dtype == np.float32 and x.shape == (N,)
    assert x.min() >= 1.0 - 4.0 - 1e-5 and x.max() <= 1.0 + 4.0 + 1e-5
    assert abs(x.mean() - 1.0) < 0.05
    assert abs(x.std() - 2.0 * _trunc_std()) < 0.04
    # Both tails reach near the bounds (it is not clipped to something narrower).
    assert x.min() < -2.5 and x.max() > 4.5
    y = _draw(backend, random.truncated_normal, (4, 5), dtype="float16", seed=1)
    assert y.dtype == np.float16 and y.shape == (4, 5) and np.abs(y).max() <= 2.0


@pytest.mark.parametrize("backend", ALL)
def test_randint(backend):
    x = _draw(backend, random.randint, (N,), -3, 7, seed=0)
    assert x.dtype == np.int32
    assert x.min() == -3 and x.max() == 6
    freq = np.bincount(x + 3, minlength=10) / N
    np.testing.assert_allclose(freq, 0.1, atol=0.015)
    y = _draw(backend, random.randint, (3, 50), 0, 200, dtype="uint8", seed=2)
    assert y.dtype == np.uint8 and y.shape == (3, 50) and y.max() < 200


@pytest.mark.parametrize("backend", ALL)
def test_categorical_follows_softmax(backend):
    logits = np.array([[0.0, 1.0, 2.0], [3.0, -1.0, 0.5]], "float32")
    x = _draw(backend, random.categorical, to_backend(logits, backend) if backend != "numpy"
              else logits, N, seed=0)
    assert x.shape == (2, N) and x.dtype == np.int32
    expected = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    for row in range(2):
        freq = np.bincount(x[row], minlength=3) / N
        np.testing.assert_allclose(freq, expected[row], atol=0.015)
    y = _draw(backend, random.categorical, logits, 5, dtype="int64", seed=1)
    assert y.shape == (2, 5) and np.issubdtype(y.dtype, np.integer)
    assert y.min() >= 0 and y.max() <= 2


@pytest.mark.parametrize("backend", ALL)
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_shuffle_is_permutation(backend, axis):
    x = np.arange(6 * 7 * 5, dtype="float32").reshape(6, 7, 5)
    out = _draw(backend, random.shuffle, to_backend(x, backend) if backend != "numpy" else x,
                axis=axis, seed=5)
    assert out.shape == x.shape and out.dtype == np.float32
    ax = axis % 3
    # One permutation along `axis`: each output slice is some input slice, all distinct.
    xm = np.moveaxis(x, ax, 0).reshape(x.shape[ax], -1)
    om = np.moveaxis(out, ax, 0).reshape(x.shape[ax], -1)
    perm = np.array([int(np.nonzero(xm[:, 0] == row[0])[0][0]) for row in om])
    assert sorted(perm.tolist()) == list(range(x.shape[ax]))
    np.testing.assert_array_equal(out, np.take(x, perm, axis=ax))
    # With a fixed seed the permutation is not the identity (5+ items: chance <= 1/120).
    assert not np.array_equal(out, x)


@pytest.mark.parametrize("backend", ALL)
def test_gamma_moments(backend):
    x = _draw(backend, random.gamma, (N,), 3.0, seed=0)
    assert x.dtype == np.float32 and x.min() > 0
    assert abs(x.mean() - 3.0) < 0.08 and abs(x.var() - 3.0) < 0.25
    y = _draw(backend, random.gamma, (2, 3), 0.5, dtype="float16", seed=1)
    assert y.dtype == np.float16 and y.shape == (2, 3) and y.min() >= 0


@pytest.mark.parametrize("backend", ALL)
def test_beta_moments(backend):
    a, b = 2.0, 5.0
    x = _draw(backend, random.beta, (N,), a, b, seed=0)
    assert x.dtype == np.float32 and x.min() >= 0 and x.max() <= 1
    mean = a / (a + b)
    var = a * b / ((a + b) ** 2 * (a + b + 1))
    assert abs(x.mean() - mean) < 0.01 and abs(x.var() - var) < 0.003
    y = _draw(backend, random.beta, (3,), 0.5, 0.5, dtype="float16", seed=1)
    assert y.dtype == np.float16 and y.min() >= 0 and y.max() <= 1


@pytest.mark.parametrize("backend", ALL)
def test_binomial_moments(backend):
    n, p = 20, 0.3
    x = _draw(backend, random.binomial, (N,), n, p, seed=0)
    assert x.dtype == np.float32
    np.testing.assert_array_equal(x, np.round(x))
    assert x.min() >= 0 and x.max() <= n
    assert abs(x.mean() - n * p) < 0.1 and abs(x.var() - n * p * (1 - p)) < 0.3
    y = _draw(backend, random.binomial, (4,), 10, 1.0, dtype="int32", seed=1)
    assert y.dtype == np.int32
    np.testing.assert_array_equal(y, 10)
    z = _draw(backend, random.binomial, (2, 3), np.array([0.0, 5.0, 8.0], "float32"),
              np.array([0.5, 0.0, 1.0], "float32"), seed=2)
    np.testing.assert_array_equal(z, [[0, 0, 8], [0, 0, 8]])


# (private op, args for the symbolic rule, call on a backend): the symbolic rule's spec
# must equal the eager result's.
def _spec_cases():
    logits = np.zeros((3, 4), "float32")
    return [
        (rops._truncated_normal, ((2, 3), 0.0, 1.0, None, 0), None),
        (rops._truncated_normal, ((0, 3), 0.0, 1.0, "float64", 0), None),
        (rops._randint, ((4,), 0, 5, "int32", 0), None),
        (rops._randint, ((), 0, 5, "int16", 0), None),
        (rops._categorical, (logits, 7, "int32", 0), logits),
        (rops._shuffle, (np.zeros((3, 5), "float32"), 1, 0), None),
        (rops._gamma, ((2, 2), 1.5, None, 0), None),
        (rops._beta, ((5,), 1.0, 2.0, "float64", 0), None),
        (rops._binomial, ((3, 1), 4, 0.5, "int32", 0), None),
    ]


@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_symbolic_rule_matches_eager(backend):
    for fn, args, _ in _spec_cases():
        sym_args = tuple(KerasTensor(a.shape, str(a.dtype)) if isinstance(a, np.ndarray) else a
                         for a in args)
        rule = fn.rule(*sym_args)
        with ops.backend_scope(backend):
            real = fn(*(to_backend(a, backend) if isinstance(a, np.ndarray) else a
                        for a in args))
        out = _np(real)
        assert tuple(rule.shape) == out.shape, fn.__name__
        if backend == "jax" and rule.dtype in ("int64", "float64"):
            continue   # jax without x64 has no 64-bit types
        assert rule.dtype == str(out.dtype), (fn.__name__, rule.dtype, out.dtype)
    # Unknown dims are kept.
    out = rops._categorical.rule(KerasTensor((None, 4), "float32"), 3, "int32", 0)
    assert tuple(out.shape) == (None, 3)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="^categorical:"):
        random.categorical(KerasTensor((4,), "float32"), 2)
    with pytest.raises(ValueError, match="^shuffle:"):
        random.shuffle(KerasTensor((3, 4), "float32"), axis=2)
    with pytest.raises(ValueError, match="^shuffle:"):
        random.shuffle(KerasTensor((), "float32"))


# Compiled functions with a SeedGenerator: the generator's state is passed in and out
# through a StatelessScope, as a compiled training step does.
CALLS = [
    lambda g: random.truncated_normal((8,), seed=g),
    lambda g: random.randint((8,), 0, 1000, seed=g),
    lambda g: random.categorical(np.zeros((2, 50), "float32"), 4, seed=g),
    lambda g: random.shuffle(np.arange(10, dtype="float32"), seed=g),
    lambda g: random.gamma((8,), 2.0, seed=g),
    lambda g: random.beta((8,), 2.0, 2.0, seed=g),
    lambda g: random.binomial((8,), 30, 0.5, seed=g),
]


def _stateless(call, gen):
    def step(state):
        with StatelessScope({gen.state: state}) as scope:
            out = call(gen)
        return out, scope.values[gen.state]
    return step


def _check_compiled(backend, compile_fn):
    for call in CALLS:
        with ops.backend_scope(backend):
            eager_gen = random.SeedGenerator(42)
            e1, e2 = _np(call(eager_gen)), _np(call(eager_gen))
            gen = random.SeedGenerator(42)
            step = compile_fn(_stateless(call, gen))
            state = ops.convert_to_tensor(np.array([42, 0], "int32"))
            o1, state = step(state)
            o2, state = step(state)
        # Same numbers (floats: up to XLA/grappler fusion rounding in the compiled graph).
        np.testing.assert_allclose(_np(o1), e1, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(_np(o2), e2, rtol=1e-6, atol=1e-7)
        assert _np(o1).dtype == e1.dtype
        np.testing.assert_array_equal(_np(state), [42, 2])
        assert not np.array_equal(e1, e2)


@pytest.mark.skipif("jax" not in FRAMEWORKS, reason="jax not installed")
def test_seed_generator_inside_jax_jit():
    import jax
    _check_compiled("jax", jax.jit)


@pytest.mark.skipif("tensorflow" not in FRAMEWORKS, reason="tensorflow not installed")
def test_seed_generator_inside_tf_function():
    import tensorflow as tf
    _check_compiled("tensorflow", tf.function)


@pytest.mark.parametrize("backend", FRAMEWORKS)
@pytest.mark.parametrize("axis", [0, 1])
def test_shuffle_gradient_is_inverse_permutation(backend, axis):
    from unikeras.common.variables import runtime
    x = np.random.default_rng(0).standard_normal((6, 5)).astype("float32")
    w = np.random.default_rng(1).standard_normal((6, 5)).astype("float32")
    idx = np.broadcast_to(np.arange(x.shape[axis], dtype="float32").reshape(
        (-1, 1) if axis == 0 else (1, -1)), x.shape).copy()
    perm = _draw(backend, random.shuffle, to_backend(idx, backend), axis=axis, seed=9)
    perm = np.take(perm, 0, axis=1 - axis).astype(int)   # out[i] = x[perm[i]] along axis
    wb = to_backend(w, backend)

    def loss(params, *unused):
        return ops.sum(ops.multiply(random.shuffle(params[0], axis=axis, seed=9), wb)), None

    with ops.backend_scope(backend):
        (_, _), grads = runtime(backend).value_and_grad(loss)([to_backend(x, backend)])
    # d/dx[perm[i]] = w[i]  <=>  grad = w taken at the inverse permutation.
    expected = np.take(w, np.argsort(perm), axis=axis)
    np.testing.assert_allclose(_np(grads[0]), expected, rtol=1e-6)
    assert not np.array_equal(perm, np.arange(len(perm)))
