"""Connectionist temporal classification (CTC) loss for unaligned sequence labels."""
from unikeras import ops
from unikeras.common.losses.base import BuiltinLoss, loss_function
from unikeras.common.losses.inputs import _static_shape, to_tensor
from unikeras.common.losses.reduction import DEFAULT_REDUCTION

@loss_function()
def ctc(y_true, y_pred):
    """CTC loss per sequence: `y_true` (batch, max_label_length) integer labels, `y_pred`
    (batch, time, classes) logits, class 0 the blank. Every label row counts in full and
    every time step is used."""
    y_pred = to_tensor(y_pred)
    y_true = to_tensor(y_true, like=y_pred)
    if len(y_true.shape) != 2 or len(y_pred.shape) != 3:
        raise ValueError("ctc: y_true must have shape (batch, max_label_length) and y_pred "
                         f"(batch, time, classes); got {_static_shape(y_true)} and "
                         f"{_static_shape(y_pred)}.")
    labels = ops.cast(y_true, "int32")
    label_length = ops.sum(ops.ones_like(labels), axis=1)
    output_length = ops.sum(ops.ones_like(ops.cast(y_pred[:, :, 0], "int32")), axis=1)
    return ops.ctc_loss(labels, y_pred, label_length, output_length, mask_index=0)


class CTC(BuiltinLoss):
    """CTC loss (see `ctc`)."""
    fn = ctc

    def __init__(self, reduction=DEFAULT_REDUCTION, name="ctc", dtype=None):
        super().__init__(reduction, name, dtype)
