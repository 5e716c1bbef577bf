"""Adam and AdamW: steps from bias-corrected first and second moment estimates."""
from unikeras import ops
from unikeras.common.optimizers.base import Optimizer, base_arguments


def bias_corrected_step_size(learning_rate, beta_1, beta_2, step, dtype):
    """`lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)`: Adam's bias correction folded into
    the step size, as Keras does (epsilon is then added to the uncorrected sqrt(v))."""
    step = ops.cast(step, dtype)
    beta_1_power = ops.power(ops.cast(beta_1, dtype), step)
    beta_2_power = ops.power(ops.cast(beta_2, dtype), step)
    return ops.cast(learning_rate, dtype) * ops.sqrt(1 - beta_2_power) / (1 - beta_1_power)


class Adam(Optimizer):
    """Adam: per-parameter steps from bias-corrected first and second moment estimates."""

    fused_kernel = "adam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None,
                 loss_scale_factor=None, gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(**base_arguments(locals()))
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.amsgrad = amsgrad

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums, self._velocities = self.add_optimizer_variables(
            var_list, ["momentum", "velocity"])
        if self.amsgrad:
            self._velocity_hats = self.add_optimizer_variables(var_list, "velocity_hat")

    def fused_slots(self):
        slots = {"momentum": self._momentums, "velocity": self._velocities}
        if self.amsgrad:
            slots["velocity_hat"] = self._velocity_hats
        return slots

    def fused_hyperparameters(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                "amsgrad": self.amsgrad}

    def _update(self, grads, trainable_variables):
        # The step size depends only on the step and dtype: compute it once per apply.
        self._step_sizes = {}
        try:
            super()._update(grads, trainable_variables)
        finally:
            self._step_sizes = None

    def _step_size(self, dtype, learning_rate):
        cache = getattr(self, "_step_sizes", None)
        if cache is not None and dtype in cache:
            return cache[dtype]
        alpha = bias_corrected_step_size(learning_rate, self.beta_1, self.beta_2,
                                         self.iterations + 1, dtype)
        if cache is not None:
            cache[dtype] = alpha
        return alpha

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        gradient = ops.cast(gradient, dtype)
        i = self._get_variable_index(variable)
        m, v = self._momentums[i], self._velocities[i]
        alpha = self._step_size(dtype, learning_rate)
        m.assign(m.value + (gradient - m.value) * (1 - self.beta_1))
        v.assign(v.value + (ops.square(gradient) - v.value) * (1 - self.beta_2))
        v_used = v.value
        if self.amsgrad:
            v_hat = self._velocity_hats[i]
            v_hat.assign(ops.maximum(v_hat.value, v.value))
            v_used = v_hat.value
        variable.assign(variable.value - (m.value * alpha) / (ops.sqrt(v_used) + self.epsilon))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay (on by default)."""

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None,
                 loss_scale_factor=None, gradient_accumulation_steps=None, name=None, **kwargs):
        if weight_decay is None:
            raise ValueError("AdamW: argument `weight_decay` must be a float, got None.")
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, amsgrad=amsgrad, weight_decay=weight_decay,
                         clipnorm=clipnorm, clipvalue=clipvalue, global_clipnorm=global_clipnorm,
                         use_ema=use_ema, ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name,
                         **kwargs)
