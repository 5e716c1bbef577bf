"""Regression losses: errors between real-valued targets and predictions, averaged over
the last axis."""
import math

from unikeras import config
from unikeras import ops
from unikeras.common.losses.base import BuiltinLoss, loss_function
from unikeras.common.losses.inputs import check_int_axis, prepared
from unikeras.common.losses.reduction import DEFAULT_REDUCTION

@loss_function("mse", "MSE")
def mean_squared_error(y_true, y_pred):
    """Mean over the last axis of `(y_true - y_pred) ** 2`."""
    y_true, y_pred = prepared("mean_squared_error", y_true, y_pred)
    return ops.mean(ops.square(y_true - y_pred), axis=-1)


@loss_function("mae", "MAE")
def mean_absolute_error(y_true, y_pred):
    """Mean over the last axis of `|y_true - y_pred|`."""
    y_true, y_pred = prepared("mean_absolute_error", y_true, y_pred)
    return ops.mean(ops.abs(y_true - y_pred), axis=-1)


@loss_function("mape", "MAPE")
def mean_absolute_percentage_error(y_true, y_pred):
    """100 * mean over the last axis of `|y_true - y_pred| / max(|y_true|, epsilon)`."""
    y_true, y_pred = prepared("mean_absolute_percentage_error", y_true, y_pred)
    relative = ops.abs(y_true - y_pred) / ops.maximum(ops.abs(y_true), config.epsilon())
    return 100.0 * ops.mean(relative, axis=-1)


@loss_function("msle", "MSLE")
def mean_squared_logarithmic_error(y_true, y_pred):
    """Mean over the last axis of `(log(1 + y_pred) - log(1 + y_true)) ** 2`, both clipped
    below at epsilon."""
    y_true, y_pred = prepared("mean_squared_logarithmic_error", y_true, y_pred)
    eps = config.epsilon()
    log_pred = ops.log(ops.maximum(y_pred, eps) + 1.0)
    log_true = ops.log(ops.maximum(y_true, eps) + 1.0)
    return ops.mean(ops.square(log_pred - log_true), axis=-1)


@loss_function()
def cosine_similarity(y_true, y_pred, axis=-1):
    """Minus the cosine of the angle between y_true and y_pred along `axis` (-1 is best)."""
    check_int_axis("cosine_similarity", axis)
    y_true, y_pred = prepared("cosine_similarity", y_true, y_pred)
    return -ops.sum(ops.normalize(y_true, axis=axis) * ops.normalize(y_pred, axis=axis),
                    axis=axis)


@loss_function()
def huber(y_true, y_pred, delta=1.0):
    """Mean over the last axis of `err**2 / 2` where `|err| <= delta`, else
    `delta * |err| - delta**2 / 2`."""
    y_true, y_pred = prepared("huber", y_true, y_pred)
    delta = float(delta)
    error = y_pred - y_true
    abs_error = ops.abs(error)
    quadratic = 0.5 * ops.square(error)
    linear = delta * abs_error - 0.5 * delta * delta
    return ops.mean(ops.where(abs_error <= delta, quadratic, linear), axis=-1)


@loss_function("logcosh")
def log_cosh(y_true, y_pred):
    """Mean over the last axis of `log(cosh(y_pred - y_true))`, computed without overflow
    as `x + softplus(-2x) - log(2)`."""
    y_true, y_pred = prepared("log_cosh", y_true, y_pred)
    error = y_pred - y_true
    return ops.mean(error + ops.softplus(-2.0 * error) - math.log(2.0), axis=-1)


class MeanSquaredError(BuiltinLoss):
    """Mean of squares of errors between labels and predictions."""
    fn = mean_squared_error

    def __init__(self, reduction=DEFAULT_REDUCTION, name="mean_squared_error", dtype=None):
        super().__init__(reduction, name, dtype)


class MeanAbsoluteError(BuiltinLoss):
    """Mean of absolute errors between labels and predictions."""
    fn = mean_absolute_error

    def __init__(self, reduction=DEFAULT_REDUCTION, name="mean_absolute_error", dtype=None):
        super().__init__(reduction, name, dtype)


class MeanAbsolutePercentageError(BuiltinLoss):
    """Mean absolute error relative to the labels, in percent."""
    fn = mean_absolute_percentage_error

    def __init__(self, reduction=DEFAULT_REDUCTION, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(reduction, name, dtype)


class MeanSquaredLogarithmicError(BuiltinLoss):
    """Mean squared error between log(1 + labels) and log(1 + predictions)."""
    fn = mean_squared_logarithmic_error

    def __init__(self, reduction=DEFAULT_REDUCTION, name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(reduction, name, dtype)


class CosineSimilarity(BuiltinLoss):
    """Negative cosine similarity along `axis` (not in the config, as in Keras)."""
    fn = cosine_similarity

    def __init__(self, axis=-1, reduction=DEFAULT_REDUCTION, name="cosine_similarity", dtype=None):
        super().__init__(reduction, name, dtype, axis=axis)


class Huber(BuiltinLoss):
    """Quadratic for errors up to `delta`, linear beyond (`delta` is not in the config, as
    in Keras)."""
    fn = huber

    def __init__(self, delta=1.0, reduction=DEFAULT_REDUCTION, name="huber_loss", dtype=None):
        super().__init__(reduction, name, dtype, delta=delta)


class LogCosh(BuiltinLoss):
    """Logarithm of the hyperbolic cosine of the prediction error."""
    fn = log_cosh

    def __init__(self, reduction=DEFAULT_REDUCTION, name="log_cosh", dtype=None):
        super().__init__(reduction, name, dtype)
