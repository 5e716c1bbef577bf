"""RMSprop: steps scaled by a moving average of squared gradients (compile's default)."""
from unikeras import ops
from unikeras.common.optimizers.base import Optimizer, base_arguments


class RMSprop(Optimizer):
    """RMSprop, optionally centered and with momentum."""

    fused_kernel = "rmsprop"

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None,
                 loss_scale_factor=None, gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(**base_arguments(locals()))
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._velocities = self.add_optimizer_variables(var_list, "velocity")
        self._momentums = (self.add_optimizer_variables(var_list, "momentum")
                           if self.momentum > 0 else [])
        self._average_gradients = (self.add_optimizer_variables(var_list, "average_gradient")
                                   if self.centered else [])

    def fused_slots(self):
        slots = {"velocity": self._velocities}
        if self.momentum > 0:
            slots["momentum"] = self._momentums
        if self.centered:
            slots["average_gradient"] = self._average_gradients
        return slots

    def fused_hyperparameters(self):
        return {"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                "centered": self.centered}

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        gradient = ops.cast(gradient, dtype)
        i = self._get_variable_index(variable)
        velocity = self._velocities[i]
        rho = self.rho
        velocity.assign(rho * velocity.value + (1 - rho) * ops.square(gradient))
        denominator = velocity.value
        if self.centered:
            average_grad = self._average_gradients[i]
            average_grad.assign(rho * average_grad.value + (1 - rho) * gradient)
            denominator = velocity.value - ops.square(average_grad.value)
        increment = lr * gradient / ops.sqrt(denominator + self.epsilon)
        if self.momentum > 0:
            m = self._momentums[i]
            m.assign(self.momentum * m.value + increment)
            increment = m.value
        variable.assign(variable.value - increment)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}
