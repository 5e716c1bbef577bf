"""Metrics: state held in non-trainable Variables, updated with `unikeras.ops`.

Because the state lives in Variables, the same `update_state` code runs eagerly (values
written to storage) or functionally: `stateless_update_state` runs it inside a
StatelessScope and returns the new values, which is what compiled steps need.
"""
import inspect

from unikeras import config
from unikeras import ops
from unikeras.common import dtypes, initializers, naming
from unikeras.common import losses as losses_module
from unikeras.common.losses import (
    categorical_crossentropy, mean_squared_error, sparse_categorical_crossentropy,
    squeeze_or_expand_to_same_rank, to_tensor)
from unikeras.common.variables import StatelessScope, Variable


class Metric:
    """Base class: subclasses create state with `add_variable` and implement
    `update_state(...)` and `result()`."""

    def __init__(self, name=None, dtype=None):
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


def _assign_add(variable, delta):
    variable.assign(ops.add(variable.value, ops.cast(delta, variable.dtype)))


def reduce_to_samplewise_values(values, sample_weight, reduce_fn, dtype, mask=None):
    """Weight `values` and reduce them to one value per sample (axis 0)."""
    values = ops.cast(values, dtype)
    if sample_weight is not None:
        sample_weight = to_tensor(sample_weight, dtype, like=values)
        if mask is not None:
            sample_weight = losses_module.apply_mask(sample_weight, mask, dtype, "sum")
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        w_ndim, v_ndim = len(sample_weight.shape), len(values.shape)
        if v_ndim > w_ndim:
            values = reduce_fn(values, axis=tuple(range(w_ndim, v_ndim)))
        sample_weight = sample_weight + ops.zeros_like(values)   # broadcast to values' shape
        values = values * sample_weight
        if w_ndim > 1:
            sample_weight = reduce_fn(sample_weight, axis=tuple(range(1, w_ndim)))
    if len(values.shape) > 1:
        values = reduce_fn(values, axis=tuple(range(1, len(values.shape))))
    return values, sample_weight


class Sum(Metric):
    """Running (weighted) sum of the values seen."""

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), "zeros", dtype=self.dtype, name="total")

    def update_state(self, values, sample_weight=None):
        values, _ = reduce_to_samplewise_values(values, sample_weight, ops.sum, self.dtype)
        _assign_add(self.total, ops.sum(values))

    def result(self):
        return ops.cast(self.total, self.dtype)


class Mean(Metric):
    """Running (weighted) mean of the values seen."""

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), "zeros", dtype=self.dtype, name="total")
        self.count = self.add_variable((), "zeros", dtype=self.dtype, name="count")

    def update_state(self, values, sample_weight=None):
        self._accumulate(values, sample_weight)

    def _accumulate(self, values, sample_weight, mask=None):
        values, sample_weight = reduce_to_samplewise_values(
            values, sample_weight, ops.mean, self.dtype, mask)
        _assign_add(self.total, ops.sum(values))
        if sample_weight is not None:
            count = ops.sum(sample_weight)
        elif len(values.shape) >= 1:
            count = values.shape[0]
            if count is None:
                count = ops.sum(ops.ones_like(values))
        else:
            count = 1
        _assign_add(self.count, count)

    def result(self):
        return losses_module.divide_no_nan(self.total.value, ops.cast(self.count, self.dtype))


class MeanMetricWrapper(Mean):
    """Mean of `fn(y_true, y_pred, **kwargs)` over all samples seen."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name=name, dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs
        if fn in losses_module.ALL_OBJECTS_DICT.values() or isinstance(fn, losses_module.Loss):
            self._direction = "down"

    def _values_and_mask(self, y_true, y_pred):
        return self._fn(y_true, y_pred, **self._fn_kwargs), None

    def update_state(self, y_true, y_pred, sample_weight=None):
        values, mask = self._values_and_mask(y_true, y_pred)
        self._accumulate(values, sample_weight, mask)

    def get_config(self):
        config = {**super().get_config(), "fn": losses_module.serialize_function(self._fn)}
        config.update(self._fn_kwargs)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "fn" in config:
            config["fn"] = losses_module.deserialize_function(config["fn"], _FUNCTION_DICT)
        return cls(**config)


# --- accuracy functions (per-sample values, no reduction) -------------------------------------
def _floatx_equal(a, b):
    return ops.cast(ops.equal(a, b), config.floatx())


def accuracy(y_true, y_pred):
    """1.0 where `y_true == y_pred`, else 0.0."""
    y_pred = to_tensor(y_pred)
    y_true = to_tensor(y_true, losses_module._dtype(y_pred), like=y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    return _floatx_equal(y_true, y_pred)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """1.0 where `(y_pred > threshold) == y_true`, else 0.0."""
    y_pred = to_tensor(y_pred)
    y_true = to_tensor(y_true, like=y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    predicted = ops.cast(ops.greater(y_pred, threshold), losses_module._dtype(y_true))
    return _floatx_equal(y_true, predicted)


def _label_matches(y_true, y_pred, squeeze_any_last):
    """1.0 where the integer label `y_true` equals argmax(y_pred)."""
    y_pred = to_tensor(y_pred)
    reshape = False
    if len(y_true.shape) == len(y_pred.shape) and (squeeze_any_last or y_true.shape[-1] == 1):
        y_true = ops.squeeze(y_true, -1)
        reshape = True
    predicted = ops.cast(ops.argmax(y_pred, axis=-1), losses_module._dtype(y_true))
    matches = _floatx_equal(y_true, predicted)
    if reshape:
        matches = ops.expand_dims(matches, -1)   # back to y_true's shape
    return matches


def categorical_accuracy(y_true, y_pred):
    """1.0 where argmax(y_true) == argmax(y_pred) (one-hot labels), else 0.0."""
    y_pred = to_tensor(y_pred)
    y_true = ops.argmax(to_tensor(y_true, like=y_pred), axis=-1)
    return _label_matches(ops.cast(y_true, losses_module._dtype(y_pred)), y_pred, True)


def sparse_categorical_accuracy(y_true, y_pred):
    """1.0 where the integer label y_true == argmax(y_pred), else 0.0."""
    y_pred = to_tensor(y_pred)
    y_true = to_tensor(y_true, losses_module._dtype(y_pred), like=y_pred)
    matches = _label_matches(y_true, y_pred, False)
    if len(matches.shape) > 1 and matches.shape[-1] == 1:
        matches = ops.squeeze(matches, -1)
    return matches


# --- metric classes -----------------------------------------------------------------------------
class _Wrapper(MeanMetricWrapper):
    """A MeanMetricWrapper whose config is its constructor arguments."""
    _config_keys = ()

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype,
                **{k: getattr(self, k) for k in self._config_keys}}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class Accuracy(_Wrapper):
    """How often predictions equal labels."""

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(accuracy, name=name, dtype=dtype)
        self._direction = "up"


class BinaryAccuracy(_Wrapper):
    """How often `y_pred > threshold` matches binary labels."""
    _config_keys = ("threshold",)

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold
        self._direction = "up"


class CategoricalAccuracy(_Wrapper):
    """How often argmax(y_pred) matches one-hot labels."""

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)
        self._direction = "up"


class SparseCategoricalAccuracy(_Wrapper):
    """How often argmax(y_pred) matches integer labels."""

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)
        self._direction = "up"


class MeanSquaredError(_Wrapper):
    """Mean squared error between labels and predictions."""

    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, name=name, dtype=dtype)
        self._direction = "down"


class CategoricalCrossentropy(_Wrapper):
    """Mean cross-entropy for one-hot labels."""
    _config_keys = ("from_logits", "label_smoothing", "axis")

    def __init__(self, name="categorical_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0, axis=-1):
        super().__init__(categorical_crossentropy, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis
        self._direction = "down"


class SparseCategoricalCrossentropy(_Wrapper):
    """Mean cross-entropy for integer labels."""
    _config_keys = ("from_logits", "ignore_class", "axis")

    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False,
                 ignore_class=None, axis=-1):
        super().__init__(sparse_categorical_crossentropy, name=name, dtype=dtype,
                         from_logits=from_logits, ignore_class=ignore_class, axis=axis)
        self.from_logits, self.ignore_class, self.axis = from_logits, ignore_class, axis
        self._direction = "down"

    def _values_and_mask(self, y_true, y_pred):
        # As in Keras, ignored entries leave the mean only when sample weights are given.
        return losses_module._sparse_cce(y_true, y_pred, self.from_logits, self.ignore_class,
                                         self.axis)


# --- lookup -------------------------------------------------------------------------------------
_CLASSES = (Metric, Mean, Sum, MeanMetricWrapper, Accuracy, BinaryAccuracy, CategoricalAccuracy,
            SparseCategoricalAccuracy, MeanSquaredError, CategoricalCrossentropy,
            SparseCategoricalCrossentropy)
_FUNCTIONS = (accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
              mean_squared_error, categorical_crossentropy, sparse_categorical_crossentropy)
ALL_OBJECTS_DICT = {c.__name__: c for c in _CLASSES}
ALL_OBJECTS_DICT.update({naming.to_snake_case(c.__name__): c for c in _CLASSES})
ALL_OBJECTS_DICT.update({"mse": MeanSquaredError, "MSE": MeanSquaredError})
_FUNCTION_DICT = {f.__name__: f for f in _FUNCTIONS}


def serialize(metric):
    if inspect.isfunction(metric):
        return losses_module.serialize_function(metric)
    return {"module": "keras.metrics", "class_name": type(metric).__name__,
            "config": metric.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    """A metric (instance or function) from its `serialize` dict or name."""
    objects = {**ALL_OBJECTS_DICT, **(custom_objects or {})}
    if isinstance(config, str):
        config = {"class_name": config, "config": {}}
    if config.get("class_name") == "function":
        return losses_module.deserialize_function(config, {**_FUNCTION_DICT, **objects})
    cls = objects.get(config.get("class_name"))
    if cls is None:
        raise ValueError(f"Unknown metric {config.get('class_name')!r}.")
    return cls.from_config(config.get("config") or {})


def get(identifier):
    """A metric from a name, a class, an instance, a config dict or a callable."""
    return losses_module.resolve_identifier(identifier, ALL_OBJECTS_DICT, deserialize, "metric")


__all__ = [o.__name__ for o in _CLASSES + _FUNCTIONS] + ["get", "serialize", "deserialize"]
