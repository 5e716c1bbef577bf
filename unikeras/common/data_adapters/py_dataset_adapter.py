"""Batches from a PyDataset (ours, or any object with its interface such as Keras's), loaded
in order by the calling thread or in parallel by threads/processes."""
import itertools
import warnings

import numpy as np

from unikeras.common.data_adapters import helpers
from unikeras.common.data_adapters.base import DataAdapter
from unikeras.common.data_adapters.prefetch import ordered_prefetch
from unikeras.common.data_adapters.py_dataset import PyDataset


def is_py_dataset(x):
    return isinstance(x, PyDataset) or helpers.has_base_class(x, ("PyDataset",), "keras.")


class PyDatasetAdapter(DataAdapter):
    """A pass reads batches 0..num_batches-1 (in a new random order each pass with
    `shuffle`), or 0, 1, 2, ... forever when `num_batches` is None. `workers > 1` loads them in
    threads, `use_multiprocessing` in processes; either way they arrive in pass order."""

    def __init__(self, dataset, steps_per_epoch=None, shuffle=False, class_weight=None,
                 seed=None):
        super().__init__(steps_per_epoch)
        helpers.check_class_weight(class_weight)
        self._dataset = dataset
        self._class_weight = class_weight
        self._total = self._read_num_batches()
        if shuffle and self._total is None:
            warnings.warn(f"`shuffle={shuffle!r}` is ignored for an infinite PyDataset "
                          f"({type(dataset).__name__}): it is expected to shuffle its own "
                          "data.", stacklevel=3)
        self._shuffle = bool(shuffle) and self._total is not None
        self._rng = helpers.shuffle_rng(self._shuffle, seed)

    def _read_num_batches(self):
        try:
            total = self._dataset.num_batches
        except NotImplementedError as error:
            raise ValueError(str(error)) from None
        if total is not None and (not isinstance(total, (int, np.integer)) or total < 0):
            raise ValueError(f"{type(self._dataset).__name__}.num_batches must be a "
                             f"non-negative integer or None; got {total!r}.")
        return total

    @property
    def _pass_batches(self):
        return self._total

    def on_epoch_begin(self):
        self._dataset.on_epoch_begin()

    def on_epoch_end(self):
        self._dataset.on_epoch_end()
        self._total = self._read_num_batches()  # the dataset may resize itself per epoch

    def peek(self):
        return self._standardize(self._dataset[0])

    def _indices(self):
        if self._total is None:
            return itertools.count()
        return self._rng.permutation(self._total).tolist() if self._shuffle else range(self._total)

    def _standardize(self, element):
        return helpers.standardize_batch(element, self._class_weight)

    def _open_pass(self):
        dataset = self._dataset
        workers, use_processes = dataset.workers, dataset.use_multiprocessing
        if workers > 1 or (workers > 0 and use_processes):
            batches = ordered_prefetch(dataset.__getitem__, self._indices(), workers,
                                       use_processes, dataset.max_queue_size)
        else:
            batches = (dataset[i] for i in self._indices())
        try:
            for element in batches:
                yield self._standardize(element)
        finally:
            batches.close()
