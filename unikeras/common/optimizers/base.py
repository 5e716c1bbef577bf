"""The base Optimizer: state in backend Variables, gradient processing (clipping, loss
scaling, accumulation, weight decay, moving averages) and the stateful/stateless apply.

Subclasses create their slots in `build` and write one variable's update in
`update_step` with `unikeras.ops`. Eager updates on a backend whose runtime has
`optimizer_kernels` (torch) go through its multi-tensor kernel when the subclass names
one in `fused_kernel` and the step is a plain one (no StatelessScope).
"""
import inspect
import re
import warnings

import numpy as np

from unikeras import config
from unikeras import ops
from unikeras.common import dtypes, initializers, naming
from unikeras.common.ops import dispatch
from unikeras.common.optimizers import clipping
from unikeras.common.variables import StatelessScope, Variable, in_stateless_scope, runtime

BASE_ARGUMENTS = ("learning_rate", "weight_decay", "clipnorm", "clipvalue", "global_clipnorm",
                  "use_ema", "ema_momentum", "ema_overwrite_frequency", "loss_scale_factor",
                  "gradient_accumulation_steps", "name")


def base_arguments(arguments):
    """The base-class keyword arguments out of a subclass constructor's `locals()`."""
    return {**{k: arguments[k] for k in BASE_ARGUMENTS}, **arguments.get("kwargs", {})}


def floor_div(x, k):
    """`x // k` for a non-negative integer tensor and a Python int (exact below 2**24)."""
    return ops.cast(ops.divide(x, k), dtypes.standardize_dtype(x.dtype))


def is_schedule(lr):
    """Schedule objects take the step; plain functions of no argument are called as
    they are, like Keras does."""
    if not callable(lr) or isinstance(lr, Variable):
        return False
    if hasattr(lr, "get_config") and not inspect.isfunction(lr):
        return True
    try:
        return any(p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                   for p in inspect.signature(lr).parameters.values())
    except (TypeError, ValueError):
        return False


def _check_learning_rate(owner, learning_rate):
    if isinstance(learning_rate, bool):
        raise ValueError(f"{owner}: `learning_rate` must be a float, a LearningRateSchedule or "
                         f"a callable; got {learning_rate!r}.")
    if isinstance(learning_rate, (int, np.integer, np.floating)):
        learning_rate = float(learning_rate)
    if isinstance(learning_rate, float):
        if not np.isfinite(learning_rate):
            raise ValueError(f"{owner}: `learning_rate` must be a finite number; got "
                             f"{learning_rate!r}.")
        return learning_rate
    if callable(learning_rate):
        return learning_rate
    raise ValueError(f"{owner}: `learning_rate` must be a float, a LearningRateSchedule or a "
                     f"callable; got {learning_rate!r}.")


class Optimizer:
    """Base optimizer: subclasses create slots in `build` and implement `update_step`."""

    fused_kernel = None   # name of a runtime multi-tensor kernel with this exact formula

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        owner = type(self).__name__
        if kwargs.pop("decay", None) is not None:
            warnings.warn("Argument `decay` is no longer supported and will be ignored.")
        if kwargs:
            raise ValueError(f"{owner}: argument(s) not recognized: {kwargs}")
        clipping.check_clip_options(owner, clipnorm, clipvalue, global_clipnorm)
        if gradient_accumulation_steps is not None and not (
                isinstance(gradient_accumulation_steps, int) and gradient_accumulation_steps >= 2):
            raise ValueError(f"{owner}: `gradient_accumulation_steps` must be an integer >= 2, "
                             f"got {gradient_accumulation_steps!r}.")
        if use_ema:
            if not 0 <= ema_momentum <= 1:
                raise ValueError(f"{owner}: `ema_momentum` must be in [0, 1], got {ema_momentum}.")
            if ema_overwrite_frequency and (not isinstance(ema_overwrite_frequency, int)
                                            or ema_overwrite_frequency < 1):
                raise ValueError(f"{owner}: `ema_overwrite_frequency` must be an integer >= 1 "
                                 f"or None, got {ema_overwrite_frequency}.")
        self.name = name or naming.uniquify(naming.to_snake_case(owner))
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
        learning_rate = _check_learning_rate(owner, learning_rate)
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
        them); returns a list, or a tuple of lists when `name` is a list (`initializer`
        may then be a list too)."""
        names = [name] if isinstance(name, str) else list(name)
        inits = initializer if isinstance(initializer, (list, tuple)) else [initializer] * len(names)
        slots = tuple([] for _ in names)
        for variable in trainable_variables:
            for i, (n, init) in enumerate(zip(names, inits)):
                slots[i].append(None if self._overwrite_variable_with_gradient(variable)
                                else self.add_variable_from_reference(variable, n, init))
        return slots[0] if isinstance(name, str) else slots

    @staticmethod
    def _overwrite_variable_with_gradient(variable):
        return getattr(variable, "overwrite_with_gradient", False)

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
            return floor_div(self._iterations.value, self.gradient_accumulation_steps)
        return self._iterations

    def _get_variable_index(self, variable):
        return self._var_index[id(variable)]

    # --- learning rate ------------------------------------------------------------------------
    @property
    def learning_rate(self):
        lr = self._learning_rate
        if isinstance(lr, Variable):
            return lr
        if is_schedule(lr):
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
            raise TypeError(f"{type(self).__name__}: this optimizer was created with a "
                            "learning-rate schedule, so its learning rate cannot be set to a "
                            "number.")

    # --- applying gradients -------------------------------------------------------------------
    def apply_gradients(self, grads_and_vars):
        """Apply `(gradient, variable)` pairs; returns the iterations Variable."""
        grads, trainable_variables = zip(*grads_and_vars)
        self.apply(list(grads), list(trainable_variables))
        return self._iterations

    def _resolve_variables(self, grads, trainable_variables):
        """The variables the gradients belong to, building the optimizer on first use."""
        if trainable_variables is None:
            if not self.built:
                raise ValueError(f"Optimizer '{self.name}': pass the variables with the gradients, "
                                 "or call optimizer.build(trainable_variables) first.")
            if len(grads) != len(self._trainable_variables):
                raise ValueError(f"Optimizer '{self.name}' tracks {len(self._trainable_variables)} "
                                 f"variables but got {len(grads)} gradients.")
            return self._trainable_variables
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
        return trainable_variables

    def apply(self, grads, trainable_variables=None):
        """Update `trainable_variables` (default: those given to `build`) with `grads`."""
        grads = list(grads)
        if not grads:
            return
        trainable_variables = self._resolve_variables(grads, trainable_variables)
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
        """One optimizer step on already processed gradients."""
        learning_rate = self.learning_rate
        if self._fused_update(grads, trainable_variables, learning_rate):
            return
        self._apply_weight_decay(trainable_variables)
        for g, v in zip(grads, trainable_variables):
            self.update_step(g, v, learning_rate)

    def update_step(self, gradient, variable, learning_rate):
        """Update one variable (and its slots) from its gradient."""
        raise NotImplementedError(f"{type(self).__name__} must implement update_step().")

    # --- the multi-tensor fast path -----------------------------------------------------------
    def fused_slots(self):
        """Slot lists (one entry per built variable) the fused kernel updates, by name."""
        raise NotImplementedError(f"{type(self).__name__} names a fused kernel but does not "
                                  "define fused_slots().")

    def fused_hyperparameters(self):
        """The Python-number hyperparameters of the fused kernel."""
        return {}

    def _fused_update(self, grads, trainable_variables, learning_rate):
        """Run the backend's multi-tensor kernel in place; False when there is none."""
        if self.fused_kernel is None or in_stateless_scope():
            return False
        kernels = getattr(runtime(self._iterations._backend), "optimizer_kernels", None)
        if kernels is None:
            return False
        slot_variables, excluded = self._fused_lists(trainable_variables)
        slots = {name: [v.value for v in variables] for name, variables in slot_variables.items()}
        decayed = [self.weight_decay is not None and not x for x in excluded]
        lr = learning_rate.value if isinstance(learning_rate, Variable) else learning_rate
        step = self.iterations
        step = step.value if isinstance(step, Variable) else step
        return kernels.apply(self.fused_kernel, [v.value for v in trainable_variables], grads,
                             slots, lr, step, self.fused_hyperparameters(),
                             self.weight_decay, decayed)

    def _fused_lists(self, trainable_variables):
        """(slot Variables by name, excluded-from-weight-decay flags) aligned with
        `trainable_variables`; worked out once per list of variables, as the step repeats."""
        key = tuple(map(id, trainable_variables))
        cache = self.__dict__.setdefault("_fused_lists_cache", {})
        found = cache.get(key)
        if found is None:
            indices = [self._get_variable_index(v) for v in trainable_variables]
            slots = {name: [slot_list[i] for i in indices]
                     for name, slot_list in self.fused_slots().items()}
            found = cache[key] = (slots, [not self._use_weight_decay(v)
                                          for v in trainable_variables])
        return found

    # --- control flow without branches --------------------------------------------------------
    @staticmethod
    def _is_every(step, k):
        """Boolean tensor: `step` is a multiple of `k`."""
        return ops.equal(step, ops.multiply(floor_div(ops.convert_to_tensor(step), k), k))

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
        key = tuple(map(id, variables))
        flagged = self.__dict__.setdefault("_overwrite_cache", {})
        if key not in flagged:   # the flags are fixed when the variables are made
            flagged[key] = any(self._overwrite_variable_with_gradient(v) for v in variables)
        if not flagged[key]:
            return grads, variables
        kept_g, kept_v = [], []
        for g, v in zip(grads, variables):
            if not self._overwrite_variable_with_gradient(v):
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
        return clipping.clip_gradients(grads, self.clipnorm, self.clipvalue, self.global_clipnorm)

    # --- weight decay and moving averages -------------------------------------------------------
    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Variables (or name patterns) that weight decay leaves alone."""
        if self.built:
            raise ValueError(f"Optimizer '{self.name}': exclude_from_weight_decay() must be "
                             "called before the optimizer is built.")
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

    def _averages_of(self, variables):
        if len(variables) != len(self._model_variables_moving_average):
            raise ValueError(f"Optimizer '{self.name}': got {len(variables)} variables but it "
                             f"holds {len(self._model_variables_moving_average)} moving averages.")
        return zip(variables, self._model_variables_moving_average)

    def _overwrite_with_averages(self, variables):
        for v, average in self._averages_of(variables):
            if average is not None:
                v.assign(average.value)

    def swap_moving_averages(self, variables):
        """Exchange each variable's value with its moving average (SwapEMAWeights: evaluate
        or save with the averaged weights, then swap back)."""
        for v, average in self._averages_of(variables):
            if average is not None:
                current = ops.copy(v.value)   # torch assigns in place: keep a copy
                v.assign(average.value)
                average.assign(current)

    def finalize_variable_values(self, var_list):
        """With `use_ema`, set the variables to their moving averages (end of training)."""
        if self.use_ema:
            self._overwrite_with_averages(var_list)

    # --- functional API -----------------------------------------------------------------------
    def _check_stateless_arguments(self, optimizer_variables, trainable_variables):
        if not self.built:
            raise ValueError(f"Optimizer '{self.name}' must be built before stateless_apply: "
                             "call optimizer.build(trainable_variables).")
        if len(optimizer_variables) != len(self.variables):
            raise ValueError(f"Optimizer '{self.name}': expected {len(self.variables)} optimizer "
                             f"variable values, got {len(optimizer_variables)}.")
        if len(trainable_variables) != len(self._trainable_variables):
            raise ValueError(f"Optimizer '{self.name}' was built with "
                             f"{len(self._trainable_variables)} variables, got "
                             f"{len(trainable_variables)} trainable values.")

    def stateless_apply(self, optimizer_variables, grads, trainable_variables):
        """Pure version of `apply`: from optimizer and trainable *values*, return
        `(new_trainable_values, new_optimizer_values)`; no storage is touched."""
        self._check_stateless_arguments(optimizer_variables, trainable_variables)
        state = self.variables
        mapping = dict(zip(self._trainable_variables, trainable_variables))
        mapping.update(zip(state, optimizer_variables))
        with StatelessScope(mapping) as scope:
            self.apply(grads)
        return ([scope.values[v] for v in self._trainable_variables],
                [scope.values[v] for v in state])

    def scale_loss(self, loss):
        """Multiply the loss by `loss_scale_factor` (gradients are divided back in apply)."""
        return loss if self.loss_scale_factor is None else loss * self.loss_scale_factor

    # --- saving -------------------------------------------------------------------------------
    def set_weights(self, weights):
        if not self.built:
            raise ValueError(f"Optimizer '{self.name}' is not built: call "
                             "optimizer.build(trainable_variables) before set_weights().")
        for v, w in zip(self.variables, weights):
            if tuple(v.shape) != tuple(np.shape(w)):
                raise ValueError(f"Optimizer variable {v.path} has shape {v.shape}, got a weight "
                                 f"of shape {tuple(np.shape(w))}.")
            v.assign(w)

    def save_own_variables(self, store):
        for i, v in enumerate(self.variables):
            store[str(i)] = v.numpy()

    def load_own_variables(self, store):
        variables = self.variables
        if len(store.keys()) != len(variables):
            warnings.warn(f"Skipping variable loading for optimizer '{self.name}': it has "
                          f"{len(variables)} variables, the saved one has "
                          f"{len(store.keys())}.", stacklevel=2)
            return
        for i, v in enumerate(variables):
            v.assign(store[str(i)])

    def get_config(self):
        from unikeras.common.optimizers import schedules
        lr = self._learning_rate
        if isinstance(lr, Variable):
            lr = float(lr.numpy())
        elif isinstance(lr, schedules.LearningRateSchedule) or hasattr(lr, "get_config"):
            lr = schedules.serialize(lr)
        return {"name": self.name, "learning_rate": lr, "weight_decay": self.weight_decay,
                "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm,
                "clipvalue": self.clipvalue, "use_ema": self.use_ema,
                "ema_momentum": self.ema_momentum,
                "ema_overwrite_frequency": self.ema_overwrite_frequency,
                "loss_scale_factor": self.loss_scale_factor,
                "gradient_accumulation_steps": self.gradient_accumulation_steps}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from unikeras.common.optimizers import schedules
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"],
                                                            custom_objects)
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"
