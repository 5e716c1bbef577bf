"""Attention layers: Attention (Luong), AdditiveAttention (Bahdanau), MultiHeadAttention,
GroupQueryAttention.

Where the math allows it (dot-product scores, none returned, no dropout on them) the
attention is one `dot_product_attention` op, which the adapters run as
`F.scaled_dot_product_attention`, `jax.nn.dot_product_attention` or OpenVINO's
ScaledDotProductAttention. Otherwise the scores are computed explicitly.

Masks follow Keras 3.15: value/key padding masks and `attention_mask` hide keys, the causal
and sliding-window bands hide keys by position, the query mask only becomes the output
mask (and, in Attention/AdditiveAttention, zeroes the masked query rows). A query row that
sees no key gets uniform weights, except on MultiHeadAttention's and GroupQueryAttention's
explicit path (scores returned, or dropout > 0) where its weights are zeros, as in Keras.
"""
from unikeras.common import constraints, dtypes, initializers, regularizers
from unikeras.common.layers.arguments import describe, positive_int
from unikeras.common.layers.core import _serialize
from unikeras.common.layers.layer import Layer, _shape_of
from unikeras.common.ops import core, dispatch, nn, numpy as onp
from unikeras.common.ops.random import dropout as _dropout
from unikeras.common.seed_generator import SeedGenerator
from unikeras.common.symbolic import KerasTensor

__all__ = ["Attention", "AdditiveAttention", "MultiHeadAttention", "GroupQueryAttention"]

_LEADING = "abcdefgh"  # einsum letters of the leading axes (batch, dims...)


def _check_rate(layer, rate):
    if not 0 <= rate < 1:
        raise ValueError(f"{describe(layer)}: `dropout` must be in [0, 1), got {rate!r}.")
    return rate


def _compatible(shape, expected):
    """Same rank, and every dim known on both sides equal."""
    return len(shape) == len(expected) and all(
        a is None or b is None or a == b for a, b in zip(shape, expected))


def _check_mask(layer, what, mask, expected):
    if mask is not None and not _compatible(tuple(core.shape(mask)), tuple(expected)):
        raise ValueError(f"{describe(layer)}: `{what}` must have shape {tuple(expected)}, got "
                         f"{tuple(core.shape(mask))}.")


def _both(a, b):
    """Logical and of two optional boolean masks (None: everything visible)."""
    if a is None:
        return b
    return a if b is None else onp.logical_and(a, b)


def _as_bool(mask):
    return None if mask is None else core.cast(mask, "bool")


def _band_mask(query, key, causal, window):
    """Boolean (T, S): key j is visible from query i when j <= i (causal) and |i - j| < window.

    Built from ones shaped like the inputs' sequence axes, so it works for dynamic lengths
    (OpenVINO, tf.function) and on the inputs' backend."""
    first_column = (0, slice(None), slice(0, 1))  # (steps, 1) of the first example
    rows = onp.ones_like(onp.get_item(query, first_column))
    grid = onp.matmul(rows, onp.transpose(onp.ones_like(onp.get_item(key, first_column))))
    if causal:
        grid = onp.tril(grid)
    if window is not None:
        grid = onp.triu(onp.tril(grid, window - 1), 1 - window)
    return onp.greater(grid, 0)


def _expand_to(mask, rank):
    """`mask` (batch first) with size-1 axes inserted after the batch up to `rank` dims."""
    for _ in range(rank - len(core.shape(mask))):
        mask = onp.expand_dims(mask, 1)
    return mask


def _masked_softmax(logits, allowed, axes, zero_hidden_rows):
    """Softmax over the trailing `axes` axes where `allowed` (None: everywhere)."""
    if allowed is not None:  # the large negative that dot_product_attention uses too
        logits = onp.where(allowed, logits, -0.7 * dtypes.value_range(onp.dtype(logits))[1])
    if axes == 1:
        weights = nn.softmax(logits, axis=-1)
    else:  # several attention axes: one softmax over all of them
        reduced = tuple(range(-axes, 0))
        e = onp.exp(onp.subtract(logits, onp.max(logits, axis=reduced, keepdims=True)))
        weights = onp.divide(e, onp.sum(e, axis=reduced, keepdims=True))
    if allowed is not None and zero_hidden_rows:
        weights = onp.multiply(weights, core.cast(allowed, onp.dtype(weights)))
    return weights


# --- Attention and AdditiveAttention ----------------------------------------------------------
class Attention(Layer):
    """Dot-product (Luong) attention over `[query, value(, key)]`, each (batch, steps, dim):
    scores `query @ key^T` (times a learned scalar `scale` if `use_scale`), or with
    `score_mode="concat"` `sum(tanh(scale * (q_i + k_j)))` times a learned scalar; the
    softmax weights average `value`."""

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if score_mode not in ("dot", "concat"):
            raise ValueError(f"{describe(self)}: `score_mode` must be 'dot' or 'concat', got "
                             f"{score_mode!r}.")
        self.use_scale, self.score_mode = use_scale, score_mode
        self._dot_scores = score_mode == "dot"  # the scores one dot_product_attention computes
        self.dropout, self.seed = _check_rate(self, dropout), seed
        self.seed_generator = SeedGenerator(seed) if dropout > 0 else None
        self.scale = self.concat_score_weight = None

    # --- inputs -------------------------------------------------------------------------------
    def _unpack(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"{describe(self)}: must be called on a list [query, value] or "
                             f"[query, value, key], got one input of shape "
                             f"{tuple(core.shape(inputs))}.")
        if len(inputs) not in (2, 3):
            raise ValueError(f"{describe(self)}: takes a list [query, value] or [query, value, "
                             f"key], got a list of {len(inputs)} inputs.")
        query, value = inputs[0], inputs[1]
        return query, value, inputs[2] if len(inputs) == 3 else value

    def _check_shapes(self, q, v, k):
        if len(q) != 3 or len(v) != 3 or len(k) != 3:
            raise ValueError(f"{describe(self)}: query, value and key must have rank 3 (batch, "
                             f"steps, dim), got shapes {q}, {v}, {k}.")
        if not (_compatible(q[:1], v[:1]) and _compatible(v[:1], k[:1])
                and _compatible(v[1:2], k[1:2]) and _compatible(q[2:], k[2:])):
            raise ValueError(f"{describe(self)}: expected query (batch, Tq, dim), value (batch, "
                             f"Tv, dim_v) and key (batch, Tv, dim), got shapes {q}, {v}, {k}.")

    def _unpack_mask(self, mask):
        if mask is None:
            return None, None
        if not isinstance(mask, (list, tuple)) or len(mask) not in (2, 3):
            raise ValueError(f"{describe(self)}: `mask` must be a list [query_mask, value_mask], "
                             f"got {mask!r}.")
        return mask[0], mask[1]  # a key mask, when given, is the value mask (same steps)

    def _checked(self, inputs, mask):
        query, value, key = self._unpack(inputs)
        shapes = [tuple(core.shape(t)) for t in (query, value, key)]
        self._check_shapes(*shapes)
        query_mask, value_mask = self._unpack_mask(mask)
        _check_mask(self, "mask[0] (query mask)", query_mask, shapes[0][:2])
        _check_mask(self, "mask[1] (value mask)", value_mask, shapes[1][:2])
        return query, value, key, query_mask, value_mask

    # --- weights ------------------------------------------------------------------------------
    def build(self, input_shape):
        if not input_shape or not isinstance(input_shape[0], (list, tuple)):
            raise ValueError(f"{describe(self)}: must be called on a list [query, value] or "
                             f"[query, value, key], got one input of shape {input_shape}.")
        q, v, k = self._unpack([tuple(s) for s in input_shape])
        self._check_shapes(q, v, k)
        self._build_scores(q[-1])
        self.built = True

    def _build_scores(self, dim):
        if self.use_scale:
            self.scale = self.add_weight(shape=(), initializer="ones", name="scale")
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight(shape=(), initializer="ones",
                                                       name="concat_score_weight")

    # --- math ---------------------------------------------------------------------------------
    def _scores(self, query, key):
        """Logits (batch, Tq, Tv)."""
        if self.score_mode == "dot":
            scores = onp.matmul(query, onp.transpose(key, (0, 2, 1)))
            return scores if self.scale is None else onp.multiply(scores, self.scale)
        pairs = onp.add(onp.expand_dims(query, 2), onp.expand_dims(key, 1))
        if self.scale is not None:
            pairs = onp.multiply(pairs, self.scale)
        return onp.multiply(self.concat_score_weight, onp.sum(onp.tanh(pairs), axis=-1))

    def _fused(self, query, value, key, value_mask, causal):
        """Dot scores in one dot_product_attention op (a head axis of size 1)."""
        if self.scale is not None:
            query = onp.multiply(query, self.scale)
        mask = None if value_mask is None else onp.expand_dims(onp.expand_dims(value_mask, 1), 1)
        out = nn.dot_product_attention(onp.expand_dims(query, 2), onp.expand_dims(key, 2),
                                       onp.expand_dims(value, 2), mask=mask, scale=1.0,
                                       is_causal=causal)
        return onp.squeeze(out, axis=2)

    def call(self, inputs, mask=None, training=False, return_attention_scores=False,
             use_causal_mask=False):
        query, value, key, query_mask, value_mask = self._checked(inputs, mask)
        value_mask = _as_bool(value_mask)
        dropping = bool(training) and self.dropout > 0
        if self._dot_scores and not dropping and not return_attention_scores:
            out, weights = self._fused(query, value, key, value_mask, use_causal_mask), None
        else:
            allowed = None if value_mask is None else onp.expand_dims(value_mask, 1)
            if use_causal_mask:
                allowed = _both(allowed, _band_mask(query, key, True, None))
            weights = _masked_softmax(self._scores(query, key), allowed, 1, False)
            if dropping:
                weights = _dropout(weights, self.dropout, seed=self.seed_generator)
            out = onp.matmul(weights, value)
        if query_mask is not None:
            out = onp.multiply(out, onp.expand_dims(core.cast(query_mask, onp.dtype(out)), -1))
        return (out, weights) if return_attention_scores else out

    # --- shapes, masks, config ----------------------------------------------------------------
    def compute_output_spec(self, inputs, mask=None, training=False,
                            return_attention_scores=False, use_causal_mask=False):
        query, value, key, _, _ = self._checked(inputs, mask)
        q, v, k = query.shape, value.shape, key.shape
        out = KerasTensor(q[:-1] + v[-1:], self.compute_dtype)
        return (out, KerasTensor(q[:-1] + k[1:2], self.compute_dtype)) if (
            return_attention_scores) else out

    def compute_output_shape(self, input_shape):
        q, v, k = self._unpack([tuple(s) for s in input_shape])
        self._check_shapes(q, v, k)
        return q[:-1] + v[-1:]

    def compute_mask(self, inputs, mask=None):
        """The query mask (masked query steps stay masked)."""
        return None if mask is None else self._unpack_mask(mask)[0]

    def get_config(self):
        return {**super().get_config(), "use_scale": self.use_scale,
                "score_mode": self.score_mode, "dropout": self.dropout, "seed": self.seed}


class AdditiveAttention(Attention):
    """Additive (Bahdanau) attention: scores `sum(scale * tanh(q_i + k_j))` over the feature
    axis, `scale` a learned (dim,) vector if `use_scale`."""

    def __init__(self, use_scale=True, dropout=0.0, **kwargs):
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)
        self._dot_scores = False

    def _build_scores(self, dim):
        if self.use_scale:
            self.scale = self.add_weight(shape=(dim,), initializer="glorot_uniform", name="scale")

    def _scores(self, query, key):
        pairs = onp.tanh(onp.add(onp.expand_dims(query, 2), onp.expand_dims(key, 1)))
        if self.scale is not None:
            pairs = onp.multiply(pairs, self.scale)
        return onp.sum(pairs, axis=-1)

    def get_config(self):
        config = super().get_config()
        del config["score_mode"]
        return config


# --- projections of MultiHeadAttention / GroupQueryAttention ---------------------------------
def _clone(initializer):
    if isinstance(initializer, initializers.Initializer):
        return initializers.get(initializers.serialize(initializer))
    return initializer


class _Projection(Layer):
    """EinsumDense-like projection (private, so this module stands alone): the input's last
    `len(in_dims)` axes contract with a `kernel` of shape `in_dims + out_dims` (one
    tensordot: a reshape and a matmul on every backend), plus a `bias` of shape `out_dims`."""

    def __init__(self, in_dims, out_dims, use_bias, owner, name):
        super().__init__(name=name, dtype=owner.dtype_name)
        self.in_dims, self.out_dims, self.use_bias = tuple(in_dims), tuple(out_dims), use_bias
        # A fresh initializer per weight, as Keras clones them for its sublayers.
        self._initializers = (_clone(owner.kernel_initializer), _clone(owner.bias_initializer))
        self._regularizers = (owner.kernel_regularizer, owner.bias_regularizer)
        self._constraints = (owner.kernel_constraint, owner.bias_constraint)
        self.bias = None

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=self.in_dims + self.out_dims,
                                      initializer=self._initializers[0],
                                      regularizer=self._regularizers[0],
                                      constraint=self._constraints[0], name="kernel")
        if self.use_bias:
            self.bias = self.add_weight(shape=self.out_dims, initializer=self._initializers[1],
                                        regularizer=self._regularizers[1],
                                        constraint=self._constraints[1], name="bias")
        self.built = True

    def call(self, inputs):
        out = onp.tensordot(inputs, self.kernel, axes=len(self.in_dims))
        return out if self.bias is None else onp.add(out, self.bias)


def _attention_equations(rank, axes):
    """Einsum equations for projected tensors of `rank` (batch, dims..., heads, depth) with
    attention over `axes`: (query, key -> scores) and (scores, value -> output). Scores are
    (batch, other dims..., heads, query axes..., key axes...)."""
    positions = range(rank - 2)
    query = [_LEADING[i] for i in positions]
    key = [_LEADING[i] if i not in axes else "stuvw"[i - 1] for i in positions]
    scores = ([query[i] for i in positions if i not in axes] + ["y"]
              + [query[i] for i in axes] + [key[i] for i in axes])
    q, k, s = "".join(query) + "yz", "".join(key) + "yz", "".join(scores)
    return f"{q},{k}->{s}", f"{s},{k}->{q}"


class _HeadAttention(Layer):
    """What MultiHeadAttention and GroupQueryAttention share: the projections (query, key,
    gate, value, attention_output, built in that order as Keras orders the weights), masks,
    the fused and the explicit attention, config."""

    def __init__(self, dropout, use_bias, sliding_window, flash_attention, kernel_initializer,
                 bias_initializer, kernel_regularizer, bias_regularizer, activity_regularizer,
                 kernel_constraint, bias_constraint, use_gate, seed, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.dropout, self.use_bias, self.use_gate, self.seed = (
            _check_rate(self, dropout), use_bias, use_gate, seed)
        if sliding_window is not None:
            positive_int(self, "sliding_window", sliding_window)
        if flash_attention and dropout > 0:
            raise ValueError(f"{describe(self)}: dropout is not supported with "
                             f"flash_attention=True, got dropout={dropout}.")
        self.sliding_window, self._flash_attention = sliding_window, flash_attention
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.seed_generator = SeedGenerator(seed) if dropout > 0 else None
        self._gate_dense = None

    # --- building: from the shapes of query, value and key, as Keras does -----------------------
    def _maybe_build(self, args, kwargs):
        if self.built:
            return
        names = ("query", "value", "key")
        tensors = [args[i] if i < len(args) else kwargs.get(n) for i, n in enumerate(names)]
        if tensors[0] is None or tensors[1] is None:
            raise TypeError(f"{describe(self)}: call needs `query` and `value`.")
        backend = self._input_backend(args, kwargs)[1]
        with dispatch.backend_scope(backend):
            self.build(*[None if t is None else _shape_of(t) for t in tensors])
        self.built = True
        self._allocate_deferred(backend)

    def _symbolic_call(self, args, kwargs):
        """As in Keras, the masks the inputs carry (`_keras_mask`, e.g. from
        Embedding(mask_zero=True)) are the default query/value/key masks; recorded in the
        node, they reach the call when a model replays the graph."""
        for i, name in enumerate(("query", "value", "key")):
            tensor = args[i] if i < len(args) else kwargs.get(name)
            mask = getattr(tensor, "_keras_mask", None)
            if mask is not None and kwargs.get(f"{name}_mask") is None:
                kwargs = {**kwargs, f"{name}_mask": mask}
        return super()._symbolic_call(args, kwargs)

    def _project(self, name, in_dims, out_dims, input_shape):
        layer = _Projection(in_dims, out_dims, self.use_bias, self, name)
        layer.build(input_shape)
        return layer

    def _build_projections(self, query_shape, value_shape, key_shape, heads, kv_heads,
                           key_dim, value_dim, output_shape):
        dims = [s[-1] for s in (query_shape, value_shape, key_shape)]
        if any(d is None for d in dims):
            raise ValueError(f"{describe(self)}: the last dimension of query, value and key must "
                             f"be known, got shapes {query_shape}, {value_shape}, {key_shape}.")
        self._query_dense = self._project("query", dims[:1], (heads, key_dim), query_shape)
        self._key_dense = self._project("key", dims[2:], (kv_heads, key_dim), key_shape)
        if self.use_gate:
            self._gate_dense = self._project("gate", dims[:1], (heads, value_dim), query_shape)
        self._value_dense = self._project("value", dims[1:2], (kv_heads, value_dim), value_shape)
        projected = tuple(query_shape[:-1]) + (heads, value_dim)
        self._output_dense = self._project("attention_output", (heads, value_dim), output_shape,
                                           projected)
        self._input_dims = tuple(dims)
        self._inverse_sqrt_key_dim = 1.0 / float(key_dim) ** 0.5

    @property
    def query_dense(self):
        return self._query_dense

    @property
    def key_dense(self):
        return self._key_dense

    @property
    def value_dense(self):
        return self._value_dense

    @property
    def output_dense(self):
        return self._output_dense

    # --- checks -------------------------------------------------------------------------------
    def _check_inputs(self, query, value, key, query_mask, value_mask, key_mask,
                      attention_mask, use_causal_mask, return_attention_scores):
        q, v, k = (tuple(core.shape(t)) for t in (query, value, key))
        if len(v) != len(q) or len(k) != len(q) or not _compatible(v[:1], q[:1]) or (
                not _compatible(k[:-1], v[:-1])):
            raise ValueError(f"{describe(self)}: query, value and key must share the batch "
                             f"axis and rank, key and value the steps, got shapes {q}, {v}, {k}.")
        if self.built and not _compatible((q[-1], v[-1], k[-1]), self._input_dims):
            raise ValueError(f"{describe(self)}: built for last dimensions (query, value, key) "
                             f"= {self._input_dims}, got shapes {q}, {v}, {k}.")
        _check_mask(self, "query_mask", query_mask, q[:-1])
        _check_mask(self, "value_mask", value_mask, v[:-1])
        _check_mask(self, "key_mask", key_mask, k[:-1])
        axes = self._axes
        expected = q[:1] + tuple(q[a] for a in axes) + tuple(k[a] for a in axes)
        if attention_mask is not None:
            got = tuple(core.shape(attention_mask))
            if len(got) != len(expected) or not all(
                    g in (1, None) or e is None or g == e for g, e in zip(got, expected)):
                raise ValueError(f"{describe(self)}: `attention_mask` must have shape "
                                 f"{expected} (batch, query steps, key steps), got {got}.")
        if len(q) != 3 and (use_causal_mask or self.sliding_window is not None
                            or value_mask is not None or key_mask is not None):
            raise ValueError(f"{describe(self)}: value/key masks, use_causal_mask and "
                             f"sliding_window need rank-3 inputs (batch, steps, dim); got query "
                             f"shape {q}: pass an `attention_mask` instead.")
        if return_attention_scores and self._flash_attention:
            raise ValueError(f"{describe(self)}: return_attention_scores=True is not supported "
                             "with flash_attention=True.")
        return q, k

    # --- math ---------------------------------------------------------------------------------
    def _allowed(self, query, key, value_mask, key_mask, attention_mask, causal):
        """Visible keys as a boolean (batch, T or 1, S) mask (None: all); the causal band only
        if `causal` (the fused op takes is_causal itself)."""
        allowed = _both(_as_bool(value_mask), _as_bool(key_mask))
        if allowed is not None:
            allowed = onp.expand_dims(allowed, -2)
        allowed = _both(allowed, _as_bool(attention_mask))
        if causal or self.sliding_window is not None:
            band = _band_mask(query, key, causal, self.sliding_window)
            allowed = _both(allowed, onp.expand_dims(band, 0))
        return allowed

    def _fused_attention(self, q, k, v, allowed, causal):
        mask = None if allowed is None else _expand_to(allowed, 4)
        return nn.dot_product_attention(q, k, v, mask=mask, scale=self._inverse_sqrt_key_dim,
                                        is_causal=causal, flash_attention=self._flash_attention)

    def _explicit_attention(self, q, k, v, allowed, training):
        q = onp.multiply(q, self._inverse_sqrt_key_dim)
        scores = onp.einsum(self._dot_equation, q, k)
        if allowed is not None:
            allowed = _expand_to(allowed, len(core.shape(scores)))
        weights = _masked_softmax(scores, allowed, len(self._axes), True)
        kept = weights
        if training and self.dropout > 0:
            kept = _dropout(weights, self.dropout, seed=self.seed_generator)
        return onp.einsum(self._combine_equation, kept, v), weights

    def _expand_heads(self, k, v):
        """Key and value with one head per query head (GroupQueryAttention repeats them)."""
        return k, v

    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
             attention_mask=None, return_attention_scores=False, training=None,
             use_causal_mask=False):
        key = value if key is None else key
        self._check_inputs(query, value, key, query_mask, value_mask, key_mask, attention_mask,
                           use_causal_mask, return_attention_scores)
        q = self._query_dense.call(query)
        k = self._key_dense.call(key)
        v = self._value_dense.call(value)
        if self.dropout == 0 and not return_attention_scores and self._fusable:
            allowed = self._allowed(query, key, value_mask, key_mask, attention_mask, False)
            out, scores = self._fused_attention(q, k, v, allowed, use_causal_mask), None
        else:
            allowed = self._allowed(query, key, value_mask, key_mask, attention_mask,
                                    use_causal_mask)
            out, scores = self._explicit_attention(q, *self._expand_heads(k, v), allowed, training)
        if self._gate_dense is not None:
            out = onp.multiply(out, nn.sigmoid(self._gate_dense.call(query)))
        out = self._output_dense.call(out)
        return (out, scores) if return_attention_scores else out

    # --- shapes, masks, config ----------------------------------------------------------------
    def compute_output_spec(self, query, value, key=None, query_mask=None, value_mask=None,
                            key_mask=None, attention_mask=None, return_attention_scores=False,
                            training=None, use_causal_mask=False):
        key = value if key is None else key
        q, k = self._check_inputs(query, value, key, query_mask, value_mask, key_mask,
                                  attention_mask, use_causal_mask, return_attention_scores)
        out = KerasTensor(self.compute_output_shape(q, value.shape, k), self.compute_dtype)
        if not return_attention_scores:
            return out
        axes = self._axes
        batch_like = tuple(q[i] for i in range(len(q) - 1) if i not in axes)
        scores = (batch_like + (self._query_heads,) + tuple(q[a] for a in axes)
                  + tuple(k[a] for a in axes))
        return out, KerasTensor(scores, self.compute_dtype)

    def compute_mask(self, inputs, previous_mask=None):
        """The query's mask: masked query steps stay masked."""
        if isinstance(previous_mask, (list, tuple)):
            return previous_mask[0] if previous_mask else None
        return previous_mask

    def _weights_config(self):
        return {"kernel_initializer": _serialize(self.kernel_initializer),
                "bias_initializer": _serialize(self.bias_initializer),
                "kernel_regularizer": _serialize(self.kernel_regularizer),
                "bias_regularizer": _serialize(self.bias_regularizer),
                "activity_regularizer": _serialize(self.activity_regularizer),
                "kernel_constraint": _serialize(self.kernel_constraint),
                "bias_constraint": _serialize(self.bias_constraint), "seed": self.seed}


class MultiHeadAttention(_HeadAttention):
    """Multi-head attention (Vaswani et al.): `num_heads` heads of depth `key_dim` (values
    `value_dim`) over `attention_axes` of inputs (batch, dims..., features); the output has
    the query's dims and `output_shape` features (default: the query's)."""

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True,
                 output_shape=None, attention_axes=None, sliding_window=None,
                 flash_attention=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 use_gate=False, seed=None, **kwargs):
        super().__init__(dropout, use_bias, sliding_window, flash_attention, kernel_initializer,
                         bias_initializer, kernel_regularizer, bias_regularizer,
                         activity_regularizer, kernel_constraint, bias_constraint, use_gate,
                         seed, **kwargs)
        self.num_heads = positive_int(self, "num_heads", num_heads)
        self.key_dim = positive_int(self, "key_dim", key_dim)
        self.value_dim = key_dim if value_dim is None else positive_int(self, "value_dim",
                                                                         value_dim)
        if output_shape is not None and not isinstance(output_shape, int):
            output_shape = tuple(output_shape)
        self._output_shape = output_shape
        if isinstance(attention_axes, int):
            attention_axes = (attention_axes,)
        self._attention_axes = attention_axes

    @property
    def _query_heads(self):
        return self.num_heads

    def build(self, query_shape, value_shape, key_shape=None):
        query_shape, value_shape = tuple(query_shape), tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        rank = len(query_shape)
        if rank < 3 or len(value_shape) != rank or len(key_shape) != rank:
            raise ValueError(f"{describe(self)}: query, value and key must have the same rank "
                             f">= 3, got shapes {query_shape}, {value_shape}, {key_shape}.")
        axes = (tuple(range(1, rank - 1)) if self._attention_axes is None
                else tuple(a % rank for a in self._attention_axes))
        if not axes or any(a < 1 or a > rank - 2 for a in axes):
            raise ValueError(f"{describe(self)}: `attention_axes` must name axes among 1.."
                             f"{rank - 2} of inputs of rank {rank}, got {self._attention_axes}.")
        self._axes = self._attention_axes = tuple(sorted(set(axes)))
        self._fusable = rank == 3
        self._dot_equation, self._combine_equation = _attention_equations(rank + 1, self._axes)
        out = self._output_shape
        out = (query_shape[-1],) if out is None else (out,) if isinstance(out, int) else out
        self._build_projections(query_shape, value_shape, key_shape, self.num_heads,
                                self.num_heads, self.key_dim, self.value_dim, out)
        self.built = True

    def compute_output_shape(self, query_shape, value_shape, key_shape=None):
        out = self._output_shape
        out = (query_shape[-1],) if out is None else (out,) if isinstance(out, int) else out
        return tuple(query_shape[:-1]) + tuple(out)

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads, "key_dim": self.key_dim,
                "value_dim": self.value_dim, "dropout": self.dropout, "use_bias": self.use_bias,
                "use_gate": self.use_gate, "output_shape": self._output_shape,
                "attention_axes": self._attention_axes, "sliding_window": self.sliding_window,
                **self._weights_config()}


class GroupQueryAttention(_HeadAttention):
    """Grouped-query attention (Ainslie et al.): `num_query_heads` query heads share
    `num_key_value_heads` key/value heads (each of depth `head_dim`), on inputs (batch,
    steps, features); the output has the query's features."""

    def __init__(self, head_dim, num_query_heads, num_key_value_heads, dropout=0.0,
                 use_bias=True, sliding_window=None, flash_attention=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, use_gate=False, seed=None,
                 **kwargs):
        super().__init__(dropout, use_bias, sliding_window, flash_attention, kernel_initializer,
                         bias_initializer, kernel_regularizer, bias_regularizer,
                         activity_regularizer, kernel_constraint, bias_constraint, use_gate,
                         seed, **kwargs)
        self.head_dim = positive_int(self, "head_dim", head_dim)
        self.num_query_heads = positive_int(self, "num_query_heads", num_query_heads)
        self.num_key_value_heads = positive_int(self, "num_key_value_heads",
                                                 num_key_value_heads)
        if num_query_heads % num_key_value_heads:
            raise ValueError(f"{describe(self)}: `num_query_heads` ({num_query_heads}) must be "
                             f"divisible by `num_key_value_heads` ({num_key_value_heads}).")
        self._axes, self._fusable = (1,), True
        self._dot_equation, self._combine_equation = _attention_equations(4, self._axes)

    @property
    def _query_heads(self):
        return self.num_query_heads

    def build(self, query_shape, value_shape, key_shape=None):
        query_shape, value_shape = tuple(query_shape), tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        if len(query_shape) != 3 or len(value_shape) != 3 or len(key_shape) != 3:
            raise ValueError(f"{describe(self)}: query, value and key must have rank 3 (batch, "
                             f"steps, features), got shapes {query_shape}, {value_shape}, "
                             f"{key_shape}.")
        self._build_projections(query_shape, value_shape, key_shape, self.num_query_heads,
                                self.num_key_value_heads, self.head_dim, self.head_dim,
                                (query_shape[-1],))
        self.built = True

    def _expand_heads(self, k, v):
        groups = self.num_query_heads // self.num_key_value_heads
        if groups == 1:
            return k, v
        return onp.repeat(k, groups, axis=2), onp.repeat(v, groups, axis=2)

    def compute_output_shape(self, query_shape, value_shape, key_shape=None):
        return tuple(query_shape)

    def get_config(self):
        return {**super().get_config(), "head_dim": self.head_dim,
                "num_query_heads": self.num_query_heads,
                "num_key_value_heads": self.num_key_value_heads, "use_bias": self.use_bias,
                "use_gate": self.use_gate, "sliding_window": self.sliding_window,
                "dropout": self.dropout, **self._weights_config()}
