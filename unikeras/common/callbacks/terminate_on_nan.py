"""TerminateOnNaN: stop training at the first batch whose loss is NaN or infinite."""
import math

from unikeras.common.callbacks.callback import Callback
from unikeras.common.callbacks.logs import print_line


class TerminateOnNaN(Callback):
    """Set `model.stop_training` (or raise RuntimeError with `raise_error=True`) as soon as a
    batch's `loss` is NaN or infinite."""

    def __init__(self, raise_error=False):
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or math.isfinite(loss):
            return
        if self.raise_error:
            raise RuntimeError(f"NaN or Inf loss encountered at batch {batch}. Loss value: "
                               f"{loss}. Terminating training immediately.")
        print_line(f"Batch {batch}: Invalid loss, terminating training")
        self.model.stop_training = True
