"""F-beta and F1 scores of multi-class / multi-label predictions (2-D data)."""
from unikeras import config
from unikeras import ops
from unikeras.common.losses import to_tensor
from unikeras.common.losses.inputs import _compatible, _static_shape
from unikeras.common.metrics.base import Metric, assign_add

AVERAGES = (None, "micro", "macro", "weighted")


class FBetaScore(Metric):
    """`(1 + beta^2) * precision * recall / (beta^2 * precision + recall)` per class
    (`average=None`), of the pooled counts ("micro"), their mean ("macro") or their mean
    weighted by each class's (weighted) number of positive labels ("weighted"). A
    prediction is positive above `threshold`, or, when it is None, where it is the row's
    (non-zero) maximum."""

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        owner = type(self).__name__
        if average not in AVERAGES:
            raise ValueError(f"{owner}: invalid average {average!r}; expected one of "
                             f"{AVERAGES}.")
        if not isinstance(beta, float) or beta <= 0.0:
            raise ValueError(f"{owner}: beta must be a Python float > 0, got {beta!r}.")
        if threshold is not None and (not isinstance(threshold, float)
                                      or not 0.0 < threshold <= 1.0):
            raise ValueError(f"{owner}: threshold must be a Python float in (0, 1], got "
                             f"{threshold!r}.")
        self._direction = "up"
        self.average, self.beta, self.threshold = average, beta, threshold
        self.axis = None if average == "micro" else 0
        self._built = False

    def _build(self, y_true_shape, y_pred_shape):
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2 or y_pred_shape[-1] is None:
            raise ValueError(f"{type(self).__name__} expects 2-D inputs of shape (batch_size, "
                             f"output_dim) with output_dim known; got y_true of shape "
                             f"{tuple(y_true_shape)} and y_pred of shape {tuple(y_pred_shape)}.")
        shape = () if self.average == "micro" else (int(y_pred_shape[-1]),)
        for name in ("true_positives", "false_positives", "false_negatives",
                     "intermediate_weights"):
            setattr(self, name, self.add_variable(shape, "zeros", dtype=self.dtype, name=name))
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = to_tensor(y_pred, self.dtype)
        y_true = to_tensor(y_true, self.dtype, like=y_pred)
        if not self._built:
            self._build(_static_shape(y_true), _static_shape(y_pred))
        if not _compatible(_static_shape(y_true), _static_shape(y_pred)):
            raise ValueError(f"{type(self).__name__}: y_true and y_pred must have the same "
                             f"shape, got {_static_shape(y_true)} and {_static_shape(y_pred)}.")
        if self.threshold is None:
            row_max = ops.max(y_pred, axis=-1, keepdims=True)
            predicted = ops.logical_and(ops.greater_equal(y_pred, row_max),
                                        ops.greater(ops.abs(y_pred), 1e-9))
        else:
            predicted = ops.greater(y_pred, self.threshold)
        predicted = ops.cast(predicted, self.dtype)
        weight = None
        if sample_weight is not None:
            weight = ops.expand_dims(to_tensor(sample_weight, self.dtype, like=y_pred), 1)

        def weighted_sum(values):
            if weight is not None:
                values = values * weight
            return ops.sum(values, axis=self.axis)

        assign_add(self.true_positives, weighted_sum(predicted * y_true))
        assign_add(self.false_positives, weighted_sum(predicted * (1.0 - y_true)))
        assign_add(self.false_negatives, weighted_sum((1.0 - predicted) * y_true))
        assign_add(self.intermediate_weights, weighted_sum(y_true))

    def result(self):
        eps = config.epsilon()
        tp = self.true_positives.value
        precision = tp / (tp + self.false_positives.value + eps)
        recall = tp / (tp + self.false_negatives.value + eps)
        beta2 = self.beta ** 2
        score = (1.0 + beta2) * (precision * recall) / (beta2 * precision + recall + eps)
        if self.average == "weighted":
            weights = self.intermediate_weights.value
            return ops.sum(score * weights / (ops.sum(weights) + eps))
        if self.average is not None:
            return ops.mean(score)
        return score

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "average": self.average,
                "beta": self.beta, "threshold": self.threshold}


class F1Score(FBetaScore):
    """The F-beta score with beta = 1: the harmonic mean of precision and recall."""

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self):
        config = super().get_config()
        del config["beta"]
        return config
