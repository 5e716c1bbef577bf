"""Metrics read off thresholded confusion counts: TruePositives ... FalseNegatives,
Precision, Recall, and the "X at fixed Y" metrics (SensitivityAtSpecificity,
SpecificityAtSensitivity, PrecisionAtRecall, RecallAtPrecision)."""
from unikeras import ops
from unikeras.common.metrics.base import Metric
from unikeras.common.metrics.confusion_matrix import (
    NEG_INF, evenly_spaced, parse_thresholds, update_confusion_counts)


class _ThresholdCounts(Metric):
    """A metric keeping the confusion counts named `counts` at each of its thresholds;
    a single threshold gives scalar results."""
    counts = ()

    def __init__(self, thresholds, default_threshold, name, dtype, top_k=None, class_id=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.thresholds = parse_thresholds(type(self).__name__, thresholds, default_threshold)
        self._thresholds_distributed_evenly = evenly_spaced(self.thresholds)
        self.top_k, self.class_id = top_k, class_id
        for count in self.counts:
            setattr(self, count, self.add_variable((len(self.thresholds),), "zeros", name=count))

    def update_state(self, y_true, y_pred, sample_weight=None):
        update_confusion_counts(
            type(self).__name__, {c: getattr(self, c) for c in self.counts}, y_true, y_pred,
            self.thresholds, sample_weight, top_k=self.top_k, class_id=self.class_id,
            evenly=self._thresholds_distributed_evenly)

    def _per_threshold(self, values):
        """`values` (a copy: storage may change in place), a scalar for one threshold."""
        return ops.copy(values[0] if len(self.thresholds) == 1 else values)


class _ConfusionCount(_ThresholdCounts):
    """The weighted count of one confusion-matrix cell, in a variable `accumulator`."""
    cell = None

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(thresholds, 0.5, name, dtype)
        self.accumulator = self.add_variable((len(self.thresholds),), "zeros", name="accumulator")

    def update_state(self, y_true, y_pred, sample_weight=None):
        update_confusion_counts(type(self).__name__, {self.cell: self.accumulator}, y_true,
                                y_pred, self.thresholds, sample_weight,
                                evenly=self._thresholds_distributed_evenly)

    def result(self):
        return self._per_threshold(self.accumulator.value)

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_ConfusionCount):
    """Weighted number of positive labels predicted positive (`y_pred > threshold`)."""
    cell = "true_positives"


class FalsePositives(_ConfusionCount):
    """Weighted number of negative labels predicted positive."""
    cell = "false_positives"


class TrueNegatives(_ConfusionCount):
    """Weighted number of negative labels predicted negative."""
    cell = "true_negatives"


class FalseNegatives(_ConfusionCount):
    """Weighted number of positive labels predicted negative."""
    cell = "false_negatives"


class _PrecisionOrRecall(_ThresholdCounts):
    """`tp / (tp + other)` at each threshold; `top_k` keeps only each row's k largest
    predictions (then any threshold defaults to "kept"), `class_id` one class column."""
    other = None

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        self.counts = ("true_positives", self.other)
        super().__init__(thresholds, 0.5 if top_k is None else NEG_INF, name, dtype, top_k,
                         class_id)
        self._direction = "up"

    def result(self):
        tp = self.true_positives.value
        return self._per_threshold(ops.divide_no_nan(tp, tp + getattr(self, self.other).value))

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds,
                "top_k": self.top_k, "class_id": self.class_id}


class Precision(_PrecisionOrRecall):
    """Fraction of predicted positives that are positive: tp / (tp + fp)."""
    other = "false_positives"


class Recall(_PrecisionOrRecall):
    """Fraction of positives predicted positive: tp / (tp + fn)."""
    other = "false_negatives"


class _AtFixedValue(_ThresholdCounts):
    """The best `target` rate over the `num_thresholds` thresholds in [0, 1] at which the
    `constraint` rate reaches `value` (0 when none does)."""
    counts = ("true_positives", "false_positives", "true_negatives", "false_negatives")
    value_name = None

    def __init__(self, value, num_thresholds, class_id, name, dtype):
        owner = type(self).__name__
        if not 0 <= value <= 1:
            raise ValueError(f"{owner}: `{self.value_name}` must be in [0, 1], got {value}.")
        if num_thresholds <= 0:
            raise ValueError(f"{owner}: num_thresholds must be an integer > 0, got "
                             f"{num_thresholds}.")
        self.value, self.num_thresholds = value, num_thresholds
        setattr(self, self.value_name, value)
        if num_thresholds == 1:
            thresholds = [0.5]
        else:
            thresholds = [i / (num_thresholds - 1) for i in range(num_thresholds)]
        super().__init__(thresholds, None, name, dtype, class_id=class_id)
        self._direction = "up"

    def _rates(self):
        tp, fp, tn, fn = (getattr(self, c).value for c in self.counts)
        return {"sensitivity": ops.divide_no_nan(tp, tp + fn),
                "recall": ops.divide_no_nan(tp, tp + fn),
                "specificity": ops.divide_no_nan(tn, tn + fp),
                "precision": ops.divide_no_nan(tp, tp + fp)}

    def result(self):
        rates = self._rates()
        target, constraint = rates[self.target], rates[self.value_name]
        feasible = ops.cast(ops.greater_equal(constraint, self.value), target.dtype)
        return ops.max(target * feasible)

    def get_config(self):
        return {**super().get_config(), "class_id": self.class_id,
                "num_thresholds": self.num_thresholds, self.value_name: self.value}


class SensitivityAtSpecificity(_AtFixedValue):
    """Best sensitivity (recall) where specificity >= `specificity`."""
    value_name, target = "specificity", "sensitivity"

    def __init__(self, specificity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(specificity, num_thresholds, class_id, name, dtype)


class SpecificityAtSensitivity(_AtFixedValue):
    """Best specificity where sensitivity (recall) >= `sensitivity`."""
    value_name, target = "sensitivity", "specificity"

    def __init__(self, sensitivity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)


class PrecisionAtRecall(_AtFixedValue):
    """Best precision where recall >= `recall`."""
    value_name, target = "recall", "precision"

    def __init__(self, recall, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(recall, num_thresholds, class_id, name, dtype)


class RecallAtPrecision(_AtFixedValue):
    """Best recall where precision >= `precision`."""
    value_name, target = "precision", "recall"

    def __init__(self, precision, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(precision, num_thresholds, class_id, name, dtype)
