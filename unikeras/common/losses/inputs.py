"""Turning loss arguments into tensors of one backend, and checking their shapes."""
from unikeras import ops
from unikeras.common import dtypes
from unikeras.common.ops import dispatch


def _dtype(x):
    return dtypes.standardize_dtype(x.dtype)


def _static_shape(x):
    """Shape as a tuple of ints (None for dimensions unknown at trace time)."""
    return tuple(None if d is None else int(d) for d in x.shape)


def _compatible(shape1, shape2):
    """Same rank, and equal wherever both dimensions are known."""
    return len(shape1) == len(shape2) and all(
        a is None or b is None or a == b for a, b in zip(shape1, shape2))


def to_tensor(x, dtype=None, like=None):
    """`x` as a tensor; NumPy data goes to the backend of `like` (else the current one),
    so that a NumPy `y_true` meets a torch `y_pred` on torch."""
    if like is not None and dispatch.backend_of_type(type(x)) in (dispatch.WEAK, None):
        backend = dispatch.resolve_backend((like,), None)
        if backend != dispatch.SYMBOLIC:
            with dispatch.backend_scope(backend):
                return ops.convert_to_tensor(x, dtype)
    return ops.convert_to_tensor(x) if dtype is None else ops.convert_to_tensor(x, dtype)


def pair(y_true, y_pred, cast_true=True):
    """(y_true, y_pred) as tensors of y_pred's backend; y_true in y_pred's dtype."""
    y_pred = to_tensor(y_pred)
    y_true = to_tensor(y_true, _dtype(y_pred) if cast_true else None, like=y_pred)
    return y_true, y_pred


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True):
    """Make ranks equal when they differ by one through a trailing size-1 dimension."""
    r1, r2 = len(x1.shape), len(x2.shape)
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = ops.expand_dims(x2, -1)
        else:
            x1 = ops.squeeze(x1, -1)
    elif r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = ops.expand_dims(x1, -1)
        else:
            x2 = ops.squeeze(x2, -1)
    return x1, x2


def check_same_shape(name, y_true, y_pred):
    """ValueError naming the loss `name` unless the two (static) shapes agree."""
    if not _compatible(_static_shape(y_true), _static_shape(y_pred)):
        raise ValueError(f"{name}: y_true and y_pred must have the same shape, got "
                         f"{_static_shape(y_true)} and {_static_shape(y_pred)}.")


def check_int_axis(name, axis):
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise ValueError(f"{name}: `axis` must be an int, got {axis!r}.")


def prepared(name, y_true, y_pred):
    """The usual preamble of an element-wise loss: same backend and dtype, ranks aligned,
    shapes checked."""
    y_true, y_pred = pair(y_true, y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    check_same_shape(name, y_true, y_pred)
    return y_true, y_pred
