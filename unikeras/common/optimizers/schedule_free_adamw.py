"""Schedule-free AdamW (Defazio et al.): iterate averaging in place of a schedule."""
from unikeras import ops
from unikeras.common.optimizers.base import Optimizer, base_arguments


class ScheduleFreeAdamW(Optimizer):
    """Schedule-free AdamW: the `momentum` slot holds the base iterate `z`; the model
    variable holds the interpolation `y` between `z` and its running average `x`."""

    def __init__(self, learning_rate=0.0025, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 warmup_steps=0, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(**base_arguments(locals()))
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.warmup_steps = warmup_steps

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums, self._velocities = self.add_optimizer_variables(
            var_list, ["momentum", "velocity"])
        for z, var in zip(self._momentums, var_list):
            if z is not None:
                z.assign(ops.copy(var.value))

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        gradient = ops.cast(gradient, dtype)
        step = ops.cast(self.iterations + 1, dtype)
        beta_1 = ops.cast(self.beta_1, dtype)
        beta_2 = ops.cast(self.beta_2, dtype)
        if self.warmup_steps > 0:
            lr = lr * ops.minimum(step / ops.cast(self.warmup_steps, dtype), 1.0)
        i = self._get_variable_index(variable)
        z, velocity = self._momentums[i], self._velocities[i]
        z_old = ops.copy(z.value)   # storage may be updated in place by the assign below
        bias_correction_2 = 1 - ops.power(beta_2, step)
        velocity.assign(velocity.value + (ops.square(gradient) - velocity.value) * (1 - beta_2))
        denom = ops.sqrt(velocity.value / bias_correction_2) + ops.cast(self.epsilon, dtype)
        z.assign(z.value - lr * gradient / denom)
        weight = 1.0 / step
        x_old = (variable.value - (1 - beta_1) * z_old) / beta_1
        x_new = (1 - weight) * x_old + weight * z.value
        variable.assign((1 - beta_1) * z.value + beta_1 * x_new)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "warmup_steps": self.warmup_steps}
