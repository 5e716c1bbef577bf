"""LearningRateScheduler: set the learning rate at the start of every epoch from a function
of the epoch."""
import numpy as np

from unikeras.common.callbacks.callback import Callback
from unikeras.common.callbacks.learning_rate import (
    add_learning_rates, get_learning_rate, optimizers_of)
from unikeras.common.callbacks.logs import print_line


class LearningRateScheduler(Callback):
    """`schedule(epoch, lr) -> new lr` (or `schedule(epoch)`), epochs counted from 0, is
    applied before each epoch; the rate used is logged as `learning_rate`."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        several = len(optimizers_of(self.model)) > 1
        for _, optimizer in optimizers_of(self.model):
            learning_rate = self._new_rate(optimizer, epoch)
            optimizer.learning_rate = learning_rate
            if self.verbose > 0:
                label = f"{optimizer.name} " if several else ""
                print_line(f"\nEpoch {epoch + 1}: LearningRateScheduler setting {label}"
                           f"learning rate to {learning_rate}.")

    def _new_rate(self, optimizer, epoch):
        try:
            learning_rate = self.schedule(epoch, get_learning_rate(optimizer))
        except TypeError:   # a one-argument schedule(epoch)
            learning_rate = self.schedule(epoch)
        if not isinstance(learning_rate, (float, np.floating)):
            raise ValueError("LearningRateScheduler: the schedule must return a float; got "
                             f"{learning_rate!r} for epoch {epoch}.")
        return learning_rate

    def on_epoch_end(self, epoch, logs=None):
        add_learning_rates(logs if logs is not None else {}, self.model)
