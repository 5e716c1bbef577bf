"""Weighting and reducing per-sample loss values (the `reduction` argument of losses)."""
import math

from unikeras import ops
from unikeras.common.losses.inputs import (
    _dtype, _static_shape, squeeze_or_expand_to_same_rank, to_tensor)

DEFAULT_REDUCTION = "sum_over_batch_size"
REDUCTIONS = ("sum_over_batch_size", "sum", None, "none", "mean", "mean_with_sample_weight")


def num_elements(x):
    """Number of elements, as a Python int when the shape is static."""
    shape = _static_shape(x)
    if None not in shape:
        return math.prod(shape)
    return ops.cast(ops.size(x), "float32")


def divide_no_nan(x, y):
    """`x / y`, and 0 where `y == 0`."""
    if isinstance(y, (int, float)):
        return x / y if y else ops.zeros_like(x)
    return ops.divide_no_nan(x, y)   # one fused kernel where the backend has it


def standardize_reduction(reduction, owner="Loss"):
    if reduction not in REDUCTIONS:
        raise ValueError(f"{owner}: invalid reduction {reduction!r}; expected one of "
                         f"{REDUCTIONS}.")
    return reduction


def apply_mask(sample_weight, mask, dtype, reduction):
    """Fold a validity mask into the sample weights. For mean-like reductions the valid
    entries are scaled by total/valid so that the mean runs over valid entries only."""
    if mask is None:
        return sample_weight
    if reduction in ("mean", "sum_over_batch_size"):
        valid = ops.sum(ops.cast(mask, dtype))
        scale = divide_no_nan(ops.cast(num_elements(mask), dtype), valid)
        float_mask = ops.where(ops.cast(mask, "bool"), scale, ops.zeros_like(scale))
    else:
        float_mask = ops.cast(mask, dtype)
    if sample_weight is None:
        return float_mask
    float_mask, sample_weight = squeeze_or_expand_to_same_rank(
        float_mask, ops.cast(sample_weight, dtype))
    return sample_weight * float_mask


def reduce_values(values, sample_weight=None, reduction="sum_over_batch_size"):
    if reduction in (None, "none") or _static_shape(values) in ((), (0,)):
        return values
    loss = ops.sum(values)
    if reduction == "sum":
        return loss
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        return divide_no_nan(loss, ops.cast(ops.sum(sample_weight), _dtype(loss)))
    count = num_elements(values)
    return divide_no_nan(loss, count if isinstance(count, int) else ops.cast(count, _dtype(loss)))


def _check_broadcastable(owner, values, sample_weight):
    vs, ws = _static_shape(values), _static_shape(sample_weight)
    if any(w != v and 1 not in (w, v) and None not in (w, v)
           for w, v in zip(ws[::-1], vs[::-1])):
        raise ValueError(f"{owner}: sample_weight of shape {ws} does not broadcast with the "
                         f"per-sample losses of shape {vs}.")


def reduce_weighted_values(values, sample_weight=None, mask=None,
                           reduction="sum_over_batch_size", dtype=None, owner="loss"):
    """Weight per-sample `values` and reduce them to a scalar (unless reduction is none);
    `owner` names the loss in error messages."""
    reduction = standardize_reduction(reduction, owner)
    values = ops.convert_to_tensor(values) if dtype is None else ops.convert_to_tensor(values, dtype)
    if sample_weight is not None:
        sample_weight = to_tensor(sample_weight, _dtype(values), like=values)
    sample_weight = apply_mask(sample_weight, mask, _dtype(values), reduction)
    if sample_weight is not None:
        values, sample_weight = squeeze_or_expand_to_same_rank(
            values, ops.cast(sample_weight, _dtype(values)))
        _check_broadcastable(owner, values, sample_weight)
        values = values * sample_weight
    return reduce_values(values, sample_weight, reduction)
