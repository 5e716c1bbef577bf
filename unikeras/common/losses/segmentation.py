"""Overlap losses for segmentation: Dice and Tversky (1 - an overlap score)."""
from unikeras import config
from unikeras import ops
from unikeras.common.losses.base import BuiltinLoss, loss_function
from unikeras.common.losses.inputs import pair, check_same_shape
from unikeras.common.losses.reduction import DEFAULT_REDUCTION

def _overlap_inputs(name, y_true, y_pred, axis):
    if isinstance(axis, bool) or (axis is not None and not isinstance(axis, (int, tuple, list))):
        raise ValueError(f"{name}: `axis` must be None, an int or a tuple of ints, got {axis!r}.")
    y_true, y_pred = pair(y_true, y_pred)
    check_same_shape(name, y_true, y_pred)
    return y_true, y_pred, None if axis is None else (
        axis if isinstance(axis, int) else tuple(axis))


@loss_function()
def dice(y_true, y_pred, axis=None):
    """`1 - 2 |y_true * y_pred| / (|y_true| + |y_pred|)`, sums taken over `axis` (None: all
    entries, one value for the batch)."""
    y_true, y_pred, axis = _overlap_inputs("dice", y_true, y_pred, axis)
    intersection = ops.sum(y_true * y_pred, axis=axis)
    total = ops.sum(y_true, axis=axis) + ops.sum(y_pred, axis=axis)
    return 1.0 - 2.0 * intersection / (total + config.epsilon())


@loss_function()
def tversky(y_true, y_pred, alpha=0.5, beta=0.5, axis=None):
    """`1 - TP / (TP + alpha FN + beta FP)` with soft counts summed over `axis` (None: all
    entries); alpha = beta = 0.5 is the Dice loss."""
    y_true, y_pred, axis = _overlap_inputs("tversky", y_true, y_pred, axis)
    true_pos = ops.sum(y_true * y_pred, axis=axis)
    false_pos = ops.sum((1.0 - y_true) * y_pred, axis=axis)
    false_neg = ops.sum(y_true * (1.0 - y_pred), axis=axis)
    return 1.0 - true_pos / (true_pos + alpha * false_neg + beta * false_pos + config.epsilon())


class Dice(BuiltinLoss):
    """Dice loss over `axis` (None: over everything)."""
    fn = dice
    config_keys = ("axis",)

    def __init__(self, reduction=DEFAULT_REDUCTION, name="dice", axis=None, dtype=None):
        super().__init__(reduction, name, dtype, axis=axis)


class Tversky(BuiltinLoss):
    """Tversky loss: Dice with false negatives weighted by `alpha`, false positives by
    `beta`."""
    fn = tversky
    config_keys = ("alpha", "beta", "axis")

    def __init__(self, alpha=0.5, beta=0.5, reduction=DEFAULT_REDUCTION, name="tversky", axis=None,
                 dtype=None):
        super().__init__(reduction, name, dtype, alpha=alpha, beta=beta, axis=axis)
