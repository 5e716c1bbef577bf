"""ReduceLROnPlateau: multiply the learning rate by `factor` when the monitored quantity
stops improving."""
import warnings

import numpy as np

from unikeras.common.callbacks.learning_rate import (
    add_learning_rates, get_learning_rate, optimizers_of)
from unikeras.common.callbacks.logs import print_line
from unikeras.common.callbacks.monitor import MonitorCallback


class ReduceLROnPlateau(MonitorCallback):
    """After `patience` epochs without an improvement of more than `min_delta`, set the
    learning rate to `max(lr * factor, min_lr)`, then wait `cooldown` epochs before counting
    again. The learning rate is added to the epoch logs as `learning_rate`."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0, **kwargs):
        super().__init__(monitor, mode, min_delta=min_delta)
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be below 1.0; got factor={factor}.")
        self.factor = factor
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.min_lr = min_lr
        self.cooldown_counter = 0
        self.wait = 0

    def _reset(self):
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def in_cooldown(self):
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        logs = add_learning_rates(logs if logs is not None else {}, self.model)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Learning rate reduction is conditioned on metric `{self.monitor}` "
                          f"which is not available. Available metrics are: {','.join(logs)}.",
                          stacklevel=2)
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
            return
        if self.in_cooldown():
            return
        self.wait += 1
        if self.wait >= self.patience and self._reduce_all(epoch):
            self.cooldown_counter = self.cooldown
            self.wait = 0

    def _reduce_all(self, epoch):
        several = len(optimizers_of(self.model)) > 1
        reduced = [self._reduce(opt, epoch, opt.name if several else "")
                   for _, opt in optimizers_of(self.model)]
        return any(reduced)

    def _reduce(self, optimizer, epoch, name):
        old_lr = get_learning_rate(optimizer)
        if old_lr <= np.float32(self.min_lr):
            return False
        new_lr = max(old_lr * self.factor, self.min_lr)
        optimizer.learning_rate = new_lr
        if self.verbose > 0:
            label = f" {name}" if name else ""
            print_line(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing{label} learning rate "
                       f"to {new_lr}.")
        return True
