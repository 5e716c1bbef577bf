"""FTRL-proximal with L1, L2 and L2-shrinkage regularization."""
from unikeras import ops
from unikeras.common import initializers
from unikeras.common.optimizers.base import Optimizer, base_arguments


class Ftrl(Optimizer):
    """Follow The Regularized Leader (McMahan et al.), as Keras computes it."""

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5, initial_accumulator_value=0.1,
                 l1_regularization_strength=0.0, l2_regularization_strength=0.0,
                 l2_shrinkage_regularization_strength=0.0, beta=0.0, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(**base_arguments(locals()))
        checks = (("initial_accumulator_value", initial_accumulator_value, "positive"),
                  ("learning_rate_power", -learning_rate_power, "negative"),
                  ("l1_regularization_strength", l1_regularization_strength, "positive"),
                  ("l2_regularization_strength", l2_regularization_strength, "positive"),
                  ("l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength,
                   "positive"))
        for arg, signed_value, sign in checks:
            if signed_value < 0.0:
                value = -signed_value if sign == "negative" else signed_value
                raise ValueError(f"Ftrl: `{arg}` needs to be {sign} or zero. Received: "
                                 f"{arg}={value}.")
        self.learning_rate_power = learning_rate_power
        self.initial_accumulator_value = initial_accumulator_value
        self.l1_regularization_strength = l1_regularization_strength
        self.l2_regularization_strength = l2_regularization_strength
        self.l2_shrinkage_regularization_strength = l2_shrinkage_regularization_strength
        self.beta = beta

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._accumulators, self._linears = self.add_optimizer_variables(
            var_list, ["accumulator", "linear"],
            initializer=[initializers.Constant(self.initial_accumulator_value), "zeros"])

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        i = self._get_variable_index(variable)
        accum, linear = self._accumulators[i], self._linears[i]
        power = -self.learning_rate_power
        l2_reg = self.l2_regularization_strength + self.beta / (2.0 * lr)
        grad_to_use = gradient + 2 * self.l2_shrinkage_regularization_strength * variable.value
        new_accum = accum.value + ops.square(gradient)
        linear.assign(linear.value + grad_to_use - (
            (ops.power(new_accum, power) - ops.power(accum.value, power)) / lr) * variable.value)
        quadratic = ops.power(new_accum, power) / lr + 2 * l2_reg
        l1 = self.l1_regularization_strength
        linear_clipped = ops.clip(linear.value, -l1, l1)
        variable.assign((linear_clipped - linear.value) / quadratic)
        accum.assign(new_accum)

    def get_config(self):
        return {**super().get_config(), "learning_rate_power": self.learning_rate_power,
                "initial_accumulator_value": self.initial_accumulator_value,
                "l1_regularization_strength": self.l1_regularization_strength,
                "l2_regularization_strength": self.l2_regularization_strength,
                "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
                "beta": self.beta}
