"""Shape and dtype arithmetic shared by the symbolic rules (None = unknown size)."""
import numpy as np

from unikeras.common import dtypes


def spec(x):
    """(shape tuple, dtype name) of a KerasTensor, tensor, array, Variable or scalar."""
    if isinstance(x, (bool, int, float, complex)):
        return (), dtypes.result_type(x)
    shape = getattr(x, "shape", None)
    if shape is None:
        x = np.asarray(x)
        shape = x.shape
    return tuple(None if d is None else int(d) for d in shape), dtypes.standardize_dtype(x.dtype)


def dtype_of(x):
    """Dtype for promotion: Python scalars stay themselves (weak types)."""
    if isinstance(x, (bool, int, float, complex)):
        return x
    return spec(x)[1]


def broadcast_shapes(op_name, *shapes):
    """NumPy broadcasting of shapes with None dims; ValueError naming the op on mismatch."""
    ndim = max([0] + [len(s) for s in shapes])   # no `default=`: torch.compile traces this
    out = []
    for i in range(ndim):
        dims = [s[len(s) - ndim + i] for s in shapes if len(s) - ndim + i >= 0]
        known = {d for d in dims if d is not None and d != 1}
        if len(known) > 1:
            raise ValueError(f"{op_name}: shapes {', '.join(map(str, shapes))} cannot be broadcast.")
        if known:
            out.append(known.pop())
        elif None in dims:
            out.append(None)
        else:
            out.append(1)
    return tuple(out)


def canonical_axis(op_name, axis, ndim):
    if not -ndim <= axis < max(ndim, 1):
        raise ValueError(f"{op_name}: axis {axis} is out of bounds for a tensor of rank {ndim}.")
    return axis % ndim if ndim else 0


def axes_tuple(op_name, axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int):
        axis = (axis,)
    return tuple(sorted(canonical_axis(op_name, a, ndim) for a in axis))


def reduce_shape(op_name, shape, axis, keepdims):
    axes = axes_tuple(op_name, axis, len(shape))
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def reshape_shape(op_name, shape, newshape):
    newshape = (newshape,) if isinstance(newshape, int) else tuple(newshape)
    if sum(1 for d in newshape if d == -1 or d is None) > 1:
        raise ValueError(f"{op_name}: only one unknown dimension allowed in {newshape}.")
    known = [d for d in newshape if d not in (-1, None)]
    if None not in shape:
        total = int(np.prod(shape, dtype=np.int64))
        prod = int(np.prod(known, dtype=np.int64))
        if len(known) == len(newshape):
            if prod != total:
                raise ValueError(f"{op_name}: cannot reshape {shape} ({total} elements) into {newshape}.")
            return newshape
        if prod == 0 or total % prod:
            raise ValueError(f"{op_name}: cannot reshape {shape} into {newshape}.")
        return tuple(total // prod if d in (-1, None) else d for d in newshape)
    return tuple(None if d in (-1, None) else d for d in newshape)
