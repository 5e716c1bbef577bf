"""Lamb: Adam steps rescaled per variable by the trust ratio ||w|| / ||step||."""
from unikeras import ops
from unikeras.common.optimizers.base import Optimizer, base_arguments


class Lamb(Optimizer):
    """Lamb (layer-wise adaptive moments for large batches)."""

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
        self._momentums, self._velocities = self.add_optimizer_variables(
            var_list, ["momentum", "velocity"])

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        gradient = ops.cast(gradient, dtype)
        step = ops.cast(self.iterations + 1, dtype)
        beta_1_power = ops.power(ops.cast(self.beta_1, dtype), step)
        beta_2_power = ops.power(ops.cast(self.beta_2, dtype), step)
        i = self._get_variable_index(variable)
        m, v = self._momentums[i], self._velocities[i]
        m.assign(m.value + (gradient - m.value) * (1 - self.beta_1))
        v.assign(v.value + (ops.square(gradient) - v.value) * (1 - self.beta_2))
        update = (m.value / (1.0 - beta_1_power)) / (
            ops.sqrt(v.value / (1.0 - beta_2_power)) + self.epsilon)
        w_norm = ops.sqrt(ops.sum(ops.square(variable.value)))
        g_norm = ops.sqrt(ops.sum(ops.square(update)))
        one = ops.ones_like(w_norm)
        safe_g_norm = ops.where(ops.greater(g_norm, 0), g_norm, one)
        ratio = ops.where(ops.greater(w_norm, 0),
                          ops.where(ops.greater(g_norm, 0), w_norm / safe_g_norm, one), one)
        variable.assign(variable.value - ratio * lr * update)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}
