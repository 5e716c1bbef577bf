"""Gradient clipping shared by every optimizer (`clipnorm`, `clipvalue`, `global_clipnorm`)."""
from unikeras import ops
from unikeras.common import dtypes


def clip_by_norm(values, clip_norm):
    """Scale one tensor so that its L2 norm is at most `clip_norm`."""
    l2sum = ops.sum(ops.square(values), keepdims=True)
    positive = ops.greater(l2sum, 0)
    # Double `where` keeps the gradient of sqrt finite at 0.
    safe = ops.where(positive, l2sum, ops.ones_like(l2sum))
    l2norm = ops.where(positive, ops.sqrt(safe), l2sum)
    return ops.multiply(values, clip_norm) / ops.maximum(l2norm, clip_norm)


def global_norm(values):
    """sqrt of the sum of squares of all entries of all tensors (None entries skipped)."""
    total = None
    for v in values:
        if v is not None:
            s = ops.sum(ops.square(v))
            total = s if total is None else total + s
    return ops.sqrt(total)


def clip_by_global_norm(values, clip_norm):
    """Scale all tensors together so that their global norm is at most `clip_norm`."""
    norm = global_norm(values)
    scale = clip_norm * ops.minimum(1.0 / norm, 1.0 / clip_norm)
    scale = scale + (norm - norm)   # NaN when the norm is not finite, as Keras does
    return [None if v is None else v * ops.cast(scale, dtypes.standardize_dtype(v.dtype))
            for v in values]


def check_clip_options(owner, clipnorm, clipvalue, global_clipnorm):
    """At most one clipping option may be set."""
    given = {k: v for k, v in (("clipnorm", clipnorm), ("clipvalue", clipvalue),
                               ("global_clipnorm", global_clipnorm)) if v is not None}
    if len(given) > 1:
        raise ValueError(f"{owner}: only one of `clipnorm`, `clipvalue` and `global_clipnorm` "
                         f"can be set; got {given}.")


def clip_gradients(grads, clipnorm=None, clipvalue=None, global_clipnorm=None):
    """Apply whichever clipping option is set (positive values only, as Keras)."""
    if clipnorm and clipnorm > 0:
        return [clip_by_norm(g, clipnorm) for g in grads]
    if global_clipnorm and global_clipnorm > 0:
        return clip_by_global_norm(grads, global_clipnorm)
    if clipvalue and clipvalue > 0:
        return [ops.clip(g, -clipvalue, clipvalue) for g in grads]
    return grads
