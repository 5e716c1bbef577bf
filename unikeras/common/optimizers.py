"""Optimizers written once with `unikeras.ops`; update formulas follow Keras 3 exactly so
that results match it numerically.

State (iteration count, learning rate, slots) lives in non-trainable Variables, so
`apply` works eagerly on any backend and `stateless_apply` runs the same code inside a
StatelessScope for compiled steps (`jax.jit`, `tf.function`).
"""
import inspect
import re
import warnings

import numpy as np

from unikeras import config
from unikeras import ops
from unikeras.common import dtypes, initializers, naming
from unikeras.common.ops import dispatch
from unikeras.common.variables import StatelessScope, Variable, in_stateless_scope, runtime


def _floor_div(x, k):
    """`x // k` for a non-negative integer tensor and a Python int (exact below 2**24)."""
    return ops.cast(ops.divide(x, k), dtypes.standardize_dtype(x.dtype))


def _is_schedule(lr):
    # Schedule objects (LearningRateSchedule and the like) take the step; plain
    # functions of no argument are called as they are, like Keras does.
    if not callable(lr) or isinstance(lr, Variable):
        return False
    if hasattr(lr, "get_config") and not inspect.isfunction(lr):
        return True
    try:
        return any(p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                   for p in inspect.signature(lr).parameters.values())
    except (TypeError, ValueError):
        return False


class Optimizer:
    """Base optimizer: subclasses create slots in `build` and implement `update_step`."""

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        if kwargs.pop("decay", None) is not None:
            warnings.warn("Argument `decay` is no longer supported and will be ignored.")
        if kwargs:
            raise ValueError(f"Argument(s) not recognized: {kwargs}")
        if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be "
                             f"set; got clipnorm={clipnorm}, clipvalue={clipvalue}, "
                             f"global_clipnorm={global_clipnorm}.")
        if gradient_accumulation_steps and not gradient_accumulation_steps >= 2:
            raise ValueError("`gradient_accumulation_steps` must be an integer >= 2, got "
                             f"{gradient_accumulation_steps}.")
        if use_ema:
            if not 0 <= ema_momentum <= 1:
                raise ValueError(f"`ema_momentum` must be in [0, 1], got {ema_momentum}.")
            if ema_overwrite_frequency and (not isinstance(ema_overwrite_frequency, int)
                                            or ema_overwrite_frequency < 1):
                raise ValueError("`ema_overwrite_frequency` must be an integer >= 1 or None, got "
                                 f"{ema_overwrite_frequency}.")
        self.name = name or naming.uniquify(naming.to_snake_case(type(self).__name__))
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.use_ema = use_ema
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self.built = False
        self._variables = []
        self._trainable_variables = []
        self._var_index = {}
        self._exclude_ids, self._exclude_pattern = set(), None

        if isinstance(learning_rate, int) and not isinstance(learning_rate, bool):
            learning_rate = float(learning_rate)
        if not (callable(learning_rate) or isinstance(learning_rate, float)):
            raise ValueError("`learning_rate` must be a float, a LearningRateSchedule or a "
                             f"callable; got {learning_rate!r}.")
        self._learning_rate = learning_rate
        self._create_base_variables(0, learning_rate)

    def _create_base_variables(self, iterations, learning_rate):
        """The iteration counter and (for a float rate) the learning-rate Variable, on the
        current backend. JAX counts in int32 (its default), the others in int64 as Keras."""
        int_dtype = "int32" if dispatch.current_backend() == "jax" else "int64"
        self._iterations = self.add_variable((), initializers.Constant(iterations),
                                             dtype=int_dtype, name="iteration")
        if not callable(learning_rate):
            self._learning_rate = self.add_variable(
                (), initializers.Constant(learning_rate), dtype=config.floatx(),
                name="learning_rate")

    def _move_to_current_backend(self):
        """An optimizer made before its model knows its backend: remake the base variables
        (keeping their values) on the backend the slots are about to be built on."""
        if self._iterations._backend == dispatch.current_backend():
            return
        lr = self._learning_rate
        lr = float(lr.numpy()) if isinstance(lr, Variable) else lr
        self._variables = []
        self._create_base_variables(int(self._iterations.numpy()), lr)

    # --- state --------------------------------------------------------------------------------
    def add_variable(self, shape, initializer="zeros", dtype=None, aggregation="none",
                     layout=None, name=None):
        """A non-trainable state Variable tracked in `self.variables`."""
        variable = Variable(initializers.get(initializer), shape=shape, dtype=dtype,
                            trainable=False, aggregation=aggregation, name=name)
        variable.path = f"{self.name}/{variable.name}"
        self._variables.append(variable)
        return variable

    def add_variable_from_reference(self, reference_variable, name=None, initializer="zeros"):
        """A slot with the shape and dtype of `reference_variable` (zeros by default)."""
        ref_name = getattr(reference_variable, "path", None) or str(reference_variable.name)
        ref_name = ref_name.replace("/", "_").replace(":", "_")
        return self.add_variable(tuple(reference_variable.shape), initializer,
                                 dtype=dtypes.standardize_dtype(reference_variable.dtype),
                                 name=f"{ref_name}_{name or 'var'}")

    def add_optimizer_variables(self, trainable_variables, name, initializer="zeros"):
        """One slot per variable for each name (interleaved per variable, as Keras orders
        them); returns a list, or a tuple of lists when `name` is a list."""
        names = [name] if isinstance(name, str) else list(name)
        slots = tuple([] for _ in names)
        for variable in trainable_variables:
            for i, n in enumerate(names):
                slots[i].append(None if getattr(variable, "overwrite_with_gradient", False)
                                else self.add_variable_from_reference(variable, n, initializer))
        return slots[0] if isinstance(name, str) else slots

    def build(self, variables):
        """Create the slots for `variables` (the model's trainable Variables)."""
        variables = list(variables)
        self._move_to_current_backend()
        if self.use_ema:
            self._model_variables_moving_average = self.add_optimizer_variables(
                variables, "average")
        if self.gradient_accumulation_steps:
            self._accumulated_gradients = [
                self.add_variable_from_reference(v, "gradient_accumulator") for v in variables]
        self._var_index = {id(v): i for i, v in enumerate(variables)}
        self._trainable_variables = variables
        self.built = True

    @property
    def variables(self):
        return list(self._variables)

    @property
    def iterations(self):
        """Number of optimizer steps taken (counting accumulated micro-batches as one)."""
        if self.gradient_accumulation_steps:
            return _floor_div(self._iterations.value, self.gradient_accumulation_steps)
        return self._iterations

    def _get_variable_index(self, variable):
        return self._var_index[id(variable)]

    # --- learning rate ------------------------------------------------------------------------
    @property
    def learning_rate(self):
        lr = self._learning_rate
        if isinstance(lr, Variable):
            return lr
        if _is_schedule(lr):
            return lr(self._iterations)
        return lr()

    @learning_rate.setter
    def learning_rate(self, value):
        if callable(value) and not isinstance(value, Variable):
            if isinstance(self._learning_rate, Variable):
                self._variables.remove(self._learning_rate)
            self._learning_rate = value
        elif isinstance(self._learning_rate, Variable):
            lr = self._learning_rate
            if isinstance(value, (int, float, np.ndarray, np.generic)):
                lr.assign(np.asarray(value, lr.dtype))   # storage of any backend takes NumPy
            else:
                lr.assign(ops.cast(value, lr.dtype))
        else:
            raise TypeError("This optimizer was created with a learning-rate schedule, so its "
                            "learning rate cannot be set to a number.")

    # --- applying gradients -------------------------------------------------------------------
    def apply_gradients(self, grads_and_vars):
        """Apply `(gradient, variable)` pairs; returns the iterations Variable."""
        grads, trainable_variables = zip(*grads_and_vars)
        self.apply(list(grads), list(trainable_variables))
        return self._iterations

    def apply(self, grads, trainable_variables=None):
        """Update `trainable_variables` (default: those given to `build`) with `grads`."""
        grads = list(grads)
        if not grads:
            return
        if trainable_variables is None:
            if not self.built:
                raise ValueError(f"Optimizer '{self.name}': pass the variables with the gradients, "
                                 "or call optimizer.build(trainable_variables) first.")
            if len(grads) != len(self._trainable_variables):
                raise ValueError(f"Optimizer '{self.name}' tracks {len(self._trainable_variables)} "
                                 f"variables but got {len(grads)} gradients.")
            trainable_variables = self._trainable_variables
        else:
            trainable_variables = list(trainable_variables)
            if len(grads) != len(trainable_variables):
                raise ValueError(f"Optimizer '{self.name}': got {len(grads)} gradients for "
                                 f"{len(trainable_variables)} variables.")
            if not self.built:
                self.build(trainable_variables)
            for v in trainable_variables:
                if id(v) not in self._var_index:
                    raise ValueError(f"Unknown variable {v}: optimizer '{self.name}' was built for "
                                     "other variables; create a new optimizer for new variables.")
        if in_stateless_scope():   # functional: let the caller differentiate through it
            self._apply(grads, trainable_variables)
        else:                      # eager: no autograd history for the updates
            with runtime(self._iterations._backend).no_grad():
                self._apply(grads, trainable_variables)

    def _apply(self, grads, trainable_variables):
        grads, trainable_variables = self._filter_empty_gradients(grads, trainable_variables)
        grads, trainable_variables = self._overwrite_with_gradients(grads, trainable_variables)
        if grads:
            if self.loss_scale_factor is not None:
                grads = [g / self.loss_scale_factor for g in grads]
            self._apply_gradients(grads, trainable_variables)
            self._apply_constraints(trainable_variables)
        self._iterations.assign(self._iterations.value + 1)

    @staticmethod
    def _apply_constraints(trainable_variables):
        """Project each updated variable that has a `constraint` (set by Layer.add_weight),
        as Keras does after every step; a plain assign, so it also runs in StatelessScopes."""
        for v in trainable_variables:
            constraint = getattr(v, "constraint", None)
            if constraint is not None:
                v.assign(constraint(v.value))

    def _apply_gradients(self, grads, trainable_variables):
        if self.gradient_accumulation_steps:
            steps = self.gradient_accumulation_steps
            is_update = self._is_every(self._iterations.value + 1, steps)
            accs = [self._accumulated_gradients[self._get_variable_index(v)]
                    for v in trainable_variables]
            summed = [ops.add(g, ops.cast(a.value, dtypes.standardize_dtype(g.dtype)))
                      for g, a in zip(grads, accs)]

            def update():
                self._update(self._clip_gradients([s / steps for s in summed]), trainable_variables)

            self._run_if(is_update, update)
            for a, s in zip(accs, summed):
                a.assign(ops.where(is_update, ops.zeros_like(a.value), ops.cast(s, a.dtype)))
        else:
            self._update(self._clip_gradients(grads), trainable_variables)
        if self.use_ema:
            self._update_moving_averages(self._trainable_variables)
            if self.ema_overwrite_frequency:
                self._run_if(self._is_every(self.iterations + 1, self.ema_overwrite_frequency),
                             lambda: self._overwrite_with_averages(self._trainable_variables))

    def _update(self, grads, trainable_variables):
        self._apply_weight_decay(trainable_variables)
        learning_rate = self.learning_rate
        for g, v in zip(grads, trainable_variables):
            self.update_step(g, v, learning_rate)

    def update_step(self, gradient, variable, learning_rate):
        """Update one variable (and its slots) from its gradient."""
        raise NotImplementedError(f"{type(self).__name__} must implement update_step().")

    @staticmethod
    def _is_every(step, k):
        """Boolean tensor: `step` is a multiple of `k`."""
        return ops.equal(step, ops.multiply(_floor_div(ops.convert_to_tensor(step), k), k))

    @staticmethod
    def _run_if(condition, fn):
        """Run `fn` (which assigns to Variables) but keep its assignments only where
        `condition` holds: a branch-free `cond` that works under jit and tf.function."""
        with StatelessScope() as scope:
            fn()
        for variable, new in scope.values.items():
            variable.assign(ops.where(condition, new, variable.value))

    # --- gradient processing --------------------------------------------------------------------
    def _filter_empty_gradients(self, grads, variables):
        kept = [(g, v) for g, v in zip(grads, variables) if g is not None]
        if not kept:
            raise ValueError(f"Optimizer '{self.name}': no gradients provided for any variable.")
        if len(kept) < len(grads):
            missing = [getattr(v, "path", getattr(v, "name", v))
                       for g, v in zip(grads, variables) if g is None]
            warnings.warn(f"Gradients do not exist for variables {missing} when minimizing the "
                          "loss. If using `model.compile()`, did you forget to provide a `loss`?")
        return [g for g, _ in kept], [v for _, v in kept]

    def _overwrite_with_gradients(self, grads, variables):
        """Variables flagged `overwrite_with_gradient` take the gradient as their new value."""
        if not any(getattr(v, "overwrite_with_gradient", False) for v in variables):
            return grads, variables
        kept_g, kept_v = [], []
        for g, v in zip(grads, variables):
            if not getattr(v, "overwrite_with_gradient", False):
                kept_g.append(g)
                kept_v.append(v)
            elif self.gradient_accumulation_steps:
                acc = self._accumulated_gradients[self._get_variable_index(v)]
                is_update = self._is_every(self._iterations.value + 1,
                                           self.gradient_accumulation_steps)
                biggest = ops.maximum(g, acc.value)
                v.assign(ops.where(is_update, biggest, v.value))
                acc.assign(ops.where(is_update, ops.zeros_like(biggest), biggest))
            else:
                v.assign(g)
        return kept_g, kept_v

    def _clip_gradients(self, grads):
        if self.clipnorm and self.clipnorm > 0:
            return [self._clip_by_norm(g) for g in grads]
        if self.global_clipnorm and self.global_clipnorm > 0:
            return clip_by_global_norm(grads, self.global_clipnorm)
        if self.clipvalue and self.clipvalue > 0:
            return [ops.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        return grads

    def _clip_by_norm(self, values):
        l2sum = ops.sum(ops.square(values), keepdims=True)
        positive = ops.greater(l2sum, 0)
        # Double `where` keeps the gradient of sqrt finite at 0.
        safe = ops.where(positive, l2sum, ops.ones_like(l2sum))
        l2norm = ops.where(positive, ops.sqrt(safe), l2sum)
        return ops.multiply(values, self.clipnorm) / ops.maximum(l2norm, self.clipnorm)

    # --- weight decay and moving averages -------------------------------------------------------
    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Variables (or name patterns) that weight decay leaves alone."""
        if self.built:
            raise ValueError("exclude_from_weight_decay() must be called before the optimizer "
                             "is built.")
        self._exclude_ids = {id(v) for v in var_list or ()}
        self._exclude_pattern = re.compile("|".join(set(var_names))) if var_names else None

    def _use_weight_decay(self, variable):
        if id(variable) in self._exclude_ids:
            return False
        return not (self._exclude_pattern is not None
                    and self._exclude_pattern.search(variable.name) is not None)

    def _apply_weight_decay(self, variables):
        if self.weight_decay is None:
            return
        for v in variables:
            if self._use_weight_decay(v):
                lr = ops.cast(self.learning_rate, v.dtype)
                wd = ops.cast(self.weight_decay, v.dtype)
                v.assign(v.value - v.value * wd * lr)

    def _update_moving_averages(self, variables):
        not_first = ops.not_equal(self.iterations, 0)   # the first step copies the variable
        for v, average in zip(variables, self._model_variables_moving_average):
            if average is not None:
                momentum = ops.cast(not_first, v.dtype) * self.ema_momentum
                average.assign(momentum * average.value + (1 - momentum) * v.value)

    def _overwrite_with_averages(self, variables):
        if len(variables) != len(self._model_variables_moving_average):
            raise ValueError(f"Got {len(variables)} variables but the optimizer holds "
                             f"{len(self._model_variables_moving_average)} moving averages.")
        for v, average in zip(variables, self._model_variables_moving_average):
            if average is not None:
                v.assign(average.value)

    def finalize_variable_values(self, var_list):
        """With `use_ema`, set the variables to their moving averages (end of training)."""
        if self.use_ema:
            self._overwrite_with_averages(var_list)

    # --- functional API -----------------------------------------------------------------------
    def stateless_apply(self, optimizer_variables, grads, trainable_variables):
        """Pure version of `apply`: from optimizer and trainable *values*, return
        `(new_trainable_values, new_optimizer_values)`; no storage is touched."""
        if not self.built:
            raise ValueError(f"Optimizer '{self.name}' must be built before stateless_apply: "
                             "call optimizer.build(trainable_variables).")
        if len(optimizer_variables) != len(self._variables):
            raise ValueError(f"Optimizer '{self.name}': expected {len(self._variables)} optimizer "
                             f"variable values, got {len(optimizer_variables)}.")
        if len(trainable_variables) != len(self._trainable_variables):
            raise ValueError(f"Optimizer '{self.name}' was built with "
                             f"{len(self._trainable_variables)} variables, got "
                             f"{len(trainable_variables)} trainable values.")
        mapping = dict(zip(self._trainable_variables, trainable_variables))
        mapping.update(zip(self._variables, optimizer_variables))
        with StatelessScope(mapping) as scope:
            self.apply(grads)
        return ([scope.values[v] for v in self._trainable_variables],
                [scope.values[v] for v in self._variables])

    def scale_loss(self, loss):
        """Multiply the loss by `loss_scale_factor` (gradients are divided back in apply)."""
        return loss if self.loss_scale_factor is None else loss * self.loss_scale_factor

    # --- saving -------------------------------------------------------------------------------
    def set_weights(self, weights):
        if not self.built:
            raise ValueError(f"Optimizer '{self.name}' is not built: call "
                             "optimizer.build(trainable_variables) before set_weights().")
        for v, w in zip(self._variables, weights):
            if tuple(v.shape) != tuple(w.shape):
                raise ValueError(f"Optimizer variable {v.path} has shape {v.shape}, got a weight "
                                 f"of shape {tuple(w.shape)}.")
            v.assign(w)

    def save_own_variables(self, store):
        for i, v in enumerate(self._variables):
            store[str(i)] = v.numpy()

    def load_own_variables(self, store):
        if len(store.keys()) != len(self._variables):
            warnings.warn(f"Skipping variable loading for optimizer '{self.name}': it has "
                          f"{len(self._variables)} variables, the saved one has "
                          f"{len(store.keys())}.", stacklevel=2)
            return
        for i, v in enumerate(self._variables):
            v.assign(store[str(i)])

    def get_config(self):
        lr = self._learning_rate
        if isinstance(lr, Variable):
            lr = float(lr.numpy())
        elif hasattr(lr, "get_config"):
            lr = {"module": "keras.optimizers.schedules", "class_name": type(lr).__name__,
                  "config": lr.get_config(), "registered_name": None}
        return {"name": self.name, "learning_rate": lr, "weight_decay": self.weight_decay,
                "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm,
                "clipvalue": self.clipvalue, "use_ema": self.use_ema,
                "ema_momentum": self.ema_momentum,
                "ema_overwrite_frequency": self.ema_overwrite_frequency,
                "loss_scale_factor": self.loss_scale_factor,
                "gradient_accumulation_steps": self.gradient_accumulation_steps}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = _deserialize_schedule(config["learning_rate"], custom_objects)
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


def _deserialize_schedule(config, custom_objects=None):
    name = config.get("class_name")
    if custom_objects and name in custom_objects:
        return custom_objects[name].from_config(config.get("config", {}))
    try:
        from unikeras.common import schedules
    except ImportError:
        raise ValueError(f"Cannot deserialize learning-rate schedule {name!r}.") from None
    return schedules.deserialize(config)


def global_norm(values):
    """sqrt of the sum of squares of all entries of all tensors."""
    total = None
    for v in values:
        if v is not None:
            s = ops.sum(ops.square(v))
            total = s if total is None else total + s
    return ops.sqrt(total)


def clip_by_global_norm(values, clip_norm):
    """Scale all tensors together so that their global norm is at most `clip_norm`."""
    norm = global_norm(values)
    scale = clip_norm * ops.minimum(1.0 / norm, 1.0 / clip_norm)
    scale = scale + (norm - norm)   # NaN when the norm is not finite, as Keras does
    return [None if v is None else v * ops.cast(scale, dtypes.standardize_dtype(v.dtype))
            for v in values]


class SGD(Optimizer):
    """Gradient descent with optional (Nesterov) momentum."""

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name,
                         **kwargs)
        if not isinstance(momentum, float) or not 0 <= momentum <= 1:
            raise ValueError(f"`momentum` must be a float between [0, 1], got {momentum!r}.")
        self.momentum = momentum
        self.nesterov = nesterov

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.momentums = (self.add_optimizer_variables(variables, "momentum")
                          if self.momentum else [])

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


class Adam(Optimizer):
    """Adam: per-parameter steps from bias-corrected first and second moment estimates."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None,
                 loss_scale_factor=None, gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name,
                         **kwargs)
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

    def _update(self, grads, trainable_variables):
        # The bias-corrected step size depends only on the step: compute it once per apply.
        self._step_sizes = {}
        try:
            super()._update(grads, trainable_variables)
        finally:
            self._step_sizes = None

    def _step_size(self, dtype, learning_rate):
        cache = getattr(self, "_step_sizes", None)
        if cache is not None and dtype in cache:
            return cache[dtype]
        step = ops.cast(self.iterations + 1, dtype)
        beta_1_power = ops.power(ops.cast(self.beta_1, dtype), step)
        beta_2_power = ops.power(ops.cast(self.beta_2, dtype), step)
        # Bias correction folded into the step size, as Keras does.
        alpha = ops.cast(learning_rate, dtype) * ops.sqrt(1 - beta_2_power) / (1 - beta_1_power)
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


class RMSprop(Optimizer):
    """RMSprop: steps scaled by a moving average of squared gradients (compile's default)."""

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None,
                 loss_scale_factor=None, gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name,
                         **kwargs)
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


ALL_OBJECTS_DICT = {c.__name__.lower(): c for c in (Optimizer, SGD, Adam, RMSprop)}


def serialize(optimizer):
    return {"module": "keras.optimizers", "class_name": type(optimizer).__name__,
            "config": optimizer.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    """An optimizer from its `serialize` dict (class names match case-insensitively)."""
    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or ALL_OBJECTS_DICT.get(name.lower())
    if cls is None or cls is Optimizer:
        raise ValueError(f"Unknown optimizer {name!r}; known: {sorted(ALL_OBJECTS_DICT)[1:]}.")
    return cls.from_config(config.get("config") or {})


def get(identifier):
    """An optimizer from a name ("sgd", "adam", ...), a config dict, a class or an instance."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = deserialize({"class_name": identifier, "config": {}})
    elif inspect.isclass(identifier) and issubclass(identifier, Optimizer):
        obj = identifier()
    else:
        obj = identifier
    if isinstance(obj, Optimizer):
        return obj
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}.")


__all__ = ["Optimizer", "SGD", "Adam", "RMSprop", "get", "serialize", "deserialize"]
