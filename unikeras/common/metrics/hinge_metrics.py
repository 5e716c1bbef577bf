"""Hinge metrics: Mean metrics over the hinge loss functions."""
from unikeras.common.losses import categorical_hinge, hinge, squared_hinge
from unikeras.common.metrics.reduction import BuiltinMeanMetric


class Hinge(BuiltinMeanMetric):
    """Mean of `max(1 - y_true * y_pred, 0)` (labels -1/1, or 0/1 mapped to -1/1)."""
    fn = hinge

    def __init__(self, name="hinge", dtype=None):
        super().__init__(name, dtype)


class SquaredHinge(BuiltinMeanMetric):
    """Mean of `max(1 - y_true * y_pred, 0) ** 2`."""
    fn = squared_hinge

    def __init__(self, name="squared_hinge", dtype=None):
        super().__init__(name, dtype)


class CategoricalHinge(BuiltinMeanMetric):
    """Mean of `max(0, max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1)`."""
    fn = categorical_hinge

    def __init__(self, name="categorical_hinge", dtype=None):
        super().__init__(name, dtype)
