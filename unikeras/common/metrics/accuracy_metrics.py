"""Accuracy metrics: per-sample hit functions (1.0 for a hit, 0.0 otherwise, no
reduction) and the Mean metrics built on them."""
from unikeras import config
from unikeras import ops
from unikeras.common.losses import _dtype, squeeze_or_expand_to_same_rank, to_tensor
from unikeras.common.metrics.reduction import BuiltinMeanMetric


def _floatx_equal(a, b):
    return ops.cast(ops.equal(a, b), config.floatx())


def accuracy(y_true, y_pred):
    """1.0 where `y_true == y_pred`, else 0.0."""
    y_pred = to_tensor(y_pred)
    y_true = to_tensor(y_true, _dtype(y_pred), like=y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    return _floatx_equal(y_true, y_pred)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """1.0 where `(y_pred > threshold) == y_true`, else 0.0."""
    y_pred = to_tensor(y_pred)
    y_true = to_tensor(y_true, like=y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    predicted = ops.cast(ops.greater(y_pred, threshold), _dtype(y_true))
    return _floatx_equal(y_true, predicted)


def _label_matches(y_true, y_pred, squeeze_any_last):
    """1.0 where the integer label `y_true` equals argmax(y_pred)."""
    y_pred = to_tensor(y_pred)
    reshape = False
    if len(y_true.shape) == len(y_pred.shape) and (squeeze_any_last or y_true.shape[-1] == 1):
        y_true = ops.squeeze(y_true, -1)
        reshape = True
    predicted = ops.cast(ops.argmax(y_pred, axis=-1), _dtype(y_true))
    matches = _floatx_equal(y_true, predicted)
    if reshape:
        matches = ops.expand_dims(matches, -1)   # back to y_true's shape
    return matches


def categorical_accuracy(y_true, y_pred):
    """1.0 where argmax(y_true) == argmax(y_pred) (one-hot labels), else 0.0."""
    y_pred = to_tensor(y_pred)
    y_true = ops.argmax(to_tensor(y_true, like=y_pred), axis=-1)
    return _label_matches(ops.cast(y_true, _dtype(y_pred)), y_pred, True)


def sparse_categorical_accuracy(y_true, y_pred):
    """1.0 where the integer label y_true == argmax(y_pred), else 0.0."""
    y_pred = to_tensor(y_pred)
    y_true = to_tensor(y_true, _dtype(y_pred), like=y_pred)
    matches = _label_matches(y_true, y_pred, False)
    if len(matches.shape) > 1 and matches.shape[-1] == 1:
        matches = ops.squeeze(matches, -1)
    return matches


def _in_top_k_rows(name, labels, y_pred, k, from_sorted_ids=False):
    """1.0 where the integer `labels` (any shape) are among the top `k` of the matching
    rows of `y_pred` (that shape plus a class axis), in `labels`' shape."""
    label_shape = tuple(labels.shape)
    if len(y_pred.shape) != len(label_shape) + 1:
        raise ValueError(f"{name}: y_pred must have one more axis (the classes) than the "
                         f"labels; got labels of shape {label_shape} and y_pred of shape "
                         f"{tuple(y_pred.shape)}.")
    labels = ops.reshape(labels, (-1,))
    y_pred = ops.reshape(y_pred, (-1, y_pred.shape[-1]))
    if from_sorted_ids:
        # y_pred holds class ids sorted by score: a hit is the label among the first k.
        hits = ops.any(ops.equal(ops.expand_dims(labels, 1), y_pred[:, :k]), axis=1)
    else:
        hits = ops.in_top_k(ops.cast(labels, "int32"), y_pred, k)
    hits = ops.cast(hits, config.floatx())
    if len(label_shape) != 1:
        hits = ops.reshape(hits, tuple(-1 if d is None else d for d in label_shape))
    return hits


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1.0 where the class of the one-hot `y_true` is among the `k` largest `y_pred`."""
    y_pred = to_tensor(y_pred)
    labels = ops.argmax(to_tensor(y_true, like=y_pred), axis=-1)
    return _in_top_k_rows("top_k_categorical_accuracy", labels, y_pred, k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5, from_sorted_ids=False):
    """1.0 where the integer label `y_true` is among the `k` largest `y_pred` (or, with
    `from_sorted_ids`, among the first `k` ids of `y_pred`)."""
    y_pred = to_tensor(y_pred)
    labels = to_tensor(y_true, _dtype(y_pred) if from_sorted_ids else "int32", like=y_pred)
    if len(labels.shape) == len(y_pred.shape) and labels.shape[-1] == 1:
        labels = ops.squeeze(labels, -1)
    return _in_top_k_rows("sparse_top_k_categorical_accuracy", labels, y_pred, k,
                          from_sorted_ids)


class Accuracy(BuiltinMeanMetric):
    """How often predictions equal labels."""
    fn, direction = accuracy, "up"

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(name, dtype)


class BinaryAccuracy(BuiltinMeanMetric):
    """How often `y_pred > threshold` matches binary labels."""
    fn, direction, config_keys = binary_accuracy, "up", ("threshold",)

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(name, dtype, threshold=threshold)


class CategoricalAccuracy(BuiltinMeanMetric):
    """How often argmax(y_pred) matches one-hot labels."""
    fn, direction = categorical_accuracy, "up"

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(name, dtype)


class SparseCategoricalAccuracy(BuiltinMeanMetric):
    """How often argmax(y_pred) matches integer labels."""
    fn, direction = sparse_categorical_accuracy, "up"

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(name, dtype)


class TopKCategoricalAccuracy(BuiltinMeanMetric):
    """How often the one-hot label is among the `k` top predictions."""
    fn, direction, config_keys = top_k_categorical_accuracy, "up", ("k",)

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(name, dtype, k=k)


class SparseTopKCategoricalAccuracy(BuiltinMeanMetric):
    """How often the integer label is among the `k` top predictions (or, with
    `from_sorted_ids`, among the first `k` class ids of `y_pred`). As in Keras, the
    config names `from_sorted_ids` only when it is set."""
    fn, direction, config_keys = sparse_top_k_categorical_accuracy, "up", ("k",)

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None,
                 from_sorted_ids=False):
        super().__init__(name, dtype, k=k, from_sorted_ids=from_sorted_ids)

    def get_config(self):
        config = super().get_config()
        if self.from_sorted_ids:
            config["from_sorted_ids"] = True
        return config
