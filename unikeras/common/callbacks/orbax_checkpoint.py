"""OrbaxCheckpoint: Keras's Orbax-format checkpointing, not available in unikeras."""
from unikeras.common.callbacks.monitor import MonitorCallback


class OrbaxCheckpoint(MonitorCallback):
    """Not supported: unikeras checkpoints are safetensors files. Use
    `ModelCheckpoint(..., save_weights_only=True)` with a `.safetensors` path, or
    `BackupAndRestore` to resume interrupted training."""

    def __init__(self, directory, monitor="val_loss", verbose=0, save_best_only=False,
                 mode="auto", save_freq="epoch", initial_value_threshold=None, max_to_keep=1,
                 save_on_background=True, save_weights_only=False):
        raise NotImplementedError(
            "OrbaxCheckpoint is not supported by unikeras: use ModelCheckpoint with "
            "save_weights_only=True and a '.safetensors' filepath, or BackupAndRestore "
            "to resume an interrupted fit.")
