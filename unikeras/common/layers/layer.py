"""Layer: the base of every layer and model. Plain Python, no framework code.

`build()` declares weights with `add_weight`; `call()` computes with `unikeras.ops`.
The first call builds the layer (on the backend of its inputs); calls on KerasTensors
infer shapes and record graph nodes; `stateless_call` runs the layer on supplied values,
which is how adapters and compiled steps drive it.

Masks (as in Keras 3): a layer whose `call` declares `mask` receives the mask of its inputs
(a list of masks for a list of inputs) as `mask=`; `compute_mask(inputs, previous_mask)`
gives the mask of its outputs (by default the previous mask if `supports_masking`, else
None). How masks travel:
- inside Sequential and functional models, the graph carries them: each layer's output
  mask is computed with `compute_mask` and handed to the next layer's `call` (this holds on
  every backend and inside compiled steps and adapters);
- on KerasTensors, the output mask is attached as `_keras_mask` when the graph is built;
- between eager calls outside a model, masks travel explicitly (jax arrays cannot carry
  attributes, so no backend does it implicitly): `y = lstm(x, mask=emb.compute_mask(ids))`.

Losses: `add_loss(value)` during a call records a scalar; `losses` is what the layer tree
added during its last call (each outermost call starts afresh), then the penalty
`variable.regularizer(value)` of every trainable weight that has one. An
`activity_regularizer` adds `regularizer(output) / batch_size` after each call. Losses
are values of whatever the call ran on (tracers inside `jax.jit`/`tf.function` steps), and
weight penalties read the values of the innermost stateless scope, so both are
differentiable inside compiled steps.
"""
import importlib
import inspect

from unikeras.common import dtypes, initializers, naming, tree
from unikeras.common.ops import core as core_ops, dispatch, numpy as onp, tape
from unikeras.common.seed_generator import SeedGenerator
from unikeras.common.symbolic import KerasTensor, Node
from unikeras.common import variables as _variables
from unikeras.common.variables import StatelessScope, Variable, in_stateless_scope, in_tracing_scope

_training_stack = []  # `training` values passed explicitly by enclosing calls
_call_depth = 0       # how many layer calls are running (0: the next call is outermost)
_generation = 0       # count of outermost calls: losses of earlier ones are stale


def current_training():
    return _training_stack[-1] if _training_stack else None


def get_regularizer(identifier):
    """A regularizer (callable tensor -> scalar) from a name, config or callable."""
    return _resolve("regularizers", identifier)


def get_constraint(identifier):
    """A constraint (callable tensor -> tensor) from a name, config or callable."""
    return _resolve("constraints", identifier)


def _resolve(family, identifier):
    if identifier is None or callable(identifier):
        return identifier
    return importlib.import_module(f"unikeras.common.{family}").get(identifier)


class _TrackedList(list):
    """The list type of a layer's sublayers, variables, seed generators and states: every
    change is noted (`note_tracking_change`), so that cached variable lists see it."""


def _noting_change(name):
    method = getattr(list, name)

    def mutate(self, *args, **kwargs):
        _variables.note_tracking_change()
        return method(self, *args, **kwargs)
    mutate.__name__ = name
    return mutate


for _name in ("append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse",
              "__setitem__", "__delitem__", "__iadd__", "__imul__"):
    setattr(_TrackedList, _name, _noting_change(_name))

_TRACKED_LISTS = ("_layers", "_own_variables", "_seed_generators", "_own_states")


def _shape_of(x):
    if isinstance(x, (list, tuple)):
        return [_shape_of(i) for i in x]
    return tuple(None if d is None else int(d) for d in x.shape)


class Layer:
    """Base class of layers; see module docstring."""

    def __init__(self, *, activity_regularizer=None, trainable=True, dtype=None, autocast=True,
                 name=None, **kwargs):
        input_shape = kwargs.pop("input_shape", None)
        input_dim = kwargs.pop("input_dim", None)
        batch_size = kwargs.pop("batch_size", None)
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected keyword arguments {sorted(kwargs)}.")
        for attribute in _TRACKED_LISTS:
            object.__setattr__(self, attribute, _TrackedList())
        object.__setattr__(self, "_unallocated", False)
        object.__setattr__(self, "_losses", [])
        object.__setattr__(self, "_losses_generation", None)
        object.__setattr__(self, "_call_generation", None)
        self.name = name or naming.uniquify(naming.to_snake_case(type(self).__name__))
        self.trainable = trainable
        self.dtype_name = dtypes.standardize_dtype(dtype.get("config", {}).get("name")
                                                   if isinstance(dtype, dict) else dtype)
        self.autocast = autocast
        self.activity_regularizer = get_regularizer(activity_regularizer)
        self.built = False
        self.input_spec = None
        self.supports_masking = self._computes_mask()
        if input_dim is not None and input_shape is None:
            input_shape = (input_dim,)
        self._input_shape_arg = None if input_shape is None else (batch_size,) + tuple(input_shape)
        params = inspect.signature(self.call).parameters
        self._call_has_training = "training" in params
        self._call_has_mask = "mask" in params
        self._call_arg_names = [p for p in params if p not in ("training", "mask")]

    # --- attribute tracking -------------------------------------------------------------------
    def __setattr__(self, name, value):
        _variables.note_tracking_change()   # any attribute may change what the lists hold
        if name in _TRACKED_LISTS and type(value) is list:
            value = _TrackedList(value)
        if isinstance(value, Layer) and name != "_outer":
            if value is not self and value not in self._layers:
                self._layers.append(value)
        elif isinstance(value, (list, tuple)) and value and all(isinstance(v, Layer) for v in value):
            for v in value:
                if v not in self._layers:
                    self._layers.append(v)
        elif (isinstance(value, Variable) and value.path == value.name
              and not any(v is value for v in self._own_variables)):
            # a free Variable (not made by some layer's add_weight) becomes this layer's
            value.path = f"{self.name}/{value.name}"
            self._own_variables.append(value)
        elif isinstance(value, SeedGenerator) and value not in self._seed_generators:
            self._seed_generators.append(value)
            object.__setattr__(self, "_unallocated", True)
        object.__setattr__(self, name, value)

    def _set_untracked(self, **attributes):
        """Set attributes that hold layers without making them sublayers."""
        for name, value in attributes.items():
            object.__setattr__(self, name, value)

    @property
    def dtype(self):
        return self.dtype_name

    @property
    def variable_dtype(self):
        return self.dtype_name

    @property
    def compute_dtype(self):
        return self.dtype_name

    # --- weights --------------------------------------------------------------------------------
    def add_weight(self, shape=None, initializer=None, dtype=None, trainable=True, autocast=True,
                   regularizer=None, constraint=None, aggregation="none",
                   overwrite_with_gradient=False, name=None):
        """Create a Variable owned by this layer (initialized on the current backend)."""
        dtype = dtypes.standardize_dtype(dtype or self.dtype_name)
        if initializer is None:
            initializer = "glorot_uniform" if dtypes.is_float(dtype) else "zeros"
        variable = Variable(initializers.get(initializer), shape=tuple(shape or ()), dtype=dtype,
                            trainable=trainable, autocast=autocast, aggregation=aggregation,
                            name=name or f"variable_{len(self._own_variables)}")
        variable.path = f"{self.name}/{variable.name}"
        variable.regularizer = get_regularizer(regularizer)
        variable.constraint = get_constraint(constraint)
        self._own_variables.append(variable)
        return variable

    def add_state(self, shape, initializer="zeros", dtype=None, name="state"):
        """Create a non-trainable Variable that the layer carries from one call to the next
        (a stateful RNN's states), allocated on the backend of the first inputs.

        As in Keras, a state is no weight: it stays out of `weights`,
        `non_trainable_weights`, `get_weights()` and saved weights. It is part of
        `variables` / `non_trainable_variables` (unlike Keras), so `stateless_call`,
        compiled steps (jax.jit, tf.function) and adapters thread it and keep what the call
        assigns: each adapter hosts it natively as non-persistent state (a torch buffer
        outside `state_dict()`, an nnx `LayerState`, a non-trainable tf.Variable)."""
        variable = Variable(initializers.get(initializer), shape=tuple(shape or ()),
                            dtype=dtypes.standardize_dtype(dtype or self.dtype_name),
                            trainable=False, name=name, _deferred=True)
        variable.path = f"{self.name}/{name}"
        self._own_states.append(variable)
        object.__setattr__(self, "_unallocated", True)
        return variable

    def _cached_list(self, key, compute):
        """A fresh copy of the list `compute()` made, which is kept until the next
        `note_tracking_change` (training steps read these lists every step)."""
        cache = self.__dict__.get("_variable_lists")
        if cache is None or cache[0] != _variables.tracking_version:
            cache = (_variables.tracking_version, {})
            object.__setattr__(self, "_variable_lists", cache)
        found = cache[1].get(key)
        if found is None:
            found = cache[1][key] = compute()
        return list(found)

    @property
    def state_variables(self):
        """The states (`add_state`) of this layer and its sublayers."""
        return self._cached_list("state_variables", lambda: self._unique(
            list(self._own_states) + [v for layer in self._layers for v in layer.state_variables]))

    def _flat_layers(self):
        """This layer's sublayers, recursively, each once, in tracking order."""
        return self._cached_list("flat_layers", self._visit_layers)

    def _visit_layers(self):
        seen, out = set(), []

        def visit(layer):
            for sub in layer._layers:
                if id(sub) not in seen:
                    seen.add(id(sub))
                    out.append(sub)
                    visit(sub)
        visit(self)
        return out

    @staticmethod
    def _unique(variables):
        seen, out = set(), []
        for v in variables:
            if id(v) not in seen:
                seen.add(id(v))
                out.append(v)
        return out

    @property
    def trainable_weights(self):
        return self._cached_list("trainable_weights", self._trainable_weights)

    def _trainable_weights(self):
        if not self.trainable:
            return []
        own = [v for v in self._own_variables if v.trainable]
        return self._unique(own + [v for layer in self._layers for v in layer.trainable_weights])

    @property
    def non_trainable_weights(self):
        return self._cached_list("non_trainable_weights", self._non_trainable_weights)

    def _non_trainable_weights(self):
        if not self.trainable:
            return self.weights
        own = [v for v in self._own_variables if not v.trainable]
        return self._unique(own + [v for layer in self._layers for v in layer.non_trainable_weights])

    @property
    def weights(self):
        """Own weights (trainable first), then each sublayer's, as Keras orders them."""
        return self._cached_list("weights", self._weights)

    def _weights(self):
        own = [v for v in self._own_variables if v.trainable]
        own += [v for v in self._own_variables if not v.trainable]
        return self._unique(own + [v for layer in self._layers for v in layer.weights])

    @property
    def seed_variables(self):
        return self._cached_list("seed_variables", lambda: self._unique(
            [g.state for g in self._seed_generators]
            + [v for layer in self._layers for v in layer.seed_variables]))

    @property
    def trainable_variables(self):
        return self.trainable_weights

    @property
    def non_trainable_variables(self):
        """Non-trainable weights, then seed-generator states, then layer states."""
        return self._cached_list("non_trainable_variables", lambda: (
            self.non_trainable_weights + self.seed_variables + self.state_variables))

    @property
    def variables(self):
        return self._cached_list("variables", lambda: (
            self.weights + self.seed_variables + self.state_variables))

    @property
    def layers(self):
        return list(self._layers)

    def get_weights(self):
        """Weights as NumPy arrays, in `weights` order."""
        return [v.numpy() for v in self.weights]

    def set_weights(self, weights):
        """Assign NumPy arrays (in `weights` order); shapes must match exactly."""
        own = self.weights
        if len(weights) != len(own):
            raise ValueError(f"Layer '{self.name}': set_weights got {len(weights)} arrays, "
                             f"expected {len(own)} ({[v.path for v in own]}).")
        for v, w in zip(own, weights):
            if tuple(w.shape) != v.shape:
                raise ValueError(f"Layer '{self.name}': weight {v.path} has shape {v.shape}, "
                                 f"got an array of shape {tuple(w.shape)}.")
        for v, w in zip(own, weights):
            v.assign(dispatch.get_table(v.backend).convert_to_tensor(w, dtype=v.dtype))

    def count_params(self):
        """Number of scalars in all weights (the layer must be built)."""
        if not self.built:
            raise ValueError(f"Layer '{self.name}' is not built yet: call it or build() it first.")
        total = 0
        for v in self.weights:
            n = 1
            for d in v.shape:
                n *= d
            total += n
        return total

    # --- building -------------------------------------------------------------------------------
    def build(self, input_shape=None):
        """Create weights for inputs of `input_shape`; the default creates none."""
        self.built = True

    @staticmethod
    def _input_backend(args, kwargs):
        first = args[0] if args else next(iter(kwargs.values()))
        backend = dispatch.resolve_backend((first,), None)
        return first, dispatch.current_backend() if backend == dispatch.SYMBOLIC else backend

    def _maybe_build(self, args, kwargs):
        if self.built:
            return
        first, backend = self._input_backend(args, kwargs)
        shape = _shape_of(first)
        if self.input_spec is not None and not isinstance(shape, list):
            self.input_spec.check(self.name, shape)
        with dispatch.backend_scope(backend):
            self.build(shape)
        self.built = True
        self._allocate_deferred(backend)

    def _allocate_deferred(self, backend):
        """Give deferred state (seed generators, states) storage on the backend of the first inputs,
        unless a host (adapter, compiled step) supplies its values."""
        with dispatch.backend_scope(backend):
            for v in self.variables:
                if v._value is None and not in_stateless_scope():
                    v._allocate()
        object.__setattr__(self, "_unallocated", False)

    # --- calling --------------------------------------------------------------------------------
    def call(self, *args, **kwargs):
        raise NotImplementedError(f"Layer {type(self).__name__} does not implement call().")

    def __call__(self, *args, **kwargs):
        global _call_depth, _generation
        if not self.built:
            self._maybe_build(args, kwargs)
        elif self._unallocated:
            self._allocate_deferred(self._input_backend(args, kwargs)[1])
        training = kwargs.get("training")
        if self._call_has_training:
            if training is None:
                kwargs["training"] = current_training()
        elif "training" in kwargs:
            del kwargs["training"]
        if _has_keras_tensor(args, kwargs):
            return self._symbolic_call(args, kwargs)
        if not _call_depth and not in_tracing_scope():   # a traced call's counter would be
            _generation += 1                             # a guard: recompiles on every call
        self.__dict__["_call_generation"] = _generation   # not via __setattr__: hot path
        _call_depth += 1
        if training is not None:
            _training_stack.append(training)
        try:
            outputs = self.call(*args, **kwargs)
        finally:
            _call_depth -= 1
            if training is not None:
                _training_stack.pop()
        if self.activity_regularizer is not None:
            self._add_activity_losses(outputs)
        return outputs

    def _symbolic_call(self, args, kwargs):
        first = args[0] if args else None
        if self.input_spec is not None and isinstance(first, KerasTensor):
            self.input_spec.check(self.name, first.shape)
        mask = kwargs.get("mask")
        call_kwargs = kwargs
        if mask is None:
            mask = _symbolic_masks(first)
            if mask is not None and self._call_has_mask:
                call_kwargs = {**kwargs, "mask": mask}
        try:
            outputs = self.compute_output_spec(*args, **call_kwargs)
        except ValueError as e:
            shapes = [t.shape for t in tree.flatten((args, kwargs)) if isinstance(t, KerasTensor)]
            shapes = shapes[0] if len(shapes) == 1 else shapes
            raise ValueError(f"Layer '{self.name}' ({type(self).__name__}) cannot be called on "
                             f"input of shape {shapes}: {e}") from None
        outputs = tree.map_structure(lambda t: KerasTensor(t.shape, t.dtype, t.sparse), outputs)
        Node(self, args, kwargs, outputs)
        _attach_masks(outputs, self._output_mask(first, mask))
        return outputs

    # --- masking --------------------------------------------------------------------------------
    def compute_mask(self, inputs, previous_mask):
        """Mask of the outputs for `inputs` whose mask is `previous_mask`."""
        return previous_mask if self.supports_masking else None

    @classmethod
    def _computes_mask(cls):
        """True when the class defines its own `compute_mask`."""
        return cls.compute_mask is not Layer.compute_mask

    def _output_mask(self, inputs, previous_mask):
        """Mask of the outputs of the call that just ran on `inputs` (None: no mask)."""
        if previous_mask is None and not self._computes_mask():
            return None
        return self.compute_mask(inputs, previous_mask)

    def _call_and_mask(self, args, kwargs, mask):
        """How model graphs call a layer: `mask` (the mask of `args[0]`) goes to `call` as
        `mask=` unless one was passed explicitly; returns (outputs, output mask)."""
        if kwargs.get("mask") is not None:
            mask = kwargs["mask"]
        elif mask is not None and self._call_has_mask:
            kwargs = {**kwargs, "mask": mask}
        outputs = self(*args, **kwargs)
        return outputs, self._output_mask(args[0] if args else None, mask)

    # --- losses ---------------------------------------------------------------------------------
    def add_loss(self, loss):
        """Record a scalar loss (or a list of them) for the current call; see `losses`."""
        tape.refuse(f"layer '{self.name}' adds losses")  # a replay would not record them
        values = [v for v in tree.flatten(loss) if not isinstance(v, KerasTensor)]
        if self._losses_generation != _generation:
            object.__setattr__(self, "_losses", [])
            object.__setattr__(self, "_losses_generation", _generation)
        self._losses.extend(values)

    def _add_activity_losses(self, outputs):
        for out in tree.flatten(outputs):
            penalty = self.activity_regularizer(out)
            self.add_loss(onp.divide(penalty, _batch_size(out, onp.dtype(penalty))))

    def _own_losses(self, generation):
        if self._losses and (generation is None or self._losses_generation == generation):
            return list(self._losses)
        return []

    @property
    def losses(self):
        """Losses added by this layer and its sublayers during its last call, then the weight
        regularization penalties (computed now, from the current values)."""
        generation = self._call_generation
        out = self._own_losses(generation)
        for layer in self._flat_layers():
            out += layer._own_losses(generation)
        for v in self.trainable_weights:
            regularizer = getattr(v, "regularizer", None)
            if regularizer is not None:
                out.append(regularizer(v.value))
        return out

    def _clear_losses(self):
        """Forget the losses added by calls (a compiled step's values must not outlive it)."""
        for layer in [self] + self._flat_layers():
            if layer._losses:
                object.__setattr__(layer, "_losses", [])

    def compute_output_spec(self, *args, **kwargs):
        """Output KerasTensor(s) for KerasTensor inputs; default: trace `call` symbolically."""
        return self.call(*args, **kwargs)

    def compute_output_shape(self, input_shape):
        spec = self.compute_output_spec(KerasTensor(input_shape, self.compute_dtype))
        return tree.map_structure(lambda t: t.shape, spec)

    def stateless_call(self, trainable_variables, non_trainable_variables, *args,
                       return_losses=False, **kwargs):
        """Run the layer on the given variable values; returns (outputs, new non-trainable
        values). Nothing stored is read or changed."""
        trainable, non_trainable = self.trainable_variables, self.non_trainable_variables
        mapping = dict(zip(trainable, trainable_variables))
        mapping.update(zip(non_trainable, non_trainable_variables))
        with StatelessScope(mapping) as scope:
            outputs = self(*args, **kwargs)
            losses = self.losses if return_losses else None
        new_non_trainable = [scope.values[v] for v in non_trainable]
        if return_losses:
            self._clear_losses()
            return outputs, new_non_trainable, losses
        return outputs, new_non_trainable

    # --- config ---------------------------------------------------------------------------------
    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype_name}
        if self._input_shape_arg is not None:
            config["batch_input_shape"] = self._input_shape_arg
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        batch_input_shape = config.pop("batch_input_shape", None)
        if batch_input_shape is not None:
            config["input_shape"] = tuple(batch_input_shape[1:])
            config["batch_size"] = batch_input_shape[0]
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _batch_size(x, dtype):
    """Size of the first axis (a `dtype` tensor when only known at run time); 1 for scalars."""
    shape = core_ops.shape(x)
    if not shape:
        return 1
    if shape[0] is not None:
        return shape[0]
    first_column = onp.get_item(x, (slice(None),) + (0,) * (len(shape) - 1))
    return core_ops.cast(onp.size(first_column), dtype)


def _symbolic_masks(first):
    """The `_keras_mask` of a KerasTensor (a list for a list of them); None if none has one."""
    if isinstance(first, (list, tuple)):
        masks = [getattr(t, "_keras_mask", None) for t in first]
        return masks if any(m is not None for m in masks) else None
    return getattr(first, "_keras_mask", None)


def _attach_masks(outputs, masks):
    if masks is None:
        return
    for t, m in zip(tree.flatten(outputs), tree.flatten(masks)):
        if isinstance(t, KerasTensor) and m is not None:
            t._keras_mask = m


def _has_keras_tensor(args, kwargs):
    for a in args:
        if isinstance(a, KerasTensor) or (isinstance(a, (list, tuple)) and any(isinstance(i, KerasTensor) for i in a)):
            return True
    return any(isinstance(a, KerasTensor) for a in kwargs.values()) if kwargs else False
