"""DataAdapter: the epoch logic shared by every data source.

A subclass opens *passes* over its source (`_open_pass`: an iterator of NumPy
`(x, y, sample_weight)` batches); this class turns passes into epochs. Without
`steps_per_epoch` an epoch is one pass. With it, an epoch is the next `steps_per_epoch`
batches of a pass that continues across epochs; when the pass ends mid-epoch the epoch ends
early with a warning and the next epoch opens a new pass.
"""
import contextlib
import warnings

import numpy as np


class DataAdapter:
    """Base of the data adapters (see the package docstring for the interface)."""

    one_shot = False  # True when the source can be iterated only once (generators)

    def __init__(self, steps_per_epoch=None):
        if steps_per_epoch is not None and (not isinstance(steps_per_epoch, (int, np.integer))
                                            or isinstance(steps_per_epoch, bool)
                                            or steps_per_epoch < 1):
            raise ValueError("`steps_per_epoch` must be a positive integer or None; got "
                             f"{steps_per_epoch!r}.")
        self._steps_per_epoch = None if steps_per_epoch is None else int(steps_per_epoch)
        self._stream = None  # the pass continued across epochs (with steps_per_epoch)
        self._stream_batches = 0
        self.exhausted = False

    # --- to implement ---------------------------------------------------------------------
    def _open_pass(self):
        """A generator over one pass of the source, as NumPy (x, y, sample_weight) tuples;
        closing it releases what the pass holds (prefetch workers) but not the source."""
        raise NotImplementedError

    @property
    def _pass_batches(self):
        """Batches in one pass of the source, or None when unknown or infinite."""
        return None

    # --- interface ----------------------------------------------------------------------
    @property
    def num_batches(self):
        """Batches per epoch: `steps_per_epoch` when given, else those of one pass (None
        when unknown)."""
        return self._steps_per_epoch or self._pass_batches

    @property
    def batch_size(self):
        return None

    @property
    def has_partial_batch(self):
        return None

    @property
    def partial_batch_size(self):
        return None

    def on_epoch_begin(self):
        pass

    def on_epoch_end(self):
        pass

    def peek(self):
        """The first batch of a pass (to build a model before training) without using it up."""
        with contextlib.closing(self._open_pass()) as batches:
            for batch in batches:
                return batch
        raise ValueError(f"{type(self).__name__}: the input is empty; it gave no batch.")

    def get_numpy_iterator(self):
        """The batches of one epoch."""
        if self._steps_per_epoch is None:
            return self._one_pass()
        return self._next_steps()

    # --- epochs ---------------------------------------------------------------------------
    def _one_pass(self):
        count = 0
        with contextlib.closing(self._open_pass()) as batches:
            for batch in batches:
                count += 1
                yield batch
        if count == 0:
            self._ran_out(0)

    def _next_steps(self):
        if self._stream is None:
            self._stream, self._stream_batches = self._open_pass(), 0
        for count in range(self._steps_per_epoch):
            try:
                batch = next(self._stream)
            except StopIteration:
                self._close_stream()
                self._ran_out(count)
                return
            self._stream_batches += 1
            yield batch
        if self._pass_batches is not None and self._stream_batches >= self._pass_batches:
            self._close_stream()  # the pass ended exactly with this epoch

    def _close_stream(self):
        self._stream.close()
        self._stream = None

    def _ran_out(self, count):
        """The source ended after `count` batches of this epoch: warn; flag the adapter as
        exhausted when no more batches can come (the trainer then stops)."""
        wanted = (f"the {self._steps_per_epoch} batches of steps_per_epoch="
                  f"{self._steps_per_epoch}" if self._steps_per_epoch else "a batch")
        if count == 0 or self.one_shot:
            self.exhausted = True
            advice = ("The input can give no more data; training should stop. Make sure a "
                      "generator yields at least steps_per_epoch * epochs batches (or loops "
                      "forever), or use a re-iterable source (arrays, PyDataset, dataset "
                      "with .repeat()).")
        else:
            advice = "The next epoch starts a new pass over the data."
        warnings.warn(f"{type(self).__name__}: the input ran out of data after {count} "
                      f"batches of this epoch, short of {wanted}. {advice}", stacklevel=3)

