"""Adamax: Adam with the infinity norm in place of the second moment."""
from unikeras import ops
from unikeras.common.optimizers.base import Optimizer, base_arguments


class Adamax(Optimizer):
    """Adamax: steps scaled by an exponentially weighted infinity norm of the gradients."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None,
                 loss_scale_factor=None, gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(**base_arguments(locals()))
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._m, self._u = self.add_optimizer_variables(var_list, ["momentum", "norm"])

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        gradient = ops.cast(gradient, dtype)
        step = ops.cast(self.iterations + 1, dtype)
        beta_1_power = ops.power(ops.cast(self.beta_1, dtype), step)
        i = self._get_variable_index(variable)
        m, u = self._m[i], self._u[i]
        m.assign(m.value + (gradient - m.value) * (1 - self.beta_1))
        u.assign(ops.maximum(self.beta_2 * u.value, ops.abs(gradient)))
        variable.assign(variable.value - (lr * m.value) / ((1 - beta_1_power) * (u.value + self.epsilon)))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}
