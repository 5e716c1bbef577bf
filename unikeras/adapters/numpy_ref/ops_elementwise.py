"""NumPy reference implementations of the elementwise op family.

Dtypes follow the symbolic rules of `unikeras.common.ops.elementwise`: float-valued ops
compute in the input's float dtype (integers and bools in floatx), binary ops promote with
`dtypes.result_type` (Python scalars weak) through the base module's `_promote`.
"""
import builtins
import math

import numpy as np

from unikeras import config
from unikeras.adapters.numpy_ref.ops import _promote, convert_to_tensor
from unikeras.common import dtypes
from unikeras.common.ops.elementwise import name_broadcast_errors

_COMPLEX = ("complex64", "complex128")


def _arr(x):
    """`x` as an array, read as `convert_to_tensor` reads it (Python floats: floatx)."""
    return x if isinstance(x, np.ndarray) else convert_to_tensor(x)


def _f(x):
    """`x` as an inexact array: floats and complex kept, integers and bools as floatx."""
    x = _arr(x)
    if dtypes.is_float(x.dtype) or x.dtype.name in _COMPLEX:
        return x
    return x.astype(config.floatx())


def _keep(fn, x):
    """`fn(x)` cast back to x's dtype (NumPy computes some float16 ops wider). NaN and inf
    results (log(0), 1/0, ...) are the values, not warnings."""
    with np.errstate(all="ignore"):
        return np.asarray(fn(x)).astype(x.dtype, copy=False)


def _unary_float(fn):
    def apply(x):
        return _keep(fn, _f(x))
    apply.__name__ = fn.__name__
    return apply


sin = _unary_float(np.sin)
cos = _unary_float(np.cos)
tan = _unary_float(np.tan)
arcsin = _unary_float(np.arcsin)
arccos = _unary_float(np.arccos)
arctan = _unary_float(np.arctan)
sinh = _unary_float(np.sinh)
cosh = _unary_float(np.cosh)
arcsinh = _unary_float(np.arcsinh)
arccosh = _unary_float(np.arccosh)
arctanh = _unary_float(np.arctanh)
deg2rad = _unary_float(np.deg2rad)
rad2deg = _unary_float(np.rad2deg)
sinc = _unary_float(np.sinc)
exp2 = _unary_float(np.exp2)
expm1 = _unary_float(np.expm1)
log1p = _unary_float(np.log1p)
log2 = _unary_float(np.log2)
log10 = _unary_float(np.log10)
cbrt = _unary_float(np.cbrt)
fabs = _unary_float(np.fabs)
floor = _unary_float(np.floor)
ceil = _unary_float(np.ceil)


def _i0(x):
    # np.i0 gives NaN at +-inf; I0 grows without bound there (I0(+-inf) = inf).
    inf = np.isinf(x)
    return np.where(inf, np.inf, np.i0(np.where(inf, 0.0, x.astype("float64"))))


i0 = _unary_float(_i0)


def reciprocal(x):
    x = _f(x)
    return _keep(lambda v: np.reciprocal(v), x)


def rsqrt(x):
    x = _f(x)
    return _keep(lambda v: 1.0 / np.sqrt(v.astype("float64")), x)


def _special(name, fallback):
    def compute(v):
        try:
            from scipy import special
            return getattr(special, name)(v.astype("float64"))
        except ImportError:  # pragma: no cover - scipy is optional
            return np.vectorize(fallback, otypes=["float64"])(v.astype("float64"))
    return compute


def _erfinv_scalar(y):
    if not -1.0 <= y <= 1.0:
        return math.nan
    if abs(y) == 1.0:
        return math.copysign(math.inf, y)
    x = 0.0
    for _ in range(60):  # Newton on erf(x) - y
        x -= (math.erf(x) - y) / (2.0 / math.sqrt(math.pi) * math.exp(-x * x))
    return x


erf = _unary_float(_special("erf", math.erf))
erfc = _unary_float(_special("erfc", math.erfc))
erfinv = _unary_float(_special("erfinv", _erfinv_scalar))


def trunc(x):
    return np.trunc(_arr(x))


def round(x, decimals=0):
    x = _arr(x)
    if x.dtype == bool:
        return x.copy()
    if dtypes.is_int(x.dtype):
        if decimals >= 0:
            return x.copy()
        return np.round(x.astype("float64"), decimals).astype(x.dtype)
    return _keep(lambda v: np.round(v.astype("float64"), decimals), x)


def real(x):
    return np.real(_arr(x)).copy()


def imag(x):
    x = _arr(x)
    return np.imag(x).copy() if x.dtype.name in _COMPLEX else np.zeros_like(x)


def angle(x):
    x = _f(x)
    out = np.angle(x)
    return out.astype(x.real.dtype, copy=False)


def conj(x):
    x = _arr(x)
    return np.conj(x) if x.dtype.name in _COMPLEX else x.copy()


conjugate = conj


def copy(x):
    return np.array(x, copy=True)


# --- binary --------------------------------------------------------------------------------
def _float_pair(x1, x2):
    a, b = _promote(x1, x2)
    if not dtypes.is_float(a.dtype):
        a, b = a.astype(config.floatx()), b.astype(config.floatx())
    return a, b


def _binary_float(fn):
    def apply(x1, x2):
        a, b = _float_pair(x1, x2)
        with np.errstate(all="ignore"):
            return np.asarray(fn(a, b)).astype(a.dtype, copy=False)
    apply.__name__ = fn.__name__
    return apply


arctan2 = _binary_float(np.arctan2)
hypot = _binary_float(np.hypot)
logaddexp = _binary_float(np.logaddexp)
logaddexp2 = _binary_float(np.logaddexp2)
heaviside = _binary_float(np.heaviside)
nextafter = _binary_float(np.nextafter)
true_divide = _binary_float(np.true_divide)


def divide_no_nan(x1, x2):
    a, b = _float_pair(x1, x2)
    zero = b == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.true_divide(a, np.where(zero, np.ones((), b.dtype), b))
    return np.where(zero, np.zeros((), a.dtype), q).astype(a.dtype, copy=False)


def ldexp(x1, x2):
    a = _f(x1)
    e = np.asarray(x2)
    if not (dtypes.is_int(e.dtype) or e.dtype == bool):
        raise TypeError(f"ldexp: the exponent x2 must be an integer, got {e.dtype}.")
    return np.asarray(np.ldexp(a, e.astype("int32"))).astype(a.dtype, copy=False)


def _int_pair(x1, x2, bool_as="int8"):
    a, b = _promote(x1, x2)
    if a.dtype == bool:
        a, b = a.astype(bool_as), b.astype(bool_as)
    return a, b


def _binary_int(fn, bool_as="int8"):
    def apply(x1, x2):
        a, b = _int_pair(x1, x2, bool_as)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(fn(a, b))
    apply.__name__ = fn.__name__
    return apply


floor_divide = _binary_int(np.floor_divide)
mod = _binary_int(np.mod, "int32")     # bool remainders are int32 (the symbolic rule)
fmod = _binary_int(np.fmod, "int32")


def fmax(x1, x2):
    a, b = _promote(x1, x2)
    return np.asarray(np.fmax(a, b))


def fmin(x1, x2):
    a, b = _promote(x1, x2)
    return np.asarray(np.fmin(a, b))


def _ints_only(name, x1, x2, allow_bool=True):
    a, b = _promote(x1, x2)
    if not (dtypes.is_int(a.dtype) or (allow_bool and a.dtype == bool)):
        raise TypeError(f"{name}: needs integer inputs, got {a.dtype}.")
    return a, b


def gcd(x1, x2):
    return np.asarray(np.gcd(*_ints_only("gcd", x1, x2, False)))


def lcm(x1, x2):
    return np.asarray(np.lcm(*_ints_only("lcm", x1, x2, False)))


def bitwise_and(x, y):
    return np.asarray(np.bitwise_and(*_ints_only("bitwise_and", x, y)))


def bitwise_or(x, y):
    return np.asarray(np.bitwise_or(*_ints_only("bitwise_or", x, y)))


def bitwise_xor(x, y):
    return np.asarray(np.bitwise_xor(*_ints_only("bitwise_xor", x, y)))


def bitwise_invert(x):
    x = _arr(x)
    if not (dtypes.is_int(x.dtype) or x.dtype == bool):
        raise TypeError(f"bitwise_invert: needs integer or bool input, got {x.dtype}.")
    return np.invert(x)


bitwise_not = bitwise_invert


def left_shift(x, y):
    a, b = _ints_only("left_shift", x, y)
    if a.dtype == bool:
        a, b = a.astype("int8"), b.astype("int8")
    return np.asarray(np.left_shift(a, b))


def right_shift(x, y):
    a, b = _ints_only("right_shift", x, y)
    if a.dtype == bool:
        a, b = a.astype("int8"), b.astype("int8")
    return np.asarray(np.right_shift(a, b))


bitwise_left_shift = left_shift
bitwise_right_shift = right_shift


# --- logical and predicates ----------------------------------------------------------------
def logical_and(x1, x2):
    return np.asarray(np.logical_and(_arr(x1), _arr(x2)))


def logical_or(x1, x2):
    return np.asarray(np.logical_or(_arr(x1), _arr(x2)))


def logical_xor(x1, x2):
    return np.asarray(np.logical_xor(_arr(x1), _arr(x2)))


def logical_not(x):
    return np.asarray(np.logical_not(_arr(x)))


def isnan(x):
    return np.asarray(np.isnan(_arr(x)))


def isinf(x):
    return np.asarray(np.isinf(_arr(x)))


def isfinite(x):
    return np.asarray(np.isfinite(_arr(x)))


def isneginf(x):
    return np.asarray(np.isneginf(_arr(x)))


def isposinf(x):
    return np.asarray(np.isposinf(_arr(x)))


def isreal(x):
    return np.asarray(np.isreal(_arr(x)))


def signbit(x):
    x = _arr(x)
    return np.asarray(np.signbit(x.astype("int8") if x.dtype == bool else x))


def isclose(x1, x2, rtol=1e-05, atol=1e-08, equal_nan=False):
    a, b = _promote(x1, x2)
    if a.dtype == bool:
        a, b = a.astype("int8"), b.astype("int8")
    return np.asarray(np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


def allclose(x1, x2, rtol=1e-05, atol=1e-08, equal_nan=False):
    return np.asarray(np.all(isclose(x1, x2, rtol, atol, equal_nan)))


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    x = _arr(x)
    if not (dtypes.is_float(x.dtype) or x.dtype.name in _COMPLEX):
        return x.copy()
    if x.dtype.kind not in "fc":
        # bfloat16 (an ml_dtypes type, present whenever such an array is): np.nan_to_num
        # does not see its NaNs and infs; replace them in float32, where all are exact.
        from ml_dtypes import finfo
        big = float(finfo(x.dtype).max)
        out = np.nan_to_num(x.astype("float32"), nan=nan,
                            posinf=big if posinf is None else posinf,
                            neginf=-big if neginf is None else neginf)
        return out.astype(x.dtype)
    return np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf).astype(x.dtype, copy=False)


def saturate_cast(x, dtype):
    dtype = dtypes.standardize_dtype(dtype)
    x = _arr(x)
    in_dtype = dtypes.standardize_dtype(x.dtype)
    if dtype == "bool" or in_dtype == "bool":
        return x.astype(dtype)
    lo, hi = dtypes.value_range(dtype)
    ilo, ihi = dtypes.value_range(in_dtype)
    if ilo >= lo and ihi <= hi:
        return x.astype(dtype)
    if dtypes.is_float(in_dtype):
        v = x.astype("float64")
        with np.errstate(invalid="ignore"):
            out = np.clip(v, lo, hi).astype(dtype)
        if dtypes.is_int(dtype):  # float64(hi) may round above hi (int64): pin the top
            out = np.where(v >= float(hi), np.array(hi, dtype), out)
        return out
    # integer input: clamp in exact integer arithmetic
    return np.clip(x, builtins.max(ilo, lo), builtins.min(ihi, hi)).astype(dtype)


name_broadcast_errors(globals(), (ValueError,))

# Every op of the family is implemented here: export the family's list.
from unikeras.common.ops.elementwise import __all__  # noqa: E402,F401
