"""Losses between distributions or counts: Kullback-Leibler divergence and Poisson."""
from unikeras import config
from unikeras import ops
from unikeras.common.losses.base import BuiltinLoss, loss_function
from unikeras.common.losses.inputs import prepared
from unikeras.common.losses.reduction import DEFAULT_REDUCTION

@loss_function("kld", "KLD")
def kl_divergence(y_true, y_pred):
    """Sum over the last axis of `y_true * log(y_true / y_pred)`, both clipped to
    [epsilon, 1]."""
    y_true, y_pred = prepared("kl_divergence", y_true, y_pred)
    eps = config.epsilon()
    y_true = ops.clip(y_true, eps, 1.0)
    y_pred = ops.clip(y_pred, eps, 1.0)
    return ops.sum(y_true * ops.log(y_true / y_pred), axis=-1)


@loss_function()
def poisson(y_true, y_pred):
    """Mean over the last axis of `y_pred - y_true * log(y_pred + epsilon)`."""
    y_true, y_pred = prepared("poisson", y_true, y_pred)
    return ops.mean(y_pred - y_true * ops.log(y_pred + config.epsilon()), axis=-1)


class KLDivergence(BuiltinLoss):
    """Kullback-Leibler divergence from the labels to the predictions."""
    fn = kl_divergence

    def __init__(self, reduction=DEFAULT_REDUCTION, name="kl_divergence", dtype=None):
        super().__init__(reduction, name, dtype)


class Poisson(BuiltinLoss):
    """Poisson negative log-likelihood (up to a constant) of the labels given rates."""
    fn = poisson

    def __init__(self, reduction=DEFAULT_REDUCTION, name="poisson", dtype=None):
        super().__init__(reduction, name, dtype)
