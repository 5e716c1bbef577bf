"""CallbackList: one object the training loops call, dispatching to every callback."""
from unikeras.common import tree
from unikeras.common.callbacks.callback import Callback
from unikeras.common.callbacks.history import History
from unikeras.common.callbacks.logs import pythonify_logs
from unikeras.common.callbacks.progbar_logger import ProgbarLogger

_BATCH_HOOKS = {
    "on_train_batch_begin": ("on_train_batch_begin", "on_batch_begin"),
    "on_train_batch_end": ("on_train_batch_end", "on_batch_end"),
    "on_test_batch_begin": ("on_test_batch_begin",),
    "on_test_batch_end": ("on_test_batch_end",),
    "on_predict_batch_begin": ("on_predict_batch_begin",),
    "on_predict_batch_end": ("on_predict_batch_end",),
}


def _overrides(callback, names):
    """True when `callback` defines one of the hooks `names` itself (class or instance)."""
    return any(n in vars(callback) or getattr(type(callback), n) is not getattr(Callback, n)
               for n in names)


def _reads_logs(callback, hook):
    reads = getattr(callback, "_reads_batch_logs", None)
    return True if reads is None else reads(hook)


class CallbackList(Callback):
    """Dispatches every hook to a list of callbacks, adding History and ProgbarLogger when
    asked. Batch hooks go only to callbacks that override them, so a loop with no such
    callback pays nothing per batch (no tensor-to-float conversion)."""

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None, **params):
        super().__init__()
        self.callbacks = tree.flatten(callbacks) if callbacks else []
        self._history = next((c for c in self.callbacks if isinstance(c, History)), None)
        self._progbar = next((c for c in self.callbacks if isinstance(c, ProgbarLogger)), None)
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)
        if self._progbar is None and add_progbar:
            self._progbar = ProgbarLogger()
            self.callbacks.append(self._progbar)
        self._batch_targets = {}
        self.set_model(model)
        self.set_params(params)

    def append(self, callback):
        self.callbacks.append(callback)
        self._batch_targets = {}

    def set_params(self, params):
        self.params = params
        if params:
            for c in self.callbacks:
                c.set_params(params)

    def set_model(self, model):
        if not model:
            return
        super().set_model(model)
        if self._history is not None:
            model.history = self._history
        for c in self.callbacks:
            c.set_model(model)

    def _dispatch(self, hook, *args):
        logs = pythonify_logs(args[-1])
        for c in self.callbacks:
            getattr(c, hook)(*args[:-1], logs)

    def _targets(self, hook):
        targets = self._batch_targets.get(hook)
        if targets is None:
            names = _BATCH_HOOKS.get(hook, (hook,))
            targets = self._batch_targets[hook] = [c for c in self.callbacks if _overrides(c, names)]
        return targets

    def wants(self, hook):
        """True when some callback overriding batch hook `hook` reads its logs, so the loop
        must compute them every batch. A callback says it does not with a method
        `_reads_batch_logs(hook) -> bool` (ProgbarLogger below verbose=1); it is still called."""
        return any(_reads_logs(c, hook) for c in self._targets(hook))

    def _dispatch_batch(self, hook, batch, logs):
        targets = self._targets(hook)
        if targets:
            logs = pythonify_logs(logs)
            for c in targets:
                getattr(c, hook)(batch, logs)

    def on_batch_begin(self, batch, logs=None):
        self._dispatch_batch("on_train_batch_begin", batch, logs)

    def on_batch_end(self, batch, logs=None):
        self._dispatch_batch("on_train_batch_end", batch, logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._dispatch("on_epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._dispatch("on_epoch_end", epoch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        self._dispatch_batch("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self._dispatch_batch("on_train_batch_end", batch, logs)

    def on_test_batch_begin(self, batch, logs=None):
        self._dispatch_batch("on_test_batch_begin", batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        self._dispatch_batch("on_test_batch_end", batch, logs)

    def on_predict_batch_begin(self, batch, logs=None):
        self._dispatch_batch("on_predict_batch_begin", batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        for c in self._targets("on_predict_batch_end"):   # predict logs hold output tensors: passed as they are
            c.on_predict_batch_end(batch, logs)

    def on_train_begin(self, logs=None):
        self._dispatch("on_train_begin", logs)

    def on_train_end(self, logs=None):
        self._dispatch("on_train_end", logs)

    def on_test_begin(self, logs=None):
        self._dispatch("on_test_begin", logs)

    def on_test_end(self, logs=None):
        self._dispatch("on_test_end", logs)

    def on_predict_begin(self, logs=None):
        self._dispatch("on_predict_begin", logs)

    def on_predict_end(self, logs=None):
        self._dispatch("on_predict_end", logs)

    def __iter__(self):
        return iter(self.callbacks)
