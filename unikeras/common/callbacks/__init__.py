"""Callbacks: hooks the training loops call at the start and end of training, epochs and
batches. Framework-free; logs reach callbacks as dicts of Python floats. One module per
callback (or small family)."""
from unikeras.common.callbacks.backup_and_restore import BackupAndRestore
from unikeras.common.callbacks.callback import Callback
from unikeras.common.callbacks.callback_list import CallbackList
from unikeras.common.callbacks.csv_logger import CSVLogger
from unikeras.common.callbacks.early_stopping import EarlyStopping
from unikeras.common.callbacks.history import History
from unikeras.common.callbacks.lambda_callback import LambdaCallback
from unikeras.common.callbacks.learning_rate_scheduler import LearningRateScheduler
from unikeras.common.callbacks.logs import pythonify_logs  # noqa: F401  (used by the loops)
from unikeras.common.callbacks.model_checkpoint import ModelCheckpoint
from unikeras.common.callbacks.monitor import MonitorCallback  # noqa: F401
from unikeras.common.callbacks.orbax_checkpoint import OrbaxCheckpoint
from unikeras.common.callbacks.progbar import Progbar  # noqa: F401
from unikeras.common.callbacks.progbar_logger import ProgbarLogger
from unikeras.common.callbacks.reduce_lr_on_plateau import ReduceLROnPlateau
from unikeras.common.callbacks.remote_monitor import RemoteMonitor
from unikeras.common.callbacks.swap_ema_weights import SwapEMAWeights
from unikeras.common.callbacks.tensorboard import TensorBoard
from unikeras.common.callbacks.terminate_on_nan import TerminateOnNaN

__all__ = ["BackupAndRestore", "CSVLogger", "Callback", "CallbackList", "EarlyStopping",
           "History", "LambdaCallback", "LearningRateScheduler", "ModelCheckpoint",
           "OrbaxCheckpoint", "ProgbarLogger", "ReduceLROnPlateau", "RemoteMonitor",
           "SwapEMAWeights", "TensorBoard", "TerminateOnNaN"]

