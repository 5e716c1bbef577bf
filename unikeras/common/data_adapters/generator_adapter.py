"""Batches from a Python generator or iterator: consumed once, across all epochs."""
from unikeras.common.data_adapters import helpers
from unikeras.common.data_adapters.base import DataAdapter


def is_iterator(x):
    return hasattr(x, "__next__") and hasattr(x, "__iter__")


class GeneratorDataAdapter(DataAdapter):
    """Each element is `x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)`. The iterator cannot
    restart, so every epoch continues where the previous one stopped; give
    `steps_per_epoch` to spread one generator over several epochs."""

    one_shot = True

    def __init__(self, iterator, steps_per_epoch=None):
        super().__init__(steps_per_epoch)
        self._iterator = iterator
        self._peeked = []  # batches read by `peek`, given again first

    def _open_pass(self):
        while self._peeked:
            yield self._peeked.pop(0)
        for element in self._iterator:  # a plain loop: closing this pass keeps the source
            yield helpers.standardize_batch(element, None)

    def peek(self):
        if not self._peeked:
            try:
                self._peeked.append(helpers.standardize_batch(next(self._iterator), None))
            except StopIteration:
                raise ValueError("The generator is empty: it yielded no batch.") from None
        return self._peeked[0]
