"""`unikeras.models.clone_model`: same architecture, fresh weights; clone_function,
call_function, recursive and input_tensors as Keras 3 defines them; `Input(tensor=...)`."""
import numpy as np
import pytest

import unikeras as uk
from unikeras import layers, ops
from unikeras.models import clone_model


def _functional():
    """Two inputs, a Dense shared by two calls, an op on symbolic tensors, a nested Sequential."""
    with ops.backend_scope("numpy"):
        a, b = uk.Input((4,), name="a"), uk.Input((4,), name="b")
        shared = layers.Dense(3, activation="tanh", name="shared")
        block = uk.Sequential([layers.Dense(3, name="inner_1"), layers.Dense(2, name="inner_2")],
                              name="block")
        merged = ops.add(shared(a), shared(b)) * 0.5
        return uk.Model([a, b], {"out": block(merged), "aux": merged}, name="net")


def _predict(model, xs):
    out = model.predict(xs, verbose=0)
    return {k: np.asarray(ops.convert_to_numpy(v)) for k, v in out.items()}


def test_functional_clone_has_the_graph_and_fresh_weights():
    model = _functional()
    xs = [np.random.default_rng(i).normal(size=(5, 4)).astype("float32") for i in range(2)]
    clone = clone_model(model)
    assert type(clone) is type(model) and clone.name == "net"
    assert [layer.name for layer in clone.layers] == [layer.name for layer in model.layers]
    assert not {id(v) for v in clone.weights} & {id(v) for v in model.weights}
    assert len(clone.weights) == len(model.weights) == 6   # the shared layer counted once
    clone.set_weights(model.get_weights())
    got, want = _predict(clone, xs), _predict(model, xs)
    k, bias = model.get_layer("shared").get_weights()
    aux = (np.tanh(xs[0] @ k + bias) + np.tanh(xs[1] @ k + bias)) * 0.5
    np.testing.assert_allclose(want["aux"], aux, rtol=1e-5, atol=1e-6)
    for key in ("out", "aux"):
        np.testing.assert_allclose(got[key], want[key], rtol=1e-6, atol=1e-7)


def test_clone_function_call_function_and_recursive():
    model = _functional()
    seen = []

    def keep_shared(layer):   # Keras semantics: the returned layer is used as it is
        seen.append(layer.name)
        return layer if layer.name == "shared" else layer.__class__.from_config(layer.get_config())
    clone = clone_model(model, clone_function=keep_shared)
    assert seen == ["shared", "block"]   # called once per layer, the nested model whole
    assert clone.get_layer("shared") is model.get_layer("shared")
    assert clone.get_layer("block") is not model.get_layer("block")
    seen.clear()
    clone_model(model, clone_function=keep_shared, recursive=True)
    assert seen == ["shared", "inner_1", "inner_2"]
    calls = []

    def doubled(layer, *args, **kwargs):
        calls.append(layer.name)
        return layer(*args, **kwargs) * 2.0
    clone = clone_model(model, call_function=doubled)
    clone.set_weights(model.get_weights())
    xs = [np.ones((2, 4), "float32"), np.zeros((2, 4), "float32")]
    assert calls == ["shared", "shared", "block"]
    np.testing.assert_allclose(_predict(clone, xs)["aux"], 2 * _predict(model, xs)["aux"],
                               rtol=1e-6)


def test_input_tensors_and_sequential_models():
    model = _functional()
    with ops.backend_scope("numpy"):
        a, b = uk.Input((4,), name="new_a"), uk.Input((4,), name="new_b")
    clone = clone_model(model, input_tensors=[a, b])
    assert clone.inputs == [a, b]
    with ops.backend_scope("numpy"):
        seq = uk.Sequential([uk.Input((6,), name="x"), layers.Dense(4), layers.Dense(1)],
                            name="seq")
        lazy = uk.Sequential([layers.Dense(4), layers.Dense(1)], name="lazy")
        t = uk.Input((6,), name="t")
    copy = clone_model(seq)
    assert type(copy) is uk.Sequential and copy.built and copy.input_shape == (None, 6)
    assert [la.name for la in copy.layers] == [la.name for la in seq.layers]
    assert clone_model(seq, input_tensors=t).inputs == [t]
    unbuilt = clone_model(lazy)
    assert type(unbuilt) is uk.Sequential and not unbuilt.built and len(unbuilt.layers) == 2
    with pytest.raises(ValueError, match="call_function does not apply to Sequential"):
        clone_model(seq, call_function=lambda layer, x: layer(x))
    with pytest.raises(ValueError, match="has 2 input"):
        clone_model(model, input_tensors=[a])
    with pytest.raises(TypeError, match="must return a Layer"):
        clone_model(seq, clone_function=lambda layer: None)
    with pytest.raises(TypeError, match="unexpected arguments"):
        clone_model(seq, bogus=1)


@uk.saving.register_keras_serializable(package="test_cloning")
class _Subclassed(uk.Model):
    def __init__(self, units=2, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.dense = layers.Dense(units)

    def call(self, x):
        return self.dense(x)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def test_subclassed_models_clone_from_their_config_only():
    model = _Subclassed(units=3, name="sub")
    clone = clone_model(model)
    assert type(clone) is _Subclassed and clone.units == 3 and clone is not model
    with pytest.raises(ValueError, match="subclassed"):
        clone_model(model, clone_function=lambda layer: layer)


def test_input_wraps_an_existing_tensor():
    with ops.backend_scope("numpy"):
        t = uk.Input((3,), name="t")
        wrapped = uk.Input(tensor=t)
        layer = uk.layers.InputLayer(input_tensor=t, name="again")
        with pytest.raises(ValueError, match="input_tensor has shape"):
            uk.layers.InputLayer(shape=(4,), input_tensor=uk.Input((3,)))
        with pytest.raises(TypeError, match="must be a KerasTensor"):
            uk.Input(tensor=np.ones((2, 3)))
    assert wrapped is t and layer.output is t and layer.batch_shape == (None, 3)
