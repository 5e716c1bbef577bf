"""Intersection-over-union metrics for segmentation/classification: IoU, MeanIoU,
BinaryIoU, OneHotIoU and OneHotMeanIoU, from an accumulated confusion matrix
(rows: true class, columns: predicted class)."""
import warnings

import numpy as np

from unikeras import config
from unikeras import ops
from unikeras.common import dtypes
from unikeras.common.losses import to_tensor
from unikeras.common.losses.inputs import _static_shape
from unikeras.common.metrics.base import Metric, assign_add


class IoU(Metric):
    """Mean over `target_class_ids` of `tp / (tp + fp + fn)`, classes never seen (zero
    denominator) left out. Labels and predictions are class ids, or one-hot/scores
    (argmax along `axis`) with `sparse_y_true` / `sparse_y_pred` False; entries whose
    label is `ignore_class` are skipped. The counts are integers by default (dtype
    "int32"), so fractional sample weights need a float `dtype`."""

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None,
                 sparse_y_true=True, sparse_y_pred=True, axis=-1):
        super().__init__(name=name, dtype=dtype or "int32")
        owner = type(self).__name__
        target_class_ids = list(target_class_ids)
        bad = [c for c in target_class_ids if not 0 <= c < num_classes]
        if bad or not target_class_ids:
            raise ValueError(f"{owner}: target class ids {target_class_ids} must be in "
                             f"[0, {num_classes}).")
        self._direction = "up"
        self.num_classes = num_classes
        self.target_class_ids = target_class_ids
        self.ignore_class = ignore_class
        self.sparse_y_true, self.sparse_y_pred = sparse_y_true, sparse_y_pred
        self.axis = axis
        self.total_cm = self.add_variable((num_classes, num_classes), "zeros", dtype=self.dtype,
                                          name="total_confusion_matrix")

    def _class_ids(self, y, sparse, like=None):
        y = to_tensor(y, like=like)
        if not sparse:
            y = ops.argmax(y, axis=self.axis)
        return ops.reshape(ops.cast(y, "int32"), (-1,))

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = to_tensor(y_pred)
        y_true = self._class_ids(y_true, self.sparse_y_true, like=y_pred)
        y_pred = self._class_ids(y_pred, self.sparse_y_pred)
        ts, ps = _static_shape(y_true), _static_shape(y_pred)
        if None not in ts + ps and ts != ps:
            raise ValueError(f"{type(self).__name__}: y_true and y_pred must hold one class "
                             f"per entry; got {ts[0]} labels and {ps[0]} predictions.")
        if sample_weight is None:
            weights = ops.ones_like(y_true, dtype=self.dtype)
        else:
            if "float" in str(getattr(sample_weight, "dtype", "")) and "int" in self.dtype:
                warnings.warn(f"{type(self).__name__}: float sample weights are cast to the "
                              f"metric's dtype {self.dtype}; pass dtype='float32' to keep "
                              "fractional weights.", stacklevel=2)
            weights = ops.reshape(to_tensor(sample_weight, self.dtype, like=y_pred), (-1,))
            weights = weights * ops.ones_like(y_true, dtype=self.dtype)
        if self.ignore_class is not None:
            valid = ops.not_equal(y_true, int(self.ignore_class))
            y_true = ops.where(valid, y_true, ops.zeros_like(y_true))
            y_pred = ops.where(valid, y_pred, ops.zeros_like(y_pred))
            weights = ops.where(valid, weights, ops.zeros_like(weights))
        cells = ops.stack([y_true, y_pred], axis=1)
        assign_add(self.total_cm, ops.scatter(cells, weights, (self.num_classes,) * 2))

    def result(self):
        cm = self.total_cm.value
        dtype = self.dtype if dtypes.is_float(self.dtype) else config.floatx()
        cm = ops.cast(cm, dtype)
        tp = ops.diagonal(cm)
        union = ops.sum(cm, axis=0) + ops.sum(cm, axis=1) - tp
        ids = to_tensor(np.asarray(self.target_class_ids, "int32"), like=cm)
        tp, union = ops.take(tp, ids), ops.take(union, ids)
        seen = ops.sum(ops.cast(ops.greater(union, 1e-9), dtype))
        eps = config.epsilon()
        return ops.sum(tp / (union + eps)) / (seen + eps)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes,
                "target_class_ids": self.target_class_ids, "ignore_class": self.ignore_class,
                "sparse_y_true": self.sparse_y_true, "sparse_y_pred": self.sparse_y_pred,
                "axis": self.axis}


class MeanIoU(IoU):
    """IoU averaged over all `num_classes` classes."""

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_true=True,
                 sparse_y_pred=True, axis=-1):
        super().__init__(num_classes, list(range(num_classes)), name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=sparse_y_true,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        config = super().get_config()
        del config["target_class_ids"]
        return config


class BinaryIoU(IoU):
    """IoU of binary labels and `y_pred >= threshold`, over `target_class_ids` (0: the
    negative class, 1: the positive class)."""

    def __init__(self, target_class_ids=(0, 1), threshold=0.5, name=None, dtype=None):
        super().__init__(2, target_class_ids, name=name, dtype=dtype)
        self.threshold = threshold

    def update_state(self, y_true, y_pred, sample_weight=None):
        predicted = ops.cast(ops.greater_equal(to_tensor(y_pred), self.threshold), "int32")
        super().update_state(y_true, predicted, sample_weight)

    def get_config(self):
        return {"target_class_ids": self.target_class_ids, "threshold": self.threshold,
                "name": self.name, "dtype": self.dtype}


class OneHotIoU(IoU):
    """IoU of one-hot labels and class scores (argmax along `axis`), or class-id
    predictions with `sparse_y_pred`."""

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None,
                 sparse_y_pred=False, axis=-1):
        super().__init__(num_classes, target_class_ids, name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=False,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        config = super().get_config()
        del config["sparse_y_true"]
        return config


class OneHotMeanIoU(MeanIoU):
    """MeanIoU of one-hot labels and class scores (argmax along `axis`)."""

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None,
                 sparse_y_pred=False, axis=-1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        config = super().get_config()
        del config["sparse_y_true"]
        return config
