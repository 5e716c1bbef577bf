"""Hinge (maximum-margin) losses; the module is not called `hinge`, which is the loss
function exported by the package."""
from unikeras import ops
from unikeras.common.losses.base import BuiltinLoss, loss_function
from unikeras.common.losses.inputs import prepared
from unikeras.common.losses.reduction import DEFAULT_REDUCTION

def _signed_labels(y_true):
    """Labels given as 0/1 become -1/1; labels already in -1/1 stay."""
    binary = ops.all(ops.logical_or(ops.equal(y_true, 0), ops.equal(y_true, 1)))
    return ops.where(binary, 2.0 * y_true - 1.0, y_true)


def _margins(name, y_true, y_pred):
    y_true, y_pred = prepared(name, y_true, y_pred)
    return ops.maximum(1.0 - _signed_labels(y_true) * y_pred, 0.0)


@loss_function()
def hinge(y_true, y_pred):
    """Mean over the last axis of `max(1 - y_true * y_pred, 0)`; 0/1 labels read as -1/1."""
    return ops.mean(_margins("hinge", y_true, y_pred), axis=-1)


@loss_function()
def squared_hinge(y_true, y_pred):
    """Mean over the last axis of `max(1 - y_true * y_pred, 0) ** 2`; 0/1 labels read as
    -1/1."""
    return ops.mean(ops.square(_margins("squared_hinge", y_true, y_pred)), axis=-1)


@loss_function()
def categorical_hinge(y_true, y_pred):
    """`max(neg - pos + 1, 0)` with pos the score of the true class (one-hot y_true) and neg
    the best score among the other classes."""
    y_true, y_pred = prepared("categorical_hinge", y_true, y_pred)
    pos = ops.sum(y_true * y_pred, axis=-1)
    neg = ops.max((1.0 - y_true) * y_pred, axis=-1)
    return ops.maximum(neg - pos + 1.0, 0.0)


class Hinge(BuiltinLoss):
    """Hinge loss for labels in -1/1 (or 0/1)."""
    fn = hinge

    def __init__(self, reduction=DEFAULT_REDUCTION, name="hinge", dtype=None):
        super().__init__(reduction, name, dtype)


class SquaredHinge(BuiltinLoss):
    """Squared hinge loss for labels in -1/1 (or 0/1)."""
    fn = squared_hinge

    def __init__(self, reduction=DEFAULT_REDUCTION, name="squared_hinge", dtype=None):
        super().__init__(reduction, name, dtype)


class CategoricalHinge(BuiltinLoss):
    """Multi-class hinge loss for one-hot labels."""
    fn = categorical_hinge

    def __init__(self, reduction=DEFAULT_REDUCTION, name="categorical_hinge", dtype=None):
        super().__init__(reduction, name, dtype)
