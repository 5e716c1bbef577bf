"""Learning-rate schedules: callables of the optimizer step, written once with
`unikeras.ops`. A tensor (or Variable) step gives a scalar tensor of its backend; a Python
number gives a Python float (computed with the NumPy backend)."""
import math

from unikeras import ops


def _number(value, owner, name, positive=False):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{owner}: `{name}` must be a Python number, got {value!r}.")
    if positive and value <= 0:
        raise ValueError(f"{owner}: argument `{name}` must be > 0. Received: {name}={value}")
    return value


class LearningRateSchedule:
    """Base class: subclasses implement `compute(step)` on a float32 tensor step (and
    `get_config`); calling the schedule handles Python numbers and tensors alike."""

    def __call__(self, step):
        if isinstance(step, (bool, int, float)) or type(step).__module__ == "numpy":
            with ops.backend_scope("numpy"):
                return float(ops.convert_to_numpy(self.compute(self._float_step(step))))
        return self.compute(self._float_step(step))

    @staticmethod
    def _float_step(step):
        return ops.cast(ops.convert_to_tensor(step), "float32")

    def compute(self, step):
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must "
                                  "override `compute(self, step)` (or `__call__`).")

    def get_config(self):
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must "
                                  "override `get_config()` in order to be serializable.")

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class _StepDecay(LearningRateSchedule):
    """Shared by the schedules of `initial_learning_rate`, `decay_steps`, `decay_rate` and
    `staircase`: `compute` applies `_decay(progress)` with progress = step / decay_steps."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name=None):
        owner = type(self).__name__
        self.initial_learning_rate = _number(initial_learning_rate, owner, "initial_learning_rate")
        self.decay_steps = _number(decay_steps, owner, "decay_steps", positive=True)
        self.decay_rate = _number(decay_rate, owner, "decay_rate")
        self.staircase = staircase
        self.name = name

    def compute(self, step):
        p = step / self.decay_steps
        if self.staircase:
            p = ops.floor(p)
        return self._decay(p)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class ExponentialDecay(_StepDecay):
    """`initial_learning_rate * decay_rate ** (step / decay_steps)` (floored with
    `staircase`)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="ExponentialDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def _decay(self, p):
        return self.initial_learning_rate * ops.power(ops.cast(self.decay_rate, "float32"), p)


class PiecewiseConstantDecay(LearningRateSchedule):
    """`values[i]` for `boundaries[i-1] < step <= boundaries[i]`."""

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(boundaries) != len(values) - 1:
            raise ValueError(f"{type(self).__name__}: the length of boundaries should be 1 less "
                             f"than the length of values. Received: boundaries={boundaries} of "
                             f"length {len(boundaries)}, and values={values} of length "
                             f"{len(values)}.")
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def compute(self, step):
        result = ops.zeros_like(step) + self.values[0]
        for boundary, value in zip(self.boundaries, self.values[1:]):
            result = ops.where(ops.greater(step, boundary), ops.zeros_like(step) + value, result)
        return result

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """From `initial_learning_rate` to `end_learning_rate` along `(1 - t) ** power` over
    `decay_steps` (restarting from a multiple of `decay_steps` with `cycle`)."""

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0,
                 cycle=False, name="PolynomialDecay"):
        owner = type(self).__name__
        self.initial_learning_rate = _number(initial_learning_rate, owner, "initial_learning_rate")
        self.decay_steps = _number(decay_steps, owner, "decay_steps", positive=True)
        self.end_learning_rate = _number(end_learning_rate, owner, "end_learning_rate")
        self.power = power
        self.cycle = cycle
        self.name = name

    def compute(self, step):
        decay_steps = ops.zeros_like(step) + self.decay_steps
        if self.cycle:
            multiplier = ops.where(ops.equal(step, 0), ops.ones_like(step),
                                   ops.ceil(step / self.decay_steps))
            decay_steps = decay_steps * multiplier
        else:
            step = ops.minimum(step, decay_steps)
        p = step / decay_steps
        return ((self.initial_learning_rate - self.end_learning_rate)
                * ops.power(1 - p, ops.cast(self.power, "float32")) + self.end_learning_rate)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "end_learning_rate": self.end_learning_rate,
                "power": self.power, "cycle": self.cycle, "name": self.name}


class InverseTimeDecay(_StepDecay):
    """`initial_learning_rate / (1 + decay_rate * step / decay_steps)` (floored with
    `staircase`)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="InverseTimeDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def _decay(self, p):
        return self.initial_learning_rate / (1 + self.decay_rate * p)


def _cosine(fraction, alpha):
    """`(1 - alpha) * (1 + cos(pi * fraction)) / 2 + alpha`."""
    return (1 - alpha) * (0.5 * (1.0 + ops.cos(math.pi * fraction))) + alpha


class CosineDecay(LearningRateSchedule):
    """Optional linear warmup from `initial_learning_rate` to `warmup_target` over
    `warmup_steps`, then a cosine decay to `alpha` times the start over `decay_steps`."""

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
        owner = type(self).__name__
        self.initial_learning_rate = _number(initial_learning_rate, owner, "initial_learning_rate")
        self.decay_steps = _number(decay_steps, owner, "decay_steps", positive=True)
        self.alpha = alpha
        self.name = name
        self.warmup_steps = warmup_steps
        self.warmup_target = warmup_target

    def compute(self, step):
        if self.warmup_target is None:
            step = ops.minimum(step, float(self.decay_steps))
            return self.initial_learning_rate * _cosine(step / self.decay_steps, self.alpha)
        step = ops.minimum(step, float(self.decay_steps + self.warmup_steps))
        warm = ((self.warmup_target - self.initial_learning_rate)
                * (step / max(self.warmup_steps, 1e-30)) + self.initial_learning_rate)
        decayed = self.warmup_target * _cosine((step - self.warmup_steps) / self.decay_steps,
                                               self.alpha)
        return ops.where(ops.less(step, float(self.warmup_steps)), warm, decayed)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay over periods that grow by `t_mul`, each restarting at `m_mul` times
    the previous peak (SGDR)."""

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0,
                 alpha=0.0, name="SGDRDecay"):
        owner = type(self).__name__
        self.initial_learning_rate = _number(initial_learning_rate, owner, "initial_learning_rate")
        self.first_decay_steps = _number(first_decay_steps, owner, "first_decay_steps",
                                         positive=True)
        self._t_mul = t_mul
        self._m_mul = m_mul
        self.alpha = alpha
        self.name = name

    def compute(self, step):
        fraction = step / self.first_decay_steps
        if self._t_mul == 1.0:
            restart = ops.floor(fraction)
            fraction = fraction - restart
        else:
            t_mul = ops.cast(self._t_mul, "float32")
            restart = ops.floor(ops.log(1.0 - fraction * (1.0 - t_mul)) / ops.log(t_mul))
            done = (1.0 - ops.power(t_mul, restart)) / (1.0 - t_mul)
            fraction = (fraction - done) / ops.power(t_mul, restart)
        peak = ops.power(ops.cast(self._m_mul, "float32"), restart)
        decayed = (1 - self.alpha) * (0.5 * peak * (1.0 + ops.cos(math.pi * fraction))) + self.alpha
        return self.initial_learning_rate * decayed

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "first_decay_steps": self.first_decay_steps, "t_mul": self._t_mul,
                "m_mul": self._m_mul, "alpha": self.alpha, "name": self.name}


ALL_OBJECTS = (LearningRateSchedule, ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay,
               InverseTimeDecay, CosineDecay, CosineDecayRestarts)
ALL_OBJECTS_DICT = {cls.__name__: cls for cls in ALL_OBJECTS}


def serialize(learning_rate_schedule):
    """The Keras-format dict of a schedule."""
    if not hasattr(learning_rate_schedule, "get_config"):
        raise ValueError(f"Cannot serialize learning-rate schedule {learning_rate_schedule!r}: "
                         "it has no get_config().")
    return {"module": "keras.optimizers.schedules",
            "class_name": type(learning_rate_schedule).__name__,
            "config": learning_rate_schedule.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    """A schedule from its `serialize` dict."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Cannot deserialize a learning-rate schedule from {config!r}: expected "
                         "a dict with 'class_name' and 'config'.")
    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or ALL_OBJECTS_DICT.get(name)
    if cls is None or cls is LearningRateSchedule:
        raise ValueError(f"Unknown learning-rate schedule {name!r}; known: "
                         f"{sorted(set(ALL_OBJECTS_DICT) - {'LearningRateSchedule'})}.")
    return cls.from_config(config.get("config") or {})


__all__ = [cls.__name__ for cls in ALL_OBJECTS] + ["serialize", "deserialize"]
