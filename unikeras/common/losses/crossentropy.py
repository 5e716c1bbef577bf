"""Cross-entropy losses: binary, categorical (one-hot labels), sparse (integer labels),
their focal variants and the generalized (noise-robust) cross-entropy."""
import warnings

from unikeras import config
from unikeras import ops
from unikeras.common.losses.base import BuiltinLoss, loss_function
from unikeras.common.losses.inputs import (
    _compatible, _dtype, _static_shape, check_int_axis, check_same_shape, pair, prepared,
    to_tensor)
from unikeras.common.losses.reduction import DEFAULT_REDUCTION

def _smooth_binary(y_true, label_smoothing):
    """Labels pulled towards 1/2 by `label_smoothing`."""
    if not label_smoothing:
        return y_true
    return y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing


def _smooth_categorical(y_true, label_smoothing, axis):
    """Labels pulled towards the uniform distribution by `label_smoothing`."""
    if not label_smoothing:
        return y_true
    return y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[axis]


def _probabilities(y_pred, from_logits, axis):
    """Class probabilities along `axis`: softmax of logits, or `y_pred` rescaled to sum 1;
    clipped away from 0 and 1 so that logs stay finite."""
    if from_logits:
        y_pred = ops.softmax(y_pred, axis=axis)
    else:
        y_pred = y_pred / ops.sum(y_pred, axis=axis, keepdims=True)
    eps = config.epsilon()
    return ops.clip(y_pred, eps, 1.0 - eps)


def _log_probs(y_pred, from_logits, axis):
    if from_logits:
        return ops.log_softmax(y_pred, axis=axis)
    return ops.log(_probabilities(y_pred, False, axis))


def _categorical_inputs(name, y_true, y_pred, axis):
    check_int_axis(name, axis)
    y_true, y_pred = pair(y_true, y_pred)
    check_same_shape(name, y_true, y_pred)
    if y_pred.shape[axis] == 1:
        warnings.warn(f"{name} expects y_pred of shape (batch, num_classes) with num_classes "
                      f"> 1, got {_static_shape(y_pred)}; use binary crossentropy for two "
                      "classes.", SyntaxWarning, stacklevel=3)
    return y_true, y_pred


@loss_function("bce", "BCE")
def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Mean over `axis` of the element-wise binary cross-entropy between 0/1 (or soft)
    labels and probabilities (or logits)."""
    check_int_axis("binary_crossentropy", axis)
    y_true, y_pred = prepared("binary_crossentropy", y_true, y_pred)
    y_true = _smooth_binary(y_true, label_smoothing)
    return ops.mean(ops.binary_crossentropy(y_true, y_pred, from_logits=from_logits), axis=axis)


@loss_function()
def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25,
                              gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1):
    """Binary cross-entropy scaled by `(1 - p_t) ** gamma` (p_t: the probability given to
    the true label), so that well-classified entries count less; with
    `apply_class_balancing`, positives are also weighted by `alpha`, negatives by
    `1 - alpha`."""
    check_int_axis("binary_focal_crossentropy", axis)
    y_true, y_pred = prepared("binary_focal_crossentropy", y_true, y_pred)
    y_true = _smooth_binary(y_true, label_smoothing)
    if from_logits:
        y_pred = ops.sigmoid(y_pred)
    bce = ops.binary_crossentropy(y_true, y_pred, from_logits=False)
    p_t = y_true * y_pred + (1.0 - y_true) * (1.0 - y_pred)
    focal = ops.power(1.0 - p_t, gamma) * bce
    if apply_class_balancing:
        focal = (y_true * alpha + (1.0 - y_true) * (1.0 - alpha)) * focal
    return ops.mean(focal, axis=axis)


@loss_function()
def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Cross-entropy between one-hot (or soft) `y_true` and predicted probabilities/logits."""
    y_true, y_pred = _categorical_inputs("categorical_crossentropy", y_true, y_pred, axis)
    y_true = _smooth_categorical(y_true, label_smoothing, axis)
    return -ops.sum(y_true * _log_probs(y_pred, from_logits, axis), axis=axis)


@loss_function()
def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False,
                                   label_smoothing=0.0, axis=-1):
    """Categorical cross-entropy with each class term scaled by
    `alpha * (1 - p) ** gamma`, so that confident correct predictions count less."""
    y_true, y_pred = _categorical_inputs("categorical_focal_crossentropy", y_true, y_pred, axis)
    y_true = _smooth_categorical(y_true, label_smoothing, axis)
    probs = _probabilities(y_pred, from_logits, axis)
    weights = alpha * ops.power(1.0 - probs, gamma)
    return ops.sum(weights * -y_true * ops.log(probs), axis=axis)


def _sparse_labels(name, y_true, y_pred, axis, cast=True):
    """Labels of y_pred's backend (integer ones unless `cast=False`), checked against
    y_pred's shape without its class axis (a trailing size-1 label axis is dropped);
    returns (labels, y_pred, class axis)."""
    y_pred = to_tensor(y_pred)
    y_true = to_tensor(y_true, like=y_pred)
    rank = len(y_pred.shape)
    if rank < 1:
        raise ValueError(f"{name}: y_pred must have rank >= 1.")
    check_int_axis(name, axis)
    if len(y_true.shape) == rank and y_true.shape[axis] == 1:
        y_true = ops.squeeze(y_true, axis)
    class_axis = axis % rank
    expected = tuple(d for i, d in enumerate(_static_shape(y_pred)) if i != class_axis)
    if not _compatible(_static_shape(y_true), expected):
        raise ValueError(f"{name}: y_true must have the shape of y_pred without its class "
                         f"axis; got y_true {_static_shape(y_true)} and y_pred "
                         f"{_static_shape(y_pred)}.")
    return (ops.cast(y_true, "int32") if cast else y_true), y_pred, class_axis


def _sparse_cce(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """(per-sample loss, validity mask or None). The values come from the backend's fused
    op `ops.sparse_categorical_crossentropy` (Keras's formula: rescale, clip, log, pick);
    ignored entries get label 0 there and a loss of 0 here. The op makes integers of the
    labels itself, so only the comparisons with `ignore_class` need them cast here."""
    labels, y_pred, class_axis = _sparse_labels(
        "sparse_categorical_crossentropy", y_true, y_pred, axis, cast=ignore_class is not None)
    mask = None
    if ignore_class is not None:
        mask = ops.not_equal(labels, int(ignore_class))
        labels = ops.where(mask, labels, ops.zeros_like(labels))
    # positional arguments: the op's quick dispatch (keyed by argument types) takes no kwargs
    res = ops.sparse_categorical_crossentropy(labels, y_pred, bool(from_logits), class_axis)
    if mask is not None:
        res = ops.where(mask, res, ops.zeros_like(res))
    return res, mask


@loss_function(with_mask=_sparse_cce)
def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """Cross-entropy between integer labels and predicted probabilities/logits; entries
    labelled `ignore_class` get a loss of 0 (and Loss objects leave them out of the mean)."""
    return _sparse_cce(y_true, y_pred, from_logits, ignore_class, axis)[0]


@loss_function()
def categorical_generalized_cross_entropy(y_true, y_pred, q):
    """`(1 - p_t ** q) / q` with p_t the probability y_pred gives the integer label y_true:
    cross-entropy as q -> 0, MAE at q = 1; robust to noisy labels in between."""
    labels, y_pred, _ = _sparse_labels("categorical_generalized_cross_entropy", y_true, y_pred, -1)
    one_hot = ops.one_hot(labels, y_pred.shape[-1], dtype=_dtype(y_pred))
    p_t = ops.sum(one_hot * y_pred, axis=-1)
    return (1.0 - ops.power(p_t, q)) / q


class BinaryCrossentropy(BuiltinLoss):
    """Cross-entropy between binary labels and predicted probabilities (or logits)."""
    fn = binary_crossentropy
    config_keys = ("from_logits", "label_smoothing", "axis")

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction=DEFAULT_REDUCTION,
                 name="binary_crossentropy", dtype=None):
        super().__init__(reduction, name, dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)


class BinaryFocalCrossentropy(BuiltinLoss):
    """Focal binary cross-entropy: down-weights well-classified entries by
    `(1 - p_t) ** gamma`; optional `alpha` class balancing."""
    fn = binary_focal_crossentropy
    config_keys = ("from_logits", "label_smoothing", "axis", "apply_class_balancing", "alpha",
                   "gamma")

    def __init__(self, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
                 label_smoothing=0.0, axis=-1, reduction=DEFAULT_REDUCTION,
                 name="binary_focal_crossentropy", dtype=None):
        super().__init__(reduction, name, dtype, apply_class_balancing=apply_class_balancing,
                         alpha=alpha, gamma=gamma, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)


class CategoricalCrossentropy(BuiltinLoss):
    """Cross-entropy for one-hot labels (with optional label smoothing)."""
    fn = categorical_crossentropy
    config_keys = ("from_logits", "label_smoothing", "axis")

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction=DEFAULT_REDUCTION,
                 name="categorical_crossentropy", dtype=None):
        super().__init__(reduction, name, dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)


class CategoricalFocalCrossentropy(BuiltinLoss):
    """Focal categorical cross-entropy: class terms scaled by `alpha * (1 - p) ** gamma`."""
    fn = categorical_focal_crossentropy
    config_keys = ("from_logits", "label_smoothing", "axis", "alpha", "gamma")

    def __init__(self, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction=DEFAULT_REDUCTION, name="categorical_focal_crossentropy", dtype=None):
        super().__init__(reduction, name, dtype, alpha=alpha, gamma=gamma,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class SparseCategoricalCrossentropy(BuiltinLoss):
    """Cross-entropy for integer labels; `ignore_class` entries are left out of the mean
    (`axis` is not in the config, as in Keras)."""
    fn = sparse_categorical_crossentropy
    config_keys = ("from_logits", "ignore_class")

    def __init__(self, from_logits=False, ignore_class=None, reduction=DEFAULT_REDUCTION, axis=-1,
                 name="sparse_categorical_crossentropy", dtype=None):
        super().__init__(reduction, name, dtype, from_logits=from_logits,
                         ignore_class=ignore_class, axis=axis)


class CategoricalGeneralizedCrossEntropy(BuiltinLoss):
    """Generalized cross-entropy for integer labels, `q` in (0, 1)."""
    fn = categorical_generalized_cross_entropy
    config_keys = ("q",)

    def __init__(self, q=0.5, reduction=DEFAULT_REDUCTION, name="categorical_generalized_cross_entropy",
                 dtype=None):
        if not 0 < q < 1:
            raise ValueError(f"CategoricalGeneralizedCrossEntropy: q must be in the interval "
                             f"(0, 1), got {q!r}.")
        super().__init__(reduction, name, dtype, q=q)
