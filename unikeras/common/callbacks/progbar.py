"""Progbar: the text progress bar with ETA, step time and metrics that fit/evaluate print."""
import math
import sys
import time

from unikeras.common.callbacks.logs import write


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
            write(line)

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
        write("\r" + line + padding + ("\n" if finalize else ""))
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
