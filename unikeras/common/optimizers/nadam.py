"""Nadam: Adam with Nesterov momentum and a decaying momentum schedule."""
from unikeras import config
from unikeras import ops
from unikeras.common.optimizers.base import Optimizer, base_arguments

_MOMENTUM_DECAY = 0.96


class Nadam(Optimizer):
    """Nadam: Adam with Nesterov momentum (Dozat's momentum schedule, as Keras)."""

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
        dtype = var_list[0].dtype if var_list else config.floatx()
        super().build(var_list)
        self._momentums, self._velocities = self.add_optimizer_variables(
            var_list, ["momentum", "velocity"])
        # The running product of the momentum schedule (named as Keras names it).
        self._u_product = self.add_variable((), "ones", dtype=dtype, name="variable")

    def _momentum_at(self, step, dtype):
        return ops.cast(self.beta_1, dtype) * (
            1.0 - 0.5 * ops.power(ops.cast(_MOMENTUM_DECAY, dtype), step))

    def _update(self, grads, trainable_variables):
        dtype = self._u_product.dtype
        step = ops.cast(self.iterations + 1, dtype)
        self._u_product.assign(self._u_product.value * self.beta_1 * (
            1.0 - 0.5 * ops.power(_MOMENTUM_DECAY, step)))
        super()._update(grads, trainable_variables)

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        gradient = ops.cast(gradient, dtype)
        step = ops.cast(self.iterations + 1, dtype)
        u_t = self._momentum_at(step, dtype)
        u_next = self._momentum_at(step + 1, dtype)
        u_product = ops.cast(self._u_product.value, dtype)
        u_product_next = u_product * u_next
        beta_2_power = ops.power(ops.cast(self.beta_2, dtype), step)
        i = self._get_variable_index(variable)
        m, v = self._momentums[i], self._velocities[i]
        m.assign(m.value + (gradient - m.value) * (1 - self.beta_1))
        v.assign(v.value + (ops.square(gradient) - v.value) * (1 - self.beta_2))
        m_hat = u_next * m.value / (1 - u_product_next) + (1 - u_t) * gradient / (1 - u_product)
        v_hat = v.value / (1 - beta_2_power)
        variable.assign(variable.value - (m_hat * lr) / (ops.sqrt(v_hat) + self.epsilon))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}
