"""AUC: area under the ROC, precision-recall or precision-recall-gain curve, from
confusion counts at a grid of thresholds (a Riemann sum, or Davis & Goadrich's
interpolation for PR)."""
import numpy as np

from unikeras import config
from unikeras import ops
from unikeras.common.losses import to_tensor
from unikeras.common.metrics.base import Metric
from unikeras.common.metrics.confusion_matrix import (
    COUNTS, evenly_spaced, parse_thresholds, update_confusion_counts)

CURVES = {"roc": "ROC", "pr": "PR", "prgain": "PRGAIN"}
SUMMATION_METHODS = ("interpolation", "minoring", "majoring")


def _curve(curve):
    name = CURVES.get(str(curve).lower()) if isinstance(curve, str) else None
    if name is None:
        raise ValueError(f"AUC: invalid curve {curve!r}; expected one of "
                         f"{sorted(CURVES.values())}.")
    return name


def _summation_method(method):
    name = method.lower() if isinstance(method, str) else None
    if name not in SUMMATION_METHODS:
        raise ValueError(f"AUC: invalid summation_method {method!r}; expected one of "
                         f"{list(SUMMATION_METHODS)}.")
    return name


class AUC(Metric):
    """Approximate area under a curve of confusion rates over `num_thresholds`
    thresholds (evenly spaced in [0, 1], or `thresholds` given, with end points just
    below 0 and above 1 added). With `multi_label`, one curve per label (last axis) and
    the mean of their areas (weighted by `label_weights`); otherwise all entries are
    pooled and `label_weights` weigh the entries of each label."""

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation",
                 name=None, dtype=None, thresholds=None, multi_label=False, num_labels=None,
                 label_weights=None, from_logits=False):
        self.curve = _curve(curve)
        self.summation_method = _summation_method(summation_method)
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            inner = sorted(parse_thresholds("AUC", thresholds, None))
            self.num_thresholds = len(inner) + 2
            self._thresholds_distributed_evenly = evenly_spaced([0.0] + inner + [1.0])
        else:
            if num_thresholds <= 1:
                raise ValueError(f"AUC: num_thresholds must be an integer > 1, got "
                                 f"{num_thresholds}.")
            self.num_thresholds = num_thresholds
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._thresholds_distributed_evenly = True
        eps = config.epsilon()
        self._thresholds = np.array([0.0 - eps] + inner + [1.0 + eps])
        super().__init__(name=name, dtype=dtype)
        self._direction = "up"
        self.multi_label = multi_label
        self.num_labels = num_labels
        self.label_weights = (None if label_weights is None
                              else [float(w) for w in np.ravel(label_weights)])
        self._from_logits = from_logits
        self._built = False
        if multi_label:
            if num_labels:
                self._build((None, num_labels))
        elif num_labels:
            raise ValueError("AUC: num_labels is needed only when multi_label is True.")
        else:
            self._build(None)

    @property
    def thresholds(self):
        return list(self._thresholds)

    def _build(self, shape):
        if self.multi_label:
            if len(shape) != 2 or shape[1] is None:
                raise ValueError("AUC: with multi_label=True y_pred must have rank 2 and a "
                                 f"known number of labels; got shape {tuple(shape)}.")
            self._num_labels = int(shape[1])
            variable_shape = (self.num_thresholds, self._num_labels)
        else:
            variable_shape = (self.num_thresholds,)
        for count in COUNTS:
            setattr(self, count, self.add_variable(variable_shape, "zeros", name=count))
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = to_tensor(y_pred)
        if not self._built:
            self._build(tuple(y_pred.shape))
        if self._from_logits:
            y_pred = ops.sigmoid(y_pred)
        # Multi-label: label weights average the per-label areas in result() instead.
        label_weights = None if self.multi_label else self.label_weights
        update_confusion_counts(
            "AUC", {c: getattr(self, c) for c in COUNTS}, y_true, y_pred, self.thresholds,
            sample_weight, multi_label=self.multi_label, label_weights=label_weights,
            evenly=self._thresholds_distributed_evenly)

    def _average_over_labels(self, areas):
        """Sum of the per-threshold areas, averaged over labels in multi-label mode."""
        if not self.multi_label:
            return ops.sum(areas)
        by_label = ops.sum(areas, axis=0)
        if self.label_weights is None:
            return ops.mean(by_label)
        weights = to_tensor(np.asarray(self.label_weights, self.dtype), like=by_label)
        return ops.divide_no_nan(ops.sum(by_label * weights), ops.sum(weights))

    def _interpolated_pr_areas(self, tp, fp, fn):
        """PR area between consecutive thresholds, with precision interpolated along the
        curve rather than linearly (Davis & Goadrich, 2006)."""
        positives = tp + fp
        d_tp, d_pos = tp[:-1] - tp[1:], positives[:-1] - positives[1:]
        slope = ops.divide_no_nan(d_tp, ops.maximum(d_pos, 0.0))
        intercept = tp[1:] - slope * positives[1:]
        both_positive = ops.logical_and(positives[:-1] > 0, positives[1:] > 0)
        ratio = ops.where(both_positive,
                          ops.divide_no_nan(positives[:-1], ops.maximum(positives[1:], 0.0)),
                          ops.ones_like(positives[1:]))
        return ops.divide_no_nan(slope * (d_tp + intercept * ops.log(ratio)),
                                 ops.maximum(tp[1:] + fn[1:], 0.0))

    def _curve_points(self, tp, fp, tn, fn):
        """(x, y) of the curve at each threshold."""
        recall = ops.divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            return ops.divide_no_nan(fp, fp + tn), recall
        if self.curve == "PR":
            return recall, ops.divide_no_nan(tp, tp + fp)
        # Precision-recall gain: no true positives gives recall gain 0 and precision
        # gain 1, and negative recall gains are clipped to 0.
        scale = ops.divide_no_nan(tp + fn, tn + fp)
        no_tp = ops.equal(tp, 0.0)
        recall_gain = 1.0 - scale * ops.divide_no_nan(fn, tp)
        precision_gain = 1.0 - scale * ops.divide_no_nan(fp, tp)
        recall_gain = ops.maximum(ops.where(no_tp, ops.zeros_like(tp), recall_gain), 0.0)
        precision_gain = ops.where(no_tp, ops.ones_like(tp), precision_gain)
        return recall_gain, precision_gain

    def result(self):
        tp, fp, tn, fn = (getattr(self, c).value for c in COUNTS)
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._average_over_labels(self._interpolated_pr_areas(tp, fp, fn))
        x, y = self._curve_points(tp, fp, tn, fn)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = ops.minimum(y[:-1], y[1:])
        else:
            heights = ops.maximum(y[:-1], y[1:])
        return self._average_over_labels((x[:-1] - x[1:]) * heights)

    def reset_state(self):
        if self._built:
            super().reset_state()

    def get_config(self):
        config = {**super().get_config(), "num_thresholds": self.num_thresholds,
                  "curve": self.curve, "summation_method": self.summation_method,
                  "multi_label": self.multi_label, "num_labels": self.num_labels,
                  "label_weights": self.label_weights, "from_logits": self._from_logits}
        if self._init_from_thresholds:
            config["thresholds"] = [float(t) for t in self.thresholds[1:-1]]
        return config
