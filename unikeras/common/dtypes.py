"""Dtype names and the one promotion table every backend follows.

Dtypes are plain strings ("float32", "int64", "bool"). Promotion is a least-upper-bound
on a lattice (the one JAX and Keras 3 use), so `result_type` gives the same answer
whatever framework runs the op. Python scalars are *weak*: they adopt the tensor's dtype
within their kind.
"""
import numpy as np

from unikeras import config

FLOAT_TYPES = ("bfloat16", "float16", "float32", "float64")
INT_TYPES = ("uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64")
ALLOWED = ("bool",) + INT_TYPES + FLOAT_TYPES + ("complex64", "complex128", "string")

_FRAMEWORK_PREFIXES = ("torch.", "tf.", "<dtype: '")
_RENAMES = {"float": "float32", "int": "int64", "double": "float64", "half": "float16",
            "long": "int64", "bool_": "bool", "f32": "float32", "f16": "float16",
            "bf16": "bfloat16", "f64": "float64", "i32": "int32", "i64": "int64",
            "boolean": "bool", "u8": "uint8", "i8": "int8"}


def standardize_dtype(dtype):
    """Canonical string name of any dtype spelling (str, numpy, torch, tf, jax, ov)."""
    if dtype is None:
        return config.floatx()
    if isinstance(dtype, str) and dtype in ALLOWED:
        return dtype
    if dtype is bool:
        return "bool"
    if dtype is int:
        return "int64"
    if dtype is float:
        return "float32"
    name = getattr(dtype, "name", None)
    if not isinstance(name, str):
        name = str(dtype)
    for prefix in _FRAMEWORK_PREFIXES:
        if name.startswith(prefix):
            name = name[len(prefix):].rstrip("'>")
    name = _RENAMES.get(name, name)
    if name not in ALLOWED:
        try:
            name = np.dtype(name).name
        except TypeError:
            raise ValueError(f"Unknown dtype {dtype!r}.") from None
    return name


def is_float(dtype):
    return standardize_dtype(dtype) in FLOAT_TYPES


def value_range(dtype):
    """(lowest, highest) value of `dtype`: what a saturating cast clamps to."""
    if dtype == "bool":
        return 0, 1
    if is_int(dtype):
        info = np.iinfo(dtype)
        return int(info.min), int(info.max)
    if dtype == "bfloat16":
        return -3.3895313892515355e38, 3.3895313892515355e38
    info = np.finfo(dtype)
    return float(info.min), float(info.max)


def is_int(dtype):
    return standardize_dtype(dtype) in INT_TYPES


# Lattice edges: each type's immediate upper bounds. "int*" / "float*" are the weak
# types of Python ints and floats.
_EDGES = {
    "bool": ("int*",),
    "int*": ("uint8", "int8"),
    "uint8": ("uint16", "int16"),
    "uint16": ("uint32", "int32"),
    "uint32": ("uint64", "int64"),
    "uint64": ("float*",),
    "int8": ("int16",),
    "int16": ("int32",),
    "int32": ("int64",),
    "int64": ("float*",),
    "float*": ("bfloat16", "float16"),
    "bfloat16": ("float32",),
    "float16": ("float32",),
    "float32": ("float64", "complex64"),
    "float64": ("complex128",),
    "complex64": ("complex128",),
    "complex128": (),
}


def _upper_bounds():
    bounds = {}

    def visit(t):
        if t not in bounds:
            acc = {t}
            for parent in _EDGES[t]:
                acc |= visit(parent)
            bounds[t] = frozenset(acc)
        return bounds[t]

    for t in _EDGES:
        visit(t)
    return bounds


_BOUNDS = _upper_bounds()
_CACHE = {}


def _join(types):
    common = frozenset.intersection(*(_BOUNDS[t] for t in types))
    # The least element is the one whose own upper-bound set contains all the others.
    for t in common:
        if _BOUNDS[t] >= common:
            return t
    raise ValueError(f"No common dtype for {types}.")


def _lattice_type(x):
    if isinstance(x, bool):
        return "bool"
    if isinstance(x, int):
        return "int*"
    if isinstance(x, float):
        return "float*"
    return standardize_dtype(getattr(x, "dtype", x))


def result_type(*args):
    """Promoted dtype of dtypes and Python scalars, identical on every backend."""
    key = tuple(_lattice_type(a) for a in args)
    out = _CACHE.get(key)
    if out is None:
        if not key:
            return config.floatx()
        out = _join(set(key))
        _CACHE[key] = out
    if out == "int*":
        return "int32"
    if out == "float*":
        return config.floatx()
    return out
