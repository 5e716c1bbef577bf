"""Batches of in-memory arrays (NumPy, framework tensors, nested structures of them), and the
validation split that only such data allows."""
import math

import numpy as np

from unikeras.common import tree
from unikeras.common.data_adapters import helpers
from unikeras.common.data_adapters.base import DataAdapter

DEFAULT_BATCH_SIZE = 32


def is_array_structure(data):
    """Whether every leaf of the nested `data` is None or array-like."""
    return all(leaf is None or helpers.is_array_like(leaf) for leaf in tree.flatten(data))


class ArrayDataAdapter(DataAdapter):
    """Slices `(x, y, sample_weight)` into batches of `batch_size` samples (default 32, or
    enough for `steps_per_epoch` batches per pass). `shuffle=True` draws a new permutation of
    all samples each pass; `shuffle="batch"` keeps the batches but permutes inside each."""

    def __init__(self, x, y=None, sample_weight=None, batch_size=None, steps_per_epoch=None,
                 shuffle=False, class_weight=None, seed=None):
        super().__init__(steps_per_epoch)
        x, y, sample_weight = helpers.to_numpy_structure((x, y, sample_weight))
        sample_weight = _per_output_sample_weight(y, sample_weight)
        helpers.check_class_weight(class_weight)
        self._num_samples = helpers.num_samples((x, y, sample_weight))
        sample_weight = helpers.apply_class_weight(y, sample_weight, class_weight)
        self._data = (x, y, sample_weight)
        if batch_size is None:
            batch_size = (math.ceil(self._num_samples / steps_per_epoch) if steps_per_epoch
                          else DEFAULT_BATCH_SIZE)
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"`batch_size` must be a positive integer; got {batch_size!r}.")
        self._batch_size = int(batch_size)
        self._shuffle = _check_shuffle(shuffle)
        self._rng = helpers.shuffle_rng(self._shuffle, seed)

    @property
    def _pass_batches(self):
        return math.ceil(self._num_samples / self._batch_size)

    @property
    def batch_size(self):
        return self._batch_size

    @property
    def has_partial_batch(self):
        return self.partial_batch_size > 0

    @property
    def partial_batch_size(self):
        return self._num_samples % self._batch_size

    def _open_pass(self):
        n, size = self._num_samples, self._batch_size
        order = self._rng.permutation(n) if self._shuffle is True else None
        for start in range(0, n, size):
            stop = min(start + size, n)
            if self._shuffle == "batch":
                index = start + self._rng.permutation(stop - start)
            else:
                index = slice(start, stop) if order is None else order[start:stop]
            yield take(self._data, index)


def take(data, index):
    """The samples `index` (slice or integer array) of every array in `data`."""
    return tree.map_structure(lambda a: None if a is None else a[index], data)


def _check_shuffle(shuffle):
    if isinstance(shuffle, str):
        if shuffle.lower() != "batch":
            raise ValueError(f'`shuffle` must be True, False or "batch"; got {shuffle!r}.')
        return "batch"
    return bool(shuffle)


def _per_output_sample_weight(y, sample_weight):
    """One sample_weight array for a multi-output `y` applies to every output; nested weights
    must match the structure of `y`."""
    if sample_weight is None or not tree.is_nested(y):
        return sample_weight
    if tree.is_nested(sample_weight):
        if _structure(sample_weight) != _structure(y):
            raise ValueError("Give one `sample_weight` array per output in `y`: the structures "
                             f"differ (y: {_structure(y)}, sample_weight: "
                             f"{_structure(sample_weight)}).")
        return sample_weight
    if sample_weight.ndim > 2 or (sample_weight.ndim == 2 and sample_weight.shape[1] != 1):
        raise ValueError("A single `sample_weight` array for a model with several outputs must "
                         "hold one weight per sample, shape (num_samples,); got shape "
                         f"{sample_weight.shape}. Give one array per output instead.")
    return tree.map_structure(lambda _: sample_weight, y)


def _structure(data):
    return tree.map_structure(lambda _: "*", data)


def train_validation_split(arrays, validation_split):
    """Split `(x, y, sample_weight)` arrays into training data (the first
    `1 - validation_split` of the samples) and validation data (the rest), both as NumPy
    `(x, y, sample_weight)` tuples. Only arrays and tensors can be split."""
    not_arrays = sorted({helpers.type_name(a) for a in tree.flatten(arrays)
                         if a is not None and not helpers.is_array_like(a)})
    if not_arrays:
        raise ValueError("`validation_split` is only supported for NumPy arrays and tensors, "
                         f"not for {', '.join(not_arrays)}; pass `validation_data` instead.")
    if not 0 < validation_split < 1:
        raise ValueError(f"`validation_split` must be in (0, 1); got {validation_split!r}.")
    arrays = helpers.to_numpy_structure(tuple(arrays) + (None,) * (3 - len(arrays)))
    n = helpers.num_samples(arrays)
    cut = int(math.floor(n * (1 - validation_split)))
    if cut == 0 or cut == n:
        raise ValueError(f"`validation_split={validation_split}` leaves an empty training or "
                         f"validation set out of {n} samples; give more data or another split.")
    return take(arrays, slice(0, cut)), take(arrays, slice(cut, None))
