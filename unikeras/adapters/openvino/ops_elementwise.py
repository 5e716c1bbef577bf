"""OpenVINO graph builders for the common float math of the elementwise family.

Covered: trigonometric and hyperbolic functions, rounding, erf, the log/exp variants,
reciprocal, rsqrt, logical ops, NaN/inf classification, floor_divide, mod, fmod,
true_divide and divide_no_nan. The rest of the family (bitwise ops, gcd, special
functions, ...) is not offered on this inference backend.
"""
import math

import numpy as np
import openvino.opset16 as ovo

from unikeras.adapters.openvino.ops import (
    _as, _cast, _constant, _float, _graph_op, _promote, _shape, as_output, divide, dtype_name)
from unikeras import config
from unikeras.common import dtypes
from unikeras.common.ops.shapes import broadcast_shapes


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


def _int_pair(name, x1, x2):
    a, b, dtype = _promote(x1, x2)
    broadcast_shapes(name, _shape(a), _shape(b))
    if dtype == "bool":
        a, b, dtype = _cast(a, "int8"), _cast(b, "int8"), "int8"
    return a, b, dtype


@_graph_op
def floor_divide(x1, x2):
    a, b, dtype = _int_pair("floor_divide", x1, x2)
    if dtypes.is_float(dtype):
        return ovo.floor(ovo.divide(a, b)).output(0)
    # (a - floor_mod(a, b)) is an exact multiple of b: the quotient is exact.
    return ovo.divide(ovo.subtract(a, ovo.floor_mod(a, b)), b).output(0)


@_graph_op
def mod(x1, x2):
    a, b, _ = _int_pair("mod", x1, x2)
    return ovo.floor_mod(a, b).output(0)


@_graph_op
def fmod(x1, x2):
    a, b, _ = _int_pair("fmod", x1, x2)
    return ovo.mod(a, b).output(0)


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


__all__ = [
    "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "arcsinh", "arccosh",
    "arctanh", "floor", "ceil", "erf", "fabs", "log1p", "expm1", "log2", "log10", "reciprocal",
    "rsqrt", "trunc", "round", "copy", "true_divide", "floor_divide", "mod", "fmod",
    "divide_no_nan", "logical_and", "logical_or", "logical_xor", "logical_not",
    "isnan", "isinf", "isfinite", "isposinf", "isneginf",
]
