"""Array data for fit/evaluate/predict: validation splits, shuffled batches, conversion."""
import math

import numpy as np

from unikeras import config
from unikeras.common import tree
from unikeras.common.ops import dispatch


def to_numpy_structure(data):
    """Nested arrays/tensors -> nested NumPy arrays (None stays None)."""
    def convert(x):
        if x is None or isinstance(x, np.ndarray):
            return x
        if dispatch.backend_of_type(type(x)) not in (None, dispatch.WEAK):
            from unikeras.common.ops.core import convert_to_numpy
            return convert_to_numpy(x)
        return np.asarray(x)
    return tree.map_structure(convert, data)


def num_samples(data):
    sizes = {len(x) for x in tree.flatten(data) if x is not None}
    if len(sizes) > 1:
        raise ValueError(f"Data arrays have different numbers of samples: {sorted(sizes)}.")
    if not sizes:
        raise ValueError("No data arrays were given.")
    return sizes.pop()


def take(data, index):
    return tree.map_structure(lambda x: None if x is None else x[index], data)


def split_validation(data, validation_split):
    """Keep the first (1 - split) samples for training, the rest for validation."""
    if not 0 < validation_split < 1:
        raise ValueError(f"validation_split must be in (0, 1), got {validation_split}.")
    n = num_samples(data)
    cut = int(n * (1 - validation_split))
    if cut == 0 or cut == n:
        raise ValueError(f"validation_split={validation_split} leaves an empty set of {n} samples.")
    return take(data, slice(0, cut)), take(data, slice(cut, None))


def batches(data, batch_size, shuffle=False, rng=None):
    """Yield batches of `data` (a nested structure of NumPy arrays)."""
    n = num_samples(data)
    order = rng.permutation(n) if shuffle else None
    for i in range(math.ceil(n / batch_size)):
        index = slice(i * batch_size, (i + 1) * batch_size)
        yield take(data, order[index] if shuffle else index)


def steps_for(data, batch_size):
    return math.ceil(num_samples(data) / batch_size)


def to_backend(data, backend):
    """Nested NumPy arrays -> nested tensors of `backend` (floats as floatx, ints kept)."""
    table = dispatch.get_table(backend)

    def convert(x):
        if x is None:
            return None
        if x.dtype == np.float64:
            x = x.astype(config.floatx())
        return table.convert_to_tensor(x)
    return tree.map_structure(convert, data)
