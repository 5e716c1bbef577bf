"""BackupAndRestore: back up training state so that a fit killed midway resumes where the
last backup was taken when fit is run again with the same callback."""
import json
import os
import shutil

from unikeras.common.saving.atomic import write_atomically
from unikeras.common.callbacks.callback import Callback
from unikeras.common.callbacks.save_frequency import BatchCounter, check_save_freq

METADATA = "training_metadata.json"


class BackupAndRestore(Callback):
    """Each backup in `backup_dir` is a model weights file and an optimizer variables file
    (safetensors, named by a backup number) and `training_metadata.json` naming them with
    the epoch to resume at and the last batch seen. The JSON is replaced last, atomically,
    so a crash while backing up leaves the previous backup usable.

    `on_train_begin` restores the latest backup and sets `model._initial_epoch`, which fit
    starts from. `save_freq`: "epoch" or every N batches (a resumed fit restarts the epoch
    it was in). `double_checkpoint` keeps the previous backup too (`.bkp` JSON), used when
    the latest cannot be read. `delete_checkpoint` removes `backup_dir` when training ends
    normally.
    """

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint=False,
                 delete_checkpoint=True):
        super().__init__()
        if not backup_dir:
            raise ValueError("BackupAndRestore: backup_dir must be a folder path; got "
                             f"{backup_dir!r}.")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = check_save_freq("BackupAndRestore", save_freq)
        self.double_checkpoint = double_checkpoint
        self.delete_checkpoint = delete_checkpoint
        self._batches = BatchCounter(save_freq) if save_freq != "epoch" else None
        self._current_epoch = 0
        self._last_batch_seen = 0
        self._metadata_path = os.path.join(self.backup_dir, METADATA)
        self._prev_metadata_path = self._metadata_path + ".bkp"

    # --- restoring ----------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        if not os.path.exists(self._metadata_path):
            return   # nothing to resume: a first run
        model = self.model
        if not model.built:
            raise ValueError(f"BackupAndRestore: model '{model.name}' must be built before "
                             "fit() to restore its backup; call it on a batch of data first.")
        try:
            self._restore(self._metadata_path)
        except (OSError, ValueError, KeyError):
            if not (self.double_checkpoint and os.path.exists(self._prev_metadata_path)):
                raise
            self._restore(self._prev_metadata_path)

    def _restore(self, metadata_path):
        with open(metadata_path, encoding="utf-8") as f:
            metadata = json.load(f)
        for name in (metadata["weights"], metadata.get("optimizer")):
            if name and not os.path.exists(os.path.join(self.backup_dir, name)):
                raise FileNotFoundError(f"BackupAndRestore: {metadata_path!r} names {name!r}, "
                                        f"which is missing from {self.backup_dir!r}.")
        model = self.model
        model.load_weights(os.path.join(self.backup_dir, metadata["weights"]))
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None and metadata.get("optimizer"):
            self._build_optimizer(optimizer)
            _load_optimizer_variables(optimizer,
                                      os.path.join(self.backup_dir, metadata["optimizer"]))
        model._initial_epoch = metadata["epoch"]   # fit starts at this epoch

    def _build_optimizer(self, optimizer):
        """Create the optimizer's slots now (fit would on its first batch), on the backend
        that holds the model's weights."""
        if getattr(optimizer, "built", True):
            return
        from unikeras.common.ops import dispatch
        variables = self.model.trainable_variables
        backend = variables[0].backend if variables else dispatch.current_backend()
        with dispatch.backend_scope(backend):
            optimizer.build(variables)

    # --- backing up ---------------------------------------------------------------------------
    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        if self.save_freq == "epoch":
            self._backup()

    def on_train_batch_end(self, batch, logs=None):
        if self._batches is not None and self._batches.due(batch):
            self._last_batch_seen = batch
            self._backup()

    def _backup(self):
        os.makedirs(self.backup_dir, exist_ok=True)
        previous = self._read_metadata(self._metadata_path)
        number = previous.get("number", 0) + 1
        metadata = {"epoch": self._current_epoch, "batch": self._last_batch_seen,
                    "number": number, "weights": f"model-{number}.safetensors",
                    "optimizer": None}
        model = self.model
        model.save_weights(os.path.join(self.backup_dir, metadata["weights"]), overwrite=True)
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None:
            self._build_optimizer(optimizer)
            metadata["optimizer"] = f"optimizer-{number}.safetensors"
            _save_optimizer_variables(optimizer,
                                      os.path.join(self.backup_dir, metadata["optimizer"]))
        if self.double_checkpoint and previous:
            write_atomically(self._prev_metadata_path, json.dumps(previous).encode())
        write_atomically(self._metadata_path, json.dumps(metadata).encode())
        self._remove_unreferenced(metadata, previous if self.double_checkpoint else {})

    def _read_metadata(self, path):
        try:
            with open(path, encoding="utf-8") as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def _remove_unreferenced(self, *kept):
        keep = {m.get(k) for m in kept for k in ("weights", "optimizer")}
        for name in os.listdir(self.backup_dir):
            if name.endswith(".safetensors") and name not in keep:
                os.remove(os.path.join(self.backup_dir, name))

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and os.path.exists(self.backup_dir):
            shutil.rmtree(self.backup_dir)


def _save_optimizer_variables(optimizer, path):
    """The optimizer's variables, in `optimizer.variables` order, as a safetensors file."""
    import numpy as np
    from safetensors.numpy import save
    # np.array(order="C"), not ascontiguousarray: that one turns scalars into shape (1,).
    tensors = {str(i): np.array(v.numpy(), order="C") for i, v in enumerate(optimizer.variables)}
    write_atomically(path, save(tensors, metadata={"format": "unikeras-optimizer",
                                                   "optimizer": type(optimizer).__name__}))


def _load_optimizer_variables(optimizer, path):
    from safetensors import safe_open

    from unikeras.common.ops import dispatch
    variables = optimizer.variables
    with safe_open(path, framework="numpy") as f:
        arrays = [f.get_tensor(str(i)) for i in range(len(f.keys()))]
    if len(arrays) != len(variables):
        raise ValueError(f"BackupAndRestore: {path!r} holds {len(arrays)} optimizer variables, "
                         f"optimizer {type(optimizer).__name__} has {len(variables)}.")
    for v, array in zip(variables, arrays):
        if tuple(array.shape) != tuple(v.shape):
            raise ValueError(f"BackupAndRestore: optimizer variable {v.path} has shape "
                             f"{tuple(v.shape)}, the backup {tuple(array.shape)}.")
        v.assign(dispatch.get_table(v.backend).convert_to_tensor(array, dtype=v.dtype))
