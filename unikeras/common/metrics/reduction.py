"""Metrics that reduce values to a running sum or mean: `Sum`, `Mean`, and
`MeanMetricWrapper` (the mean of a per-sample function such as a loss function), with
`BuiltinMeanMetric`, the base of the Keras metric classes built on a function."""
from unikeras import ops
from unikeras.common import losses as losses_module
from unikeras.common.losses import apply_mask, squeeze_or_expand_to_same_rank, to_tensor
from unikeras.common.metrics.base import Metric, assign_add


def reduce_to_samplewise_values(values, sample_weight, reduce_fn, dtype, mask=None):
    """Weight `values` and reduce them to one value per sample (axis 0)."""
    values = ops.cast(values, dtype)
    if sample_weight is not None:
        sample_weight = to_tensor(sample_weight, dtype, like=values)
        if mask is not None:
            sample_weight = apply_mask(sample_weight, mask, dtype, "sum")
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
        assign_add(self.total, ops.sum(values))

    def result(self):
        return ops.copy(self.total.value)   # a copy: storage may change in place


class Mean(Metric):
    """Running (weighted) mean of the values seen."""

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), "zeros", dtype=self.dtype, name="total")
        self.count = self.add_variable((), "zeros", dtype=self.dtype, name="count")

    def update_state(self, values, sample_weight=None):
        if _rank(values) == 0 and sample_weight is not None and _rank(sample_weight) == 0:
            self._add_weighted_scalar(values, sample_weight)
        else:
            self._accumulate(values, sample_weight)

    def _add_weighted_scalar(self, value, weight):
        """`total += value * weight`, `count += weight`: what `_accumulate` computes for a
        scalar and a scalar weight (the trainer's loss per batch), without its broadcasting and
        reductions."""
        value = ops.cast(value, self.dtype)
        # A Python number stays one (a scalar operand, converted to the value's dtype by the
        # op) rather than becoming a new tensor every batch.
        weight = float(weight) if isinstance(weight, (int, float)) else to_tensor(
            weight, self.dtype, like=value)
        self.total.assign_add(ops.multiply(value, weight))
        self.count.assign_add(weight)

    def _accumulate(self, values, sample_weight, mask=None):
        values, sample_weight = reduce_to_samplewise_values(
            values, sample_weight, ops.mean, self.dtype, mask)
        assign_add(self.total, ops.sum(values))
        if sample_weight is not None:
            count = ops.sum(sample_weight)
        elif len(values.shape) >= 1:
            count = values.shape[0]
            if count is None:
                count = ops.sum(ops.ones_like(values))
        else:
            count = 1
        assign_add(self.count, count)

    def result(self):
        return ops.divide_no_nan(self.total.value, ops.cast(self.count, self.dtype))


def _rank(x):
    """The rank of a tensor, NumPy array or Python number (0); None for anything else."""
    if isinstance(x, (int, float)):
        return 0
    shape = getattr(x, "shape", None)
    return None if shape is None else len(shape)


class MeanMetricWrapper(Mean):
    """Mean of `fn(y_true, y_pred, **kwargs)` over all samples seen."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name=name, dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs
        if fn in losses_module.ALL_OBJECTS_DICT.values() or isinstance(fn, losses_module.Loss):
            self._direction = "down"

    def _values_and_mask(self, y_true, y_pred):
        """Per-sample values, and the entries they leave out (loss functions with a
        `with_mask` variant, e.g. `ignore_class`); as in Keras, that mask only matters
        when sample weights are given."""
        with_mask = getattr(self._fn, "with_mask", None)
        if with_mask is not None:
            return with_mask(y_true, y_pred, **self._fn_kwargs)
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
        from unikeras.common.metrics.registry import FUNCTIONS
        config = dict(config)
        if "fn" in config:
            config["fn"] = losses_module.deserialize_function(config["fn"], FUNCTIONS)
        return cls(**config)


class BuiltinMeanMetric(MeanMetricWrapper):
    """A Keras metric class around the function `fn`: its options are attributes, and
    its config is name, dtype and the options named in `config_keys` (as in Keras, not
    always all of them). `direction` is "up" for scores, "down" for errors."""

    fn = None
    config_keys = ()
    direction = "down"

    def __init__(self, name, dtype, **options):
        super().__init__(type(self).fn, name=name, dtype=dtype, **options)
        for key, value in options.items():
            setattr(self, key, value)
        self._direction = self.direction

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype,
                **{k: getattr(self, k) for k in self.config_keys}}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
