"""Muon: orthogonalized momentum (Newton-Schulz) for matrices, AdamW for the rest."""
import re

from unikeras import ops
from unikeras.common.optimizers.adam import bias_corrected_step_size
from unikeras.common.optimizers.base import Optimizer, base_arguments


def _swap_last_axes(x):
    order = list(range(len(x.shape)))
    order[-2], order[-1] = order[-1], order[-2]
    return ops.transpose(x, order)


class Muon(Optimizer):
    """Muon for 2-D variables (unless excluded), AdamW for every other variable."""

    def __init__(self, learning_rate=0.001, adam_beta_1=0.9, adam_beta_2=0.999,
                 adam_weight_decay=0.004, epsilon=1e-7, weight_decay=0.004, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, exclude_layers=None,
                 exclude_embeddings=True, muon_a=3.4445, muon_b=-4.7750, muon_c=2.0315,
                 adam_lr_ratio=1, momentum=0.95, ns_steps=5, nesterov=True, rms_rate=0.2,
                 **kwargs):
        super().__init__(**base_arguments(locals()))
        self.adam_beta_1 = adam_beta_1
        self.adam_beta_2 = adam_beta_2
        self.epsilon = epsilon
        self.muon_a = muon_a
        self.muon_b = muon_b
        self.muon_c = muon_c
        self.adam_lr_ratio = adam_lr_ratio
        self.momentum = momentum
        self.ns_steps = ns_steps
        self.nesterov = nesterov
        self.exclude_embeddings = exclude_embeddings
        self.exclude_layers = exclude_layers or []
        self.adam_weight_decay = adam_weight_decay
        self.rms_rate = rms_rate

    def _should_use_adamw(self, variable):
        if len(variable.shape) != 2:
            return True
        path = getattr(variable, "path", variable.name)
        if self.exclude_embeddings and "embedding" in path.lower():
            return True
        return any(re.search(pattern, path) for pattern in self.exclude_layers)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self.momentums = [None] * len(var_list)
        self.adam_velocities = [None] * len(var_list)
        for i, var in enumerate(var_list):
            if self._overwrite_variable_with_gradient(var):
                continue
            self.momentums[i] = self.add_variable_from_reference(var, "momentum")
            if self._should_use_adamw(var):
                self.adam_velocities[i] = self.add_variable_from_reference(var, "velocity")

    def update_step(self, gradient, variable, learning_rate):
        i = self._get_variable_index(variable)
        m, v = self.momentums[i], self.adam_velocities[i]
        if v is not None:
            self._adamw_step(gradient, variable, learning_rate * self.adam_lr_ratio, m, v)
        else:
            self._muon_step(gradient, variable, learning_rate, m)

    def _muon_step(self, gradient, variable, learning_rate, m):
        m.assign(m.value + (gradient + m.value * (self.momentum - 1)))
        direction = gradient + self.momentum * m.value if self.nesterov else m.value
        update = self.zeropower_via_newtonschulz5(direction, self.ns_steps)
        variable.assign(variable.value - self.lr_adjust(learning_rate * update))

    def _adamw_step(self, gradient, variable, learning_rate, m, v):
        dtype = variable.dtype
        gradient = ops.cast(gradient, dtype)
        alpha = bias_corrected_step_size(learning_rate, self.adam_beta_1, self.adam_beta_2,
                                         self.iterations + 1, dtype)
        m.assign(m.value + (gradient - m.value) * (1 - self.adam_beta_1))
        v.assign(v.value + (ops.square(gradient) - v.value) * (1 - self.adam_beta_2))
        variable.assign(variable.value - (m.value * alpha) / (ops.sqrt(v.value) + self.epsilon))

    def lr_adjust(self, x):
        """Scale a matrix update by `sqrt(max(n, m)) * rms_rate` (Moonlight), so that
        Muon can share Adam's learning rate and weight decay."""
        if self.rms_rate is None:
            return x
        return x * (float(max(x.shape[0], x.shape[1])) ** 0.5) * self.rms_rate

    def zeropower_via_newtonschulz5(self, x, steps):
        """Approximate orthogonalization `U V^T` of `x` by a quintic Newton-Schulz
        iteration on the (short side of the) matrix."""
        shape = tuple(x.shape)
        if len(shape) < 2:
            raise ValueError(f"Muon: expected a gradient or momentum of at least 2 dimensions; "
                             f"received shape={shape}.")
        a, b, c = self.muon_a, self.muon_b, self.muon_c
        tall = shape[-2] > shape[-1]
        if tall:
            x = _swap_last_axes(x)
        x = x / (ops.norm(x, axis=(-2, -1), keepdims=True) + 1e-7)
        for _ in range(steps):
            gram = ops.matmul(x, _swap_last_axes(x))
            poly = b * gram + ops.matmul(c * gram, gram)
            x = a * x + ops.matmul(poly, x)
        return _swap_last_axes(x) if tall else x

    def _apply_weight_decay(self, variables):
        for variable in variables:
            if not self._use_weight_decay(variable):
                continue
            decay = (self.adam_weight_decay if self._should_use_adamw(variable)
                     else self.weight_decay)
            if decay is None:
                continue
            wd = ops.cast(decay, variable.dtype)
            lr = ops.cast(self.learning_rate, variable.dtype)
            variable.assign(variable.value - variable.value * wd * lr)

    def get_config(self):
        return {**super().get_config(), "adam_beta_1": self.adam_beta_1,
                "adam_beta_2": self.adam_beta_2, "epsilon": self.epsilon,
                "exclude_layers": self.exclude_layers, "muon_a": self.muon_a,
                "muon_b": self.muon_b, "muon_c": self.muon_c,
                "adam_lr_ratio": self.adam_lr_ratio, "momentum": self.momentum,
                "ns_steps": self.ns_steps, "nesterov": self.nesterov,
                "exclude_embeddings": self.exclude_embeddings,
                "adam_weight_decay": self.adam_weight_decay, "rms_rate": self.rms_rate}
