"""History: the per-epoch logs that `fit` returns."""
from unikeras.common.callbacks.callback import Callback


class History(Callback):
    """Records the logs of every epoch: `history[name]` is the list of values."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)
        if self._model is not None:
            self._model.history = self
