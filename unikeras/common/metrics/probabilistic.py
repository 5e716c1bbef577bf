"""Probabilistic metrics: Mean metrics over the cross-entropy, KL divergence and Poisson
loss functions."""
from unikeras.common.losses import (
    binary_crossentropy, categorical_crossentropy, kl_divergence, poisson,
    sparse_categorical_crossentropy)
from unikeras.common.metrics.reduction import BuiltinMeanMetric


class BinaryCrossentropy(BuiltinMeanMetric):
    """Mean binary cross-entropy."""
    fn, config_keys = binary_crossentropy, ("from_logits", "label_smoothing")

    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0):
        super().__init__(name, dtype, from_logits=from_logits, label_smoothing=label_smoothing)


class CategoricalCrossentropy(BuiltinMeanMetric):
    """Mean cross-entropy for one-hot labels."""
    fn, config_keys = categorical_crossentropy, ("from_logits", "label_smoothing", "axis")

    def __init__(self, name="categorical_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0, axis=-1):
        super().__init__(name, dtype, from_logits=from_logits, label_smoothing=label_smoothing,
                         axis=axis)


class SparseCategoricalCrossentropy(BuiltinMeanMetric):
    """Mean cross-entropy for integer labels (entries labelled `ignore_class` leave the
    mean only when sample weights are given, as in Keras)."""
    fn, config_keys = sparse_categorical_crossentropy, ("from_logits", "ignore_class", "axis")

    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False,
                 ignore_class=None, axis=-1):
        super().__init__(name, dtype, from_logits=from_logits, ignore_class=ignore_class,
                         axis=axis)


class KLDivergence(BuiltinMeanMetric):
    """Mean Kullback-Leibler divergence `sum(y_true * log(y_true / y_pred))`."""
    fn = kl_divergence

    def __init__(self, name="kl_divergence", dtype=None):
        super().__init__(name, dtype)


class Poisson(BuiltinMeanMetric):
    """Mean Poisson loss `y_pred - y_true * log(y_pred)`."""
    fn = poisson

    def __init__(self, name="poisson", dtype=None):
        super().__init__(name, dtype)
