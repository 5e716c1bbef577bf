"""Normalization layers: BatchNormalization, Layer/Group/RMS/Unit/SpectralNormalization.

Each layer computes through the fused normalization ops (`batch_normalization`, `moments`,
`layer_normalization`, `rms_normalization`, `normalize`), which the adapters map to their
framework's kernels. State that changes in training (BatchNormalization's moving
statistics, SpectralNormalization's `vector_u`) is non-trainable and updated with
`Variable.assign`, so a hosting adapter or compiled step receives it as a functional update.
"""
import numpy as np

from unikeras import config
from unikeras.common import dtypes, initializers
from unikeras.common.layers.arguments import describe
from unikeras.common.layers.core import _serialize
from unikeras.common.layers.core_extra import Wrapper
from unikeras.common.layers.input_spec import InputSpec
from unikeras.common.layers.layer import Layer
from unikeras.common.ops import core, neural, numpy as onp
from unikeras.common.symbolic import KerasTensor

__all__ = ["BatchNormalization", "LayerNormalization", "GroupNormalization", "RMSNormalization",
           "UnitNormalization", "SpectralNormalization"]


# --- helpers shared by the layers ------------------------------------------------------------
def _canonical_axes(layer, axis, shape):
    """`axis` (an int or a sequence of ints) as sorted non-negative axes of `shape`."""
    rank = len(shape)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    if not axes or any(not isinstance(a, int) or not -rank <= a < rank for a in axes):
        raise ValueError(f"{describe(layer)}: axis {axis!r} is out of bounds for inputs of "
                         f"shape {tuple(shape)}.")
    return tuple(sorted(a % rank for a in axes))


def _known_dims(layer, shape, axes):
    """The sizes of `shape` at `axes`, which must be known to create weights."""
    dims = tuple(shape[a] for a in axes)
    if any(d is None for d in dims):
        raise ValueError(f"{describe(layer)}: axes {list(axes)} of the input must have known "
                         f"sizes to create weights, got shape {tuple(shape)}.")
    return dims


def _expect_shape(layer, input_shape, axes):
    """Remember the rank and the weight-bearing sizes the layer was built for."""
    layer._expected = (len(input_shape), tuple((a, input_shape[a]) for a in axes))


def _check_shape(layer, inputs):
    """ValueError naming `layer` unless `inputs` has the rank and sizes it was built for
    (its weights would not fit, or the axes would mean other dims)."""
    shape = core.shape(inputs)
    rank, dims = layer._expected
    if len(shape) != rank or any(shape[a] not in (None, d) for a, d in dims):
        sizes = ", ".join(f"axis {a} of size {d}" for a, d in dims)
        raise ValueError(f"{describe(layer)}: expected inputs of rank {rank} with {sizes}, got "
                         f"shape {tuple(shape)}.")


def _float_dtype(dtype):
    return dtype if dtypes.is_float(dtype) else config.floatx()


def _same_spec(inputs):
    """Output spec of a layer that keeps the input shape (floats stay, ints become floatx)."""
    return KerasTensor(inputs.shape, _float_dtype(inputs.dtype))


def _broadcast_shape(rank, axes, dims):
    """Shape of a weight of sizes `dims` at `axes`, with 1 elsewhere (rank `rank`)."""
    shape = [1] * rank
    for a, d in zip(axes, dims):
        shape[a] = d
    return tuple(shape)


def _sqrt_of(initializer):
    """An initializer giving the square root of `initializer`'s values (standard deviations
    initialized from a variance initializer)."""
    return lambda shape, dtype=None: np.sqrt(initializer(shape, dtype))


class _AffineParams:
    """Mixin: the optional `gamma` (scale) and `beta` (center) weights of a normalization layer
    and their config entries."""

    def _init_affine(self, center, scale, beta_initializer, gamma_initializer,
                     beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint):
        self.center, self.scale = center, scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer, self.gamma_regularizer = beta_regularizer, gamma_regularizer
        self.beta_constraint, self.gamma_constraint = beta_constraint, gamma_constraint
        self.gamma = self.beta = None

    def _add_gamma(self, shape):
        self.gamma = self.add_weight(shape=shape, initializer=self.gamma_initializer,
                                     regularizer=self.gamma_regularizer,
                                     constraint=self.gamma_constraint, name="gamma")

    def _add_beta(self, shape):
        self.beta = self.add_weight(shape=shape, initializer=self.beta_initializer,
                                    regularizer=self.beta_regularizer,
                                    constraint=self.beta_constraint, name="beta")

    def _affine_config(self):
        return {"center": self.center, "scale": self.scale,
                "beta_initializer": _serialize(self.beta_initializer),
                "gamma_initializer": _serialize(self.gamma_initializer),
                "beta_regularizer": _serialize(self.beta_regularizer),
                "gamma_regularizer": _serialize(self.gamma_regularizer),
                "beta_constraint": _serialize(self.beta_constraint),
                "gamma_constraint": _serialize(self.gamma_constraint)}


# --- BatchNormalization ----------------------------------------------------------------------
_RENORM_KEYS = ("rmax", "rmin", "dmax")


class BatchNormalization(_AffineParams, Layer):
    """Normalizes along `axis` with the batch's moments in training (updating the moving
    mean and variance, non-trainable state) and with the moving statistics in inference.
    A frozen layer (`trainable=False`) always runs in inference mode, as in Keras. `mask`
    restricts the batch moments to the unmasked positions. `renorm` applies batch
    renormalization (Ioffe 2017): the batch-normalized values are corrected by the clipped,
    gradient-free factors r and d towards the renorm moving statistics."""

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, renorm=False, renorm_clipping=None, renorm_momentum=0.99,
                 synchronized=False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError(f"{describe(self)}: axis must be an int, got {axis!r}.")
        self.axis = axis
        self.momentum, self.epsilon = float(momentum), float(epsilon)
        self._init_affine(center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                          gamma_regularizer, beta_constraint, gamma_constraint)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.renorm, self.renorm_momentum = renorm, float(renorm_momentum)
        self.renorm_clipping = (self._check_renorm_clipping(renorm_clipping) if renorm
                                else renorm_clipping)
        self.synchronized = synchronized
        self.supports_masking = True

    def _check_renorm_clipping(self, clipping):
        clipping = dict(clipping or {})
        unknown = sorted(set(clipping) - set(_RENORM_KEYS))
        if unknown:
            raise ValueError(f"{describe(self)}: renorm_clipping accepts the keys "
                             f"{list(_RENORM_KEYS)}, got unknown keys {unknown}.")
        return clipping

    def build(self, input_shape):
        (axis,) = _canonical_axes(self, self.axis, input_shape)
        (channels,) = _known_dims(self, input_shape, (axis,))
        shape = (channels,)
        if self.scale:
            self._add_gamma(shape)
        if self.center:
            self._add_beta(shape)
        self.moving_mean = self._add_statistic("moving_mean", shape, self.moving_mean_initializer)
        self.moving_variance = self._add_statistic("moving_variance", shape,
                                                   self.moving_variance_initializer)
        if self.renorm:
            std_init = _sqrt_of(self.moving_variance_initializer)
            self.moving_stddev = self._add_statistic("moving_stddev", shape, std_init)
            self.renorm_mean = self._add_statistic("renorm_mean", shape,
                                                   self.moving_mean_initializer)
            self.renorm_stddev = self._add_statistic("renorm_stddev", shape, std_init)
        self._channel_axis = axis
        self._reduction_axes = tuple(a for a in range(len(input_shape)) if a != axis)
        _expect_shape(self, input_shape, (axis,))
        self.input_spec = InputSpec(ndim=len(input_shape), axes={axis: channels})
        self.built = True

    def _add_statistic(self, name, shape, initializer):
        return self.add_weight(shape=shape, initializer=initializer, trainable=False,
                               autocast=False, name=name)

    def call(self, inputs, training=None, mask=None):
        _check_shape(self, inputs)
        if training and self.trainable:
            mean, variance = self._batch_moments(inputs, mask)
            if self.renorm:
                return self._renormalize(inputs, mean, variance)
            self._update_moving(self.moving_mean, mean, self.momentum)
            self._update_moving(self.moving_variance, variance, self.momentum)
        else:
            mean, variance = self.moving_mean, self.moving_variance
        return neural.batch_normalization(inputs, mean, variance, axis=self._channel_axis,
                                          offset=self.beta, scale=self.gamma,
                                          epsilon=self.epsilon)

    def _batch_moments(self, inputs, mask):
        if mask is None:
            return neural.moments(inputs, self._reduction_axes)
        weights = self._mask_weights(inputs, mask)
        axes = self._reduction_axes
        count = onp.sum(onp.multiply(weights, onp.ones_like(inputs)), axis=axes, keepdims=True)
        mean = onp.divide_no_nan(onp.sum(onp.multiply(inputs, weights), axis=axes, keepdims=True),
                                 count)
        centered = onp.square(onp.subtract(inputs, mean))
        variance = onp.divide_no_nan(onp.sum(onp.multiply(centered, weights), axis=axes,
                                             keepdims=True), count)
        return onp.reshape(mean, (-1,)), onp.reshape(variance, (-1,))

    def _mask_weights(self, inputs, mask):
        """`mask` (the leading dims of the inputs) as float weights broadcastable to them."""
        in_shape, mask_shape = core.shape(inputs), core.shape(mask)
        if len(mask_shape) > len(in_shape) or any(
                m is not None and d is not None and m != d for m, d in zip(mask_shape, in_shape)):
            raise ValueError(f"{describe(self)}: mask of shape {tuple(mask_shape)} does not "
                             f"match inputs of shape {tuple(in_shape)}.")
        weights = core.cast(mask, _float_dtype(onp.dtype(inputs)))
        for _ in range(len(in_shape) - len(mask_shape)):
            weights = onp.expand_dims(weights, -1)
        return weights

    @staticmethod
    def _update_moving(variable, value, momentum):
        """variable <- variable * momentum + value * (1 - momentum), without gradient."""
        value = core.stop_gradient(value)
        variable.assign(onp.add(onp.multiply(variable, momentum),
                                onp.multiply(value, 1.0 - momentum)))

    def _renormalize(self, inputs, mean, variance):
        """Batch renormalization in training: x_hat * r + d with the correction factors held
        constant for the gradient, then the moving and renorm statistics updated."""
        stddev = onp.sqrt(onp.add(variance, self.epsilon))
        r = onp.divide(stddev, self.renorm_stddev)
        d = onp.divide(onp.subtract(mean, self.renorm_mean), self.renorm_stddev)
        clip = self.renorm_clipping
        if "rmax" in clip:
            r = onp.minimum(r, clip["rmax"])
        if "rmin" in clip:
            r = onp.maximum(r, clip["rmin"])
        if "dmax" in clip:
            d = onp.clip(d, -clip["dmax"], clip["dmax"])
        r, d = core.stop_gradient(r), core.stop_gradient(d)
        scale = r if self.gamma is None else onp.multiply(self.gamma, r)
        offset = d if self.gamma is None else onp.multiply(self.gamma, d)
        offset = offset if self.beta is None else onp.add(self.beta, offset)
        outputs = neural.batch_normalization(inputs, mean, variance, axis=self._channel_axis,
                                             offset=offset, scale=scale, epsilon=self.epsilon)
        self._update_moving(self.moving_mean, mean, self.momentum)
        self._update_moving(self.moving_stddev, stddev, self.momentum)
        self.moving_variance.assign(onp.subtract(onp.square(self.moving_stddev), self.epsilon))
        self._update_moving(self.renorm_mean, mean, self.renorm_momentum)
        self._update_moving(self.renorm_stddev, stddev, self.renorm_momentum)
        return outputs

    def compute_output_spec(self, inputs, training=None, mask=None):
        _check_shape(self, inputs)
        if mask is not None:
            self._mask_weights(inputs, mask)
        return _same_spec(inputs)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum,
                "epsilon": self.epsilon, **self._affine_config(),
                "moving_mean_initializer": _serialize(self.moving_mean_initializer),
                "moving_variance_initializer": _serialize(self.moving_variance_initializer),
                "synchronized": self.synchronized, "renorm": self.renorm,
                "renorm_clipping": self.renorm_clipping, "renorm_momentum": self.renorm_momentum}


# --- Layer / RMS / Unit normalization ------------------------------------------------------
def _axis_arg(axis):
    """Keras keeps an int axis as an int and a sequence as a list."""
    return list(axis) if isinstance(axis, (list, tuple)) else axis


class LayerNormalization(_AffineParams, Layer):
    """Normalizes each sample over `axis` (an int or a list) to zero mean and unit variance,
    then scales by `gamma` and shifts by `beta`. With `rms_scaling`, inputs are divided by
    sqrt(variance + epsilon) without centering and only `gamma` is applied (Keras's rule)."""

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 rms_scaling=False, **kwargs):
        super().__init__(**kwargs)
        self.axis = _axis_arg(axis)
        self.epsilon = float(epsilon)
        self.rms_scaling = rms_scaling
        self._init_affine(center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                          gamma_regularizer, beta_constraint, gamma_constraint)
        self.supports_masking = True

    def build(self, input_shape):
        self._axes = _canonical_axes(self, self.axis, input_shape)
        shape = _known_dims(self, input_shape, self._axes)
        if self.scale or self.rms_scaling:
            self._add_gamma(shape)
        if self.center and not self.rms_scaling:
            self._add_beta(shape)
        self._gamma_shape = _broadcast_shape(len(input_shape), self._axes, shape)
        _expect_shape(self, input_shape, self._axes)
        self.built = True

    def call(self, inputs):
        _check_shape(self, inputs)
        if self.rms_scaling:
            _, variance = neural.moments(inputs, self._axes, keepdims=True)
            scaled = onp.multiply(inputs, onp.rsqrt(onp.add(variance, self.epsilon)))
            return onp.multiply(scaled, onp.reshape(self.gamma, self._gamma_shape))
        return neural.layer_normalization(inputs, self.gamma, self.beta, axis=self._axes,
                                          epsilon=self.epsilon)

    def compute_output_spec(self, inputs):
        _check_shape(self, inputs)
        return _same_spec(inputs)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon,
                "rms_scaling": self.rms_scaling, **self._affine_config()}


class GroupNormalization(_AffineParams, Layer):
    """Splits the channels (`axis`) into `groups` and normalizes each sample's group over
    the group's channels and every other non-batch axis; `gamma`/`beta` are per channel.
    `groups=-1` makes one group per channel (instance normalization)."""

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(groups, bool) or not isinstance(groups, int) or (groups < 1 and groups != -1):
            raise ValueError(f"{describe(self)}: groups must be a positive int or -1, "
                             f"got {groups!r}.")
        self.groups, self.axis, self.epsilon = groups, axis, float(epsilon)
        self._init_affine(center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                          gamma_regularizer, beta_constraint, gamma_constraint)
        self.supports_masking = True

    def build(self, input_shape):
        (axis,) = _canonical_axes(self, self.axis, input_shape)
        if axis == 0:
            raise ValueError(f"{describe(self)}: axis {self.axis} is the batch axis of inputs of "
                             f"shape {tuple(input_shape)}.")
        (channels,) = _known_dims(self, input_shape, (axis,))
        groups = channels if self.groups == -1 else self.groups
        if groups > channels or channels % groups:
            raise ValueError(f"{describe(self)}: {channels} channels (axis {self.axis} of shape "
                             f"{tuple(input_shape)}) cannot be split into {groups} equal groups.")
        self.groups = groups
        if self.scale:
            self._add_gamma((channels,))
        if self.center:
            self._add_beta((channels,))
        rank = len(input_shape)
        self._channel_axis = axis
        self._split = (groups, channels // groups)
        # Axes of the grouped tensor (channel axis split in two) normalized together.
        self._group_axes = tuple(a for a in range(1, rank + 1) if a != axis)
        self._param_shape = _broadcast_shape(rank, (axis,), (channels,))
        self.input_spec = InputSpec(ndim=rank, axes={axis: channels})
        _expect_shape(self, input_shape, (axis,))
        self.built = True

    def call(self, inputs):
        _check_shape(self, inputs)
        shape = tuple(-1 if d is None else d for d in core.shape(inputs))
        a = self._channel_axis
        grouped = onp.reshape(inputs, (-1,) + shape[1:a] + self._split + shape[a + 1:])
        normalized = neural.layer_normalization(grouped, axis=self._group_axes,
                                                epsilon=self.epsilon)
        outputs = onp.reshape(normalized, (-1,) + shape[1:])
        if self.gamma is not None:
            outputs = onp.multiply(outputs, onp.reshape(self.gamma, self._param_shape))
        if self.beta is not None:
            outputs = onp.add(outputs, onp.reshape(self.beta, self._param_shape))
        return outputs

    def compute_output_spec(self, inputs):
        _check_shape(self, inputs)
        return _same_spec(inputs)

    def get_config(self):
        return {**super().get_config(), "groups": self.groups, "axis": self.axis,
                "epsilon": self.epsilon, **self._affine_config()}


class RMSNormalization(Layer):
    """x / sqrt(mean(x**2 over `axis`) + epsilon) * scale, `scale` a weight over `axis`."""

    def __init__(self, axis=-1, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.axis = list(axis) if isinstance(axis, (list, tuple)) else [axis]
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        self._axes = _canonical_axes(self, self.axis, input_shape)
        self.scale = self.add_weight(shape=_known_dims(self, input_shape, self._axes),
                                     initializer="ones", name="scale")
        _expect_shape(self, input_shape, self._axes)
        self.built = True

    def call(self, inputs):
        _check_shape(self, inputs)
        return neural.rms_normalization(inputs, self.scale, axis=self._axes, epsilon=self.epsilon)

    def compute_output_spec(self, inputs):
        _check_shape(self, inputs)
        return _same_spec(inputs)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon}


class UnitNormalization(Layer):
    """Scales each sample to unit L2 norm over `axis` (zero vectors stay zero)."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = _axis_arg(axis)
        self.supports_masking = True

    def build(self, input_shape):
        self._axes = _canonical_axes(self, self.axis, input_shape)
        self.built = True

    def call(self, inputs):
        return neural.normalize(inputs, axis=self._axes, order=2, epsilon=1e-12)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class SpectralNormalization(Wrapper):
    """Wraps a layer that has a `kernel` (or `embeddings`) and, in training, divides that
    kernel by its largest singular value, estimated by `power_iterations` steps of the power
    method from the non-trainable vector `vector_u` (updated each training call). The
    estimate of sigma treats u and v as constants, so gradients reach the raw kernel through
    kernel / sigma. Like Keras, the normalized kernel is assigned to the kernel variable;
    inside stateless calls (adapters, compiled steps) only `vector_u` persists, the kernel
    assignment applying to the call itself."""

    def __init__(self, layer, power_iterations=1, **kwargs):
        super().__init__(layer, **kwargs)
        if isinstance(power_iterations, bool) or not isinstance(power_iterations, int) \
                or power_iterations <= 0:
            raise ValueError(f"{describe(self)}: power_iterations must be a positive int, got "
                             f"{power_iterations!r}.")
        self.power_iterations = power_iterations

    def build(self, input_shape):
        if not self.layer.built:
            self.layer.build(input_shape)
            self.layer.built = True
        kernel = getattr(self.layer, "kernel", None)
        if kernel is None:
            kernel = getattr(self.layer, "embeddings", None)
        if kernel is None:
            raise ValueError(f"{describe(self)}: the wrapped layer {describe(self.layer)} has no "
                             "`kernel` nor `embeddings` weight to normalize.")
        self.kernel = kernel
        self.vector_u = self.add_weight(shape=(1, kernel.shape[-1]), dtype=kernel.dtype,
                                        initializer=initializers.TruncatedNormal(stddev=0.02),
                                        trainable=False, name="vector_u")
        self.built = True

    @property
    def weights(self):
        """Keras's order: the wrapped kernel, `vector_u`, then the wrapped layer's others."""
        if not self.built:
            return super().weights
        return self._unique([self.kernel] + super().weights)

    def call(self, inputs, training=False):
        if training:
            vector_u, kernel = self._normalized_weights()
            self.vector_u.assign(vector_u)
            self.kernel.assign(kernel)
        return self.layer(inputs)

    def _normalized_weights(self):
        """(new u, kernel / sigma) by the power method; an all-zero kernel is left as is."""
        kernel = self.kernel.value
        matrix = onp.reshape(kernel, (-1, self.kernel.shape[-1]))
        u = self.vector_u.value
        for _ in range(self.power_iterations):
            v = neural.normalize(onp.matmul(u, onp.transpose(matrix)), axis=-1, epsilon=1e-12)
            u = neural.normalize(onp.matmul(v, matrix), axis=-1, epsilon=1e-12)
        u, v = core.stop_gradient(u), core.stop_gradient(v)
        sigma = onp.reshape(onp.matmul(onp.matmul(v, matrix), onp.transpose(u)), ())
        nonzero = onp.any(onp.not_equal(kernel, 0))
        safe_sigma = onp.where(nonzero, sigma, onp.ones_like(sigma))
        return onp.where(nonzero, u, self.vector_u.value), onp.divide(kernel, safe_sigma)

    def compute_output_spec(self, inputs, training=False):
        return self.layer.compute_output_spec(inputs)

    def get_config(self):
        return {**super().get_config(), "power_iterations": self.power_iterations}
