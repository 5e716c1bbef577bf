"""Runtime services of the NumPy backend. Every backend's `runtime` module offers the same
functions; this one is the reference for what each must do.

- make_variable(value, dtype, trainable, name) -> storage for a new Variable's value
- assign(storage, value) -> the storage after assignment (may be the same object)
- value_and_grad(fn) -> g(params, *args) -> ((value, aux), grads) for
  fn(params, *args) -> (value, aux), with params a list of tensors
- compile_step(fn, variables) -> callable(*args) running `fn(values, *args) -> (new_values,
  out)` on the current values of `variables` and storing `new_values` back
- no_grad() -> context manager in which no gradient history is recorded
"""
import contextlib

import numpy as np

from unikeras.common import dtypes

NAME = "numpy"


def make_variable(value, dtype, trainable, name):
    return np.array(value, dtype=dtypes.standardize_dtype(dtype))


def assign(storage, value):
    value = np.asarray(value)
    if value.shape != storage.shape:
        raise ValueError(f"assign: cannot assign a value of shape {value.shape} to a variable "
                         f"of shape {storage.shape}.")
    storage[...] = value
    return storage


def value_and_grad(fn):
    raise NotImplementedError("The NumPy backend computes no gradients: train with torch, jax "
                              "or tensorflow (UNIKERAS_BACKEND or an adapter).")


def compile_step(fn, variables):
    def step(*args):
        new_values, out = fn([v.value for v in variables], *args)
        for v, new in zip(variables, new_values):
            v.assign(new)
        return out
    return step


no_grad = contextlib.nullcontext
