"""TensorBoard: write training curves and weight histograms as TensorBoard event files."""
import os
import time

from unikeras.common.callbacks.callback import Callback
from unikeras.common.callbacks.event_writer import open_event_writer
from unikeras.common.callbacks.learning_rate import add_learning_rates
from unikeras.common.callbacks.logs import to_float


class TensorBoard(Callback):
    """Event files in `log_dir/train` and `log_dir/validation`, as Keras writes them:

    - each epoch, `epoch_<name>` scalars at step `epoch`: training logs and the learning rate
      in `train`, `val_*` logs (prefix dropped) in `validation`;
    - with `update_freq="batch"` or N, `batch_<name>` scalars every N training batches, at
      the step counting batches over the whole fit from 1;
    - with `histogram_freq=N`, a `<model>/<weight path>/histogram` of every weight each N
      epochs;
    - `write_steps_per_second`: `batch_steps_per_second` / `epoch_steps_per_second`;
    - an evaluate() given this callback writes `evaluation_<name>_vs_iterations` scalars in
      `validation`, at the optimizer's iteration count.

    Needs the `tensorboard` (or `tensorboardX`) package. `write_graph` is accepted but no
    graph is written; `write_images`, `profile_batch` and `embeddings_freq` are not supported.
    """

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0,
                 embeddings_freq=0, embeddings_metadata=None):
        super().__init__()
        for name, value in (("write_images", write_images), ("profile_batch", profile_batch),
                            ("embeddings_freq", embeddings_freq)):
            if value:
                raise NotImplementedError(f"TensorBoard: {name}={value!r} is not supported by "
                                          f"unikeras; leave it at its default.")
        if update_freq != "epoch" and update_freq != "batch" and not (
                isinstance(update_freq, int) and update_freq > 0):
            raise ValueError("TensorBoard: update_freq must be 'epoch', 'batch' or a positive "
                             f"integer number of batches; got {update_freq!r}.")
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = write_steps_per_second
        self.update_freq = 1 if update_freq == "batch" else update_freq
        self.profile_batch = profile_batch
        self.embeddings_freq = embeddings_freq
        self.embeddings_metadata = embeddings_metadata
        self._writers = {}
        self._global_train_batch = 0
        self._batch_start = self._epoch_start = 0.0
        self._epoch_batches = 0
        if self.update_freq != "epoch" or write_steps_per_second:
            # Batch hooks only when batch values are written: otherwise fit skips
            # reading per-batch logs altogether.
            self.on_train_batch_begin = self._train_batch_begin
            self.on_train_batch_end = self._train_batch_end

    def set_model(self, model):
        super().set_model(model)
        self._close_writers()

    def _writer(self, which):
        if which not in self._writers:
            self._writers[which] = open_event_writer(os.path.join(self.log_dir, which))
        return self._writers[which]

    def _close_writers(self):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    def _scalars(self, which, prefix, logs, step):
        writer = self._writer(which)
        for name, value in logs.items():
            try:
                value = to_float(value)
            except (TypeError, ValueError):
                continue   # non-scalar entries are not curves
            writer.scalar(prefix + name, value, step)

    # --- hooks --------------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._global_train_batch = 0

    def on_train_end(self, logs=None):
        self._close_writers()

    def _train_batch_begin(self, batch, logs=None):
        self._global_train_batch += 1
        self._batch_start = time.perf_counter()

    def _train_batch_end(self, batch, logs=None):
        self._epoch_batches += 1
        step = self._global_train_batch
        if self.update_freq == "epoch" or step % self.update_freq:
            return
        values = dict(logs or {})
        if self.write_steps_per_second:
            values["steps_per_second"] = 1.0 / max(time.perf_counter() - self._batch_start, 1e-9)
        self._scalars("train", "batch_", values, step)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.perf_counter()
        self._epoch_batches = 0

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        train = add_learning_rates({k: v for k, v in logs.items() if not k.startswith("val_")},
                                   self.model)
        if self.write_steps_per_second:
            elapsed = max(time.perf_counter() - self._epoch_start, 1e-9)
            train["steps_per_second"] = self._epoch_batches / elapsed
        if train:
            self._scalars("train", "epoch_", train, epoch)
        validation = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        if validation:
            self._scalars("validation", "epoch_", validation, epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._histograms(epoch)
        for writer in self._writers.values():
            writer.flush()

    def _histograms(self, epoch):
        from unikeras.common.saving.weights import weight_paths
        writer = self._writer("train")
        model = self.model
        for path, weight in weight_paths(model):
            values = weight.numpy()
            if values.size:   # tagged "<model>/<layer>/<weight>/histogram", as Keras 3
                writer.histogram(f"{model.name}/{path.replace(':', '_')}/histogram", values, epoch)

    def on_test_end(self, logs=None):
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None or not logs:
            return
        step = int(to_float(optimizer.iterations))
        self._scalars("validation", "evaluation_", {f"{k}_vs_iterations": v
                                                     for k, v in logs.items()}, step)
        self._writer("validation").flush()
