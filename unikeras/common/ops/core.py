"""Core ops: conversion, casting, gradients stop. Bodies are symbolic rules."""
from unikeras.common import dtypes
from unikeras.common.ops.op import op
from unikeras.common.ops.shapes import spec
from unikeras.common.symbolic import KerasTensor


@op
def cast(x, dtype):
    """Convert `x` to `dtype`."""
    return KerasTensor(spec(x)[0], dtypes.standardize_dtype(dtype))


@op
def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    """`x` (array, list, scalar, tensor) as a tensor of the current backend."""
    shape, in_dtype = spec(x)
    return KerasTensor(shape, dtypes.standardize_dtype(dtype) if dtype else in_dtype)


@op
def convert_to_numpy(x):
    """A NumPy array with the value of `x`."""
    raise TypeError("convert_to_numpy: a KerasTensor is symbolic and has no value.")


@op
def stop_gradient(variable):
    """`variable`'s value with no gradient flowing back through it."""
    return KerasTensor(*spec(variable))


@op
def shape(x):
    """Shape of `x` as a tuple (entries may be None for symbolic tensors)."""
    return spec(x)[0]


def is_tensor(x):
    """True for a tensor of any backend or a KerasTensor (not NumPy arrays)."""
    from unikeras.common.ops import dispatch
    b = dispatch.backend_of_type(type(x))
    return b not in (None, dispatch.WEAK, "variable")


# Further definitions of this namespace, one module per family.
from unikeras.common.ops.control import *  # noqa: E402,F401,F403
