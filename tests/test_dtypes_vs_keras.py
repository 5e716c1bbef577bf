"""Output dtypes of `unikeras.ops` against Keras 3 as an oracle.

Users port Keras code, so the same call should give Keras's dtype. Both libraries run the
same symbolic calls (KerasTensor inputs: no compute) over every dtype in `DTYPES` (all
pairs, plus Python scalars, for binary ops); Keras runs once per session in a subprocess
(KERAS_BACKEND=numpy; its promotion table is backend-independent) and returns a JSON of
dtypes. Every difference must be listed in `DEPARTURES` with the reason we keep it, or be
the one global departure `KERAS_64_TO_32` describes. The eager half checks, on every
framework and as OpenVINO graphs, that the ops whose dtype rules this audit changed return the
symbolic dtype and the right values.
"""
import importlib.util
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

try:   # NumPy's bfloat16 (installed with jax / tensorflow)
    import ml_dtypes
except ImportError:  # pragma: no cover - depends on the environment
    ml_dtypes = None

import unikeras
from unikeras import ops
from unikeras.common import dtypes
from unikeras.common.ops.dispatch import SYMBOLIC
from tests.conftest import FRAMEWORKS, to_backend

DTYPES = ["bool", "int8", "uint8", "int16", "int32", "int64", "float16", "bfloat16", "float32",
          "float64"]
ALL_DTYPES = ["bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
              "float16", "bfloat16", "float32", "float64"]
SCALARS = {"pyint": 2, "pyfloat": 2.0, "pybool": True}

# name -> (kind, call). kind "u": one tensor of shape (2, 3); "m": one (3, 3) matrix; "b": two
# (3, 3) operands over all dtype pairs and Python scalars. `call` is Python source of a
# function of (o, T, *operands), evaluated identically against `unikeras.ops` and
# `keras.ops`; T(shape, dtype) makes a KerasTensor.
_UNARY = """abs negative sign square sqrt exp log tanh sin cos arctan arcsinh sinh cosh exp2
expm1 log1p log2 log10 reciprocal rsqrt cbrt erf erfinv floor ceil trunc round fabs deg2rad
rad2deg i0 sinc real imag angle conj copy isnan isinf isfinite signbit logical_not
nan_to_num sum mean max min argmax argmin all any amax amin prod std var logsumexp cumsum
cumprod count_nonzero median ptp nansum nanprod nanmean nanvar nanstd nanmax nanmin
nanargmax nanargmin nancumsum nancumprod nanmedian sort argsort diff ravel flip fliplr
flipud transpose tril triu trace diagonal diag zeros_like ones_like empty_like stop_gradient
sigmoid relu softmax log_softmax""".split()
_MATRIX = "det inv cholesky eigh qr svd slogdet logdet pinv matrix_rank lu_factor".split()
_BINARY = """add subtract multiply divide true_divide divide_no_nan floor_divide mod fmod power
maximum minimum fmax fmin arctan2 hypot logaddexp logaddexp2 heaviside nextafter equal
not_equal greater less_equal logical_and logical_xor bitwise_and bitwise_or left_shift
right_shift gcd lcm matmul dot inner outer kron vdot isclose append""".split()
CASES = {n: ("u", f"lambda o, T, x: o.{n}(x)") for n in _UNARY}
CASES.update({n: ("m", f"lambda o, T, x: o.{n}(x)") for n in _MATRIX})
CASES.update({n: ("b", f"lambda o, T, a, b: o.{n}(a, b)") for n in _BINARY})
CASES.update({
    "sum_axis_keepdims": ("u", "lambda o, T, x: o.sum(x, axis=0, keepdims=True)"),
    "cumsum_dtype": ("u", "lambda o, T, x: o.cumsum(x, dtype='float32')"),
    "prod_dtype": ("u", "lambda o, T, x: o.prod(x, dtype='float32')"),
    "quantile": ("u", "lambda o, T, x: o.quantile(x, 0.5)"),
    "percentile": ("u", "lambda o, T, x: o.percentile(x, 50)"),
    "average_weights": ("u", "lambda o, T, x: o.average(x, axis=0, weights=T((2,), 'float32'))"),
    "trapezoid": ("u", "lambda o, T, x: o.trapezoid(x)"),
    "norm": ("u", "lambda o, T, x: o.norm(x)"),
    "top_k": ("u", "lambda o, T, x: o.top_k(x, 2)"),
    "clip": ("u", "lambda o, T, x: o.clip(x, 0, 1)"),
    "power_2": ("u", "lambda o, T, x: o.power(x, 2)"),
    "full_like": ("u", "lambda o, T, x: o.full_like(x, 1)"),
    "full_like_float": ("u", "lambda o, T, x: o.full_like(x, 2.5)"),
    "full_like_bool": ("u", "lambda o, T, x: o.full_like(x, True)"),
    "full_int": ("u", "lambda o, T, x: o.full((2, 3), 1)"),
    "full_bool": ("u", "lambda o, T, x: o.full((2, 3), True)"),
    "full_float": ("u", "lambda o, T, x: o.full((2, 3), 1.5)"),
    "full_tensor_fill": ("u", "lambda o, T, x: o.full((2, 3), x)"),
    "zeros": ("u", "lambda o, T, x: o.zeros((2, 3))"),
    "ones": ("u", "lambda o, T, x: o.ones((2, 3))"),
    "average_full_weights": ("u", "lambda o, T, x: o.average(x, axis=1, "
                                  "weights=T((2, 3), 'float16'))"),
    "expand_dims": ("u", "lambda o, T, x: o.expand_dims(x, 0)"),
    "reshape": ("u", "lambda o, T, x: o.reshape(x, (-1,))"),
    "tile": ("u", "lambda o, T, x: o.tile(x, 2)"),
    "repeat": ("u", "lambda o, T, x: o.repeat(x, 2)"),
    "roll": ("u", "lambda o, T, x: o.roll(x, 1)"),
    "pad": ("u", "lambda o, T, x: o.pad(x, 1)"),
    "moveaxis": ("u", "lambda o, T, x: o.moveaxis(x, 0, 1)"),
    "split": ("u", "lambda o, T, x: o.split(x, 2)"),
    "stack": ("u", "lambda o, T, x: o.stack([x, x])"),
    "take": ("u", "lambda o, T, x: o.take(x, T((2,), 'int32'), axis=0)"),
    "take_along_axis": ("u", "lambda o, T, x: o.take_along_axis(x, T((2, 3), 'int32'), axis=0)"),
    "bincount_weights": ("u", "lambda o, T, x: o.bincount(T((6,), 'int32'), weights=T((6,), x.dtype))"),
    "segment_sum": ("u", "lambda o, T, x: o.segment_sum(x, T((2,), 'int32'), num_segments=2)"),
    "segment_prod": ("u", "lambda o, T, x: o.segment_prod(x, T((2,), 'int32'), num_segments=2)"),
    "scatter_update": ("u", "lambda o, T, x: o.scatter_update(x, T((1, 2), 'int32'), T((1,), x.dtype))"),
    "histogram": ("u", "lambda o, T, x: o.histogram(x, bins=4)"),
    "concatenate": ("b", "lambda o, T, a, b: o.concatenate([a, b])"),
    "where": ("b", "lambda o, T, a, b: o.where(T((3, 3), 'bool'), a, b)"),
    "tensordot": ("b", "lambda o, T, a, b: o.tensordot(a, b, axes=1)"),
    "einsum": ("b", "lambda o, T, a, b: o.einsum('ij,jk->ik', a, b)"),
    "solve": ("b", "lambda o, T, a, b: o.solve(a, b)"),
    "cdist": ("b", "lambda o, T, a, b: o.cdist(a, b)"),
    "polar": ("b", "lambda o, T, a, b: o.polar(a, b)"),
})

# The evaluator, run as-is in the Keras subprocess and in this process: {case key: dtype(s) or
# "ERR"}; a case key is "op|dtype[,dtype]".
EVAL_SRC = r'''
def evaluate(o, KT, cases, dtypes_, scalars, all_dtypes, result_type):
    def T(shape, dtype):
        return KT(shape, dtype)

    def name(out):
        if isinstance(out, (list, tuple)):
            return [name(v) for v in out]
        d = getattr(out, "dtype", None)
        if d is None:
            return "py:" + type(out).__name__
        # tensor-free ops (full, zeros) run eagerly: "torch.float32" -> "float32"
        return str(getattr(d, "name", d)).split(".")[-1]

    def run(fn, *args):
        try:
            return name(fn(o, T, *args))
        except Exception:
            return "ERR"

    def arg(d, shape):
        return scalars[d] if d in scalars else T(shape, d)

    res = {}
    for op, (kind, src) in cases.items():
        fn = eval(src)
        if kind in ("u", "m"):
            for d in dtypes_:
                res[f"{op}|{d}"] = run(fn, T((2, 3) if kind == "u" else (3, 3), d))
        else:
            pairs = [(a, b) for a in dtypes_ for b in dtypes_]
            pairs += [(a, s) for a in dtypes_ for s in scalars] + [(s, a) for a in dtypes_ for s in scalars]
            for a, b in pairs:
                res[f"{op}|{a},{b}"] = run(fn, arg(a, (3, 3)), arg(b, (3, 3)))
    for a in all_dtypes:
        for b in all_dtypes:
            try:
                res[f"result_type|{a},{b}"] = str(result_type(a, b))
            except Exception:
                res[f"result_type|{a},{b}"] = "ERR"
    return res
'''

_KERAS_MAIN = r'''
import json, os, sys, warnings
warnings.filterwarnings("ignore")
import keras
spec = json.loads(sys.stdin.read())
ns = {}
exec(spec["eval_src"], ns)
out = ns["evaluate"](keras.ops, keras.KerasTensor, spec["cases"], spec["dtypes"],
                     spec["scalars"], spec["all_dtypes"], keras.backend.result_type)
sys.stdout.write(json.dumps(out))
'''


def _evaluate_here():
    ns = {}
    exec(EVAL_SRC, ns)
    return ns["evaluate"](ops, unikeras.KerasTensor, CASES, DTYPES, SCALARS, ALL_DTYPES,
                          dtypes.result_type)


@pytest.fixture(scope="module")
def keras_dtypes():
    if importlib.util.find_spec("keras") is None:
        pytest.skip("keras is not installed (it is the test-time oracle: pip install .[test])")
    env = dict(os.environ, KERAS_BACKEND="numpy", OMP_NUM_THREADS="1",
               TF_CPP_MIN_LOG_LEVEL="3")
    spec = {"eval_src": EVAL_SRC, "cases": CASES, "dtypes": DTYPES, "scalars": SCALARS,
            "all_dtypes": ALL_DTYPES}
    proc = subprocess.run([sys.executable, "-c", _KERAS_MAIN], input=json.dumps(spec),
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def our_dtypes():
    return _evaluate_here()


# --- the departures we keep, each with its reason ------------------------------------------
KERAS_64_TO_32 = (
    "Keras canonicalizes every 64-bit result to 32 bits (int64->int32, float64->float32, "
    "uint64->uint32, complex128->complex64) to mimic JAX with x64 disabled, even for "
    "float64+float64; its own torch backend keeps float64. unikeras keeps 64-bit dtypes: "
    "promotion never silently narrows a user's float64/int64 data.")
_SQUASH = {"int64": "int32", "uint64": "uint32", "float64": "float32", "complex128": "complex64"}

DEPARTURES = {}
_GROUPS = []   # (ops, dtype keys): each op of a group must still depart for one of its keys


def _depart(ops_, dtype_keys, reason):
    _GROUPS.append((ops_.split(), list(dtype_keys)))
    for op in ops_.split():
        for key in dtype_keys:
            DEPARTURES[(op, key)] = reason


_INTS = ("bool", "int8", "uint8", "int16", "int32", "int64")
_HALF = ("float16", "bfloat16")
_WEAK_FLOAT = [f"{h},pyfloat" for h in _HALF] + [f"pyfloat,{h}" for h in _HALF]
_WEAK_ANY = ([f"{h},{s}" for h in _HALF for s in SCALARS]
             + [f"{s},{h}" for h in _HALF for s in SCALARS])
_WEAK_INT = [f"{d},pyint" for d in ("int8", "uint8", "int16")] + [
    f"pyint,{d}" for d in ("int8", "uint8", "int16")]

_depart("arctan2", _WEAK_ANY,
        "Python scalars are weak (float16 with 2 stays float16, as Keras's own add and its "
        "torch and NumPy backends eagerly do); Keras's symbolic arctan2 says float32.")
_depart("nextafter kron", _WEAK_FLOAT,
        "Python floats are weak scalars everywhere in unikeras (float16 + 2.0 stays float16, "
        "as Keras's own add does); Keras turns the scalar into a strong float32 in these ops.")
_depart("kron gcd lcm", _WEAK_INT,
        "Python ints are weak scalars (int8 op 2 stays int8, as Keras's add does); Keras "
        "makes the scalar a strong int32 here (its torch backend keeps int8).")
_depart("cumsum cumprod nancumsum nancumprod", ("int8", "uint8", "int16"),
        "Running totals of small integers accumulate in int32/uint32 (as unikeras and Keras "
        "do for sum and prod, and as NumPy, JAX and torch cumsum do); Keras keeps int8, "
        "which wraps around after a few steps.")
_depart("dot inner tensordot vdot einsum matmul",
        [f"{a},{b}" for a in ("bool", "int8", "uint8") for b in ("bool", "int8", "uint8")],
        "Contractions of bool/int8/uint8 accumulate in int32 (Keras's own matmul and einsum do "
        "so for int8 x int8); Keras returns bool or 8-bit results for the other small "
        "combinations, which overflow after a handful of terms.")
_depart("heaviside hypot", ("bool,bool",),
        "bool operands are treated like integers and give floatx, as every other integer "
        "input of these float-valued functions does; Keras returns bool for this one case.")
_depart("floor_divide", ("bool,bool", "bool,pybool", "pybool,bool"),
        "floor_divide of bools computes in int8, as NumPy and Keras's own NumPy backend "
        "eagerly do (Keras's symbolic rule says bool).")
_depart("left_shift right_shift", ("bool,bool", "bool,pybool", "bool,pyint"),
        "Shifts of bools compute in int8 (int32 with a Python int, the weak-int rule), as "
        "Keras's NumPy backend does eagerly; Keras's symbolic rule says bool.")
_depart("erf rsqrt erfinv", _INTS,
        "Integer inputs of float functions give floatx; Keras's symbolic rule keeps the "
        "integer dtype while its torch backend returns float32.")
_depart("cbrt deg2rad rad2deg i0", ("int64",),
        "Integer inputs give floatx uniformly (Keras itself gives float32 for sqrt/sin/exp of "
        "int64 but float64 for these four).")
_depart("logsumexp reciprocal", _HALF,
        "Half-precision inputs keep their dtype (Keras's torch backend does too); Keras's "
        "symbolic rule upcasts to float32.")
_depart("det inv cholesky logdet pinv", _INTS,
        "Linear algebra of integer/bool matrices computes in floatx; Keras's symbolic rule "
        "keeps the integer dtype although its backends return floats.")
_depart("eigh qr svd slogdet", _INTS,
        "Linear algebra of integer/bool matrices computes in floatx (all outputs).")
_depart("lu_factor", DTYPES,
        "Pivots are int32 indices (Keras's backends return int32 too; its symbolic rule "
        "gives them the matrix dtype).")
_depart("histogram", DTYPES,
        "Bin counts are int32 and edges floating (Keras's backends return integer counts; "
        "its symbolic rule gives both outputs the input dtype).")
_depart("solve", [f"{a},{b}" for a in DTYPES for b in DTYPES],
        "solve promotes both operands and computes in floating point (bf16 x int8 -> bf16, "
        "ints -> floatx); Keras's symbolic rule returns the second operand's dtype.")
_depart("relu", _INTS,
        "unikeras/common/ops/nn.py gives floatx for integer relu; Keras keeps the integer dtype "
        "(symbolically and eagerly). Reported to the owner of nn.py.")
_depart("sigmoid softmax log_softmax", _INTS,
        "Integer inputs give floatx (Keras's backends compute sigmoid in float too); Keras's "
        "symbolic rule keeps the integer dtype.")
_depart("polar", [f"{a},{b}" for a in DTYPES for b in DTYPES]
        + [f"{a},{s}" for a in DTYPES for s in SCALARS]
        + [f"{s},{a}" for a in DTYPES for s in SCALARS],
        "polar returns complex numbers (complex64, complex128 from float64), as Keras's "
        "backends eagerly do; Keras's symbolic rule says float32.")


def _key_parts(key):
    op, args = key.split("|")
    return op, args


def _is_64bit_squash(k, u):
    """True when Keras's dtype `k` is ours `u` narrowed to 32 bits (see KERAS_64_TO_32)."""
    if isinstance(u, list) and isinstance(k, list) and len(u) == len(k):
        return all(_is_64bit_squash(a, b) for a, b in zip(k, u))
    return k == _SQUASH.get(u, u)


def test_result_type_matches_keras_except_64_bit(keras_dtypes, our_dtypes):
    bad = []
    for a in ALL_DTYPES:
        for b in ALL_DTYPES:
            key = f"result_type|{a},{b}"
            k, u = keras_dtypes[key], our_dtypes[key]
            if k != u and not _is_64bit_squash(k, u):
                bad.append(f"{a},{b}: keras={k} unikeras={u}")
    assert not bad, "\n".join(bad)
    # 64-bit results are kept (Keras squashes them), the one stated departure of the table.
    assert dtypes.result_type("float64", "float32") == "float64"
    assert dtypes.result_type("int64", "int8") == "int64"


def test_op_dtypes_match_keras_or_are_listed_departures(keras_dtypes, our_dtypes):
    assert set(keras_dtypes) == set(our_dtypes)
    bad, compared = [], 0
    for key, k in sorted(keras_dtypes.items()):
        u = our_dtypes[key]
        if k == "ERR" or u == "ERR":
            continue   # invalid for one library (bitwise ops on floats, ...): not a dtype
        compared += 1
        if k == u or _is_64bit_squash(k, u):
            continue
        op, args = _key_parts(key)
        if (op, args) in DEPARTURES:
            continue
        bad.append(f"{op}({args}): keras={k} unikeras={u}")
    assert compared > 5000
    assert not bad, f"{len(bad)} undocumented dtype departures from Keras:\n" + "\n".join(bad[:80])


def test_listed_departures_are_real(keras_dtypes, our_dtypes):
    """Each op of each DEPARTURES group still departs somewhere (a stale group would hide
    future regressions)."""
    stale = []
    for ops_, keys in _GROUPS:
        for op in ops_:
            if not any(f"{op}|{a}" in keras_dtypes
                       and "ERR" not in (keras_dtypes[f"{op}|{a}"], our_dtypes[f"{op}|{a}"])
                       and not _is_64bit_squash(keras_dtypes[f"{op}|{a}"], our_dtypes[f"{op}|{a}"])
                       for a in keys):
                stale.append(op)
    assert not stale, f"these listed departures now agree with Keras: {stale}"


# --- eager results follow the symbolic rule for the ops this audit changed -----------------
def _sym_dtype(fn, *arrays):
    with ops.backend_scope(SYMBOLIC):   # tensor-free ops (full, zeros) run their rule too
        out = fn(*[unikeras.KerasTensor(a.shape, dtypes.standardize_dtype(a.dtype))
                   if isinstance(a, np.ndarray) else a for a in arrays])
    return [o.dtype for o in out] if isinstance(out, (tuple, list)) else out.dtype


def _eager_dtype(fn, backend, *arrays):
    with ops.backend_scope(backend):   # NumPy arrays alone run on the scope's backend
        out = fn(*[to_backend(a, backend) if isinstance(a, np.ndarray) else a for a in arrays])
    outs = out if isinstance(out, (tuple, list)) else [out]
    names = [dtypes.standardize_dtype(o.dtype) for o in outs]
    return names if isinstance(out, (tuple, list)) else names[0], outs


R = np.random.default_rng(7)
_B = lambda *s: R.integers(0, 2, s).astype(bool)  # noqa: E731
_U8 = lambda *s: R.integers(0, 5, s).astype("uint8")  # noqa: E731
_I8 = lambda *s: R.integers(-3, 4, s).astype("int8")  # noqa: E731
_I16 = lambda *s: R.integers(-3, 4, s).astype("int16")  # noqa: E731
_NZ = lambda d, *s: R.integers(1, 4, s).astype(d)  # noqa: E731

_BOOL_ROWS = np.array([[True, False], [False, False], [True, True]])
_SEG_IDS = np.array([0, 0, 2], "int32")
_F2 = np.zeros(2, bool)   # an empty segment: False for sum/max, True for min/prod

# (id, function, arrays, expected symbolic dtype(s), NumPy formula for the values)
EAGER_CASES = [
    ("mod-bool", ops.mod, (_B(3, 4), np.ones((3, 4), bool)), "int32",
     lambda a, b: np.mod(a.astype("int32"), b.astype("int32"))),
    ("fmod-bool", ops.fmod, (_B(3, 4), np.ones((1, 4), bool)), "int32",
     lambda a, b: np.fmod(a.astype("int32"), b.astype("int32"))),
    ("mod-bool-pybool", lambda a: ops.mod(a, True), (_B(5),), "int32",
     lambda a: np.mod(a.astype("int32"), 1)),
    ("mod-int8", ops.mod, (_I8(3, 4), _NZ("int8", 3, 4)), "int8", np.mod),
    ("nansum-int8", lambda x: ops.nansum(x, axis=1), (_I8(3, 4),), "int32",
     lambda x: x.astype("int32").sum(1)),
    ("nansum-int16", ops.nansum, (_I16(3, 4),), "int32", lambda x: x.astype("int32").sum()),
    ("nansum-uint8", lambda x: ops.nansum(x, axis=0, keepdims=True), (_U8(3, 4),), "uint32",
     lambda x: x.astype("uint32").sum(0, keepdims=True)),
    ("nansum-bool", ops.nansum, (_B(3, 4),), "int32", lambda x: x.astype("int32").sum()),
    ("nansum-float16", ops.nansum, (np.array([1.0, np.nan, 2.0], "float16"),), "float16",
     lambda x: np.float16(3.0)),
    ("bincount-int8-weights", lambda x, w: ops.bincount(x, weights=w),
     (np.array([0, 1, 1, 3], "int32"), _I8(4)), "int32",
     lambda x, w: np.bincount(x, w.astype("float64")).astype("int32")),
    ("bincount-uint8-weights", lambda x, w: ops.bincount(x, weights=w),
     (np.array([0, 2, 2], "int32"), _U8(3)), "uint32",
     lambda x, w: np.bincount(x, w.astype("float64")).astype("uint32")),
    ("prod-uint8", ops.prod, (_U8(2, 3),), "uint32", lambda x: np.prod(x, dtype="uint32")),
    ("prod-uint8-axis", lambda x: ops.prod(x, axis=1), (_U8(2, 3),), "uint32",
     lambda x: np.prod(x, axis=1, dtype="uint32")),
    ("nanprod-uint8", ops.nanprod, (_U8(2, 3),), "uint32", lambda x: np.prod(x, dtype="uint32")),
    ("cumsum-uint8", lambda x: ops.cumsum(x, axis=1), (_U8(2, 3),), "uint32",
     lambda x: np.cumsum(x, axis=1, dtype="uint32")),
    ("cumprod-uint8", ops.cumprod, (_U8(2, 3),), "uint32",
     lambda x: np.cumprod(x, dtype="uint32")),
    ("nancumsum-uint8", ops.nancumsum, (_U8(2, 3),), "uint32",
     lambda x: np.cumsum(x, dtype="uint32")),
    ("cumsum-int8", ops.cumsum, (_I8(2, 3),), "int32", lambda x: np.cumsum(x, dtype="int32")),
    ("segment_prod-int8", lambda x, i: ops.segment_prod(x, i, num_segments=2),
     (_I8(4, 2), np.array([0, 0, 1, 1], "int32")), "int8",
     lambda x, i: np.stack([x[:2].prod(0), x[2:].prod(0)]).astype("int8")),
    ("segment_prod-uint8", lambda x, i: ops.segment_prod(x, i, num_segments=2),
     (_U8(4), np.array([0, 1, 1, 1], "int32")), "uint8",
     lambda x, i: np.array([x[0], x[1:].prod()], "uint8")),
    # bools where a backend has no bool kernel (computed as 0/1, converted back)
    ("segment_sum-bool", lambda d, i: ops.segment_sum(d, i, num_segments=3),
     (_BOOL_ROWS, _SEG_IDS), "bool", lambda d, i: np.stack([d[:2].any(0), _F2, d[2]])),
    ("segment_max-bool", lambda d, i: ops.segment_max(d, i, num_segments=3),
     (_BOOL_ROWS, _SEG_IDS), "bool", lambda d, i: np.stack([d[:2].any(0), _F2, d[2]])),
    ("segment_min-bool", lambda d, i: ops.segment_min(d, i, num_segments=3),
     (_BOOL_ROWS, _SEG_IDS), "bool", lambda d, i: np.stack([d[:2].all(0), ~_F2, d[2]])),
    ("segment_prod-bool", lambda d, i: ops.segment_prod(d, i, num_segments=3),
     (_BOOL_ROWS, _SEG_IDS), "bool", lambda d, i: np.stack([d[:2].all(0), ~_F2, d[2]])),
    ("top_k-bool", lambda x: ops.top_k(x, 2), (_BOOL_ROWS,), ["bool", "int32"],
     lambda x: (-np.sort(-x.astype("int8"), axis=-1))[:, :2].astype(bool)),
    ("isin-bool", ops.isin, (_BOOL_ROWS, np.array([True])), "bool", lambda a, b: a),
    ("in_top_k-bool", lambda t, p: ops.in_top_k(t, p, 1), (np.array([0, 1, 0], "int32"),
     _BOOL_ROWS), "bool", lambda t, p: p[np.arange(3), t] >= p.max(1)),
    ("scatter-bool", lambda i, v: ops.scatter(i, v, (3,)),
     (np.array([[0], [0], [2]], "int32"), np.array([True, False, False])), "bool",
     lambda i, v: np.array([True, False, False])),
    ("vdot-int16", ops.vdot, (_I16(6), _I16(6)), "int16",
     lambda a, b: np.dot(a.astype("int64"), b.astype("int64")).astype("int16")),
    ("vdot-bool", ops.vdot, (_B(6), _B(6)), "int32",
     lambda a, b: np.int32(np.dot(a.astype("int32"), b.astype("int32")))),
    ("vdot-int8-uint8", ops.vdot, (_I8(6), _U8(6)), "int16",
     lambda a, b: np.dot(a.astype("int64"), b.astype("int64")).astype("int16")),
]


def _i0_series(x):
    """I0(x) = sum_k ((x/2)^k / k!)^2 in float64 (inf at +-inf, NaN at NaN)."""
    def one(v):
        if math.isnan(v) or math.isinf(v):
            return abs(v)
        term, total, k = 1.0, 1.0, 0
        while term > 1e-17 * total:
            k += 1
            term *= (v / 2) ** 2 / k ** 2
            total += term
        return total
    return np.array([one(float(v)) for v in np.ravel(x)]).reshape(np.shape(x))


_BF16 = np.dtype(ml_dtypes.bfloat16) if ml_dtypes is not None else None
_BF16_MAX = 3.3895313892515355e38   # (2 - 2**-7) * 2**127
_SPECIAL = np.array([np.nan, np.inf, -np.inf, 1.5, -2.0], "float32")
_B34, _B34b = _B(3, 4), _B(3, 4)
_BIG_U8 = np.full((3, 40), 200, "uint8")    # sums past 255: they must not wrap around
_BIG_I8 = np.full((2, 40), -100, "int8")   # past -128

# The follow-ups of the audit: the rules changed to Keras's dtype; every backend follows.
EAGER_CASES += [
    # sum widens small integers as Keras (and nansum/prod) do
    ("sum-bool", ops.sum, (_B34,), "int32", lambda x: np.count_nonzero(x)),
    ("sum-int8", lambda x: ops.sum(x, axis=1), (_BIG_I8,), "int32", lambda x: np.full(2, -4000)),
    ("sum-int16", ops.sum, (_I16(3, 4),), "int32", lambda x: x.astype("int64").sum()),
    ("sum-uint8", lambda x: ops.sum(x, axis=1, keepdims=True), (_BIG_U8,), "uint32",
     lambda x: np.full((3, 1), 8000)),
    ("sum-uint16", lambda x: ops.sum(x, axis=0), (np.full((3, 2), 40000, "uint16"),), "uint32",
     lambda x: np.full(2, 120000)),
    ("sum-int32", ops.sum, (_NZ("int32", 3, 4),), "int32", lambda x: x.astype("int64").sum()),
    ("sum-uint8-empty-axes", lambda x: ops.sum(x, axis=()), (_U8(2, 3),), "uint32", lambda x: x),
    ("mean-int8", ops.mean, (_BIG_I8,), "float32", lambda x: np.float32(-100)),
    # square(bool) is int32 (Keras), the 0/1 values unchanged
    ("square-bool", ops.square, (_B34,), "int32", lambda x: x.astype("int64")),
    # full and friends: no dtype means floatx whatever the fill value (Keras)
    ("full-int", lambda: ops.full((2, 3), 1), (), "float32", lambda: np.ones((2, 3))),
    ("full-bool", lambda: ops.full((2,), True), (), "float32", lambda: np.ones(2)),
    ("full-float", lambda: ops.full(3, 2.5), (), "float32", lambda: np.full(3, 2.5)),
    ("full-int8-tensor-fill", lambda v: ops.full((2, 2), v), (np.array(-3, "int8"),), "float32",
     lambda v: np.full((2, 2), -3.0)),
    ("full-dtype", lambda: ops.full((2,), 7, dtype="int8"), (), "int8", lambda: np.array([7, 7])),
    ("full_like-int8-float-fill", lambda x: ops.full_like(x, 2.5), (_I8(2, 3),), "int8",
     lambda x: np.full((2, 3), 2)),
    ("full_like-bool-int-fill", lambda x: ops.full_like(x, 1), (_B(4),), "bool",
     lambda x: np.ones(4, bool)),
    ("zeros", lambda: ops.zeros((2, 1)), (), "float32", lambda: np.zeros((2, 1))),
    ("ones", lambda: ops.ones(2), (), "float32", lambda: np.ones(2)),
    # power of bools stays bool (Keras's rule): 0 ** 1 is the only 0
    ("power-bool", ops.power, (_B34, _B34b), "bool", lambda a, b: a | ~b),
    ("power-bool-pybool", lambda a: ops.power(a, True), (_B34,), "bool", lambda a: a),
    ("power-pybool-bool", lambda b: ops.power(False, b), (_B34,), "bool", lambda b: ~b),
    ("power-bool-pyint", lambda a: ops.power(a, 2), (_B34,), "int32", lambda a: a.astype(int)),
    # clip of a Python scalar between tensor bounds: the scalar's convert_to_tensor dtype
    ("clip-pyfloat", lambda lo, hi: ops.clip(2.0, lo, hi),
     (np.array([0.0, 2.5, -1.0], "float16"), np.array([1.0, 3.0, 4.0], "float16")), "float32",
     lambda lo, hi: np.array([1.0, 2.5, 2.0])),
    ("clip-pyint", lambda lo, hi: ops.clip(5, lo, hi),
     (np.array([0, 6, 1], "int8"), np.array([3, 9, 8], "int8")), "int32",
     lambda lo, hi: np.array([3, 6, 5])),
    ("clip-pybool", lambda lo, hi: ops.clip(True, lo, hi),
     (np.array([0, 2], "int32"), np.array([3, 3], "int32")), "int32",
     lambda lo, hi: np.array([1, 2])),
    # dense's dtype is matmul's (bool/int8/uint8 accumulate in int32), then the bias's add
    ("dense-int8", ops.dense, (_BIG_I8[:, :8], np.full((8, 3), -50, "int8")), "int32",
     lambda x, k: np.full((2, 3), 40000)),
    ("dense-bool", ops.dense, (_B34, _B(4, 2)),
     "int32", lambda x, k: x.astype("int64") @ k.astype("int64")),
    ("dense-uint8-bias-int16", ops.dense, (_U8(3, 4), _U8(4, 2), _I16(2)), "int32",
     lambda x, k, b: x.astype("int64") @ k.astype("int64") + b),
    ("dense-int8-bias-float32", ops.dense,
     (_I8(3, 4), _I8(4, 2), np.array([0.5, -1.5], "float32")), "float32",
     lambda x, k, b: x.astype("float64") @ k.astype("float64") + b),
    # polar with a Python float reads it as floatx
    ("polar-pyfloat-abs", lambda a: ops.polar(2.0, a), (np.array([0.0, 0.5, -1.0], "float32"),),
     "complex64", lambda a: 2.0 * np.exp(1j * a.astype("float64"))),
    ("polar-pyfloat-angle", lambda r: ops.polar(r, 0.25), (np.array([1.0, 2.0], "float16"),),
     "complex64", lambda r: r.astype("float64") * np.exp(0.25j)),
    ("polar-pyint-pyfloat", lambda: ops.polar(3, 0.5), (), "complex64",
     lambda: np.asarray(3 * np.exp(0.5j))),
    # the true values at the special points
    ("i0-special", ops.i0, (_SPECIAL,), "float32", _i0_series),
    ("i0-float16-inf", ops.i0, (_SPECIAL.astype("float16"),), "float16",
     lambda x: _i0_series(x).astype(x.dtype)),
    ("nan_to_num-float32", ops.nan_to_num, (_SPECIAL,), "float32",
     lambda x: np.array([0.0, 3.4028234663852886e38, -3.4028234663852886e38, 1.5, -2.0])),
]
if _BF16 is not None:
    EAGER_CASES += [
        ("nan_to_num-bfloat16", ops.nan_to_num, (_SPECIAL.astype(_BF16),), "bfloat16",
         lambda x: np.array([0.0, _BF16_MAX, -_BF16_MAX, 1.5, -2.0])),
        ("nan_to_num-bfloat16-values",
         lambda x: ops.nan_to_num(x, nan=7.0, posinf=1.0, neginf=-1.0),
         (_SPECIAL.astype(_BF16),), "bfloat16", lambda x: np.array([7.0, 1.0, -1.0, 1.5, -2.0])),
        ("i0-bfloat16-inf", ops.i0, (_SPECIAL.astype(_BF16),), "bfloat16",
         lambda x: _i0_series(x).astype(x.dtype)),
    ]


@pytest.mark.parametrize("backend", ["numpy"] + FRAMEWORKS)
@pytest.mark.parametrize("case", EAGER_CASES, ids=[c[0] for c in EAGER_CASES])
def test_eager_dtype_equals_symbolic_and_values_match_numpy(case, backend):
    _, fn, arrays, expected, formula = case
    assert _sym_dtype(fn, *arrays) == expected
    got_dtype, outs = _eager_dtype(fn, backend, *arrays)
    assert got_dtype == expected, f"{backend}: eager {got_dtype}, symbolic {expected}"
    _assert_values(ops.convert_to_numpy(outs[0]), formula(*arrays))


def _assert_values(got, want, rtol=1e-6):
    want = np.asarray(want)
    assert got.shape == want.shape
    if got.dtype.kind == "c" or want.dtype.kind == "c":
        np.testing.assert_allclose(got.astype("complex128"), want.astype("complex128"),
                                   rtol=1e-6, atol=1e-6)
    elif got.dtype.kind in "iub":
        np.testing.assert_array_equal(got.astype("float64"), want.astype("float64"))
    else:   # floats (bfloat16 too): to rounding; NaN and inf compare equal to themselves
        np.testing.assert_allclose(got.astype("float64"), want.astype("float64"),
                                   rtol=rtol, atol=0)


def test_dense_rule_follows_matmul_then_add():
    """dense (the fused op of the Dense layer) gives the dtype `add(matmul(x, k), b)` gives."""
    T = unikeras.KerasTensor
    for a in DTYPES:
        for b in DTYPES:
            x, k = T((None, 3), a), T((3, 4), b)
            assert ops.dense(x, k).dtype == ops.matmul(x, k).dtype, (a, b)
            bias = T((4,), a)
            assert ops.dense(x, k, bias).dtype == ops.add(ops.matmul(x, k), bias).dtype, (a, b)
    assert ops.dense(T((2, 3), "int8"), T((3, 4), "int8"), 0.5).dtype == "float32"
    with pytest.raises(ValueError, match="^dense:"):
        ops.dense(T((2, 3)), T((3, 4)), T((5,)))


@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_convert_to_tensor_of_a_python_list(backend):
    """Regression: torch's table shadowed the builtin `any` with the `any` op."""
    with ops.backend_scope(backend):
        ints = ops.convert_to_tensor([1, 2, 3])
        floats = ops.convert_to_tensor([1.0, 2.0])
    assert dtypes.standardize_dtype(ints.dtype) == "int32"
    assert dtypes.standardize_dtype(floats.dtype) == "float32"
    np.testing.assert_array_equal(ops.convert_to_numpy(ints), [1, 2, 3])


# --- the same cases as OpenVINO graphs ------------------------------------------------------
# Cases the OpenVINO backend does not build, with the reason (each is refused with an error,
# checked below, rather than built wrong).
OV_UNSUPPORTED = {
    **{f"segment_{r}-bool": "OpenVINO's segment reductions take numbers only"
       for r in ("sum", "max", "min", "prod")},
    **{c: "OpenVINO has no complex element type: polar is not offered"
       for c in ("polar-pyfloat-abs", "polar-pyfloat-angle", "polar-pyint-pyfloat")},
}


def _ov_graph_run(fn, arrays):
    """Build `fn` on OpenVINO, each NumPy array a parameter (bfloat16 ones, which NumPy
    cannot feed, a float32 parameter cast in the graph), and run it on CPU: the dtype
    names of the graph outputs and the first output's values."""
    ov = pytest.importorskip("openvino")
    ovo = pytest.importorskip("openvino.opset16")
    from unikeras.adapters.openvino import ops as ov_ops
    params, feeds, args = [], [], []
    for a in arrays:
        bf16 = a.dtype == _BF16
        feed = a.astype("float32") if bf16 else a
        p = ovo.parameter(list(a.shape), feed.dtype, name=f"arg{len(params)}")
        params.append(p)
        feeds.append(feed)
        args.append(ov_ops.cast(p.output(0), "bfloat16") if bf16 else p.output(0))
    with ops.backend_scope("openvino"):   # tensor-free ops (full, zeros) build constants
        out = fn(*args)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    names = [ov_ops.dtype_name(o) for o in outs]
    first = outs[0]
    if names[0] == "bfloat16":   # read back through float32 (exact)
        first = ovo.convert(first, "f32").output(0)
    compiled = ov.compile_model(ov.Model([first], params, "case"), "CPU",
                                {"INFERENCE_PRECISION_HINT": "f32"})
    got = np.array(compiled(feeds)[0])
    return (names if isinstance(out, (tuple, list)) else names[0]), got


@pytest.mark.parametrize("case", EAGER_CASES, ids=[c[0] for c in EAGER_CASES])
def test_openvino_graph_dtype_equals_symbolic_and_values_match_numpy(case):
    name, fn, arrays, expected, formula = case
    if name in OV_UNSUPPORTED:
        with pytest.raises((TypeError, ValueError, NotImplementedError)):
            _ov_graph_run(fn, arrays)
        return
    got_dtype, got = _ov_graph_run(fn, arrays)
    assert got_dtype == expected, f"openvino: graph {got_dtype}, symbolic {expected}"
    # The CPU plugin may run a bfloat16 graph in float32 (dropping the rounding Converts):
    # such values agree to bfloat16's precision.
    _assert_values(got, formula(*arrays), rtol=2.0 ** -8 if got_dtype == "bfloat16" else 1e-6)
