"""Core layers beyond Dense: EinsumDense, Identity, Lambda, Masking, Wrapper."""
import inspect
import re

from unikeras.common import activations, initializers
from unikeras.common.layers.arguments import describe
from unikeras.common.layers.core import _check_quantization, _serialize
from unikeras.common.layers.layer import Layer
from unikeras.common.ops import core, numpy as onp
from unikeras.common.symbolic import KerasTensor

__all__ = ["EinsumDense", "Identity", "Lambda", "Masking", "Wrapper"]

# "ab,bc->ac", "...b,bc->...c" (dims elided on the left) or "ab...,bc->ac..." (on the right).
_EQUATION = re.compile(r"^(\.\.\.)?([a-zA-Z]+)(\.\.\.)?,([a-zA-Z]+)->(\.\.\.)?([a-zA-Z]+)(\.\.\.)?$")


class _EinsumPlan:
    """The shapes an EinsumDense equation implies for one input shape."""

    def __init__(self, layer, equation, partial_output_shape, bias_axes, input_shape):
        match = _EQUATION.match(equation.replace(" ", ""))
        left_in, in_letters, right_in, kernel_letters, left_out, out_letters, right_out = (
            match.groups() if match else (None,) * 7)
        if not match or bool(left_in) != bool(left_out) or bool(right_in) != bool(right_out) or (
                left_in and right_in):
            raise ValueError(f"{describe(layer)}: equation {equation!r} is not of the form "
                             "'ab,bc->ac', '...b,bc->...c' or 'ab...,bc->ac...'.")
        rank = len(input_shape)
        elided = rank - len(in_letters)
        if elided < 0 or (elided and not (left_in or right_in)):
            raise ValueError(f"{describe(layer)}: equation {equation!r} expects inputs of rank "
                             f"{len(in_letters)}, got shape {tuple(input_shape)}.")
        in_offset = elided if left_in else 0
        sizes = {c: input_shape[in_offset + i] for i, c in enumerate(in_letters)}
        if left_in:
            prefix, suffix = list(input_shape[:max(elided, 1)]), []
        else:
            prefix = [input_shape[0]]
            suffix = list(input_shape[rank - elided:]) if right_in else []
        full = prefix + list(partial_output_shape) + suffix
        out_offset = len(prefix) if left_in else 0
        if len(full) != out_offset + len(out_letters) + (elided if right_in else 0):
            raise ValueError(f"{describe(layer)}: output_shape {partial_output_shape} does not "
                             f"fit the output '{out_letters}' of equation {equation!r}.")
        for i, c in enumerate(out_letters):
            given, known = full[out_offset + i], sizes.get(c)
            if given is not None and known is not None and given != known:
                raise ValueError(f"{describe(layer)}: output_shape gives {given} for dimension "
                                 f"'{c}', but the input has {known} there (input shape "
                                 f"{tuple(input_shape)}).")
            full[out_offset + i] = known if given is None else given
            sizes.setdefault(c, full[out_offset + i])
        self.output_shape = tuple(full)
        self.kernel_shape = tuple(self._known(layer, sizes, c, equation) for c in kernel_letters)
        self.bias_shape = None
        if bias_axes is not None:
            missing = [c for c in bias_axes if c not in out_letters]
            if missing:
                raise ValueError(f"{describe(layer)}: bias_axes {bias_axes!r} name dimensions "
                                 f"{missing} that are not in the output '{out_letters}'.")
            first = min(out_letters.index(c) for c in bias_axes)
            bias_dims = tuple(self._known(layer, sizes, c, equation) if c in bias_axes else 1
                              for c in out_letters[first:])
            self.bias_shape = bias_dims + (1,) * (elided if right_in else 0)

    @staticmethod
    def _known(layer, sizes, letter, equation):
        if letter not in sizes:
            raise ValueError(f"{describe(layer)}: dimension '{letter}' of the kernel in equation "
                             f"{equation!r} is neither in the input nor in the output.")
        if sizes[letter] is None:
            raise ValueError(f"{describe(layer)}: the size of dimension '{letter}' must be known "
                             "(from the input shape or output_shape) to build the weights.")
        return sizes[letter]


class EinsumDense(Layer):
    """A dense layer written as an einsum between the input and a kernel, e.g.
    `EinsumDense("abc,cde->abde", output_shape=(None, 4, 5), bias_axes="de")`."""

    def __init__(self, equation, output_shape, activation=None, bias_axes=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, quantization_config=None, **kwargs):
        super().__init__(**kwargs)
        _check_quantization(self, quantization_config)
        self.equation = equation
        self.partial_output_shape = (tuple(output_shape) if isinstance(output_shape, (list, tuple))
                                     else (output_shape,))
        self.activation = activations.get(activation)
        self.bias_axes = bias_axes
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer
        self.kernel_constraint, self.bias_constraint = kernel_constraint, bias_constraint

    def build(self, input_shape):
        plan = _EinsumPlan(self, self.equation, self.partial_output_shape, self.bias_axes,
                           tuple(input_shape))
        self.kernel = self.add_weight(shape=plan.kernel_shape, initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        self.bias = None if plan.bias_shape is None else self.add_weight(
            shape=plan.bias_shape, initializer=self.bias_initializer,
            regularizer=self.bias_regularizer, constraint=self.bias_constraint, name="bias")
        self.built = True

    def call(self, inputs, training=None):
        out = onp.einsum(self.equation, inputs, self.kernel)
        if self.bias is not None:
            out = onp.add(out, self.bias)
        return self.activation(out)

    def compute_output_shape(self, input_shape):
        return _EinsumPlan(self, self.equation, self.partial_output_shape, self.bias_axes,
                           tuple(input_shape)).output_shape

    def get_config(self):
        return {**super().get_config(), "output_shape": self.partial_output_shape,
                "equation": self.equation, "activation": activations.serialize(self.activation),
                "bias_axes": self.bias_axes,
                "kernel_initializer": _serialize(self.kernel_initializer),
                "bias_initializer": _serialize(self.bias_initializer),
                "kernel_regularizer": _serialize(self.kernel_regularizer),
                "bias_regularizer": _serialize(self.bias_regularizer),
                "activity_regularizer": _serialize(self.activity_regularizer),
                "kernel_constraint": _serialize(self.kernel_constraint),
                "bias_constraint": _serialize(self.bias_constraint), "quantization_config": None}


class Identity(Layer):
    """Returns its input unchanged (masks pass through)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        return inputs


# --- Lambda --------------------------------------------------------------------------------------
def _function_config(layer, fn, what):
    """A function as Keras's name-only config; code itself is never serialized."""
    name = getattr(fn, "_registered_name", None) or getattr(fn, "__name__", None)
    if name is None or name == "<lambda>":
        raise ValueError(f"{describe(layer)}: cannot serialize its `{what}` {fn!r}: configs "
                         "record functions by name only, never their code. Use a named function "
                         "decorated with unikeras.saving.register_keras_serializable().")
    return {"module": "builtins", "class_name": "function", "config": name,
            "registered_name": "function"}


def _function_from_config(config, custom_objects, what):
    """The function a config names: from custom_objects, the registry or the activations."""
    from unikeras.common.saving import serialization
    if isinstance(config, dict):
        if config.get("class_name") == "__lambda__":
            raise ValueError(f"Lambda: the config's `{what}` holds Python bytecode; loading it "
                             "would run code from the file, which unikeras refuses. Register the "
                             "function by name (register_keras_serializable) and save it again.")
        config = config.get("config")
    if not isinstance(config, str):
        raise ValueError(f"Lambda: cannot read `{what}` from config {config!r}.")
    for table in (custom_objects or {}, serialization._registered):
        if config in table:
            return table[config]
    try:
        return activations.get(config)
    except ValueError:
        raise ValueError(f"Lambda: unknown function {config!r} for `{what}`; pass it in custom_"
                         "objects or register it with register_keras_serializable.") from None


def _takes(fn, name):
    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


class Lambda(Layer):
    """Wraps a function of the inputs as a layer. `arguments` are extra keyword arguments;
    the function receives `mask` / `training` if its signature names them. `output_shape`
    (without the batch dim, or a function of the input shape) skips tracing the function;
    `mask` (a tensor, or a function `(inputs, mask) -> mask`) gives the output mask."""

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"{describe(self)}: `function` must be callable, got {function!r}.")
        self.function = function
        self._output_shape = output_shape
        self.mask = mask
        self.arguments = dict(arguments or {})
        self.supports_masking = mask is not None
        self._fn_takes_mask = _takes(function, "mask")
        self._fn_takes_training = _takes(function, "training")
        self.built = True

    def call(self, inputs, mask=None, training=None):
        kwargs = dict(self.arguments)
        if self._fn_takes_mask:
            kwargs["mask"] = mask
        if self._fn_takes_training:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_mask(self, inputs, previous_mask=None):
        return self.mask(inputs, previous_mask) if callable(self.mask) else self.mask

    def compute_output_spec(self, inputs, mask=None, training=None):
        if self._output_shape is None:
            return self.call(inputs, mask=mask, training=training)
        if isinstance(inputs, (list, tuple)):
            shape, dtype = [core.shape(t) for t in inputs], inputs[0].dtype
        else:
            shape, dtype = core.shape(inputs), inputs.dtype
        return KerasTensor(self.compute_output_shape(shape), dtype)

    def compute_output_shape(self, input_shape):
        if self._output_shape is None:
            return super().compute_output_shape(input_shape)
        if callable(self._output_shape):
            return tuple(self._output_shape(input_shape))
        several = bool(input_shape) and isinstance(input_shape[0], (list, tuple))
        batch = input_shape[0][0] if several else input_shape[0]
        return (batch,) + tuple(self._output_shape)

    def get_config(self):
        config = {**super().get_config(),
                  "function": _function_config(self, self.function, "function")}
        if self._output_shape is not None:
            config["output_shape"] = (_function_config(self, self._output_shape, "output_shape")
                                      if callable(self._output_shape) else self._output_shape)
        if self.mask is not None:
            config["mask"] = (_function_config(self, self.mask, "mask") if callable(self.mask)
                              else self.mask)
        config["arguments"] = self.arguments
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["function"] = _function_from_config(config["function"], custom_objects, "function")
        for key in ("output_shape", "mask"):
            value = config.get(key)
            if isinstance(value, (dict, str)):
                config[key] = _function_from_config(value, custom_objects, key)
            elif isinstance(value, list):
                config[key] = tuple(value)
        return super().from_config(config)


class Masking(Layer):
    """Masks time steps whose features all equal `mask_value`: they become 0 and the output
    mask (batch, steps) marks them False for the layers downstream."""

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = mask_value
        self.supports_masking = True
        self.built = True

    def compute_mask(self, inputs, previous_mask=None):
        return onp.any(onp.not_equal(inputs, self.mask_value), axis=-1)

    def call(self, inputs):
        keep = onp.any(onp.not_equal(inputs, self.mask_value), axis=-1, keepdims=True)
        return onp.multiply(inputs, core.cast(keep, onp.dtype(inputs)))

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}


class Wrapper(Layer):
    """Base of layers that wrap another layer (`self.layer`): TimeDistributed and
    SpectralNormalization, as in Keras (whose Bidirectional is a plain Layer)."""

    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(layer, Layer):
            raise ValueError(f"{describe(self)}: `layer` must be a Layer instance, got "
                             f"{layer!r}.")
        self.layer = layer
        self.supports_masking = getattr(layer, "supports_masking", False)

    def build(self, input_shape=None):
        if not self.layer.built:
            self.layer.build(input_shape)
            self.layer.built = True
        self.built = True

    def get_config(self):
        from unikeras.common.saving.serialization import serialize_keras_object
        return {**super().get_config(), "layer": serialize_keras_object(self.layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from unikeras.common.saving.serialization import deserialize_keras_object
        config = dict(config)
        config["layer"] = deserialize_keras_object(config["layer"], custom_objects)
        return super().from_config(config)
