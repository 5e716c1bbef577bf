"""LossScaleOptimizer: dynamic loss scaling around another optimizer (mixed precision)."""
from unikeras import ops
from unikeras.common import initializers
from unikeras.common.optimizers.base import Optimizer
from unikeras.common.variables import in_stateless_scope, runtime

_BASE_DEFAULTS = {"weight_decay": None, "clipnorm": None, "global_clipnorm": None,
                  "clipvalue": None, "use_ema": False, "ema_momentum": 0.99,
                  "ema_overwrite_frequency": None, "loss_scale_factor": None,
                  "gradient_accumulation_steps": None}


def all_finite(grads):
    """Boolean scalar tensor: every entry of every (non-None) gradient is finite."""
    flags = [ops.all(ops.isfinite(g)) for g in grads if g is not None]
    return ops.all(ops.stack(flags))


class LossScaleOptimizer(Optimizer):
    """Scale the loss by a dynamic factor; skip steps whose gradients overflow (halving
    the factor) and double it after `dynamic_growth_steps` finite steps in a row."""

    def __init__(self, inner_optimizer, initial_scale=2.0 ** 15, dynamic_growth_steps=2000,
                 name=None, **kwargs):
        if not kwargs.pop("dynamic", True):
            raise ValueError("LossScaleOptimizer no longer supports `dynamic=False`; set "
                             "`loss_scale_factor` on the `inner_optimizer` instead.")
        for arg, default in _BASE_DEFAULTS.items():
            if arg in kwargs and kwargs.pop(arg) != default:
                raise ValueError(f"LossScaleOptimizer does not support `{arg}`; set `{arg}` on "
                                 "the `inner_optimizer` instead.")
        if kwargs:
            raise ValueError(f"LossScaleOptimizer does not support arguments: {sorted(kwargs)}.")
        if not isinstance(inner_optimizer, Optimizer):
            raise TypeError("LossScaleOptimizer: `inner_optimizer` must be an Optimizer, got "
                            f"{inner_optimizer!r}.")
        super().__init__(learning_rate=0.0, name=name)
        self.inner_optimizer = inner_optimizer
        self.initial_scale = initial_scale
        self.dynamic_growth_steps = dynamic_growth_steps
        self.inner_optimizer.loss_scale_factor = None

    def build(self, var_list):
        super().build(var_list)
        int_dtype = self._iterations.dtype
        self.step_counter = self.add_variable((), "zeros", dtype=int_dtype, name="step_counter")
        self.dynamic_scale = self.add_variable((), initializers.Constant(self.initial_scale),
                                               dtype="float32", name="dynamic_scale")
        self.inner_optimizer.build(var_list)

    @property
    def variables(self):
        return list(self._variables) + self.inner_optimizer.variables

    def apply(self, grads, trainable_variables=None):
        grads = list(grads)
        if not self.built:
            self.build(trainable_variables)
        if in_stateless_scope():
            self._scaled_apply(grads, trainable_variables)
        else:
            with runtime(self._iterations._backend).no_grad():
                self._scaled_apply(grads, trainable_variables)

    def _scaled_apply(self, grads, trainable_variables):
        finite = all_finite(grads)
        scale = self.dynamic_scale.value
        variables = trainable_variables or self._trainable_variables
        unscaled = [g if g is None or self._overwrite_variable_with_gradient(v)
                    else g / ops.cast(scale, g.dtype) for g, v in zip(grads, variables)]
        self._run_if(finite, lambda: self.inner_optimizer.apply(unscaled, trainable_variables))
        counter = self.step_counter.value
        grow = ops.equal(counter, self.dynamic_growth_steps - 1)
        zero = ops.zeros_like(counter)
        self.step_counter.assign(ops.where(finite, ops.where(grow, zero, counter + 1), zero))
        self.dynamic_scale.assign(ops.where(finite, ops.where(grow, scale * 2.0, scale),
                                            scale * 0.5))

    @property
    def learning_rate(self):
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        if hasattr(self, "inner_optimizer"):
            self.inner_optimizer.learning_rate = value

    @property
    def iterations(self):
        return self.inner_optimizer.iterations

    def scale_loss(self, loss):
        scale = self.dynamic_scale.value if self.built else self.initial_scale
        return loss * scale

    def finalize_variable_values(self, var_list):
        self.inner_optimizer.finalize_variable_values(var_list)

    def get_config(self):
        from unikeras.common.optimizers.serialization import serialize
        return {"name": self.name, "inner_optimizer": serialize(self.inner_optimizer),
                "initial_scale": self.initial_scale,
                "dynamic_growth_steps": self.dynamic_growth_steps}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from unikeras.common.optimizers.serialization import deserialize
        config = dict(config)
        inner = deserialize(config.pop("inner_optimizer"), custom_objects=custom_objects)
        return cls(inner, **config)
