"""Linear-algebra and Fourier ops on every framework backend: values vs the NumPy reference
and vs independent formulas (reconstructions, explicit DFTs), dtypes, symbolic rules,
gradients vs finite differences and across backends, jax.jit / tf.function."""
import numpy as np
import pytest

from unikeras import KerasTensor, ops
from unikeras.common import tree
from unikeras.common.variables import runtime
from tests.conftest import FRAMEWORKS, to_backend
from tests.conftest import (  # noqa: E402
    reference as _reference, as_backend as _convert, as_symbolic as _symbolic)

R = np.random.default_rng(3)


def F(*s):
    return R.standard_normal(s).astype("float32")


def SPD(*batch, n=4):
    a = R.standard_normal(batch + (n, n))
    return (a @ np.swapaxes(a, -1, -2) + n * np.eye(n)).astype("float32")


A = F(3, 4, 4)
S = SPD(3)
L = np.linalg.cholesky(S.astype("float64")).astype("float32")
B = F(3, 4, 2)
V4 = F(4)
M = F(5, 3)
SIG = F(2, 40)
SPEC = (F(2, 14, 5), F(2, 14, 5))
TRI = np.triu(A) + 3 * np.eye(4, dtype="float32")

# (op name, positional args, kwargs, sign-ambiguous outputs to leave out of value checks)
CASES = [
    ("cholesky", (S,), {}), ("cholesky", (S,), {"upper": True}),
    ("cholesky_inverse", (L,), {}), ("cholesky_inverse", (np.swapaxes(L, -1, -2),), {"upper": True}),
    ("det", (A,), {}), ("det", (A[0],), {}), ("det", (np.eye(3, dtype="int32") * 2,), {}),
    ("inv", (A,), {}), ("inv", (A[0],), {}),
    ("logdet", (S,), {}), ("slogdet", (A,), {}),
    ("lstsq", (M, M[:, 0] + 1), {}), ("lstsq", (M, F(5, 2)), {}), ("lstsq", (M, F(5, 2)), {"rcond": 0.5}),
    ("lu_factor", (A,), {}), ("lu_factor", (A[0],), {}),
    ("matrix_rank", (A,), {}), ("matrix_rank", (M @ F(3, 6),), {}), ("matrix_rank", (A,), {"tol": 1.0}),
    ("norm", (A,), {}), ("norm", (A,), {"keepdims": True}), ("norm", (V4,), {"ord": 3}),
    ("norm", (V4,), {"ord": 0}), ("norm", (V4,), {"ord": 1}), ("norm", (V4,), {"ord": -np.inf}),
    ("norm", (A,), {"ord": np.inf, "axis": -1}), ("norm", (A,), {"axis": (0, 2)}),
    ("norm", (A,), {"ord": "nuc", "axis": (1, 2), "keepdims": True}),
    ("norm", (A,), {"ord": 1, "axis": (2, 1)}), ("norm", (A,), {"ord": -1, "axis": (1, 2)}),
    ("norm", (A,), {"ord": 2, "axis": (1, 2)}), ("norm", (A,), {"ord": -2, "axis": (0, 1)}),
    ("norm", (A[0],), {"ord": "fro"}), ("norm", (A[0],), {"ord": -np.inf}),
    ("norm", (np.arange(6, dtype="int32"),), {}),
    ("pinv", (M,), {}), ("pinv", (A,), {"rcond": 0.3}),
    ("qr", (M,), {}), ("qr", (M,), {"mode": "complete"}), ("qr", (A,), {}),
    ("solve", (A, B), {}), ("solve", (A, V4), {}), ("solve", (A[0], B), {}), ("solve", (A[0], V4), {}),
    ("solve_triangular", (TRI, B), {}), ("solve_triangular", (np.swapaxes(TRI, -1, -2), B), {"lower": True}),
    ("solve_triangular", (TRI[0], V4), {}),
    ("svd", (M,), {"compute_uv": False}), ("svd", (A,), {"compute_uv": False}),
    ("fft", ((A, B.repeat(2, 2)),), {}), ("fft2", ((A, B.repeat(2, 2)),), {}),
    ("ifft2", ((A, B.repeat(2, 2)),), {}), ("rfft", (A,), {}), ("rfft", (A,), {"fft_length": 5}),
    ("rfft", (F(7),), {"fft_length": 4}),
    ("irfft", ((A, A),), {}), ("irfft", ((A, A),), {"fft_length": 5}),
    ("stft", (SIG, 6, 3, 8), {}), ("stft", (SIG, 8, 4, 8), {"window": "hamming", "center": False}),
    ("stft", (SIG[0], 6, 3, 8), {"window": None}),
    ("stft", (SIG, 6, 3, 8), {"window": np.linspace(0.1, 1.0, 6).astype("float32")}),
    ("istft", (SPEC, 6, 3, 8), {}), ("istft", (SPEC, 6, 3, 8), {"length": 30}),
    ("istft", (SPEC, 8, 4, 8), {"center": False, "window": None}),
    ("istft", (SPEC, 6, 3, 8), {"window": "hamming", "center": False}),
]
# Outputs defined up to signs/phases: checked by properties below, not element-wise.
AMBIGUOUS = [
    ("eigh", (S,), {}), ("eig", (A[0],), {}), ("svd", (M,), {}), ("svd", (A,), {"full_matrices": False}),
    ("svd", (M,), {"full_matrices": True}),
]


def _case_id(case):
    def show(a):
        if isinstance(a, tuple):
            return "pair" + "x".join(str(x.shape) for x in a)
        return str(getattr(a, "shape", a))
    return case[0] + "-" + "-".join(show(a) for a in case[1]) + "-" + "-".join(
        f"{k}={v if not hasattr(v, 'shape') else 'arr'}" for k, v in case[2].items())


def _run(name, args, kwargs, backend):
    out = getattr(ops, name)(*[_convert(a, backend) for a in args],
                             **{k: _convert(v, backend) for k, v in kwargs.items()})
    return out, [ops.convert_to_numpy(o) for o in tree.flatten(out)]


@pytest.mark.parametrize("backend", FRAMEWORKS)
@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_op_matches_numpy_reference(backend, case):
    name, args, kwargs = case
    expected = [np.asarray(e) for e in tree.flatten(_reference(name, args, kwargs))]
    out, got = _run(name, args, kwargs, backend)
    assert all(ops.is_tensor(o) for o in tree.flatten(out)), f"{name} on {backend}: {type(out)}"
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert g.dtype == e.dtype, f"{name} on {backend}: {g.dtype} != reference {e.dtype}"
        assert g.shape == e.shape, f"{name} on {backend}: {g.shape} != reference {e.shape}"
        tol = 1e-4 if name != "pinv" else 1e-3
        np.testing.assert_allclose(g, e, rtol=tol, atol=tol, err_msg=f"{name} on {backend}")


@pytest.mark.parametrize("case", CASES + AMBIGUOUS, ids=[_case_id(c) for c in CASES + AMBIGUOUS])
def test_symbolic_rule_matches_reference(case):
    name, args, kwargs = case
    expected = tree.flatten(_reference(name, args, kwargs))
    specs = tree.flatten(getattr(ops, name)(*[_symbolic(a) for a in args],
                                            **{k: _symbolic(v) for k, v in kwargs.items()}))
    assert len(specs) == len(expected)
    for s, e in zip(specs, expected):
        assert isinstance(s, KerasTensor)
        assert s.shape == np.shape(e) and s.dtype == np.asarray(e).dtype.name, (name, s, e.shape)


def test_symbolic_rules_keep_unknown_dims():
    x = KerasTensor((None, 4, 4))
    assert ops.inv(x).shape == (None, 4, 4)
    assert ops.det(x).shape == (None,)
    assert [t.shape for t in ops.svd(KerasTensor((None, 5, 3)))] == [(None, 5, 5), (None, 3), (None, 3, 3)]
    assert ops.solve(x, KerasTensor((None, 4, 2))).shape == (None, 4, 2)
    assert ops.norm(KerasTensor((None, 3)), axis=-1).shape == (None,)
    assert ops.rfft(KerasTensor((None, 16)))[0].shape == (None, 9)
    assert ops.stft(KerasTensor((2, None)), 6, 3, 8)[0].shape == (2, None, 5)
    assert ops.matrix_rank(KerasTensor((None, 2, 3))).dtype == "int32"


@pytest.mark.parametrize("bad", [
    lambda: ops.inv(KerasTensor((3, 4))),
    lambda: ops.det(KerasTensor((4,))),
    lambda: ops.solve(KerasTensor((3, 3)), KerasTensor((4, 2))),
    lambda: ops.norm(KerasTensor((2, 3, 4)), ord=2),
    lambda: ops.norm(KerasTensor((2, 3)), ord="fro", axis=0),
    lambda: ops.norm(KerasTensor((2, 3)), axis=(0, 1, 1)),
    lambda: ops.qr(KerasTensor((3, 3)), mode="r"),
    lambda: ops.fft(KerasTensor((3,))),
    lambda: ops.stft(KerasTensor((2, 40)), 8, 3, 6),
    lambda: ops.stft(KerasTensor((2, 40)), 6, 3, 8, window="kaiser"),
    lambda: ops.lstsq(KerasTensor((3, 2)), KerasTensor((4,))),
])
def test_symbolic_errors_name_the_op(bad):
    with pytest.raises(ValueError, match=r"^(inv|det|solve|norm|qr|fft|stft|lstsq):"):
        bad()


# --- independent formulas, checked on every backend's result --------------------------------
def _lu_reconstruct(lu, piv):
    n = lu.shape[-1]
    lower = np.tril(lu, -1) + np.eye(n)
    upper = np.triu(lu)
    perm = np.arange(n)
    for j, p in enumerate(piv):
        perm[[j, p]] = perm[[p, j]]
    return lower, upper, perm


def _dft(n, inverse=False):
    k = np.arange(n)
    return np.exp((2j if inverse else -2j) * np.pi * np.outer(k, k) / n) / (n if inverse else 1)


def _frames(x, length, stride, fft_length):
    n = 1 + (x.shape[-1] - fft_length) // stride
    return np.stack([x[..., i * stride:i * stride + fft_length] for i in range(n)], -2)


@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_decompositions_reconstruct_their_input(backend):
    x64 = A.astype("float64")
    t = lambda a: to_backend(a, backend)  # noqa: E731
    n = ops.convert_to_numpy
    tol = dict(rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(n(ops.inv(t(A))) @ x64, np.broadcast_to(np.eye(4), A.shape), **tol)
    chol = n(ops.cholesky(t(S)))
    np.testing.assert_allclose(chol @ np.swapaxes(chol, -1, -2), S, rtol=1e-4, atol=1e-3)
    assert np.allclose(np.triu(chol, 1), 0)
    np.testing.assert_allclose(n(ops.cholesky_inverse(t(L))) @ S, np.broadcast_to(np.eye(4), S.shape),
                               rtol=1e-3, atol=1e-3)
    eigvals = np.linalg.eigvals(x64)
    np.testing.assert_allclose(n(ops.det(t(A))), np.real(np.prod(eigvals, -1)), **tol)
    sign, logabs = (n(v) for v in ops.slogdet(t(A)))
    np.testing.assert_allclose(sign * np.exp(logabs), np.real(np.prod(eigvals, -1)), **tol)
    np.testing.assert_allclose(n(ops.logdet(t(S))), 2 * np.sum(np.log(np.diagonal(chol, 0, -2, -1)), -1), **tol)
    np.testing.assert_allclose(x64 @ n(ops.solve(t(A), t(B))), B, **tol)
    np.testing.assert_allclose(TRI @ n(ops.solve_triangular(t(TRI + np.tril(F(4, 4), -1)), t(B))), B, **tol)
    q, r = (n(v) for v in ops.qr(t(M)))
    np.testing.assert_allclose(q @ r, M, **tol)
    np.testing.assert_allclose(q.T @ q, np.eye(3), **tol)
    assert np.allclose(np.tril(r, -1), 0)
    for full in (True, False):
        u, s, vh = (n(v) for v in ops.svd(t(A), full_matrices=full))
        np.testing.assert_allclose((u * s[..., None, :]) @ vh, A, **tol)
        assert np.all(np.diff(s, axis=-1) <= 0)
    u, s, vh = (n(v) for v in ops.svd(t(M)))
    assert u.shape == (5, 5) and vh.shape == (3, 3)
    np.testing.assert_allclose(u[:, :3] * s @ vh, M, **tol)
    w, v = (n(o) for o in ops.eigh(t(S)))
    np.testing.assert_allclose(S @ v, v * w[..., None, :], rtol=1e-3, atol=1e-3)
    assert np.all(np.diff(w, axis=-1) >= 0) and w.dtype == np.float32
    w, v = (n(o) for o in ops.eig(t(A[0])))
    assert w.dtype == np.complex64 and v.dtype == np.complex64
    np.testing.assert_allclose(A[0] @ v, v * w[None, :], rtol=1e-3, atol=1e-3)
    for lu, piv, x in [(*(n(o) for o in ops.lu_factor(t(A[i]))), A[i]) for i in range(3)]:
        lower, upper, perm = _lu_reconstruct(lu, piv)
        np.testing.assert_allclose(lower @ upper, x[perm], **tol)
        assert piv.dtype == np.int32 and np.all(np.abs(np.tril(lu, -1)) <= 1 + 1e-6)
    low_rank = (F(6, 2) @ F(2, 5))
    assert int(n(ops.matrix_rank(t(low_rank)))) == 2
    p = n(ops.pinv(t(M)))
    np.testing.assert_allclose(M @ p @ M, M, **tol)
    np.testing.assert_allclose(p @ M, np.eye(3), **tol)
    sol = n(ops.lstsq(t(M), t(B[0, :, 0].repeat(2)[:5])))
    np.testing.assert_allclose(M.T @ (M @ sol), M.T @ B[0, :, 0].repeat(2)[:5], **tol)  # normal equations


@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_norms_match_explicit_formulas(backend):
    t = lambda a: to_backend(a, backend)  # noqa: E731
    n = lambda o: float(ops.convert_to_numpy(o))  # noqa: E731
    v, m = V4.astype("float64"), A[0].astype("float64")
    tol = dict(rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(n(ops.norm(t(V4))), np.sqrt(np.sum(v ** 2)), **tol)
    np.testing.assert_allclose(n(ops.norm(t(V4), ord=3)), np.sum(np.abs(v) ** 3) ** (1 / 3), **tol)
    np.testing.assert_allclose(n(ops.norm(t(V4), ord=np.inf)), np.abs(v).max(), **tol)
    np.testing.assert_allclose(n(ops.norm(t(A[0]), ord=1)), np.abs(m).sum(0).max(), **tol)
    np.testing.assert_allclose(n(ops.norm(t(A[0]), ord=np.inf)), np.abs(m).sum(1).max(), **tol)
    np.testing.assert_allclose(n(ops.norm(t(A[0]), ord=2)), np.sqrt(np.linalg.eigvalsh(m.T @ m).max()), **tol)
    np.testing.assert_allclose(n(ops.norm(t(A[0]), ord="nuc")), np.sqrt(np.linalg.eigvalsh(m.T @ m)).sum(), **tol)
    np.testing.assert_allclose(n(ops.norm(t(A))), np.sqrt(np.sum(A.astype("float64") ** 2)), **tol)


@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_fourier_ops_match_explicit_dfts(backend):
    t = lambda a: to_backend(a, backend)  # noqa: E731
    n = ops.convert_to_numpy
    re, im = A, F(3, 4, 4)
    c = re.astype("float64") + 1j * im
    tol = dict(rtol=1e-4, atol=1e-4)
    got = [n(o) for o in ops.fft((t(re), t(im)))]
    want = c @ _dft(4).T
    np.testing.assert_allclose(got[0], want.real, **tol)
    np.testing.assert_allclose(got[1], want.imag, **tol)
    got = [n(o) for o in ops.fft2((t(re), t(im)))]
    want = _dft(4) @ c @ _dft(4).T
    np.testing.assert_allclose(got[0] + 1j * got[1], want, **tol)
    got = [n(o) for o in ops.ifft2((t(re), t(im)))]
    np.testing.assert_allclose(got[0] + 1j * got[1], _dft(4, True) @ c @ _dft(4, True).T, **tol)
    x = F(2, 10)
    got = [n(o) for o in ops.rfft(t(x))]
    np.testing.assert_allclose(got[0] + 1j * got[1], (x.astype("float64") @ _dft(10).T)[:, :6], **tol)
    np.testing.assert_allclose(n(ops.irfft(tuple(ops.rfft(t(x))))), x, **tol)
    # stft: windowed frames of the reflect-padded signal, then a DFT of each frame.
    sig = SIG.astype("float64")
    padded = np.concatenate([sig[:, 4:0:-1], sig, sig[:, -2:-6:-1]], -1)
    win = np.zeros(8)
    win[1:7] = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(6) / 6)
    want = (_frames(padded, 6, 3, 8) * win) @ _dft(8).T[:, :5]
    got = [n(o) for o in ops.stft(t(SIG), 6, 3, 8)]
    np.testing.assert_allclose(got[0] + 1j * got[1], want, **tol)
    # istft inverts stft wherever the overlapped window covers the signal
    for seq, stride, fft_length, window in [(6, 3, 8, "hann"), (8, 2, 8, "hamming"), (16, 4, 16, "hann")]:
        spec = ops.stft(t(SIG), seq, stride, fft_length, window=window)
        back = n(ops.istft(spec, seq, stride, fft_length, length=40, window=window))
        np.testing.assert_allclose(back, SIG, rtol=1e-4, atol=1e-4)


# --- gradients -------------------------------------------------------------------------------
def _gram(x):
    """SPD matrix from any square x (so that gradients see symmetric inputs only)."""
    eye = np.eye(x.shape[-1], dtype="float32") * 4
    return ops.add(ops.matmul(x, ops.transpose(x, (0, 2, 1))), eye)


G = F(2, 3, 3)
GRAD_CASES = [
    ("inv", lambda x: ops.inv(x), G), ("det", lambda x: ops.det(x), G),
    ("solve", lambda x: ops.solve(x, B[:2, :3]), G), ("solve-b", lambda x: ops.solve(G, x), B[:2, :3]),
    ("solve_triangular", lambda x: ops.solve_triangular(ops.add(x, 3 * np.eye(3, dtype="float32")), B[:2, :3], lower=True), G),
    ("cholesky", lambda x: ops.cholesky(_gram(x)), G),
    ("cholesky_inverse", lambda x: ops.cholesky_inverse(ops.cholesky(_gram(x))), G),
    ("eigh-values", lambda x: ops.eigh(_gram(x))[0], G),
    ("slogdet", lambda x: ops.slogdet(x)[1], G), ("logdet", lambda x: ops.logdet(_gram(x)), G),
    ("qr", lambda x: ops.qr(x), F(2, 4, 3)), ("svd-values", lambda x: ops.svd(x, compute_uv=False), F(2, 4, 3)),
    ("pinv", lambda x: ops.pinv(x), F(4, 3)), ("lstsq", lambda x: ops.lstsq(x, M[:4]), F(4, 3)),
    ("norm", lambda x: ops.norm(x), F(3, 4)), ("norm-3", lambda x: ops.norm(x, ord=3, axis=-1), F(3, 4)),
    ("norm-fro", lambda x: ops.norm(x, ord="fro", axis=(0, 1)), F(3, 4)),
    ("norm-nuc", lambda x: ops.norm(x, ord="nuc"), F(3, 4)),
    ("norm-1", lambda x: ops.norm(x, ord=1), F(3, 4)),
    ("fft", lambda x: ops.fft((x, ops.multiply(x, 0.5))), F(2, 6)),
    ("fft2", lambda x: ops.fft2((x, ops.negative(x))), F(2, 4, 4)),
    ("ifft2", lambda x: ops.ifft2((x, ops.multiply(x, 2.0))), F(2, 4, 4)),
    ("rfft", lambda x: ops.rfft(x), F(2, 8)), ("irfft", lambda x: ops.irfft((x, ops.multiply(x, 0.3))), F(2, 5)),
    ("stft", lambda x: ops.stft(x, 6, 3, 8), F(1, 12)),
    ("istft", lambda x: ops.istft((x, ops.multiply(x, 0.5)), 6, 3, 8), F(1, 4, 5)),
]


def _weighted_sum(out, weights):
    total = None
    for o, w in zip(tree.flatten(out), weights):
        term = ops.sum(ops.multiply(o, w))
        total = term if total is None else ops.add(total, term)
    return total


def _weights(fn, x):
    with ops.backend_scope("numpy"):
        outs = tree.flatten(fn(x))
    rng = np.random.default_rng(11)
    return [rng.standard_normal(np.shape(o)) for o in outs]


def _numeric_grad(fn, x, weights):
    x = x.astype("float64")
    grad = np.zeros_like(x)
    eps = 1e-5
    for idx in np.ndindex(x.shape):
        vals = []
        for s in (1, -1):
            xp = x.copy()
            xp[idx] += s * eps
            with ops.backend_scope("numpy"):
                vals.append(float(_weighted_sum(fn(xp), weights)))
        grad[idx] = (vals[0] - vals[1]) / (2 * eps)
    return grad


@pytest.mark.parametrize("name,fn,x", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_gradients_match_finite_differences_and_agree_across_backends(name, fn, x):
    weights = _weights(fn, x)
    expected = _numeric_grad(fn, x, weights)
    per_backend = {}
    for backend in FRAMEWORKS:
        w = [to_backend(v.astype("float32"), backend) for v in weights]

        def loss(params):
            return _weighted_sum(fn(params[0]), w), None

        (_, _), grads = runtime(backend).value_and_grad(loss)([to_backend(x, backend)])
        per_backend[backend] = ops.convert_to_numpy(grads[0])
        np.testing.assert_allclose(per_backend[backend], expected, rtol=2e-2, atol=2e-2,
                                   err_msg=f"{name} gradient on {backend}")
    first = next(iter(per_backend.values()))
    for backend, g in per_backend.items():
        np.testing.assert_allclose(g, first, rtol=1e-3, atol=1e-3, err_msg=f"{name} grads differ on {backend}")


# --- compiled -----------------------------------------------------------------------------
def _compiled_cases():
    return [("inv", (A,), {}), ("solve", (A, B), {}), ("svd", (M,), {"compute_uv": False}),
            ("norm", (A,), {"ord": 2, "axis": (1, 2)}), ("lu_factor", (A,), {}),
            ("rfft", (SIG,), {}), ("stft", (SIG, 6, 3, 8), {}), ("istft", (SPEC, 6, 3, 8), {})]


@pytest.mark.parametrize("compiler", ["jax", "tensorflow"])
def test_ops_inside_jax_jit_and_tf_function(compiler):
    if compiler not in FRAMEWORKS:
        pytest.skip(f"{compiler} is not installed")
    if compiler == "jax":
        import jax
        wrap = jax.jit
    else:
        import tensorflow as tf
        wrap = tf.function
    for name, args, kwargs in _compiled_cases():
        tensors = [_convert(a, compiler) for a in args if not isinstance(a, int)]
        static = [a for a in args if isinstance(a, int)]
        eager = [ops.convert_to_numpy(o) for o in tree.flatten(getattr(ops, name)(*tensors, *static, **kwargs))]
        compiled = wrap(lambda *a: getattr(ops, name)(*a, *static, **kwargs))(*tensors)
        got = [ops.convert_to_numpy(o) for o in tree.flatten(compiled)]
        for g, e in zip(got, eager):
            assert g.dtype == e.dtype
            np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-5, err_msg=f"{name} under {compiler}")


@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_jvp_matches_analytic_derivative(backend):
    x, y = F(3), F(3)
    dx, dy = F(3), F(3)
    t = lambda a: to_backend(a, backend)  # noqa: E731

    def fun(a, b):
        return ops.multiply(ops.exp(a), b)

    out, tangent = ops.jvp(fun, (t(x), t(y)), (t(dx), t(dy)))
    np.testing.assert_allclose(ops.convert_to_numpy(out), np.exp(x) * y, rtol=1e-5)
    np.testing.assert_allclose(ops.convert_to_numpy(tangent), np.exp(x) * y * dx + np.exp(x) * dy,
                               rtol=1e-5, atol=1e-6)
    out, tangent, aux = ops.jvp(lambda a: (ops.inv(a), ops.det(a)), (t(A[0]),), (t(B[0, :, :1].repeat(4, 1)),),
                                has_aux=True)
    ai = np.linalg.inv(A[0].astype("float64"))
    np.testing.assert_allclose(ops.convert_to_numpy(tangent), -ai @ B[0, :, :1].repeat(4, 1) @ ai,
                               rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(ops.convert_to_numpy(aux), np.linalg.det(A[0]), rtol=1e-4)
    spec_out, spec_tangent = ops.jvp(fun, (KerasTensor((None, 3)), KerasTensor((None, 3))),
                                     (KerasTensor((None, 3)), KerasTensor((None, 3))))
    assert spec_out.shape == spec_tangent.shape == (None, 3)
