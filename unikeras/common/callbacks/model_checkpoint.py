"""ModelCheckpoint: save the model or its weights every epoch or every N batches, optionally
only when the monitored quantity improves."""
import os
import warnings

from unikeras.common.callbacks.logs import print_line
from unikeras.common.callbacks.monitor import MonitorCallback
from unikeras.common.callbacks.save_frequency import BatchCounter, check_save_freq

WEIGHTS_SUFFIXES = (".safetensors", ".weights.h5")
MODEL_SUFFIXES = (".keras", ".h5")


class ModelCheckpoint(MonitorCallback):
    """Save to `filepath`, which may hold `{epoch}`, `{batch}` and log names with format
    specs (`"ckpt-{epoch:02d}-{val_loss:.2f}.keras"`; epochs and batches count from 1).

    save_weights_only=True calls `model.save_weights` (a `.safetensors` or `.weights.h5`
    name); otherwise `model.save` (a `.keras` or `.h5` name). With `save_best_only`, a file
    is written only when `monitor` beats the best value so far, starting from
    `initial_value_threshold` when given.
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        super().__init__(monitor, mode, baseline=initial_value_threshold)
        self.filepath = os.fspath(filepath)
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = check_save_freq("ModelCheckpoint", save_freq)
        self._batches = BatchCounter(save_freq) if save_freq != "epoch" else None
        self._current_epoch = 0
        suffixes = WEIGHTS_SUFFIXES if save_weights_only else MODEL_SUFFIXES
        if not self.filepath.endswith(suffixes):
            what = "weights" if save_weights_only else "model"
            raise ValueError(
                f"ModelCheckpoint(save_weights_only={save_weights_only}) writes a {what} file: "
                f"filepath must end in {' or '.join(repr(s) for s in suffixes)}; got "
                f"{self.filepath!r}.")

    def on_train_begin(self, logs=None):
        if not self.save_weights_only and not callable(getattr(self.model, "save", None)):
            raise TypeError(
                f"ModelCheckpoint: model {type(self.model).__name__} has no save() method, so "
                "it cannot write the whole model to "
                f"{self.filepath!r}; pass save_weights_only=True with a '.safetensors' file.")

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._batches is not None and self._batches.due(batch):
            self._save(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        if self.save_freq == "epoch":
            self._save(epoch, None, logs)

    def _save(self, epoch, batch, logs):
        logs = logs or {}
        filepath = self._get_file_path(epoch, batch, logs)
        if not self._should_save(epoch, logs, filepath):
            return
        directory = os.path.dirname(filepath)
        if directory:
            os.makedirs(directory, exist_ok=True)
        if os.path.isdir(filepath):
            raise IsADirectoryError(f"ModelCheckpoint: {filepath!r} is a directory; give a file "
                                    "path.")
        if self.save_weights_only:
            self.model.save_weights(filepath, overwrite=True)
        else:
            self.model.save(filepath, overwrite=True)
        if self.verbose > 0:
            print_line(f"\nEpoch {epoch + 1}: finished saving model to {filepath}")

    def _should_save(self, epoch, logs, filepath):
        if not self.save_best_only:
            if self.verbose > 0:
                print_line(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.",
                          stacklevel=3)
            return True
        if not isinstance(current, (int, float)):
            warnings.warn(f"Can save best model only when `monitor` is a scalar value; got "
                          f"{current!r}. Falling back to save_best_only=False.", stacklevel=3)
            return True
        best = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                print_line(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best} to "
                           f"{current:.5f}, saving model to {filepath}")
            self.best = current
            return True
        if self.verbose > 0:
            print_line(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best}")
        return False

    def _get_file_path(self, epoch, batch, logs):
        fields = dict(logs, epoch=epoch + 1)
        if batch is not None and "batch" not in logs:
            fields["batch"] = batch + 1
        try:
            return self.filepath.format(**fields)
        except KeyError as e:
            raise KeyError(f"ModelCheckpoint: cannot format filepath {self.filepath!r}: {e} is "
                           f"not among the logged values {sorted(fields)}.") from None
