"""LambdaCallback: a callback made of plain functions."""
from unikeras.common.callbacks.callback import Callback

_HOOKS = ("on_epoch_begin", "on_epoch_end", "on_train_begin", "on_train_end",
          "on_train_batch_begin", "on_train_batch_end")


class LambdaCallback(Callback):
    """Each given function becomes that hook: `on_epoch_end(epoch, logs)`,
    `on_train_batch_end(batch, logs)`, `on_train_begin(logs)`, ...; other keyword arguments
    (e.g. `on_test_end=...`) are set as attributes, so they override hooks too."""

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None,
                 on_train_end=None, on_train_batch_begin=None, on_train_batch_end=None,
                 **kwargs):
        super().__init__()
        self.__dict__.update(kwargs)
        given = dict(zip(_HOOKS, (on_epoch_begin, on_epoch_end, on_train_begin, on_train_end,
                                  on_train_batch_begin, on_train_batch_end)))
        for name, function in given.items():
            if function is not None:
                setattr(self, name, function)
