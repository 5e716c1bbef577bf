"""Correlation metrics: Pearson's and Lin's concordance correlation coefficients of
`y_true` and `y_pred` along an axis, per sample, and their Mean metrics."""
from unikeras import config
from unikeras import ops
from unikeras.common.losses import squeeze_or_expand_to_same_rank
from unikeras.common.losses.inputs import check_same_shape, pair
from unikeras.common.metrics.reduction import BuiltinMeanMetric


def _centered(name, y_true, y_pred, axis):
    y_true, y_pred = pair(y_true, y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    check_same_shape(name, y_true, y_pred)
    true_mean = ops.mean(y_true, axis=axis, keepdims=True)
    pred_mean = ops.mean(y_pred, axis=axis, keepdims=True)
    return y_true - true_mean, y_pred - pred_mean, true_mean - pred_mean


def pearson_correlation(y_true, y_pred, axis=-1):
    """Pearson's correlation coefficient `cov(t, p) / (std(t) * std(p))` along `axis`."""
    t, p, _ = _centered("pearson_correlation", y_true, y_pred, axis)
    t = t / ops.std(t, axis=axis, keepdims=True)
    p = p / ops.std(p, axis=axis, keepdims=True)
    return ops.mean(t * p, axis=axis)


def concordance_correlation(y_true, y_pred, axis=-1):
    """Lin's concordance correlation `2 cov(t, p) / (var(t) + var(p) + (mean(t) -
    mean(p))^2)` along `axis`: 1 only when predictions equal labels."""
    t, p, mean_gap = _centered("concordance_correlation", y_true, y_pred, axis)
    norm = (ops.mean(ops.square(t), axis=axis, keepdims=True)
            + ops.mean(ops.square(p), axis=axis, keepdims=True) + ops.square(mean_gap))
    return ops.mean(2.0 * t * p / (norm + config.epsilon()), axis=axis)


class PearsonCorrelation(BuiltinMeanMetric):
    """Mean Pearson correlation between labels and predictions along `axis`."""
    fn, direction, config_keys = pearson_correlation, "up", ("axis",)

    def __init__(self, name="pearson_correlation", dtype=None, axis=-1):
        super().__init__(name, dtype, axis=axis)


class ConcordanceCorrelation(BuiltinMeanMetric):
    """Mean concordance correlation between labels and predictions along `axis`."""
    fn, direction, config_keys = concordance_correlation, "up", ("axis",)

    def __init__(self, name="concordance_correlation", dtype=None, axis=-1):
        super().__init__(name, dtype, axis=axis)
