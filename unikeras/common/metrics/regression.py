"""Regression metrics: mean errors (Mean metrics over the loss functions), cosine
similarity, root mean squared error and the coefficient of determination (R2Score)."""
from unikeras import ops
from unikeras.common.losses import (
    cosine_similarity as negative_cosine_similarity, log_cosh, mean_absolute_error,
    mean_absolute_percentage_error, mean_squared_error, mean_squared_logarithmic_error,
    squeeze_or_expand_to_same_rank, to_tensor)
from unikeras.common.losses.inputs import check_same_shape
from unikeras.common.losses.reduction import num_elements
from unikeras.common.metrics.base import Metric, assign_add
from unikeras.common.metrics.reduction import BuiltinMeanMetric, Mean


def _cosine_similarity(y_true, y_pred, axis=-1):
    """Cosine of the angle between `y_true` and `y_pred` along `axis` (the metric is the
    similarity; the loss of the same name is its negative)."""
    return ops.negative(negative_cosine_similarity(y_true, y_pred, axis=axis))


class MeanSquaredError(BuiltinMeanMetric):
    """Mean of `(y_true - y_pred) ** 2`."""
    fn = mean_squared_error

    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(name, dtype)


class MeanAbsoluteError(BuiltinMeanMetric):
    """Mean of `|y_true - y_pred|`."""
    fn = mean_absolute_error

    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(name, dtype)


class MeanAbsolutePercentageError(BuiltinMeanMetric):
    """Mean of `100 * |y_true - y_pred| / |y_true|`."""
    fn = mean_absolute_percentage_error

    def __init__(self, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(name, dtype)


class MeanSquaredLogarithmicError(BuiltinMeanMetric):
    """Mean of `(log(y_true + 1) - log(y_pred + 1)) ** 2`."""
    fn = mean_squared_logarithmic_error

    def __init__(self, name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(name, dtype)


class LogCoshError(BuiltinMeanMetric):
    """Mean of `log(cosh(y_pred - y_true))`."""
    fn = log_cosh

    def __init__(self, name="logcosh", dtype=None):
        super().__init__(name, dtype)


class CosineSimilarity(BuiltinMeanMetric):
    """Mean cosine similarity between labels and predictions along `axis` (its config
    leaves `axis` out, as Keras's does)."""
    fn, direction = _cosine_similarity, "up"

    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        super().__init__(name, dtype, axis=axis)


class RootMeanSquaredError(Mean):
    """Square root of the (weighted) mean of `(y_pred - y_true) ** 2`."""

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self._direction = "down"

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = to_tensor(y_pred, self.dtype)
        y_true = to_tensor(y_true, self.dtype, like=y_pred)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        check_same_shape(type(self).__name__, y_true, y_pred)
        super().update_state(ops.square(y_pred - y_true), sample_weight=sample_weight)

    def result(self):
        return ops.sqrt(super().result())

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


_CLASS_AGGREGATIONS = (None, "uniform_average", "variance_weighted_average")


class R2Score(Metric):
    """Coefficient of determination `1 - SS_res / SS_tot` per output column of 2-D
    data, aggregated by `class_aggregation`; `num_regressors > 0` gives the adjusted R2
    (with n the number of entries seen, as in Keras)."""

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name="r2_score",
                 dtype=None):
        super().__init__(name=name, dtype=dtype)
        if class_aggregation not in _CLASS_AGGREGATIONS:
            raise ValueError(f"R2Score: invalid class_aggregation {class_aggregation!r}; "
                             f"expected one of {_CLASS_AGGREGATIONS}.")
        if num_regressors < 0:
            raise ValueError(f"R2Score: num_regressors must be >= 0, got {num_regressors}.")
        self._direction = "up"
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors
        self.num_samples = self.add_variable((), "zeros", name="num_samples")
        self._built = False

    def _build(self, y_true_shape, y_pred_shape):
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2 or None in (
                y_pred_shape[-1], y_true_shape[-1]):
            raise ValueError("R2Score expects 2-D inputs of shape (batch_size, output_dim) with "
                             f"output_dim known; got y_true of shape {tuple(y_true_shape)} and "
                             f"y_pred of shape {tuple(y_pred_shape)}.")
        columns = (int(y_pred_shape[-1]),)
        self.squared_sum = self.add_variable(columns, "zeros", name="squared_sum")
        self.sum = self.add_variable(columns, "zeros", name="sum")
        self.total_mse = self.add_variable(columns, "zeros", name="residual")
        self.count = self.add_variable(columns, "zeros", name="count")
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = to_tensor(y_pred, self.dtype)
        y_true = to_tensor(y_true, self.dtype, like=y_pred)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        if not self._built:
            self._build(y_true.shape, y_pred.shape)
        check_same_shape("R2Score", y_true, y_pred)
        if sample_weight is None:
            weight = ops.ones_like(y_true)
        else:
            weight = to_tensor(sample_weight, self.dtype, like=y_pred)
            if len(weight.shape) == 1:
                weight = ops.expand_dims(weight, 1)   # one weight per row
            weight = weight * ops.ones_like(y_true)
        weighted = y_true * weight
        assign_add(self.sum, ops.sum(weighted, axis=0))
        assign_add(self.squared_sum, ops.sum(y_true * weighted, axis=0))
        assign_add(self.total_mse, ops.sum(ops.square(y_true - y_pred) * weight, axis=0))
        assign_add(self.count, ops.sum(weight, axis=0))
        assign_add(self.num_samples, num_elements(y_true))

    def result(self):
        total_sum, count = self.sum.value, self.count.value
        total = self.squared_sum.value - total_sum * (total_sum / count)
        scores = 1.0 - self.total_mse.value / total
        scores = ops.where(ops.isinf(scores), ops.zeros_like(scores), scores)
        if self.class_aggregation == "uniform_average":
            scores = ops.mean(scores)
        elif self.class_aggregation == "variance_weighted_average":
            scores = ops.sum(total * scores) / ops.sum(total)
        if self.num_regressors:
            # Adjusted R2; undefined (left unadjusted) unless n - 1 > num_regressors.
            n, p = self.num_samples.value, float(self.num_regressors)
            adjusted = 1.0 - (1.0 - scores) * (n - 1.0) / (n - p - 1.0)
            scores = ops.where(ops.greater(n - 1.0, p), adjusted, scores)
        return scores

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype,
                "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}
