"""Runtime services of the TensorFlow backend (see `unikeras.adapters.numpy_ref.runtime`
for the contract every backend's runtime follows).

- make_variable(value, dtype, trainable, name) -> a tf.Variable
- assign(storage, value) -> the tf.Variable after `storage.assign(value)`
- value_and_grad(fn) -> g(params, *args) -> ((value, aux), grads) via tf.GradientTape
- compile_step(fn, variables, jit_compile=False) -> a callable running a tf.function that
  reads the variables' tf.Variable storages, runs `fn(values, *args) -> (new_values, out)`
  and assigns the new values back inside the function
- no_grad() -> context manager in which no tape records
"""
import contextlib
import re

import numpy as np
import tensorflow as tf

from unikeras.adapters.tf_module import ops as tf_ops
from unikeras.common import dtypes
from unikeras.common.ops import dispatch

NAME = "tensorflow"

_BAD_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.\-/>]")

try:  # stops every active tape on this thread, like torch.no_grad
    from tensorflow.python.eager.record import stop_recording as _stop_recording
except ImportError:  # pragma: no cover
    _stop_recording = None


def _sanitize(name):
    """A name TF accepts in graph mode too: '/' kept (scopes), other odd characters -> '_'."""
    name = _BAD_NAME_CHARS.sub("_", str(name or "variable")).strip("/")
    if not name or not (name[0].isalnum() or name[0] in "._"):
        name = "v" + name
    return name


def _is_graph_tensor(x):
    return isinstance(x, tf.Tensor) and not hasattr(x, "numpy")


def make_variable(value, dtype, trainable, name):
    dtype = dtypes.standardize_dtype(dtype)
    name = _sanitize(name)
    if _is_graph_tensor(value):  # built inside a tf.function from traced values
        return tf.Variable(tf_ops.convert_to_tensor(value, dtype), trainable=trainable, name=name)
    with tf.init_scope():  # lift creation out of any tf.function being traced
        init = tf_ops.convert_to_tensor(value, dtype)
        try:
            return tf.Variable(init, trainable=trainable, name=name)
        except ValueError:  # a name the active graph refuses
            return tf.Variable(init, trainable=trainable, name="variable")


def _static_shape(x):
    s = x.shape
    return None if s.rank is None else tuple(s.as_list())


def assign(storage, value):
    if not isinstance(storage, tf.Variable):
        raise TypeError(f"assign: the storage is a {type(storage).__name__}, not a tf.Variable.")
    value = tf_ops.convert_to_tensor(value, storage.dtype.name)
    target = storage.shape
    if not value.shape.is_compatible_with(target):
        vs, ts = _static_shape(value), _static_shape(storage)
        try:
            ok = (vs is not None and ts is not None and None not in ts and None not in vs
                  and np.broadcast_shapes(vs, ts) == ts)
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"assign: cannot assign a value of shape {vs} to variable "
                             f"{storage.name!r} of shape {ts}.")
        value = tf.broadcast_to(value, ts)
    storage.assign(value)
    return storage


def value_and_grad(fn):
    """`g(params, *args) -> ((value, aux), grads)` for `fn(params, *args) -> (value, aux)`;
    `params` are tf tensors or tf.Variables, gradients of unconnected ones are zeros."""

    def g(params, *args):
        params = [p if isinstance(p, (tf.Tensor, tf.Variable)) else tf_ops.convert_to_tensor(p)
                  for p in params]
        with tf.GradientTape() as tape:
            for p in params:
                if p.dtype.is_floating or p.dtype.is_complex:
                    tape.watch(p)
            value, aux = fn(params, *args)
        grads = tape.gradient(value, params)
        out = []
        for p, grad in zip(params, grads):
            if grad is None:
                grad = tf.zeros_like(p)
            elif isinstance(grad, tf.IndexedSlices):
                grad = tf.convert_to_tensor(grad)
            out.append(grad)
        return (value, aux), out

    return g


def _ensure_allocated(variable):
    """Storage of a unikeras Variable (a deferred one is allocated here, on tf, eagerly, so
    that no tf.Variable is created while a step is being traced)."""
    if getattr(variable, "_value", None) is None and getattr(variable, "_initializer", None) is not None:
        with dispatch.backend_scope(NAME):
            variable._allocate()
    storage = variable._value
    if not isinstance(storage, tf.Variable):
        raise TypeError(f"compile_step: variable {getattr(variable, 'path', variable)!r} is not "
                        f"held by a tf.Variable (got {type(storage).__name__}).")
    return storage


def compile_step(fn, variables, jit_compile=False):
    """A `tf.function` running `fn(values, *args) -> (new_values, out)` on the current values
    of `variables` (unikeras Variables whose storage is a tf.Variable), assigning
    `new_values` back inside the compiled function; returns `out`.

    Each structure of arguments is traced once, with the batch (first) dimension left
    unknown, so a last partial batch does not trace the step again; with `jit_compile` (XLA
    needs static shapes) each batch shape is traced once."""
    variables = list(variables)
    for v in variables:
        _ensure_allocated(v)
    traced = {}

    def call(*args):
        flat = tf.nest.flatten(args)
        is_tensor = [hasattr(leaf, "shape") and hasattr(leaf, "dtype") for leaf in flat]
        key = (_structure_key(args), tuple(_tensor_key(leaf, jit_compile) if t else repr(leaf)
                                           for leaf, t in zip(flat, is_tensor)))
        step = traced.get(key)
        if step is None:
            tensors = [i for i, t in enumerate(is_tensor) if t]
            spec_of = _static_spec if jit_compile else _batch_free_spec
            specs = tuple(spec_of(flat[i]) for i in tensors)
            step = traced[key] = _traced_step(fn, variables, args, flat, tensors, specs,
                                              jit_compile)
        return step(*[leaf for leaf, t in zip(flat, is_tensor) if t])

    return call


# Leaves that tf.nest never looks into, so a structure of plain containers of them is known
# without asking tf.nest (whose description costs tens of microseconds a call).
_PLAIN_LEAVES = (np.ndarray, np.generic, tf.Tensor, type(None), bool, int, float, str)


class _NotPlain(Exception):
    pass


def _structure_key(args):
    """A hashable key equal for two argument structures that tf.nest flattens alike: the
    nesting of lists, tuples, namedtuples and dicts when every leaf is plain, else tf.nest's
    own description of the structure."""
    try:
        return _nesting(args)
    except _NotPlain:
        return repr(tf.nest.map_structure(lambda _: 0, args))


def _nesting(x):
    if type(x) in (list, tuple) or (isinstance(x, tuple) and hasattr(type(x), "_fields")):
        return type(x), tuple(_nesting(i) for i in x)
    if type(x) is dict:
        return dict, tuple((k, _nesting(x[k])) for k in sorted(x))
    if isinstance(x, _PLAIN_LEAVES):
        return 0
    raise _NotPlain


def _tensor_key(value, jit_compile):
    """What the TensorSpec of `value` depends on (see `_static_spec`, `_batch_free_spec`)."""
    shape = tuple(value.shape)
    if shape and not jit_compile:
        shape = (None,) + shape[1:]
    return getattr(value.dtype, "name", str(value.dtype)), shape


def _batch_free_spec(value):
    shape = tuple(value.shape)
    return _static_spec(value, (None,) + shape[1:] if shape else shape)


def _static_spec(value, shape=None):
    shape = tuple(value.shape) if shape is None else shape
    return tf.TensorSpec(shape, tf.as_dtype(np.dtype(value.dtype) if isinstance(value, np.ndarray)
                                            else value.dtype))


def _traced_step(fn, variables, args, flat, tensors, specs, jit_compile):
    """The step for one argument structure: `run(*tensor_leaves)` runs the traced
    tf.function's one concrete function; tensors come in as flat positional arguments
    matching `specs`; every other leaf of `args` is fixed."""
    @tf.function(input_signature=list(specs), jit_compile=jit_compile)
    def step(*tensor_args):
        leaves = list(flat)
        for i, t in zip(tensors, tensor_args):
            leaves[i] = t
        storages = [_ensure_allocated(v) for v in variables]
        values = [s.value() for s in storages]
        new_values, out = fn(values, *tf.nest.pack_sequence_as(args, leaves))
        for s, value, new in zip(storages, values, new_values):
            if new is not value:   # a value the step left alone needs no write
                assign(s, new)
        return out

    return _flat_caller(step.get_concrete_function(), specs)


def _flat_caller(concrete, specs):
    """`run(*leaves)` calling `concrete` with tensors in its signature's order.

    The call binds nothing: the cache key of `compile_step` has already matched the
    leaves to `specs`, so `tf.function.__call__`'s argument binding and signature checks
    (hundreds of microseconds a call, more than a small model's step) are skipped through
    the concrete function's flat entry point, which still records gradients when a tape
    watches and nests inside an enclosing tf.function."""
    call_flat = getattr(concrete, "_call_flat", None)
    if call_flat is None:  # pragma: no cover - a TensorFlow without the flat entry point
        return concrete
    dtypes_ = [spec.dtype for spec in specs]

    def run(*leaves):
        feed = [x if isinstance(x, tf.Tensor) else tf.convert_to_tensor(x, d)
                for x, d in zip(leaves, dtypes_)]
        return call_flat(feed, concrete.captured_inputs)

    return run


def no_grad():
    """Context manager in which no gradient tape records (like `torch.no_grad`)."""
    if _stop_recording is None:
        return contextlib.nullcontext()
    return _stop_recording()
