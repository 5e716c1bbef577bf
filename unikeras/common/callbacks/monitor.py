"""MonitorCallback: base of the callbacks that watch one logged quantity (EarlyStopping,
ModelCheckpoint, ReduceLROnPlateau) and judge whether a new value improves on a reference."""
import operator
import warnings

from unikeras.common.callbacks.callback import Callback


class MonitorCallback(Callback):
    """Tracks `monitor` in direction `mode` ("min", "max", or "auto": lower for losses,
    otherwise the direction of the model's metric of that name); an improvement must beat
    the reference by more than `min_delta`."""

    def __init__(self, monitor="val_loss", mode="auto", baseline=None, min_delta=0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{type(self).__name__} mode {mode!r} is unknown, falling back to "
                          "'auto'.", stacklevel=3)
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.best = baseline
        self.min_delta = abs(min_delta)
        self.monitor_op = None

    def _set_monitor_op(self):
        """Choose the comparison once the model's metrics exist (first epoch end)."""
        if self.mode == "min":
            op = operator.lt
        elif self.mode == "max":
            op = operator.gt
        else:
            op = self._direction_from_model()
        self.monitor_op = op
        self.min_delta = -abs(self.min_delta) if op is operator.lt else abs(self.min_delta)

    def _direction_from_model(self):
        name = self.monitor[4:] if self.monitor.startswith("val_") else self.monitor
        op = operator.lt if name == "loss" else None
        for m in getattr(self.model, "metrics", None) or []:
            direction = getattr(m, "_direction", None)
            if getattr(m, "name", None) == name and direction in ("up", "down"):
                op = operator.gt if direction == "up" else operator.lt
        if op is None:
            raise ValueError(
                f"{type(self).__name__} received monitor={self.monitor!r} but cannot tell "
                "whether that metric should be maximized or minimized. Pass mode='max' to "
                "track the highest value or mode='min' to track the lowest.")
        return op

    def _is_improvement(self, value, reference):
        return reference is None or bool(self.monitor_op(value - self.min_delta, reference))
