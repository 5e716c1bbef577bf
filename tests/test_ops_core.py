"""Every foundation op on every framework backend vs the NumPy reference: values, dtype,
symbolic shape/dtype; gradients vs finite differences and across backends."""
import numpy as np
import pytest

from unikeras import KerasTensor, ops, random
from unikeras.common.variables import runtime
from tests.conftest import FRAMEWORKS, to_backend
from tests.conftest import (  # noqa: E402
    reference as _reference, backend_args as _convert, as_symbolic as _symbolic)

R = np.random.default_rng(42)
F = lambda *s: R.standard_normal(s).astype("float32")  # noqa: E731
P = lambda *s: (R.uniform(0.5, 2.0, s)).astype("float32")  # noqa: E731
I = lambda *s: R.integers(-5, 5, s).astype("int32")  # noqa: E731

# (op name, positional args, kwargs); NumPy arrays become backend tensors, scalars stay.
CASES = [
    ("add", (F(3, 4), F(4)), {}), ("add", (F(2, 1, 3), F(4, 1)), {}), ("add", (I(3), 2), {}),
    ("add", (I(3), 2.5), {}), ("add", (F(0, 3), F(3)), {}), ("add", (F(), F()), {}),
    ("add", (I(3), F(3)), {}),
    ("subtract", (F(3, 4), F(3, 4)), {}), ("multiply", (F(2, 3), 3.0), {}),
    ("divide", (F(3), P(3)), {}), ("divide", (I(4), np.array([1, 2, 3, 4], "int32")), {}),
    ("power", (P(3), F(3)), {}), ("maximum", (F(3, 2), F(2)), {}), ("minimum", (F(3), 0.0), {}),
    ("negative", (F(2, 3),), {}), ("absolute", (I(5),), {}), ("sign", (F(5),), {}),
    ("square", (F(2, 2),), {}), ("sqrt", (P(4),), {}), ("sqrt", (np.array([1, 4], "int32"),), {}),
    ("exp", (F(3),), {}), ("log", (P(3, 2),), {}), ("tanh", (F(4),), {}),
    ("clip", (F(10), -0.5, 0.5), {}),
    ("equal", (I(6), I(6)), {}), ("not_equal", (I(6), 0), {}), ("greater", (F(3), F(3)), {}),
    ("greater_equal", (F(3), 0.0), {}), ("less", (F(2, 3), F(3)), {}), ("less_equal", (I(4), I(4)), {}),
    ("where", (F(3, 4) > 0, F(3, 4), F(4)), {}),
    ("sum", (F(3, 4),), {}), ("sum", (F(3, 4, 5),), {"axis": (0, 2)}), ("sum", (F(3, 4),), {"axis": 1, "keepdims": True}),
    ("sum", (I(3, 4) > 0,), {"axis": 0}),
    ("mean", (F(3, 4),), {"axis": -1}), ("mean", (I(6),), {}),
    ("max", (F(3, 4),), {"axis": 0}), ("max", (F(3, 4),), {}), ("min", (I(3, 4),), {"axis": 1, "keepdims": True}),
    ("argmax", (F(3, 4),), {"axis": -1}), ("argmax", (F(3, 4),), {}),
    ("reshape", (F(2, 6),), {"newshape": (3, -1)}), ("reshape", (F(2, 3),), {"newshape": (6,)}),
    ("transpose", (F(2, 3, 4),), {}), ("transpose", (F(2, 3, 4),), {"axes": (1, 0, 2)}),
    ("expand_dims", (F(2, 3),), {"axis": 1}), ("squeeze", (F(2, 1, 3, 1),), {}),
    ("squeeze", (F(2, 1, 3),), {"axis": 1}),
    ("concatenate", ([F(2, 3), F(4, 3)],), {}), ("concatenate", ([F(2, 3), F(2, 1)],), {"axis": -1}),
    ("matmul", (F(3, 4), F(4, 5)), {}), ("matmul", (F(2, 3, 4), F(4, 2)), {}), ("matmul", (F(4), F(4, 3)), {}),
    ("matmul", (I(2, 3), I(3, 2)), {}),
    ("get_item", (F(4, 5),), {"key": (slice(1, 3), 2)}), ("get_item", (F(4, 5),), {"key": (Ellipsis, None, slice(None, None, 2))}),
    ("zeros_like", (F(2, 3),), {}), ("ones_like", (I(4),), {"dtype": "float32"}),
    ("relu", (F(3, 4),), {}), ("sigmoid", (F(20) * 10,), {}), ("softmax", (F(3, 5),), {}),
    ("softmax", (F(3, 5),), {"axis": 0}), ("log_softmax", (F(2, 6),), {}),
    ("one_hot", (np.array([0, 3, 1], "int32"), 4), {}), ("one_hot", (np.array([[0, 2]], "int32"), 3), {"axis": 0}),
    ("dense", (F(5, 3), F(3, 4), F(4)), {}), ("dense", (F(2, 5, 3), F(3, 4)), {}),
    ("cast", (F(3) * 4,), {"dtype": "int32"}), ("cast", (I(3),), {"dtype": "float32"}),
    ("stop_gradient", (F(3),), {}),
]
CREATION = [
    ("zeros", ((2, 3),), {}), ("ones", ((4,),), {"dtype": "int32"}), ("full", ((2, 2), 7), {}),
    ("full", ((3,), 1.5), {"dtype": "float32"}), ("arange", (5,), {}), ("arange", (1, 7, 2), {"dtype": "float32"}),
]
DIFFERENTIABLE = {"add", "subtract", "multiply", "divide", "power", "maximum", "minimum", "negative",
                  "square", "sqrt", "exp", "log", "tanh", "sum", "mean", "max", "reshape", "transpose",
                  "concatenate", "matmul", "relu", "sigmoid", "softmax", "log_softmax", "dense", "where",
                  "expand_dims", "squeeze", "get_item"}


def _case_id(case):
    return case[0] + "-" + "x".join(str(getattr(a, "shape", a)) for a in case[1])


@pytest.mark.parametrize("backend", FRAMEWORKS)
@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_op_matches_numpy_reference(backend, case):
    name, args, kwargs = case
    expected = _reference(name, args, kwargs)
    out = getattr(ops, name)(*_convert(args, backend), **kwargs)
    assert ops.is_tensor(out), f"{name} on {backend} returned {type(out)}"
    got = ops.convert_to_numpy(out)
    assert got.dtype == expected.dtype, f"{name}: {got.dtype} != reference {expected.dtype}"
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_symbolic_rule_matches_reference(case):
    name, args, kwargs = case
    expected = _reference(name, args, kwargs)
    spec = getattr(ops, name)(*[_symbolic(a) for a in args], **kwargs)
    assert isinstance(spec, KerasTensor)
    assert spec.shape == expected.shape and spec.dtype == expected.dtype.name


def test_symbolic_rule_keeps_unknown_dims():
    x = KerasTensor((None, 3, 4))
    assert ops.matmul(x, KerasTensor((4, 5))).shape == (None, 3, 5)
    assert ops.sum(x, axis=1).shape == (None, 4)
    assert ops.reshape(x, (-1, 12)).shape == (None, 12)
    assert ops.concatenate([x, KerasTensor((None, 2, 4))], axis=1).shape == (None, 5, 4)


@pytest.mark.parametrize("bad", [
    lambda: ops.add(KerasTensor((2, 3)), KerasTensor((4, 3))),
    lambda: ops.matmul(KerasTensor((None, 3)), KerasTensor((4, 5))),
    lambda: ops.reshape(KerasTensor((2, 3)), (4, 2)),
    lambda: ops.sum(KerasTensor((2, 3)), axis=2),
])
def test_symbolic_errors_name_the_op(bad):
    with pytest.raises(ValueError, match=r"^(add|matmul|reshape|sum):"):
        bad()


@pytest.mark.parametrize("backend", FRAMEWORKS)
@pytest.mark.parametrize("case", CREATION, ids=[_case_id(c) for c in CREATION])
def test_creation_ops_use_scoped_backend(backend, case):
    name, args, kwargs = case
    expected = _reference(name, args, kwargs)
    with ops.backend_scope(backend):
        out = getattr(ops, name)(*args, **kwargs)
    got = ops.convert_to_numpy(out)
    assert ops.is_tensor(out) and got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


def _numeric_grad(name, args, kwargs, i):
    x = args[i].astype("float64")
    grad = np.zeros_like(x)
    eps = 1e-3
    for idx in np.ndindex(x.shape):
        vals = []
        for sign in (1, -1):
            xp = x.copy()
            xp[idx] += sign * eps
            new_args = list(args)
            new_args[i] = xp
            with ops.backend_scope("numpy"):
                vals.append(float(np.sum(getattr(ops, name)(*new_args, **kwargs) * _WEIGHTS(new_args, name, kwargs))))
        grad[idx] = (vals[0] - vals[1]) / (2 * eps)
    return grad


def _WEIGHTS(args, name, kwargs):
    """Fixed pseudo-random cotangent so that e.g. softmax gradients are not all zero."""
    with ops.backend_scope("numpy"):
        shape = getattr(ops, name)(*args, **kwargs).shape
    return np.random.default_rng(7).standard_normal(shape)


GRAD_CASES = [c for c in CASES if c[0] in DIFFERENTIABLE and isinstance(c[1][0], np.ndarray)
              and c[1][0].dtype == np.float32]


@pytest.mark.parametrize("case", GRAD_CASES, ids=[_case_id(c) for c in GRAD_CASES])
def test_gradients_match_finite_differences_and_agree_across_backends(case):
    name, args, kwargs = case
    expected = _numeric_grad(name, list(args), kwargs, 0)
    weights = _WEIGHTS(list(args), name, kwargs).astype("float32")
    per_backend = {}
    for backend in FRAMEWORKS:
        rest = _convert(args[1:], backend)
        w = to_backend(weights, backend)

        def loss(params, *unused):
            out = getattr(ops, name)(params[0], *rest, **kwargs)
            return ops.sum(ops.multiply(out, w)), None

        x0 = to_backend(args[0], backend)
        (_, _), grads = runtime(backend).value_and_grad(loss)([x0])
        per_backend[backend] = ops.convert_to_numpy(grads[0])
        np.testing.assert_allclose(per_backend[backend], expected, rtol=2e-2, atol=2e-2,
                                   err_msg=f"{name} gradient on {backend}")
    first = next(iter(per_backend.values()))
    for backend, g in per_backend.items():
        np.testing.assert_allclose(g, first, rtol=1e-4, atol=1e-5, err_msg=f"{name} grads differ on {backend}")


@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_mixing_frameworks_is_a_clear_type_error(backend):
    other = next(b for b in FRAMEWORKS if b != backend) if len(FRAMEWORKS) > 1 else None
    if other is None:
        pytest.skip("needs two frameworks installed")
    with pytest.raises(TypeError, match="Cannot mix"):
        ops.add(to_backend(np.ones(2, "float32"), backend), to_backend(np.ones(2, "float32"), other))


@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_numpy_and_scalars_adopt_the_tensor_backend(backend):
    x = to_backend(np.ones(3, "float32"), backend)
    out = ops.add(np.arange(3, dtype="float32"), x)
    assert ops.is_tensor(out)
    assert type(out) is type(ops.add(x, 1.0))
    np.testing.assert_allclose(ops.convert_to_numpy(out), [1, 2, 3])


@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_random_ops_seeded_reproducible(backend):
    with ops.backend_scope(backend):
        a = ops.convert_to_numpy(random.normal((200,), seed=3))
        b = ops.convert_to_numpy(random.normal((200,), seed=3))
        c = ops.convert_to_numpy(random.normal((200,), seed=4))
        u = ops.convert_to_numpy(random.uniform((2000,), minval=2.0, maxval=3.0, seed=1))
        gen = random.SeedGenerator(5)
        g1 = ops.convert_to_numpy(random.normal((10,), seed=gen))
        g2 = ops.convert_to_numpy(random.normal((10,), seed=gen))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c) and not np.allclose(g1, g2)
    assert a.dtype == np.float32 and abs(a.mean()) < 0.3 and 0.7 < a.std() < 1.3
    assert u.min() >= 2.0 and u.max() < 3.0 and abs(u.mean() - 2.5) < 0.05


@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_dropout_zeroes_and_rescales(backend):
    x = to_backend(np.ones((100, 100), "float32"), backend)
    out = ops.convert_to_numpy(random.dropout(x, 0.3, seed=0))
    kept = out != 0
    assert 0.6 < kept.mean() < 0.8
    np.testing.assert_allclose(out[kept], 1 / 0.7, rtol=1e-6)
