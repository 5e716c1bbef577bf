"""Checks shared by the layer test files: gradients of one layer on every framework
backend (through `stateless_call`), and an OpenVINO graph against the NumPy backend."""
import numpy as np
import pytest

from unikeras import ops
from tests.conftest import FRAMEWORKS


def backend_gradients(layer, backend, x, weights, cotangent, **call_kwargs):
    """d sum(layer(x) * cotangent) / d (weights..., x) on `backend` (x only if float)."""
    with_x = np.issubdtype(x.dtype, np.floating)
    if backend == "torch":
        import torch
        values = [torch.tensor(w, requires_grad=True) for w in weights]
        xt = torch.tensor(x, requires_grad=with_x)
        out, _ = layer.stateless_call(values, [], xt, **call_kwargs)
        (out * torch.from_numpy(cotangent)).sum().backward()
        grads = [v.grad for v in values] + ([xt.grad] if with_x else [])
        return [np.zeros_like(w) if g is None else g.numpy() for g, w in zip(grads, weights + [x])]
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        def loss(values, xj):
            out, _ = layer.stateless_call(values, [], xj, **call_kwargs)
            return jnp.sum(out * cotangent)
        argnums = (0, 1) if with_x else 0
        grads = jax.grad(loss, argnums=argnums)([jnp.asarray(w) for w in weights], jnp.asarray(x))
        gw, gx = grads if with_x else (grads, None)
        return [np.asarray(g) for g in gw] + ([np.asarray(gx)] if with_x else [])
    import tensorflow as tf
    values = [tf.Variable(w) for w in weights]
    xt = tf.Variable(x) if with_x else tf.constant(x)
    with tf.GradientTape() as tape:
        out, _ = layer.stateless_call(values, [], xt, **call_kwargs)
        loss = tf.reduce_sum(out * cotangent)
    grads = tape.gradient(loss, values + ([xt] if with_x else []))
    return [np.zeros_like(w) if g is None else tf.convert_to_tensor(g).numpy()
            for g, w in zip(grads, weights + [x])]


def assert_gradients_agree(make_layer, x, weights, **call_kwargs):
    """Gradients agree across the framework backends (and some are not zero; a weight the
    call does not use gets zeros).
    `make_layer(backend)` returns the layer built on that backend."""
    if len(FRAMEWORKS) < 2:
        pytest.skip("needs two framework backends")
    with ops.backend_scope("numpy"):
        probe = make_layer("numpy")
        probe.set_weights(weights)
        out_shape = ops.convert_to_numpy(probe(x, **call_kwargs)).shape
    cotangent = np.random.default_rng(7).standard_normal(out_shape).astype("float32")
    grads = {}
    for backend in FRAMEWORKS:
        layer = make_layer(backend)
        layer.set_weights(weights)
        with ops.backend_scope(backend):
            grads[backend] = backend_gradients(layer, backend, x, weights, cotangent, **call_kwargs)
    first = grads[FRAMEWORKS[0]]
    assert first and any(np.abs(g).sum() > 0 for g in first)
    for backend in FRAMEWORKS[1:]:
        for a, b in zip(first, grads[backend]):
            np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6, err_msg=backend)


def assert_openvino_matches_numpy(model, batches, rtol=1e-5, atol=1e-6):
    """`uov.compile(model)` (dynamic batch) equals the model run on the NumPy backend; each
    batch is an array, or a tuple of arrays for a model with several inputs."""
    pytest.importorskip("openvino")
    from unikeras.adapters import openvino as uov
    compiled = uov.compile(model)
    for batch in batches:
        arrays = list(batch) if isinstance(batch, tuple) else [batch]
        with ops.backend_scope("numpy"):
            expected = ops.convert_to_numpy(model(arrays if len(arrays) > 1 else arrays[0]))
        np.testing.assert_allclose(compiled(*arrays), expected, rtol=rtol, atol=atol)


def _as_json(value):
    """Tuples as lists, as a config reads after a JSON round trip (Keras's side)."""
    if isinstance(value, (list, tuple)):
        return [_as_json(v) for v in value]
    return value


def assert_structure_matches_keras(layer, keras):
    """`layer`'s weights (shapes, names, order) and config (keys; values, or the class of
    nested objects) equal Keras's (a `run_layer_cases` result), and its config round-trips."""
    assert [w.shape for w in layer.weights] == [tuple(s) for s in keras["weight_shapes"]]
    assert [w.path for w in layer.weights] == [
        f"{layer.name}/{p.split('/')[-1]}" for p in keras["weight_names"]]
    config = layer.get_config()
    assert set(config) == set(keras["config"])
    for key, value in config.items():
        theirs = keras["config"][key]
        if isinstance(value, dict) and key != "dtype":
            assert value["class_name"] == theirs["class_name"], key
        elif key not in ("name", "dtype"):
            assert _as_json(value) == _as_json(theirs), key
    assert type(layer).from_config(config).get_config() == config


def make_layer(class_name, config, backend, input_shape=None, weights=None,
               input_dtype="float32", **call_kwargs):
    """`unikeras.layers.<class_name>(**config)` built on `backend` by a symbolic call on
    `input_dtype` inputs of `input_shape` (batch excluded; skipped when None), then given
    `weights`."""
    import unikeras as uk
    from unikeras import layers
    with ops.backend_scope(backend):
        layer = getattr(layers, class_name)(**config)
        if input_shape is not None and not layer.built:
            layer(uk.Input(tuple(input_shape), dtype=input_dtype), **call_kwargs)
    if weights is not None:
        layer.set_weights(weights)
    return layer
