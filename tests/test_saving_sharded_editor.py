"""Sharded weights (`save_weights(..., max_shard_size=GB)`, Keras's `.weights.json` index
beside `.weights.h5` shards) and `unikeras.saving.KerasFileEditor`. Keras 3 (one numpy-backend
subprocess) reads what unikeras writes and writes what unikeras reads."""
import json
import os

import numpy as np
import pytest

import unikeras as uk
from unikeras import layers, ops
from unikeras.common.saving import keras_h5
from tests.conftest import FRAMEWORKS
from tests.keras_oracle import run_keras_code

pytest.importorskip("h5py")
LIMIT_BYTES = 200   # every variable of the MLP below fits; the model does not


def _mlp(backend, seed=0, units=3):
    with ops.backend_scope(backend):
        model = uk.Sequential([uk.Input((6,)), layers.Dense(8, activation="relu", name="dense"),
                               layers.BatchNormalization(name="batch_normalization"),
                               layers.Dense(units, name="dense_1")])
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(0.5, 1.5, w.shape).astype("float32")
                       for w in model.get_weights()])
    return model


def _predict(model, x):
    return np.asarray(ops.convert_to_numpy(model.predict(x, verbose=0)))


_KERAS_CODE = r'''
folder = FOLDER
def mlp(units=3):
    return keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"),
                             keras.layers.BatchNormalization(), keras.layers.Dense(units)])
x = arrays["x"]
theirs = mlp()
theirs.load_weights(folder + "/ours.weights.json")
result["ours_sharded"] = theirs.predict(x, verbose=0)
edited = mlp(units=5)
edited.load_weights(folder + "/edited.weights.h5")
result["edited"] = edited.predict(x, verbose=0)
rng = np.random.default_rng(7)
model = mlp()
model.set_weights([rng.uniform(0.5, 1.5, w.shape).astype("float32") for w in model.get_weights()])
model.save_weights(folder + "/keras.weights.json", max_shard_size=LIMIT / 2**30)
result["keras"] = model.predict(x, verbose=0)
result["keras_files"] = sorted(os.listdir(folder))
'''


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Our sharded file and an edited file (head widened to 5 units), Keras's reading of
    both, and a sharded file Keras wrote; the references are computed on NumPy."""
    folder = tmp_path_factory.mktemp("sharded")
    x = np.random.default_rng(1).normal(size=(5, 6)).astype("float32")
    ours = _mlp("numpy")
    ours.save_weights(str(folder / "ours.weights.json"), max_shard_size=LIMIT_BYTES / 2**30)
    ours.save_weights(str(folder / "plain.weights.h5"))
    editor = uk.saving.KerasFileEditor(str(folder / "plain.weights.h5"))
    editor.delete_object("dense_1")
    head = np.arange(40, dtype="float32").reshape(8, 5) / 40
    editor.add_object("layers/dense_1", [head, np.full(5, 0.5, "float32")])
    editor.save(str(folder / "edited.weights.h5"))
    code = ("import os\nLIMIT = %d\n" % LIMIT_BYTES) + _KERAS_CODE.replace(
        "FOLDER", repr(str(folder)))
    result = run_keras_code(code, {"x": x})
    return folder, x, ours, head, result


def test_sharded_files_keras_reads_and_writes(files):
    folder, x, ours, head, result = files
    index = json.loads((folder / "ours.weights.json").read_text())
    shards = sorted(f for f in os.listdir(folder) if f.startswith("ours_"))
    assert shards == ["ours_00000.weights.h5", "ours_00001.weights.h5", "ours_00002.weights.h5"]
    assert sorted({n for names in index["weight_map"].values() for n in names}) == shards
    assert index["metadata"]["total_size"] == sum(w.nbytes for w in ours.get_weights())
    for shard in shards:   # no shard above the limit (every variable fits in one)
        stored = keras_h5.read(str(folder / shard))
        assert 0 < sum(a.nbytes for a in stored.values()) <= LIMIT_BYTES
    np.testing.assert_allclose(result["ours_sharded"], _predict(ours, x), rtol=1e-5, atol=1e-6)
    # The edited file: the first layers as they were, the new head as written.
    hidden = np.maximum(x @ ours.get_weights()[0] + ours.get_weights()[1], 0)
    gamma, beta, mean, var = ours.get_weights()[2:6]
    normed = (hidden - mean) / np.sqrt(var + 1e-3) * gamma + beta
    np.testing.assert_allclose(result["edited"], normed @ head + 0.5, rtol=1e-5, atol=1e-6)
    assert "keras.weights.json" in result["keras_files"]
    assert sum(f.startswith("keras_") for f in result["keras_files"]) >= 2


@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_sharded_files_load_on_every_backend(files, backend):
    folder, x, ours, _, result = files
    model = _mlp(backend, seed=3)
    model.load_weights(str(folder / "keras.weights.json"))
    np.testing.assert_allclose(_predict(model, x), result["keras"], rtol=1e-5, atol=1e-6)
    model.load_weights(str(folder / "ours.weights.json"))
    for a, b in zip(model.get_weights(), ours.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_sharded_optimizer_state_and_stale_shards(tmp_path):
    data = np.random.default_rng(0).normal(size=(16, 6)).astype("float32"), np.zeros((16, 3))
    model = _mlp("torch")
    model.compile(optimizer="adam", loss="mse")
    model.fit(*data, epochs=1, batch_size=8, verbose=0)
    path = str(tmp_path / "m.weights.h5")   # renamed to .weights.json, as Keras does
    model.save_weights(path, max_shard_size=LIMIT_BYTES / 2**30)
    assert not os.path.exists(path) and os.path.exists(tmp_path / "m.weights.json")
    many = sorted(os.listdir(tmp_path))
    restored = _mlp("torch", seed=5)
    restored.compile(optimizer="adam", loss="mse")
    restored.load_weights(str(tmp_path / "m.weights.json"))
    for a, b in zip(restored.optimizer.variables, model.optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    model.save_weights(str(tmp_path / "m.weights.json"), max_shard_size=1.0)
    assert len(many) > 2 and sorted(os.listdir(tmp_path)) == ["m.weights.json",
                                                              "m_00000.weights.h5"]
    with pytest.raises(FileExistsError):
        model.save_weights(str(tmp_path / "m.weights.json"), overwrite=False, max_shard_size=1)
    with pytest.raises(ValueError, match="max_shard_size"):
        model.save_weights(str(tmp_path / "m.weights.json"))
    with pytest.raises(ValueError, match="max_shard_size must be a positive"):
        model.save_weights(str(tmp_path / "m.weights.json"), max_shard_size=0)
    with pytest.raises(ValueError, match="Keras's layout"):
        model.save_weights(str(tmp_path / "m.safetensors"), max_shard_size=1)


def _write_index(folder, weight_map):
    path = folder / f"bad_{len(os.listdir(folder))}.weights.json"
    path.write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    return str(path)


def test_bad_sharded_indexes_are_refused_and_change_nothing(tmp_path):
    model = _mlp("numpy")
    model.save_weights(str(tmp_path / "ok.weights.json"), max_shard_size=LIMIT_BYTES / 2**30)
    before = model.get_weights()
    outside = tmp_path / "outside"
    outside.mkdir()
    cases = [
        (_write_index(tmp_path, {"/layers/dense/vars": ["../outside/x.weights.h5"]}),
         ValueError, "index's own folder"),
        (_write_index(tmp_path, {"/layers/dense/vars": ["/etc/passwd"]}), ValueError,
         "index's own folder"),
        (_write_index(tmp_path, {"/layers/dense/vars": ["gone.weights.h5"]}), OSError,
         "does not exist"),
        (_write_index(tmp_path, {"/a/vars": ["ok_00000.weights.h5"],
                                 "/b/vars": ["ok_00000.weights.h5", "ok_00001.weights.h5",
                                             "ok_00002.weights.h5", "ok_00000.weights.h5"]}),
         None, None),
    ]
    broken = tmp_path / "broken.weights.json"
    broken.write_text("{not json")
    cases.append((str(broken), ValueError, "not valid JSON"))
    for path, error, match in cases:
        if error is None:   # shards listed twice are read once: this one loads
            model.load_weights(path)
            continue
        with pytest.raises(error, match=match):
            model.load_weights(path)
    (tmp_path / "ok_00001.weights.h5").write_bytes(b"\x89HDF\r\n\x1a\n truncated")
    with pytest.raises(OSError, match="ok_00001.weights.h5"):
        model.load_weights(str(tmp_path / "ok.weights.json"))
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_file_editor_edits_and_checks_keras_layout(tmp_path, capsys):
    model = _mlp("numpy")
    path = str(tmp_path / "m.weights.h5")
    model.save_weights(path)
    editor = uk.saving.KerasFileEditor(path)
    editor.summary()
    printed = capsys.readouterr().out
    assert "layers/batch_normalization" in printed and "shape=(6, 8)" in printed
    np.testing.assert_array_equal(editor.weights_dict["layers"]["dense"]["0"],
                                  model.get_weights()[0])
    wider = _mlp("numpy", units=5)
    report = editor.compare(wider)
    assert report == {"status": "error", "error_count": 2, "match_count": 6}
    assert "shape mismatch for layers/dense_1/vars/0" in capsys.readouterr().out
    assert editor.compare(model) == {"status": "success", "error_count": 0, "match_count": 8}
    # rename, then add the weights under the old name again, weight by weight
    editor.rename_object("dense_1", "old_head")
    editor.add_object("layers/dense_1", {"0": np.ones((8, 5), "float32")})
    editor.add_weights("layers/dense_1", {"1": np.zeros(5, "float32")})
    editor.delete_weight("old_head", "1")
    assert list(editor.weights_dict["layers"]["old_head"]) == ["0"]
    editor.delete_object("layers/old_head")
    assert editor.compare(wider)["status"] == "success"
    editor.save(str(tmp_path / "wide.weights.h5"))
    wider.load_weights(str(tmp_path / "wide.weights.h5"))
    np.testing.assert_array_equal(wider.layers[-1].kernel.numpy(), np.ones((8, 5)))
    np.testing.assert_array_equal(wider.layers[0].kernel.numpy(), model.layers[0].kernel.numpy())
    # clear errors, and nothing changed by a refused edit
    for call, match in [(lambda: editor.rename_object("nope", "x"), "no object 'nope'"),
                        (lambda: editor.rename_object("dense", "a/b"), "one path part"),
                        (lambda: editor.rename_object("dense", "dense_1"), "already exists"),
                        (lambda: editor.add_object("layers/dense", [np.ones(2)]),
                         "already exists"),
                        (lambda: editor.add_weights("dense", {"0": np.ones(2)}),
                         "exists already"),
                        (lambda: editor.add_weights("dense", {"x": np.array(["a"])}),
                         "must be numeric"),
                        (lambda: editor.delete_weight("dense", "7"), "has no weight '7'"),
                        (lambda: editor.save(str(tmp_path / "x.safetensors")),
                         "write them to a '.weights.h5' file"),
                        (lambda: editor.save(str(tmp_path / "x.npz")), "must end in")]:
        with pytest.raises(ValueError, match=match):
            call()
    assert editor.compare(wider)["status"] == "success"
    editor.add_object("layers/x/cell", [np.ones(2)])
    editor.add_object("layers/y/cell", [np.ones(2)])
    with pytest.raises(ValueError, match="names several objects"):
        editor.delete_object("cell")
    editor.delete_object("layers/y/cell")
    editor.delete_object("cell")
    assert editor.weights_dict["layers"]["x"] == {}


def test_file_editor_on_unikeras_files_and_archives(tmp_path):
    model = _mlp("numpy")
    model.compile(optimizer="adam", loss="mse")
    model.save_weights(str(tmp_path / "m.safetensors"))
    model.save(str(tmp_path / "m.unikeras"))
    model.save(str(tmp_path / "m.keras"))
    archive = uk.saving.KerasFileEditor(str(tmp_path / "m.unikeras"))
    assert archive.compare(model)["status"] == "success"
    keras_archive = uk.saving.KerasFileEditor(str(tmp_path / "m.keras"))
    assert keras_archive.compare(model) == {"status": "success", "error_count": 0,
                                            "match_count": 8}
    editor = uk.saving.KerasFileEditor(str(tmp_path / "m.safetensors"))
    assert list(editor.weights_dict["dense"]) == ["kernel", "bias"]
    with ops.backend_scope("numpy"):
        renamed = uk.Sequential([uk.Input((6,)), layers.Dense(8, activation="relu", name="a"),
                                 layers.BatchNormalization(name="b"), layers.Dense(3, name="c")])
    assert editor.compare(renamed)["error_count"] == 16   # 8 missing + 8 unexpected
    for old, new in (("dense", "a"), ("batch_normalization", "b"), ("dense_1", "c")):
        editor.rename_object(old, new)
    assert editor.compare(renamed)["status"] == "success"
    editor.save(str(tmp_path / "renamed.safetensors"))
    renamed.load_weights(str(tmp_path / "renamed.safetensors"))
    for a, b in zip(renamed.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="must end in one of"):
        uk.saving.KerasFileEditor(str(tmp_path / "m.txt"))
    with pytest.raises(FileNotFoundError):
        uk.saving.KerasFileEditor(str(tmp_path / "none.weights.h5"))
