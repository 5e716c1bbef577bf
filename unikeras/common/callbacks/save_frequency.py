"""When callbacks with a `save_freq` of "epoch" or N batches are due to write."""


def check_save_freq(owner, save_freq):
    """`save_freq` itself, or a ValueError naming `owner` when it is neither form."""
    if save_freq == "epoch" or (isinstance(save_freq, int) and not isinstance(save_freq, bool)
                                and save_freq > 0):
        return save_freq
    raise ValueError(f"{owner}: save_freq must be 'epoch' or a positive integer number of "
                     f"batches; got save_freq={save_freq!r}.")


class BatchCounter:
    """Counts training batches across epochs; `due(batch)` is True every `every` batches."""

    def __init__(self, every):
        self.every = every
        self.since_last = 0
        self.last_batch = None

    def due(self, batch):
        # Batch numbers restart at 0 each epoch; a jump of several counts all of them.
        if self.last_batch is None or batch <= self.last_batch:
            self.since_last += batch + 1
        else:
            self.since_last += batch - self.last_batch
        self.last_batch = batch
        if self.since_last >= self.every:
            self.since_last = 0
            return True
        return False
