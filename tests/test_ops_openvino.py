"""The OpenVINO op table against the NumPy reference.

Each case of tests/test_ops_core.py is built as an OpenVINO graph (one `parameter` per
NumPy-array argument, with its exact static shape, and again with the first dimension
dynamic), run through the public `unikeras.ops` call, compiled on CPU and inferred with the
arrays; values and dtypes must equal the reference's.
"""
import numpy as np
import pytest

ov = pytest.importorskip("openvino")
ovo = pytest.importorskip("openvino.opset16")

from unikeras import ops, random  # noqa: E402
from unikeras.adapters.openvino import ops as ov_ops  # noqa: E402
from unikeras.common.variables import runtime  # noqa: E402
from tests.conftest import reference as _reference  # noqa: E402
from tests.test_ops_core import CASES, CREATION  # noqa: E402

# Bit-exact float32 on every CPU (some default to bf16 inference precision).
CONFIG = {"INFERENCE_PRECISION_HINT": "f32", "INFERENCE_NUM_THREADS": 1, "NUM_STREAMS": 1}

# Cases the OpenVINO backend cannot express, keyed by case id, with the reason. Empty: every
# case of tests/test_ops_core.py has an OpenVINO graph, static and with a dynamic first dim.
UNSUPPORTED = {}


def _case_id(case):
    name, args, kwargs = case
    parts = ["x".join(map(str, a.shape)) or "scalar" if isinstance(a, np.ndarray)
             else "[" + ",".join("x".join(map(str, x.shape)) for x in a) + "]"
             if isinstance(a, list) else repr(a) for a in args]
    parts += [f"{k}={v!r}" for k, v in kwargs.items()]
    return name + "(" + ",".join(parts) + ")"


def _to_graph(args, dynamic):
    """Arguments with each NumPy array replaced by a Parameter's Output; the parameters and
    the arrays that feed them."""
    params, feeds = [], []

    def conv(a):
        if isinstance(a, np.ndarray):
            shape = list(a.shape)
            if dynamic and shape:
                shape[0] = -1
            p = ovo.parameter(shape, a.dtype, name=f"arg{len(params)}")
            params.append(p)
            feeds.append(a)
            return p.output(0)
        if isinstance(a, (list, tuple)):   # lists of tensors, (real, imag) pairs
            return type(a)(conv(x) for x in a)
        return a
    return [conv(a) for a in args], params, feeds


def _infer(outputs, params, feeds):
    model = ov.Model(outputs, params, "case")
    compiled = ov.compile_model(model, "CPU", CONFIG)
    result = compiled(feeds)
    return [np.array(result[i]) for i in range(len(outputs))]


def _has_dynamic_variant(args):
    return any(isinstance(a, np.ndarray) and a.ndim for a in args) or any(
        isinstance(a, list) and any(x.ndim for x in a) for a in args)


VARIANTS = [(case, dyn) for case in CASES for dyn in (False, True)
            if not dyn or _has_dynamic_variant(case[1])]


def test_every_case_is_implemented_or_listed():
    missing = [c[0] for c in CASES
               if not callable(getattr(ov_ops, c[0], None)) and _case_id(c) not in UNSUPPORTED]
    assert not missing, f"ops without an OpenVINO implementation: {missing}"
    assert set(UNSUPPORTED) <= {_case_id(c) for c in CASES}


@pytest.mark.parametrize("case,dynamic", VARIANTS,
                         ids=[_case_id(c) + ("-dyn" if d else "-static") for c, d in VARIANTS])
def test_op_graph_matches_numpy_reference(case, dynamic):
    name, args, kwargs = case
    if _case_id(case) in UNSUPPORTED:
        pytest.skip(UNSUPPORTED[_case_id(case)])
    expected = _reference(name, args, kwargs)
    graph_args, params, feeds = _to_graph(args, dynamic)
    out = getattr(ops, name)(*graph_args, **kwargs)
    assert isinstance(out, ov.Output), f"{name} returned {type(out)}"
    # Graph-level dtype and shape (dynamic dims are None).
    assert ov_ops.dtype_name(out) == expected.dtype.name
    shape = ops.shape(out)
    assert len(shape) == expected.ndim
    if dynamic:
        assert all(d is None or d == e for d, e in zip(shape, expected.shape)), (shape, expected.shape)
    else:
        assert shape == expected.shape
    (got,) = _infer([out], params, feeds)
    assert got.dtype == expected.dtype, f"{name}: {got.dtype} != reference {expected.dtype}"
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", CREATION, ids=[_case_id(c) for c in CREATION])
def test_creation_ops_build_constants(case):
    name, args, kwargs = case
    expected = _reference(name, args, kwargs)
    with ops.backend_scope("openvino"):
        out = getattr(ops, name)(*args, **kwargs)
    assert isinstance(out, ov.Output) and ops.is_tensor(out)
    got = ops.convert_to_numpy(out)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


def test_dense_relu_dense_softmax_with_dynamic_batch():
    r = np.random.default_rng(1)
    k1, b1 = r.standard_normal((6, 8)).astype("float32"), r.standard_normal(8).astype("float32")
    k2, b2 = r.standard_normal((8, 3)).astype("float32"), r.standard_normal(3).astype("float32")
    rt = runtime("openvino")
    weights = [rt.make_variable(w, "float32", True, f"w{i}") for i, w in enumerate((k1, b1, k2))]
    x = ovo.parameter([-1, 6], np.float32, name="x")
    h = ops.relu(ops.dense(x.output(0), weights[0], weights[1]))
    y = ops.softmax(ops.dense(h, weights[2], b2))  # a NumPy bias becomes a constant too
    assert ops.shape(y) == (None, 3) and ov_ops.dtype_name(y) == "float32"
    compiled = ov.compile_model(ov.Model([y], [x], "mlp"), "CPU", CONFIG)
    for batch in (1, 5, 17):
        xs = r.standard_normal((batch, 6)).astype("float32")
        with ops.backend_scope("numpy"):
            ref = ops.softmax(ops.dense(ops.relu(ops.dense(xs, k1, b1)), k2, b2))
        got = np.array(compiled([xs])[0])
        assert got.shape == (batch, 3)
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)


GET_ITEM_KEYS = [-1, (slice(None, None, -1), -2), (1, slice(4, 0, -2)), (Ellipsis, 0),
                 (None, Ellipsis, None), (slice(-3, None), slice(None, -1)), (0, 0, None),
                 (slice(1, 100), slice(None, None, 3))]


@pytest.mark.parametrize("key", GET_ITEM_KEYS, ids=[repr(k) for k in GET_ITEM_KEYS])
@pytest.mark.parametrize("dynamic", [False, True])
def test_get_item_keys(key, dynamic):
    a = np.arange(20, dtype="float32").reshape(4, 5)
    x = ovo.parameter([-1 if dynamic else 4, 5], np.float32)
    out = ops.get_item(x.output(0), key)
    (got,) = _infer([out], [x], [a])
    np.testing.assert_array_equal(got, a[key])


def test_dynamic_dims_reshape_reductions_and_like_ops():
    a = np.random.default_rng(2).standard_normal((3, 2, 4)).astype("float32")
    x = ovo.parameter([-1, 2, 4], np.float32)
    xo = x.output(0)
    outs = [ops.reshape(xo, (-1, 8)), ops.mean(xo, axis=(0, 2)), ops.max(xo), ops.argmax(xo, axis=1),
            ops.zeros_like(xo), ops.ones_like(xo, dtype="int32"), ops.matmul(xo, np.ones((4, 2), "float32")),
            ops.expand_dims(xo, -1), ops.sum(xo, axis=0, keepdims=True), ops.transpose(xo)]
    assert ops.shape(outs[0]) == (None, 8) and ops.shape(outs[4]) == (None, 2, 4)
    got = _infer(outs, [x], [a])
    with ops.backend_scope("numpy"):
        want = [ops.reshape(a, (-1, 8)), ops.mean(a, axis=(0, 2)), ops.max(a), ops.argmax(a, axis=1),
                ops.zeros_like(a), ops.ones_like(a, dtype="int32"), ops.matmul(a, np.ones((4, 2), "float32")),
                ops.expand_dims(a, -1), ops.sum(a, axis=0, keepdims=True), ops.transpose(a)]
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype,scalar,expected", [
    ("int32", 2, "int32"), ("int32", 2.5, "float32"), ("float16", 2.0, "float16"),
    ("uint8", 3, "uint8"), ("bool", True, "bool"), ("int8", 1, "int8")])
def test_python_scalars_are_weak(dtype, scalar, expected):
    x = ovo.parameter([3], np.dtype(dtype)).output(0)
    out = ops.add(x, scalar)
    assert ov_ops.dtype_name(out) == expected
    a = np.array([1, 0, 1], dtype)
    (got,) = _infer([out], [x.get_node()], [a])
    with ops.backend_scope("numpy"):
        ref = ops.add(a, scalar)
    assert got.dtype == ref.dtype
    np.testing.assert_allclose(got.astype("float64"), ref.astype("float64"), rtol=1e-3)


def test_numpy_arrays_adopt_openvino_and_promote():
    x = ovo.parameter([3], np.float32).output(0)
    out = ops.add(np.arange(3, dtype="float64"), x)
    assert isinstance(out, ov.Output) and ov_ops.dtype_name(out) == "float64"
    out = ops.multiply(x, np.int32(2))
    assert ov_ops.dtype_name(out) == "float32"


def test_convert_to_tensor_and_numpy():
    with ops.backend_scope("openvino"):
        for value in (np.ones((2, 3), "float64"), 1.5, 3, [1, 2], np.int64(4), True):
            out = ops.convert_to_tensor(value)
            with ops.backend_scope("numpy"):
                ref = ops.convert_to_tensor(value)
            assert isinstance(out, ov.Output)
            got = ops.convert_to_numpy(out)
            assert got.dtype == ref.dtype and np.array_equal(got, ref)
        assert ov_ops.dtype_name(ops.convert_to_tensor([1, 2], dtype="float16")) == "float16"
    x = ovo.parameter([-1, 3], np.float32).output(0)
    assert ops.convert_to_tensor(x) is x
    assert ov_ops.dtype_name(ops.convert_to_tensor(x, dtype="int32")) == "int32"
    with pytest.raises(TypeError, match="graph nodes"):
        ops.convert_to_numpy(x)
    with pytest.raises(TypeError, match="graph nodes"):
        ops.convert_to_numpy(ops.add(x, 1.0))


def test_shape_reports_dynamic_dims_as_none():
    x = ovo.parameter([-1, 3, -1], np.float32).output(0)
    assert ops.shape(x) == (None, 3, None)
    assert ops.shape(ops.get_item(x, (0, slice(1, 3)))) == (2, None)


def test_random_is_refused_and_dropout_is_identity():
    x = ovo.parameter([-1, 3], np.float32).output(0)
    assert random.dropout(x, 0.5, seed=1) is x
    with ops.backend_scope("openvino"):
        with pytest.raises(ValueError, match="inference"):
            random.normal((2, 3), seed=1)
        with pytest.raises(ValueError, match="inference"):
            random.uniform((2, 3))


def test_stop_gradient_is_identity():
    x = ovo.parameter([2], np.float32).output(0)
    assert ops.stop_gradient(x) is x


def test_runtime_is_inference_only():
    rt = runtime("openvino")
    assert rt.NAME == "openvino"
    v = rt.make_variable(np.arange(4), "float32", True, "dense/kernel")
    assert isinstance(v, ov.Output) and v.get_node().get_friendly_name() == "dense/kernel"
    np.testing.assert_array_equal(ops.convert_to_numpy(v), np.arange(4, dtype="float32"))
    with pytest.raises(TypeError, match="immutable"):
        rt.assign(v, np.zeros(4))
    with pytest.raises(NotImplementedError, match="OpenVINO is inference-only"):
        rt.value_and_grad(lambda p: (p, None))
    with pytest.raises(NotImplementedError, match="OpenVINO is inference-only"):
        rt.compile_step(lambda v: v, [])
    with rt.no_grad():
        pass


@pytest.mark.parametrize("bad", [
    lambda x: ops.add(x, np.ones((4, 2), "float32")),
    lambda x: ops.reshape(x, (4, 4)),
    lambda x: ops.sum(x, axis=2),
    lambda x: ops.matmul(x, np.ones((5, 2), "float32")),
    lambda x: ops.softmax(x, axis=3),
])
def test_bad_input_is_a_value_error_naming_the_op(bad):
    x = ovo.parameter([2, 3], np.float32).output(0)
    with pytest.raises(ValueError, match=r"^(add|reshape|sum|matmul|softmax):"):
        bad(x)


def test_get_item_rejects_unsupported_keys():
    x = ovo.parameter([4, 5], np.float32).output(0)
    with pytest.raises(TypeError, match="get_item"):
        ops.get_item(x, [0, 1])
    with pytest.raises(IndexError, match="get_item"):
        ops.get_item(x, 7)


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16", "uint16", "int32"])
def test_unary_integer_ops_wrap_around_like_numpy(dtype):
    info = np.iinfo(dtype)
    x = np.array([info.min, info.min + 1, -3 if info.min else 3, 0, 5, info.max], dtype)
    p = ovo.parameter([x.size], np.dtype(dtype))
    names = ["negative", "square", "absolute"]
    got = _infer([getattr(ops, n)(p.output(0)) for n in names], [p], [x])
    for name, g, expected in zip(names, got, [-x, x * x, np.abs(x)]):
        assert g.dtype == expected.dtype, name
        np.testing.assert_array_equal(g, expected, err_msg=f"{name} on {dtype}")


def test_absolute_of_a_constant_expression():
    # The CPU plugin folds Abs(constant - 1) to constant - 1 when given an Abs node.
    c = ovo.constant(np.array([-2.5, 1.0, 0.25], np.float32)).output(0)
    p = ovo.parameter([3], np.float32)
    outs = [ops.absolute(ops.subtract(c, 1.0)), ops.absolute(ops.subtract(p.output(0), 1.0))]
    got = _infer(outs, [p], [np.array([-2.5, 1.0, 0.25], np.float32)])
    for g in got:
        np.testing.assert_array_equal(g, [3.5, 0.0, 0.75])
