"""Embedding layers: Embedding (mask_zero), ReversibleEmbedding."""
from unikeras.common import dtypes, initializers
from unikeras.common.layers.core import _check_quantization, _serialize
from unikeras.common.layers.layer import Layer
from unikeras.common.ops import core, numpy as onp

__all__ = ["Embedding", "ReversibleEmbedding"]


def _initializer(identifier):
    # Keras's default "uniform" is its legacy name for RandomUniform(-0.05, 0.05).
    return initializers.get("random_uniform" if identifier == "uniform" else identifier)


def _fresh(initializer):
    """An unused copy of `initializer`, so a second weight does not repeat the first's draw."""
    if isinstance(initializer, initializers.Initializer):
        return type(initializer).from_config(initializer.get_config())
    return initializer


class Embedding(Layer):
    """Looks up rows of an `(input_dim, output_dim)` table for integer indices. With
    `mask_zero=True`, index 0 is padding: the output mask is `inputs != 0`."""

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None, mask_zero=False,
                 weights=None, quantization_config=None, **kwargs):
        super().__init__(**kwargs)
        for what, value in (("input_dim", input_dim), ("output_dim", output_dim)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{type(self).__name__} '{self.name}': `{what}` must be a "
                                 f"positive int, got {value!r}.")
        _check_quantization(self, quantization_config)
        self.input_dim, self.output_dim = input_dim, output_dim
        self.embeddings_initializer = _initializer(embeddings_initializer)
        self.embeddings_regularizer = embeddings_regularizer
        self.embeddings_constraint = embeddings_constraint
        self.mask_zero = mask_zero
        self.supports_masking = mask_zero
        if weights is not None:
            self.build()
            self.set_weights(weights if isinstance(weights, list) else [weights])

    def build(self, input_shape=None):
        if self.built:
            return
        self.embeddings = self.add_weight(shape=(self.input_dim, self.output_dim),
                                          initializer=self.embeddings_initializer,
                                          regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint, name="embeddings")
        self.built = True

    def call(self, inputs):
        if not dtypes.is_int(onp.dtype(inputs)):
            inputs = core.cast(inputs, "int32")
        return onp.take(self.embeddings, inputs, axis=0)

    def compute_mask(self, inputs, previous_mask=None):
        return onp.not_equal(inputs, 0) if self.mask_zero else None

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim,
                "embeddings_initializer": _serialize(self.embeddings_initializer),
                "embeddings_regularizer": _serialize(self.embeddings_regularizer),
                "activity_regularizer": _serialize(self.activity_regularizer),
                "embeddings_constraint": _serialize(self.embeddings_constraint),
                "mask_zero": self.mask_zero, "quantization_config": None}


class ReversibleEmbedding(Embedding):
    """An Embedding that also maps vectors back to logits over the vocabulary:
    `layer(x, reverse=True)` is `x @ embeddings.T` (tied), or `x @ reverse_embeddings` with
    `tie_weights=False`; `reverse_dtype` sets the dtype of that product and
    `logit_soft_cap` bounds the logits as `cap * tanh(logits / cap)`."""

    def __init__(self, input_dim, output_dim, tie_weights=True, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None, mask_zero=False,
                 reverse_dtype=None, logit_soft_cap=None, **kwargs):
        super().__init__(input_dim, output_dim, embeddings_initializer=embeddings_initializer,
                         embeddings_regularizer=embeddings_regularizer,
                         embeddings_constraint=embeddings_constraint, mask_zero=mask_zero,
                         **kwargs)
        self.tie_weights = tie_weights
        self.reverse_dtype = (None if reverse_dtype is None
                              else dtypes.standardize_dtype(reverse_dtype))
        self.logit_soft_cap = logit_soft_cap

    def build(self, input_shape=None):
        if self.built:
            return
        super().build(input_shape)
        if not self.tie_weights:
            self.reverse_embeddings = self.add_weight(   # as Keras: no regularizer/constraint
                shape=(self.output_dim, self.input_dim),
                initializer=_fresh(self.embeddings_initializer), name="reverse_embeddings")

    def call(self, inputs, reverse=False):
        if not reverse:
            return super().call(inputs)
        kernel = (onp.transpose(self.embeddings) if self.tie_weights
                  else self.reverse_embeddings)
        if self.reverse_dtype is not None:
            inputs = core.cast(inputs, self.reverse_dtype)
            kernel = core.cast(kernel, self.reverse_dtype)
        logits = onp.matmul(inputs, kernel)
        if self.logit_soft_cap is not None:
            cap = self.logit_soft_cap
            logits = onp.multiply(onp.tanh(onp.divide(logits, cap)), cap)
        return logits

    def compute_output_shape(self, input_shape, reverse=False):
        if reverse:
            return tuple(input_shape[:-1]) + (self.input_dim,)
        return super().compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "tie_weights": self.tie_weights,
                "reverse_dtype": self.reverse_dtype, "logit_soft_cap": self.logit_soft_cap}
