"""Control-flow ops (cond, switch, loops, scans, maps, custom gradients) on every framework
backend: results vs the NumPy reference and plain-Python/NumPy formulas, dtypes,
symbolic specs, gradients through loops, and use inside jax.jit / tf.function."""
import numpy as np
import pytest

from unikeras import KerasTensor, ops
from unikeras.common import tree
from unikeras.common.variables import runtime
from tests.conftest import FRAMEWORKS, to_backend

R = np.random.default_rng(5)


def F(*s):
    return R.standard_normal(s).astype("float32")


X = F(6, 3)
BACKENDS = ["numpy"] + FRAMEWORKS


def _t(x, backend):
    return tree.map_structure(lambda a: to_backend(a, backend) if isinstance(a, np.ndarray) else a, x)


def _np(x):
    return [ops.convert_to_numpy(o) for o in tree.flatten(x)]


def _check(got, want, rtol=1e-5, atol=1e-6):
    got, want = _np(got), [np.asarray(w) for w in tree.flatten(want)]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype, (g.dtype, w.dtype)
        assert g.shape == w.shape, (g.shape, w.shape)
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)


# --- each op: value on every backend vs the reference and an independent formula -----------
def _cond_case(b):
    x = _t(X, b)
    return [ops.cond(ops.greater(ops.sum(x), -100.0), lambda: ops.multiply(x, 2.0), lambda: ops.negative(x)),
            ops.cond(ops.less(ops.sum(x), -100.0), lambda: ops.multiply(x, 2.0), lambda: ops.negative(x)),
            ops.cond(True, lambda: (x, {"a": ops.sum(x)}), lambda: (x, {"a": ops.max(x)}))]


def _cond_want():
    return [X * 2, -X, (X, {"a": X.sum()})]


def _switch_case(b):
    x = _t(X, b)
    branches = [lambda a, s: ops.add(a, s), lambda a, s: ops.multiply(a, s), lambda a, s: ops.negative(a)]
    return [ops.switch(_t(np.int32(i), b), branches, x, 3.0) for i in (0, 1, 2, 7, -2)]


def _switch_want():
    return [X + 3, X * 3, -X, -X, X + 3]


def _while_case(b):
    x = _t(X, b)
    # Collatz-free loop: double until the sum of squares passes 1000, counting steps.
    i, y = ops.while_loop(lambda i, y: ops.less(ops.sum(ops.square(y)), 1000.0),
                          lambda i, y: (ops.add(i, 1), ops.multiply(y, 2.0)),
                          (_t(np.int32(0), b), x))
    single = ops.while_loop(lambda v: ops.less(ops.sum(v), 50.0), lambda v: ops.add(v, 1.0),
                            _t(np.zeros(3, "float32"), b))
    capped = ops.while_loop(lambda v: ops.less(ops.sum(v), 50.0), lambda v: ops.add(v, 1.0),
                            [_t(np.zeros(3, "float32"), b)], maximum_iterations=4)
    return [i, y, single, capped]


def _while_want():
    i, y = 0, X.copy()
    while np.sum(y ** 2) < 1000:
        i, y = i + 1, y * 2
    return [np.int32(i), y, np.full(3, 17.0, "float32"), [np.full(3, 4.0, "float32")]]


def _fori_case(b):
    x = _t(X, b)
    return [ops.fori_loop(0, 6, lambda i, acc: ops.add(acc, ops.multiply(ops.get_item(x, i), ops.cast(i, "float32"))),
                          ops.zeros((3,))),
            ops.fori_loop(_t(np.int32(2), b), 5, lambda i, v: (ops.add(v[0], i), ops.multiply(v[1], 2.0)),
                          (_t(np.int32(0), b), _t(np.ones(2, "float32"), b)))]


def _fori_want():
    return [np.sum(X * np.arange(6)[:, None], 0).astype("float32"), (np.int32(9), np.full(2, 8.0, "float32"))]


def _scan_case(b):
    x = _t(X, b)

    def step(c, xi):
        c = ops.add(ops.multiply(c, 0.5), xi)
        return c, (ops.sum(c), ops.multiply(c, 2.0))

    outs = [ops.scan(step, ops.zeros((3,)), x), ops.scan(step, ops.zeros((3,)), x, reverse=True),
            ops.scan(lambda c, _: (ops.add(c, 1), ops.multiply(c, 3)), _t(np.int32(1), b), None, length=4),
            ops.scan(lambda c, d: (ops.add(c, ops.multiply(d["a"], d["b"])), ops.get_item(c, 0)),
                     ops.zeros((3,)), {"a": x, "b": _t(X[::-1].copy(), b)})]
    return outs


def _scan_want():
    def run(order):
        c, ys = np.zeros(3, "float32"), {}
        for i in order:
            c = c * 0.5 + X[i]
            ys[i] = (c.sum(), c * 2)
        return c, (np.array([ys[i][0] for i in range(6)], "float32"), np.stack([ys[i][1] for i in range(6)]))
    c, cs = np.zeros(3, "float32"), []
    for i in range(6):
        cs.append(c[0])
        c = c + X[i] * X[::-1][i]
    return [run(range(6)), run(range(5, -1, -1)),
            (np.int32(5), np.array([1, 2, 3, 4], "int32") * 3), (c, np.array(cs, "float32"))]


def _affine(p, q):
    # composition of affine maps x -> a x + b (associative, not commutative)
    return ops.multiply(p[0], q[0]), ops.add(ops.multiply(q[0], p[1]), q[1])


ASSOC = (F(7, 2) * 0.5, F(7, 2))


def _assoc_case(b):
    x = _t(X, b)
    pair = _t(ASSOC, b)
    return [ops.associative_scan(ops.add, x), ops.associative_scan(ops.add, x, reverse=True),
            ops.associative_scan(ops.maximum, x, axis=1),
            ops.associative_scan(_affine, pair), ops.associative_scan(_affine, pair, reverse=True),
            ops.associative_scan(_affine, tuple(ops.transpose(p) for p in pair), axis=1),
            ops.associative_scan(ops.add, _t(X[:1], b)), ops.associative_scan(ops.add, _t(X[:2], b))]


def _assoc_want():
    a, c = ASSOC

    def affine_scan(a, c):
        outs, acc = [], None
        for i in range(len(a)):
            acc = (a[i], c[i]) if acc is None else (acc[0] * a[i], a[i] * acc[1] + c[i])
            outs.append(acc)
        return np.stack([o[0] for o in outs]), np.stack([o[1] for o in outs])

    rev = affine_scan(a[::-1], c[::-1])
    fwd = affine_scan(a, c)
    return [np.cumsum(X, 0), np.cumsum(X[::-1], 0)[::-1], np.maximum.accumulate(X, 1),
            fwd, (rev[0][::-1], rev[1][::-1]), (fwd[0].T, fwd[1].T), X[:1], np.cumsum(X[:2], 0)]


def _map_case(b):
    x = _t(X, b)
    return [ops.map(lambda r: ops.sum(ops.square(r)), x),
            ops.map(lambda d: {"s": ops.add(d[0], d[1]), "m": ops.max(d[0])}, (x, x)),
            ops.vectorized_map(lambda r: ops.matmul(r, ops.transpose(x)), x),
            ops.vectorized_map(lambda d: ops.multiply(d[0], ops.sum(d[1])), (x, x))]


def _map_want():
    return [np.sum(X ** 2, 1), {"s": 2 * X, "m": X.max(1)}, X @ X.T, X * X.sum(1, keepdims=True)]


def _vectorize_case(b):
    x, v = _t(X, b), _t(X[0], b)
    dot = ops.vectorize(lambda a, c: ops.sum(ops.multiply(a, c)), signature="(n),(n)->()")
    clip = ops.vectorize(lambda a: ops.maximum(a, 0.0))
    scale = ops.vectorize(lambda a, k: ops.multiply(a, k), excluded={1})
    return [dot(x, v), dot(_t(X.reshape(2, 3, 3), b), v), clip(x), scale(x, 3.0)]


def _vectorize_want():
    return [X @ X[0], (X.reshape(2, 3, 3) @ X[0]), np.maximum(X, 0), X * 3]


CASES = {"cond": (_cond_case, _cond_want), "switch": (_switch_case, _switch_want),
         "while_loop": (_while_case, _while_want), "fori_loop": (_fori_case, _fori_want),
         "scan": (_scan_case, _scan_want), "associative_scan": (_assoc_case, _assoc_want),
         "map": (_map_case, _map_want), "vectorize": (_vectorize_case, _vectorize_want)}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", list(CASES))
def test_values_match_reference_and_formula(name, backend):
    case, want = CASES[name]
    with ops.backend_scope(backend):
        got = case(backend)
    if backend != "numpy":
        for g in tree.flatten(got):
            assert ops.is_tensor(g), f"{name} on {backend} returned {type(g)}"
        with ops.backend_scope("numpy"):
            _check(got, case("numpy"))
    _check(got, want())


# --- compiled: the same computations inside jax.jit / tf.function ---------------------------
@pytest.mark.parametrize("compiler", ["jax", "tensorflow"])
@pytest.mark.parametrize("name", list(CASES))
def test_inside_jax_jit_and_tf_function(name, compiler):
    if compiler not in FRAMEWORKS:
        pytest.skip(f"{compiler} is not installed")
    case, want = CASES[name]
    if compiler == "jax":
        import jax
        compiled = jax.jit(lambda: case("jax"))
    else:
        import tensorflow as tf
        compiled = tf.function(lambda: case("tensorflow"))
    with ops.backend_scope(compiler):
        got = compiled()
    _check(got, want())


@pytest.mark.parametrize("compiler", ["jax", "tensorflow"])
def test_loop_bounds_and_predicates_may_be_traced_values(compiler):
    if compiler not in FRAMEWORKS:
        pytest.skip(f"{compiler} is not installed")

    def fn(x, n):
        total = ops.fori_loop(0, n, lambda i, acc: ops.add(acc, x), ops.zeros_like(x))
        last = ops.while_loop(lambda i: ops.less(i, n), lambda i: ops.add(i, 2), ops.zeros((), "int32"))
        branch = ops.cond(ops.greater(n, 3), lambda: ops.multiply(x, 10.0), lambda: x)
        pick = ops.switch(n, [lambda v: v, lambda v: ops.negative(v), lambda v: ops.square(v)], x)
        return total, last, branch, pick

    if compiler == "jax":
        import jax
        compiled = jax.jit(fn)
    else:
        import tensorflow as tf
        compiled = tf.function(fn)
    x = np.arange(3, dtype="float32")
    for n in (2, 5):
        with ops.backend_scope(compiler):
            got = compiled(to_backend(x, compiler), to_backend(np.int32(n), compiler))
        _check(got, (x * n, np.int32(n + n % 2), x * 10 if n > 3 else x, x ** 2))


# --- symbolic --------------------------------------------------------------------------------
def test_symbolic_specs():
    x = KerasTensor((None, 5, 3))
    out = ops.cond(ops.greater(ops.sum(x), 0.0), lambda: ops.sum(x, axis=1), lambda: ops.max(x, axis=1))
    assert out.shape == (None, 3) and out.dtype == "float32"
    assert ops.switch(KerasTensor((), "int32"), [lambda a: a, lambda a: ops.negative(a)], x).shape == (None, 5, 3)
    i, y = ops.while_loop(lambda i, y: ops.less(i, 3), lambda i, y: (ops.add(i, 1), y), (0, x))
    assert i.shape == () and i.dtype == "int32" and y.shape == (None, 5, 3)
    assert ops.fori_loop(0, 3, lambda i, v: v, x).shape == (None, 5, 3)
    seq = KerasTensor((7, None, 3))
    carry, ys = ops.scan(lambda c, xi: (ops.add(c, xi), (ops.sum(xi, axis=-1), ops.cast(xi, "int32"))),
                         KerasTensor((None, 3)), seq)
    assert carry.shape == (None, 3) and ys[0].shape == (7, None) and ys[1].dtype == "int32"
    _, ys = ops.scan(lambda c, _: (c, c), KerasTensor((2,)), None, length=4)
    assert ys.shape == (4, 2)
    assert ops.associative_scan(ops.add, seq, axis=1).shape == (7, None, 3)
    m = ops.map(lambda r: ops.sum(r, axis=0), seq)
    assert m.shape == (7, 3)
    assert ops.vectorized_map(lambda r: ops.matmul(r, KerasTensor((3, 4))), seq).shape == (7, None, 4)


def test_symbolic_errors_name_the_op():
    x = KerasTensor((4, 3))
    with pytest.raises(ValueError, match="^cond:"):
        ops.cond(KerasTensor((), "bool"), lambda: x, lambda: ops.cast(x, "int32"))
    with pytest.raises(ValueError, match="^cond:"):
        ops.cond(KerasTensor((), "bool"), lambda: (x, x), lambda: x)
    with pytest.raises(ValueError, match="^scan:"):
        ops.scan(lambda c, xi: (c, xi), KerasTensor((3,)), [x, KerasTensor((5, 3))])
    with pytest.raises(ValueError, match="^scan:"):
        ops.scan(lambda c, xi: (ops.cast(c, "int32"), xi), KerasTensor((3,)), x)
    with pytest.raises(ValueError, match="^associative_scan:"):
        ops.associative_scan(ops.add, x, axis=2)


# --- gradients --------------------------------------------------------------------------------
def _loop_fns():
    def scan_fn(x):
        _, ys = ops.scan(lambda c, xi: (ops.add(ops.multiply(c, xi), xi), ops.tanh(c)), ops.ones((3,)), x)
        return ys

    def while_fn(x):
        return ops.while_loop(lambda i, v: ops.less(i, 3), lambda i, v: (ops.add(i, 1), ops.tanh(v)),
                              (ops.zeros((), "int32"), x), maximum_iterations=5)[1]

    def fori_fn(x):
        return ops.fori_loop(0, 3, lambda i, v: ops.multiply(v, ops.exp(ops.multiply(v, 0.1))), x)

    def cond_fn(x):
        return ops.cond(ops.greater(ops.sum(x), -100.0), lambda: ops.square(x), lambda: x)

    def assoc_fn(x):
        return ops.associative_scan(ops.multiply, ops.add(x, 2.0))

    def map_fn(x):
        return ops.map(lambda r: ops.softmax(r), x)

    def vmap_fn(x):
        return ops.vectorized_map(lambda r: ops.matmul(r, ops.transpose(X[:2])), x)

    return [("scan", scan_fn), ("while_loop", while_fn), ("fori_loop", fori_fn), ("cond", cond_fn),
            ("associative_scan", assoc_fn), ("map", map_fn), ("vectorized_map", vmap_fn)]


def _numeric_grad(fn, x, w):
    x = x.astype("float64")
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        vals = []
        for s in (1, -1):
            xp = x.copy()
            xp[idx] += s * 1e-5
            with ops.backend_scope("numpy"):
                vals.append(float(np.sum(ops.convert_to_numpy(fn(xp)) * w)))
        grad[idx] = (vals[0] - vals[1]) / 2e-5
    return grad


@pytest.mark.parametrize("name,fn", _loop_fns(), ids=[n for n, _ in _loop_fns()])
def test_gradients_through_control_flow(name, fn):
    x = F(5, 3) * 0.5
    with ops.backend_scope("numpy"):
        w = np.random.default_rng(2).standard_normal(np.shape(fn(x)))
    expected = _numeric_grad(fn, x, w)
    per_backend = {}
    for backend in FRAMEWORKS:
        wt = to_backend(w.astype("float32"), backend)

        def loss(params):
            return ops.sum(ops.multiply(fn(params[0]), wt)), None

        with ops.backend_scope(backend):
            (_, _), grads = runtime(backend).value_and_grad(loss)([to_backend(x, backend)])
        per_backend[backend] = ops.convert_to_numpy(grads[0])
        np.testing.assert_allclose(per_backend[backend], expected, rtol=1e-3, atol=1e-3,
                                   err_msg=f"{name} gradient on {backend}")
    first = next(iter(per_backend.values()))
    for backend, g in per_backend.items():
        np.testing.assert_allclose(g, first, rtol=1e-4, atol=1e-5)


def _log1pexp(x):
    e = ops.exp(x)

    def grad(upstream):
        return ops.multiply(upstream, ops.subtract(1.0, ops.divide(1.0, ops.add(e, 1.0))))
    return ops.log(ops.add(e, 1.0)), grad


def _scaled_product(x, y):
    def grad(upstream):   # deliberately not the true derivative: 10x and 100x it
        return ops.multiply(upstream, ops.multiply(y, 10.0)), ops.multiply(upstream, ops.multiply(x, 100.0))
    return ops.multiply(x, y), grad


@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_custom_gradient_replaces_the_derivative(backend):
    x = np.array([-2.0, 0.0, 3.0, 100.0], "float32")
    y = F(4)
    log1pexp = ops.custom_gradient(_log1pexp)
    scaled = ops.custom_gradient(_scaled_product)
    out = log1pexp(to_backend(x[:3], backend))
    np.testing.assert_allclose(ops.convert_to_numpy(out), np.log1p(np.exp(x[:3])), rtol=1e-5)

    def loss(params):
        return ops.add(ops.sum(log1pexp(params[0])), ops.sum(scaled(params[0], params[1]))), None

    (value, _), grads = runtime(backend).value_and_grad(loss)([to_backend(x, backend), to_backend(y, backend)])
    sig = 1 / (1 + np.exp(-x.astype("float64")))
    np.testing.assert_allclose(ops.convert_to_numpy(grads[0]), sig + 10 * y, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ops.convert_to_numpy(grads[1]), 100 * x, rtol=1e-5)
    with ops.backend_scope("numpy"):
        np.testing.assert_allclose(ops.convert_to_numpy(log1pexp(x[:3])), np.log1p(np.exp(x[:3])), rtol=1e-6)
    spec = log1pexp(KerasTensor((None, 4)))
    assert isinstance(spec, KerasTensor) and spec.shape == (None, 4)


@pytest.mark.parametrize("compiler", ["jax", "tensorflow"])
def test_custom_gradient_inside_compiled_gradients(compiler):
    if compiler not in FRAMEWORKS:
        pytest.skip(f"{compiler} is not installed")
    scaled = ops.custom_gradient(_scaled_product)
    x, y = F(3), F(3)
    if compiler == "jax":
        import jax
        g = jax.jit(jax.grad(lambda a, b: ops.sum(scaled(a, b))))(to_backend(x, "jax"), to_backend(y, "jax"))
    else:
        import tensorflow as tf

        @tf.function
        def step(a, b):
            with tf.GradientTape() as tape:
                tape.watch(a)
                out = ops.sum(scaled(a, b))
            return tape.gradient(out, a)
        g = step(to_backend(x, "tensorflow"), to_backend(y, "tensorflow"))
    np.testing.assert_allclose(ops.convert_to_numpy(g), 10 * y, rtol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_variables_as_loop_state_and_empty_sequences(backend):
    import unikeras
    with ops.backend_scope(backend):
        v = unikeras.Variable(np.ones(3, "float32"))
        out = ops.fori_loop(0, 3, lambda i, a: ops.add(a, 1.0), v)
        carry, ys = ops.scan(lambda c, x: (ops.add(c, x), ops.multiply(c, 2.0)), ops.ones((2,)), ops.zeros((0, 2)))
        mapped = ops.map(lambda r: ops.sum(r), ops.zeros((0, 2)))
    _check(out, np.full(3, 4.0, "float32"))
    _check((carry, ys), (np.ones(2, "float32"), np.zeros((0, 2), "float32")))
    _check(mapped, np.zeros((0,), "float32"))
    if backend != "numpy":
        assert ops.is_tensor(out) and ops.is_tensor(ys) and ops.is_tensor(mapped)


@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_tensor_free_ops_in_bodies_follow_the_loop_backend(backend):
    # No backend scope: ops.ones inside the body must build tensors of the loop's backend.
    carry, ys = ops.scan(lambda c, x: (ops.add(c, ops.ones((3,))), ops.add(x, ops.zeros((3,)))),
                         to_backend(np.zeros(3, "float32"), backend), to_backend(X, backend))
    total = ops.fori_loop(0, 2, lambda i, v: ops.add(v, ops.ones((3,))), to_backend(np.zeros(3, "float32"), backend))
    assert type(carry) is type(to_backend(X, backend)) is type(total)
    _check((carry, ys, total), (np.full(3, 6.0, "float32"), X, np.full(3, 2.0, "float32")))


@pytest.mark.skipif("tensorflow" not in FRAMEWORKS, reason="tensorflow is not installed")
def test_loops_compile_with_xla_in_tf_function():
    import tensorflow as tf

    @tf.function(jit_compile=True)
    def fn(x):
        carry, ys = ops.scan(lambda c, xi: (ops.add(c, xi), ops.sum(c)), tf.zeros(3), x)
        bounded = ops.while_loop(lambda v: ops.less(ops.sum(v), 100.0), lambda v: ops.add(v, 1.0),
                                 tf.zeros(3), maximum_iterations=10)
        return carry, ys, bounded, ops.associative_scan(ops.add, x), ops.map(lambda r: ops.max(r), x)

    got = fn(to_backend(X, "tensorflow"))
    sums = np.concatenate([[0.0], np.cumsum(X, 0).sum(1)[:-1]]).astype("float32")
    _check(got, (X.sum(0), sums, np.full(3, 10.0, "float32"), np.cumsum(X, 0), X.max(1)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("backend", ["numpy"] + FRAMEWORKS)
def test_python_number_loop_vars_become_tensors_on_every_backend(backend):
    with ops.backend_scope(backend):
        never = ops.while_loop(lambda i: i < 0, lambda i: i + 1, 0)
        ran = ops.while_loop(lambda i, x: i < 3, lambda i, x: (i + 1, x * 2.0), (0, 1.0))
    got = [ops.convert_to_numpy(v) for v in (never,) + tuple(ran)]
    assert [g.dtype.name for g in got] == ["int32", "int32", "float32"]
    assert [g.item() for g in got] == [0, 3, 8.0]


@pytest.mark.parametrize("backend", ["numpy"] + FRAMEWORKS)
def test_associative_scan_over_an_empty_axis(backend):
    x = np.zeros((0, 3), "float32")
    with ops.backend_scope(backend):
        out = ops.associative_scan(lambda a, b: a + b, to_backend(x, backend) if backend != "numpy" else x)
    got = ops.convert_to_numpy(out)
    assert got.shape == (0, 3) and got.dtype == np.float32
