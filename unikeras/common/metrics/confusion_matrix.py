"""Counting true/false positives/negatives of thresholded predictions, shared by the
confusion-matrix metrics, Precision/Recall, the "X at Y" metrics and AUC.

A prediction is positive at threshold t when `y_pred > t`; a label is positive when it
is non-zero. Counts are accumulated into Variables of shape (num_thresholds,) (or
(num_thresholds, num_labels) with `multi_label`). Evenly spaced thresholds in [0, 1] use
a bucket histogram (linear in the data, not in data x thresholds), as Keras does.
"""
import numpy as np

from unikeras import config
from unikeras import ops
from unikeras.common.losses import squeeze_or_expand_to_same_rank, to_tensor
from unikeras.common.losses.inputs import _compatible, _static_shape
from unikeras.common.metrics.base import assign_add

NEG_INF = -1e10   # the threshold of top_k metrics: every kept prediction is above it
COUNTS = ("true_positives", "false_positives", "true_negatives", "false_negatives")


def parse_thresholds(owner, thresholds, default):
    """`thresholds` (a float, a list of floats or None for `default`) as a list of
    floats; given values must lie in [0, 1]."""
    if thresholds is None:
        return [default]
    values = list(thresholds) if isinstance(thresholds, (list, tuple, np.ndarray)) else [thresholds]
    bad = [t for t in values if t is None or not 0 <= t <= 1]
    if bad or not values:
        raise ValueError(f"{owner}: threshold values must be in [0, 1]; got {thresholds!r}.")
    return [float(t) for t in values]


def evenly_spaced(thresholds):
    """True for 3 or more thresholds at i / (n - 1), within epsilon (AUC's endpoints
    0 - eps and 1 + eps included)."""
    n = len(thresholds)
    return n >= 3 and bool(np.allclose(thresholds, np.arange(n) / (n - 1), atol=config.epsilon()))


def _keep_top_k(y_pred, k):
    """`y_pred` with all but the `k` largest entries of the last axis set to NEG_INF."""
    _, indices = ops.top_k(y_pred, k)
    kept = ops.sum(ops.one_hot(indices, y_pred.shape[-1], dtype=y_pred.dtype), axis=-2)
    return y_pred * kept + NEG_INF * (1.0 - kept)


def _prepare(owner, y_true, y_pred, sample_weight, dtype, top_k, class_id):
    """(labels, predictions, weights or None) of equal shape, in `dtype`."""
    y_pred = to_tensor(y_pred, dtype)
    y_true = to_tensor(y_true, dtype, like=y_pred)
    y_pred, y_true = squeeze_or_expand_to_same_rank(y_pred, y_true)
    if not _compatible(_static_shape(y_true), _static_shape(y_pred)):
        raise ValueError(f"{owner}: y_true and y_pred must have the same shape, got "
                         f"{_static_shape(y_true)} and {_static_shape(y_pred)}.")
    if sample_weight is not None:
        sample_weight = ops.expand_dims(to_tensor(sample_weight, dtype, like=y_pred), -1)
        _, sample_weight = squeeze_or_expand_to_same_rank(y_true, sample_weight,
                                                          expand_rank_1=False)
        ws, ps = _static_shape(sample_weight), _static_shape(y_pred)
        if len(ws) > len(ps) or any(w not in (1, p) and None not in (w, p)
                                    for w, p in zip(ws[::-1], ps[::-1])):
            raise ValueError(f"{owner}: sample_weight of shape {ws} does not broadcast to "
                             f"y_pred of shape {ps}.")
        sample_weight = sample_weight * ops.ones_like(y_pred)
    if top_k is not None:
        y_pred = _keep_top_k(y_pred, top_k)
    if class_id is not None:
        if len(y_pred.shape) < 2:
            raise ValueError(f"{owner}: class_id needs y_pred of shape (num_samples, "
                             f"num_classes), got {_static_shape(y_pred)}.")
        pick = slice(class_id, class_id + 1)
        y_true, y_pred = y_true[..., pick], y_pred[..., pick]
        if sample_weight is not None:
            sample_weight = sample_weight[..., pick]
    return y_true, y_pred, sample_weight


def _counts_by_comparison(positive, y_pred, weights, thresholds):
    """Weighted (tp, fp, tn, fn), summed over axis 0 of `positive`, at each threshold."""
    th = to_tensor(np.reshape(thresholds, (-1,) + (1,) * len(y_pred.shape)), y_pred.dtype,
                   like=y_pred)
    predicted = ops.cast(ops.greater(ops.expand_dims(y_pred, 0), th), y_pred.dtype)
    positive = ops.expand_dims(positive, 0)
    weights = ops.expand_dims(weights, 0)
    tp = ops.sum(predicted * positive * weights, axis=1)
    fp = ops.sum(predicted * (1.0 - positive) * weights, axis=1)
    fn = ops.sum((1.0 - predicted) * positive * weights, axis=1)
    tn = ops.sum((1.0 - predicted) * (1.0 - positive) * weights, axis=1)
    return tp, fp, tn, fn


def _counts_by_buckets(positive, y_pred, weights, thresholds):
    """The same counts for thresholds i / (n - 1) (possibly with endpoints just outside
    [0, 1]): each prediction falls in one bucket, and a reverse cumulative sum of the
    per-bucket weights gives the count of predictions above each threshold."""
    n = len(thresholds)
    below_zero = thresholds[0] < 0.0
    y_pred = ops.clip(y_pred, 0.0, 1.0)
    # Bucket b (in [-1, n - 2]) holds predictions above thresholds 0..b; shifted by one.
    shifted = ops.ceil(y_pred * float(n - 1))
    if below_zero:
        shifted = ops.maximum(shifted, 1.0)   # above 0 - eps, even a prediction of 0
    shifted = ops.cast(shifted, "int32")
    columns = 1 if len(y_pred.shape) == 1 else int(y_pred.shape[-1])
    if columns > 1:
        shifted = shifted + to_tensor(np.arange(columns) * n, "int32", like=y_pred)
    flat = lambda x: ops.reshape(x, (-1,))  # noqa: E731

    def above_each_threshold(values):
        per_bucket = ops.segment_sum(flat(values), flat(shifted), num_segments=n * columns)
        per_bucket = ops.transpose(ops.reshape(per_bucket, (columns, n)))
        at_or_above = ops.flip(ops.cumsum(ops.flip(per_bucket, 0), axis=0), 0)
        counts = ops.concatenate([at_or_above[1:], ops.zeros_like(at_or_above[:1])], axis=0)
        return counts if len(y_pred.shape) > 1 else ops.reshape(counts, (n,))

    pos_weights, neg_weights = positive * weights, (1.0 - positive) * weights
    tp, fp = above_each_threshold(pos_weights), above_each_threshold(neg_weights)
    fn = ops.sum(pos_weights, axis=0) - tp
    tn = ops.sum(neg_weights, axis=0) - fp
    return tp, fp, tn, fn


def update_confusion_counts(owner, variables, y_true, y_pred, thresholds, sample_weight=None,
                            top_k=None, class_id=None, multi_label=False, label_weights=None,
                            evenly=False):
    """Add this batch's weighted counts to `variables` ({count name: Variable}, names from
    COUNTS). `owner` names the metric in error messages. Without `multi_label`, all
    entries are pooled; with it, counts are kept per label (last axis of 2-D data).
    `label_weights` (per label, pooled mode only) scale the entries of each label."""
    dtype = next(iter(variables.values())).dtype
    y_true, y_pred, weights = _prepare(owner, y_true, y_pred, sample_weight, dtype, top_k,
                                       class_id)
    if label_weights is not None:
        label_weights = to_tensor(label_weights, dtype, like=y_pred) * ops.ones_like(y_pred)
        weights = label_weights if weights is None else weights * label_weights
    if weights is None:
        weights = ops.ones_like(y_pred)
    positive = ops.cast(ops.not_equal(y_true, 0), dtype)
    if not multi_label:
        positive, y_pred, weights = (ops.reshape(x, (-1,)) for x in (positive, y_pred, weights))
    elif len(y_pred.shape) != 2:
        raise ValueError(f"{owner}: multi_label needs 2-D y_pred (num_samples, num_labels), "
                         f"got {_static_shape(y_pred)}.")
    count_fn = _counts_by_buckets if evenly else _counts_by_comparison
    values = dict(zip(("true_positives", "false_positives", "true_negatives",
                       "false_negatives"), count_fn(positive, y_pred, weights, thresholds)))
    for name, variable in variables.items():
        assign_add(variable, values[name])
