"""`JaxLayer` and `FlaxLayer`: jax functions and flax modules (nnx or linen) as unikeras
layers, for models on the jax backend (the reverse of `to_flax`).

Each array leaf of the wrapped parameters becomes a trainable unikeras weight, each leaf of
the state a non-trainable one (named by its pytree path, `linear.kernel`); the call rebuilds
the pytrees from the values the layer's variables hold *now*, so the layer computes on
tracers inside compiled steps (`model.fit` on jax) and returns new state as assignments.
PRNG key leaves (an nnx `Rngs` stream) are kept as their raw key data. The call runs user
code, so it never enters a recorded tape (`unikeras.common.ops.tape`).
"""
import functools
import inspect

import jax
import numpy as np

from unikeras.common.layers.arguments import describe
from unikeras.common.layers.layer import Layer
from unikeras.common.ops import dispatch
from unikeras.common.saving import serialization
from unikeras.common.seed_generator import SeedGenerator
from unikeras.common.symbolic import KerasTensor
from unikeras.common.variables import StatelessScope

_CALL_ARGS = ("params", "state", "rng", "inputs", "training")


def _require_jax(layer, backend):
    if backend != "jax":
        raise ValueError(f"{describe(layer)}: wraps jax code, so it runs only on the jax backend; "
                         f"got the {backend!r} backend (call it on jax arrays, or set "
                         "unikeras.config.set_backend('jax')).")


def _arg_names(layer, fn, what):
    if not callable(fn):
        raise TypeError(f"{describe(layer)}: `{what}` must be callable, got {fn!r}.")
    return set(inspect.signature(fn).parameters)


def _leaf_name(path):
    """`linear.kernel` from a pytree key path (nnx's trailing `.value` left out)."""
    parts = []
    for key in path:
        for attr in ("key", "name", "idx"):
            if hasattr(key, attr):
                parts.append(str(getattr(key, attr)))
                break
    if len(parts) > 1 and isinstance(path[-1], jax.tree_util.GetAttrKey) and parts[-1] == "value":
        parts.pop()
    return ".".join(parts) or "value"


def _is_key(leaf):
    return jax.dtypes.issubdtype(getattr(leaf, "dtype", np.float32), jax.dtypes.prng_key)


class _TrackedTree:
    """One pytree (params or state) held as unikeras variables, one per array leaf."""

    def __init__(self, layer, tree, trainable):
        leaves, self.treedef = jax.tree_util.tree_flatten_with_path(tree)
        self.key_impls = [jax.random.key_impl(leaf) if _is_key(leaf) else None
                          for _, leaf in leaves]
        self.variables = []
        for (path, leaf), impl in zip(leaves, self.key_impls):
            value = np.asarray(jax.random.key_data(leaf) if impl is not None else leaf)
            self.variables.append(layer.add_weight(
                shape=value.shape, initializer=lambda shape, dtype, v=value: v,
                dtype=str(value.dtype), trainable=trainable, autocast=False,
                name=_leaf_name(path)))

    def tree(self):
        """The pytree rebuilt from the variables' current values (tracers inside steps)."""
        leaves = [v.value if impl is None else jax.random.wrap_key_data(v.value, impl=impl)
                  for v, impl in zip(self.variables, self.key_impls)]
        return jax.tree_util.tree_unflatten(self.treedef, leaves)

    def assign(self, layer, tree):
        leaves, treedef = jax.tree_util.tree_flatten(tree)
        if treedef != self.treedef:
            raise ValueError(f"{describe(layer)}: the new state's structure {treedef} differs "
                             f"from the initial state's {self.treedef}.")
        for v, impl, leaf in zip(self.variables, self.key_impls, leaves):
            v.assign(leaf if impl is None else jax.random.key_data(leaf))


class JaxLayer(Layer):
    """A jax model given as functions, as Keras's `JaxLayer`.

    `call_fn` takes arguments named `params`, `inputs` and optionally `state`, `rng` (a raw
    `uint32[2]` PRNG key, fresh at each call, from `seed`) and `training`; with `state` it
    returns `(outputs, new_state)`. Weights come from `params` / `state`, or from
    `init_fn(rng, inputs[, training])` at build time (returning `params`, or `(params,
    state)` when `call_fn` takes `state`), called on zeros of the input shape (unknown dims
    as 1) in the layer's dtype."""

    def __init__(self, call_fn, init_fn=None, params=None, state=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        names = _arg_names(self, call_fn, "call_fn")
        if not {"params", "inputs"} <= names or not names <= set(_CALL_ARGS):
            raise ValueError(f"{describe(self)}: `call_fn` must take arguments named `params` "
                             f"and `inputs`, optionally `state`, `rng`, `training`; it takes "
                             f"{sorted(names)}.")
        if init_fn is None and params is None:
            raise ValueError(f"{describe(self)}: pass `init_fn` or `params`.")
        if init_fn is not None:
            _arg_names(self, init_fn, "init_fn")
        self.call_fn, self.init_fn, self.seed = call_fn, init_fn, seed
        self._call_args = names
        self.seed_generator = SeedGenerator(seed)
        self._params = self._state = None
        if params is not None:
            self._track(params, state)

    def _track(self, params, state):
        _require_jax(self, dispatch.current_backend())
        with dispatch.backend_scope("jax"):
            self._params = _TrackedTree(self, params, True)
            if "state" in self._call_args:
                self._state = _TrackedTree(self, state if state is not None else {}, False)
            self._allocate_deferred("jax")  # the seed state too, whatever the first inputs
        self.built = True

    def build(self, input_shape=None):
        _require_jax(self, dispatch.current_backend())
        if self._params is None:
            out = self._init(jax.tree.map(lambda s: np.zeros(s, self.dtype), _concrete(input_shape),
                                          is_leaf=_is_shape))
            params, state = out if "state" in self._call_args else (out, None)
            self._track(params, state)
        self.built = True

    def _init(self, inputs):
        names = _arg_names(self, self.init_fn, "init_fn")
        key = jax.random.PRNGKey(self.seed_generator.initial_seed)
        offered = {"rng": key, "inputs": inputs, "training": True}
        return self.init_fn(**{n: offered[n] for n in names if n in offered})

    def _rng(self):
        return jax.lax.bitcast_convert_type(self.seed_generator.next(), np.uint32)

    def call(self, inputs, training=None):
        leaf = jax.tree.leaves(inputs)
        if leaf and dispatch.backend_of_type(type(leaf[0])) not in (None, dispatch.WEAK, "jax"):
            _require_jax(self, dispatch.backend_of_type(type(leaf[0])))
        offered = {"params": self._params.tree(), "inputs": inputs, "training": bool(training)}
        if self._state is not None:
            offered["state"] = self._state.tree()
        if "rng" in self._call_args:
            offered["rng"] = self._rng()
        outputs = self.call_fn(**{n: offered[n] for n in self._call_args})
        if self._state is None:
            return outputs
        outputs, new_state = outputs
        self._state.assign(self, new_state)
        return outputs

    def compute_output_spec(self, inputs, training=None):
        """Output KerasTensors from `jax.eval_shape` at batch sizes 1 and 2: dims that differ
        are unknown (None)."""
        def shapes(unknown):
            structs = jax.tree.map(
                lambda t: jax.ShapeDtypeStruct(tuple(unknown if d is None else d for d in t.shape),
                                               t.dtype), inputs)
            with StatelessScope():  # seed/state assignments of the trace are dropped
                return jax.eval_shape(lambda x: self.call(x, training=False), structs)
        one, two = shapes(1), shapes(2)
        return jax.tree.map(lambda a, b: KerasTensor(
            tuple(None if da != db else da for da, db in zip(a.shape, b.shape)), str(a.dtype)),
            one, two)

    def get_config(self):
        """Functions are recorded by registered name only, never their code."""
        return {**super().get_config(), "call_fn": _function_name(self, self.call_fn),
                "init_fn": None if self.init_fn is None else _function_name(self, self.init_fn),
                "seed": self.seed}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        for key in ("call_fn", "init_fn"):
            if config.get(key) is not None:
                config[key] = _registered(cls, config[key], custom_objects)
        return super().from_config(config)


class FlaxLayer(JaxLayer):
    """A flax module inside a unikeras model, as Keras's `FlaxLayer`.

    - An `nnx.Module`: its `nnx.Param`s become trainable weights, its other variables
      (BatchStat, Rngs streams) non-trainable ones. Each call merges the module from the
      current values, calls it, and keeps its new state. With `training` given (fit: True,
      predict/evaluate: False), the call runs the merged copy in `.train()` / `.eval()`
      mode, unless the method takes `training` itself. Training updates the layer's
      weights, not the module object you passed: `sync_module()` (or reading `.module`)
      writes the current values into it.
    - A `flax.linen.Module`: `variables` (from `module.init`) or, when None, `module.init`
      at build time; the "params" collection is trainable, every other collection is
      mutable state. RNGs reach the module as the "params" and "dropout" streams.

    `method`: None (`__call__`), a method name, or a function `(module, inputs[, training])`.
    """

    def __init__(self, module, method=None, variables=None, **kwargs):
        from flax import linen, nnx
        self._module = module
        self.method = method
        if isinstance(module, nnx.Module):
            graphdef, params, state = nnx.split(module, nnx.Param, ...)
            self._nnx_graphdef = graphdef
            super().__init__(self._nnx_call, params=params, state=state, **kwargs)
        elif isinstance(module, linen.Module):
            collections = dict(variables) if variables is not None else None
            params = None if collections is None else collections.pop("params", {})
            super().__init__(self._linen_call, init_fn=self._linen_init, params=params,
                             state=collections, **kwargs)
        else:
            raise TypeError(f"FlaxLayer: `module` must be a flax.nnx.Module or a "
                            f"flax.linen.Module, got {type(module).__name__}.")

    def _method(self, module):
        if self.method is None:
            return module.__call__
        if isinstance(self.method, str):
            return getattr(module, self.method)
        return lambda *a, **k: self.method(module, *a, **k)

    def _takes_training(self, fn):
        try:
            return "training" in inspect.signature(fn).parameters
        except (TypeError, ValueError):
            return False

    def _nnx_call(self, params, state, inputs, training):
        from flax import nnx
        module = nnx.merge(self._nnx_graphdef, params, state)
        method = self._method(module)
        kwargs = {}
        if self._takes_training(method):
            kwargs["training"] = training
        elif self._training_given:
            module.train() if training else module.eval()
        outputs = method(inputs, **kwargs)
        return outputs, nnx.split(module, nnx.Param, ...)[2]

    def _linen_rngs(self, rng):
        params_rng, dropout_rng = jax.random.split(rng)
        return {"params": params_rng, "dropout": dropout_rng}

    def _linen_kwargs(self, training):
        method = self.method
        fn = getattr(type(self._module), method or "__call__") if not callable(method) else method
        return {"training": training} if self._takes_training(fn) else {}

    def _linen_init(self, rng, inputs):
        init = jax.jit(functools.partial(self._module.init, method=self.method,
                                         **self._linen_kwargs(True)))  # one compile, not one per op
        collections = dict(init(self._linen_rngs(rng), inputs))
        params = collections.pop("params", {})
        return params, collections

    def _linen_call(self, params, state, rng, inputs, training):
        variables = {"params": params, **state}
        outputs, mutated = self._module.apply(
            variables, inputs, rngs=self._linen_rngs(rng), method=self.method,
            mutable=list(state), **self._linen_kwargs(training))
        return outputs, {**state, **mutated}

    def call(self, inputs, training=None):
        self._training_given = training is not None
        return super().call(inputs, training=training)

    @property
    def module(self):
        """The wrapped module; an nnx module is first synced (see `sync_module`)."""
        return self.sync_module()

    def sync_module(self):
        """Write the layer's current weights and state into the wrapped nnx module (after
        `fit`, say) and return it; a linen module holds no values and is returned as is."""
        from flax import nnx
        if isinstance(self._module, nnx.Module) and self._params is not None:
            nnx.update(self._module, self._params.tree(), self._state.tree())
        return self._module

    def get_config(self):
        """The module is recorded by class only (never pickled): `from_config` takes the
        module from `custom_objects` under that class name (an instance, or a zero-argument
        callable making one)."""
        module_class = type(self._module)
        config = Layer.get_config(self)
        config["module"] = {"module": module_class.__module__, "class_name": module_class.__name__}
        config["method"] = self.method if self.method is None or isinstance(self.method, str) \
            else _function_name(self, self.method)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        name = config["module"]["class_name"]
        module = (custom_objects or {}).get(name)
        if module is None:
            raise ValueError(f"FlaxLayer.from_config: configs never hold the module itself; pass "
                             f"custom_objects={{{name!r}: <the {name} module>}}.")
        from flax import linen, nnx
        config["module"] = module if isinstance(module, (nnx.Module, linen.Module)) else module()
        return super().from_config(config)


def _function_name(layer, fn):
    name = serialization.get_registered_name(fn)
    if not name or name == "<lambda>":
        raise ValueError(f"{describe(layer)}: cannot serialize {fn!r}: configs record functions "
                         "by registered name only, never their code; use a named function "
                         "decorated with unikeras.saving.register_keras_serializable().")
    return name


def _registered(cls, name, custom_objects):
    fn = serialization.get_registered_object(name, custom_objects)
    if fn is None:
        raise ValueError(f"{cls.__name__}.from_config: unknown function {name!r}; pass it in "
                         "custom_objects or register it with register_keras_serializable.")
    return fn


def _is_shape(value):
    return isinstance(value, (tuple, list)) and all(d is None or isinstance(d, int) for d in value)


def _concrete(input_shape):
    """`input_shape` (a shape or a structure of shapes) with unknown dims as 1."""
    if _is_shape(input_shape):
        return tuple(1 if d is None else d for d in input_shape)
    return jax.tree.map(_concrete, input_shape, is_leaf=_is_shape)
