"""Core layers: Dense, Activation, Dropout, Flatten."""
import importlib
import math

from unikeras.common import activations, initializers
from unikeras.common.layers.input_spec import InputSpec
from unikeras.common.layers.layer import Layer
from unikeras.common.ops import core, nn, numpy as onp
from unikeras.common.ops.random import dropout
from unikeras.common.seed_generator import SeedGenerator


_FAMILIES = ("initializers", "regularizers", "constraints")


def _serialize(obj):
    """Keras's config form of an initializer, regularizer or constraint (None, names and
    numbers stay as they are)."""
    if obj is None or isinstance(obj, (str, int, float, dict)):   # dict: already a config
        return obj
    for cls in type(obj).__mro__:
        family = cls.__module__.rpartition(".")[2]
        if cls.__module__ == f"unikeras.common.{family}" and family in _FAMILIES:
            return importlib.import_module(cls.__module__).serialize(obj)
    return {"module": type(obj).__module__, "class_name": type(obj).__name__,
            "config": obj.get_config(), "registered_name": getattr(obj, "_registered_name", None)}


def _check_quantization(layer, quantization_config):
    if quantization_config is not None:
        raise ValueError(f"{type(layer).__name__} '{layer.name}': quantization is not supported "
                         f"yet, got quantization_config={quantization_config!r}.")


class Dense(Layer):
    """`activation(inputs @ kernel + bias)` on the last axis; kernel is (in, units)."""

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 quantization_config=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if not isinstance(units, int) or units <= 0:
            raise ValueError(f"Dense '{self.name}': units must be a positive int, got {units!r}.")
        _check_quantization(self, quantization_config)
        self.supports_masking = True
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer
        self.kernel_constraint, self.bias_constraint = kernel_constraint, bias_constraint
        self.input_spec = InputSpec(min_ndim=2)

    def build(self, input_shape):
        in_dim = input_shape[-1]
        if in_dim is None:
            raise ValueError(f"Dense '{self.name}': the last dimension of the input must be known, "
                             f"got shape {tuple(input_shape)}.")
        self.kernel = self.add_weight(shape=(in_dim, self.units), initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        self.bias = self.add_weight(shape=(self.units,), initializer=self.bias_initializer,
                                    regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint, name="bias") if self.use_bias else None
        self.input_spec = InputSpec(min_ndim=2, axes={-1: in_dim})
        self.built = True

    def call(self, inputs):
        return self.activation(nn.dense(inputs, self.kernel, self.bias))

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": _serialize(self.kernel_initializer),
                "bias_initializer": _serialize(self.bias_initializer),
                "kernel_regularizer": _serialize(self.kernel_regularizer),
                "bias_regularizer": _serialize(self.bias_regularizer),
                "kernel_constraint": _serialize(self.kernel_constraint),
                "bias_constraint": _serialize(self.bias_constraint), "quantization_config": None}


class Activation(Layer):
    """Applies an activation function element-wise."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        return self.activation(inputs)

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


def concrete_noise_shape(layer, noise_shape, inputs):
    """`noise_shape` with its None entries taken from the shape of `inputs` (None: the
    inputs' own shape)."""
    if noise_shape is None:
        return None
    shape = core.shape(inputs)
    if len(noise_shape) != len(shape):
        raise ValueError(f"{type(layer).__name__} '{layer.name}': noise_shape "
                         f"{tuple(noise_shape)} must have the rank of the inputs, got input "
                         f"shape {tuple(shape)}.")
    return tuple(s if d is None else d for d, s in zip(noise_shape, shape))


class Dropout(Layer):
    """Zeroes a fraction `rate` of inputs during training, scaling the rest by 1/(1-rate).
    `noise_shape` shapes the keep/drop pattern (broadcast over the input); its None entries
    take the input's size on that axis."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate <= 1:
            raise ValueError(f"Dropout '{self.name}': rate must be in [0, 1], got {rate}.")
        self.rate, self.noise_shape, self.seed = rate, noise_shape, seed
        self.seed_generator = SeedGenerator(seed) if rate > 0 else None
        self.supports_masking = True
        self.built = True

    def call(self, inputs, training=False):
        if training and self.rate > 0:
            return dropout(inputs, self.rate, self._noise_shape(inputs), seed=self.seed_generator)
        return inputs

    def _noise_shape(self, inputs):
        return concrete_noise_shape(self, self.noise_shape, inputs)

    def compute_output_spec(self, inputs, training=False):
        return inputs

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed,
                "noise_shape": self.noise_shape}


class Flatten(Layer):
    """Collapses all but the batch axis into one."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format or "channels_last"
        self.built = True

    def call(self, inputs):
        rest = tuple(core.shape(inputs)[1:])
        if self.data_format == "channels_first" and len(rest) > 1:
            inputs = onp.transpose(inputs, (0,) + tuple(range(2, len(rest) + 1)) + (1,))
        if any(d is None for d in rest):
            raise ValueError(f"Flatten '{self.name}': non-batch dimensions must be known, "
                             f"got shape {core.shape(inputs)}.")
        return onp.reshape(inputs, (-1, math.prod(rest)))

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}
