"""Masks through layers and models, as Keras 3 carries them: `compute_mask`,
`supports_masking`, `mask=` delivered to `call`, propagation through Sequential, functional
and nested models, inside compiled fit steps and the torch / nnx / tf adapters."""
import numpy as np
import pytest

import unikeras as uk
from unikeras import layers, ops
from tests.conftest import FRAMEWORKS, to_backend

IDS = np.array([[1, 2, 0, 0], [3, 4, 5, 0], [5, 1, 2, 3]], "int32")


def _np(x):
    return ops.convert_to_numpy(x)


class MaskedMean(uk.Layer):
    """Mean over the steps that the mask keeps (GlobalAveragePooling1D-style); the time
    axis is reduced away, so no mask goes further."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, x, mask=None):
        if mask is None:
            return ops.mean(x, axis=1)
        weights = ops.expand_dims(ops.cast(mask, "float32"), -1)
        return ops.divide(ops.sum(ops.multiply(x, weights), axis=1), ops.sum(weights, axis=1))

    def compute_mask(self, inputs, previous_mask=None):
        return None


class ZeroMasked(uk.Layer):
    """Consumes the mask (zeroes the masked steps) and passes it on."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, x, mask=None):
        return x if mask is None else ops.multiply(x, ops.expand_dims(ops.cast(mask, "float32"), -1))


class Recorder(uk.Layer):
    """Records the mask its call receives (None, a tensor, or a list for list inputs) and
    passes it on."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.seen = "not called"

    def call(self, x, mask=None):
        self.seen = mask
        return x[0] if isinstance(x, list) else x


def _masked_model(backend):
    with ops.backend_scope(backend):
        return uk.Sequential([uk.Input((4,), dtype="int32"),
                              layers.Embedding(6, 3, mask_zero=True, name="emb"),
                              ZeroMasked(name="zero"), layers.Dense(2, name="proj"),
                              MaskedMean(name="pool"), layers.Dense(1, name="head")])


def _reference(model, ids):
    """NumPy: embeddings, masked steps zeroed, Dense, mean over the kept steps, Dense."""
    emb = model.get_layer("emb").get_weights()[0]
    w1, b1 = model.get_layer("proj").get_weights()
    w2, b2 = model.get_layer("head").get_weights()
    keep = (ids != 0)[..., None]
    h = (emb[ids] * keep) @ w1 + b1
    return ((h * keep).sum(1) / keep.sum(1)) @ w2 + b2


def test_embedding_mask_zero_reaches_consumers_in_sequential(backend):
    model = _masked_model(backend)
    with ops.backend_scope(backend):
        out = _np(model(to_backend(IDS, backend)))
    np.testing.assert_allclose(out, _reference(model, IDS), rtol=1e-5, atol=1e-6)


def test_padded_steps_are_ignored(backend):
    """A sequence with padding gives the output of its unpadded steps alone: changing the
    padding row of the table, or adding more padding, changes nothing."""
    model = _masked_model(backend)
    short = np.array([[3, 4, 5]], "int32")
    with ops.backend_scope(backend):
        padded = _np(model(to_backend(np.array([[3, 4, 5, 0]], "int32"), backend)))
        emb = model.get_layer("emb")
        table = emb.get_weights()[0]
        table[0] = 100.0
        emb.set_weights([table])
        repadded = _np(model(to_backend(np.array([[3, 4, 5, 0]], "int32"), backend)))
    np.testing.assert_allclose(repadded, padded, rtol=1e-6)
    inner = uk.Sequential([uk.Input((3,), dtype="int32"), emb, model.get_layer("zero"),
                           model.get_layer("proj"), model.get_layer("pool"),
                           model.get_layer("head")])
    with ops.backend_scope(backend):
        unpadded = _np(inner(to_backend(short, backend)))
    np.testing.assert_allclose(padded, unpadded, rtol=1e-5, atol=1e-6)


def test_symbolic_tensors_carry_keras_mask_and_supports_masking_rules():
    ids = uk.Input((4,), dtype="int32")
    emb = layers.Embedding(6, 3, mask_zero=True)(ids)
    assert emb._keras_mask.shape == (None, 4) and emb._keras_mask.dtype == "bool"
    dense = layers.Dense(2)(emb)            # supports_masking: the mask passes through
    assert dense._keras_mask.shape == (None, 4)
    flat = layers.Flatten()(dense)          # does not support masking: the mask stops
    assert getattr(flat, "_keras_mask", None) is None
    assert getattr(layers.Embedding(6, 3)(ids), "_keras_mask", None) is None
    assert not uk.Layer().supports_masking and layers.Dense(2).supports_masking
    assert layers.Embedding(6, 3, mask_zero=True).supports_masking
    assert not layers.Embedding(6, 3).supports_masking


def test_mask_stops_at_layers_without_masking_support(backend):
    rec = Recorder()
    with ops.backend_scope(backend):
        model = uk.Sequential([uk.Input((4,), dtype="int32"), layers.Embedding(6, 3, mask_zero=True),
                               layers.Flatten(), rec])
        model(to_backend(IDS, backend))
    assert rec.seen is None


def test_functional_multi_input_layer_gets_a_list_of_masks(backend):
    rec = Recorder()
    a, b = uk.Input((4,), dtype="int32"), uk.Input((4,), dtype="int32")
    with ops.backend_scope(backend):
        ea = layers.Embedding(6, 3, mask_zero=True)(a)
        eb = layers.Embedding(6, 3)(b)
        model = uk.Model([a, b], rec([ea, eb]))
        model([to_backend(IDS, backend), to_backend(IDS[::-1].copy(), backend)])
    assert isinstance(rec.seen, list) and len(rec.seen) == 2 and rec.seen[1] is None
    np.testing.assert_array_equal(_np(rec.seen[0]), IDS != 0)


def test_model_mask_argument_and_explicit_eager_masks(backend):
    """`model(x, mask=m)` seeds the input mask; outside models masks are passed by hand."""
    x = np.random.default_rng(0).standard_normal((3, 4, 2)).astype("float32")
    mask = IDS != 0
    with ops.backend_scope(backend):
        model = uk.Sequential([uk.Input((4, 2)), layers.Dense(2), MaskedMean()])
        out = _np(model(to_backend(x, backend), mask=to_backend(mask, backend)))
        emb = layers.Embedding(6, 2, mask_zero=True)
        ids = to_backend(IDS, backend)
        eager = _np(MaskedMean()(emb(ids), mask=emb.compute_mask(ids)))
    w, b = model.layers[0].get_weights()
    keep = mask[..., None]
    np.testing.assert_allclose(out, ((x @ w + b) * keep).sum(1) / keep.sum(1), rtol=1e-5, atol=1e-6)
    table = emb.get_weights()[0]
    np.testing.assert_allclose(eager, (table[IDS] * keep).sum(1) / keep.sum(1), rtol=1e-5, atol=1e-6)


def test_nested_models_pass_masks_on(backend):
    rec = Recorder()
    ids = uk.Input((4,), dtype="int32")
    with ops.backend_scope(backend):
        inner = uk.Sequential([uk.Input((4,), dtype="int32"),
                               layers.Embedding(6, 3, mask_zero=True), layers.Dense(3)], name="inner")
        outer = uk.Model(ids, MaskedMean()(rec(inner(ids))))
        out = _np(outer(to_backend(IDS, backend)))
    np.testing.assert_array_equal(_np(rec.seen), IDS != 0)
    table = inner.layers[0].get_weights()[0]
    w, b = inner.layers[1].get_weights()
    keep = (IDS != 0)[..., None]
    np.testing.assert_allclose(out, ((table[IDS] @ w + b) * keep).sum(1) / keep.sum(1),
                               rtol=1e-5, atol=1e-6)
    with ops.backend_scope(backend):
        inner_mask = inner.compute_mask(to_backend(IDS, backend), None)
    np.testing.assert_array_equal(_np(inner_mask), IDS != 0)


def test_masking_layer_drives_downstream_masks(backend):
    x = np.random.default_rng(1).standard_normal((2, 5, 3)).astype("float32")
    x[0, 3:] = 0.0
    x[1, 1] = 0.0
    rec = Recorder()
    with ops.backend_scope(backend):
        model = uk.Sequential([uk.Input((5, 3)), layers.Masking(0.0), rec, MaskedMean()])
        out = _np(model(to_backend(x, backend)))
    keep = np.any(x != 0, axis=-1)
    np.testing.assert_array_equal(_np(rec.seen), keep)
    np.testing.assert_allclose(out, x.sum(1) / keep.sum(1, keepdims=True), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("backend_name", FRAMEWORKS)
def test_masks_flow_inside_compiled_fit_and_predict(backend_name):
    """fit (jax.jit / tf.function / torch) and predict run the mask-carrying graph."""
    rng = np.random.default_rng(2)
    ids = rng.integers(1, 6, (16, 4)).astype("int32")
    ids[::2, 2:] = 0
    y = rng.standard_normal((16, 1)).astype("float32")
    model = _masked_model(backend_name)
    model.compile(optimizer=uk.optimizers.SGD(learning_rate=0.0), loss="mse")
    history = model.fit(ids, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    expected = _reference(model, ids)
    np.testing.assert_allclose(history.history["loss"][0], np.mean((expected - y) ** 2), rtol=1e-5)
    np.testing.assert_allclose(model.predict(ids, verbose=0), expected, rtol=1e-5, atol=1e-6)


def test_masks_flow_inside_native_adapters():
    """to_torch / to_flax (under nnx.jit) / to_tf (under tf.function) host the same graph."""
    expected = None
    results = {}
    for backend in FRAMEWORKS:
        model = _masked_model(backend)
        if expected is None:
            weights = model.get_weights()
        model.set_weights(weights)
        expected = _reference(model, IDS)
        if backend == "torch":
            import torch
            from unikeras.adapters.torch_nn import to_torch
            results[backend] = to_torch(model)(torch.from_numpy(IDS)).detach().numpy()
        elif backend == "jax":
            from flax import nnx
            from unikeras.adapters.flax import to_flax
            module = to_flax(model)
            results[backend] = np.asarray(nnx.jit(lambda m, x: m(x))(module, IDS))
        else:
            import tensorflow as tf
            from unikeras.adapters.tf_module import to_tf
            module = to_tf(model)
            results[backend] = tf.function(module)(tf.constant(IDS)).numpy()
    assert results
    for backend, out in results.items():
        np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6, err_msg=backend)


def test_openvino_graph_with_masks_matches_numpy_backend():
    pytest.importorskip("openvino")
    from unikeras.adapters import openvino as uov
    model = _masked_model("numpy")
    compiled = uov.compile(model)
    for ids in (IDS, np.concatenate([IDS, IDS[:1]])):   # dynamic batch
        with ops.backend_scope("numpy"):
            expected = model(ids)
        np.testing.assert_allclose(compiled(ids), expected, rtol=1e-5, atol=1e-6)
