""".unikeras archives and Keras-format configs: the registry, configs checked against Keras 3,
archives moving between backends and adapters, and training resumed from an archive."""
import json
import os

import numpy as np
import pytest

import unikeras as uk
from unikeras import layers, ops
from unikeras.common.saving import archive
from tests.conftest import FRAMEWORKS
from tests.keras_oracle import run_keras_code


# --- configs against Keras 3 ---------------------------------------------------------------------
def _family_cases():
    """(label, object) pairs: a few of each family."""
    from unikeras import constraints, initializers, losses, metrics, optimizers, regularizers
    from unikeras.activations import relu
    schedule = optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.9)
    with ops.backend_scope("numpy"):
        seq = uk.Sequential([uk.Input((4,)), layers.Dense(3, activation="relu", name="d1"),
                             layers.Dense(2, name="d2")], name="seq")
        inp = uk.Input((4,), name="inp")
        functional = uk.Model(inp, layers.Dense(2, name="out")(layers.Dense(3, name="mid")(inp)),
                              name="func")
    return [
        ("dense", layers.Dense(3, kernel_initializer=initializers.HeNormal(seed=2),
                               name="dense")),
        ("conv2d", layers.Conv2D(2, 3, padding="same", name="conv")),
        ("lstm", layers.LSTM(4, return_sequences=True, name="lstm")),
        ("batchnorm", layers.BatchNormalization(momentum=0.9, name="bn")),
        ("sequential", seq), ("functional", functional),
        ("loss_mse", losses.MeanSquaredError()),
        ("loss_cce", losses.CategoricalCrossentropy(from_logits=True)),
        ("loss_function", losses.mean_squared_error),
        ("metric_auc", metrics.AUC(num_thresholds=50)),
        ("metric_mae", metrics.MeanAbsoluteError()),
        ("optimizer_adam", optimizers.Adam(0.01)),
        ("optimizer_sgd", optimizers.SGD(0.1, momentum=0.9)),
        ("optimizer_scheduled", optimizers.RMSprop(schedule)),
        ("schedule", schedule),
        ("schedule_cosine", optimizers.schedules.CosineDecay(0.1, 100)),
        ("init_glorot", initializers.GlorotUniform(seed=1)),
        ("init_constant", initializers.Constant(0.5)),
        ("regularizer", regularizers.L1L2(0.1, 0.2)),
        ("constraint_maxnorm", constraints.MaxNorm(2.0)),
        ("constraint_nonneg", constraints.NonNeg()),
        ("activation", relu),
    ]


_KERAS_CODE = r'''
configs = json.loads(CONFIGS)
result["names"] = {}
for label, config in configs.items():
    obj = keras.saving.deserialize_keras_object(config)
    again = keras.saving.serialize_keras_object(obj)
    result["names"][label] = [again.get("module"), again.get("class_name"),
                              again.get("registered_name")]
    if label in ("sequential", "functional"):
        result["build_config_" + label] = again.get("build_config")
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
model.compile(optimizer="adam", loss="mse", metrics=["mae"])
result["compile_keys"] = sorted(model.get_compile_config())
result["from_unikeras_archive"] = keras.saving.load_model(ARCHIVE)(arrays["x"])
'''


def _keras_archive_model():
    with ops.backend_scope("numpy"):
        return uk.Sequential([uk.Input((4,)), layers.Dense(3, activation="relu", name="d1"),
                              layers.Dense(2, name="d2")], name="exported")


@pytest.fixture(scope="module")
def keras_view(tmp_path_factory):
    """Keras's re-serialization of every unikeras config, and its predictions from a
    `.keras` archive unikeras wrote (one subprocess)."""
    configs = {label: uk.saving.serialize_keras_object(obj) for label, obj in _family_cases()}
    model = _keras_archive_model()
    path = tmp_path_factory.mktemp("keras") / "exported.keras"
    model.save(path)
    x = np.random.default_rng(3).standard_normal((5, 4)).astype("float32")
    code = (f"import json\nCONFIGS = {json.dumps(json.dumps(configs))}\n"
            f"ARCHIVE = {str(path)!r}\n" + _KERAS_CODE)
    result = run_keras_code(code, {"x": x})
    k1, b1, k2, b2 = model.get_weights()
    result["expected"] = np.maximum(x @ k1 + b1, 0) @ k2 + b2
    return result


def test_keras_loads_a_keras_archive_written_by_unikeras(keras_view):
    np.testing.assert_allclose(keras_view["from_unikeras_archive"], keras_view["expected"],
                               rtol=1e-5, atol=1e-6)


def test_configs_round_trip_and_match_keras(keras_view):
    for label, obj in _family_cases():
        config = json.loads(json.dumps(uk.saving.serialize_keras_object(obj)))
        assert set(config) >= {"module", "class_name", "config", "registered_name"}, label
        # Keras reads the config and writes back the same module / class / registered name.
        module, class_name, registered = keras_view["names"][label]
        assert config["class_name"] == class_name, label
        assert config["registered_name"] == registered, label
        if label != "activation":   # Keras writes its function's own module there
            assert config["module"] == module, label
        back = uk.saving.deserialize_keras_object(config)
        if callable(obj) and not hasattr(obj, "get_config"):
            assert back is obj, label
            continue
        assert type(back) is type(obj), label
        again = json.loads(json.dumps(uk.saving.serialize_keras_object(back)))
        assert again["config"] == config["config"], label
    for label in ("sequential", "functional"):   # as Keras: [None, 4] and None
        model = dict(_family_cases())[label]
        config = json.loads(json.dumps(uk.saving.serialize_keras_object(model)))
        assert config["build_config"] == keras_view["build_config_" + label], label


def test_compile_config_has_keras_keys(keras_view):
    with ops.backend_scope("numpy"):
        model = uk.Sequential([uk.Input((4,)), layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    config = model.get_compile_config()
    assert sorted(config) == keras_view["compile_keys"]
    assert config["optimizer"]["class_name"] == "Adam" and config["loss"] == "mse"
    assert uk.saving.serialize_keras_object(model)["compile_config"] == config


# --- registry -----------------------------------------------------------------------------------
@uk.saving.register_keras_serializable(package="test_archive")
class Scale(layers.Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class Unregistered(Scale):
    pass


@uk.saving.register_keras_serializable(package="test_archive")
class TwoLayerNet(uk.Model):
    """A subclassed model: built on its first call, saved through its get_config."""

    def __init__(self, units=3, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.hidden = layers.Dense(units, activation="tanh", name="hidden")
        self.head = layers.Dense(1, name="head")

    def call(self, x):
        return self.head(self.hidden(x))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def test_registry_names_and_custom_object_scopes():
    assert uk.saving.get_registered_name(Scale) == "test_archive>Scale"
    assert uk.saving.get_registered_object("test_archive>Scale") is Scale
    assert uk.saving.get_custom_objects()["test_archive>Scale"] is Scale
    assert uk.saving.get_registered_name(Unregistered) == "Unregistered"   # not inherited
    assert uk.utils.custom_object_scope is uk.saving.custom_object_scope
    assert uk.utils.CustomObjectScope is uk.saving.CustomObjectScope
    config = uk.saving.serialize_keras_object(Scale(3.0, name="s"))
    assert (config["module"], config["registered_name"]) == (__name__, "test_archive>Scale")
    back = uk.saving.deserialize_keras_object(config)
    assert type(back) is Scale and back.factor == 3.0 and back.name == "s"

    config = uk.saving.serialize_keras_object(Unregistered(name="u"))
    assert config["registered_name"] == "Unregistered"
    with pytest.raises(ValueError, match=r"Unknown class 'Unregistered'.*register_keras_"
                                         r"serializable.*custom_objects"):
        uk.saving.deserialize_keras_object(config)
    assert type(uk.saving.deserialize_keras_object(
        config, custom_objects={"Unregistered": Unregistered})) is Unregistered
    with uk.saving.custom_object_scope({"Unregistered": Unregistered}):
        assert type(uk.saving.deserialize_keras_object(config)) is Unregistered
        assert uk.saving.get_registered_object("Unregistered") is Unregistered
    assert uk.saving.get_registered_object("Unregistered") is None
    with pytest.raises(ValueError, match="Unknown class 'Unregistered'"):
        uk.saving.deserialize_keras_object(config)


# --- archives -----------------------------------------------------------------------------------
def _mlp(backend):
    with ops.backend_scope(backend):
        return uk.Sequential([uk.Input((5,)), layers.Dense(4, activation="relu", name="hidden"),
                              layers.BatchNormalization(name="bn"), layers.Dense(2, name="head")],
                             name="mlp")


def _mlp_reference(weights, x):
    k1, b1, gamma, beta, mean, var, k2, b2 = weights
    h = np.maximum(x @ k1 + b1, 0)
    h = (h - mean) / np.sqrt(var + 1e-3) * gamma + beta
    return h @ k2 + b2


def _numpy_out(value):
    return np.asarray(ops.convert_to_numpy(value))


def test_archive_contents_and_atomic_write(tmp_path):
    import zipfile
    model = _mlp("numpy")
    path = tmp_path / "m.unikeras"
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["config.json", "metadata.json", "model.safetensors"]
        config = json.loads(zf.read("config.json"))
        metadata = json.loads(zf.read("metadata.json"))
    assert config["class_name"] == "Sequential" and "compile_config" not in config
    assert metadata["unikeras_version"] == uk.__version__ and metadata["backend"] == "numpy"
    assert metadata["date_saved"][:4].isdigit()
    assert uk.saving.read_metadata(path) == metadata
    assert os.listdir(tmp_path) == ["m.unikeras"], "no temporary file may be left behind"
    with pytest.raises(FileExistsError):
        model.save(path, overwrite=False)
    with pytest.raises(ValueError, match="must end in '.unikeras'"):
        model.save(tmp_path / "m.zip")
    before = path.read_bytes()
    original = os.replace

    def failing_replace(*args):
        raise OSError("disk full")
    os.replace = failing_replace
    try:
        with pytest.raises(OSError, match="disk full"):
            uk.saving.save_model(_mlp("numpy"), path)
    finally:
        os.replace = original
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["m.unikeras"]


@pytest.mark.parametrize("source", FRAMEWORKS)
def test_archive_loads_on_every_backend_and_adapter(tmp_path, source):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 5)).astype("float32")
    model = _mlp(source)
    weights = [w + rng.uniform(0.1, 0.5, w.shape).astype("float32") for w in model.get_weights()]
    model.set_weights(weights)   # moving statistics away from 0 / 1 so they must be loaded
    with ops.backend_scope(source):
        sub = TwoLayerNet(units=3, name="net")
        sub(x)
    path, sub_path = tmp_path / "m.unikeras", tmp_path / "sub.unikeras"
    model.save(path)
    sub.save(sub_path)
    expected = _mlp_reference(weights, x)
    k1, b1, k2, b2 = sub.get_weights()
    sub_expected = np.tanh(x @ k1 + b1) @ k2 + b2
    assert archive.read_metadata(path)["backend"] == source
    for target in FRAMEWORKS + ["numpy"]:
        with ops.backend_scope(target):
            loaded, loaded_sub = uk.saving.load_model(path), uk.saving.load_model(sub_path)
            assert type(loaded_sub) is TwoLayerNet and loaded_sub.units == 3
            for got, want in ((loaded(x), expected), (loaded_sub(x), sub_expected)):
                np.testing.assert_allclose(_numpy_out(got), want, rtol=1e-5, atol=1e-6)
        assert {v.backend for v in loaded.weights} == {target}
    loaded = uk.saving.load_model(path)
    outputs = {}
    if "torch" in FRAMEWORKS:
        import torch
        from unikeras.adapters.torch_nn import to_torch
        outputs["torch"] = to_torch(loaded).eval()(torch.from_numpy(x)).detach().numpy()
    if "jax" in FRAMEWORKS:
        from unikeras.adapters.flax import to_flax
        flax_model = to_flax(loaded)
        flax_model.eval()
        outputs["flax"] = np.asarray(flax_model(x))
    if "tensorflow" in FRAMEWORKS:
        import tensorflow as tf
        from unikeras.adapters.tf_module import to_tf
        outputs["tf"] = to_tf(loaded)(tf.constant(x)).numpy()
    if source == FRAMEWORKS[0]:   # OpenVINO compiles are slow: once
        from unikeras.adapters import openvino as uov
        outputs["openvino"] = uov.compile(loaded)(x)
    for name, got in outputs.items():
        np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-5, atol=1e-5, err_msg=name)


def _regression_data():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((32, 4)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5], [3.0]], "float32") + 0.25).astype("float32")
    return x, y


@pytest.mark.parametrize("backend", [b for b in ("torch", "jax") if b in FRAMEWORKS])
def test_training_resumes_from_archive(tmp_path, backend):
    from unikeras import losses, metrics, optimizers
    x, y = _regression_data()

    def fresh(initial=None):
        with ops.backend_scope(backend):
            model = uk.Sequential([uk.Input((4,)), layers.Dense(8, activation="relu", name="h"),
                                   layers.Dense(1, name="o")])
        if initial is not None:
            model.set_weights(initial)
        schedule = optimizers.schedules.ExponentialDecay(0.01, decay_steps=3, decay_rate=0.5)
        model.compile(optimizer=optimizers.Adam(schedule, beta_1=0.8),
                      loss=losses.MeanSquaredError(), loss_weights=2.0,
                      metrics=["mae", metrics.RootMeanSquaredError(name="rmse")])
        return model

    straight = fresh()
    initial = straight.get_weights()
    straight.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)

    resumed = fresh(initial)
    resumed.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    path = tmp_path / "ckpt.unikeras"
    resumed.save(path)
    with ops.backend_scope(backend):
        loaded = uk.saving.load_model(path)
    assert int(_numpy_out(loaded.optimizer.iterations)) == 4
    assert isinstance(loaded.optimizer, optimizers.Adam) and loaded.optimizer.beta_1 == 0.8
    assert loaded.get_compile_config() == resumed.get_compile_config()
    history = loaded.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    assert sorted(history.history) == ["loss", "mae", "rmse"]
    for got, want in zip(loaded.get_weights(), straight.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)

    # Without the optimizer state, the settings come back but the optimizer starts afresh.
    resumed.save(path, include_optimizer=False)
    with ops.backend_scope(backend):
        bare = uk.saving.load_model(path)
        not_compiled = uk.saving.load_model(path, compile=False)
    assert bare.compiled and not bare.optimizer.built
    assert not not_compiled.compiled
    for got, want in zip(bare.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(got, want)



_KILL_SAVES = r"""
import os, signal, sys, time
import numpy as np
import unikeras as uk
path, rounds = sys.argv[1], int(sys.argv[2])
with uk.ops.backend_scope("numpy"):
    model = uk.Sequential([uk.Input((512,)), uk.layers.Dense(512), uk.layers.Dense(512)])
rng = np.random.default_rng(0)
model.save(path)
for _ in range(rounds):
    child = os.fork()
    if child == 0:   # save over and over with a new constant kernel, until killed
        step = 0
        while True:
            step += 1
            model.layers[0].kernel.assign(np.full((512, 512), step, "float32"))
            model.save(path)
    time.sleep(rng.uniform(0.005, 0.15))
    os.kill(child, signal.SIGKILL)
    os.waitpid(child, 0)
    kernel = uk.saving.load_model(path).layers[0].get_weights()[0]
    assert np.all(kernel == kernel[0, 0]), "a mix of two saves"
print("ok", rounds)
"""


def test_sigkill_during_save_never_leaves_a_corrupt_archive(tmp_path):
    """SIGKILL a process saving in a loop, at random moments: the final path always holds a
    complete archive (temporary files of killed writes may remain beside it)."""
    import subprocess
    import sys
    path = tmp_path / "m.unikeras"
    env = dict(os.environ, UNIKERAS_BACKEND="numpy")
    proc = subprocess.run([sys.executable, "-c", _KILL_SAVES, str(path), "8"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["ok", "8"]
