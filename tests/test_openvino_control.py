"""OpenVINO graphs of the control-flow ops (If / Loop nodes whose bodies our ops build) and
the wrap-around of narrow-integer add/subtract/multiply.

Every case builds a graph on `openvino.opset16.parameter`s (static shapes, then dynamic
ones), compiles it on CPU, runs it on one or more inputs and compares with the same call on
the NumPy reference and with an independent NumPy formula.
"""
import numpy as np
import pytest

ov = pytest.importorskip("openvino")
ovo = pytest.importorskip("openvino.opset16")

from unikeras import ops  # noqa: E402
from unikeras.common import tree  # noqa: E402
from unikeras.adapters.openvino import ops as ov_ops  # noqa: E402

CONFIG = {"INFERENCE_PRECISION_HINT": "f32"}
R = np.random.default_rng(11)


def F(*s):
    return R.standard_normal(s).astype("float32")


def _params(arrays, dynamic):
    params = []
    for a in arrays:
        shape = list(np.shape(a))
        if dynamic == "first" and shape:
            shape[0] = -1
        elif dynamic == "all":
            shape = [-1] * len(shape)
        params.append(ovo.parameter(shape, np.asarray(a).dtype))
    return params


def _compile(outs, params):
    return ov.compile_model(ov.Model(outs, params, "control"), "CPU", CONFIG)


def _reference(fn, arrays):
    with ops.backend_scope("numpy"):
        return fn(*arrays)


def _check_leaves(got, want, rtol=1e-5, atol=1e-5):
    want = [np.asarray(w) for w in tree.flatten(want)]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype, (g.dtype, w.dtype)
        assert g.shape == w.shape, (g.shape, w.shape)
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)


def run_graph(fn, arrays, dynamic=None, feeds=None, formula=None, rtol=1e-5, atol=1e-5):
    """Build `fn(*parameters)`, compile, infer on each feed set (default: `arrays`); check
    graph dtypes/ranks and values against the NumPy reference and `formula(*feed)`."""
    params = _params(arrays, dynamic)
    with ops.backend_scope("openvino"):
        out = fn(*[p.output(0) for p in params])
    leaves = tree.flatten(out)
    for o in leaves:
        assert isinstance(o, ov.Output), type(o)
    compiled = _compile(leaves, params)
    results = []
    for feed in feeds or [arrays]:
        want = _reference(fn, feed)
        assert tree.map_structure(lambda _: 0, out) == tree.map_structure(lambda _: 0, want)
        for o, w in zip(leaves, tree.flatten(want)):
            w = np.asarray(w)
            assert ov_ops.dtype_name(o) == w.dtype.name
            shape = ops.shape(o)
            assert len(shape) == w.ndim and all(d is None or d == e for d, e in zip(shape, w.shape))
        res = compiled(list(feed))
        got = [np.array(res[i]) for i in range(len(leaves))]
        _check_leaves(got, want, rtol, atol)
        if formula is not None:
            _check_leaves(got, formula(*feed), rtol, atol)
        results.append(got)
    return results


DYN = [None, "first"]


# --- cond / switch ---------------------------------------------------------------------------
@pytest.mark.parametrize("dynamic", DYN)
def test_cond_on_a_graph_predicate(dynamic):
    x = F(4, 3)

    def fn(x):
        return ops.cond(ops.greater(ops.sum(x), 0.0),
                        lambda: (ops.multiply(x, 2.0), {"s": ops.sum(x), "m": [ops.max(x, axis=0)]}),
                        lambda: (ops.negative(x), {"s": ops.min(x), "m": [ops.min(x, axis=0)]}))

    def formula(x):
        if x.sum() > 0:
            return (x * 2, {"s": x.sum(), "m": [x.max(0)]})
        return (-x, {"s": x.min(), "m": [x.min(0)]})

    pos, neg = np.abs(x), -np.abs(x)
    run_graph(fn, [pos], dynamic, feeds=[[pos], [neg]], formula=formula)


@pytest.mark.parametrize("dynamic", DYN)
def test_cond_branches_of_different_shapes_nested_and_python_predicates(dynamic):
    x = F(5, 3)

    def fn(x, flag):
        inner = lambda: ops.cond(ops.less(ops.max(x), 1e6), lambda: ops.get_item(x, slice(0, 2)),  # noqa: E731
                                 lambda: x)
        picked = ops.cond(flag, lambda: ops.get_item(x, slice(0, 1)), inner)
        const = ops.cond(True, lambda: ops.add(x, 1.0), lambda: ops.subtract(x, 1.0))
        return picked, const

    def formula(x, flag):
        return (x[:1] if flag else x[:2]), x + 1

    run_graph(fn, [x, np.array(True)], dynamic, feeds=[[x, np.array(True)], [x, np.array(False)]],
              formula=formula)
    # Python predicate: evaluated while building, no If node
    p = ovo.parameter([2], np.float32)
    out = ops.cond(False, lambda: ops.exp(p.output(0)), lambda: ops.negative(p.output(0)))
    assert out.get_node().get_type_name() == "Negative"


def test_cond_rejects_mismatched_branches():
    x = ovo.parameter([3], np.float32).output(0)
    pred = ovo.parameter([], np.bool_).output(0)
    with pytest.raises(ValueError, match="^cond:"):
        ops.cond(pred, lambda: x, lambda: ops.cast(x, "int32"))
    with pytest.raises(ValueError, match="^cond:"):
        ops.cond(pred, lambda: (x, x), lambda: x)


@pytest.mark.parametrize("dynamic", DYN)
def test_switch_with_graph_index_clamps(dynamic):
    x = F(4, 3)
    branches = [lambda a, d: ops.add(a, d["k"]), lambda a, d: ops.multiply(a, d["k"]),
                lambda a, d: ops.negative(a)]

    def fn(i, x):
        return ops.switch(i, branches, x, {"k": 3.0})

    def formula(i, x):
        return [x + 3, x * 3, -x][min(max(int(i), 0), 2)]

    feeds = [[np.int32(i), x] for i in (0, 1, 2, 7, -2)]
    run_graph(fn, feeds[0], dynamic, feeds=feeds, formula=formula)
    # Python index: the branch is picked while building
    p = ovo.parameter([3], np.float32).output(0)
    assert ops.switch(5, branches, p, {"k": 1.0}).get_node().get_type_name() == "Negative"


# --- while_loop / fori_loop ------------------------------------------------------------------
@pytest.mark.parametrize("dynamic", DYN)
def test_while_loop_nested_loop_vars(dynamic):
    x = F(4, 3)

    def fn(x):
        i, y = ops.while_loop(lambda i, y: ops.less(ops.sum(ops.square(y)), 1000.0),
                              lambda i, y: (ops.add(i, 1), ops.multiply(y, 2.0)), (np.int32(0), x))
        count = ops.while_loop(lambda i: ops.less(i, 3), lambda i: ops.add(i, 1), 0)  # Python int: int32
        single = ops.while_loop(lambda v: ops.less(ops.sum(v), 50.0), lambda v: ops.add(v, 1.0),
                                ops.zeros_like(ops.get_item(x, 0)))
        capped = ops.while_loop(lambda v: ops.less(ops.sum(v), 50.0), lambda v: ops.add(v, 1.0),
                                [ops.zeros((3,))], maximum_iterations=4)
        nested = ops.while_loop(
            lambda s: ops.less(s["n"], 3),
            lambda s: {"n": ops.add(s["n"], 1), "acc": (ops.add(s["acc"][0], x), ops.multiply(s["acc"][1], 0.5))},
            {"n": np.int32(0), "acc": (ops.zeros_like(x), ops.sum(x, axis=1))})
        never = ops.while_loop(lambda v: ops.greater(ops.sum(v), 1e9), lambda v: ops.add(v, 1.0), x)
        return i, y, count, single, capped, nested, never

    def formula(x):
        i, y = 0, x.copy()
        while np.sum(y ** 2) < 1000:
            i, y = i + 1, y * 2
        return (np.int32(i), y, np.int32(3), np.full(3, 17.0, "float32"), [np.full(3, 4.0, "float32")],
                {"n": np.int32(3), "acc": (3 * x, x.sum(1) / 8)}, x)

    run_graph(fn, [x], dynamic, feeds=[[x], [x * 10], [x * 1e-3]], formula=formula, rtol=1e-4)


def test_while_loop_graph_maximum_iterations_and_shape_changing_carry():
    def fn(m, x):
        bounded = ops.while_loop(lambda v: ops.less(ops.sum(v), 1e9), lambda v: ops.add(v, 1.0),
                                 x, maximum_iterations=m)
        # the carry's first dim grows each step: the loop relaxes it to a dynamic dimension
        grown = ops.while_loop(lambda v: ops.less(ops.sum(ops.ones_like(v)), 20.0),
                               lambda v: ops.concatenate([v, v], axis=0), x)
        return bounded, grown

    x = F(2, 3)

    def formula(m, x):
        g = x
        while g.size < 20:
            g = np.concatenate([g, g])
        return x + np.float32(m), g

    run_graph(fn, [np.int64(3), x], None, feeds=[[np.int64(3), x], [np.int64(0), x]], formula=formula)


@pytest.mark.parametrize("dynamic", DYN)
def test_fori_loop_static_and_graph_bounds(dynamic):
    x = F(6, 3)

    def fn(lo, hi, x):
        acc = ops.fori_loop(0, 6, lambda i, a: ops.add(a, ops.multiply(ops.take(x, i, axis=0), ops.cast(i, "float32"))),
                            ops.zeros_like(ops.get_item(x, 0)))
        pair = ops.fori_loop(lo, hi, lambda i, v: (ops.add(v[0], i), {"y": ops.multiply(v[1]["y"], 2.0)}),
                             (np.int32(0), {"y": ops.ones_like(x)}))
        empty = ops.fori_loop(3, 3, lambda i, v: ops.add(v, 1.0), x)
        return acc, pair, empty

    def formula(lo, hi, x):
        n = max(int(hi) - int(lo), 0)
        return (np.sum(x * np.arange(6)[:, None], 0).astype("float32"),
                (np.int32(sum(range(int(lo), int(hi)))), {"y": np.full_like(x, 2.0 ** n)}), x)

    feeds = [[np.int32(2), np.int32(5), x], [np.int32(4), np.int32(1), x], [np.int32(-1), np.int32(3), x]]
    run_graph(fn, feeds[0], dynamic, feeds=feeds, formula=formula)


# --- scan ------------------------------------------------------------------------------------
def _scan_fn(x, y):
    def step(c, xi):
        c = ops.add(ops.multiply(c, 0.5), xi)
        return c, (ops.sum(c), ops.multiply(c, 2.0))

    z = ops.zeros_like(ops.sum(x, axis=0))
    return [ops.scan(step, z, x), ops.scan(step, z, x, reverse=True),
            ops.scan(lambda c, _: (ops.add(c, 1), ops.multiply(c, 3)), np.int32(1), None, length=4),
            ops.scan(lambda c, d: ({"t": ops.add(c["t"], ops.multiply(d["a"], d["b"]))}, [ops.get_item(c["t"], 0), d["b"]]),
                     {"t": z}, {"a": x, "b": y}),
            ops.scan(lambda c, xi: (c, ops.add(xi, ops.sum(y, axis=0))), (), x, reverse=True)]


def _scan_formula(x, y):
    n = len(x)

    def run(order):
        c, ys = np.zeros(x.shape[1:], "float32"), {}
        for i in order:
            c = c * 0.5 + x[i]
            ys[i] = (c.sum(), c * 2)
        return c, (np.array([ys[i][0] for i in range(n)], "float32"),
                   np.array([ys[i][1] for i in range(n)], "float32").reshape(x.shape))

    c, cs = np.zeros(x.shape[1:], "float32"), []
    for i in range(n):
        cs.append(c[0])
        c = c + x[i] * y[i]
    return [run(range(n)), run(range(n - 1, -1, -1)),
            (np.int32(5), np.array([1, 2, 3, 4], "int32") * 3),
            ({"t": c}, [np.array(cs, "float32").reshape((n,) + x.shape[2:]), y]), ((), x + y.sum(0))]


@pytest.mark.parametrize("dynamic", [None, "first", "all"])
def test_scan_forward_reverse_length_and_nested(dynamic):
    x, y = F(5, 3), F(5, 3)
    run_graph(_scan_fn, [x, y], dynamic, formula=_scan_formula)


def test_scan_with_dynamic_length_including_empty_sequences():
    x, y = F(5, 3), F(5, 3)
    feeds = [[x, y], [x[:1], y[:1]], [x[:0], y[:0]]]
    run_graph(_scan_fn, [x, y], "all", feeds=feeds, formula=_scan_formula)


def test_scan_static_empty_sequence():
    def fn(c0, xs):
        return ops.scan(lambda c, xi: (ops.add(c, xi), ops.sum(xi)), c0, xs)
    run_graph(fn, [F(3), F(0, 3)], None,
              formula=lambda c0, xs: (c0, np.zeros((0,), "float32")))


def test_scan_rejects_bad_carries():
    x = ovo.parameter([4, 3], np.float32).output(0)
    z = ovo.constant(np.zeros(3, "float32")).output(0)
    with pytest.raises(ValueError, match="^scan:"):
        ops.scan(lambda c, xi: (ops.cast(c, "int32"), xi), z, x)
    with pytest.raises(ValueError, match="^scan:"):
        ops.scan(lambda c, xi: ((c, c), xi), z, x)
    with pytest.raises(ValueError, match="^scan:"):
        ops.scan(lambda c, xi: (c, xi), z, [x, ovo.parameter([5, 3], np.float32).output(0)])


def test_rnn_scan_with_dynamic_batch_and_time():
    r = np.random.default_rng(3)
    d, h = 4, 5
    w = (r.standard_normal((d, h)) * 0.5).astype("float32")
    u = (r.standard_normal((h, h)) * 0.5).astype("float32")
    b = r.standard_normal(h).astype("float32")

    def rnn(inputs, h0):  # inputs: (batch, time, d), Keras layout
        seq = ops.transpose(inputs, (1, 0, 2))
        last, hs = ops.scan(lambda hp, xt: (lambda hn: (hn, hn))(
            ops.tanh(ops.add(ops.add(ops.matmul(xt, w), ops.matmul(hp, u)), b))), h0, seq)
        return last, ops.transpose(hs, (1, 0, 2))

    def formula(inputs, h0):
        hp, hs = h0, []
        for t in range(inputs.shape[1]):
            hp = np.tanh(inputs[:, t] @ w + hp @ u + b)
            hs.append(hp)
        return hp, np.stack(hs, 1) if hs else np.zeros((inputs.shape[0], 0, h), "float32")

    feeds = [[F(bt, tt, d), F(bt, h)] for bt, tt in ((2, 7), (1, 1), (3, 12), (4, 0))]
    params = [ovo.parameter([-1, -1, d], np.float32), ovo.parameter([-1, h], np.float32)]
    last, hs = rnn(params[0].output(0), params[1].output(0))
    assert ops.shape(last) == (None, h) and ops.shape(hs) == (None, None, h)
    compiled = _compile([last, hs], params)
    for feed in feeds:
        res = compiled(feed)
        got = [np.array(res[0]), np.array(res[1])]
        _check_leaves(got, _reference(rnn, feed))
        _check_leaves(got, formula(*feed))


def test_nested_control_flow_capturing_outer_intermediates():
    # A scan whose step holds a cond, a fori_loop and a map, all reading outer intermediate
    # values (not parameters) and each other's body values.
    def fn(xs, w):
        scale = ops.relu(ops.sum(w, axis=0))  # an outer intermediate, captured by the bodies

        def step(c, x):
            inner = ops.fori_loop(0, 3, lambda i, v: ops.add(v, ops.multiply(x, scale)), c)
            picked = ops.cond(ops.greater(ops.sum(x), 0.0), lambda: ops.multiply(inner, 0.5),
                              lambda: ops.subtract(inner, c))
            rows = ops.map(lambda r: ops.max(ops.add(r, scale)), ops.expand_dims(picked, 0))
            return picked, (rows, ops.matmul(picked, w))

        return ops.scan(step, ops.zeros_like(scale), xs)

    def formula(xs, w):
        scale = np.maximum(w.sum(0), 0)
        c, rows, outs = np.zeros_like(scale), [], []
        for x in xs:
            inner = c + 3 * x * scale
            c = inner * 0.5 if x.sum() > 0 else inner - c
            rows.append(np.array([np.max(c + scale)], "float32"))
            outs.append(c @ w)
        return c, (np.array(rows, "float32").reshape(len(xs), 1), np.array(outs, "float32").reshape(len(xs), 3))

    xs, w = F(6, 3), F(3, 3)
    run_graph(fn, [xs, w], "first", feeds=[[xs, w], [xs[:2], w], [-xs, w]], formula=formula)


def test_bad_predicates_and_loop_vars_raise_value_errors_naming_the_op():
    x = ovo.parameter([3], np.float32).output(0)
    with pytest.raises(ValueError, match="^cond:"):
        ops.cond(ops.greater(x, 0.0), lambda: x, lambda: x)
    with pytest.raises(ValueError, match="^while_loop:"):
        ops.while_loop(lambda v: ops.less(ops.sum(v), 5.0), lambda v: ops.cast(v, "int32"), x)
    with pytest.raises(ValueError, match="^while_loop:"):
        ops.while_loop(lambda v: ops.less(ops.sum(v), 5.0), lambda v: ops.expand_dims(v, 0), x)
    with pytest.raises(ValueError, match="^fori_loop:"):
        ops.fori_loop(0, 2, lambda i, v: (v, v), x)


# --- map / vectorized_map --------------------------------------------------------------------
@pytest.mark.parametrize("op", ["map", "vectorized_map"])
@pytest.mark.parametrize("dynamic", [None, "first", "all"])
def test_map_and_vectorized_map(op, dynamic):
    x = F(6, 3)
    mapper = getattr(ops, op)

    def fn(x):
        return [mapper(lambda r: ops.sum(ops.square(r)), x),
                mapper(lambda d: {"s": ops.add(d[0], d[1]), "m": ops.max(d[0])}, (x, x)),
                mapper(lambda r: ops.matmul(r, ops.transpose(x)), x),
                mapper(lambda d: ops.multiply(d[0], ops.sum(d[1])), (x, x))]

    def formula(x):
        return [np.sum(x ** 2, 1), {"s": 2 * x, "m": x.max(1)}, x @ x.T, x * x.sum(1, keepdims=True)]

    feeds = [[x]] if dynamic is None else [[x], [x[:2]], [x[:0]]]
    run_graph(fn, [x], dynamic, feeds=feeds, formula=formula)


# --- associative_scan ------------------------------------------------------------------------
def _affine(p, q):
    return ops.multiply(p[0], q[0]), ops.add(ops.multiply(q[0], p[1]), q[1])


def _affine_scan(a, c):
    outs, acc = [], None
    for i in range(len(a)):
        acc = (a[i], c[i]) if acc is None else (acc[0] * a[i], a[i] * acc[1] + c[i])
        outs.append(acc)
    if not outs:
        return a, c
    return np.stack([o[0] for o in outs]), np.stack([o[1] for o in outs])


def _assoc_fn(x, a, c):
    return [ops.associative_scan(ops.add, x), ops.associative_scan(ops.add, x, reverse=True),
            ops.associative_scan(ops.maximum, x, axis=1),
            ops.associative_scan(_affine, (a, c)), ops.associative_scan(_affine, (a, c), reverse=True),
            ops.associative_scan(_affine, (ops.transpose(a), ops.transpose(c)), axis=-1)]


def _assoc_formula(x, a, c):
    fwd = _affine_scan(a, c)
    rev = _affine_scan(a[::-1], c[::-1])
    return [np.cumsum(x, 0), np.cumsum(x[::-1], 0)[::-1], np.maximum.accumulate(x, 1),
            fwd, (rev[0][::-1], rev[1][::-1]), (fwd[0].T, fwd[1].T)]


@pytest.mark.parametrize("n", [1, 2, 7, 8])
def test_associative_scan_static_lengths(n):
    x, a, c = F(n, 3), F(n, 2) * 0.5, F(n, 2)
    run_graph(_assoc_fn, [x, a, c], None, formula=_assoc_formula)
    run_graph(_assoc_fn, [x, a, c], "first", formula=_assoc_formula)  # dynamic scanned axis


def test_associative_scan_dynamic_lengths_and_empty():
    x, a, c = F(7, 3), F(7, 2) * 0.5, F(7, 2)
    feeds = [[x[:k], a[:k], c[:k]] for k in (7, 1, 4)]
    run_graph(_assoc_fn, [x, a, c], "all", feeds=feeds, formula=_assoc_formula)
    # An empty scanned axis gives empty results (checked against the formula: the NumPy
    # reference stacks its steps and has none to stack).
    params = _params([x, a, c], "all")
    outs = tree.flatten(_assoc_fn(*[p.output(0) for p in params]))
    empty = [x[:0], a[:0], c[:0]]
    res = _compile(outs, params)(empty)
    _check_leaves([np.array(res[i]) for i in range(len(outs))], _assoc_formula(*empty))


def test_associative_scan_rejects_bad_axis():
    x = ovo.parameter([4, 3], np.float32).output(0)
    with pytest.raises(ValueError, match="^associative_scan:"):
        ops.associative_scan(ops.add, x, axis=2)


# --- vectorize, custom_gradient --------------------------------------------------------------
def test_vectorize_static_shapes():
    x = F(6, 3)

    def fn(x, v, x3):
        dot = ops.vectorize(lambda a, c: ops.sum(ops.multiply(a, c)), signature="(n),(n)->()")
        clip = ops.vectorize(lambda a: ops.maximum(a, 0.0))
        scale = ops.vectorize(lambda a, k: ops.multiply(a, k), excluded={1})
        return [dot(x, v), dot(x3, v), clip(x), scale(x, 3.0)]

    def formula(x, v, x3):
        return [x @ v, x3 @ v, np.maximum(x, 0), x * 3]

    run_graph(fn, [x, x[0], x.reshape(2, 3, 3)], None, formula=formula)
    p = ovo.parameter([-1, 3], np.float32).output(0)
    with pytest.raises(ValueError, match="^vectorize:"):
        ops.vectorize(lambda a: a)(p)


def test_custom_gradient_builds_the_forward_value():
    def log1pexp(x):
        e = ops.exp(x)
        return ops.log(ops.add(e, 1.0)), lambda up: ops.multiply(up, ops.sigmoid(x))

    x = F(2, 3)
    run_graph(lambda x: ops.custom_gradient(log1pexp)(x), [x], "first",
              formula=lambda x: np.log1p(np.exp(x)))


def test_control_flow_graph_saves_and_reloads(tmp_path):
    x = F(5, 3)
    params = _params([x], "all")
    with ops.backend_scope("openvino"):
        out = _scan_fn(params[0].output(0), params[0].output(0))
    leaves = tree.flatten(out)
    path = str(tmp_path / "scan.xml")
    ov.save_model(ov.Model(leaves, params), path)
    compiled = ov.compile_model(ov.Core().read_model(path), "CPU", CONFIG)
    res = compiled([x])
    _check_leaves([np.array(res[i]) for i in range(len(leaves))], _reference(_scan_fn, [x, x]))


# --- narrow integers wrap around like NumPy ---------------------------------------------------
@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16", "uint16"])
@pytest.mark.parametrize("name", ["add", "subtract", "multiply"])
def test_narrow_int_arithmetic_wraps_around(name, dtype):
    info = np.iinfo(dtype)
    vals = np.array([info.min, info.max, info.min + 1, info.max - 1, 0, 1, 2, 77, info.max // 3,
                     -1 if info.min < 0 else 200], dtype)
    a, b = np.repeat(vals, len(vals)), np.tile(vals, len(vals))
    op = getattr(ops, name)
    with np.errstate(over="ignore"):
        formula = {"add": np.add, "subtract": np.subtract, "multiply": np.multiply}[name]
        ((got,),) = run_graph(lambda a, b: op(a, b), [a, b], "first",
                           formula=lambda a, b: formula(a, b))
        # with a weak Python scalar, and fully constant (folded at compile time)
        run_graph(lambda a: op(a, 100), [a], None, formula=lambda a: formula(a, np.asarray(100, dtype)))
        const = op(ov_ops.convert_to_tensor(a), ov_ops.convert_to_tensor(b))
        (folded,) = [np.array(_compile([const], [])([])[0])]
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(folded, got)


# --- a recurrent layer compiled through the OpenVINO adapter ---------------------------------
def test_recurrent_layer_compiles_with_dynamic_batch_and_time():
    from unikeras.adapters import openvino as ov_adapter
    from unikeras.common.layers.layer import Layer

    class TinyRNN(Layer):
        """h_t = tanh(x_t W + h_{t-1} U + b) over the time axis; returns all h_t."""

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], 5), initializer="glorot_uniform", name="w")
            self.u = self.add_weight(shape=(5, 5), initializer="glorot_uniform", name="u")
            self.b = self.add_weight(shape=(5,), initializer="zeros", name="b")
            self.built = True

        def call(self, inputs):
            seq = ops.transpose(inputs, (1, 0, 2))
            h0 = ops.zeros_like(ops.matmul(ops.sum(seq, axis=0), self.w))

            def step(h, x):
                h = ops.tanh(ops.add(ops.add(ops.matmul(x, self.w), ops.matmul(h, self.u)), self.b))
                return h, h

            _, hs = ops.scan(step, h0, seq)
            return ops.transpose(hs, (1, 0, 2))

    layer = TinyRNN()
    compiled = ov_adapter.compile(layer, input_shape=(None, None, 4))
    w, u, b = [np.asarray(v) for v in layer.get_weights()]
    for batch, time in ((2, 6), (1, 1), (3, 9), (2, 0)):
        x = F(batch, time, 4)
        h, hs = np.zeros((batch, 5), "float32"), []
        for t in range(time):
            h = np.tanh(x[:, t] @ w + h @ u + b)
            hs.append(h)
        got = compiled(x)
        assert got.shape == (batch, time, 5)
        want = np.stack(hs, 1) if hs else np.zeros((batch, 0, 5), "float32")
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("shape", [(5, 3), (None, 3), (None, None)])
def test_graph_specs_match_the_symbolic_rule(shape):
    from unikeras import KerasTensor

    def fn(x):
        z = ops.zeros_like(ops.sum(x, axis=0))
        return [ops.scan(lambda c, r: (ops.add(c, r), (ops.sum(r), ops.cast(r, "int32"))), z, x),
                ops.map(lambda r: ops.max(r), x),
                ops.vectorized_map(lambda r: ops.expand_dims(r, 0), x),
                ops.cond(ops.greater(ops.sum(x), 0.0), lambda: ops.get_item(x, slice(0, 1)), lambda: x),
                ops.while_loop(lambda i, v: ops.less(i, 3), lambda i, v: (ops.add(i, 1), ops.add(v, 1.0)),
                               (np.int32(0), x)),
                ops.fori_loop(0, 2, lambda i, v: ops.multiply(v, 2.0), x),
                ops.associative_scan(ops.add, x, axis=-1)]

    sym = tree.flatten(fn(KerasTensor(shape)))
    param = ovo.parameter([-1 if d is None else d for d in shape], np.float32)
    graph = tree.flatten(fn(param.output(0)))
    assert len(sym) == len(graph)
    for s, g in zip(sym, graph):
        assert ov_ops.dtype_name(g) == s.dtype
        assert ops.shape(g) == tuple(s.shape), (ops.shape(g), s.shape)
