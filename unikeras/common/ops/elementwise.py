"""Element-wise math, rounding, bitwise, logical and float-classification ops.

Each body is the op's symbolic rule (see `unikeras.common.ops.op`). Dtype rules:
transcendental ops compute in floating point (float inputs keep their dtype, integer and
bool inputs give `floatx`, as `sqrt` does); rounding to an integral value by `floor` and
`ceil` gives floatx for integer inputs (the Keras contract) while `trunc` and `round` keep
the dtype; binary ops promote with `dtypes.result_type` (Python scalars weak); bitwise
ops accept integers and bools only; predicates give bool.
"""
import numpy as np

from unikeras import config
from unikeras.common import dtypes
from unikeras.common.ops.op import op
from unikeras.common.ops.shapes import broadcast_shapes, dtype_of, spec
from unikeras.common.symbolic import KerasTensor

_COMPLEX_REAL = {"complex64": "float32", "complex128": "float64"}


def _float_dtype(dtype):
    return dtype if dtypes.is_float(dtype) or dtype in _COMPLEX_REAL else config.floatx()


def _same(x):
    return KerasTensor(*spec(x))


def _to_float(x):
    shape, dtype = spec(x)
    return KerasTensor(shape, _float_dtype(dtype))


def _real_float(name, x):
    shape, dtype = spec(x)
    if dtype in _COMPLEX_REAL:
        raise TypeError(f"{name}: complex input ({dtype}) is not supported.")
    return KerasTensor(shape, dtype if dtypes.is_float(dtype) else config.floatx())


def _predicate(x):
    return KerasTensor(spec(x)[0], "bool")


def _shape2(name, x1, x2):
    return broadcast_shapes(name, spec(x1)[0], spec(x2)[0])


def _promoted(x1, x2):
    return dtypes.result_type(dtype_of(x1), dtype_of(x2))


def _real_float_binary(name, x1, x2):
    """Broadcast shape and the promoted dtype made float (complex refused)."""
    return KerasTensor(_shape2(name, x1, x2),
                       _real_float(name, KerasTensor((), _promoted(x1, x2))).dtype)


def _binary_same(name, x1, x2, bool_as=None):
    dtype = _promoted(x1, x2)
    if dtype == "bool" and bool_as:
        dtype = bool_as
    return KerasTensor(_shape2(name, x1, x2), dtype)


def _binary_float(name, x1, x2):
    return KerasTensor(_shape2(name, x1, x2), _float_dtype(_promoted(x1, x2)))


def _integer_binary(name, x1, x2, allow_bool=True, bool_as=None):
    dtype = _promoted(x1, x2)
    if not (dtypes.is_int(dtype) or (allow_bool and dtype == "bool")):
        kinds = "integer or bool" if allow_bool else "integer"
        raise TypeError(f"{name}: needs {kinds} inputs, got {dtype}.")
    if dtype == "bool" and bool_as:
        dtype = bool_as
    return KerasTensor(_shape2(name, x1, x2), dtype)


# --- trigonometric and hyperbolic ----------------------------------------------------------
@op
def sin(x):
    """Element-wise sine (radians); integer inputs give floatx."""
    return _to_float(x)


@op
def cos(x):
    """Element-wise cosine (radians)."""
    return _to_float(x)


@op
def tan(x):
    """Element-wise tangent (radians)."""
    return _to_float(x)


@op
def arcsin(x):
    """Element-wise inverse sine, in [-pi/2, pi/2]; NaN outside [-1, 1]."""
    return _to_float(x)


@op
def arccos(x):
    """Element-wise inverse cosine, in [0, pi]; NaN outside [-1, 1]."""
    return _to_float(x)


@op
def arctan(x):
    """Element-wise inverse tangent, in (-pi/2, pi/2)."""
    return _to_float(x)


@op
def arctan2(x1, x2):
    """Angle of the point (x2, x1) in (-pi, pi], quadrant-aware `arctan(x1 / x2)`."""
    return _real_float_binary("arctan2", x1, x2)


@op
def sinh(x):
    """Element-wise hyperbolic sine."""
    return _to_float(x)


@op
def cosh(x):
    """Element-wise hyperbolic cosine."""
    return _to_float(x)


@op
def arcsinh(x):
    """Element-wise inverse hyperbolic sine."""
    return _to_float(x)


@op
def arccosh(x):
    """Element-wise inverse hyperbolic cosine; NaN below 1."""
    return _to_float(x)


@op
def arctanh(x):
    """Element-wise inverse hyperbolic tangent; NaN outside [-1, 1], inf at +-1."""
    return _to_float(x)


@op
def deg2rad(x):
    """Degrees to radians: `x * pi / 180`."""
    return _real_float("deg2rad", x)


@op
def rad2deg(x):
    """Radians to degrees: `x * 180 / pi`."""
    return _real_float("rad2deg", x)


@op
def hypot(x1, x2):
    """`sqrt(x1**2 + x2**2)` element-wise, without intermediate overflow."""
    return _real_float_binary("hypot", x1, x2)


@op
def sinc(x):
    """Normalized sinc: `sin(pi x) / (pi x)`, 1 at 0."""
    return _real_float("sinc", x)


# --- exponents and logarithms --------------------------------------------------------------
@op
def exp2(x):
    """Element-wise `2 ** x` in floating point."""
    return _to_float(x)


@op
def expm1(x):
    """`exp(x) - 1`, accurate for small x."""
    return _to_float(x)


@op
def log1p(x):
    """`log(1 + x)`, accurate for small x."""
    return _to_float(x)


@op
def log2(x):
    """Base-2 logarithm."""
    return _to_float(x)


@op
def log10(x):
    """Base-10 logarithm."""
    return _to_float(x)


@op
def logaddexp(x1, x2):
    """`log(exp(x1) + exp(x2))` computed without overflow."""
    return _real_float_binary("logaddexp", x1, x2)


@op
def logaddexp2(x1, x2):
    """`log2(2**x1 + 2**x2)` computed without overflow."""
    return _real_float_binary("logaddexp2", x1, x2)


@op
def ldexp(x1, x2):
    """`x1 * 2**x2` with integer exponents `x2`; the result is floating point."""
    d2 = dtypes.result_type(dtype_of(x2))
    if not (dtypes.is_int(d2) or d2 == "bool"):
        raise TypeError(f"ldexp: the exponent x2 must be an integer, got {d2}.")
    d1 = dtypes.result_type(dtype_of(x1))
    return KerasTensor(_shape2("ldexp", x1, x2), _real_float("ldexp", KerasTensor((), d1)).dtype)


@op
def reciprocal(x):
    """Element-wise `1 / x`; integer inputs give floatx."""
    return _to_float(x)


@op
def rsqrt(x):
    """Element-wise `1 / sqrt(x)`, as one fused kernel where the backend has one."""
    return _real_float("rsqrt", x)


@op
def cbrt(x):
    """Real cube root (negative for negative x)."""
    return _real_float("cbrt", x)


# --- special functions ---------------------------------------------------------------------
@op
def erf(x):
    """Gauss error function `2/sqrt(pi) * integral_0^x exp(-t^2) dt`."""
    return _real_float("erf", x)


@op
def erfc(x):
    """Complementary error function `1 - erf(x)`, accurate for large x."""
    return _real_float("erfc", x)


@op
def erfinv(x):
    """Inverse of `erf` on (-1, 1); +-inf at +-1, NaN outside."""
    return _real_float("erfinv", x)


@op
def i0(x):
    """Modified Bessel function of the first kind, order 0."""
    return _real_float("i0", x)


# --- rounding ------------------------------------------------------------------------------
@op
def floor(x):
    """Largest integral value <= x; integer and bool inputs give floatx (Keras contract)."""
    return _real_float("floor", x)


@op
def ceil(x):
    """Smallest integral value >= x; integer and bool inputs give floatx (Keras contract)."""
    return _real_float("ceil", x)


@op
def trunc(x):
    """Round toward zero; the dtype is kept."""
    return _same(x)


@op
def round(x, decimals=0):
    """Round half to even to `decimals` decimal places; the dtype is kept."""
    return _same(x)


@op
def fabs(x):
    """Absolute value in floating point (integer inputs give floatx)."""
    return _real_float("fabs", x)


# --- complex parts and copies --------------------------------------------------------------
@op
def real(x):
    """Real part (`x` itself for real inputs)."""
    shape, dtype = spec(x)
    return KerasTensor(shape, _COMPLEX_REAL.get(dtype, dtype))


@op
def imag(x):
    """Imaginary part (zeros of the same dtype for real inputs)."""
    shape, dtype = spec(x)
    return KerasTensor(shape, _COMPLEX_REAL.get(dtype, dtype))


@op
def angle(x):
    """Counterclockwise angle of a complex number (0 or pi for reals), in floating point."""
    shape, dtype = spec(x)
    return KerasTensor(shape, _COMPLEX_REAL.get(dtype, _float_dtype(dtype)))


@op
def conj(x):
    """Complex conjugate (`x` itself for real inputs)."""
    return _same(x)


@op
def conjugate(x):
    """Complex conjugate; alias of `conj`."""
    return _same(x)


@op
def copy(x):
    """A copy of `x` (same shape, dtype and values)."""
    return _same(x)


# --- division and remainders ---------------------------------------------------------------
@op
def true_divide(x1, x2):
    """True division `x1 / x2`; integer inputs give floatx. Same as `divide`."""
    return _binary_float("true_divide", x1, x2)


@op
def divide_no_nan(x1, x2):
    """`x1 / x2`, but 0 wherever `x2 == 0` (no inf or NaN from zero divisors)."""
    return _binary_float("divide_no_nan", x1, x2)


@op
def floor_divide(x1, x2):
    """`floor(x1 / x2)` in the promoted dtype (bool operands compute in int8, as NumPy)."""
    return _binary_same("floor_divide", x1, x2, bool_as="int8")


@op
def mod(x1, x2):
    """Remainder with the sign of the divisor (`x1 - floor_divide(x1, x2) * x2`).

    Bool operands compute in int32 (Keras's dtype for a bool remainder)."""
    return _binary_same("mod", x1, x2, bool_as="int32")


@op
def fmod(x1, x2):
    """C-style remainder with the sign of the dividend (`x1 - trunc(x1 / x2) * x2`).

    Bool operands compute in int32, as in `mod`."""
    return _binary_same("fmod", x1, x2, bool_as="int32")


@op
def fmax(x1, x2):
    """Element-wise maximum ignoring NaNs (NaN only where both are NaN)."""
    return _binary_same("fmax", x1, x2)


@op
def fmin(x1, x2):
    """Element-wise minimum ignoring NaNs (NaN only where both are NaN)."""
    return _binary_same("fmin", x1, x2)


@op
def gcd(x1, x2):
    """Greatest common divisor of integers (non-negative)."""
    return _integer_binary("gcd", x1, x2, allow_bool=False)


@op
def lcm(x1, x2):
    """Least common multiple of integers (non-negative)."""
    return _integer_binary("lcm", x1, x2, allow_bool=False)


@op
def heaviside(x1, x2):
    """Step function: 0 where x1 < 0, `x2` where x1 == 0, 1 where x1 > 0."""
    return _real_float_binary("heaviside", x1, x2)


@op
def nextafter(x1, x2):
    """The next representable floating-point value after `x1` toward `x2`."""
    return _real_float_binary("nextafter", x1, x2)


# --- bitwise -------------------------------------------------------------------------------
@op
def bitwise_and(x, y):
    """Bitwise AND of integers (logical AND of bools)."""
    return _integer_binary("bitwise_and", x, y)


@op
def bitwise_or(x, y):
    """Bitwise OR of integers (logical OR of bools)."""
    return _integer_binary("bitwise_or", x, y)


@op
def bitwise_xor(x, y):
    """Bitwise XOR of integers (logical XOR of bools)."""
    return _integer_binary("bitwise_xor", x, y)


def _invert_rule(name, x):
    shape, dtype = spec(x)
    if not (dtypes.is_int(dtype) or dtype == "bool"):
        raise TypeError(f"{name}: needs integer or bool input, got {dtype}.")
    return KerasTensor(shape, dtype)


@op
def bitwise_invert(x):
    """Bitwise NOT of integers (logical NOT of bools)."""
    return _invert_rule("bitwise_invert", x)


@op
def bitwise_not(x):
    """Bitwise NOT; alias of `bitwise_invert`."""
    return _invert_rule("bitwise_not", x)


@op
def left_shift(x, y):
    """Shift the bits of integer `x` left by `y` (bools compute in int8, as NumPy)."""
    return _integer_binary("left_shift", x, y, bool_as="int8")


@op
def right_shift(x, y):
    """Arithmetic right shift of integer `x` by `y` (bools compute in int8)."""
    return _integer_binary("right_shift", x, y, bool_as="int8")


@op
def bitwise_left_shift(x, y):
    """Alias of `left_shift`."""
    return _integer_binary("bitwise_left_shift", x, y, bool_as="int8")


@op
def bitwise_right_shift(x, y):
    """Alias of `right_shift`."""
    return _integer_binary("bitwise_right_shift", x, y, bool_as="int8")


# --- logical -------------------------------------------------------------------------------
@op
def logical_and(x1, x2):
    """Element-wise truth AND (non-zero is True); bool result."""
    return KerasTensor(_shape2("logical_and", x1, x2), "bool")


@op
def logical_or(x1, x2):
    """Element-wise truth OR; bool result."""
    return KerasTensor(_shape2("logical_or", x1, x2), "bool")


@op
def logical_xor(x1, x2):
    """Element-wise truth XOR; bool result."""
    return KerasTensor(_shape2("logical_xor", x1, x2), "bool")


@op
def logical_not(x):
    """Element-wise truth NOT; bool result."""
    return _predicate(x)


# --- classification and comparison ---------------------------------------------------------
@op
def isnan(x):
    """True where `x` is NaN (never for integers)."""
    return _predicate(x)


@op
def isinf(x):
    """True where `x` is +inf or -inf."""
    return _predicate(x)


@op
def isfinite(x):
    """True where `x` is neither NaN nor infinite."""
    return _predicate(x)


@op
def isneginf(x):
    """True where `x` is -inf."""
    return _predicate(x)


@op
def isposinf(x):
    """True where `x` is +inf."""
    return _predicate(x)


@op
def isreal(x):
    """True where the imaginary part is 0 (everywhere for real dtypes)."""
    return _predicate(x)


@op
def signbit(x):
    """True where the sign bit is set (negative numbers and -0.0)."""
    return _predicate(x)


@op
def isclose(x1, x2, rtol=1e-05, atol=1e-08, equal_nan=False):
    """`|x1 - x2| <= atol + rtol * |x2|` element-wise; infinities equal only themselves."""
    return KerasTensor(_shape2("isclose", x1, x2), "bool")


@op
def allclose(x1, x2, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True (a scalar bool tensor) when `isclose` holds everywhere."""
    _shape2("allclose", x1, x2)
    return KerasTensor((), "bool")


# --- cleaning and casting ------------------------------------------------------------------
@op
def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """NaN -> `nan`, +inf -> `posinf`, -inf -> `neginf` (default: the dtype's extremes)."""
    return _same(x)


@op
def saturate_cast(x, dtype):
    """Cast to `dtype`, clamping first to its range so that values saturate, not wrap."""
    return KerasTensor(spec(x)[0], dtypes.standardize_dtype(dtype))


# The binary ops of the family: backends wrap them with `name_broadcast_errors`.
BINARY_OPS = ("arctan2", "hypot", "logaddexp", "logaddexp2", "heaviside", "nextafter", "true_divide",
           "divide_no_nan", "ldexp", "floor_divide", "mod", "fmod", "fmax", "fmin", "gcd", "lcm",
           "bitwise_and", "bitwise_or", "bitwise_xor", "left_shift", "right_shift",
           "bitwise_left_shift", "bitwise_right_shift", "logical_and", "logical_or", "logical_xor",
           "isclose", "allclose")


def _dims(x):
    shape = getattr(x, "shape", None)
    if shape is None:
        return np.shape(x)
    if hasattr(shape, "as_list"):  # tf.TensorShape
        shape = shape.as_list() if shape.rank is not None else ()
    return tuple(None if d is None else int(d) for d in shape)


def name_broadcast_errors(namespace, errors):
    """Wrap the binary ops of a backend module's `namespace` so that a framework error
    raised on operands that do not broadcast becomes a ValueError naming the op."""
    def wrap(name, fn):
        def apply(x1, x2, *args, **kwargs):
            try:
                return fn(x1, x2, *args, **kwargs)
            except errors:
                broadcast_shapes(name, _dims(x1), _dims(x2))  # raises "<name>: shapes ..."
                raise
        apply.__name__ = apply.__qualname__ = name
        apply.__doc__ = fn.__doc__
        return apply

    for name in BINARY_OPS:
        if name in namespace:
            namespace[name] = wrap(name, namespace[name])


__all__ = [
    "sin", "cos", "tan", "arcsin", "arccos", "arctan", "arctan2", "sinh", "cosh", "arcsinh",
    "arccosh", "arctanh", "deg2rad", "rad2deg", "hypot", "sinc",
    "exp2", "expm1", "log1p", "log2", "log10", "logaddexp", "logaddexp2", "ldexp",
    "reciprocal", "rsqrt", "cbrt", "erf", "erfc", "erfinv", "i0",
    "floor", "ceil", "trunc", "round", "fabs",
    "real", "imag", "angle", "conj", "conjugate", "copy",
    "true_divide", "divide_no_nan", "floor_divide", "mod", "fmod", "fmax", "fmin", "gcd", "lcm",
    "heaviside", "nextafter",
    "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_invert", "bitwise_not", "left_shift",
    "right_shift", "bitwise_left_shift", "bitwise_right_shift",
    "logical_and", "logical_or", "logical_xor", "logical_not",
    "isnan", "isinf", "isfinite", "isneginf", "isposinf", "isreal", "signbit", "isclose",
    "allclose", "nan_to_num", "saturate_cast",
]
