"""Keras 3 migration: `.keras` archives and `.weights.h5` files written by Keras itself load
into unikeras and predict the same, optimizer state included; unikeras's `.weights.h5` loads
into Keras. One Keras subprocess (on torch) writes every file and computes every reference."""
import os
import zipfile

import numpy as np
import pytest

import unikeras as uk
from unikeras import layers, ops
from unikeras.common.saving.keras_archive import load_keras_archive
from tests.conftest import FRAMEWORKS
from tests.keras_oracle import run_keras_code

pytest.importorskip("h5py")

_KERAS_CODE = r'''
import os
folder = FOLDER
keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)

def randomize(model):   # weights (BatchNormalization moving stats too) away from their init
    model.set_weights([rng.uniform(0.5, 1.5, w.shape).astype("float32")
                       for w in model.get_weights()])

def mlp():
    return keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"),
                             keras.layers.Dense(3)])

def cnn():
    x = keras.Input((8, 8, 3))
    y = keras.layers.Conv2D(4, 3)(x)
    y = keras.layers.BatchNormalization()(y)
    y = keras.layers.Activation("relu")(y)
    y = keras.layers.Flatten()(y)
    return keras.Model(x, keras.layers.Dense(2)(y))

def lstm():
    return keras.Sequential([keras.Input((5,), dtype="int32"),
                             keras.layers.Embedding(10, 4, mask_zero=True),
                             keras.layers.LSTM(3, return_sequences=True), keras.layers.LSTM(2),
                             keras.layers.Dense(1)])

def two_inputs():
    a, b = keras.Input((5, 4)), keras.Input((2,))
    y = keras.layers.GRU(3, return_sequences=True)(a)
    y = keras.layers.GRU(3)(y)
    y = keras.layers.Concatenate()([y, keras.layers.Dense(3)(b)])
    return keras.Model([a, b], keras.layers.Dense(1)(y))

def with_lambda():
    return keras.Sequential([keras.Input((6,)), keras.layers.Lambda(lambda t: t * 2.0 - 1.0),
                             keras.layers.Dense(3)])

for name, build in (("mlp", mlp), ("cnn", cnn), ("lstm", lstm), ("two_inputs", two_inputs),
                    ("lambda", with_lambda)):
    model = build()
    randomize(model)
    model.save(os.path.join(folder, name + ".keras"))
    model.save_weights(os.path.join(folder, name + ".weights.h5"))
    x = ([arrays["two_inputs_a"], arrays["two_inputs_b"]] if name == "two_inputs"
         else arrays.get(name + "_x", arrays["mlp_x"]))
    result[name] = model.predict(x, verbose=0)

adam = mlp()
adam.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
adam.fit(arrays["train_x"], arrays["train_y"], batch_size=4, epochs=1, shuffle=False, verbose=0)
adam.save(os.path.join(folder, "adam.keras"))
result["adam"] = adam.predict(arrays["mlp_x"], verbose=0)
result["adam_slots"] = len(adam.optimizer.variables)
for i, v in enumerate(adam.optimizer.variables):
    result[f"adam_slot_{i}"] = v.numpy()
adam.train_on_batch(arrays["train_x"][:4], arrays["train_y"][:4])   # training resumes
for i, w in enumerate(adam.get_weights()):
    result[f"adam_resumed_{i}"] = w

for name, build in (("mlp", mlp), ("cnn", cnn)):   # files that unikeras wrote
    model = build()
    model.load_weights(os.path.join(folder, "uk_" + name + ".weights.h5"))
    result["keras_reads_uk_" + name] = model.predict(arrays[name + "_x"], verbose=0)
'''


def _mlp():
    return uk.Sequential([uk.Input((6,)), layers.Dense(8, activation="relu"), layers.Dense(3)])


def _cnn():
    x = uk.Input((8, 8, 3))
    y = layers.Conv2D(4, 3)(x)
    y = layers.BatchNormalization()(y)
    y = layers.Activation("relu")(y)
    y = layers.Flatten()(y)
    return uk.Model(x, layers.Dense(2)(y))


def _lstm():
    return uk.Sequential([uk.Input((5,), dtype="int32"), layers.Embedding(10, 4, mask_zero=True),
                          layers.LSTM(3, return_sequences=True), layers.LSTM(2), layers.Dense(1)])


def _two_inputs():
    a, b = uk.Input((5, 4)), uk.Input((2,))
    y = layers.GRU(3, return_sequences=True)(a)
    y = layers.GRU(3)(y)
    y = layers.Concatenate()([y, layers.Dense(3)(b)])
    return uk.Model([a, b], layers.Dense(1)(y))


_BUILDERS = {"mlp": _mlp, "cnn": _cnn, "lstm": _lstm, "two_inputs": _two_inputs}


def _inputs():
    rng = np.random.default_rng(1)
    tokens = rng.integers(1, 10, (4, 5)).astype("int32")
    tokens[0, 3:] = 0   # padded steps, masked by Embedding(mask_zero=True)
    tokens[2, 1:] = 0
    return {"mlp_x": rng.standard_normal((4, 6)).astype("float32"),
            "cnn_x": rng.standard_normal((3, 8, 8, 3)).astype("float32"),
            "lstm_x": tokens,
            "two_inputs_a": rng.standard_normal((4, 5, 4)).astype("float32"),
            "two_inputs_b": rng.standard_normal((4, 2)).astype("float32"),
            "train_x": rng.standard_normal((8, 6)).astype("float32"),
            "train_y": rng.standard_normal((8, 3)).astype("float32")}


def _randomized(build, seed):
    """A unikeras model (NumPy backend) whose weights are all random in [0.5, 1.5]."""
    rng = np.random.default_rng(seed)
    with ops.backend_scope("numpy"):
        model = build()
    model.set_weights([rng.uniform(0.5, 1.5, w.shape).astype("float32")
                       for w in model.get_weights()])
    return model


def _model_inputs(arrays, name):
    if name == "two_inputs":
        return [arrays["two_inputs_a"], arrays["two_inputs_b"]]
    return arrays[("mlp" if name in ("adam", "lambda") else name) + "_x"]


def _predict(model, x, backend):
    with ops.backend_scope(backend):
        x = ([ops.convert_to_tensor(a) for a in x] if isinstance(x, list)
             else ops.convert_to_tensor(x))
        return ops.convert_to_numpy(model(x))


@pytest.fixture(scope="module")
def keras_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keras_files")
    arrays = _inputs()
    ours = {}
    for seed, name in enumerate(("mlp", "cnn")):
        model = _randomized(_BUILDERS[name], seed)
        model.save_weights(folder / f"uk_{name}.weights.h5")
        ours[name] = _predict(model, arrays[name + "_x"], "numpy")
    code = _KERAS_CODE.replace("FOLDER", repr(str(folder)))
    result = run_keras_code(code, arrays, backend="torch")
    return folder, arrays, result, ours


# Which Keras models each backend loads: all three load the MLP; each other model loads on
# at least one backend.
_PER_BACKEND = {"torch": ["mlp", "cnn", "adam"], "jax": ["mlp", "two_inputs"],
                "tensorflow": ["mlp", "cnn", "lstm", "adam"]}


@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_keras_archives_and_weights_predict_as_keras(keras_run, backend):
    folder, arrays, result, _ = keras_run
    for name in _PER_BACKEND[backend]:
        x = _model_inputs(arrays, name)
        with ops.backend_scope(backend):
            model = load_keras_archive(folder / f"{name}.keras")
        np.testing.assert_allclose(_predict(model, x, backend), result[name], rtol=1e-5,
                                   atol=1e-5, err_msg=f"{name}.keras on {backend}")
        if name == "adam":
            continue
        with ops.backend_scope(backend):
            twin = _BUILDERS[name]()
        twin.load_weights(folder / f"{name}.weights.h5")
        np.testing.assert_allclose(_predict(twin, x, backend), result[name], rtol=1e-5,
                                   atol=1e-5, err_msg=f"{name}.weights.h5 on {backend}")


@pytest.mark.parametrize("backend", [b for b in ("torch", "tensorflow") if b in FRAMEWORKS])
def test_keras_optimizer_state_loads_and_training_resumes(keras_run, backend):
    folder, arrays, result, _ = keras_run
    with ops.backend_scope(backend):
        model = load_keras_archive(folder / "adam.keras")
    slots = [np.asarray(v.numpy()) for v in model.optimizer.variables]
    assert len(slots) == result["adam_slots"] == 2 + 2 * 4   # iterations, lr, (m, v) per weight
    assert int(slots[0]) == 2                                 # two steps were taken in Keras
    for i, slot in enumerate(slots):
        np.testing.assert_allclose(slot, result[f"adam_slot_{i}"], rtol=1e-5, atol=1e-7,
                                   err_msg=f"optimizer variable {i}")
    with ops.backend_scope(backend):
        model.train_on_batch(arrays["train_x"][:4], arrays["train_y"][:4])
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, result[f"adam_resumed_{i}"], rtol=1e-5, atol=1e-6)


def test_keras_lambda_needs_safe_mode_off(keras_run):
    folder, arrays, result, _ = keras_run
    with pytest.raises(ValueError, match="safe_mode=False"):
        load_keras_archive(folder / "lambda.keras")
    backend = (FRAMEWORKS or ["numpy"])[0]
    with ops.backend_scope(backend):
        model = load_keras_archive(folder / "lambda.keras", safe_mode=False)
    np.testing.assert_allclose(_predict(model, arrays["mlp_x"], backend), result["lambda"],
                               rtol=1e-5, atol=1e-5)


def test_keras_reads_unikeras_weights_h5(keras_run):
    _, _, result, ours = keras_run
    for name, expected in ours.items():
        np.testing.assert_allclose(result["keras_reads_uk_" + name], expected, rtol=1e-5, atol=1e-5)


@pytest.mark.skipif(not FRAMEWORKS, reason="training needs torch, jax or tensorflow")
def test_unikeras_h5_round_trip_keeps_optimizer_state(tmp_path):
    arrays, backend = _inputs(), FRAMEWORKS[0]
    with ops.backend_scope(backend):
        model, other = _mlp(), _mlp()
        for m in (model, other):
            m.compile(optimizer="adam", loss="mse")
        model.train_on_batch(arrays["train_x"], arrays["train_y"])
    model.save_weights(tmp_path / "m.weights.h5")
    other.load_weights(tmp_path / "m.weights.h5")
    assert len(other.optimizer.variables) == 2 + 2 * 4
    for a, b in zip(model.get_weights() + [v.numpy() for v in model.optimizer.variables],
                    other.get_weights() + [v.numpy() for v in other.optimizer.variables]):
        np.testing.assert_array_equal(a, b)
    assert sorted(os.listdir(tmp_path)) == ["m.weights.h5"], "no temporary file may remain"


def _assert_unchanged(model, before):
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("suffix", [".weights.h5", ".safetensors"])
def test_damaged_files_name_the_file_and_change_nothing(tmp_path, suffix):
    source = _randomized(_mlp, 0)
    good = tmp_path / f"good{suffix}"
    source.save_weights(good)
    truncated = tmp_path / f"truncated{suffix}"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    garbage = tmp_path / f"garbage{suffix}"
    garbage.write_bytes(np.random.default_rng(0).bytes(3000))
    target = _randomized(_mlp, 1)
    before = target.get_weights()
    for bad in (truncated, garbage):
        with pytest.raises((ValueError, OSError), match=bad.name) as info:
            target.load_weights(bad)
        assert type(info.value) in (ValueError, OSError), type(info.value)
        _assert_unchanged(target, before)


def test_h5_with_data_in_another_file_is_refused(tmp_path):
    import h5py
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.arange(8, dtype="float32").tobytes())
    path = tmp_path / "outside.weights.h5"
    with h5py.File(path, "w") as f:
        for i, shape in enumerate([(6, 8), (8,)]):
            f.create_dataset(f"layers/dense/vars/{i}", data=np.zeros(shape, "float32"))
        f.create_dataset("layers/dense_1/vars/0", shape=(8, 3), dtype="float32",
                         external=[(str(secret), 0, 96)])
    with pytest.raises(ValueError, match="refers to data outside itself"):
        _randomized(_mlp, 0).load_weights(path)


@pytest.mark.parametrize("suffix", [".weights.h5", ".safetensors"])
def test_mismatch_lists_every_key_and_skip_mismatch_loads_the_rest(tmp_path, suffix):
    path = tmp_path / f"w{suffix}"
    source = _randomized(lambda: uk.Sequential([uk.Input((6,)), layers.Dense(8, name="a"),
                                                layers.Dense(3, name="b"),
                                                layers.Dense(2, name="c")]), 0)
    source.save_weights(path)
    with ops.backend_scope("numpy"):   # `b` is wider, `c` is gone, `d` is new
        target = uk.Sequential([uk.Input((6,)), layers.Dense(8, name="a"),
                                layers.Dense(4, name="b"), layers.Dense(2, name="d"),
                                layers.Dense(2, name="e")])
    before = target.get_weights()
    with pytest.raises(ValueError) as info:
        target.load_weights(path)
    message = str(info.value)
    _assert_unchanged(target, before)
    if suffix == ".safetensors":   # keyed by layer name
        assert "missing ['d/bias', 'd/kernel', 'e/bias', 'e/kernel']" in message
        assert "unexpected ['c/bias', 'c/kernel']" in message
        assert "b/kernel has shape (8, 3) in the file, (8, 4) in the model" in message
        assert "b/bias has shape (3,) in the file, (4,) in the model" in message
    else:                          # keyed by tree position, as Keras does
        assert "missing ['layers/dense_3/vars/0', 'layers/dense_3/vars/1']" in message
        assert "layers/dense_1/vars/0 has shape (8, 3) in the file, (8, 4) in the model" in message
        assert "layers/dense_2/vars/0 has shape (3, 2) in the file, (4, 2) in the model" in message
        assert "unexpected" not in message
    assert str(path) in message
    target.load_weights(path, skip_mismatch=True)
    np.testing.assert_array_equal(target.get_weights()[0], source.get_weights()[0])
    np.testing.assert_array_equal(target.get_weights()[1], source.get_weights()[1])
    for after, old in zip(target.get_weights()[2:], before[2:]):
        np.testing.assert_array_equal(after, old)


def test_missing_h5py_names_the_extra(tmp_path, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(ImportError, match=r"unikeras\[h5\]"):
        _randomized(_mlp, 0).save_weights(tmp_path / "w.weights.h5")
    assert not os.listdir(tmp_path)


def test_bad_keras_archives_are_refused(tmp_path, monkeypatch):
    from unikeras.common.saving import keras_archive
    not_zip = tmp_path / "not_zip.keras"
    not_zip.write_bytes(b"PK\x03\x04 but not a zip")
    with pytest.raises(ValueError, match="not_zip.keras"):
        load_keras_archive(not_zip)
    empty = tmp_path / "empty.keras"   # only an entry escaping the folder
    with zipfile.ZipFile(empty, "w") as z:
        z.writestr("../../escape.json", "{}")
    with pytest.raises(ValueError, match="could escape the target folder"):
        load_keras_archive(empty)
    incomplete = tmp_path / "incomplete.keras"
    with zipfile.ZipFile(incomplete, "w") as z:
        z.writestr("config.json", "{}")
    with pytest.raises(ValueError, match="missing \\['metadata.json', 'model.weights.h5'\\]"):
        load_keras_archive(incomplete)
    bomb = tmp_path / "bomb.keras"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name in ("config.json", "metadata.json", "model.weights.h5"):
            z.writestr(name, b" " * 4096)
    monkeypatch.setattr(keras_archive, "MAX_JSON_BYTES", 1024)
    with pytest.raises(ValueError, match="above the limit of 1024 bytes"):
        load_keras_archive(bomb)
    assert sorted(os.listdir(tmp_path)) == ["bomb.keras", "empty.keras", "incomplete.keras",
                                            "not_zip.keras"]
