"""The elementwise op family on every framework backend and on OpenVINO.

Each case is checked (1) on the NumPy reference against an independent oracle (NumPy in
float64, the `math` module, or a defining identity such as erf(erfinv(y)) == y), (2) on
every framework backend against the reference (values, dtype, shape), (3) through the
symbolic rule (shape and dtype). Differentiable ops get finite-difference gradient checks
and cross-backend agreement; a few ops run inside jax.jit and tf.function; the common
float math builds and compiles as OpenVINO graphs.
"""
import math

import numpy as np
import pytest

from unikeras import KerasTensor, ops
from unikeras.common.variables import runtime
from tests.conftest import FRAMEWORKS, to_backend
from tests.conftest import (  # noqa: E402
    reference as _reference, backend_args as _convert, as_symbolic as _symbolic)

R = np.random.default_rng(1234)


def F(*s, scale=1.0):
    return (R.standard_normal(s) * scale).astype("float32")


def U(lo, hi, *s, dtype="float32"):
    return R.uniform(lo, hi, s).astype(dtype)


def I(*s, lo=-6, hi=6):  # noqa: E743
    return R.integers(lo, hi, s).astype("int32")


def B(*s):
    return R.integers(0, 2, s).astype(bool)


def NZ(*s):
    """Non-zero int32 divisors of both signs."""
    v = R.integers(1, 5, s) * np.where(R.integers(0, 2, s) == 0, -1, 1)
    return v.astype("int32")


EDGE = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.5, -2.5, 3.0], "float32")
HALVES = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.25, -3.75], "float32")

# (op name, positional args, kwargs); NumPy arrays become backend tensors, scalars stay.
CASES = [
    # trigonometric and hyperbolic
    ("sin", (F(3, 4),), {}), ("sin", (I(5),), {}), ("sin", (U(-3, 3, 6, dtype="float16"),), {}),
    ("sin", (F(0, 3),), {}), ("sin", (np.array(0.7, "float32"),), {}),
    ("cos", (F(3, 4),), {}), ("cos", (I(2, 3),), {}),
    ("tan", (U(-1.2, 1.2, 3, 4),), {}),
    ("arcsin", (U(-0.95, 0.95, 3, 4),), {}), ("arccos", (U(-0.95, 0.95, 3, 4),), {}),
    ("arctan", (F(3, 4, scale=3),), {}), ("arctan", (I(4),), {}),
    ("sinh", (F(3, 4),), {}), ("cosh", (F(3, 4),), {}), ("arcsinh", (F(3, 4, scale=3),), {}),
    ("arccosh", (U(1.1, 4, 3, 4),), {}), ("arctanh", (U(-0.9, 0.9, 3, 4),), {}),
    ("arctan2", (F(3, 4), F(4)), {}), ("arctan2", (I(5), I(5)), {}), ("arctan2", (F(3), 1.0), {}),
    ("deg2rad", (F(3, 4, scale=90),), {}), ("deg2rad", (I(4, lo=-180, hi=180),), {}),
    ("rad2deg", (F(3, 4),), {}),
    ("hypot", (F(3, 4), F(3, 1)), {}), ("hypot", (np.array([3e30, 0.0, -4.0], "float32"), np.array([4e30, 0.0, 3.0], "float32")), {}),
    ("sinc", (np.concatenate([F(7), np.zeros(1, "float32")]),), {}),
    # exponents and logarithms
    ("exp2", (F(3, 4),), {}), ("exp2", (I(5),), {}),
    ("expm1", (np.array([1e-6, -1e-5, 0.0, 0.5, -2.0, 3.0], "float32"),), {}), ("expm1", (F(3, 4),), {}),
    ("log1p", (np.array([1e-6, -1e-5, 0.0, 0.5, 2.0, 30.0], "float32"),), {}), ("log1p", (U(-0.5, 3, 3, 4),), {}),
    ("log2", (U(0.1, 8, 3, 4),), {}), ("log2", (np.array([1, 2, 8, 1024], "int32"),), {}),
    ("log10", (U(0.1, 100, 3, 4),), {}),
    ("logaddexp", (F(3, 4, scale=3), F(4, scale=3)), {}), ("logaddexp", (np.array([-np.inf, np.inf, 800.0], "float32"), np.array([-np.inf, np.inf, 1.0], "float32")), {}),
    ("logaddexp2", (F(3, 4, scale=3), F(3, 4, scale=3)), {}),
    ("ldexp", (F(3, 4), I(4, lo=-4, hi=5)), {}), ("ldexp", (I(3), np.array([1, 2, 3], "int32")), {}),
    ("ldexp", (F(3), 2), {}),
    ("reciprocal", (U(0.5, 2, 3, 4) * np.sign(F(3, 4)),), {}), ("reciprocal", (NZ(5),), {}),
    ("rsqrt", (U(0.2, 5, 3, 4),), {}), ("rsqrt", (U(0.2, 5, 4, dtype="float16"),), {}),
    ("cbrt", (F(3, 4, scale=5),), {}), ("cbrt", (np.array([-27, 8, 0, 1], "int32"),), {}),
    # special functions
    ("erf", (F(3, 4),), {}), ("erf", (F(5, scale=3).astype("float16"),), {}), ("erf", (I(4),), {}),
    ("erfc", (F(3, 4, scale=2),), {}), ("erfinv", (U(-0.95, 0.95, 3, 4),), {}),
    ("erfinv", (np.array([-1.0, 1.0, 0.0, 0.5], "float32"),), {}),
    ("i0", (F(3, 4, scale=2),), {}),
    # rounding
    ("floor", (F(3, 4, scale=3),), {}), ("floor", (I(4),), {}), ("floor", (F(5, scale=3).astype("float16"),), {}),
    ("ceil", (F(3, 4, scale=3),), {}), ("ceil", (I(2, 2),), {}),
    ("trunc", (F(3, 4, scale=3),), {}), ("trunc", (I(5),), {}),
    ("round", (HALVES,), {}), ("round", (F(3, 4, scale=10),), {"decimals": 2}), ("round", (I(5, lo=-500, hi=500),), {"decimals": -1}),
    ("round", (I(5),), {}),
    ("fabs", (F(3, 4),), {}), ("fabs", (I(5),), {}),
    # complex parts and copies
    ("real", (F(3, 4),), {}), ("real", ((F(4) + 1j * F(4)).astype("complex64"),), {}),
    ("imag", (F(3, 4),), {}), ("imag", ((F(4) + 1j * F(4)).astype("complex64"),), {}),
    ("angle", (np.concatenate([F(5), np.array([-0.0, 0.0], "float32")]),), {}), ("angle", (I(4),), {}),
    ("angle", ((F(4) + 1j * F(4)).astype("complex64"),), {}),
    ("conj", (F(3, 4),), {}), ("conj", ((F(4) + 1j * F(4)).astype("complex64"),), {}),
    ("conjugate", (I(3, 2),), {}), ("copy", (F(3, 4),), {}), ("copy", (B(4),), {}),
    # division and remainders
    ("true_divide", (F(3, 4), U(0.5, 2, 4)), {}), ("true_divide", (I(5), NZ(5)), {}), ("true_divide", (F(3), 2), {}),
    ("divide_no_nan", (F(6), np.array([1.0, 0.0, -2.0, 0.0, 0.5, 3.0], "float32")), {}),
    ("divide_no_nan", (I(4), np.array([0, 2, 0, -3], "int32")), {}),
    ("floor_divide", (F(3, 4, scale=5), U(0.5, 2, 4) * np.sign(F(4))), {}), ("floor_divide", (I(3, 4, lo=-20, hi=20), NZ(4)), {}),
    ("floor_divide", (I(5, lo=-20, hi=20), 3), {}), ("floor_divide", (B(4), np.ones(4, bool)), {}),
    ("mod", (F(3, 4, scale=5), U(0.5, 2, 4) * np.sign(F(4))), {}), ("mod", (I(3, 4, lo=-20, hi=20), NZ(4)), {}),
    ("mod", (I(5, lo=-20, hi=20), 4), {}),
    ("fmod", (F(3, 4, scale=5), U(0.5, 2, 4) * np.sign(F(4))), {}), ("fmod", (I(3, 4, lo=-20, hi=20), NZ(4)), {}),
    ("fmax", (np.array([1.0, np.nan, np.nan, -2.0], "float32"), np.array([np.nan, 3.0, np.nan, -1.0], "float32")), {}),
    ("fmax", (I(3, 4), I(4)), {}), ("fmax", (F(4), 0.0), {}),
    ("fmin", (np.array([1.0, np.nan, np.nan, -2.0], "float32"), np.array([np.nan, 3.0, np.nan, -1.0], "float32")), {}),
    ("fmin", (I(3, 4), I(4)), {}),
    ("gcd", (I(3, 4, lo=-30, hi=30), I(4, lo=-30, hi=30)), {}), ("gcd", (I(5, lo=0, hi=50), 12), {}),
    ("lcm", (I(3, 4, lo=-12, hi=12), I(4, lo=-12, hi=12)), {}),
    ("heaviside", (np.array([-1.5, 0.0, 2.0, 0.0, -0.0], "float32"), np.array([0.5, 0.5, 0.5, 1.0, 0.25], "float32")), {}),
    ("heaviside", (I(6, lo=-2, hi=3), 0.5), {}),
    ("nextafter", (F(3, 4), F(4)), {}), ("nextafter", (np.array([0.0, 1.0, -1.0, 2.0], "float32"), np.array([1.0, 2.0, -2.0, 2.0], "float32")), {}),
    ("nextafter", (np.array([0.0, 1.0, -1.0, 2.0, 65504.0], "float16"), np.array([-1.0, 0.0, 0.0, 3.0, 0.0], "float16")), {}),
    # bitwise
    ("bitwise_and", (I(3, 4, lo=-50, hi=50), I(4, lo=-50, hi=50)), {}), ("bitwise_and", (B(4), B(4)), {}),
    ("bitwise_or", (I(3, 4, lo=-50, hi=50), I(4, lo=-50, hi=50)), {}), ("bitwise_or", (I(5, lo=0, hi=9), 6), {}),
    ("bitwise_xor", (I(3, 4, lo=-50, hi=50), I(3, 4, lo=-50, hi=50)), {}), ("bitwise_xor", (B(5), B(5)), {}),
    ("bitwise_invert", (I(3, 4, lo=-50, hi=50),), {}), ("bitwise_invert", (B(5),), {}),
    ("bitwise_invert", (np.array([0, 1, 200, 255], "uint8"),), {}),
    ("bitwise_not", (I(5, lo=-50, hi=50),), {}),
    ("left_shift", (I(3, 4, lo=-50, hi=50), I(4, lo=0, hi=5)), {}), ("left_shift", (np.array([1, 3, 5], "int8"), 2), {}),
    ("right_shift", (I(3, 4, lo=-50, hi=50), I(4, lo=0, hi=5)), {}),
    ("bitwise_left_shift", (I(5, lo=0, hi=50), 1), {}), ("bitwise_right_shift", (I(5, lo=-50, hi=50), 2), {}),
    # logical
    ("logical_and", (B(3, 4), B(4)), {}), ("logical_and", (I(5, lo=-1, hi=2), F(5)), {}),
    ("logical_or", (B(3, 4), B(3, 4)), {}), ("logical_or", (I(5, lo=-1, hi=2), 0), {}),
    ("logical_xor", (B(3, 4), B(4)), {}), ("logical_xor", (I(5, lo=-1, hi=2), I(5, lo=-1, hi=2)), {}),
    ("logical_not", (B(3, 4),), {}), ("logical_not", (I(5, lo=-1, hi=2),), {}), ("logical_not", (EDGE,), {}),
    # classification and comparison
    ("isnan", (EDGE,), {}), ("isnan", (I(4),), {}), ("isinf", (EDGE,), {}), ("isinf", (I(4),), {}),
    ("isfinite", (EDGE,), {}), ("isfinite", (I(3),), {}), ("isneginf", (EDGE,), {}), ("isposinf", (EDGE,), {}),
    ("isneginf", (I(3),), {}), ("isreal", (F(3, 4),), {}),
    ("isreal", (np.array([1 + 0j, 1 + 1j, -2j], "complex64"),), {}),
    ("signbit", (EDGE,), {}), ("signbit", (I(6),), {}), ("signbit", (B(3),), {}),
    ("isclose", (np.array([1.0, 1.0, np.nan, np.inf, -np.inf, 0.0], "float32"), np.array([1.0 + 1e-6, 1.1, np.nan, np.inf, np.inf, 1e-9], "float32")), {}),
    ("isclose", (np.array([1.0, np.nan, 100.0], "float32"), np.array([1.05, np.nan, 101.0], "float32")), {"rtol": 0.01, "atol": 0.06, "equal_nan": True}),
    ("isclose", (I(3, 4, lo=0, hi=3), I(4, lo=0, hi=3)), {}),
    ("allclose", (np.ones((2, 3), "float32"), np.ones(3, "float32") + 1e-7), {}),
    ("allclose", (np.ones((2, 3), "float32"), np.array([1.0, 1.0, 1.1], "float32")), {}),
    ("allclose", (np.array([np.nan, 1.0], "float32"), np.array([np.nan, 1.0], "float32")), {"equal_nan": True}),
    # cleaning and casting
    ("nan_to_num", (EDGE,), {}), ("nan_to_num", (EDGE,), {"nan": -1.0, "posinf": 9.0, "neginf": -9.0}),
    ("nan_to_num", (EDGE.astype("float16"),), {}), ("nan_to_num", (I(4),), {}),
    ("saturate_cast", (np.array([-1000.0, -128.5, -3.7, 0.0, 3.7, 127.9, 1e9, np.inf], "float32"),), {"dtype": "int8"}),
    ("saturate_cast", (I(6, lo=-500, hi=500),), {"dtype": "uint8"}),
    ("saturate_cast", (np.array([-1e6, 70000.0, 1.5, -np.inf], "float32"),), {"dtype": "float16"}),
    ("saturate_cast", (np.array([3e9, -3e9, 2147483520.0, 5.5], "float32"),), {"dtype": "int32"}),
    ("saturate_cast", (np.array([0, 255, 17], "uint8"),), {"dtype": "int8"}),
    ("saturate_cast", (I(4),), {"dtype": "float32"}),
]


def _f64(a):
    return np.asarray(a).astype("float64")


# Independent oracles, in float64 (or exact for integer/bool results).
ORACLES = {
    "sin": lambda x: np.sin(_f64(x)), "cos": lambda x: np.cos(_f64(x)), "tan": lambda x: np.tan(_f64(x)),
    "arcsin": lambda x: np.arcsin(_f64(x)), "arccos": lambda x: np.arccos(_f64(x)),
    "arctan": lambda x: np.arctan(_f64(x)), "sinh": lambda x: np.sinh(_f64(x)),
    "cosh": lambda x: np.cosh(_f64(x)), "arcsinh": lambda x: np.log(_f64(x) + np.sqrt(_f64(x) ** 2 + 1)),
    "arccosh": lambda x: np.log(_f64(x) + np.sqrt(_f64(x) ** 2 - 1)),
    "arctanh": lambda x: 0.5 * np.log((1 + _f64(x)) / (1 - _f64(x))),
    "arctan2": lambda a, b: np.vectorize(math.atan2)(*np.broadcast_arrays(_f64(a), _f64(b))),
    "deg2rad": lambda x: _f64(x) * math.pi / 180, "rad2deg": lambda x: _f64(x) * 180 / math.pi,
    "hypot": lambda a, b: np.vectorize(math.hypot)(*np.broadcast_arrays(_f64(a), _f64(b))),
    "sinc": lambda x: np.where(_f64(x) == 0, 1.0, np.sin(math.pi * _f64(x)) / (math.pi * np.where(_f64(x) == 0, 1, _f64(x)))),
    "exp2": lambda x: 2.0 ** _f64(x), "expm1": lambda x: np.vectorize(math.expm1)(_f64(x)),
    "log1p": lambda x: np.vectorize(math.log1p)(_f64(x)), "log2": lambda x: np.vectorize(math.log2)(_f64(x)),
    "log10": lambda x: np.vectorize(math.log10)(_f64(x)),
    "logaddexp": lambda a, b: np.logaddexp(_f64(a), _f64(b)),
    "logaddexp2": lambda a, b: np.log2(2.0 ** _f64(a) + 2.0 ** _f64(b)),
    "ldexp": lambda a, e: _f64(a) * 2.0 ** _f64(e),
    "reciprocal": lambda x: 1.0 / _f64(x), "rsqrt": lambda x: 1.0 / np.sqrt(_f64(x)),
    "cbrt": lambda x: np.sign(_f64(x)) * np.abs(_f64(x)) ** (1 / 3),
    "erf": lambda x: np.vectorize(math.erf)(_f64(x)), "erfc": lambda x: np.vectorize(math.erfc)(_f64(x)),
    "i0": lambda x: sum((_f64(x) / 2) ** (2 * k) / math.factorial(k) ** 2 for k in range(40)),
    "floor": lambda x: np.vectorize(math.floor)(_f64(x)), "ceil": lambda x: np.vectorize(math.ceil)(_f64(x)),
    "trunc": lambda x: np.vectorize(math.trunc)(_f64(x)),
    "round": lambda x, decimals=0: np.vectorize(lambda v: round(v, decimals))(_f64(x)),
    "fabs": lambda x: np.abs(_f64(x)),
    "real": lambda x: np.asarray(x).real, "imag": lambda x: np.asarray(x).imag,
    "angle": lambda x: np.vectorize(math.atan2)(np.asarray(x).imag.astype("float64"), np.asarray(x).real.astype("float64")),
    "conj": lambda x: np.conj(x), "conjugate": lambda x: np.conj(x), "copy": lambda x: x,
    "true_divide": lambda a, b: _f64(a) / _f64(b),
    "divide_no_nan": lambda a, b: np.array([p / q if q else 0.0 for p, q in zip(_f64(a), _f64(b))]),
    "floor_divide": lambda a, b: np.vectorize(lambda p, q: p // q)(*np.broadcast_arrays(np.asarray(a).astype(object), np.asarray(b).astype(object))).astype("float64"),
    "mod": lambda a, b: np.vectorize(lambda p, q: p % q)(*np.broadcast_arrays(np.asarray(a).astype(object), np.asarray(b).astype(object))).astype("float64"),
    "fmod": lambda a, b: np.vectorize(math.fmod)(*np.broadcast_arrays(_f64(a), _f64(b))),
    "fmax": lambda a, b: np.vectorize(lambda p, q: q if p != p else p if q != q else max(p, q))(*np.broadcast_arrays(_f64(a), _f64(b))),
    "fmin": lambda a, b: np.vectorize(lambda p, q: q if p != p else p if q != q else min(p, q))(*np.broadcast_arrays(_f64(a), _f64(b))),
    "gcd": lambda a, b: np.vectorize(math.gcd)(*np.broadcast_arrays(np.asarray(a).astype(object), np.asarray(b).astype(object))).astype("float64"),
    "lcm": lambda a, b: np.vectorize(lambda p, q: abs(p * q) // math.gcd(p, q) if p and q else 0)(*np.broadcast_arrays(np.asarray(a).astype(object), np.asarray(b).astype(object))).astype("float64"),
    "heaviside": lambda a, b: np.where(_f64(a) < 0, 0.0, np.where(_f64(a) > 0, 1.0, _f64(b))),
    "nextafter": lambda a, b: np.nextafter(*np.broadcast_arrays(np.asarray(a), np.asarray(b))),
    "bitwise_and": lambda a, b: np.vectorize(lambda p, q: int(p) & int(q))(*np.broadcast_arrays(a, b)),
    "bitwise_or": lambda a, b: np.vectorize(lambda p, q: int(p) | int(q))(*np.broadcast_arrays(a, b)),
    "bitwise_xor": lambda a, b: np.vectorize(lambda p, q: int(p) ^ int(q))(*np.broadcast_arrays(a, b)),
    "bitwise_not": lambda x: np.vectorize(lambda v: ~int(v))(x),
    "left_shift": lambda a, b: np.vectorize(lambda p, q: int(p) << int(q))(*np.broadcast_arrays(a, b)),
    "right_shift": lambda a, b: np.vectorize(lambda p, q: int(p) >> int(q))(*np.broadcast_arrays(a, b)),
    "bitwise_left_shift": lambda a, b: np.vectorize(lambda p, q: int(p) << int(q))(*np.broadcast_arrays(a, b)),
    "bitwise_right_shift": lambda a, b: np.vectorize(lambda p, q: int(p) >> int(q))(*np.broadcast_arrays(a, b)),
    "logical_and": lambda a, b: np.vectorize(lambda p, q: bool(p) and bool(q))(*np.broadcast_arrays(a, b)),
    "logical_or": lambda a, b: np.vectorize(lambda p, q: bool(p) or bool(q))(*np.broadcast_arrays(a, b)),
    "logical_xor": lambda a, b: np.vectorize(lambda p, q: bool(p) != bool(q))(*np.broadcast_arrays(a, b)),
    "logical_not": lambda x: np.vectorize(lambda v: not bool(v))(x),
    "isnan": lambda x: np.vectorize(lambda v: math.isnan(v))(_f64(x)),
    "isinf": lambda x: np.vectorize(lambda v: math.isinf(v))(_f64(x)),
    "isfinite": lambda x: np.vectorize(lambda v: math.isfinite(v))(_f64(x)),
    "isneginf": lambda x: _f64(x) == -math.inf, "isposinf": lambda x: _f64(x) == math.inf,
    "isreal": lambda x: np.asarray(x).imag == 0,
    "signbit": lambda x: np.vectorize(lambda v: math.copysign(1.0, v) < 0)(_f64(x)),
    "isclose": lambda a, b, rtol=1e-5, atol=1e-8, equal_nan=False: np.vectorize(
        lambda p, q: (p == q) or (equal_nan and p != p and q != q)
        or (math.isfinite(p) and math.isfinite(q) and abs(p - q) <= atol + rtol * abs(q)))(*np.broadcast_arrays(_f64(a), _f64(b))),
    "allclose": lambda a, b, rtol=1e-5, atol=1e-8, equal_nan=False: np.all(ORACLES["isclose"](a, b, rtol, atol, equal_nan)),
    "nan_to_num": lambda x, nan=0.0, posinf=None, neginf=None: np.vectorize(
        lambda v: nan if v != v else (np.finfo(np.asarray(x).dtype).max if posinf is None else posinf) if v == math.inf
        else (np.finfo(np.asarray(x).dtype).min if neginf is None else neginf) if v == -math.inf else v)(_f64(x))
    if np.asarray(x).dtype.kind == "f" else np.asarray(x),
    "saturate_cast": lambda x, dtype: np.clip(_f64(x), *(
        (np.iinfo(dtype).min, np.iinfo(dtype).max) if np.dtype(dtype).kind in "iu"
        else (np.finfo(dtype).min, np.finfo(dtype).max))).astype("float64"),
}
ORACLES["bitwise_invert"] = lambda x: (np.vectorize(lambda v: not v)(x) if np.asarray(x).dtype == bool
                                       else np.vectorize(lambda v: ~int(v) % 256)(x) if np.asarray(x).dtype == np.uint8
                                       else np.vectorize(lambda v: ~int(v))(x))
ORACLES["left_shift"] = lambda a, b: np.vectorize(  # wraps in the operand width, as fixed-size ints do
    lambda p, q, bits: ((int(p) << int(q)) + (1 << (bits - 1))) % (1 << bits) - (1 << (bits - 1)))(
    *np.broadcast_arrays(a, b), np.asarray(a).dtype.itemsize * 8)
ORACLES["bitwise_left_shift"] = ORACLES["left_shift"]

EXACT_RESULT = {"floor", "ceil", "trunc", "round", "floor_divide", "mod", "gcd", "lcm", "fmax", "fmin",
                "real", "imag", "conj", "conjugate", "copy", "heaviside", "nextafter", "fabs"}


def _case_id(case):
    name, args, kwargs = case
    parts = ["x".join(map(str, a.shape)) + a.dtype.name if isinstance(a, np.ndarray) else repr(a) for a in args]
    parts += [f"{k}={v}" for k, v in kwargs.items()]
    return name + "(" + ",".join(parts) + ")"


IDS = [_case_id(c) for c in CASES]


def _tolerance(dtype):
    if dtype.name in ("float16", "bfloat16"):
        return dict(rtol=2e-3, atol=2e-3)
    return dict(rtol=1e-5, atol=1e-6)


def test_every_op_has_a_case_and_an_oracle():
    from unikeras.common.ops import elementwise
    names = {c[0] for c in CASES}
    assert set(elementwise.__all__) - {"erfinv"} <= set(ORACLES)
    assert set(elementwise.__all__) == names
    for n in elementwise.__all__:   # public at top level, NumPy ones in ops.numpy too
        assert getattr(ops, n) is getattr(elementwise, n)


def _check_oracle(name, args, kwargs, out, float32_tol=None):
    """`out` (a NumPy array) against the independent oracle of op `name`."""
    if name == "erfinv":  # the defining identity erf(erfinv(y)) == y, and the poles
        y = _f64(args[0])
        inner = np.abs(y) < 1
        np.testing.assert_allclose(np.vectorize(math.erf)(_f64(out)[inner]), y[inner], rtol=1e-5, atol=1e-6)
        assert np.all(np.isinf(out[~inner]) & (np.sign(out[~inner]) == np.sign(y[~inner])))
        return
    with np.errstate(all="ignore"):   # NaN/inf inputs are part of the cases
        expected = np.asarray(ORACLES[name](*args, **kwargs))
    assert out.shape == expected.shape, (out.shape, expected.shape)
    if out.dtype == bool or out.dtype.kind in "iu":
        np.testing.assert_array_equal(out, expected.astype(out.dtype) if expected.dtype.kind == "f" else expected)
    elif name in EXACT_RESULT and out.dtype.kind == "f" and not kwargs.get("decimals"):
        np.testing.assert_array_equal(out.astype("float64"), expected.astype(out.dtype).astype("float64"))
    else:
        tol = _tolerance(out.dtype) if out.dtype.kind in "fc" else {}
        if out.dtype == np.float32 and float32_tol:
            tol = float32_tol
        np.testing.assert_allclose(out, expected, **tol)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_reference_matches_independent_oracle(case):
    name, args, kwargs = case
    out = _reference(name, args, kwargs)
    assert isinstance(out, np.ndarray)
    _check_oracle(name, args, kwargs, out, float32_tol=dict(rtol=3e-6, atol=1e-6))


@pytest.mark.parametrize("backend", FRAMEWORKS)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_backend_matches_reference(backend, case):
    name, args, kwargs = case
    expected = _reference(name, args, kwargs)
    out = getattr(ops, name)(*_convert(args, backend), **kwargs)
    assert ops.is_tensor(out), f"{name} on {backend} returned {type(out)}"
    got = ops.convert_to_numpy(out)
    assert got.dtype == expected.dtype, f"{name} on {backend}: {got.dtype} != reference {expected.dtype}"
    assert got.shape == expected.shape
    if got.dtype.kind in "fc":
        np.testing.assert_allclose(got, expected, **_tolerance(got.dtype))
    else:
        np.testing.assert_array_equal(got, expected)
    _check_oracle(name, args, kwargs, got)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_symbolic_rule_matches_reference(case):
    name, args, kwargs = case
    expected = _reference(name, args, kwargs)
    spec = getattr(ops, name)(*[_symbolic(a) for a in args], **kwargs)
    assert isinstance(spec, KerasTensor)
    assert spec.shape == expected.shape and spec.dtype == expected.dtype.name


def test_symbolic_rules_keep_unknown_dims_and_python_scalars():
    x = KerasTensor((None, 3), "float32")
    assert ops.sin(x).shape == (None, 3)
    assert ops.arctan2(x, KerasTensor((4, 1, 3))).shape == (4, None, 3)
    assert ops.mod(KerasTensor((None, 2), "int8"), 3).dtype == "int8"
    assert ops.floor_divide(KerasTensor((None,), "int32"), 2.5).dtype == "float32"
    assert ops.logical_and(x, KerasTensor((None, 1), "int32")).shape == (None, 3)
    assert ops.allclose(x, x).shape == ()
    assert ops.saturate_cast(x, "uint8").dtype == "uint8"
    assert ops.floor(KerasTensor((2,), "int32")).dtype == "float32"
    assert ops.round(KerasTensor((2,), "int32")).dtype == "int32"
    assert ops.real(KerasTensor((2,), "complex64")).dtype == "float32"
    assert ops.sin(KerasTensor((2,), "float16")).dtype == "float16"


@pytest.mark.parametrize("bad", [
    lambda: ops.arctan2(KerasTensor((2, 3)), KerasTensor((4, 3))),
    lambda: ops.mod(KerasTensor((2,)), KerasTensor((3,))),
    lambda: ops.logical_or(KerasTensor((5,)), KerasTensor((2,))),
    lambda: ops.isclose(KerasTensor((2, 2)), KerasTensor((3,))),
    lambda: ops.hypot(KerasTensor((1, 2)), KerasTensor((3,))),
])
def test_symbolic_shape_errors_name_the_op(bad):
    with pytest.raises(ValueError, match=r"^(arctan2|mod|logical_or|isclose|hypot):"):
        bad()


@pytest.mark.parametrize("bad", [
    lambda: ops.bitwise_and(KerasTensor((2,), "float32"), KerasTensor((2,), "float32")),
    lambda: ops.gcd(KerasTensor((2,), "bool"), KerasTensor((2,), "bool")),
    lambda: ops.bitwise_invert(KerasTensor((2,), "float32")),
    lambda: ops.ldexp(KerasTensor((2,), "float32"), KerasTensor((2,), "float32")),
    lambda: ops.left_shift(KerasTensor((2,), "int32"), 1.5),
])
def test_symbolic_dtype_errors_name_the_op(bad):
    with pytest.raises(TypeError, match=r"^(bitwise_and|gcd|bitwise_invert|ldexp|left_shift):"):
        bad()


@pytest.mark.parametrize("backend", ["numpy"] + FRAMEWORKS)
def test_integer_only_ops_reject_floats_on_every_backend(backend):
    x = to_backend(np.ones(3, "float32"), backend) if backend != "numpy" else np.ones(3, "float32")
    with ops.backend_scope(backend):
        for fn in (lambda: ops.bitwise_or(x, x), lambda: ops.lcm(x, x), lambda: ops.bitwise_not(x),
                   lambda: ops.ldexp(x, x)):
            with pytest.raises(TypeError):
                fn()


# --- gradients -----------------------------------------------------------------------------
GRAD_OPS = {"sin", "cos", "tan", "arcsin", "arccos", "arctan", "arctan2", "sinh", "cosh", "arcsinh",
            "arccosh", "arctanh", "deg2rad", "rad2deg", "hypot", "sinc", "exp2", "expm1", "log1p", "log2",
            "log10", "logaddexp", "logaddexp2", "ldexp", "reciprocal", "rsqrt", "cbrt", "erf", "erfc",
            "erfinv", "i0", "fabs", "true_divide", "divide_no_nan", "mod", "fmod", "real", "conj",
            "copy", "fmax", "fmin"}
GRAD_CASES = [c for c in CASES if c[0] in GRAD_OPS and c[1][0].dtype == np.float32 and c[1][0].size
              and np.all(np.isfinite(c[1][0])) and c[1][0].ndim and np.all(np.abs(c[1][0]) < 1e3)
              and np.all(np.isfinite(_reference(*c)))
              and not (c[0] in ("fabs", "cbrt", "sinc", "expm1", "log1p") and np.any(c[1][0] == 0))
              and not (c[0] in ("fmax", "fmin") and any(isinstance(a, np.ndarray) and np.isnan(a).any() for a in c[1]))]
GRAD_CASES += [("nan_to_num", (F(3, 4),), {}), ("fmax", (F(3, 4), F(4)), {}), ("fmin", (F(5), F(5)), {})]


def _weights(shape):  # fixed pseudo-random cotangent
    return np.random.default_rng(7).standard_normal(shape)


def _numeric_grad(name, args, kwargs):
    x = args[0].astype("float64")
    w = _weights(_reference(name, args, kwargs).shape)
    grad = np.zeros_like(x)
    eps = 1e-4
    for idx in np.ndindex(x.shape):
        vals = []
        for sign in (1, -1):
            xp = x.copy()
            xp[idx] += sign * eps
            vals.append(float(np.sum(_reference(name, [xp] + list(args[1:]), kwargs) * w)))
        grad[idx] = (vals[0] - vals[1]) / (2 * eps)
    return grad


@pytest.mark.parametrize("case", GRAD_CASES, ids=[_case_id(c) for c in GRAD_CASES])
def test_gradients_match_finite_differences_and_agree_across_backends(case):
    name, args, kwargs = case
    expected = _numeric_grad(name, list(args), kwargs)
    weights = _weights(_reference(name, args, kwargs).shape).astype("float32")
    per_backend = {}
    for backend in FRAMEWORKS:
        rest = _convert(args[1:], backend)
        w = to_backend(weights, backend)

        def loss(params, *unused):
            return ops.sum(ops.multiply(getattr(ops, name)(params[0], *rest, **kwargs), w)), None

        (_, _), grads = runtime(backend).value_and_grad(loss)([to_backend(args[0], backend)])
        per_backend[backend] = g = ops.convert_to_numpy(grads[0])
        np.testing.assert_allclose(g, expected, rtol=2e-3, atol=2e-3, err_msg=f"{name} gradient on {backend}")
    first = next(iter(per_backend.values()))
    for backend, g in per_backend.items():
        np.testing.assert_allclose(g, first, rtol=1e-4, atol=1e-5, err_msg=f"{name} grads differ on {backend}")


@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_divide_no_nan_has_finite_gradients_at_zero_divisors(backend):
    x = np.array([1.0, 2.0, 3.0], "float32")
    y = np.array([0.0, 2.0, 0.0], "float32")

    def loss(params, *unused):
        return ops.sum(ops.divide_no_nan(params[0], params[1])), None

    (_, _), (gx, gy) = runtime(backend).value_and_grad(loss)([to_backend(x, backend), to_backend(y, backend)])
    np.testing.assert_allclose(ops.convert_to_numpy(gx), [0.0, 0.5, 0.0])
    np.testing.assert_allclose(ops.convert_to_numpy(gy), [0.0, -0.5, 0.0])


# --- compiled functions --------------------------------------------------------------------
JIT_OPS = ("sin", "erfinv", "floor_divide", "mod", "fmod", "logical_and", "isnan", "nan_to_num",
           "divide_no_nan", "round", "saturate_cast", "gcd", "lcm", "nextafter", "fmax", "allclose",
           "signbit", "logaddexp", "hypot", "left_shift")
JIT_CASES = [next(c for c in CASES if c[0] == name) for name in JIT_OPS]
JIT_CASES += [("nextafter", CASES[IDS.index("nextafter(5float16,5float16)")][1], {})]


COMPILERS = [c for c in ("jax", "tensorflow", "tensorflow-xla") if c.split("-")[0] in FRAMEWORKS]


@pytest.mark.parametrize("compiler", COMPILERS)
def test_ops_inside_jax_jit_and_tf_function_give_the_eager_result(compiler):
    backend = compiler.split("-")[0]
    cases = JIT_CASES + ([("i0", (F(5),), {})] if compiler == "tensorflow-xla" else [])
    for name, args, kwargs in cases:
        tensors = [i for i, a in enumerate(args) if isinstance(a, np.ndarray)]
        conv = _convert(args, backend)

        def fn(*ts):
            full = list(conv)
            for i, t in zip(tensors, ts):
                full[i] = t
            return getattr(ops, name)(*full, **kwargs)

        eager = ops.convert_to_numpy(fn(*[conv[i] for i in tensors]))
        if compiler == "jax":
            import jax
            compiled = jax.jit(fn)
        else:
            import tensorflow as tf
            compiled = tf.function(fn, jit_compile=compiler.endswith("xla"))
        got = ops.convert_to_numpy(compiled(*[conv[i] for i in tensors]))
        assert got.dtype == eager.dtype, name
        np.testing.assert_allclose(got, eager, rtol=1e-6, atol=0, err_msg=name)


@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_mixed_numpy_and_scalar_operands_adopt_the_backend(backend):
    x = to_backend(np.array([5, -7, 9], "int32"), backend)
    out = ops.mod(np.array([3, 3, 4], "int32"), x)
    assert ops.is_tensor(out) and ops.convert_to_numpy(out).dtype == np.int32
    np.testing.assert_array_equal(ops.convert_to_numpy(out), [3, -4, 4])
    out = ops.floor_divide(x, 2.0)
    assert ops.convert_to_numpy(out).dtype == np.float32
    np.testing.assert_array_equal(ops.convert_to_numpy(out), [2.0, -4.0, 4.0])
    assert ops.convert_to_numpy(ops.true_divide(x, 2)).dtype == np.float32
    assert ops.convert_to_numpy(ops.logical_or(x, False)).dtype == bool


# --- half precision ------------------------------------------------------------------------
HALF_UNARY = ("sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "arcsinh", "arctanh",
              "deg2rad", "rad2deg", "sinc", "exp2", "expm1", "log1p", "log2", "log10", "reciprocal",
              "rsqrt", "cbrt", "erf", "erfc", "erfinv", "i0", "floor", "ceil", "trunc", "round", "fabs",
              "real", "imag", "angle", "conj", "copy", "isnan", "isinf", "isfinite", "signbit",
              "logical_not", "nan_to_num")
HALF_BINARY = ("arctan2", "hypot", "logaddexp", "logaddexp2", "heaviside", "nextafter", "true_divide",
               "divide_no_nan", "floor_divide", "mod", "fmod", "fmax", "fmin", "logical_and", "isclose")


@pytest.mark.parametrize("backend", FRAMEWORKS)
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_inputs_keep_their_dtype(backend, dtype):
    if dtype == "bfloat16":
        ml_dtypes = pytest.importorskip("ml_dtypes")
        np_dtype = ml_dtypes.bfloat16
    else:
        np_dtype = np.float16
    x = np.array([0.25, -0.5, 0.75, 0.0, 1.5], "float32").astype(np_dtype)
    y = np.array([0.5, 0.25, -0.75, 1.0, 0.0], "float32").astype(np_dtype)
    for name in HALF_UNARY + HALF_BINARY:
        args = (x,) if name in HALF_UNARY else (x, y)
        expected = _reference(name, args, {})
        got = ops.convert_to_numpy(getattr(ops, name)(*_convert(args, backend)))
        assert got.dtype == expected.dtype, f"{name}: {got.dtype} != {expected.dtype}"
        assert expected.dtype == (bool if name.startswith(("is", "signbit", "logical")) else np_dtype), name
        np.testing.assert_allclose(got.astype("float64"), expected.astype("float64"), rtol=1e-2, atol=1e-2,
                                   err_msg=name)


@pytest.mark.parametrize("backend", ["numpy"] + FRAMEWORKS)
@pytest.mark.parametrize("name", ["mod", "arctan2", "logical_and", "isclose", "bitwise_xor", "divide_no_nan"])
def test_eager_shape_errors_name_the_op(backend, name):
    dtype = "int32" if name in ("mod", "bitwise_xor") else "float32"
    a, b = np.ones((2, 3), dtype), np.ones((4,), dtype)
    if backend != "numpy":
        a, b = to_backend(a, backend), to_backend(b, backend)
    with ops.backend_scope(backend):
        with pytest.raises(ValueError, match=rf"^{name}: shapes \(2, 3\), \(4,\) cannot be broadcast"):
            getattr(ops, name)(a, b)
