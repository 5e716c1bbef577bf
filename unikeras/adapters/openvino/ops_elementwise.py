"""OpenVINO graph builders for the common float math of the elementwise family.

Covered: trigonometric and hyperbolic functions (arctan2 included), rounding, the log/exp
variants (logaddexp, exp2, ldexp, ...), cbrt, hypot, sinc, erf / erfc / erfinv / i0,
reciprocal, rsqrt, logical and bitwise ops (shifts included), gcd / lcm, fmax / fmin,
heaviside, nextafter, NaN/inf classification, signbit, isclose / allclose, nan_to_num,
floor_divide, mod, fmod, true_divide and divide_no_nan. Not offered here: the complex-number
ops and saturate_cast.

OpenVINO has no fused node for several of these; they are built from exact or float32-accurate
formulas (noted at each op). Half-precision inputs compute in float32 and round once at the
end, as NumPy's reference does.

Limits of the CPU plugin (measured with openvino 2026.4) that no graph here can lift: float64
graphs run in float32 arithmetic; int64 runs as int32; 32-bit integer Divide / FloorMod / Mod
and comparisons go through float32, so integer division, mod, gcd and lcm are exact for
magnitudes below 2**24 only; Divide reads subnormal operands as zero (arctan2 and hypot
rescale tiny inputs first); NaN sign bits cannot be read (signbit(-nan) is False).
"""
import math

import numpy as np
import openvino as ov
from unikeras.adapters.openvino import opset as ovo

from unikeras.adapters.openvino.ops import (
    _as, _cast, _constant, _float, _graph_op, _i64, _promote, _shape, _weak_dtype, as_output,
    divide, dtype_name)
from unikeras import config
from unikeras.common import dtypes
from unikeras.common.ops import elementwise as _def
from unikeras.common.ops.shapes import broadcast_shapes
from unikeras.common.symbolic import KerasTensor


def _c(value, like):
    """Scalar constant of the dtype of Output `like`."""
    return _constant(value, dtype_name(like))


def _unary_float(ov_fn, name):
    def apply(x):
        return ov_fn(_float(x)).output(0)
    apply.__name__ = name
    return _graph_op(apply)


sin = _unary_float(ovo.sin, "sin")
cos = _unary_float(ovo.cos, "cos")
tan = _unary_float(ovo.tan, "tan")
arcsin = _unary_float(ovo.asin, "arcsin")
arccos = _unary_float(ovo.acos, "arccos")
arctan = _unary_float(ovo.atan, "arctan")
sinh = _unary_float(ovo.sinh, "sinh")
cosh = _unary_float(ovo.cosh, "cosh")
arcsinh = _unary_float(ovo.asinh, "arcsinh")
arccosh = _unary_float(ovo.acosh, "arccosh")
arctanh = _unary_float(ovo.atanh, "arctanh")
floor = _unary_float(ovo.floor, "floor")
ceil = _unary_float(ovo.ceiling, "ceil")
erf = _unary_float(ovo.erf, "erf")
fabs = _unary_float(ovo.abs, "fabs")


@_graph_op
def log1p(x):
    # log(u) * x / (u - 1) with u = 1 + x cancels the rounding of u (Goldberg's trick).
    o = _float(x)
    u = ovo.add(o, _c(1.0, o)).output(0)
    um1 = ovo.subtract(u, _c(1.0, o)).output(0)
    exact = ovo.equal(um1, _c(0.0, o)).output(0)
    safe = ovo.select(exact, _c(1.0, o), um1).output(0)
    corrected = ovo.multiply(ovo.log(u), ovo.divide(o, safe)).output(0)
    big = ovo.is_inf(u).output(0)   # x = inf: keep log(u)
    out = ovo.select(big, ovo.log(u), corrected).output(0)
    return ovo.select(exact, o, out).output(0)


@_graph_op
def expm1(x):
    # (u - 1) * x / log(u) with u = exp(x) (Kahan's trick); x itself where u rounds to 1.
    o = _float(x)
    u = ovo.exp(o).output(0)
    um1 = ovo.subtract(u, _c(1.0, o)).output(0)
    lu = ovo.log(u).output(0)
    one = ovo.equal(u, _c(1.0, o)).output(0)
    special = ovo.logical_or(ovo.equal(um1, _c(-1.0, o)), ovo.is_inf(u)).output(0)
    safe = ovo.select(one, _c(1.0, o), lu).output(0)
    corrected = ovo.multiply(um1, ovo.divide(o, safe)).output(0)
    out = ovo.select(special, um1, corrected).output(0)
    return ovo.select(one, o, out).output(0)


@_graph_op
def log2(x):
    o = _float(x)
    return ovo.divide(ovo.log(o), _c(math.log(2.0), o)).output(0)


@_graph_op
def log10(x):
    o = _float(x)
    return ovo.divide(ovo.log(o), _c(math.log(10.0), o)).output(0)


@_graph_op
def reciprocal(x):
    o = _float(x)
    return ovo.divide(_c(1.0, o), o).output(0)


@_graph_op
def rsqrt(x):
    o = _float(x)
    return ovo.divide(_c(1.0, o), ovo.sqrt(o)).output(0)


@_graph_op
def trunc(x):
    o = as_output(x)
    if not dtypes.is_float(dtype_name(o)):
        return o
    return ovo.multiply(ovo.sign(o), ovo.floor(ovo.abs(o))).output(0)


@_graph_op
def round(x, decimals=0):
    o = as_output(x)
    d = dtype_name(o)
    if d == "bool" or (dtypes.is_int(d) and decimals >= 0):
        return o
    if dtypes.is_int(d):
        f = _constant(10.0 ** (-decimals), "float32")
        v = ovo.round(ovo.divide(_cast(o, "float32"), f), "half_to_even")
        return _cast(ovo.multiply(v, f).output(0), d)
    if decimals == 0:
        return ovo.round(o, "half_to_even").output(0)
    f = _c(10.0 ** decimals, o)
    return ovo.divide(ovo.round(ovo.multiply(o, f), "half_to_even"), f).output(0)


@_graph_op
def copy(x):
    # An explicit node (not the input itself), so the result can be a distinct model output.
    o = as_output(x)
    return ovo.convert(o, o.get_element_type()).output(0)


# --- division ------------------------------------------------------------------------------
true_divide = divide


def _int_pair(name, x1, x2, bool_as="int8"):
    a, b, dtype = _promote(x1, x2)
    broadcast_shapes(name, _shape(a), _shape(b))
    if dtype == "bool":  # the dtype of the symbolic rule for bool operands
        a, b, dtype = _cast(a, bool_as), _cast(b, bool_as), bool_as
    return a, b, dtype


def _bool_as(name):
    """The dtype the op's symbolic rule gives two bool operands."""
    flag = KerasTensor((), "bool")
    return getattr(_def, name).rule(flag, flag).dtype


def _int_by_zero(fn, a, b, dtype):
    """`fn(a, b)` for integers with 0 where b == 0, as NumPy gives (the CPU would give
    INT_MIN); floats pass through (inf / NaN from the node itself)."""
    if dtypes.is_float(dtype):
        return fn(a, b)
    zero = _constant(0, dtype)
    b0 = ovo.equal(b, zero).output(0)
    return _select(b0, zero, fn(a, _select(b0, _constant(1, dtype), b)))


@_graph_op
def floor_divide(x1, x2):
    a, b, dtype = _int_pair("floor_divide", x1, x2, _bool_as("floor_divide"))
    if dtypes.is_float(dtype):
        return ovo.floor(ovo.divide(a, b)).output(0)
    # (a - floor_mod(a, b)) is an exact multiple of b: the quotient is exact.
    return _int_by_zero(lambda p, q: ovo.divide(ovo.subtract(p, ovo.floor_mod(p, q)), q).output(0),
                        a, b, dtype)


@_graph_op
def mod(x1, x2):
    a, b, dtype = _int_pair("mod", x1, x2, _bool_as("mod"))
    return _int_by_zero(lambda p, q: ovo.floor_mod(p, q).output(0), a, b, dtype)


@_graph_op
def fmod(x1, x2):
    a, b, dtype = _int_pair("fmod", x1, x2, _bool_as("fmod"))
    return _int_by_zero(lambda p, q: ovo.mod(p, q).output(0), a, b, dtype)


@_graph_op
def divide_no_nan(x1, x2):
    a, b, dtype = _promote(x1, x2)
    broadcast_shapes("divide_no_nan", _shape(a), _shape(b))
    if not dtypes.is_float(dtype):
        a, b = _cast(a, config.floatx()), _cast(b, config.floatx())
    zero = ovo.equal(b, _c(0.0, b)).output(0)
    q = ovo.divide(a, ovo.select(zero, _c(1.0, b), b)).output(0)
    return ovo.select(zero, _c(0.0, q), q).output(0)


# --- logical and predicates ----------------------------------------------------------------
def _truth(x):
    o = as_output(x)
    if dtype_name(o) == "bool":
        return o
    return ovo.not_equal(o, _c(0, o)).output(0)


def _logical(name, ov_fn):
    def apply(x1, x2):
        a, b = _truth(x1), _truth(x2)
        broadcast_shapes(name, _shape(a), _shape(b))
        return ov_fn(a, b).output(0)
    apply.__name__ = name
    return _graph_op(apply)


logical_and = _logical("logical_and", ovo.logical_and)
logical_or = _logical("logical_or", ovo.logical_or)
logical_xor = _logical("logical_xor", ovo.logical_xor)


@_graph_op
def logical_not(x):
    return ovo.logical_not(_truth(x)).output(0)


def _fill_bool(o, value):
    return ovo.broadcast(_as(np.asarray(value), "bool"), ovo.shape_of(o)).output(0)


def _float_pred(name, ov_fn, other):
    def apply(x):
        o = as_output(x)
        if not dtypes.is_float(dtype_name(o)):
            return _fill_bool(o, other)
        return ov_fn(o).output(0)
    apply.__name__ = name
    return _graph_op(apply)


isnan = _float_pred("isnan", ovo.is_nan, False)
isinf = _float_pred("isinf", ovo.is_inf, False)
isfinite = _float_pred("isfinite", ovo.is_finite, True)
isposinf = _float_pred(
    "isposinf", lambda o: ovo.is_inf(o, {"detect_negative": False, "detect_positive": True}), False)
isneginf = _float_pred(
    "isneginf", lambda o: ovo.is_inf(o, {"detect_negative": True, "detect_positive": False}), False)


# --- helpers for the formula-built ops ------------------------------------------------------
_HALF = ("float16", "bfloat16")


def _wide(o):
    """`o` (float) for computing: half precision widened to float32 (rounded back by _narrow)."""
    return _cast(o, "float32") if dtype_name(o) in _HALF else o


def _narrow(o, dtype):
    return _cast(o, dtype)


def _select(cond, a, b):
    return ovo.select(cond, a, b).output(0)


def _or(*conds):
    out = conds[0]
    for c in conds[1:]:
        out = ovo.logical_or(out, c).output(0)
    return out


def _and(*conds):
    out = conds[0]
    for c in conds[1:]:
        out = ovo.logical_and(out, c).output(0)
    return out


def _float_of(x):
    """`x` as a float Output: float tensors keep their dtype, integers, bools and Python
    numbers become floatx (Python scalars weak, as `convert_to_tensor` reads them)."""
    d = dtypes.result_type(_weak_dtype(x))
    return _as(x, d if dtypes.is_float(d) else config.floatx())


def _float_pair(name, x1, x2):
    """Promoted operands made float (floatx for integers and bools), shapes checked."""
    a, b, dtype = _promote(x1, x2)
    broadcast_shapes(name, _shape(a), _shape(b))
    if not dtypes.is_float(dtype):
        a, b, dtype = _cast(a, config.floatx()), _cast(b, config.floatx()), config.floatx()
    return a, b, dtype


def _unary_formula(name, formula):
    """A float op computed by `formula(o)` on the widened input, rounded back once."""
    def apply(x):
        o = _float(x)
        d = dtype_name(o)
        return _narrow(formula(_wide(o)), d)
    apply.__name__ = name
    return _graph_op(apply)


def _binary_formula(name, formula):
    def apply(x1, x2):
        a, b, d = _float_pair(name, x1, x2)
        return _narrow(formula(_wide(a), _wide(b)), d)
    apply.__name__ = name
    return _graph_op(apply)


def _negative_sign(o):
    """True where float `o` has its sign bit set, -0.0 and -inf included (1 / -0.0 = -inf).
    OpenVINO cannot read the sign bit of a NaN: NaNs count as positive."""
    zero = _c(0.0, o)
    return _or(ovo.less(o, zero).output(0),
               _and(ovo.equal(o, zero).output(0),
                    ovo.less(ovo.divide(_c(1.0, o), o), zero).output(0)))


def _copysign(value, neg, like):
    """The constant |value| carrying the sign given by the bool `neg`."""
    return _select(neg, _c(-abs(value), like), _c(abs(value), like))


# --- trigonometric -------------------------------------------------------------------------
def _rescale_tiny(a, b):
    """(a, b) times 2**64 where both are below 2**-60: the CPU plugin's Divide reads
    subnormal operands as zero. Returns the scaled pair and the factor to undo it."""
    hi = ovo.maximum(ovo.abs(a), ovo.abs(b)).output(0)
    tiny = ovo.less(hi, _c(2.0 ** -60, hi)).output(0)
    up = _select(tiny, _c(2.0 ** 64, hi), _c(1.0, hi))
    down = _select(tiny, _c(2.0 ** -64, hi), _c(1.0, hi))
    return ovo.multiply(a, up).output(0), ovo.multiply(b, up).output(0), down


def _arctan2(y, x):
    # atan(y / x) moved to the right quadrant; the zero and infinite cases follow C's atan2.
    y, x, _ = _rescale_tiny(y, x)
    both_inf = _and(ovo.is_inf(x).output(0), ovo.is_inf(y).output(0))
    xs = _select(both_inf, ovo.sign(x).output(0), x)
    ys = _select(both_inf, ovo.sign(y).output(0), y)
    r = ovo.atan(ovo.divide(ys, xs)).output(0)
    neg_y, neg_x = _negative_sign(y), _negative_sign(x)
    r = _select(neg_x, ovo.add(r, _copysign(math.pi, neg_y, y)).output(0), r)
    r = _select(ovo.equal(x, _c(0.0, x)).output(0), _copysign(math.pi / 2, neg_y, y), r)
    # y == +-0: +-0 to the right (x > 0 or x = +0), +-pi to the left (x < 0 or x = -0).
    return _select(ovo.equal(y, _c(0.0, y)).output(0),
                   _select(neg_x, _copysign(math.pi, neg_y, y), y), r)


arctan2 = _binary_formula("arctan2", _arctan2)
deg2rad = _unary_formula("deg2rad", lambda o: ovo.multiply(o, _c(math.pi / 180.0, o)).output(0))
rad2deg = _unary_formula("rad2deg", lambda o: ovo.multiply(o, _c(180.0 / math.pi, o)).output(0))


def _hypot(a, b):
    # max * sqrt(1 + (min / max)**2): no overflow of the squares; inf wins over NaN.
    a, b, down = _rescale_tiny(ovo.abs(a).output(0), ovo.abs(b).output(0))
    hi, lo = ovo.maximum(a, b).output(0), ovo.minimum(a, b).output(0)
    zero = ovo.equal(hi, _c(0.0, hi)).output(0)
    q = ovo.divide(lo, _select(zero, _c(1.0, hi), hi)).output(0)
    r = ovo.multiply(hi, ovo.sqrt(ovo.add(_c(1.0, q), ovo.multiply(q, q)))).output(0)
    r = ovo.multiply(r, down).output(0)
    r = _select(_or(ovo.is_nan(a).output(0), ovo.is_nan(b).output(0)), _c(math.nan, r), r)
    return _select(_or(ovo.is_inf(a).output(0), ovo.is_inf(b).output(0)), _c(math.inf, r), r)


hypot = _binary_formula("hypot", _hypot)


def _sinc(o):
    # 1 below |x| = 1e-8 (sinc(x) = 1 - (pi x)**2 / 6 + ...): no division by tiny numbers.
    zero = ovo.less(ovo.abs(o), _c(1e-8, o)).output(0)
    y = ovo.multiply(_select(zero, _c(1.0, o), o), _c(math.pi, o)).output(0)
    return _select(zero, _c(1.0, o), ovo.divide(ovo.sin(y), y).output(0))


sinc = _unary_formula("sinc", _sinc)


# --- exponents and logarithms --------------------------------------------------------------
exp2 = _unary_formula("exp2", lambda o: ovo.power(_c(2.0, o), o).output(0))


def _cbrt(o):
    # sign(x) |x|**(1/3), then one Newton step on y**3 = x (exact cubes come out exact).
    y = ovo.multiply(ovo.sign(o), ovo.power(ovo.abs(o), _c(1.0 / 3.0, o))).output(0)
    y2 = ovo.multiply(y, y).output(0)
    step = ovo.divide(ovo.subtract(ovo.multiply(y2, y), o), ovo.multiply(y2, _c(3.0, o)))
    better = ovo.subtract(y, step).output(0)
    better = _select(ovo.is_nan(better).output(0), y, better)
    # Zeros (signed) and infinities are their own cube roots.
    keep = _or(ovo.equal(o, _c(0.0, o)).output(0), ovo.is_inf(o).output(0))
    return _select(keep, o, better)


cbrt = _unary_formula("cbrt", _cbrt)


def _logaddexp(a, b, base2):
    # max + log1p(exp(-|a - b|)) (base 2: max + log1p(2**-|a - b|) / ln 2); a == b (also
    # both infinite) gives a + log(2); NaN in, NaN out.
    hi = ovo.maximum(a, b).output(0)
    d = ovo.negative(ovo.abs(ovo.subtract(a, b))).output(0)
    if base2:
        e = ovo.exp(ovo.multiply(d, _c(math.log(2.0), d))).output(0)
        r = ovo.add(hi, ovo.divide(log1p(e), _c(math.log(2.0), d))).output(0)
        same = ovo.add(a, _c(1.0, a)).output(0)
    else:
        r = ovo.add(hi, log1p(ovo.exp(d).output(0))).output(0)
        same = ovo.add(a, _c(math.log(2.0), a)).output(0)
    r = _select(ovo.equal(a, b).output(0), same, r)
    return _select(_or(ovo.is_nan(a).output(0), ovo.is_nan(b).output(0)),
                   ovo.add(a, b).output(0), r)


logaddexp = _binary_formula("logaddexp", lambda a, b: _logaddexp(a, b, False))
logaddexp2 = _binary_formula("logaddexp2", lambda a, b: _logaddexp(a, b, True))


@_graph_op
def ldexp(x1, x2):
    # x1 * 2**e1 * 2**e2 with e1 + e2 = x2: powers of two are exact, and the split keeps
    # 2**x2 from overflowing where the product does not.
    e = as_output(x2) if not isinstance(x2, (bool, int)) else _as(x2, "int32")
    if not (dtypes.is_int(dtype_name(e)) or dtype_name(e) == "bool"):
        raise TypeError(f"ldexp: the exponent x2 must be an integer, got {dtype_name(e)}.")
    a = _float_of(x1)
    d = dtype_name(a)
    broadcast_shapes("ldexp", _shape(a), _shape(e))
    w = _wide(a)
    e = ovo.clamp(_cast(e, "int32") if dtype_name(e) != "int64" else e, -2400, 2400).output(0)
    e1 = ovo.floor_mod(e, _constant(2, dtype_name(e))).output(0)   # 0 or 1
    e1 = ovo.divide(ovo.subtract(e, e1), _constant(2, dtype_name(e))).output(0)  # floor(e / 2)
    e2 = ovo.subtract(e, e1).output(0)
    two = _c(2.0, w)
    p1 = ovo.power(two, _cast(e1, dtype_name(w))).output(0)
    p2 = ovo.power(two, _cast(e2, dtype_name(w))).output(0)
    return _narrow(ovo.multiply(ovo.multiply(w, p1), p2).output(0), d)


# --- special functions ---------------------------------------------------------------------
def _poly(t, coefs):
    """Horner evaluation of sum(coefs[i] * t**i)."""
    p = _c(coefs[-1], t)
    for c in reversed(coefs[:-1]):
        p = ovo.add(ovo.multiply(p, t), _c(c, t)).output(0)
    return p


# Chebyshev-fitted erfc (Numerical Recipes' erfcc, fractional error < 1.2e-7 everywhere):
# erfc(z) = t * exp(-z*z + P(t)), t = 1 / (1 + z / 2), z >= 0; erfc(-z) = 2 - erfc(z).
_ERFC = (-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807,
         -1.13520398, 1.48851587, -0.82215223, 0.17087277)


def _erfc(o):
    z = ovo.abs(o).output(0)
    t = ovo.divide(_c(1.0, z), ovo.add(_c(1.0, z), ovo.multiply(z, _c(0.5, z)))).output(0)
    # exp(-z*z) as exp(-zh*zh) * exp(-(z - zh)(z + zh)) with zh = z cut to 8 fraction bits:
    # zh*zh is exact, so the large exponent carries no rounding error.
    zh = ovo.divide(ovo.floor(ovo.multiply(z, _c(256.0, z))), _c(256.0, z)).output(0)
    low = ovo.multiply(ovo.subtract(z, zh), ovo.add(z, zh)).output(0)
    big = ovo.exp(ovo.negative(ovo.multiply(zh, zh))).output(0)
    r = ovo.multiply(t, ovo.multiply(big, ovo.exp(ovo.subtract(_poly(t, _ERFC), low)))).output(0)
    r = _select(ovo.less(o, _c(0.0, o)).output(0), ovo.subtract(_c(2.0, r), r).output(0), r)
    # Near 0 (erf < 0.5, no cancellation) 1 - erf is exact to float32 rounding.
    small = ovo.less(z, _c(0.47, z)).output(0)
    r = _select(small, ovo.subtract(_c(1.0, o), ovo.erf(o)).output(0), r)
    return _select(ovo.is_inf(o).output(0),
                   _select(ovo.less(o, _c(0.0, o)).output(0), _c(2.0, o), _c(0.0, o)), r)


erfc = _unary_formula("erfc", _erfc)

# Giles' single-precision erfinv ("Approximating the erfinv function", 2010): polynomials in
# w = -log((1 - y)(1 + y)), central (w < 5) and tail branches. opset17's ErfInv node loses up
# to 2e-3 relative in the tails, so the formula is used instead.
_ERFINV_CENTRAL = (1.50140941, 0.246640727, -0.00417768164, -0.00125372503, 0.00021858087,
                   -4.39150654e-06, -3.5233877e-06, 3.43273939e-07, 2.81022636e-08)
_ERFINV_TAIL = (2.83297682, 1.00167406, 0.00943887047, -0.0076224613, 0.00573950773,
                -0.00367342844, 0.00134934322, 0.000100950558, -0.000200214257)


def _erfinv(o):
    one = _c(1.0, o)
    w = ovo.negative(ovo.log(ovo.multiply(ovo.subtract(one, o), ovo.add(one, o)))).output(0)
    central = _poly(ovo.subtract(w, _c(2.5, w)).output(0), _ERFINV_CENTRAL)
    tail_w = ovo.subtract(ovo.sqrt(_select(ovo.is_inf(w).output(0), _c(25.0, w), w)),
                          _c(3.0, w)).output(0)
    tail = _poly(tail_w, _ERFINV_TAIL)
    p = _select(ovo.less(w, _c(5.0, w)).output(0), central, tail)
    r = ovo.multiply(p, o).output(0)
    a = ovo.abs(o).output(0)
    r = _select(ovo.equal(a, one).output(0), ovo.multiply(o, _c(math.inf, o)).output(0), r)
    return _select(ovo.greater(a, one).output(0), _c(math.nan, o), r)


erfinv = _unary_formula("erfinv", _erfinv)

# Abramowitz & Stegun 9.8.1 / 9.8.2: I0 on |x| <= 3.75 (|error| < 1.6e-7, I0 >= 1) and
# sqrt(|x|) exp(-|x|) I0 beyond (|error| < 1.9e-7).
_I0_SMALL = (1.0, 3.5156229, 3.0899424, 1.2067492, 0.2659732, 0.0360768, 0.0045813)
_I0_LARGE = (0.39894228, 0.01328592, 0.00225319, -0.00157565, 0.00916281, -0.02057706,
             0.02635537, -0.01647633, 0.00392377)


def _i0(o):
    a = ovo.abs(o).output(0)
    small = ovo.less_equal(a, _c(3.75, a)).output(0)
    u = ovo.divide(a, _c(3.75, a)).output(0)
    r_small = _poly(ovo.multiply(u, u).output(0), _I0_SMALL)
    safe = _select(small, _c(3.75, a), a)
    half = ovo.exp(ovo.multiply(safe, _c(0.5, a))).output(0)  # exp(|x|) in two halves
    p = _poly(ovo.divide(_c(3.75, a), safe).output(0), _I0_LARGE)
    r_large = ovo.multiply(half, ovo.multiply(half, ovo.divide(p, ovo.sqrt(safe)))).output(0)
    # The large-|x| formula is inf * 0 = NaN at +-inf, where I0 is inf.
    return _select(ovo.is_inf(o).output(0), _c(math.inf, o), _select(small, r_small, r_large))


i0 = _unary_formula("i0", _i0)


# --- division, extremes, steps -------------------------------------------------------------
def _nan_aware(name, pick, bool_fn):
    def apply(x1, x2):
        a, b, dtype = _promote(x1, x2)
        broadcast_shapes(name, _shape(a), _shape(b))
        if dtype == "bool":
            return bool_fn(a, b).output(0)
        r = pick(a, b).output(0)
        if not dtypes.is_float(dtype):
            return r
        # NaN only where both are NaN: take the other operand where one is NaN.
        r = _select(ovo.is_nan(b).output(0), a, r)
        return _select(ovo.is_nan(a).output(0), b, r)
    apply.__name__ = name
    return _graph_op(apply)


fmax = _nan_aware("fmax", ovo.maximum, ovo.logical_or)
fmin = _nan_aware("fmin", ovo.minimum, ovo.logical_and)


def _heaviside(a, b):
    zero = _c(0.0, a)
    r = _select(ovo.is_nan(a).output(0), a, b)
    r = _select(ovo.greater(a, zero).output(0), _c(1.0, a), r)
    return _select(ovo.less(a, zero).output(0), zero, r)


heaviside = _binary_formula("heaviside", _heaviside)


# --- integer ops ---------------------------------------------------------------------------
def _ints(name, x, y, allow_bool=True):
    a, b, dtype = _promote(x, y)
    if not (dtypes.is_int(dtype) or (allow_bool and dtype == "bool")):
        kinds = "integer or bool" if allow_bool else "integer"
        raise TypeError(f"{name}: needs {kinds} inputs, got {dtype}.")
    broadcast_shapes(name, _shape(a), _shape(b))
    return a, b, dtype


def _bitwise(name, ov_fn):
    def apply(x, y):
        a, b, _ = _ints(name, x, y)
        return ov_fn(a, b).output(0)
    apply.__name__ = name
    return _graph_op(apply)


bitwise_and = _bitwise("bitwise_and", ovo.bitwise_and)
bitwise_or = _bitwise("bitwise_or", ovo.bitwise_or)
bitwise_xor = _bitwise("bitwise_xor", ovo.bitwise_xor)


def _invert(name):
    def apply(x):
        o = as_output(x)
        d = dtype_name(o)
        if not (dtypes.is_int(d) or d == "bool"):
            raise TypeError(f"{name}: needs integer or bool input, got {d}.")
        return ovo.bitwise_not(o).output(0)
    apply.__name__ = name
    return _graph_op(apply)


bitwise_invert = _invert("bitwise_invert")
bitwise_not = _invert("bitwise_not")


def _shift(name, left):
    def apply(x, y):
        a, b, dtype = _ints(name, x, y)
        if dtype == "bool":
            a, b, dtype = _cast(a, "int8"), _cast(b, "int8"), "int8"
        out = (ovo.bitwise_left_shift if left else ovo.bitwise_right_shift)(a, b).output(0)
        # Shifts by the bit width or more (or negative ones) give 0, or -1 for a right shift
        # of a negative number, as in NumPy; the CPU would take the shift modulo 32.
        bits = np.dtype(dtype).itemsize * 8
        zero = _constant(0, dtype)
        oob = ovo.greater_equal(b, _constant(bits, dtype)).output(0)
        if not dtype.startswith("uint"):
            oob = _or(oob, ovo.less(b, zero).output(0))
        if left or dtype.startswith("uint"):
            fill = zero
        else:
            fill = _select(ovo.less(a, zero).output(0), _constant(-1, dtype), zero)
        return _select(oob, fill, out)
    apply.__name__ = name
    return _graph_op(apply)


left_shift = _shift("left_shift", True)
right_shift = _shift("right_shift", False)
bitwise_left_shift = _shift("bitwise_left_shift", True)
bitwise_right_shift = _shift("bitwise_right_shift", False)


def _gcd_abs(a, b, dtype):
    """gcd of |a| and |b| by Euclid's algorithm in a Loop node of 1.44 * bits + 2 steps (Lame's
    bound: no pair of the dtype's values needs more); the loop ends early once every remainder
    is 0. Exact as far as the CPU's integer FloorMod is (see the module docstring)."""
    if not dtype.startswith("uint"):
        a, b = ovo.abs(a).output(0), ovo.abs(b).output(0)
    # Both operands at their broadcast shape (integer + 0 is exact).
    a, b = (ovo.add(a, ovo.multiply(b, _constant(0, dtype))).output(0),
            ovo.add(b, ovo.multiply(a, _constant(0, dtype))).output(0))
    steps = int(1.4405 * np.dtype(dtype).itemsize * 8) + 2
    pa = ovo.parameter(a.get_partial_shape(), a.get_element_type())
    pb = ovo.parameter(b.get_partial_shape(), b.get_element_type())
    ba, bb = pa.output(0), pb.output(0)
    zero, one = _constant(0, dtype), _constant(1, dtype)
    nz = ovo.not_equal(bb, zero).output(0)
    bs = _select(nz, bb, one)
    r = ovo.floor_mod(ba, bs).output(0)
    na, nb = _select(nz, bb, ba), _select(nz, r, zero)
    more = ovo.reduce_logical_or(
        ovo.reshape(ovo.not_equal(nb, zero), _i64([-1]), False), _i64([0]), False).output(0)
    body = ov.Model([more, na, nb], [pa, pb], "gcd_step")
    loop = ovo.loop(_i64(steps), _constant(True, "bool"))
    loop.set_function(body)
    loop.set_special_body_ports([-1, 0])
    loop.set_merged_input(pa, a, na)
    loop.set_merged_input(pb, b, nb)
    return loop.get_iter_value(na, -1)


@_graph_op
def gcd(x1, x2):
    a, b, dtype = _ints("gcd", x1, x2, allow_bool=False)
    return _gcd_abs(a, b, dtype)


@_graph_op
def lcm(x1, x2):
    a, b, dtype = _ints("lcm", x1, x2, allow_bool=False)
    g = _gcd_abs(a, b, dtype)
    zero = _constant(0, dtype)
    if not dtype.startswith("uint"):
        a, b = ovo.abs(a).output(0), ovo.abs(b).output(0)
    g0 = ovo.equal(g, zero).output(0)
    q = ovo.divide(a, _select(g0, _constant(1, dtype), g)).output(0)  # g divides a
    return _select(g0, zero, ovo.multiply(q, b).output(0))


# --- classification, comparison, cleaning --------------------------------------------------
@_graph_op
def signbit(x):
    o = as_output(x)
    d = dtype_name(o)
    if d == "bool" or d.startswith("uint"):
        return _fill_bool(o, False)
    if dtypes.is_int(d):
        return ovo.less(o, _constant(0, d)).output(0)
    return _negative_sign(o)


def _isclose(name, x1, x2, rtol, atol, equal_nan):
    a, b, dtype = _promote(x1, x2)
    broadcast_shapes(name, _shape(a), _shape(b))
    if dtype == "bool":
        a, b, dtype = _cast(a, "int8"), _cast(b, "int8"), "int8"
    same = ovo.equal(a, b).output(0)
    if not dtypes.is_float(dtype):  # NumPy compares integers in floating point
        a, b = _cast(a, "float32" if np.dtype(dtype).itemsize < 4 else "float64"), \
            _cast(b, "float32" if np.dtype(dtype).itemsize < 4 else "float64")
    diff = ovo.abs(ovo.subtract(a, b)).output(0)
    bound = ovo.add(_c(atol, b), ovo.multiply(_c(rtol, b), ovo.abs(b))).output(0)
    close = _and(ovo.less_equal(diff, bound).output(0), ovo.is_finite(a).output(0),
                 ovo.is_finite(b).output(0))
    out = _or(same, close)
    if equal_nan:
        out = _or(out, _and(ovo.is_nan(a).output(0), ovo.is_nan(b).output(0)))
    return out


@_graph_op
def isclose(x1, x2, rtol=1e-05, atol=1e-08, equal_nan=False):
    return _isclose("isclose", x1, x2, rtol, atol, equal_nan)


@_graph_op
def allclose(x1, x2, rtol=1e-05, atol=1e-08, equal_nan=False):
    c = _isclose("allclose", x1, x2, rtol, atol, equal_nan)
    rank = len(_shape(c))
    if not rank:
        return c
    return ovo.reduce_logical_and(c, _i64(list(range(rank))), False).output(0)


def _extreme(dtype, high):
    if dtype == "bfloat16":
        v = 3.3895313892515355e38
    else:
        v = float(np.finfo(dtype).max)
    return v if high else -v


@_graph_op
def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    o = as_output(x)
    d = dtype_name(o)
    if not dtypes.is_float(d):
        return o
    pos = _extreme(d, True) if posinf is None else posinf
    neg = _extreme(d, False) if neginf is None else neginf
    r = _select(ovo.is_inf(o, {"detect_negative": False, "detect_positive": True}).output(0),
                _as(pos, d), o)
    r = _select(ovo.is_inf(o, {"detect_negative": True, "detect_positive": False}).output(0),
                _as(neg, d), r)
    return _select(ovo.is_nan(o).output(0), _as(nan, d), r)


# --- nextafter -------------------------------------------------------------------------------
# (mantissa bits, smallest normal exponent) of the float formats; values of every one of them
# are exact in float32, where the neighbours are built: x +- 2**(e - mantissa) is exact.
_FORMATS = {"float32": (23, -126), "float16": (10, -14), "bfloat16": (7, -126),
            "float64": (23, -126)}  # float64 graphs run in float32 arithmetic on the CPU


def _nextafter(a, b, dtype):
    m, emin = _FORMATS[dtype]
    x, y = _cast(a, "float32"), _cast(b, "float32")
    ax = ovo.abs(x).output(0)
    two = _c(2.0, x)
    # e = floor(log2 |x|), made exact by comparing with the exact power of two.
    safe = _select(ovo.less(ax, _c(2.0 ** emin, ax)).output(0), _c(2.0 ** emin, ax), ax)
    safe = _select(ovo.is_inf(ax).output(0), _c(1.0, ax), safe)
    e = ovo.floor(ovo.divide(ovo.log(safe), _c(math.log(2.0), ax))).output(0)
    p = ovo.power(two, e).output(0)
    e = _select(ovo.greater(p, safe).output(0), ovo.subtract(e, _c(1.0, e)).output(0), e)
    p = ovo.power(two, e).output(0)
    e = _select(ovo.less_equal(ovo.multiply(p, two), safe).output(0),
                ovo.add(e, _c(1.0, e)).output(0), e)
    p = ovo.power(two, e).output(0)
    away = ovo.power(two, ovo.subtract(e, _c(float(m), e))).output(0)  # spacing above |x|
    # Toward zero the spacing halves at a power of two, except at the smallest normal.
    at_power = _and(ovo.equal(ax, p).output(0), ovo.greater(e, _c(float(emin), e)).output(0))
    toward = _select(at_power, ovo.divide(away, two).output(0), away)
    up = ovo.greater(y, x).output(0)  # the direction of the step
    grows = ovo.logical_xor(up, ovo.less(x, _c(0.0, x))).output(0)  # |x| grows
    step = _select(grows, away, toward)
    r = _select(up, ovo.add(x, step).output(0), ovo.subtract(x, step).output(0))
    # A step onto zero keeps the sign of x (-tiny toward 0 gives -0.0).
    neg_x = ovo.less(x, _c(0.0, x)).output(0)
    r = _select(ovo.equal(r, _c(0.0, r)).output(0), _select(neg_x, _c(-0.0, x), _c(0.0, x)), r)
    # From +-0 the neighbour is the smallest subnormal, signed by the direction.
    # (Made at run time: the CPU plugin zeroes subnormal constants.)
    k = ovo.add(ovo.multiply(e, _c(0.0, e)), _c(float(emin - m), e)).output(0)
    tiny = ovo.power(two, k).output(0)
    r = _select(ovo.equal(x, _c(0.0, x)).output(0),
                _select(up, tiny, ovo.multiply(tiny, _c(-1.0, x)).output(0)), r)
    # From +-inf toward a finite y: the largest finite value.
    big = _c(float(np.finfo(np.float32).max) if dtype in ("float32", "float64", "bfloat16")
             else 65504.0, x)
    if dtype == "bfloat16":
        big = _c(3.3895313892515355e38, x)
    r = _select(ovo.is_inf(x).output(0), ovo.multiply(ovo.sign(x), big).output(0), r)
    # x == y (also +-0): NumPy gives y for float32/64 (C's nextafter), x for its own float16.
    r = _select(ovo.equal(x, y).output(0), x if dtype == "float16" else y, r)
    r = _select(_or(ovo.is_nan(x).output(0), ovo.is_nan(y).output(0)),
                ovo.add(x, y).output(0), r)
    return _cast(r, dtype)


@_graph_op
def nextafter(x1, x2):
    a, b, dtype = _float_pair("nextafter", x1, x2)
    return _nextafter(a, b, dtype)


@_graph_op
def saturate_cast(x, dtype):
    dtype = dtypes.standardize_dtype(dtype)
    o = as_output(x)
    src = dtype_name(o)
    lo, hi = dtypes.value_range(dtype)
    ilo, ihi = dtypes.value_range(src)
    if "bool" in (src, dtype) or (ilo >= lo and ihi <= hi):
        return _cast(o, dtype)
    if not dtypes.is_float(src):   # integers clamp exactly in their own type
        return _cast(ovo.minimum(ovo.maximum(o, _c(max(ilo, lo), o)), _c(min(ihi, hi), o)).output(0),
                     dtype)
    if src in ("float16", "bfloat16"):   # exact in float32, where the bounds are finer
        o, src = _cast(o, "float32"), "float32"
    f = np.dtype(src)
    top = hi
    if dtypes.is_int(dtype):   # the largest float not above hi (2**31 - 1 is not a float32)
        top = float(np.nextafter(f.type(hi), f.type(0))) if float(f.type(hi)) > hi else hi
    out = _cast(ovo.minimum(ovo.maximum(o, _c(lo, o)), _c(top, o)).output(0), dtype)
    if top != hi:   # values at or above hi saturate to hi exactly: add the missing part
        above = _cast(ovo.greater(o, _c(top, o)).output(0), dtype)
        out = ovo.add(out, ovo.multiply(above, _constant(hi - int(top), dtype))).output(0)
    return out


__all__ = [
    "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "arcsinh", "arccosh",
    "arctanh", "floor", "ceil", "erf", "fabs", "log1p", "expm1", "log2", "log10", "reciprocal",
    "rsqrt", "trunc", "round", "copy", "true_divide", "floor_divide", "mod", "fmod",
    "divide_no_nan", "logical_and", "logical_or", "logical_xor", "logical_not",
    "isnan", "isinf", "isfinite", "isposinf", "isneginf",
    "arctan2", "deg2rad", "rad2deg", "hypot", "sinc", "exp2", "cbrt", "logaddexp", "logaddexp2",
    "ldexp", "erfc", "erfinv", "i0", "fmax", "fmin", "heaviside",
    "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_invert", "bitwise_not", "left_shift",
    "right_shift", "bitwise_left_shift", "bitwise_right_shift", "gcd", "lcm",
    "signbit", "isclose", "allclose", "nan_to_num", "nextafter", "saturate_cast",
]

