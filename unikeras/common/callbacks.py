"""Callbacks: hooks the training loops call at the start and end of training, epochs and
batches. Framework-free; logs reach callbacks as dicts of Python floats."""
import math
import sys
import time
import warnings

from unikeras.common import tree


def pythonify_logs(logs):
    """Logs as a flat dict sorted by key, scalar tensors turned into Python floats."""
    result = {}
    for key, value in sorted((logs or {}).items()):
        if isinstance(value, dict):
            result.update(pythonify_logs(value))
            continue
        try:
            value = float(_to_numpy(value))
        except (TypeError, ValueError):
            pass
        result[key] = value
    return result


def _to_numpy(value):
    from unikeras.common.ops import core, dispatch
    if dispatch.backend_of_type(type(value)) not in (None, dispatch.WEAK):
        return core.convert_to_numpy(value)
    return value


def _print(message):
    sys.stdout.write(message)
    sys.stdout.flush()


class Callback:
    """Base class: override the `on_*` hooks you need; `self.model` is the model trained."""

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
        """True when some callback overrides batch hook `hook`, i.e. needs per-batch logs."""
        return bool(self._targets(hook))

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


class Progbar:
    """Text progress bar: `N/T ━━━━━━━━━━━━━━━━━━━━ 1s 3ms/step - loss: 0.1620`.

    verbose=1 redraws one line with '\\r' after each update; verbose=2 prints only the
    final line `N/T - 1s - 3ms/step - loss: 0.1620`. Styling (bold, colors) only on a tty.
    """

    def __init__(self, target, width=20, verbose=1, interval=0.05, unit_name="step"):
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        self._values = {}
        self._start = time.time()
        self._last_update = 0.0
        self._time_after_first_step = None
        self._prev_width = 0
        self._styled = hasattr(sys.stdout, "isatty") and sys.stdout.isatty()

    def update(self, current, values=None, finalize=None):
        """Show progress `current` (of `target`) with metric `values` [(name, value)]."""
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        for k, v in values or []:
            self._values[k] = v
        now = time.time()
        per_unit = self._step_duration(current, now)
        if self.verbose == 1 and (finalize or now - self._last_update >= self.interval):
            self._draw(current, per_unit, now, finalize)
            self._last_update = now
        elif self.verbose == 2 and finalize and self.target:
            line = (f"{self._count(current)} - {now - self._start:.0f}s -"
                    f"{_format_time(per_unit, self.unit_name)}{self._metrics()}\n")
            _print(line)

    def _style(self, text, code):
        return f"\x1b[{code}m{text}\x1b[0m" if self._styled else text

    def _count(self, current):
        digits = int(math.log10(self.target)) + 1
        return f"{current:{digits}d}/{self.target}"

    def _draw(self, current, per_unit, now, finalize):
        if self.target and not finalize:
            when = _format_eta(per_unit * (self.target - current))
        else:
            when = f"{now - self._start:.0f}s"
        rest = f"{_format_time(per_unit, self.unit_name)}{self._metrics()}"
        if self.target:
            count, done = self._count(current), int(self.width * current / self.target)
            plain = f"{count} {'━' * self.width} {when}{rest}"
            line = (f"{self._style(count, 1)} " + (self._style("━" * done, 32) if done else "")
                    + self._style("━" * (self.width - done), 37) + f" {self._style(when, 1)}{rest}")
        else:
            plain = f"{current:7d}/Unknown {when}{rest}"
            line = f"{current:7d}/Unknown {self._style(when, 1)}{rest}"
        padding = " " * max(self._prev_width - len(plain), 0)
        _print("\r" + line + padding + ("\n" if finalize else ""))
        self._prev_width = len(plain)

    def _metrics(self):
        out = ""
        for k, v in self._values.items():
            try:
                v = float(v)
            except (TypeError, ValueError):
                out += f" - {k}: {v}"
                continue
            out += f" - {k}: {v:.4f}" if abs(v) > 1e-3 else f" - {k}: {v:.4e}"
        return out

    def _step_duration(self, current, now):
        if not current:
            return 0.0
        if self._time_after_first_step is not None and current > 1:
            per_unit = (now - self._time_after_first_step) / (current - 1)
        else:
            per_unit = (now - self._start) / current
        if current == 1:
            self._time_after_first_step = now
        return per_unit


def _format_time(per_unit, unit_name):
    if per_unit >= 1 or per_unit == 0:
        return f" {per_unit:.0f}s/{unit_name}"
    if per_unit >= 1e-3:
        return f" {per_unit * 1e3:.0f}ms/{unit_name}"
    return f" {per_unit * 1e6:.0f}us/{unit_name}"


def _format_eta(eta):
    if eta > 3600:
        return f"{int(eta // 3600)}:{int(eta % 3600 // 60):02d}:{int(eta % 60):02d}"
    if eta > 60:
        return f"{int(eta // 60)}:{int(eta % 60):02d}"
    return f"{int(eta)}s"


class ProgbarLogger(Callback):
    """Prints "Epoch i/n" and a progress bar per epoch (and for evaluate/predict)."""

    def __init__(self):
        super().__init__()
        self.seen = 0
        self.progbar = None
        self.target = None
        self.verbose = 1
        self.epochs = 1
        self._called_in_fit = False

    def set_params(self, params):
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else verbose
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    def on_train_begin(self, logs=None):
        self._called_in_fit = True   # validation inside fit stays silent

    def on_test_begin(self, logs=None):
        if not self._called_in_fit:
            self._reset()

    def on_predict_begin(self, logs=None):
        self._reset()

    def on_epoch_begin(self, epoch, logs=None):
        self._reset()
        if self.verbose and self.epochs > 1:
            _print(f"Epoch {epoch + 1}/{self.epochs}\n")

    def on_train_batch_end(self, batch, logs=None):
        self._update(batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        if not self._called_in_fit:
            self._update(batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._update(batch, None)   # predict logs hold outputs, not metrics

    def on_epoch_end(self, epoch, logs=None):
        self._finalize(logs)

    def on_test_end(self, logs=None):
        if not self._called_in_fit:
            self._finalize(logs)

    def on_predict_end(self, logs=None):
        self._finalize(logs)

    def _reset(self):
        self.seen = 0
        self.progbar = Progbar(self.target, verbose=self.verbose, unit_name="step")

    def _update(self, batch, logs):
        if self.progbar is None:
            self._reset()
        self.seen = batch + 1
        if self.verbose == 1:
            self.progbar.update(self.seen, list((logs or {}).items()), finalize=False)

    def _finalize(self, logs):
        if self.progbar is None:
            self._reset()
        if self.target is None:
            self.target = self.progbar.target = self.seen
        self.progbar.update(self.target, list((logs or {}).items()), finalize=True)


class EarlyStopping(Callback):
    """Stop training when `monitor` has stopped improving for `patience` epochs."""

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"EarlyStopping mode {mode!r} is unknown, falling back to 'auto'.",
                          stacklevel=2)
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.min_delta = abs(min_delta)
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.monitor_op = None
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def _set_monitor_op(self):
        if self.mode == "min":
            self.monitor_op = _less
        elif self.mode == "max":
            self.monitor_op = _greater
        else:
            name = self.monitor[4:] if self.monitor.startswith("val_") else self.monitor
            if name == "loss":
                self.monitor_op = _less
            for m in getattr(self.model, "metrics", None) or []:
                direction = getattr(m, "_direction", None)
                if getattr(m, "name", None) == name and direction in ("up", "down"):
                    self.monitor_op = _greater if direction == "up" else _less
            if self.monitor_op is None:
                raise ValueError(
                    f"EarlyStopping received monitor={self.monitor!r} but cannot tell whether "
                    "that metric should be maximized or minimized. Pass mode='max' to stop on "
                    "the highest value or mode='min' to stop on the lowest.")
        if self.monitor_op is _less:
            self.min_delta = -abs(self.min_delta)
        else:
            self.min_delta = abs(self.min_delta)

    def _is_improvement(self, value, reference):
        return reference is None or self.monitor_op(value - self.min_delta, reference)

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            # Only restart the wait when both the previous best and the baseline are beaten.
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            _print(f"Epoch {self.stopped_epoch + 1}: early stopping\n")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                _print("Restoring model weights from the end of the best epoch: "
                       f"{self.best_epoch + 1}.\n")
            self.model.set_weights(self.best_weights)

    def get_monitor_value(self, logs):
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(f"Early stopping conditioned on metric `{self.monitor}` which is not "
                          f"available. Available metrics are: {','.join(logs)}", stacklevel=2)
        return value


def _less(a, b):
    return a < b


def _greater(a, b):
    return a > b


__all__ = ["Callback", "CallbackList", "History", "ProgbarLogger", "EarlyStopping"]
