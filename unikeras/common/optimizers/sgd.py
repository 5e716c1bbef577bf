"""SGD with optional (Nesterov) momentum."""
from unikeras import ops
from unikeras.common.optimizers.base import Optimizer, base_arguments


class SGD(Optimizer):
    """Gradient descent with optional (Nesterov) momentum."""

    fused_kernel = "sgd"

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(**base_arguments(locals()))
        if not isinstance(momentum, float) or not 0 <= momentum <= 1:
            raise ValueError(f"SGD: `momentum` must be a float between [0, 1], got {momentum!r}.")
        self.momentum = momentum
        self.nesterov = nesterov

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.momentums = (self.add_optimizer_variables(variables, "momentum")
                          if self.momentum else [])

    def fused_slots(self):
        return {"momentum": self.momentums} if self.momentum else {}

    def fused_hyperparameters(self):
        return {"momentum": self.momentum, "nesterov": self.nesterov}

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        m = self.momentums[self._get_variable_index(variable)] if self.momentum else None
        if m is None:
            variable.assign(variable.value - gradient * lr)
            return
        momentum = ops.cast(self.momentum, variable.dtype)
        m.assign(m.value * momentum - gradient * lr)
        if self.nesterov:
            variable.assign(variable.value + (m.value * momentum - gradient * lr))
        else:
            variable.assign(variable.value + m.value)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}
