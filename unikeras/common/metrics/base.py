"""`Metric`: the base class of every metric.

A metric's state lives in non-trainable Variables made with `add_variable`, so the same
`update_state` code runs eagerly (values written to storage) or functionally:
`stateless_update_state` runs it inside a StatelessScope and returns the new values,
which is what compiled steps (`jax.jit`, `tf.function`) need.
"""
from unikeras import config
from unikeras import ops
from unikeras.common import dtypes, initializers, naming
from unikeras.common.variables import StatelessScope, Variable


class Metric:
    """Base class: subclasses create state with `add_variable` and implement
    `update_state(...)` and `result()`."""

    def __init__(self, dtype=None, name=None):
        self.name = name or naming.uniquify(naming.to_snake_case(type(self).__name__))
        self._dtype = dtypes.standardize_dtype(dtype or config.floatx())
        self._variables = []
        self._metrics = []

    def __setattr__(self, name, value):
        if isinstance(value, Metric) and "_metrics" in self.__dict__ and value is not self:
            self._metrics.append(value)
        object.__setattr__(self, name, value)

    @property
    def dtype(self):
        return self._dtype

    def _check_super_called(self):
        if "_variables" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}.__init__ must call super().__init__().")

    def add_variable(self, shape, initializer, dtype=None, aggregation="sum", name=None):
        """A non-trainable state Variable tracked in `self.variables`."""
        self._check_super_called()
        init = initializers.get(initializer)
        variable = Variable(init, shape=shape, dtype=dtype, trainable=False,
                            aggregation=aggregation, synchronization="on_read", name=name)
        variable.path = f"{self.name}/{variable.name}"
        self._variables.append(variable)
        return variable

    def add_weight(self, shape=(), initializer=None, dtype=None, name=None):
        """Alias of `add_variable` kept for tf.keras code."""
        return self.add_variable(shape, initializer or "zeros", dtype=dtype, name=name)

    @property
    def variables(self):
        out = list(self._variables)
        for m in self._metrics:
            out.extend(m.variables)
        return out

    def update_state(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement update_state().")

    def result(self):
        raise NotImplementedError(f"{type(self).__name__} must implement result().")

    def reset_state(self):
        for v in self.variables:
            v.assign(ops.zeros_like(v))

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return self.result()

    # --- functional versions ------------------------------------------------------------------
    def _check_values(self, metric_variables):
        if len(metric_variables) != len(self.variables):
            raise ValueError(
                f"{type(self).__name__} '{self.name}': expected {len(self.variables)} metric "
                f"variable values (one per .variables entry), got {len(metric_variables)}.")

    def stateless_update_state(self, metric_variables, *args, **kwargs):
        """`update_state` on the given state values; returns the new values."""
        self._check_values(metric_variables)
        variables = self.variables
        with StatelessScope(dict(zip(variables, metric_variables))) as scope:
            self.update_state(*args, **kwargs)
        return [scope.values[v] for v in variables]

    def stateless_result(self, metric_variables):
        """`result()` computed from the given state values."""
        self._check_values(metric_variables)
        with StatelessScope(dict(zip(self.variables, metric_variables))):
            return self.result()

    def stateless_reset_state(self):
        """The state values after `reset_state()`, without touching storage."""
        with StatelessScope() as scope:
            self.reset_state()
        return [scope.values.get(v, v.value) for v in self.variables]

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


def assign_add(variable, delta):
    """`variable += delta` (in the variable's dtype)."""
    variable.assign(ops.add(variable.value, ops.cast(delta, variable.dtype)))


def build_state(metric, y_true, y_pred):
    """Create the state a metric makes on its first update (F1Score, R2Score, multi-label
    AUC size their variables from the data) from the shapes and dtypes of `y_true` and
    `y_pred` alone: one symbolic update inside a StatelessScope, so storage is untouched.
    Compiled steps need every variable to exist before they are traced."""
    from unikeras.common.symbolic import KerasTensor

    def spec(x):
        shape = tuple(x.shape)
        batchless = (None,) + shape[1:] if shape else shape
        return KerasTensor(batchless, dtypes.standardize_dtype(x.dtype))

    with StatelessScope():
        metric.update_state(spec(y_true), spec(y_pred))
    return metric
