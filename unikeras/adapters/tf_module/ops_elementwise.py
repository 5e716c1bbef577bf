"""TensorFlow implementations of the elementwise op family.

Half-precision inputs (float16, bfloat16) of the transcendental ops are computed in
float32 and rounded back, as NumPy does: TF's CPU kernels for several of them (erfinv,
nextafter, ...) exist only for float32/float64.
"""
import builtins
import math

import numpy as np
import tensorflow as tf

from unikeras import config
from unikeras.common.ops.elementwise import name_broadcast_errors
from unikeras.adapters.tf_module.ops import _TF, _promote, _t, divide
from unikeras.common import dtypes

_R = tf.raw_ops
_BOOL = tf.bool
_INT8 = tf.int8
_HALF = frozenset((tf.float16, tf.bfloat16))
_FLOATS = frozenset((tf.float16, tf.bfloat16, tf.float32, tf.float64))
_COMPLEX = frozenset((tf.complex64, tf.complex128))
_INEXACT = _FLOATS | _COMPLEX
_BITS = {tf.float16: tf.int16, tf.bfloat16: tf.int16, tf.float32: tf.int32, tf.float64: tf.int64}


def _f(x):
    x = _t(x)
    return x if x.dtype in _INEXACT else tf.cast(x, _TF[config.floatx()])


def _is_int(d):
    return d.is_integer


def _wide(fn):
    """`fn` evaluated in float32 for half-precision tensors, rounded back."""
    def apply(x, *rest):
        if x.dtype in _HALF:
            return tf.cast(fn(tf.cast(x, tf.float32), *[tf.cast(r, tf.float32) for r in rest]),
                           x.dtype)
        return fn(x, *rest)
    return apply


def _unary_float(fn, name):
    fn = _wide(fn)

    def apply(x):
        return fn(_f(x))
    apply.__name__ = apply.__qualname__ = name
    return apply


_LN2 = math.log(2.0)
_LN10 = math.log(10.0)


def _raw(op):
    return lambda x: op(x=x)


def _sinc(x):
    pix = x * math.pi
    zero = tf.equal(x, 0)
    safe = tf.where(zero, tf.ones_like(pix), pix)
    return tf.where(zero, tf.ones_like(x), tf.sin(safe) / safe)


def _cbrt(x):
    return tf.sign(x) * tf.pow(tf.abs(x), tf.constant(1.0 / 3.0, x.dtype))


sin = _unary_float(_raw(_R.Sin), "sin")
cos = _unary_float(_raw(_R.Cos), "cos")
tan = _unary_float(_raw(_R.Tan), "tan")
arcsin = _unary_float(_raw(_R.Asin), "arcsin")
arccos = _unary_float(_raw(_R.Acos), "arccos")
arctan = _unary_float(_raw(_R.Atan), "arctan")
sinh = _unary_float(_raw(_R.Sinh), "sinh")
cosh = _unary_float(_raw(_R.Cosh), "cosh")
arcsinh = _unary_float(_raw(_R.Asinh), "arcsinh")
arccosh = _unary_float(_raw(_R.Acosh), "arccosh")
arctanh = _unary_float(_raw(_R.Atanh), "arctanh")
deg2rad = _unary_float(lambda x: x * tf.constant(math.pi / 180.0, x.dtype), "deg2rad")
rad2deg = _unary_float(lambda x: x * tf.constant(180.0 / math.pi, x.dtype), "rad2deg")
sinc = _unary_float(_sinc, "sinc")
exp2 = _unary_float(lambda x: tf.pow(tf.constant(2.0, x.dtype), x), "exp2")
expm1 = _unary_float(_raw(_R.Expm1), "expm1")
log1p = _unary_float(_raw(_R.Log1p), "log1p")
log2 = _unary_float(lambda x: _R.Log(x=x) / tf.constant(_LN2, x.dtype), "log2")
log10 = _unary_float(lambda x: _R.Log(x=x) / tf.constant(_LN10, x.dtype), "log10")
cbrt = _unary_float(_cbrt, "cbrt")
fabs = _unary_float(_raw(_R.Abs), "fabs")
floor = _unary_float(_raw(_R.Floor), "floor")
ceil = _unary_float(_raw(_R.Ceil), "ceil")
reciprocal = _unary_float(_raw(_R.Reciprocal), "reciprocal")
rsqrt = _unary_float(_raw(_R.Rsqrt), "rsqrt")
erf = _unary_float(_raw(_R.Erf), "erf")
erfc = _unary_float(_raw(_R.Erfc), "erfc")
erfinv = _unary_float(tf.math.erfinv, "erfinv")


def _i0(x):
    # exp(|x|) * i0e(x): BesselI0 itself has no XLA kernel (jit_compile=True), BesselI0e has.
    # That product is NaN at +-inf, where I0 is inf; inf inputs are zeroed first so that
    # their gradient is 0, not NaN.
    inf = tf.math.is_inf(x)
    safe = tf.where(inf, tf.zeros_like(x), x)
    return tf.where(inf, tf.constant(math.inf, x.dtype),
                    tf.exp(tf.abs(safe)) * tf.math.bessel_i0e(safe))


i0 = _unary_float(_i0, "i0")


def trunc(x):
    x = _t(x)
    if x.dtype not in _FLOATS:
        return tf.identity(x)
    return _R.Sign(x=x) * _R.Floor(x=_R.Abs(x=x))


def round(x, decimals=0):
    x = _t(x)
    if x.dtype is _BOOL:
        return tf.identity(x)
    if _is_int(x.dtype):
        if decimals >= 0:
            return tf.identity(x)
        f = 10.0 ** (-decimals)
        return tf.cast(_R.Round(x=tf.cast(x, tf.float64) / f) * f, x.dtype)
    if decimals == 0:
        return _R.Round(x=x)
    f = tf.constant(10.0 ** decimals, tf.float64 if x.dtype is tf.float64 else tf.float32)
    v = tf.cast(x, f.dtype)
    return tf.cast(_R.Round(x=v * f) / f, x.dtype)


def real(x):
    x = _t(x)
    return tf.math.real(x) if x.dtype in _COMPLEX else tf.identity(x)


def imag(x):
    x = _t(x)
    return tf.math.imag(x) if x.dtype in _COMPLEX else tf.zeros_like(x)


def angle(x):
    x = _f(x)
    if x.dtype in _COMPLEX:
        return tf.math.angle(x)
    return _R.Atan2(y=tf.zeros_like(x), x=x)   # pi for negatives and -0.0, as NumPy


def conj(x):
    x = _t(x)
    return tf.math.conj(x) if x.dtype in _COMPLEX else tf.identity(x)


conjugate = conj


def copy(x):
    return tf.identity(_t(x))


# --- binary --------------------------------------------------------------------------------
true_divide = divide


def _float_pair(x1, x2):
    a, b = _promote(x1, x2)
    if a.dtype not in _FLOATS:
        fx = _TF[config.floatx()]
        a, b = tf.cast(a, fx), tf.cast(b, fx)
    return a, b


def _binary_float(fn, name):
    fn = _wide(fn)

    def apply(x1, x2):
        return fn(*_float_pair(x1, x2))
    apply.__name__ = apply.__qualname__ = name
    return apply


def _hypot(a, b):
    a, b = tf.abs(a), tf.abs(b)
    big = tf.maximum(a, b)
    small = tf.minimum(a, b)
    zero = tf.equal(big, 0)
    safe = tf.where(zero, tf.ones_like(big), big)
    r = small / safe
    out = safe * tf.sqrt(1 + r * r)
    out = tf.where(zero, tf.zeros_like(big), out)
    return tf.where(tf.math.is_inf(big), big, out)


def _logaddexp(a, b):
    big = tf.maximum(a, b)
    same = tf.equal(a, b)   # also covers two equal infinities (no inf - inf)
    d = tf.where(same, tf.zeros_like(a), -tf.abs(a - b))
    return tf.where(same, a + tf.constant(_LN2, a.dtype), big + tf.math.log1p(tf.exp(d)))


def _logaddexp2(a, b):
    ln2 = tf.constant(_LN2, a.dtype)
    return _logaddexp(a * ln2, b * ln2) / ln2


def _heaviside(a, b):
    return tf.where(a < 0, tf.zeros_like(a), tf.where(a > 0, tf.ones_like(a), b + tf.zeros_like(a)))


arctan2 = _binary_float(lambda a, b: _R.Atan2(y=a, x=b), "arctan2")
hypot = _binary_float(_hypot, "hypot")
logaddexp = _binary_float(_logaddexp, "logaddexp")
logaddexp2 = _binary_float(_logaddexp2, "logaddexp2")
heaviside = _binary_float(_heaviside, "heaviside")


def nextafter(x1, x2):
    a, b = _float_pair(x1, x2)
    if a.dtype in (tf.float32, tf.float64):
        return tf.math.nextafter(a, b)
    # half precision: step the bit pattern by one ulp toward x2
    shape = tf.broadcast_dynamic_shape(tf.shape(a), tf.shape(b))
    a, b = tf.broadcast_to(a, shape), tf.broadcast_to(b, shape)
    bits_t = _BITS[a.dtype]
    bits = tf.bitcast(a, bits_t)
    up = tf.math.logical_xor(b > a, a < 0)   # moving away from zero in magnitude
    stepped = tf.where(up, bits + 1, bits - 1)
    tiny = tf.bitcast(tf.ones_like(bits), a.dtype)   # smallest subnormal
    from_zero = tf.where(b > a, tiny, -tiny)
    out = tf.where(tf.equal(a, 0), from_zero, tf.bitcast(stepped, a.dtype))
    out = tf.where(tf.equal(a, b), b, out)
    return tf.where(tf.math.is_nan(a) | tf.math.is_nan(b), a + b, out)


def divide_no_nan(x1, x2):
    a, b = _float_pair(x1, x2)
    return tf.math.divide_no_nan(a, b)


def ldexp(x1, x2):
    a = _f(x1)
    e = _t(x2)
    if not (_is_int(e.dtype) or e.dtype is _BOOL):
        raise TypeError(f"ldexp: the exponent x2 must be an integer, got {e.dtype.name}.")
    wide = tf.float64 if a.dtype is tf.float64 else tf.float32
    # 2**e exactly, split in two factors so that neither overflows before the product
    e = tf.cast(e, tf.int32)
    e1 = e // 2
    p1 = tf.pow(tf.constant(2.0, wide), tf.cast(e1, wide))
    p2 = tf.pow(tf.constant(2.0, wide), tf.cast(e - e1, wide))
    return tf.cast(tf.cast(a, wide) * p1 * p2, a.dtype)


def _int_pair(x1, x2, bool_as=_INT8):
    a, b = _promote(x1, x2)
    if a.dtype is _BOOL:
        a, b = tf.cast(a, bool_as), tf.cast(b, bool_as)
    return a, b


def floor_divide(x1, x2):
    a, b = _int_pair(x1, x2)
    return _R.FloorDiv(x=a, y=b)


def mod(x1, x2):
    a, b = _int_pair(x1, x2, tf.int32)
    if a.dtype in _HALF:
        return tf.cast(_R.FloorMod(x=tf.cast(a, tf.float32), y=tf.cast(b, tf.float32)), a.dtype)
    return _R.FloorMod(x=a, y=b)


def fmod(x1, x2):
    a, b = _int_pair(x1, x2, tf.int32)
    if a.dtype not in _FLOATS:
        return _R.TruncateMod(x=a, y=b)
    # TruncateMod has no gradient: sign(a) * floormod(|a|, |b|) is the same exact remainder.
    wide = tf.float32 if a.dtype in _HALF else a.dtype
    a32, b32 = tf.cast(a, wide), tf.cast(b, wide)
    out = _R.Sign(x=a32) * _R.FloorMod(x=_R.Abs(x=a32), y=_R.Abs(x=b32))
    return tf.cast(out, a.dtype)


def fmax(x1, x2):
    a, b = _promote(x1, x2)
    if a.dtype is _BOOL:
        return tf.logical_or(a, b)
    out = tf.maximum(a, b)
    if a.dtype in _FLOATS:
        out = tf.where(tf.math.is_nan(a), b + tf.zeros_like(a), tf.where(tf.math.is_nan(b), a + tf.zeros_like(b), out))
    return out


def fmin(x1, x2):
    a, b = _promote(x1, x2)
    if a.dtype is _BOOL:
        return tf.logical_and(a, b)
    out = tf.minimum(a, b)
    if a.dtype in _FLOATS:
        out = tf.where(tf.math.is_nan(a), b + tf.zeros_like(a), tf.where(tf.math.is_nan(b), a + tf.zeros_like(b), out))
    return out


def _ints(name, x1, x2, allow_bool=True):
    a, b = _promote(x1, x2)
    if not (_is_int(a.dtype) or (allow_bool and a.dtype is _BOOL)):
        raise TypeError(f"{name}: needs integer inputs, got {a.dtype.name}.")
    return a, b


def _gcd_abs(a, b):
    shape = tf.broadcast_dynamic_shape(tf.shape(a), tf.shape(b))
    a = tf.abs(tf.broadcast_to(a, shape))
    b = tf.abs(tf.broadcast_to(b, shape))

    def body(a, b):
        nz = tf.not_equal(b, 0)
        safe = tf.where(nz, b, tf.ones_like(b))
        return tf.where(nz, b, a), tf.where(nz, tf.math.floormod(a, safe), b)

    a, _ = tf.while_loop(lambda a, b: tf.reduce_any(tf.not_equal(b, 0)), body, (a, b))
    return a


def gcd(x1, x2):
    a, b = _ints("gcd", x1, x2, False)
    if a.dtype in (tf.uint8, tf.uint16, tf.uint32, tf.uint64):
        return tf.cast(_gcd_abs(tf.cast(a, tf.int64), tf.cast(b, tf.int64)), a.dtype)
    return _gcd_abs(a, b)


def lcm(x1, x2):
    a, b = _ints("lcm", x1, x2, False)
    d = a.dtype
    if d in (tf.uint8, tf.uint16, tf.uint32, tf.uint64):
        a, b = tf.cast(a, tf.int64), tf.cast(b, tf.int64)
    g = _gcd_abs(a, b)
    zero = tf.equal(g, 0)
    out = tf.abs(a) // tf.where(zero, tf.ones_like(g), g) * tf.abs(b)
    return tf.cast(tf.where(zero, tf.zeros_like(out), out), d)


def bitwise_and(x, y):
    a, b = _ints("bitwise_and", x, y)
    return tf.logical_and(a, b) if a.dtype is _BOOL else tf.bitwise.bitwise_and(a, b)


def bitwise_or(x, y):
    a, b = _ints("bitwise_or", x, y)
    return tf.logical_or(a, b) if a.dtype is _BOOL else tf.bitwise.bitwise_or(a, b)


def bitwise_xor(x, y):
    a, b = _ints("bitwise_xor", x, y)
    return tf.math.logical_xor(a, b) if a.dtype is _BOOL else tf.bitwise.bitwise_xor(a, b)


def bitwise_invert(x):
    x = _t(x)
    if x.dtype is _BOOL:
        return tf.logical_not(x)
    if not _is_int(x.dtype):
        raise TypeError(f"bitwise_invert: needs integer or bool input, got {x.dtype.name}.")
    return tf.bitwise.invert(x)


bitwise_not = bitwise_invert


def _shift_pair(name, x, y):
    a, b = _ints(name, x, y)
    if a.dtype is _BOOL:
        a, b = tf.cast(a, _INT8), tf.cast(b, _INT8)
    return a, b


def left_shift(x, y):
    return tf.bitwise.left_shift(*_shift_pair("left_shift", x, y))


def right_shift(x, y):
    return tf.bitwise.right_shift(*_shift_pair("right_shift", x, y))


bitwise_left_shift = left_shift
bitwise_right_shift = right_shift


# --- logical and predicates ----------------------------------------------------------------
def _truth(x):
    x = _t(x)
    return x if x.dtype is _BOOL else tf.not_equal(x, tf.zeros((), x.dtype))


def logical_and(x1, x2):
    return tf.logical_and(_truth(x1), _truth(x2))


def logical_or(x1, x2):
    return tf.logical_or(_truth(x1), _truth(x2))


def logical_xor(x1, x2):
    return tf.math.logical_xor(_truth(x1), _truth(x2))


def logical_not(x):
    return tf.logical_not(_truth(x))


def _false(x):
    return tf.zeros(tf.shape(x), _BOOL)


def isnan(x):
    x = _t(x)
    if x.dtype in _COMPLEX:
        return tf.math.is_nan(tf.math.real(x)) | tf.math.is_nan(tf.math.imag(x))
    return tf.math.is_nan(x) if x.dtype in _FLOATS else _false(x)


def isinf(x):
    x = _t(x)
    if x.dtype in _COMPLEX:
        return tf.math.is_inf(tf.math.real(x)) | tf.math.is_inf(tf.math.imag(x))
    return tf.math.is_inf(x) if x.dtype in _FLOATS else _false(x)


def isfinite(x):
    x = _t(x)
    if x.dtype in _COMPLEX:
        return tf.math.is_finite(tf.math.real(x)) & tf.math.is_finite(tf.math.imag(x))
    return tf.math.is_finite(x) if x.dtype in _FLOATS else tf.ones(tf.shape(x), _BOOL)


def isneginf(x):
    x = _t(x)
    return tf.equal(x, tf.constant(-np.inf, x.dtype)) if x.dtype in _FLOATS else _false(x)


def isposinf(x):
    x = _t(x)
    return tf.equal(x, tf.constant(np.inf, x.dtype)) if x.dtype in _FLOATS else _false(x)


def isreal(x):
    x = _t(x)
    if x.dtype in _COMPLEX:
        return tf.equal(tf.math.imag(x), 0)
    return tf.ones(tf.shape(x), _BOOL)


def signbit(x):
    x = _t(x)
    if x.dtype is _BOOL or x.dtype.is_unsigned:
        return _false(x)
    if x.dtype in _FLOATS:
        return tf.bitcast(x, _BITS[x.dtype]) < 0
    return x < 0


def isclose(x1, x2, rtol=1e-05, atol=1e-08, equal_nan=False):
    a, b = _promote(x1, x2)
    if a.dtype not in _FLOATS:
        a, b = tf.cast(a, tf.float64), tf.cast(b, tf.float64)
    tol = tf.constant(atol, a.dtype) + tf.constant(rtol, a.dtype) * tf.abs(b)
    finite = tf.math.is_finite(a) & tf.math.is_finite(b)
    close = tf.where(finite, tf.abs(a - b) <= tol, tf.equal(a, b))
    if equal_nan:
        close = close | (tf.math.is_nan(a) & tf.math.is_nan(b))
    return close


def allclose(x1, x2, rtol=1e-05, atol=1e-08, equal_nan=False):
    return tf.reduce_all(isclose(x1, x2, rtol, atol, equal_nan))


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    x = _t(x)
    if x.dtype in _COMPLEX:
        return tf.complex(nan_to_num(tf.math.real(x), nan, posinf, neginf),
                          nan_to_num(tf.math.imag(x), nan, posinf, neginf))
    if x.dtype not in _FLOATS:
        return tf.identity(x)
    lo, hi = dtypes.value_range(x.dtype.name)
    d = x.dtype
    out = tf.where(tf.math.is_nan(x), tf.constant(nan, d), x)
    out = tf.where(tf.equal(out, np.inf), tf.constant(hi if posinf is None else posinf, d), out)
    return tf.where(tf.equal(out, -np.inf), tf.constant(lo if neginf is None else neginf, d), out)


def saturate_cast(x, dtype):
    name_out = dtypes.standardize_dtype(dtype)
    target = _TF[name_out]
    x = _t(x)
    name_in = x.dtype.name
    if name_out == "bool" or name_in == "bool":
        return tf.cast(x, target)
    lo, hi = dtypes.value_range(name_out)
    ilo, ihi = dtypes.value_range(name_in)
    if ilo >= lo and ihi <= hi:
        return tf.cast(x, target)
    if x.dtype in _FLOATS:
        v = tf.cast(x, tf.float64)
        out = tf.cast(tf.clip_by_value(v, float(lo), float(hi)), target)
        if target.is_integer:   # float64(hi) may round above hi: pin the top
            out = tf.where(v >= float(hi), tf.constant(hi, target), out)
        return out
    return tf.cast(tf.clip_by_value(x, tf.constant(builtins.max(ilo, lo), x.dtype),
                                    tf.constant(builtins.min(ihi, hi), x.dtype)), target)



name_broadcast_errors(globals(), (ValueError, tf.errors.InvalidArgumentError))

# Every op of the family is implemented here: export the family's list.
from unikeras.common.ops.elementwise import __all__  # noqa: E402,F401
