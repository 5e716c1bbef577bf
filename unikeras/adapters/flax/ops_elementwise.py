"""JAX implementations of the elementwise op family (jit-safe, differentiable)."""
import builtins

import jax
import jax.numpy as jnp
import jax.scipy.special as jsp

from unikeras.adapters.flax.ops import (
    _ARRAY, _FLOATS, _JAX_ARRAY, _as, _convert, _dtype_name, _floatx, _jdtype, _jit,
    _promote_with_dtype, convert_to_tensor, divide)
from unikeras.common import dtypes
from unikeras.common.ops.elementwise import name_broadcast_errors

_BOOL = jnp.dtype("bool")
_INT8 = jnp.dtype("int8")
_INT32 = jnp.dtype("int32")
_COMPLEX = frozenset(jnp.dtype(d) for d in ("complex64", "complex128"))
_INEXACT = _FLOATS | _COMPLEX


def _j(x):
    return x if type(x) is _ARRAY or isinstance(x, _JAX_ARRAY) else convert_to_tensor(x)


def _f(x):
    x = _j(x)
    return x if x.dtype in _INEXACT else _convert(x, _jdtype(_floatx()))


def _is_int(dt):
    return jnp.issubdtype(dt, jnp.integer)


def _unary_float(fn, name):
    fn = _jit(fn)

    def apply(x):
        return fn(_f(x))
    apply.__name__ = apply.__qualname__ = name
    return apply


sin = _unary_float(jnp.sin, "sin")
cos = _unary_float(jnp.cos, "cos")
tan = _unary_float(jnp.tan, "tan")
arcsin = _unary_float(jnp.arcsin, "arcsin")
arccos = _unary_float(jnp.arccos, "arccos")
arctan = _unary_float(jnp.arctan, "arctan")
sinh = _unary_float(jnp.sinh, "sinh")
cosh = _unary_float(jnp.cosh, "cosh")
arcsinh = _unary_float(jnp.arcsinh, "arcsinh")
arccosh = _unary_float(jnp.arccosh, "arccosh")
arctanh = _unary_float(jnp.arctanh, "arctanh")
deg2rad = _unary_float(jnp.deg2rad, "deg2rad")
rad2deg = _unary_float(jnp.rad2deg, "rad2deg")
sinc = _unary_float(jnp.sinc, "sinc")
exp2 = _unary_float(jnp.exp2, "exp2")
expm1 = _unary_float(jnp.expm1, "expm1")
log1p = _unary_float(jnp.log1p, "log1p")
log2 = _unary_float(jnp.log2, "log2")
log10 = _unary_float(jnp.log10, "log10")
cbrt = _unary_float(jnp.cbrt, "cbrt")
fabs = _unary_float(jnp.abs, "fabs")
floor = _unary_float(jnp.floor, "floor")
ceil = _unary_float(jnp.ceil, "ceil")
reciprocal = _unary_float(jnp.reciprocal, "reciprocal")
rsqrt = _unary_float(jax.lax.rsqrt, "rsqrt")
erf = _unary_float(jsp.erf, "erf")
erfc = _unary_float(jsp.erfc, "erfc")
erfinv = _unary_float(jsp.erfinv, "erfinv")


def _i0(x):
    # jnp.i0 gives NaN at +-inf, where I0 is inf; inf inputs are zeroed first so that
    # their gradient is 0, not NaN. Half precision computes in float32 (rounded once).
    inf = jnp.isinf(x)
    safe = jnp.where(inf, 0.0, x)
    if x.dtype in (jnp.float16, jnp.bfloat16):
        safe = safe.astype(jnp.float32)
    return jnp.where(inf, jnp.inf, jnp.i0(safe)).astype(x.dtype)


i0 = _unary_float(_i0, "i0")
_trunc = _jit(jnp.trunc)


def trunc(x):
    x = _j(x)
    return _trunc(x) if x.dtype in _FLOATS else jnp.array(x, copy=True)


def round(x, decimals=0):
    x = _j(x)
    if x.dtype == _BOOL:
        return jnp.array(x, copy=True)
    if _is_int(x.dtype):
        if decimals >= 0:
            return jnp.array(x, copy=True)
        return _convert(jnp.round(_convert(x, _jdtype("float64")), decimals), x.dtype)
    return jnp.round(x, decimals)


def real(x):
    x = _j(x)
    return jnp.real(x) if x.dtype in _COMPLEX else jnp.array(x, copy=True)


def imag(x):
    x = _j(x)
    return jnp.imag(x) if x.dtype in _COMPLEX else jnp.zeros_like(x)


_atan2 = _jit(jnp.arctan2)


def angle(x):
    x = _f(x)
    if x.dtype in _COMPLEX:
        return jnp.angle(x)
    return _atan2(jnp.zeros_like(x), x)   # pi for negatives and -0.0, as NumPy


def conj(x):
    x = _j(x)
    return jnp.conj(x) if x.dtype in _COMPLEX else jnp.array(x, copy=True)


conjugate = conj


def copy(x):
    return jnp.array(_j(x), copy=True)


# --- binary --------------------------------------------------------------------------------
true_divide = divide


def _pair(x1, x2):
    """Both operands as jax arrays of the promoted dtype."""
    a, b, jd = _promote_with_dtype(x1, x2)
    return _as(a, jd), _as(b, jd)


def _float_pair(x1, x2):
    a, b = _pair(x1, x2)
    if a.dtype not in _FLOATS:
        fx = _jdtype(_floatx())
        a, b = _convert(a, fx), _convert(b, fx)
    return a, b


def _binary_float(fn, name):
    fn = _jit(fn)

    def apply(x1, x2):
        return fn(*_float_pair(x1, x2))
    apply.__name__ = apply.__qualname__ = name
    return apply


arctan2 = _binary_float(jnp.arctan2, "arctan2")
hypot = _binary_float(jnp.hypot, "hypot")
logaddexp = _binary_float(jnp.logaddexp, "logaddexp")
logaddexp2 = _binary_float(jnp.logaddexp2, "logaddexp2")
heaviside = _binary_float(jnp.heaviside, "heaviside")
nextafter = _binary_float(jnp.nextafter, "nextafter")


@_jit
def _divide_no_nan(a, b):
    zero = b == 0
    q = a / jnp.where(zero, jnp.ones((), b.dtype), b)
    return jnp.where(zero, jnp.zeros((), q.dtype), q)


def divide_no_nan(x1, x2):
    return _divide_no_nan(*_float_pair(x1, x2))


_ldexp = _jit(lambda a, e: jnp.ldexp(a, e).astype(a.dtype))


def ldexp(x1, x2):
    a = _f(x1)
    e = _j(x2)
    if not (_is_int(e.dtype) or e.dtype == _BOOL):
        raise TypeError(f"ldexp: the exponent x2 must be an integer, got {_dtype_name(e.dtype)}.")
    return _ldexp(a, _convert(e, jnp.int32))


def _int_pair(x1, x2, bool_as=_INT8):
    a, b = _pair(x1, x2)
    if a.dtype == _BOOL:
        a, b = _convert(a, bool_as), _convert(b, bool_as)
    return a, b


_floor_divide = _jit(jnp.floor_divide)
_remainder = _jit(jnp.remainder)
_fmod = _jit(jnp.fmod)


def floor_divide(x1, x2):
    return _floor_divide(*_int_pair(x1, x2))


def mod(x1, x2):
    return _remainder(*_int_pair(x1, x2, _INT32))


def fmod(x1, x2):
    return _fmod(*_int_pair(x1, x2, _INT32))


_fmax = _jit(jnp.fmax)
_fmin = _jit(jnp.fmin)


def fmax(x1, x2):
    a, b = _pair(x1, x2)
    return jnp.logical_or(a, b) if a.dtype == _BOOL else _fmax(a, b)


def fmin(x1, x2):
    a, b = _pair(x1, x2)
    return jnp.logical_and(a, b) if a.dtype == _BOOL else _fmin(a, b)


def _ints(name, x1, x2, allow_bool=True):
    a, b = _pair(x1, x2)
    if not (_is_int(a.dtype) or (allow_bool and a.dtype == _BOOL)):
        raise TypeError(f"{name}: needs integer inputs, got {_dtype_name(a.dtype)}.")
    return a, b


_gcd = _jit(jnp.gcd)
_lcm = _jit(jnp.lcm)
_and = _jit(jnp.bitwise_and)
_or = _jit(jnp.bitwise_or)
_xor = _jit(jnp.bitwise_xor)
_invert = _jit(jnp.invert)
_lshift = _jit(jnp.left_shift)
_rshift = _jit(jnp.right_shift)


def gcd(x1, x2):
    return _gcd(*_ints("gcd", x1, x2, False))


def lcm(x1, x2):
    return _lcm(*_ints("lcm", x1, x2, False))


def bitwise_and(x, y):
    return _and(*_ints("bitwise_and", x, y))


def bitwise_or(x, y):
    return _or(*_ints("bitwise_or", x, y))


def bitwise_xor(x, y):
    return _xor(*_ints("bitwise_xor", x, y))


def bitwise_invert(x):
    x = _j(x)
    if not (_is_int(x.dtype) or x.dtype == _BOOL):
        raise TypeError(f"bitwise_invert: needs integer or bool input, got {_dtype_name(x.dtype)}.")
    return _invert(x)


bitwise_not = bitwise_invert


def _shift_pair(name, x, y):
    a, b = _ints(name, x, y)
    if a.dtype == _BOOL:
        a, b = _convert(a, _INT8), _convert(b, _INT8)
    return a, b


def left_shift(x, y):
    return _lshift(*_shift_pair("left_shift", x, y))


def right_shift(x, y):
    return _rshift(*_shift_pair("right_shift", x, y))


bitwise_left_shift = left_shift
bitwise_right_shift = right_shift


# --- logical and predicates ----------------------------------------------------------------
def _logical(fn, name):
    fn = _jit(fn)

    def apply(x1, x2):
        return fn(_j(x1), _j(x2))
    apply.__name__ = apply.__qualname__ = name
    return apply


logical_and = _logical(jnp.logical_and, "logical_and")
logical_or = _logical(jnp.logical_or, "logical_or")
logical_xor = _logical(jnp.logical_xor, "logical_xor")


def _pred(fn, name):
    fn = _jit(fn)

    def apply(x):
        return fn(_j(x))
    apply.__name__ = apply.__qualname__ = name
    return apply


logical_not = _pred(jnp.logical_not, "logical_not")
isnan = _pred(jnp.isnan, "isnan")
isinf = _pred(jnp.isinf, "isinf")
isfinite = _pred(jnp.isfinite, "isfinite")
isneginf = _pred(jnp.isneginf, "isneginf")
isposinf = _pred(jnp.isposinf, "isposinf")
isreal = _pred(jnp.isreal, "isreal")
signbit = _pred(lambda x: jnp.zeros(x.shape, bool) if x.dtype == _BOOL else jnp.signbit(x),
                "signbit")


def _close_pair(x1, x2):
    a, b = _pair(x1, x2)
    if a.dtype not in _INEXACT:
        fd = _jdtype("float64")
        a, b = _convert(a, fd), _convert(b, fd)
    return a, b


def isclose(x1, x2, rtol=1e-05, atol=1e-08, equal_nan=False):
    return jnp.isclose(*_close_pair(x1, x2), rtol=rtol, atol=atol, equal_nan=equal_nan)


def allclose(x1, x2, rtol=1e-05, atol=1e-08, equal_nan=False):
    return jnp.all(isclose(x1, x2, rtol, atol, equal_nan))


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    x = _j(x)
    if x.dtype not in _INEXACT:
        return jnp.array(x, copy=True)
    return jnp.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)


def saturate_cast(x, dtype):
    jd = _jdtype(dtype)
    x = _j(x)
    name_in, name_out = _dtype_name(x.dtype), _dtype_name(jd)
    if name_out == "bool" or name_in == "bool":
        return _convert(x, jd)
    lo, hi = dtypes.value_range(name_out)
    ilo, ihi = dtypes.value_range(name_in)
    if ilo >= lo and ihi <= hi:
        return _convert(x, jd)
    if x.dtype in _FLOATS:
        wide = _jdtype("float64")
        v = _convert(x, wide)
        out = _convert(jnp.clip(v, float(lo), float(hi)), jd)
        if jnp.issubdtype(jd, jnp.integer):  # the float top may round above hi: pin it
            out = jnp.where(v >= float(hi), jnp.array(hi, jd), out)
        return out
    return _convert(jnp.clip(x, builtins.max(ilo, lo), builtins.min(ihi, hi)), jd)



name_broadcast_errors(globals(), (ValueError, TypeError))

# Every op of the family is implemented here: export the family's list.
from unikeras.common.ops.elementwise import __all__  # noqa: E402,F401
