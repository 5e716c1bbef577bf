"""Batches from a `torch.utils.data.DataLoader`, detected and read without importing torch
here (tensors are converted by the torch adapter's `convert_to_numpy`)."""
from unikeras.common.data_adapters import helpers
from unikeras.common.data_adapters.base import DataAdapter


def is_torch_data_loader(x):
    return helpers.has_base_class(x, ("DataLoader",), "torch.utils.data")


def is_torch_dataset(x):
    return helpers.has_base_class(x, ("Dataset", "IterableDataset"), "torch.utils.data")


class TorchDataLoaderAdapter(DataAdapter):
    """Each batch is `x`, `(x,)`/`[x]`, `(x, y)` or `(x, y, sample_weight)` of tensors; every
    pass iterates the loader anew (so its sampler shuffles per epoch if asked to)."""

    def __init__(self, loader, steps_per_epoch=None):
        super().__init__(steps_per_epoch)
        self._loader = loader

    def _open_pass(self):
        for element in self._loader:
            yield helpers.standardize_batch(element, None)

    @property
    def _pass_batches(self):
        try:
            return len(self._loader)
        except TypeError:  # an IterableDataset without __len__
            return None

    @property
    def batch_size(self):
        return self._loader.batch_size

    @property
    def has_partial_batch(self):
        size = self.partial_batch_size
        return None if size is None else size > 0

    @property
    def partial_batch_size(self):
        batch_size = self._loader.batch_size
        if batch_size is None:  # a custom batch_sampler: sizes unknown
            return None
        if self._loader.drop_last:
            return 0
        try:
            return len(self._loader.dataset) % batch_size
        except TypeError:
            return None
