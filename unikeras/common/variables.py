"""Variable: a named, shaped, typed piece of state whose storage a backend owns.

A Variable reads its value through the innermost `StatelessScope` that holds it, else
from its own storage. This is what lets the same layer code run on values supplied by a
host object (a torch module's Parameters, an nnx module's Params, a jitted function's
tracers) and lets assignments become functional updates that the caller collects.
"""
import importlib

import numpy as np

from unikeras.common import dtypes
from unikeras.common.ops import dispatch

_scopes = []


_runtimes = {}

tracking_version = 0   # see note_tracking_change


def note_tracking_change():
    """Record that something the variable lists of layers depend on has changed (a layer
    attribute or tracked list, a variable's `trainable`): layers cache those lists (the
    training loop reads them every step) and recompute them when this count moved."""
    global tracking_version
    tracking_version += 1


def runtime(backend):
    """The non-op services (variables, gradients, compiled steps) of a backend."""
    found = _runtimes.get(backend)
    if found is None:
        found = _runtimes[backend] = importlib.import_module(
            dispatch.BACKEND_PACKAGES[backend] + ".runtime")
    return found


class StatelessScope:
    """Within the scope, variables in `values` read those values and assignments to any
    variable are recorded here instead of touching storage. `tracing` marks a scope that a
    tracing compiler (torch.compile, torch.export) follows: layers then skip bookkeeping
    that the compiler would have to guard on."""

    tracing = False

    def __init__(self, values=None):
        self.values = dict(values or {})

    def __enter__(self):
        _scopes.append(self)
        return self

    def __exit__(self, *exc):
        _scopes.pop()

    def get(self, variable, default=None):
        return self.values.get(variable, default)


def in_stateless_scope():
    return bool(_scopes)


def in_tracing_scope():
    """True inside a StatelessScope marked `tracing` (see StatelessScope)."""
    return bool(_scopes) and _scopes[-1].tracing


class Variable:
    """State of a layer, optimizer, metric or seed generator.

    `initializer` is an array-like value or a callable `(shape, dtype) -> array`.
    """

    def __init__(self, initializer, shape=None, dtype=None, trainable=True, autocast=True,
                 aggregation="none", synchronization="auto", name=None, _deferred=False):
        if callable(initializer):
            if shape is None:
                raise ValueError(f"Variable {name!r}: a callable initializer needs a shape.")
            self._initializer = initializer
            self.dtype = dtypes.standardize_dtype(dtype)
            self.shape = tuple(int(d) for d in shape)
        else:
            value = initializer
            if dtype is None and isinstance(value, (bool, int, float)):
                dtype = _python_scalar_dtype(value)
            if dispatch.backend_of_type(type(value)) in (dispatch.WEAK, None):
                value = np.asarray(value)
            self.dtype = dtypes.standardize_dtype(dtype or value.dtype)
            self.shape = tuple(int(d) for d in value.shape)
            self._initializer = value
        self.trainable = trainable
        self.autocast = autocast
        self.aggregation = aggregation
        self.synchronization = synchronization
        self.name = name or "variable"
        self.path = self.name
        self._backend = None
        self._value = None
        if not _deferred and dispatch.current_backend() != "openvino":
            self._allocate()

    @classmethod
    def from_storage(cls, storage, backend, dtype, trainable=True, name=None):
        """A Variable whose storage is `storage`, an existing tensor or variable of `backend`
        (shared, not copied): how a layer wrapping another framework's module tracks that
        module's own weights."""
        variable = cls(lambda shape, dtype: None, shape=tuple(storage.shape), dtype=dtype,
                       trainable=trainable, name=name, _deferred=True)
        variable._backend, variable._value, variable._initializer = backend, storage, None
        return variable

    def _allocate(self):
        """Create the storage on the current backend (deferred variables: on first use)."""
        self._backend = dispatch.current_backend()
        init = self._initializer
        value = init(self.shape, self.dtype) if callable(init) else init
        self._value = runtime(self._backend).make_variable(value, self.dtype, self.trainable, self.path)
        self._initializer = None

    def move_to_current_backend(self):
        """Re-create the storage, with the same value, on the current backend (for state
        made before its owner knew the backend, e.g. a metric passed to compile)."""
        if self._value is not None and self._backend != dispatch.current_backend():
            self._initializer = self.numpy()
            self._value = None
            self._allocate()

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, trainable):
        self._trainable = trainable
        note_tracking_change()

    @property
    def value(self):
        if _scopes:
            for scope in reversed(_scopes):
                v = scope.values.get(self)
                if v is not None:
                    return v
        value = self._value
        if value is None and self._initializer is not None:
            self._allocate()
            value = self._value
        return value

    def assign(self, value):
        """Set the value (recorded by the active StatelessScope, if any)."""
        if _scopes:
            _scopes[-1].values[self] = value
            return value
        if self._value is None and self._initializer is not None:
            self._allocate()
        self._value = runtime(self._backend).assign(self._value, value)
        return value

    def assign_add(self, delta):
        """`self += delta`; in place where the backend's runtime offers `assign_add`."""
        if not _scopes:
            if self._value is None and self._initializer is not None:
                self._allocate()
            add = getattr(runtime(self._backend), "assign_add", None)
            if add is not None:
                self._value = add(self._value, delta)
                return self._value
        return self.assign(self.value + delta)

    def assign_sub(self, delta):
        return self.assign(self.value - delta)

    @property
    def backend(self):
        """Name of the backend holding this variable's storage (allocating it if deferred)."""
        if self._value is None and self._initializer is not None:
            self._allocate()
        return self._backend

    @property
    def ndim(self):
        return len(self.shape)

    def numpy(self):
        """A snapshot of the value as a NumPy array that later updates do not change (torch
        CPU tensors would otherwise share their memory with it)."""
        from unikeras.common.ops import core
        return np.array(core.convert_to_numpy(self.value), copy=True)

    def __array__(self, dtype=None, copy=None):
        out = self.numpy()
        return out.astype(dtype) if dtype is not None else out

    def __repr__(self):
        return f"<Variable path={self.path}, shape={self.shape}, dtype={self.dtype}>"

    __hash__ = object.__hash__

    def __eq__(self, other):
        return self is other

    # Arithmetic on a Variable computes with its current value.
    def __add__(self, o): return _ops().add(self, o)
    def __radd__(self, o): return _ops().add(o, self)
    def __sub__(self, o): return _ops().subtract(self, o)
    def __rsub__(self, o): return _ops().subtract(o, self)
    def __mul__(self, o): return _ops().multiply(self, o)
    def __rmul__(self, o): return _ops().multiply(o, self)
    def __truediv__(self, o): return _ops().divide(self, o)
    def __rtruediv__(self, o): return _ops().divide(o, self)
    def __matmul__(self, o): return _ops().matmul(self, o)
    def __neg__(self): return _ops().negative(self)
    def __getitem__(self, key): return _ops().get_item(self, key)


def _python_scalar_dtype(value):
    """Python scalars make Variables of Keras's default dtypes (not NumPy's 64-bit ones)."""
    from unikeras import config
    if isinstance(value, bool):
        return "bool"
    return "int32" if isinstance(value, int) else config.floatx()


def _ops():
    from unikeras import ops
    return ops


dispatch.register_variable_type(Variable)
