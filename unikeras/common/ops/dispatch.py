"""Op dispatch: find the backend from argument types, then call its implementation.

Each backend lives in an adapter package whose ``ops`` module defines functions named
like the public ops; it is imported the first time a tensor of that backend (or a
tensor-free op under that backend) is seen. Resolution is cached per Python type, so
the hot path is a few dict lookups.
"""
import contextlib
import importlib

import numpy as np

from unikeras import config

SYMBOLIC = "symbolic"
WEAK = "weak"  # NumPy arrays and Python scalars: adopt the backend they meet

BACKEND_PACKAGES = {
    "numpy": "unikeras.adapters.numpy_ref",
    "torch": "unikeras.adapters.torch_nn",
    "jax": "unikeras.adapters.flax",
    "tensorflow": "unikeras.adapters.tf_module",
    "openvino": "unikeras.adapters.openvino",
}
_MODULE_PREFIXES = (
    ("torch", "torch"),
    ("jax", "jax"),
    ("jaxlib", "jax"),
    ("tensorflow", "tensorflow"),
    ("keras.src.backend.tensorflow", "tensorflow"),
    ("openvino", "openvino"),
)

_type_backend = {}      # python type -> backend name, WEAK, SYMBOLIC or None (not a tensor)
_tables = {}            # backend name -> ops module of the adapter
_scope_stack = []       # backend names of active adapter scopes (innermost last)
_unwrap_types = set()   # types whose instances stand for a tensor value (Variable)


def register_tensor_type(cls, backend):
    """Declare that instances of `cls` belong to `backend` (or WEAK/SYMBOLIC)."""
    _type_backend[cls] = backend


def register_variable_type(cls):
    """`cls` instances are unwrapped to their `.value` before dispatch."""
    _unwrap_types.add(cls)
    _type_backend.pop(cls, None)


def _classify(cls):
    if cls in _unwrap_types:
        return "variable"
    if issubclass(cls, (np.ndarray, np.generic, bool, int, float, complex)):
        return WEAK
    module = cls.__module__ or ""
    for prefix, backend in _MODULE_PREFIXES:
        if module == prefix or module.startswith(prefix + "."):
            return backend
    return None


# Argument types that are never tensors, classified up front so that the first call inside
# torch.compile does not trace `_classify` (its string tests break the graph).
_type_backend.update(dict.fromkeys(
    (type(None), str, tuple, list, dict, slice, type(Ellipsis), range), None))
_type_backend.update(dict.fromkeys((bool, int, float, complex, np.ndarray), WEAK))


_CONTAINERS = (tuple, list, dict)


def backend_of_type(cls):
    try:
        return _type_backend[cls]
    except KeyError:
        b = _type_backend[cls] = _classify(cls)
        return b


def get_table(backend):
    """The ops module of `backend`, importing its adapter on first use."""
    try:
        return _tables[backend]
    except KeyError:
        if backend not in BACKEND_PACKAGES:
            raise ValueError(f"Unknown backend {backend!r}.") from None
        module = importlib.import_module(BACKEND_PACKAGES[backend] + ".ops")
        _tables[backend] = module
        return module


def current_backend():
    """Backend for tensor-free ops: innermost adapter scope, else the default."""
    return _scope_stack[-1] if _scope_stack else config.backend()


class backend_scope(contextlib.ContextDecorator):
    """Run tensor-free ops (zeros, random, NumPy-only inputs) on backend `name` (a context
    manager or a decorator). A class, not a generator: `fit` enters one every step."""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        _scope_stack.append(self.name)

    def __exit__(self, *exc):
        _scope_stack.pop()


def _arg_backend(arg, found):
    b = backend_of_type(type(arg))
    if b is None:
        if type(arg) in (list, tuple):
            for item in arg:
                found = _arg_backend(item, found)
        return found
    if b == "variable":
        b = backend_of_type(type(arg.value))
    if b == WEAK or b == found:
        return found
    if found is None or found == SYMBOLIC:
        return b if found is None else found
    if b == SYMBOLIC:
        return SYMBOLIC
    raise TypeError(
        f"Cannot mix a {found} tensor with a {b} tensor ({type(arg).__name__}) in one op; "
        "convert one of them first (ops.convert_to_numpy, then the other framework)."
    )


def resolve_backend(args, kwargs):
    """Backend name from the tensors among `args`/`kwargs` (KerasTensors win)."""
    found = None
    for a in args:
        found = _arg_backend(a, found)
    if kwargs:
        for a in kwargs.values():
            found = _arg_backend(a, found)
    return found or current_backend()


def _unwrap(x):
    if type(x) in _unwrap_types:
        return x.value
    if type(x) in (list, tuple) and any(type(i) in _unwrap_types for i in x):
        return type(x)(_unwrap(i) for i in x)
    return x


def has_variables(args, kwargs):
    for a in args:
        t = type(a)
        if t in _unwrap_types or (t in (list, tuple) and any(type(i) in _unwrap_types for i in a)):
            return True
    return any(type(a) in _unwrap_types for a in kwargs.values()) if kwargs else False


def unwrap_variables(args, kwargs):
    args = tuple(_unwrap(a) for a in args)
    if kwargs:
        kwargs = {k: _unwrap(v) for k, v in kwargs.items()}
    return args, kwargs


def types_fix_backend(args):
    """True when the argument types alone determine the backend (so a per-op cache keyed
    by types is safe): no containers or Variables, and at least one framework tensor
    (strings, None and other types that are never tensors do not count)."""
    strong = False
    for a in args:
        t = type(a)
        b = _type_backend.get(t, "unknown")
        if b in (None, "variable", "unknown", SYMBOLIC):
            if b is None and t not in _CONTAINERS:
                continue
            return False
        if b != WEAK:
            strong = True
    return strong
