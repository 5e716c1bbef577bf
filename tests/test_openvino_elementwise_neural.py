"""OpenVINO graphs of the elementwise and neural op families against the NumPy reference.

Every case of tests/test_ops_elementwise.py and tests/test_ops_neural.py whose op has an
OpenVINO builder is built as a graph
(one `parameter` per NumPy-array argument, with its exact static shape, and again with a
dynamic first dimension), compiled on CPU and inferred; values and dtypes must equal the
reference's. Cases added here cover the edges the shared lists lack (signed zeros, NaN and
inf, integer extremes, out-of-range shifts, special-function tails, ...), each also checked
against NumPy / math directly, independently of the reference.
"""
import math

import numpy as np
import pytest

ov = pytest.importorskip("openvino")
ovo = pytest.importorskip("openvino.opset16")

from unikeras import ops  # noqa: E402
from unikeras.adapters.openvino import ops as ov_ops  # noqa: E402
from tests import test_ops_elementwise as ew  # noqa: E402
from tests import test_ops_neural as nn  # noqa: E402

# Bit-exact float32 on every CPU (some default to bf16 inference precision).
CONFIG = {"INFERENCE_PRECISION_HINT": "f32"}
OV_DTYPES = set(ov_ops.DTYPE_TO_OV)

# The ops an inference graph of the layer catalog may need from these two families: each must
# have an OpenVINO builder (under its implementation name: swish -> silu, hard_swish -> hard_silu).
REQUIRED_ELEMENTWISE = [
    "arctan2", "cbrt", "exp2", "hypot", "logaddexp", "logaddexp2", "deg2rad", "rad2deg", "sinc",
    "signbit", "heaviside", "erfc", "erfinv", "nan_to_num", "isclose", "allclose", "ldexp", "fmax",
    "fmin", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_invert",
    "bitwise_left_shift", "bitwise_right_shift", "left_shift", "right_shift", "gcd", "lcm", "i0",
    "nextafter", "saturate_cast",
    # present before
    "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "arcsinh", "arccosh",
    "arctanh", "floor", "ceil", "round", "trunc", "erf", "fabs", "log1p", "expm1", "log2",
    "log10", "reciprocal", "rsqrt", "copy", "logical_and", "logical_or", "logical_xor",
    "logical_not", "isnan", "isinf", "isfinite", "isposinf", "isneginf", "floor_divide", "mod",
    "fmod", "true_divide", "divide_no_nan",
]
REQUIRED_NEURAL = [
    "celu", "glu", "hard_silu", "hard_swish", "hard_tanh", "hard_shrink", "soft_shrink",
    "tanh_shrink", "sparse_plus", "sparse_sigmoid", "sparsemax", "squareplus", "threshold",
    "normalize", "rms_normalization", "moments", "psnr", "binary_crossentropy",
    "categorical_crossentropy", "sparse_categorical_crossentropy", "one_hot", "multi_hot",
    "in_top_k", "conv_transpose", "separable_conv", "depth_to_space", "space_to_depth",
    "adaptive_average_pool", "adaptive_max_pool", "unfold", "fold",
    # present before
    "relu6", "elu", "selu", "gelu", "silu", "swish", "hard_sigmoid", "leaky_relu", "softplus",
    "softsign", "log_sigmoid", "conv", "depthwise_conv", "max_pool", "average_pool",
    "batch_normalization", "layer_normalization", "dot_product_attention",
]
# Ops of the two families deliberately not built on OpenVINO, with the reason.
NOT_ON_OPENVINO = {
    "real": "complex numbers", "imag": "complex numbers", "angle": "complex numbers",
    "conj": "complex numbers", "conjugate": "complex numbers", "isreal": "complex numbers",
    "polar": "complex output",
    "ctc_loss": "not in the task's list",
    "ctc_decode": "not in the task's list",
}


def _impl(name):
    return getattr(getattr(ops, name), "impl_name", name)


def _has_builder(name):
    return callable(getattr(ov_ops, _impl(name), None))


# --- running a case as a graph ---------------------------------------------------------------
# Arguments that get the dynamic batch dimension (the rest, kernels and the like, stay static).
DATA_ARGS = {"binary_crossentropy": 2, "categorical_crossentropy": 2,
             "sparse_categorical_crossentropy": 2, "psnr": 2, "in_top_k": 2,
             "dot_product_attention": 3, "moments": 1}


def _n_data(name, family):
    if family == "elementwise":
        return 99
    return DATA_ARGS.get(name, 1)


def _build(name, args, kwargs, dynamic, n_data):
    params, feeds = [], []

    def conv(a, batch_dynamic):
        if not isinstance(a, np.ndarray):
            return a
        shape = list(a.shape)
        if dynamic and batch_dynamic and shape:
            shape[0] = -1
        p = ovo.parameter(shape, a.dtype, name=f"arg{len(params)}")
        params.append(p)
        feeds.append(a)
        return p.output(0)

    out = getattr(ops, name)(*[conv(a, i < n_data) for i, a in enumerate(args)],
                             **{k: conv(v, True) for k, v in kwargs.items()})
    return out, params, feeds


def _infer(outs, params, feeds):
    compiled = ov.compile_model(ov.Model(list(outs), params, "case"), "CPU", CONFIG)
    result = compiled(feeds)
    return [np.array(result[i]) for i in range(len(outs))]


def _tolerance(dtype, family):
    if dtype.name in ("float16", "bfloat16"):
        return dict(rtol=2e-3, atol=2e-3)
    if family == "neural":
        return dict(rtol=1e-5, atol=1e-5)
    return dict(rtol=1e-5, atol=1e-6)


def _check_graph(name, args, kwargs, dynamic, family):
    """Build, check graph-level dtype and (partial) shape, compile, infer, compare."""
    with ops.backend_scope("numpy"):
        expected = getattr(ops, name)(*args, **kwargs)
    expected = expected if isinstance(expected, tuple) else (expected,)
    out, params, feeds = _build(name, args, kwargs, dynamic, _n_data(name, family))
    outs = out if isinstance(out, tuple) else (out,)
    assert len(outs) == len(expected)
    for o, e in zip(outs, expected):
        assert isinstance(o, ov.Output), f"{name} returned {type(o)}"
        assert ov_ops.dtype_name(o) == e.dtype.name, f"{name}: graph dtype {ov_ops.dtype_name(o)}"
        shape = ops.shape(o)
        assert len(shape) == e.ndim
        assert all(d is None or d == s for d, s in zip(shape, e.shape)), (shape, e.shape)
        if not dynamic:
            assert shape == e.shape, (shape, e.shape)
    got = _infer(outs, params, feeds)
    for g, e in zip(got, expected):
        assert g.dtype == e.dtype, f"{name}: {g.dtype} != reference {e.dtype}"
        assert g.shape == e.shape
        if g.dtype.kind == "f" or g.dtype.name == "bfloat16":
            np.testing.assert_allclose(g.astype("float64"), e.astype("float64"),
                                       **_tolerance(e.dtype, family), err_msg=name)
        else:
            np.testing.assert_array_equal(g, e, err_msg=name)
    return got, expected


def _arrays(case):
    name, args, kwargs = case[:3]
    return [a for a in list(args) + list(kwargs.values()) if isinstance(a, np.ndarray)]


def _runnable(case):
    arrays = _arrays(case)
    return _has_builder(case[0]) and all(a.dtype.name in OV_DTYPES for a in arrays)


def _variants(cases):
    out = []
    for c in cases:
        if not _runnable(c):
            continue
        out.append((c, False))
        if any(a.ndim for a in _arrays(c)):
            out.append((c, True))
    return out


EW_VARIANTS = _variants(ew.CASES)
NN_SHARED = [c[:3] for c in nn.CASES]
NN_VARIANTS = _variants(NN_SHARED)


@pytest.mark.parametrize("case,dynamic", EW_VARIANTS,
                         ids=[ew._case_id(c) + ("-dyn" if d else "-static") for c, d in EW_VARIANTS])
def test_shared_elementwise_cases_as_graphs(case, dynamic):
    _check_graph(*case, dynamic, "elementwise")


@pytest.mark.parametrize("case,dynamic", NN_VARIANTS,
                         ids=[nn._case_id(c) + ("-dyn" if d else "-static") for c, d in NN_VARIANTS])
def test_shared_neural_cases_as_graphs(case, dynamic):
    _check_graph(*case, dynamic, "neural")


def test_required_ops_have_builders_and_shared_cases_run():
    missing = [n for n in REQUIRED_ELEMENTWISE + REQUIRED_NEURAL if not _has_builder(n)]
    assert not missing, f"ops without an OpenVINO builder: {missing}"
    for n in NOT_ON_OPENVINO:
        assert not _has_builder(n), f"{n} has a builder now: drop it from NOT_ON_OPENVINO"
    # Every shared case of an op with a builder runs here (only complex dtypes are left out).
    for cases, variants in ((ew.CASES, EW_VARIANTS), (NN_SHARED, NN_VARIANTS)):
        ran = {id(c) for c, _ in variants}
        left = [c[0] for c in cases if _has_builder(c[0]) and id(c) not in ran]
        assert all(any(a.dtype.name not in OV_DTYPES for a in _arrays(c))
                   for c in cases if c[0] in left), left
        assert ran
    # And every op of the task has a case somewhere.
    named = {c[0] for c, _ in EW_VARIANTS + NN_VARIANTS} | {
        c[0] for c in OWN_CASES}
    assert set(REQUIRED_ELEMENTWISE + REQUIRED_NEURAL) - named == set()


# --- cases added here, each with an independent oracle (NumPy / math in float64) ------------
R = np.random.default_rng(11)
f32, f16 = np.float32, np.float16
nan, inf = math.nan, math.inf


def F(*s, scale=1.0, dtype="float32"):
    return (R.standard_normal(s) * scale).astype(dtype)


def I(*s, lo=-6, hi=6, dtype="int32"):  # noqa: E743
    return R.integers(lo, hi, s).astype(dtype)


def A(values, dtype=None):
    """An array of `dtype`; by default float32 for numbers, bool for bools."""
    a = np.array(values, dtype)
    return a.astype("float32") if dtype is None and a.dtype.kind in "if" else a


def _f64(a):
    return np.asarray(a).astype("float64")


def _erfinv_oracle(y):
    """Newton on erfc(x) = 1 - y (on erfc(-x) = 1 + y for y < 0) in float64: exact also in
    the tails, where erf(x) is too flat to invert."""
    def one(v):
        if v != v or abs(v) > 1:
            return nan
        if abs(v) == 1:
            return math.copysign(inf, v)
        if abs(v) < 0.5:  # erf is steep enough here
            x = 0.0
            for _ in range(100):
                x += (v - math.erf(x)) / (2 / math.sqrt(math.pi) * math.exp(-x * x))
            return x
        target, x = 1 - abs(v), 0.0
        for _ in range(200):
            x_new = x + (math.erfc(x) - target) / (2 / math.sqrt(math.pi) * math.exp(-x * x))
            if x_new == x:
                break
            x = x_new
        return math.copysign(x, v)
    return np.vectorize(one, otypes=["float64"])(_f64(y))


def _i0_oracle(x):
    def one(v):
        if v != v:
            return nan
        if abs(v) == inf:
            return inf
        term, total, k = 1.0, 1.0, 0
        while term > total * 1e-17 or k < 5:
            k += 1
            term *= (v / 2) ** 2 / (k * k)
            total += term
        return total
    return np.vectorize(one, otypes=["float64"])(_f64(x))


def _shift_oracle(left):
    def apply(a, b):
        bits = np.asarray(a).dtype.itemsize * 8
        unsigned = np.asarray(a).dtype.kind == "u"

        def one(p, q):
            p, q = int(p), int(q)
            if q < 0 or q >= bits:
                return -1 if (not left and p < 0) else 0
            v = (p << q) if left else (p >> q)
            v %= 1 << bits
            return v - (1 << bits) if not unsigned and v >= 1 << (bits - 1) else v
        return np.vectorize(one, otypes=[object])(*np.broadcast_arrays(a, b)).astype(
            np.asarray(a).dtype)
    return apply


def _bit_oracle(op):
    return lambda a, b: np.vectorize(lambda p, q: op(int(p), int(q)), otypes=[object])(
        *np.broadcast_arrays(a, b))


def _sig(v):
    return 1 / (1 + np.exp(-v))


def _moments_oracle(x, axes, keepdims=False):
    x = _f64(x)
    m = x.mean(axis=tuple(np.atleast_1d(axes)), keepdims=True)
    v = ((x - m) ** 2).mean(axis=tuple(np.atleast_1d(axes)), keepdims=keepdims)
    return (m if keepdims else np.squeeze(m, tuple(np.atleast_1d(axes)))), v


def _multi_hot_oracle(x, n, dtype="float32"):
    out = np.zeros((x.shape[0], n), dtype)
    for i, row in enumerate(x):
        for v in row:
            if 0 <= v < n:
                out[i, v] = 1
    return out


def _in_top_k_oracle(t, p, k):
    return np.array([sorted(row, reverse=True).index(row[c]) < k for c, row in zip(t, p)])


FIB = [0, 1]
while len(FIB) < 93:
    FIB.append(FIB[-1] + FIB[-2])
ATAN_Y = A([0., -0., 0., -0., 1., -1., inf, -inf, inf, -inf, nan, 2., -3., inf, 5., -0.])
ATAN_X = A([0., 0., -0., -0., 0., -0., inf, inf, -inf, -inf, 1., -inf, inf, 2., -0., -2.])
SHIFT_A = A([1, -3, 5, 7, 1, -1, 9, -50, 3], "int32")
SHIFT_B = A([0, 7, 31, 32, 40, -1, 3, 4, 33], "int32")

DIV_A = A([16777215, -16777215, 9227465, 4194305, -7, 5, 0, -8388608, 999999, 5, -5, 0], "int32")
DIV_B = A([3, 4194304, 5702887, 2, 3, -3, -5, 7, -65536, 0, 0, 0], "int32")


def _int_div_oracle(kind):
    def one(p, q):
        p, q = int(p), int(q)
        if q == 0:
            return 0
        if kind == "mod":
            return p % q
        if kind == "floor_divide":
            return p // q
        t = abs(p) // abs(q) * (1 if (p >= 0) == (q > 0) else -1)  # C's truncating quotient
        return p - t * q
    return lambda a, b: np.vectorize(one, otypes=[object])(*np.broadcast_arrays(a, b))


# (op, args, kwargs, oracle(*args, **kwargs) in float64 or exact, oracle tolerance or None)
OWN_CASES = [
    ("arctan2", (ATAN_Y, ATAN_X), {}, lambda y, x: np.arctan2(_f64(y), _f64(x)), None),
    ("arctan2", (F(4, 5, scale=1e3, dtype="float16"), F(5, dtype="float16")), {},
     lambda y, x: np.arctan2(_f64(y), _f64(x)), None),
    ("signbit", (A([-0., 0., -inf, inf, -1e-45, 1e-45, 3, -3, nan]),), {}, np.signbit, None),
    ("signbit", (A([-0., 0., -1, 2, -inf], "float16"),), {}, np.signbit, None),
    ("signbit", (A([0, 200, 255], "uint8"),), {}, np.signbit, None),
    ("signbit", (A([-5, 0, 7], "int64"),), {}, np.signbit, None),
    ("hypot", (A([inf, nan, nan, 0, -inf, 3e38, 1e-40, -5]), A([nan, inf, 1, 0, 2, 3e38, 1e-40, 12])),
     {}, lambda a, b: np.hypot(_f64(a), _f64(b)), None),
    ("hypot", (F(3, 4, dtype="float16"), F(4, dtype="float16")), {},
     lambda a, b: np.hypot(_f64(a), _f64(b)), None),
    ("logaddexp", (A([-inf, inf, -inf, nan, 1, -100, 80]), A([-inf, inf, 3, 1, nan, -100, 100])), {},
     lambda a, b: np.logaddexp(_f64(a), _f64(b)), None),
    ("logaddexp2", (A([-inf, inf, 0, 1e3, -1e3, 3]), A([-inf, inf, 0, -1e3, 1e3, 3])), {},
     lambda a, b: np.logaddexp2(_f64(a), _f64(b)), None),
    ("logaddexp", (F(3, 4, dtype="float16"), F(3, 4, dtype="float16")), {},
     lambda a, b: np.logaddexp(_f64(a), _f64(b)), None),
    ("cbrt", (A([-27, -8, 0, -0., 1, 8, 1000, 1e-30, -1e30, inf, -inf, nan]),), {},
     lambda x: np.cbrt(_f64(x)), dict(rtol=1.2e-7, atol=0)),
    ("cbrt", (A([-27, 64, 0.001, 5], "float16"),), {}, lambda x: np.cbrt(_f64(x)), None),
    ("exp2", (A([-149, -126, -1, 0, 0.5, 10, 127, 128, -inf, inf, nan]),), {},
     lambda x: np.exp2(_f64(x)), dict(rtol=1.2e-7, atol=0)),
    ("exp2", (A([-24, -3.5, 0, 15.9], "float16"),), {}, lambda x: np.exp2(_f64(x)), None),
    ("erfinv", (A([0.999, -0.999, 0.99999, -0.99999, 0.9999999, -1e-6, 1e-30, 1, -1, 1.5, nan]),),
     {}, _erfinv_oracle, dict(rtol=5e-7, atol=0)),
    ("erfinv", (A([-0.9, 0.5, 0.99, 0], "float16"),), {}, _erfinv_oracle, None),
    ("erfc", (A([-3, -1, 0, 0.1, 0.46, 0.48, 1, 2, 4, 6, 9, 10, 20, inf, -inf, nan]),), {},
     lambda x: np.vectorize(math.erfc)(_f64(x)), dict(rtol=1e-6, atol=1e-44)),
    ("erfc", (A([-2, 0.2, 3], "float16"),), {}, lambda x: np.vectorize(math.erfc)(_f64(x)), None),
    ("i0", (A([-50, -20, -3.75, -3.7, 0, 1e-3, 3.76, 10, 80, nan]),), {}, _i0_oracle,
     dict(rtol=2e-6, atol=0)),
    ("i0", (A([-4, 0.5, 2], "float16"),), {}, _i0_oracle, None),
    ("sinc", (A([0, 0.5, -1.5, 2, 1e-4], "float16"),), {}, lambda x: np.sinc(_f64(x)), None),
    ("deg2rad", (A([-180, 90, 45], "float16"),), {}, lambda x: _f64(x) * math.pi / 180, None),
    ("rad2deg", (A([-3.14, 1, 0.5], "float16"),), {}, lambda x: _f64(x) * 180 / math.pi, None),
    ("ldexp", (A([1e-30, 3, 1.5, -2, 1, 0, inf, nan]), A([120, -130, 127, -148, 0, 5, 3, 1], "int32")),
     {}, lambda a, e: np.ldexp(_f64(a), e), dict(rtol=0, atol=0)),
    ("ldexp", (A([1.5, -3, 0.25], "float16"), A([-20, 3, 10], "int8")), {},
     lambda a, e: np.ldexp(_f64(a), e.astype(int)), None),
    ("ldexp", (A([1, 2, 3], "int32"), A([True, False, True], "bool")), {},
     lambda a, e: np.ldexp(_f64(a), e.astype(int)), None),
    ("ldexp", (2.5, A([[1, -2], [3, 0]], "int64")), {}, lambda a, e: np.ldexp(a, e), None),
    ("fmax", (A([1, nan, nan, -2, inf], "float16"), A([nan, 3, nan, -1, 0], "float16")), {},
     lambda a, b: np.fmax(_f64(a), _f64(b)), None),
    ("fmin", (A([True, False, True]), A([False, False, True])), {}, np.fmin, None),
    ("fmin", (A([-128, 5, 127], "int8"), A([0, -7, 126], "int8")), {}, np.fmin, None),
    ("heaviside", (A([-1, 0, -0., 2, nan], "float16"), A([0.5, 0.5, 0.25, 0.5, 0.5], "float16")), {},
     lambda a, b: np.heaviside(_f64(a), _f64(b)), None),
    ("bitwise_and", (A([255, 15, 128], "uint8"), A([170, 3, 129], "uint8")), {},
     _bit_oracle(lambda p, q: p & q), None),
    ("bitwise_xor", (A([2 ** 30, -1, 1234567890], "int64"), A([3, 2 ** 20, -98765], "int64")), {},
     _bit_oracle(lambda p, q: p ^ q), None),
    ("bitwise_or", (A([1, -128, 64], "int8"), -3), {}, _bit_oracle(lambda p, q: p | q), None),
    ("bitwise_invert", (A([0, -1, 2 ** 30], "int64"),), {}, lambda x: np.vectorize(lambda v: ~int(v))(x),
     None),
    ("bitwise_not", (A([True, False]),), {}, lambda x: ~x, None),
    ("left_shift", (SHIFT_A, SHIFT_B), {}, _shift_oracle(True), None),
    ("right_shift", (SHIFT_A, SHIFT_B), {}, _shift_oracle(False), None),
    ("left_shift", (A([1, -3, 5, 7, 1], "int8"), A([7, 1, 8, 9, -1], "int8")), {},
     _shift_oracle(True), None),
    ("right_shift", (A([-128, -3, 100, 7, -1], "int8"), A([7, 1, 8, 9, -1], "int8")), {},
     _shift_oracle(False), None),
    ("bitwise_left_shift", (A([1, 255, 3], "uint8"), A([7, 1, 8], "uint8")), {},
     _shift_oracle(True), None),
    ("bitwise_right_shift", (A([255, 128, 3], "uint16"), A([3, 7, 16], "uint16")), {},
     _shift_oracle(False), None),
    ("left_shift", (A([True, False, True]), A([True, True, False])), {},
     lambda a, b: _shift_oracle(True)(a.astype("int8"), b.astype("int8")), None),
    ("gcd", (A([FIB[35], FIB[34], -FIB[30], 0, 0, 2 ** 23], "int64"),
             A([FIB[34], FIB[33], FIB[31], 0, -7, 2 ** 20 * 3], "int64")), {},
     _bit_oracle(math.gcd), None),
    ("gcd", (A([FIB[35], 16777215, -16777215, 0], "int32"), A([FIB[34], 0, 2 ** 23, 9], "int32")),
     {}, _bit_oracle(math.gcd), None),
    ("gcd", (A([127, -126, 0, 0, 96, 17], "int8"), A([-3, 42, 0, 5, 64, 17], "int8")), {},
     _bit_oracle(math.gcd), None),
    ("gcd", (A([255, 0, 144], "uint8"), A([85, 7, 96], "uint8")), {}, _bit_oracle(math.gcd), None),
    ("lcm", (A([4, -6, 0, 21, -7, 12], "int32"), A([6, 4, 5, 0, -7, -18], "int32")), {},
     _bit_oracle(math.lcm), None),
    ("lcm", (A([4, 6, 15], "uint8"), 10), {}, _bit_oracle(math.lcm), None),
    # integer division: negative operands up to 2**24, zero divisors (the CPU divides 32-bit
    # integers through float32: exact below 2**24)
    ("mod", (DIV_A, DIV_B), {}, _int_div_oracle("mod"), None),
    ("floor_divide", (DIV_A, DIV_B), {}, _int_div_oracle("floor_divide"), None),
    ("fmod", (DIV_A, DIV_B), {}, _int_div_oracle("fmod"), None),
    ("mod", (A([7, -7, 0], "int8"), A([0, 3, 0], "int8")), {}, _int_div_oracle("mod"), None),
    ("floor_divide", (A([True, False]), A([False, True])), {}, _int_div_oracle("floor_divide"), None),
    ("mod", (A([True, False, True]), A([True, True, False])), {}, _int_div_oracle("mod"), None),
    ("fmod", (A([True, False, True]), A([True, True, False])), {}, _int_div_oracle("fmod"), None),
    ("nextafter", (A([0, -0., 0, 1, 1, -1, 2, 2 ** -126, -1.4e-45, 3.4028235e38, inf, -inf, nan, 5]),
                   A([-0., 0, -1, 2, 0, 0, 1, 0, 0, inf, 0, 0, 1, 5])), {}, np.nextafter, dict(rtol=0, atol=0)),
    ("nextafter", (A([0, 1, -1, 65504, 6e-8, -6e-8, 2 ** -14, 0.], "float16"),
                   A([1, 0, -2, inf, 0, 0, 0, -0.], "float16")), {}, np.nextafter, dict(rtol=0, atol=0)),
    ("nextafter", (A([1, 2], "int32"), 0.5), {}, lambda a, b: np.nextafter(a.astype("float32"), f32(b)),
     dict(rtol=0, atol=0)),
    ("isclose", (A([1, 1, nan, inf, 65504], "float16"), A([1.001, 1.1, nan, inf, inf], "float16")),
     {"rtol": 1e-2, "equal_nan": True}, None, None),
    ("isclose", (A([2 ** 31 - 1, -5, 7], "int64"), A([2 ** 31 - 2, -5, 8], "int64")), {},
     None, None),
    ("allclose", (A(1.0), A(1.0 + 1e-7)), {}, lambda a, b: np.allclose(a, b), None),
    ("allclose", (A([[1, 2], [3, 4]], "int32"), A([1, 2], "int32")), {},
     lambda a, b: np.allclose(a, b), None),
    ("nan_to_num", (A([nan, inf, -inf, 1, -0.5], "float16"),), {}, lambda x: np.nan_to_num(x), None),
    ("nan_to_num", (A([nan, inf, -inf, 2]),), {"nan": 7.0, "posinf": -1.0}, lambda x, **k: np.nan_to_num(
        x, **k), None),
    ("nan_to_num", (A([1, -2], "int8"),), {}, lambda x: x, None),
    ("nan_to_num", (A([True, False]),), {}, lambda x: x, None),
    ("one_hot", (A([0, 2, -1, 5], "int32"), 4), {}, lambda x, n: x[:, None] == np.arange(n), None),
    ("one_hot", (A([[1, 0], [3, 3]], "int64"), 4), {"axis": 0, "dtype": "int32"},
     lambda x, n, axis, dtype: np.moveaxis(np.eye(n, dtype=dtype)[x], -1, 0), None),
    # neural
    ("moments", (F(3, 4, 5), (0, 2)), {}, _moments_oracle, None),
    ("moments", (F(3, 4), [1]), {"keepdims": True}, _moments_oracle, None),
    ("moments", (I(4, 3), 0), {}, _moments_oracle, None),
    ("moments", (F(4, 6, dtype="float16"), -1), {}, _moments_oracle, None),
    ("in_top_k", (A([0, 2, 1, 3], "int32"), A([[1, 3, 3, 0], [5, 5, 5, 5], [0, 1, 2, 3], [4, 3, 2, 1]]), 2),
     {}, _in_top_k_oracle, None),
    ("in_top_k", (A([1, 0, 2], "int64"), A([[3, 1, 2], [1, 1, 0], [7, 8, 9]], "int32"), 1), {},
     _in_top_k_oracle, None),
    ("in_top_k", (A([0, 1, 2, 3], "int32"), A([[1, 2, 2, 0]] * 4), 2), {}, _in_top_k_oracle, None),
    ("in_top_k", (A([4, 0, 2], "int32"), R.permutation(15).reshape(3, 5).astype("float32"), 3), {},
     _in_top_k_oracle, None),
    ("sparsemax", (F(2, 5, 3) * 2,), {"axis": 1}, lambda x, axis: nn._sparsemax_bisect(x, axis), None),
    ("sparsemax", (F(3, 6, dtype="float16"),), {}, lambda x: nn._sparsemax_bisect(x, -1), None),
    ("multi_hot", (A([[1, 0, 3, -1], [2, 2, 9, 0]], "int32"), 4), {}, _multi_hot_oracle, None),
    ("multi_hot", (A([[1, 3], [0, 0]], "int64"), 5), {"dtype": "bool"},
     lambda x, n, dtype: _multi_hot_oracle(x, n, dtype), None),
    ("multi_hot", (A([[[1, 0], [2, 3]], [[0, 0], [1, 1]]], "int32"),), {"num_tokens": 4}, None, None),
    ("normalize", (F(3, 4),), {"order": 3},
     lambda x, order: _f64(x) / np.maximum((np.abs(_f64(x)) ** 3).sum(-1, keepdims=True) ** (1 / 3), 1e-7),
     None),
    ("normalize", (A([[0, 0, 0], [3, 4, 0]]),), {},
     lambda x: _f64(x) / np.maximum(np.sqrt((_f64(x) ** 2).sum(-1, keepdims=True)), 1e-7), None),
    ("rms_normalization", (F(2, 3, 4, dtype="float16"), F(4, dtype="float16")), {"epsilon": 1e-3},
     lambda x, s, epsilon: _f64(x) / np.sqrt((_f64(x) ** 2).mean(-1, keepdims=True) + 1e-3) * _f64(s),
     None),
    ("celu", (F(7, dtype="float16"),), {"alpha": 0.5},
     lambda x, alpha: np.where(_f64(x) > 0, _f64(x), 0.5 * np.expm1(_f64(x) / 0.5)), None),
    ("celu", (A([-1e-7, 1e-7, -20, 3]),), {},
     lambda x: np.where(_f64(x) > 0, _f64(x), np.expm1(_f64(x))), dict(rtol=1e-6, atol=0)),
    ("glu", (F(3, 4, 6),), {"axis": 1},
     lambda x, axis: _f64(x)[:, :2] * _sig(_f64(x)[:, 2:]), None),
    ("threshold", (I(6), 1, 5.0), {}, lambda x, t, d: np.where(x > t, _f64(x), d), None),
    ("hard_tanh", (I(6),), {}, lambda x: np.clip(_f64(x), -1, 1), None),
    ("hard_tanh", (A([nan, -3, 0.5, inf]),), {}, lambda x: np.clip(_f64(x), -1, 1), None),
    ("relu6", (A([nan, -3, 0.5, 7, -inf]),), {}, lambda x: np.clip(_f64(x), 0, 6), None),
    ("celu", (A([nan, -inf, inf, -2]),), {}, lambda x: np.where(_f64(x) > 0, _f64(x), np.expm1(_f64(x))),
     None),
    ("hard_silu", (A([-4, -3, -1, 0, 1, 3, 4], "float16"),), {},
     lambda x: _f64(x) * np.clip(_f64(x) + 3, 0, 6) / 6, None),
    ("sparse_plus", (A([-2, -1, -0.5, 0, 0.5, 1, 2]),), {},
     lambda x: np.where(_f64(x) <= -1, 0, np.where(_f64(x) >= 1, _f64(x), (_f64(x) + 1) ** 2 / 4)), None),
    ("sparse_sigmoid", (A([-2, -1, -0.5, 0, 0.5, 1, 2]),), {},
     lambda x: np.clip((_f64(x) + 1) / 2, 0, 1), None),
    ("soft_shrink", (A([-0.6, -0.5, 0, 0.5, 0.7]),), {},
     lambda x: np.where(_f64(x) > 0.5, _f64(x) - 0.5, np.where(_f64(x) < -0.5, _f64(x) + 0.5, 0)), None),
    ("hard_shrink", (A([-0.6, -0.5, 0, 0.5, 0.7]),), {},
     lambda x: np.where(np.abs(_f64(x)) > 0.5, _f64(x), 0), None),
    ("tanh_shrink", (A([-3, -1e-3, 0, 2], "float16"),), {}, lambda x: _f64(x) - np.tanh(_f64(x)), None),
    ("squareplus", (A([-3, 0, 2]),), {"b": 0}, lambda x, b: np.maximum(_f64(x), 0), None),
    ("conv_transpose", (F(1, 3, 4, 5, 2), F(2, 3, 2, 4, 2)), {"strides": (1, 2, 2), "padding": "same"},
     None, None),
    ("conv_transpose", (F(2, 7, 3), F(3, 2, 3)), {"strides": 2, "dilation_rate": 2, "padding": "same"},
     None, None),
    ("separable_conv", (F(2, 3, 9), F(3, 3, 2), F(1, 6, 4)),
     {"data_format": "channels_first", "dilation_rate": 2}, None, None),
    ("adaptive_max_pool", (I(2, 7, 5, 3), (3, 2)), {}, None, None),
    ("adaptive_average_pool", (F(2, 9, 3), 4), {}, None, None),
    ("adaptive_average_pool", (F(1, 2, 6, 5, dtype="float16"), (4, 5)),
     {"data_format": "channels_first"}, None, None),
    ("unfold", (F(2, 3, 5, 6, dtype="float16"), 2), {"stride": 2}, None, None),
    ("fold", (F(2, 12, 9, dtype="float16"), (4, 6), 2), {"stride": (1, 2)}, None, None),
    ("depth_to_space", (I(1, 2, 3, 12), 2), {}, None, None),
    ("space_to_depth", (A(np.arange(32).reshape(1, 2, 4, 4), "int8"), 2),
     {"data_format": "channels_first"}, None, None),
    ("binary_crossentropy", (A([[0, 1, 1], [0, 0.5, 1]]), A([[1e-9, 0.3, 1 - 1e-9], [0.2, 0.5, 0.9]])),
     {}, lambda t, o: -(_f64(t) * np.log(np.clip(_f64(o), 1e-7, 1 - 1e-7))
                        + (1 - _f64(t)) * np.log(1 - np.clip(_f64(o), 1e-7, 1 - 1e-7))),
     dict(rtol=1e-4, atol=1e-5)),
    ("binary_crossentropy", (F(2, 3, dtype="float16"), F(2, 3, dtype="float16")), {"from_logits": True},
     lambda t, o, from_logits: np.logaddexp(0, _f64(o)) - _f64(o) * _f64(t), None),
    ("categorical_crossentropy", (A([[0, 1, 0], [0.2, 0.3, 0.5]], "float16"),
                                  A([[0.1, 0.7, 0.2], [2, 1, 1]], "float16")), {},
     lambda t, o: -(_f64(t) * np.log(_f64(o) / _f64(o).sum(-1, keepdims=True))).sum(-1), None),
    ("sparse_categorical_crossentropy", (A([2, 0], "int64"), F(2, 3)), {"from_logits": True},
     lambda t, o, from_logits: -(_f64(o)[[0, 1], t] - np.log(np.exp(_f64(o)).sum(-1))), None),
    ("psnr", (F(2, 3, 4), F(2, 3, 4), 2.0), {},
     lambda a, b, m: 20 * math.log10(2.0) - 10 * np.log10(((_f64(a) - _f64(b)) ** 2).mean()), None),
]
OWN_IDS = [ew._case_id(c[:3]) for c in OWN_CASES]


def _oracle_check(got, want, tol):
    want = np.asarray(want)
    if got.dtype == bool or got.dtype.kind in "iu":
        np.testing.assert_array_equal(got, want.astype(got.dtype))
        return
    if tol is None:
        tol = dict(rtol=2e-3, atol=2e-3) if got.dtype == np.float16 else dict(rtol=1e-5, atol=1e-6)
    exact = want.astype("float64")
    with np.errstate(over="ignore", invalid="ignore"):
        want = want.astype(got.dtype).astype("float64")  # the oracle rounded to the result dtype
    got64 = got.astype("float64")
    np.testing.assert_allclose(got64, want, **tol)
    zeros = (got64 == 0) & (exact == 0)  # exact signed zeros must match too
    np.testing.assert_array_equal(np.signbit(got64[zeros]), np.signbit(exact[zeros]))


@pytest.mark.parametrize("dynamic", [False, True])
@pytest.mark.parametrize("case", OWN_CASES, ids=OWN_IDS)
def test_edge_cases_match_reference_and_oracle(case, dynamic):
    name, args, kwargs, oracle, tol = case
    if dynamic and not any(a.ndim for a in _arrays(case)):
        dynamic = False  # scalars only: the static graph is the case
    family = "elementwise" if name in ew.ORACLES else "neural"
    got, expected = _check_graph(name, args, kwargs, dynamic, family)
    if oracle is not None:
        with np.errstate(all="ignore"):
            wants = oracle(*args, **kwargs)
        wants = wants if isinstance(wants, tuple) else (wants,)
        for g, w in zip(got, wants):
            _oracle_check(g, w, tol)


# --- whole graphs with a dynamic batch -------------------------------------------------------
def test_layer_like_stack_with_dynamic_batch():
    """conv_transpose -> depth_to_space -> adaptive pooling -> rms norm -> glu -> sparsemax,
    compiled once and run for several batch sizes."""
    k1, k2, dw = F(3, 3, 8, 3), F(1, 1, 2, 6), F(3, 3, 2, 1)
    scale = F(6) + 1
    x = ovo.parameter([-1, 5, 6, 3], np.float32)

    def net(v):
        h = ops.conv_transpose(v, k1, strides=2, padding="same")
        h = ops.depth_to_space(h, 2)
        h = ops.adaptive_average_pool(h, (4, 3))
        h = ops.separable_conv(ops.celu(h), dw, k2, padding="same")
        h = ops.rms_normalization(h, scale)
        return ops.sparsemax(ops.glu(h, axis=-1), axis=-1)

    y = net(x.output(0))
    assert ops.shape(y) == (None, 4, 3, 3) and ov_ops.dtype_name(y) == "float32"
    compiled = ov.compile_model(ov.Model([y], [x]), "CPU", CONFIG)
    for batch in (1, 3):
        xs = F(batch, 5, 6, 3)
        with ops.backend_scope("numpy"):
            want = net(xs)
        np.testing.assert_allclose(np.array(compiled([xs])[0]), want, rtol=1e-5, atol=1e-5)


def test_elementwise_chain_with_dynamic_batch():
    a = ovo.parameter([-1, 4], np.float32)
    n = ovo.parameter([-1, 4], np.int32)

    def net(x, i):
        y = ops.logaddexp(ops.arctan2(x, 1.5), ops.erfc(x))
        y = ops.ldexp(ops.nan_to_num(ops.cbrt(y)), ops.right_shift(ops.gcd(i, 12), 1))
        return ops.where(ops.isclose(y, 0.0, atol=1e-3), ops.hypot(y, ops.i0(x)), y)

    y = net(a.output(0), n.output(0))
    assert ops.shape(y) == (None, 4)
    compiled = ov.compile_model(ov.Model([y], [a, n]), "CPU", CONFIG)
    for batch in (2, 5):
        xs, ns = F(batch, 4), I(batch, 4, lo=-30, hi=30)
        with ops.backend_scope("numpy"):
            want = net(xs, ns)
        np.testing.assert_allclose(np.array(compiled([xs, ns])[0]), want, rtol=1e-5, atol=1e-6)


def test_builders_raise_value_errors_naming_the_op():
    x = ovo.parameter([2, 3], np.float32).output(0)
    i = ovo.parameter([2, 3], np.int32).output(0)
    with pytest.raises(ValueError, match=r"^hypot:"):
        ops.hypot(x, ovo.parameter([4], np.float32).output(0))
    with pytest.raises(ValueError, match=r"^glu:"):
        ops.glu(x)
    with pytest.raises(ValueError, match=r"^depth_to_space:"):
        ops.depth_to_space(ovo.parameter([1, 2, 2, 3], np.float32).output(0), 2)
    with pytest.raises(ValueError, match=r"^in_top_k:"):
        ops.in_top_k(i, x, 1)
    with pytest.raises(TypeError, match=r"^gcd:"):
        from unikeras.adapters.openvino import ops_elementwise
        ops_elementwise.gcd(x, x)
    with pytest.raises(TypeError, match=r"^ldexp:"):
        from unikeras.adapters.openvino import ops_elementwise
        ops_elementwise.ldexp(x, x)


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_nextafter_is_bit_exact(dtype):
    """Random magnitudes over the whole range, powers of two (where the spacing changes),
    subnormals, extremes and infinities, toward +-inf, 0 and random targets; bfloat16 is
    built from float32 parameters cast in the graph."""
    if dtype == "bfloat16":
        np_dtype = pytest.importorskip("ml_dtypes").bfloat16
        lo, hi = -133, 127
    else:
        np_dtype = np.dtype(dtype)
        lo, hi = (-149, 127) if dtype == "float32" else (-24, 15)
    r = np.random.default_rng(5)
    powers = 2.0 ** r.integers(lo, hi + 1, 300)
    mags = np.exp(r.uniform(lo * 0.69, hi * 0.69, 700))
    x = np.concatenate([powers, -powers, mags * np.sign(r.standard_normal(700)),
                        [0, -0.0, inf, -inf, nan, 1, -1]]).astype(np_dtype)
    x = np.concatenate([x, x.astype("float32")[:-1].astype(np_dtype)])
    p = [ovo.parameter([-1], np.float32) for _ in range(2)]
    out = ops.cast(ops.nextafter(ops.cast(p[0].output(0), dtype), ops.cast(p[1].output(0), dtype)),
                   "float32")
    compiled = ov.compile_model(ov.Model([out], p), "CPU", CONFIG)
    for target in (inf, -inf, 0.0, None):
        y = (np.full(x.shape, target, "float32") if target is not None
             else r.standard_normal(x.shape).astype("float32") * 10).astype(np_dtype)
        got = np.array(compiled([x.astype("float32"), y.astype("float32")])[0])
        want = np.nextafter(x, y).astype("float32")
        same = (got.view(np.uint32) == want.view(np.uint32)) | (np.isnan(got) & np.isnan(want))
        assert same.all(), (x[~same][:5], y[~same][:5], got[~same][:5], want[~same][:5])


BF16_UNARY = ["signbit", "erfinv", "erfc", "i0", "cbrt", "exp2", "sinc", "deg2rad", "rad2deg",
              "celu", "hard_silu", "hard_tanh", "sparse_plus", "sparse_sigmoid", "tanh_shrink",
              "squareplus", "sparsemax", "soft_shrink", "hard_shrink", "glu", "normalize",
              "rms_normalization"]
BF16_BINARY = ["arctan2", "hypot", "logaddexp", "logaddexp2", "heaviside", "fmax", "fmin",
               "isclose", "nextafter", "binary_crossentropy", "categorical_crossentropy"]


def test_bfloat16_inputs_keep_their_dtype():
    """bfloat16 graphs (parameters cast in the graph): each op's result has the dtype of its
    symbolic rule and the reference's values, within bfloat16 rounding."""
    bf16 = pytest.importorskip("ml_dtypes").bfloat16
    from unikeras import KerasTensor
    r = np.random.default_rng(2)
    x = r.uniform(-0.9, 0.9, (3, 4)).astype("float32")
    y = r.uniform(0.05, 0.95, (3, 4)).astype("float32")
    p = [ovo.parameter([-1, 4], np.float32) for _ in range(2)]
    a, b = (ops.cast(q.output(0), "bfloat16") for q in p)
    names = BF16_UNARY + BF16_BINARY
    outs = [getattr(ops, n)(a) if n in BF16_UNARY else getattr(ops, n)(b if "entropy" in n else a, b)
            for n in names]
    kt = KerasTensor((3, 4), "bfloat16")
    for n, o in zip(names, outs):
        rule = getattr(ops, n)(kt) if n in BF16_UNARY else getattr(ops, n)(kt, kt)
        assert ov_ops.dtype_name(o) == rule.dtype, (n, ov_ops.dtype_name(o), rule.dtype)
    casted = [o if ov_ops.dtype_name(o) == "bool" else ops.cast(o, "float32") for o in outs]
    compiled = ov.compile_model(ov.Model(casted, p), "CPU", CONFIG)
    res = compiled([x, y])
    xb, yb = x.astype(bf16), y.astype(bf16)
    for i, n in enumerate(names):
        with ops.backend_scope("numpy"):
            want = getattr(ops, n)(xb) if n in BF16_UNARY else getattr(ops, n)(
                yb if "entropy" in n else xb, yb)
        np.testing.assert_allclose(np.array(res[i]).astype("float64"),
                                   np.asarray(want).astype("float32").astype("float64"),
                                   rtol=1.6e-2, atol=1.6e-2, err_msg=n)
