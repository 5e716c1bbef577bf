"""Default-backend selection: env var, config file, first installed; floatx."""
import json
import os
import subprocess
import sys

import pytest

import unikeras as uk


def _backend_in_subprocess(env_extra, home):
    env = {k: v for k, v in os.environ.items() if k != "UNIKERAS_BACKEND"}
    env.update(env_extra, HOME=str(home))
    code = "import sys, unikeras; print(unikeras.config.backend()); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_env_var_wins(tmp_path):
    (tmp_path / ".unikeras").mkdir()
    (tmp_path / ".unikeras" / "unikeras.json").write_text(json.dumps({"backend": "tensorflow"}))
    assert _backend_in_subprocess({"UNIKERAS_BACKEND": "jax"}, tmp_path) == ["jax", "False"]


def test_config_file_then_first_installed(tmp_path):
    (tmp_path / ".unikeras").mkdir()
    (tmp_path / ".unikeras" / "unikeras.json").write_text(json.dumps({"backend": "tf"}))
    assert _backend_in_subprocess({}, tmp_path)[0] == "tensorflow"
    empty = tmp_path / "empty"
    empty.mkdir()
    import importlib.util
    expected = next(b for b in ("torch", "jax", "tensorflow", "numpy")
                    if b == "numpy" or importlib.util.find_spec(b))
    assert _backend_in_subprocess({}, empty) == [expected, "False"], "choosing must not import it"


def test_unknown_backend_is_value_error(tmp_path):
    env = dict(os.environ, UNIKERAS_BACKEND="mxnet", HOME=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", "import unikeras; unikeras.config.backend()"],
                         env=env, capture_output=True, text=True)
    assert out.returncode != 0 and "Unknown backend 'mxnet' from UNIKERAS_BACKEND" in out.stderr


def test_floatx_drives_weight_dtype():
    try:
        uk.config.set_floatx("float64")
        with uk.ops.backend_scope("numpy"):
            layer = uk.layers.Dense(2)
            layer(uk.Input((3,)))
        assert layer.kernel.dtype == "float64"
        assert uk.ops.convert_to_numpy(layer.kernel.value).dtype == "float64"
    finally:
        uk.config.set_floatx("float32")
    with pytest.raises(ValueError, match="unknown float dtype 'int8'"):
        uk.config.set_floatx("int8")
