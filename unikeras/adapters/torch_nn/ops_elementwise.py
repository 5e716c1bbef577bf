"""PyTorch implementations of the elementwise op family (torch's fused kernels)."""
import builtins

import torch

from unikeras.adapters.torch_nn.ops import (
    _FLOATS, _INEXACT, _NAME, _T, Tensor, _floatx, _promote_tensors, _torch_dtype,
    convert_to_tensor, divide)
from unikeras.common import dtypes
from unikeras.common.ops.elementwise import name_broadcast_errors

_BOOL = torch.bool
_INT8 = torch.int8
_COMPLEX = frozenset((torch.complex64, torch.complex128))


def _t(x):
    return x if type(x) in _T or isinstance(x, Tensor) else convert_to_tensor(x)


def _f(x):
    """`x` as an inexact tensor: float and complex kept, integers and bools as floatx."""
    if type(x) in _T and x.dtype in _FLOATS:
        return x
    x = _t(x)
    return x if x.dtype in _INEXACT else x.to(_floatx())


def _is_int(dt):
    return not dt.is_floating_point and not dt.is_complex and dt is not _BOOL


def _unary_float(fn, name):
    def apply(x):
        return fn(_f(x))
    apply.__name__ = apply.__qualname__ = name
    return apply


sin = _unary_float(torch.sin, "sin")
cos = _unary_float(torch.cos, "cos")
tan = _unary_float(torch.tan, "tan")
arcsin = _unary_float(torch.asin, "arcsin")
arccos = _unary_float(torch.acos, "arccos")
arctan = _unary_float(torch.atan, "arctan")
sinh = _unary_float(torch.sinh, "sinh")
cosh = _unary_float(torch.cosh, "cosh")
arcsinh = _unary_float(torch.asinh, "arcsinh")
arccosh = _unary_float(torch.acosh, "arccosh")
arctanh = _unary_float(torch.atanh, "arctanh")
deg2rad = _unary_float(torch.deg2rad, "deg2rad")
rad2deg = _unary_float(torch.rad2deg, "rad2deg")
sinc = _unary_float(torch.sinc, "sinc")
exp2 = _unary_float(torch.exp2, "exp2")
expm1 = _unary_float(torch.expm1, "expm1")
log1p = _unary_float(torch.log1p, "log1p")
log2 = _unary_float(torch.log2, "log2")
log10 = _unary_float(torch.log10, "log10")
fabs = _unary_float(torch.abs, "fabs")
floor = _unary_float(torch.floor, "floor")
ceil = _unary_float(torch.ceil, "ceil")
reciprocal = _unary_float(torch.reciprocal, "reciprocal")
rsqrt = _unary_float(torch.rsqrt, "rsqrt")
erf = _unary_float(torch.erf, "erf")
erfc = _unary_float(torch.erfc, "erfc")
erfinv = _unary_float(torch.erfinv, "erfinv")


def _i0(x):
    # torch.i0 gives NaN at +-inf, where I0 is inf; inf inputs are zeroed first so that
    # their gradient is 0, not NaN.
    inf = torch.isinf(x)
    return torch.where(inf, torch.inf, torch.i0(torch.where(inf, 0.0, x)))


i0 = _unary_float(_i0, "i0")


def cbrt(x):
    x = _f(x)
    return torch.sign(x) * torch.pow(torch.abs(x), 1.0 / 3.0)


def trunc(x):
    x = _t(x)
    return torch.trunc(x) if x.dtype in _FLOATS else x.clone()


def round(x, decimals=0):
    x = _t(x)
    if x.dtype is _BOOL:
        return x.clone()
    if _is_int(x.dtype):
        if decimals >= 0:
            return x.clone()
        return torch.round(x.to(torch.float64), decimals=decimals).to(x.dtype)
    if decimals == 0:
        return torch.round(x)
    return torch.round(x, decimals=decimals)


def real(x):
    x = _t(x)
    return torch.real(x).clone() if x.dtype in _COMPLEX else x.clone()


def imag(x):
    x = _t(x)
    return torch.imag(x).clone() if x.dtype in _COMPLEX else torch.zeros_like(x)


def angle(x):
    x = _f(x)
    if x.dtype in _COMPLEX:
        return torch.angle(x)
    return torch.atan2(torch.zeros_like(x), x)   # pi for negatives and -0.0, as NumPy


def conj(x):
    x = _t(x)
    return torch.conj_physical(x) if x.dtype in _COMPLEX else x.clone()


conjugate = conj


def copy(x):
    return _t(x).clone()


# --- binary --------------------------------------------------------------------------------
true_divide = divide


def _float_pair(x1, x2):
    if type(x1) in _T and type(x2) in _T and x1.dtype is x2.dtype and x1.dtype in _FLOATS:
        return x1, x2
    a, b = _promote_tensors(x1, x2)
    if a.dtype not in _FLOATS:
        a, b = a.to(_floatx()), b.to(_floatx())
    return a, b


def _binary_float(fn, name):
    def apply(x1, x2):
        return fn(*_float_pair(x1, x2))
    apply.__name__ = apply.__qualname__ = name
    return apply


arctan2 = _binary_float(torch.atan2, "arctan2")
hypot = _binary_float(torch.hypot, "hypot")
logaddexp = _binary_float(torch.logaddexp, "logaddexp")
logaddexp2 = _binary_float(torch.logaddexp2, "logaddexp2")
heaviside = _binary_float(torch.heaviside, "heaviside")
nextafter = _binary_float(torch.nextafter, "nextafter")


def divide_no_nan(x1, x2):
    a, b = _float_pair(x1, x2)
    zero = b == 0
    q = a / torch.where(zero, torch.ones((), dtype=b.dtype, device=b.device), b)
    return torch.where(zero, torch.zeros((), dtype=q.dtype, device=q.device), q)


def ldexp(x1, x2):
    a = _f(x1)
    e = _t(x2)
    if not (_is_int(e.dtype) or e.dtype is _BOOL):
        raise TypeError(f"ldexp: the exponent x2 must be an integer, got {_NAME[e.dtype]}.")
    # torch.ldexp gives no gradient to its input; the product with exp2(e) does (exact).
    # Half precision scales in float32 so that 2**e itself cannot overflow.
    wide = torch.float32 if a.dtype in (torch.float16, torch.bfloat16) else a.dtype
    out = a.to(wide) * torch.exp2(e.to(device=a.device, dtype=wide))
    return out if out.dtype is a.dtype else out.to(a.dtype)


def _int_pair(x1, x2, bool_as=_INT8):
    if type(x1) in _T and type(x2) in _T and x1.dtype is x2.dtype and x1.dtype is not _BOOL:
        return x1, x2
    a, b = _promote_tensors(x1, x2)
    if a.dtype is _BOOL:
        a, b = a.to(bool_as), b.to(bool_as)
    return a, b


def floor_divide(x1, x2):
    a, b = _int_pair(x1, x2)
    return torch.div(a, b, rounding_mode="floor")


def mod(x1, x2):
    return torch.remainder(*_int_pair(x1, x2, torch.int32))


def fmod(x1, x2):
    return torch.fmod(*_int_pair(x1, x2, torch.int32))


def fmax(x1, x2):
    a, b = _promote_tensors(x1, x2)
    return torch.logical_or(a, b) if a.dtype is _BOOL else torch.fmax(a, b)


def fmin(x1, x2):
    a, b = _promote_tensors(x1, x2)
    return torch.logical_and(a, b) if a.dtype is _BOOL else torch.fmin(a, b)


def _ints(name, x1, x2, allow_bool=True):
    a, b = _promote_tensors(x1, x2)
    if not (_is_int(a.dtype) or (allow_bool and a.dtype is _BOOL)):
        raise TypeError(f"{name}: needs integer inputs, got {_NAME[a.dtype]}.")
    return a, b


def gcd(x1, x2):
    return torch.gcd(*_ints("gcd", x1, x2, False))


def lcm(x1, x2):
    return torch.lcm(*_ints("lcm", x1, x2, False))


def bitwise_and(x, y):
    return torch.bitwise_and(*_ints("bitwise_and", x, y))


def bitwise_or(x, y):
    return torch.bitwise_or(*_ints("bitwise_or", x, y))


def bitwise_xor(x, y):
    return torch.bitwise_xor(*_ints("bitwise_xor", x, y))


def bitwise_invert(x):
    x = _t(x)
    if not (_is_int(x.dtype) or x.dtype is _BOOL):
        raise TypeError(f"bitwise_invert: needs integer or bool input, got {_NAME[x.dtype]}.")
    return torch.bitwise_not(x)


bitwise_not = bitwise_invert


def _shift_pair(name, x, y):
    a, b = _ints(name, x, y)
    if a.dtype is _BOOL:
        a, b = a.to(_INT8), b.to(_INT8)
    return a, b


def left_shift(x, y):
    return torch.bitwise_left_shift(*_shift_pair("left_shift", x, y))


def right_shift(x, y):
    return torch.bitwise_right_shift(*_shift_pair("right_shift", x, y))


bitwise_left_shift = left_shift
bitwise_right_shift = right_shift


# --- logical and predicates ----------------------------------------------------------------
def _pair(x1, x2):
    if isinstance(x1, Tensor) and isinstance(x2, Tensor):
        return x1, x2
    return _promote_tensors(x1, x2)


def logical_and(x1, x2):
    return torch.logical_and(*_pair(x1, x2))


def logical_or(x1, x2):
    return torch.logical_or(*_pair(x1, x2))


def logical_xor(x1, x2):
    return torch.logical_xor(*_pair(x1, x2))


def logical_not(x):
    return torch.logical_not(_t(x))


def isnan(x):
    return torch.isnan(_t(x))


def isinf(x):
    return torch.isinf(_t(x))


def isfinite(x):
    return torch.isfinite(_t(x))


def isneginf(x):
    x = _t(x)
    return torch.isneginf(x) if x.dtype in _FLOATS else torch.zeros_like(x, dtype=_BOOL)


def isposinf(x):
    x = _t(x)
    return torch.isposinf(x) if x.dtype in _FLOATS else torch.zeros_like(x, dtype=_BOOL)


def isreal(x):
    return torch.isreal(_t(x))


def signbit(x):
    x = _t(x)
    if x.dtype is _BOOL:
        return torch.zeros_like(x)
    return torch.signbit(x)


def isclose(x1, x2, rtol=1e-05, atol=1e-08, equal_nan=False):
    a, b = _promote_tensors(x1, x2)
    if a.dtype not in _INEXACT:
        a, b = a.to(torch.float64), b.to(torch.float64)
    return torch.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)


def allclose(x1, x2, rtol=1e-05, atol=1e-08, equal_nan=False):
    return torch.all(isclose(x1, x2, rtol, atol, equal_nan))


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    x = _t(x)
    if x.dtype not in _INEXACT:
        return x.clone()
    return torch.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)


def saturate_cast(x, dtype):
    tdt = _torch_dtype(dtype)
    x = _t(x)
    name_in, name_out = _NAME[x.dtype], _NAME[tdt]
    if name_out == "bool" or name_in == "bool":
        return x.to(tdt)
    lo, hi = dtypes.value_range(name_out)
    ilo, ihi = dtypes.value_range(name_in)
    if ilo >= lo and ihi <= hi:
        return x.to(tdt)
    if x.dtype.is_floating_point:
        out = torch.clamp(x.to(torch.float64), float(lo), float(hi)).to(tdt)
        if not tdt.is_floating_point:   # float64(hi) may round above hi: pin the top
            top = torch.tensor(hi, dtype=tdt, device=x.device)
            out = torch.where(x.to(torch.float64) >= float(hi), top, out)
        return out
    return torch.clamp(x, builtins.max(ilo, lo), builtins.min(ihi, hi)).to(tdt)



name_broadcast_errors(globals(), (RuntimeError, ValueError))

# Every op of the family is implemented here: export the family's list.
from unikeras.common.ops.elementwise import __all__  # noqa: E402,F401
