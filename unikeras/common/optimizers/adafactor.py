"""Adafactor: second moments of matrices kept as row and column factors."""
from unikeras import ops
from unikeras.common.optimizers.base import Optimizer, base_arguments


def _rms(x):
    return ops.sqrt(ops.mean(ops.square(x)))


class Adafactor(Optimizer):
    """Adafactor with relative steps and update clipping, as Keras computes it."""

    def __init__(self, learning_rate=0.001, beta_2_decay=-0.8, epsilon_1=1e-30, epsilon_2=1e-3,
                 clip_threshold=1.0, relative_step=True, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(**base_arguments(locals()))
        self.beta_2_decay = beta_2_decay
        self.epsilon_1 = epsilon_1
        self.epsilon_2 = epsilon_2
        self.clip_threshold = clip_threshold
        self.relative_step = relative_step

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._r, self._c, self._v = [], [], []
        for var in var_list:
            shape = tuple(var.shape)
            if self._overwrite_variable_with_gradient(var):
                self._r.append(None)
                self._c.append(None)
                self._v.append(None)
                continue
            if len(shape) < 2:   # unfactored: placeholders, as Keras keeps them
                self._r.append(self.add_variable((), dtype="int32", name=var.name))
                self._c.append(self.add_variable((), dtype="int32", name=var.name))
            else:
                self._r.append(self.add_variable(shape[:-1], dtype=var.dtype, name=var.name))
                self._c.append(self.add_variable(shape[:-2] + shape[-1:], dtype=var.dtype,
                                                 name=var.name))
            self._v.append(self.add_variable_from_reference(var, "velocity"))

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        gradient = ops.cast(gradient, dtype)
        step = ops.cast(self.iterations + 1, dtype)
        if not callable(self._learning_rate) and self.relative_step:
            lr = ops.minimum(lr, 1 / ops.sqrt(step))
        i = self._get_variable_index(variable)
        r, c, v = self._r[i], self._c[i], self._v[i]
        rho_t = ops.minimum(lr, 1 / ops.sqrt(step))
        alpha_t = ops.maximum(ops.cast(self.epsilon_2, dtype), _rms(variable.value)) * rho_t
        regulated_grad_square = ops.square(gradient) + self.epsilon_1
        beta_2_t = 1 - ops.power(step, self.beta_2_decay)
        if len(variable.shape) >= 2:
            r.assign(beta_2_t * r.value + (1 - beta_2_t) * ops.mean(regulated_grad_square, axis=-1))
            c.assign(beta_2_t * c.value + (1 - beta_2_t) * ops.mean(regulated_grad_square, axis=-2))
            row = ops.expand_dims(r.value / ops.mean(r.value, axis=-1, keepdims=True), axis=-1)
            v.assign(row * ops.expand_dims(c.value, -2))
        else:
            v.assign(beta_2_t * v.value + (1 - beta_2_t) * regulated_grad_square)
        u_t = gradient / ops.sqrt(v.value)
        u_t_hat = u_t / ops.maximum(ops.ones_like(alpha_t), _rms(u_t) / self.clip_threshold)
        variable.assign(variable.value - alpha_t * u_t_hat)

    def get_config(self):
        return {**super().get_config(), "beta_2_decay": self.beta_2_decay,
                "epsilon_1": self.epsilon_1, "epsilon_2": self.epsilon_2,
                "clip_threshold": self.clip_threshold, "relative_step": self.relative_step}
