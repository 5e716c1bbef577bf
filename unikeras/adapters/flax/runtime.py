"""Runtime services of the jax backend (see `unikeras.adapters.numpy_ref.runtime`).

- make_variable(value, dtype, trainable, name) -> a fresh jax array (own buffer)
- assign(storage, value) -> a fresh jax array holding `value` (jax arrays are immutable)
- value_and_grad(fn) -> `jax.value_and_grad(fn, has_aux=True)`
- compile_step(fn, variables) -> `jax.jit(fn, donate_argnums=0)` run on the variables'
  current values; the new values are stored back without a copy
- no_grad() -> a no-op context (jax records no gradient history outside transforms)
"""
import contextlib

import jax
import jax.numpy as jnp
import numpy as np

from unikeras.adapters.flax.ops import _jdtype

NAME = "jax"


def _fresh(value, jd):
    """A jax array of dtype `jd` with its own buffer (never aliasing `value`)."""
    if not isinstance(value, jax.Array):
        # NumPy arrays, scalars, lists, other frameworks' CPU tensors: via NumPy.
        value = np.asarray(value)
    return jnp.array(value, dtype=jd, copy=True)


def make_variable(value, dtype, trainable, name):
    return _fresh(value, _jdtype(dtype))


def assign(storage, value):
    value_shape = tuple(np.shape(value)) if not isinstance(value, jax.Array) else value.shape
    if tuple(value_shape) != tuple(storage.shape):
        raise ValueError(f"assign: the value's shape {tuple(value_shape)} differs from the "
                         f"variable's shape {tuple(storage.shape)}.")
    return _fresh(value, storage.dtype)


def value_and_grad(fn):
    return jax.value_and_grad(fn, has_aux=True)


def compile_step(fn, variables):
    variables = list(variables)
    jitted = jax.jit(fn, donate_argnums=0)

    def step(*args):
        new_values, out = jitted([v.value for v in variables], *args)
        for v, new in zip(variables, new_values):
            v._value = new
        return out

    step.jitted = jitted
    return step


no_grad = contextlib.nullcontext
