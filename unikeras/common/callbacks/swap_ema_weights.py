"""SwapEMAWeights: evaluate, predict (and optionally checkpoint) with the optimizer's
exponential moving averages of the weights instead of the raw trained weights."""
from unikeras.common.callbacks.callback import Callback


class SwapEMAWeights(Callback):
    """Needs an optimizer with `use_ema=True`. Swaps the model's trainable weights with
    their moving averages for evaluate/predict and back afterwards; with
    `swap_on_epoch=True` also from each epoch end to the next epoch begin, so callbacks
    listed after this one (ModelCheckpoint, ...) see the averaged weights, and after the
    last epoch the model keeps them.

    Relies on two optimizer methods: `swap_moving_averages(variables)` exchanges the value
    of each variable with its moving average, and `finalize_variable_values(variables)` sets
    each variable to its moving average.
    """

    def __init__(self, swap_on_epoch=False):
        super().__init__()
        self.swap_on_epoch = swap_on_epoch
        self._ema_weights_in_model = False

    def _optimizer(self):
        optimizer = self.model.optimizer
        if not getattr(optimizer, "use_ema", False):
            raise ValueError("SwapEMAWeights needs an optimizer created with use_ema=True; "
                             f"model '{self.model.name}' has {type(optimizer).__name__} with "
                             f"use_ema={getattr(optimizer, 'use_ema', None)}.")
        return optimizer

    def _swap(self, to_ema):
        if self._ema_weights_in_model != to_ema:
            self._optimizer().swap_moving_averages(self.model.trainable_variables)
            self._ema_weights_in_model = to_ema

    def on_epoch_begin(self, epoch, logs=None):
        if self.swap_on_epoch:
            self._swap(to_ema=False)

    def on_epoch_end(self, epoch, logs=None):
        if not self.swap_on_epoch or self._ema_weights_in_model:
            return
        if epoch == self.params["epochs"] - 1:
            # Last epoch: variables and averages both end up holding the averages, so the
            # model keeps them whether or not fit finalizes the EMA itself.
            self._optimizer().finalize_variable_values(self.model.trainable_variables)
            self._ema_weights_in_model = True
        else:
            self._swap(to_ema=True)

    def on_test_begin(self, logs=None):
        self._swap(to_ema=True)

    def on_test_end(self, logs=None):
        self._swap(to_ema=False)

    def on_predict_begin(self, logs=None):
        self._swap(to_ema=True)

    def on_predict_end(self, logs=None):
        self._swap(to_ema=False)
