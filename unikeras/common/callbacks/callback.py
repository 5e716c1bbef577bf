"""The Callback base class: hooks that fit/evaluate/predict call, all doing nothing."""


class Callback:
    """Base class: override the `on_*` hooks you need; `self.model` is the model trained and
    `self.params` holds `verbose`, `epochs` and `steps` of the loop."""

    def __init__(self):
        self.params = None
        self._model = None

    def set_params(self, params):
        self.params = params

    def set_model(self, model):
        self._model = model

    @property
    def model(self):
        sync = getattr(self._model, "jax_state_sync", None)
        if sync is not None:   # write jitted state back before callbacks read it
            sync()
        return self._model

    def on_batch_begin(self, batch, logs=None):
        """Alias of on_train_batch_begin (tf.keras 1 name)."""

    def on_batch_end(self, batch, logs=None):
        """Alias of on_train_batch_end (tf.keras 1 name)."""

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch, logs=None):
        pass

    def on_test_batch_end(self, batch, logs=None):
        pass

    def on_predict_batch_begin(self, batch, logs=None):
        pass

    def on_predict_batch_end(self, batch, logs=None):
        pass

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_test_begin(self, logs=None):
        pass

    def on_test_end(self, logs=None):
        pass

    def on_predict_begin(self, logs=None):
        pass

    def on_predict_end(self, logs=None):
        pass
