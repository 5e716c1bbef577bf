"""The example scripts run as users run them (`python examples/x.py` from the repository
root, a fresh process each), print nothing on stderr, and reach the figures they report."""
import os
import re
import subprocess
import sys


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run_example(name, *args):
    env = dict(os.environ)
    env.setdefault("JAX_PLATFORMS", "cpu")  # no GPU probing notices on machines with one
    result = subprocess.run([sys.executable, os.path.join("examples", name), *map(str, args)],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{name} failed:\n{result.stdout}\n{result.stderr}"
    assert result.stderr == "", f"{name} wrote to stderr:\n{result.stderr}"
    return result.stdout


def _figure(stdout, pattern):
    """The number that follows `pattern` (a regex) in the output, as a float."""
    found = re.findall(pattern + r"\s*(-?\d+(?:\.\d+)?(?:e[-+]\d+)?)", stdout)
    assert found, f"no {pattern!r} in:\n{stdout}"
    return float(found[-1])


def test_torch_drop_in():
    out = _run_example("torch_drop_in.py")
    assert _figure(out, r"test accuracy:") > 0.93, out
    losses = [float(v) for v in re.findall(r"train loss (\d+\.\d+)", out)]
    assert len(losses) == 6 and losses[-1] < losses[0] / 5, out


def test_flax_loop():
    out = _run_example("flax_loop.py")
    assert _figure(out, r"test accuracy:") > 0.88, out
    assert "encoder/lstm/lstm_cell/kernel" in out and "head/kernel" in out, out


def test_standalone_fit(tmp_path):
    out = _run_example("standalone_fit.py", tmp_path)
    assert _figure(out, r"test accuracy:") > 0.95, out
    assert _figure(out, r"max \|prediction diff\| =") <= 1e-6, out
    assert {"best.safetensors", "digits_convnet.unikeras", "history.csv"} <= set(os.listdir(tmp_path))
    epochs = int(_figure(out, r"trained"))
    with open(tmp_path / "history.csv") as f:
        assert len(f.read().splitlines()) == epochs + 1  # a header, a row per epoch


def test_train_torch_serve_openvino(tmp_path):
    out = _run_example("train_torch_serve_openvino.py", tmp_path)
    assert _figure(out, r"test accuracy") > 0.93, out
    for copy in ("jax", "openvino"):
        assert _figure(out, copy + r" vs torch: max \|diff\| =") <= 1e-5, out
    assert _figure(out, r"largest disagreement:") <= 1e-5, out
    assert (tmp_path / "digits_convnet.safetensors").stat().st_size > 0


def test_tf_savedmodel(tmp_path):
    out = _run_example("tf_savedmodel.py", tmp_path)
    assert "batch sizes [450, 7], unikeras imported there: False" in out, out
    assert _figure(out, r"test accuracy \(served\):") > 0.85, out
    assert _figure(out, r"max \|served - in-process\| =") <= 1e-6, out
    assert (tmp_path / "digits_savedmodel" / "saved_model.pb").exists()
