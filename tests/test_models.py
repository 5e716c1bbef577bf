"""Sequential, functional and subclassed models: structure, summary, config, weights."""
import json
import subprocess
import sys

import numpy as np
import pytest

import unikeras as uk
from unikeras import layers, ops
from tests.conftest import to_backend


def _mlp(name=None):
    return uk.Sequential([uk.Input((6,)), layers.Dense(8, activation="relu"), layers.Dropout(0.5),
                          layers.Dense(3, activation="softmax")], name=name)


def test_sequential_structure_and_counts():
    model = _mlp()
    assert [type(layer).__name__ for layer in model.layers] == ["Dense", "Dropout", "Dense"]
    assert model.count_params() == 6 * 8 + 8 + 8 * 3 + 3
    assert [w.shape for w in model.get_weights()] == [(6, 8), (8,), (8, 3), (3,)]
    assert model.input_shape == (None, 6) and model.output_shape == (None, 3)
    assert model.get_layer(index=0) is model.layers[0]
    assert model.get_layer(model.layers[2].name) is model.layers[2]
    with pytest.raises(ValueError, match="No layer named 'nope'"):
        model.get_layer("nope")


def test_sequential_deferred_build_from_input_shape_kwarg_and_first_call(backend):
    eager = uk.Sequential([layers.Dense(4), layers.Dense(2)])
    assert not eager.built
    x = to_backend(np.ones((3, 5), "float32"), backend)
    with ops.backend_scope(backend):
        out = eager(x)
    assert ops.convert_to_numpy(out).shape == (3, 2)
    declared = uk.Sequential([layers.Dense(4, input_shape=(5,)), layers.Dense(2)])
    assert declared.built and declared.output_shape == (None, 2)


def test_summary_lists_layers_shapes_and_params(capsys):
    model = _mlp(name="mlp")
    model.summary()
    text = capsys.readouterr().out
    assert 'Model: "mlp"' in text
    assert "(None, 8)" in text and "(None, 3)" in text
    assert "Total params: 83" in text and "Trainable params: 83" in text


def test_functional_multi_input_output(backend, rng):
    with ops.backend_scope(backend):  # weights live on the backend active at build time
        a, b = uk.Input((3,), name="a"), uk.Input((2,), name="b")
        ha = layers.Dense(4, name="ha")(a)
        hb = layers.Dense(4, name="hb")(b)
        summed = ha + hb
        out1 = layers.Dense(1, name="o1")(summed)
        out2 = layers.Activation("relu", name="o2")(summed)
        model = uk.Model([a, b], [out1, out2])
    xa, xb = rng.standard_normal((5, 3)).astype("float32"), rng.standard_normal((5, 2)).astype("float32")
    with ops.backend_scope(backend):
        y1, y2 = model([to_backend(xa, backend), to_backend(xb, backend)])
    w = {layer.name: layer.get_weights() for layer in model.layers if layer.weights}
    s = xa @ w["ha"][0] + w["ha"][1] + xb @ w["hb"][0] + w["hb"][1]
    np.testing.assert_allclose(ops.convert_to_numpy(y1), s @ w["o1"][0] + w["o1"][1], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ops.convert_to_numpy(y2), np.maximum(s, 0), rtol=1e-5, atol=1e-5)


def test_functional_wrong_input_shape_is_value_error(backend):
    with ops.backend_scope(backend):
        x = uk.Input((3,), name="feat")
        model = uk.Model(x, layers.Dense(2)(x), name="fm")
    with pytest.raises(ValueError, match=r"Model 'fm': input 'feat' expects shape \(None, 3\), got \(2, 4\)"):
        model(to_backend(np.ones((2, 4), "float32"), backend))


def test_functional_disconnected_graph_is_value_error():
    a, b = uk.Input((3,)), uk.Input((3,))
    with pytest.raises(ValueError, match="not connected"):
        uk.Model([a, b], layers.Dense(1)(a))


def test_functional_duplicate_layer_names_rejected():
    x = uk.Input((3,))
    y = layers.Dense(2, name="same")(layers.Dense(3, name="same")(x))
    with pytest.raises(ValueError, match="repeated: \\['same'\\]"):
        uk.Model(x, y)


def test_subclassed_model(backend, rng):
    class TwoLayer(uk.Model):
        def __init__(self):
            super().__init__(name="two")
            self.hidden = layers.Dense(5, activation="tanh")
            self.out = layers.Dense(1)

        def call(self, x):
            return self.out(self.hidden(x))

    model = TwoLayer()
    x = rng.standard_normal((4, 3)).astype("float32")
    with ops.backend_scope(backend):
        y = model(to_backend(x, backend))
    k1, b1, k2, b2 = model.get_weights()
    np.testing.assert_allclose(ops.convert_to_numpy(y), np.tanh(x @ k1 + b1) @ k2 + b2, rtol=1e-5, atol=1e-5)
    assert model.count_params() == 3 * 5 + 5 + 5 + 1
    assert [layer.name for layer in model.layers] == [model.hidden.name, model.out.name]


def test_get_set_weights_round_trip():
    src, dst = _mlp(), _mlp()
    dst.set_weights(src.get_weights())
    for a, b in zip(src.get_weights(), dst.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("build", ["sequential", "functional"])
def test_config_round_trip_rebuilds_same_architecture(build):
    if build == "sequential":
        model = _mlp()
    else:
        x = uk.Input((6,))
        h = layers.Dense(8, activation="relu")(x)
        model = uk.Model(x, layers.Dense(2)(layers.Dropout(0.1)(h)))
    config = json.loads(model.to_json())
    clone = uk.saving.model_from_json(json.dumps(config))
    assert type(clone) is type(model)
    assert [type(layer).__name__ for layer in clone.layers] == [type(layer).__name__ for layer in model.layers]
    assert [w.shape for w in clone.get_weights()] == [w.shape for w in model.get_weights()]
    assert clone.get_config() == model.get_config()
    clone.set_weights(model.get_weights())
    x = np.random.default_rng(0).standard_normal((4, 6)).astype("float32")
    np.testing.assert_allclose(ops.convert_to_numpy(clone(x)), ops.convert_to_numpy(model(x)), rtol=1e-6)


def test_from_config_refuses_unknown_classes():
    with pytest.raises(ValueError, match="Unknown class 'os.system'"):
        uk.saving.deserialize_keras_object({"class_name": "os.system", "config": {}})


def test_registered_custom_layer_round_trips():
    @uk.saving.register_keras_serializable(package="tests")
    class Scale(uk.Layer):
        def __init__(self, factor=2.0, **kw):
            super().__init__(**kw)
            self.factor = factor

        def call(self, x):
            return x * self.factor

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    x = uk.Input((3,))
    model = uk.Model(x, Scale(3.0)(x))
    clone = uk.saving.model_from_json(model.to_json())
    assert clone.layers[1].factor == 3.0 and type(clone.layers[1]) is Scale


def test_numpy_only_model_building_in_subprocess():
    code = (
        "import sys, builtins\n"
        "real = builtins.__import__\n"
        "def guard(name, *a, **k):\n"
        "    if name.split('.')[0] in ('torch', 'jax', 'tensorflow', 'openvino', 'flax'):\n"
        "        raise ImportError('blocked ' + name)\n"
        "    return real(name, *a, **k)\n"
        "builtins.__import__ = guard\n"
        "import numpy as np, unikeras as uk\n"
        "m = uk.Sequential([uk.Input((4,)), uk.layers.Dense(3, activation='relu'), uk.layers.Dense(2)])\n"
        "m.summary(); assert m.count_params() == 23\n"
        "x = uk.Input((4,)); f = uk.Model(x, uk.layers.Dense(2)(x)); f.get_config()\n"
        "print(m(np.ones((2, 4), 'float32')).shape, uk.config.backend())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PATH": "", "UNIKERAS_BACKEND": "numpy", "HOME": "/nonexistent"})
    assert out.returncode == 0, out.stderr
    assert "(2, 2) numpy" in out.stdout


def test_import_unikeras_loads_no_framework():
    code = ("import sys, unikeras, unikeras.layers, unikeras.models, unikeras.losses, unikeras.metrics, "
            "unikeras.optimizers, unikeras.callbacks\n"
            "print(sorted(m for m in ('torch', 'jax', 'tensorflow', 'openvino', 'flax', 'keras') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
