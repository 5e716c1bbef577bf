"""Circle loss for metric learning: pulls embeddings of equal labels together and pushes
the others apart, each pair weighted by how far it is from its optimum."""
from unikeras import ops
from unikeras.common.losses.base import BuiltinLoss, loss_function
from unikeras.common.losses.inputs import _dtype, _static_shape, to_tensor
from unikeras.common.losses.reduction import DEFAULT_REDUCTION

def _label_masks(labels, ref_labels, remove_diagonal):
    """(positive, negative) boolean (batch, ref) masks: same label / different label; the
    diagonal (each sample with itself) is no positive when `remove_diagonal`."""
    labels, ref_labels = ops.reshape(labels, (-1,)), ops.reshape(ref_labels, (-1,))
    positive = ops.equal(ops.reshape(labels, (-1, 1)), ops.reshape(ref_labels, (1, -1)))
    negative = ops.logical_not(positive)
    if remove_diagonal:
        # Positions counted with cumsum rather than arange: the batch size may be unknown.
        rows = ops.cumsum(ops.ones_like(labels))
        cols = ops.cumsum(ops.ones_like(ref_labels))
        diagonal = ops.equal(ops.reshape(rows, (-1, 1)), ops.reshape(cols, (1, -1)))
        positive = ops.logical_and(positive, ops.logical_not(diagonal))
    return positive, negative


def _circle(y_true, y_pred, ref_labels=None, ref_embeddings=None, remove_diagonal=True,
            gamma=80, margin=0.4):
    """(per-sample loss, mask of samples with a positive loss)."""
    y_pred = to_tensor(y_pred)
    y_true = to_tensor(y_true, like=y_pred)
    if len(y_pred.shape) != 2:
        raise ValueError(f"circle: y_pred must be embeddings of shape (batch, dim), got "
                         f"{_static_shape(y_pred)}.")
    ref_embeddings = y_pred if ref_embeddings is None else to_tensor(
        ref_embeddings, _dtype(y_pred), like=y_pred)
    labels = ops.cast(y_true, "int32")
    ref_labels = labels if ref_labels is None else ops.cast(to_tensor(ref_labels, like=y_pred),
                                                            "int32")
    distances = ops.maximum(1.0 - ops.matmul(y_pred, ops.transpose(ref_embeddings)), 0.0)
    positive, negative = _label_masks(labels, ref_labels, remove_diagonal)
    # Each pair's weight grows with its distance from the optimum (margin for positives,
    # 1 + margin for negatives); the decision boundaries sit at margin and 1 - margin.
    pos_weights = ops.maximum((margin + distances) * ops.cast(positive, _dtype(distances)), 0.0)
    neg_weights = ops.maximum((1.0 + margin - distances) * ops.cast(negative, _dtype(distances)),
                              0.0)
    pos_terms = -gamma * pos_weights * (margin - distances)
    neg_terms = gamma * neg_weights * ((1.0 - margin) - distances)
    # Pairs left out get a huge negative term rather than -inf: a sample without positives
    # (or negatives) then has a loss of exactly 0 and finite gradients.
    absent = -1e30
    pos_loss = ops.logsumexp(ops.where(positive, pos_terms, absent), axis=1)
    neg_loss = ops.logsumexp(ops.where(negative, neg_terms, absent), axis=1)
    loss = ops.softplus(pos_loss + neg_loss)
    return loss, ops.greater(loss, 0.0)


@loss_function(with_mask=_circle)
def circle(y_true, y_pred, ref_labels=None, ref_embeddings=None, remove_diagonal=True,
           gamma=80, margin=0.4):
    """Circle loss per sample: `y_true` integer labels (batch,), `y_pred` L2-normalized
    embeddings (batch, dim), compared with `ref_embeddings`/`ref_labels` (default: the batch
    itself). Loss objects average over the samples with a positive loss only."""
    return _circle(y_true, y_pred, ref_labels, ref_embeddings, remove_diagonal, gamma, margin)[0]


class Circle(BuiltinLoss):
    """Circle loss (see `circle`) within the batch."""
    fn = circle
    config_keys = ("gamma", "margin", "remove_diagonal")

    def __init__(self, gamma=80.0, margin=0.4, remove_diagonal=True, reduction=DEFAULT_REDUCTION,
                 name="circle", dtype=None):
        super().__init__(reduction, name, dtype, gamma=gamma, margin=margin,
                         remove_diagonal=remove_diagonal)
