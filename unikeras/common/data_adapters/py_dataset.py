"""PyDataset: a random-access dataset of batches, framework-free, loadable in parallel."""
import itertools
import warnings


class PyDataset:
    """Subclass it and define `__getitem__(index)` (the batch at `index`: `x`, `(x, y)` or
    `(x, y, sample_weight)`) and `__len__` (the number of batches), or a `num_batches`
    property that is None for an infinite dataset. `on_epoch_begin`/`on_epoch_end` run around
    every epoch (e.g. to reshuffle).

    workers: how many batches to load at once; with more than one, threads load them
        (ahead of the training step), unless `use_multiprocessing`.
    use_multiprocessing: load batches in `workers` processes (the dataset must be picklable
        where processes are spawned rather than forked).
    max_queue_size: how many batches to load ahead. Batches always arrive in index order.
    """

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        self._workers = workers
        self._use_multiprocessing = use_multiprocessing
        self._max_queue_size = max_queue_size

    def _setting(self, name, default):
        if not hasattr(self, "_" + name):
            warnings.warn(f"{type(self).__name__} should call `super().__init__(**kwargs)` in "
                          "its constructor (to accept workers, use_multiprocessing and "
                          f"max_queue_size); using {name}={default}.", stacklevel=3)
            setattr(self, "_" + name, default)
        return getattr(self, "_" + name)

    @property
    def workers(self):
        return self._setting("workers", 1)

    @workers.setter
    def workers(self, value):
        self._workers = value

    @property
    def use_multiprocessing(self):
        return self._setting("use_multiprocessing", False)

    @use_multiprocessing.setter
    def use_multiprocessing(self, value):
        self._use_multiprocessing = value

    @property
    def max_queue_size(self):
        return self._setting("max_queue_size", 10)

    @max_queue_size.setter
    def max_queue_size(self, value):
        self._max_queue_size = value

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(index).")

    @property
    def num_batches(self):
        """Batches per epoch (`len(self)`), or None for an infinite dataset."""
        if hasattr(self, "__len__"):
            return len(self)
        raise NotImplementedError(f"{type(self).__name__} must define __len__ or a "
                                  "`num_batches` property (None when infinite).")

    def __iter__(self):
        num_batches = self.num_batches
        indices = itertools.count() if num_batches is None else range(num_batches)
        for index in indices:
            yield self[index]

    def on_epoch_begin(self):
        pass

    def on_epoch_end(self):
        pass
