"""safetensors weights: canonical names, atomic writes, cross-backend loading."""
import os
import subprocess
import sys

import numpy as np
import pytest
from safetensors.numpy import load_file

import unikeras as uk
from unikeras import layers, ops
from tests.conftest import FRAMEWORKS


def _model(backend):
    with ops.backend_scope(backend):
        return uk.Sequential([uk.Input((5,)), layers.Dense(4, activation="relu", name="hidden"),
                              layers.Dropout(0.2), layers.Dense(2, name="head")], name="net")


def test_weight_file_uses_canonical_paths(tmp_path):
    model = _model("numpy")
    path = tmp_path / "w.safetensors"
    model.save_weights(path)
    stored = load_file(str(path))
    assert sorted(stored) == ["head/bias", "head/kernel", "hidden/bias", "hidden/kernel"]
    np.testing.assert_array_equal(stored["hidden/kernel"], model.get_weights()[0])
    assert [p for p, _ in uk.saving.weight_paths(model)] == ["hidden/kernel", "hidden/bias", "head/kernel", "head/bias"]


@pytest.mark.parametrize("source", FRAMEWORKS + ["numpy"])
def test_file_from_one_backend_loads_into_every_other(tmp_path, source):
    src = _model(source)
    path = tmp_path / "w.safetensors"
    src.save_weights(path)
    x = np.random.default_rng(1).standard_normal((3, 5)).astype("float32")
    k1, b1, k2, b2 = src.get_weights()
    expected = np.maximum(x @ k1 + b1, 0) @ k2 + b2
    for target in FRAMEWORKS + ["numpy"]:
        dst = _model(target)
        dst.load_weights(path)
        for a, b in zip(src.get_weights(), dst.get_weights()):
            np.testing.assert_array_equal(a, b)
        with ops.backend_scope(target):
            np.testing.assert_allclose(ops.convert_to_numpy(dst(x)), expected, rtol=1e-5, atol=1e-6)


def test_load_by_position_when_names_differ(tmp_path):
    src = _model("numpy")
    path = tmp_path / "w.safetensors"
    src.save_weights(path)
    with ops.backend_scope("numpy"):
        other = uk.Sequential([uk.Input((5,)), layers.Dense(4), layers.Dense(2)])
    other.load_weights(path)
    for a, b in zip(src.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_mismatched_file_is_a_clear_error(tmp_path):
    src = _model("numpy")
    path = tmp_path / "w.safetensors"
    src.save_weights(path)
    with ops.backend_scope("numpy"):
        wrong = uk.Sequential([uk.Input((5,)), layers.Dense(3, name="hidden"), layers.Dense(2, name="head")])
    with pytest.raises(ValueError, match=r"hidden/kernel has shape \(5, 4\) in the file, \(5, 3\) in the model"):
        wrong.load_weights(path)
    with ops.backend_scope("numpy"):
        fewer = uk.Sequential([uk.Input((5,)), layers.Dense(2, name="only")])
    with pytest.raises(ValueError, match="missing \\['only/bias', 'only/kernel'\\]"):
        fewer.load_weights(path)


def test_save_requires_safetensors_suffix_and_respects_overwrite(tmp_path):
    model = _model("numpy")
    with pytest.raises(ValueError, match="must end in '.safetensors'"):
        model.save_weights(tmp_path / "w.h5")
    path = tmp_path / "w.safetensors"
    model.save_weights(path)
    with pytest.raises(FileExistsError):
        model.save_weights(path, overwrite=False)


def test_save_is_atomic_when_writing_fails(tmp_path, monkeypatch):
    model = _model("numpy")
    path = tmp_path / "w.safetensors"
    model.save_weights(path)
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        model.save_weights(path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["w.safetensors"], "temporary file must be removed"


def test_loading_never_unpickles(tmp_path):
    import pickle
    marker = tmp_path / "code_ran"

    class Payload:  # unpickling this would create `marker`
        def __reduce__(self):
            return (open, (str(marker), "w"))

    malicious = tmp_path / "evil.safetensors"
    malicious.write_bytes(pickle.dumps(Payload()))
    model = _model("numpy")
    with pytest.raises(Exception):
        model.load_weights(malicious)
    assert not marker.exists(), "loading a weights file must never execute code from it"


def test_weights_move_between_processes_and_backends(tmp_path):
    if len(FRAMEWORKS) < 2:
        pytest.skip("needs two frameworks")
    path = tmp_path / "w.safetensors"
    script = ("import os, numpy as np, unikeras as uk\n"
              "uk.utils.set_random_seed(3)\n"
              "m = uk.Sequential([uk.Input((5,)), uk.layers.Dense(4), uk.layers.Dense(2)])\n"
              "m.save_weights(os.environ['W'])\n"
              "print(repr(np.asarray(uk.ops.convert_to_numpy(m(np.ones((1, 5), 'float32')))).tolist()))\n")
    outs = []
    for i, backend in enumerate(FRAMEWORKS[:2]):
        env = dict(os.environ, UNIKERAS_BACKEND=backend, W=str(path) if i == 0 else str(tmp_path / "b.safetensors"))
        res = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
        outs.append(eval(res.stdout.strip().splitlines()[-1]))
    # Same seed -> same initial weights on both backends (initializers draw with NumPy).
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-5)
    a, b = load_file(str(path)), load_file(str(tmp_path / "b.safetensors"))
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
