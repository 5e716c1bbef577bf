"""The `unikeras` command: summary, convert (each target read back by its own framework),
check, and the exit codes and messages of bad input. Most cases run `main([...])`
in-process; subprocesses run `python -m unikeras` as users do (convert, summary, a bad file)
and check that `--help` imports no framework."""
import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

import unikeras as uk
from unikeras import cli, layers, ops
from tests.conftest import FRAMEWORKS


def _mlp():
    with ops.backend_scope("numpy"):
        return uk.Sequential([uk.Input((4,)), layers.Dense(8, activation="relu", name="hidden"),
                              layers.Dense(3, name="out")], name="mlp")


def _reference(weights, x):
    """The MLP's output computed with NumPy from its weights [W1, b1, W2, b2]."""
    w1, b1, w2, b2 = (np.asarray(w, np.float64) for w in weights)
    return np.maximum(x @ w1 + b1, 0.0) @ w2 + b2


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """(path of the saved MLP, its weights)."""
    model = _mlp()
    path = tmp_path_factory.mktemp("cli") / "m.unikeras"
    model.save(path)
    return str(path), model.get_weights()


def _convert(saved, tmp_path, target, name):
    out = str(tmp_path / name)
    assert cli.main(["convert", saved[0], "--to", target, "-o", out]) == 0
    return out


def _assert_same_weights(actual, expected):
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        np.testing.assert_array_equal(np.asarray(a), e)


def test_summary_prints_layers_and_metadata(saved, capsys):
    assert cli.main(["summary", saved[0]]) == 0
    out = capsys.readouterr().out
    assert "hidden (Dense)" in out and "out (Dense)" in out
    assert "(None, 8)" in out and "Total params: 67" in out   # 4*8+8 + 8*3+3
    assert "unikeras_version:" in out and "backend: numpy" in out


@pytest.mark.parametrize("target, name", [("safetensors", "w.safetensors"),
                                          ("keras-h5", "w.weights.h5")])
def test_convert_weights_load_into_the_same_architecture(saved, tmp_path, target, name):
    out = _convert(saved, tmp_path, target, name)
    fresh = _mlp()
    fresh.load_weights(out)
    _assert_same_weights(fresh.get_weights(), saved[1])


@pytest.mark.parametrize("name", ["copy.unikeras", "copy.keras"])
def test_convert_to_archives_loads_back(saved, tmp_path, name):
    out = _convert(saved, tmp_path, "keras" if name.endswith(".keras") else "unikeras", name)
    with ops.backend_scope("numpy"):
        loaded = uk.saving.load_model(out, compile=False)
    _assert_same_weights(loaded.get_weights(), saved[1])
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".tmp")]


def test_convert_to_openvino_ir_runs_in_openvino(saved, tmp_path):
    ov = pytest.importorskip("openvino")
    out = _convert(saved, tmp_path, "openvino", "m.xml")
    compiled = ov.Core().compile_model(ov.Core().read_model(out), "CPU",
                                       {"INFERENCE_PRECISION_HINT": "f32"})
    for batch in (2, 5):   # the batch dim is dynamic
        x = np.random.default_rng(batch).standard_normal((batch, 4)).astype(np.float32)
        y = compiled([x])[compiled.output(0)]
        np.testing.assert_allclose(y, _reference(saved[1], x), rtol=1e-5, atol=1e-5)
    assert sorted(os.listdir(tmp_path)) == ["m.bin", "m.xml"]


def test_convert_to_saved_model_serves_the_outputs(saved, tmp_path):
    tf = pytest.importorskip("tensorflow")
    out = _convert(saved, tmp_path, "saved_model", "sm")
    serve = tf.saved_model.load(out).signatures["serving_default"]
    for batch in (1, 3):
        x = np.random.default_rng(batch).standard_normal((batch, 4)).astype(np.float32)
        y = serve(input_0=tf.constant(x))["output_0"].numpy()
        np.testing.assert_allclose(y, _reference(saved[1], x), rtol=1e-5, atol=1e-5)
    assert os.listdir(tmp_path) == ["sm"]


def test_convert_to_torch_state_dict_loads_into_the_twin(saved, tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file
    out = _convert(saved, tmp_path, "torch", "m.safetensors")

    class Twin(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden, self.out = torch.nn.Linear(4, 8), torch.nn.Linear(8, 3)

        def forward(self, x):
            return self.out(torch.relu(self.hidden(x)))

    twin = Twin()
    twin.load_state_dict(load_file(out))
    x = np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32)
    with torch.no_grad():
        y = twin(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(y, _reference(saved[1], x), rtol=1e-5, atol=1e-5)


def test_check_runs_every_backend(saved, capsys):
    assert cli.main(["check", saved[0], "--batch", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "[(3, 4)]" in lines[0]
    rows = {line.split()[0]: line for line in lines[2:]}
    assert sorted(rows) == sorted(["numpy", "openvino"] + ["torch", "jax", "tensorflow"])
    for backend in FRAMEWORKS:
        assert rows[backend].endswith("ok")
    has_openvino = importlib.util.find_spec("openvino") is not None
    assert rows["openvino"].endswith("ok" if has_openvino else "(not installed)")


def test_check_fails_on_disagreement_and_skips_missing_backends(saved, capsys, monkeypatch):
    monkeypatch.setattr(cli, "CHECK_BACKENDS", (("fake", "no_such_module_for_unikeras"),))
    monkeypatch.setattr(cli, "_predict_openvino",
                        lambda model, inputs: [np.asarray(model.predict(inputs[0], verbose=0)) + 0.5])
    assert cli.main(["check", saved[0]]) == 1
    out = capsys.readouterr().out
    assert "skipped (not installed)" in out
    assert "openvino    0.5           FAILED (atol 0.0001)" in out


def test_bad_files_exit_3_with_a_message(saved, tmp_path, capsys):
    corrupt = tmp_path / "bad.unikeras"
    corrupt.write_bytes(open(saved[0], "rb").read()[:200])
    cases = [(str(corrupt), "not a readable model archive"),
             (str(tmp_path / "missing.unikeras"), "no such file"),
             (str(tmp_path / "model.h5"), "expected a '.unikeras' or '.keras'")]
    for path, message in cases:
        assert cli.main(["summary", path]) == 3
        err = capsys.readouterr().err
        assert err.startswith("unikeras: error: ") and message in err
        assert "Traceback" not in err
    with pytest.raises(cli.CliError):
        cli.main(["--traceback", "summary", str(corrupt)])


def test_usage_errors_exit_2(saved, capsys):
    for argv in (["convert", saved[0], "--to", "onnx"], ["frobnicate"], [],
                 ["check", saved[0], "--batch", "0"]):
        with pytest.raises(SystemExit) as exc:
            cli.main(argv)
        assert exc.value.code == 2
    assert "invalid choice: 'onnx'" in capsys.readouterr().err
    assert cli.main(["convert", saved[0], "--to", "unikeras", "-o", saved[0]]) == 2


def test_module_help_imports_no_framework():
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "unikeras", "--help"],
                            capture_output=True, text=True, timeout=60,
                            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert result.returncode == 0
    assert "summary" in result.stdout and "convert" in result.stdout and "check" in result.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()}
    frameworks = {"torch", "jax", "tensorflow", "openvino", "flax"}
    assert not frameworks & {name.split(".")[0] for name in imported}


def _run_cli(*args):
    return subprocess.run([sys.executable, "-m", "unikeras", *args], capture_output=True,
                          text=True, timeout=300,
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_the_command_as_a_subprocess(saved, tmp_path):
    """The tool as users run it: `python -m unikeras` (the console script calls the same
    main): a conversion that loads back, a summary, and a bad file's exit code and message."""
    out = str(tmp_path / "w.safetensors")
    done = _run_cli("convert", saved[0], "--to", "safetensors", "-o", out)
    assert done.returncode == 0, done.stderr
    model = _mlp()
    model.load_weights(out)
    _assert_same_weights(model.get_weights(), saved[1])
    done = _run_cli("summary", saved[0])
    assert done.returncode == 0 and "hidden" in done.stdout and "Total params" in done.stdout
    corrupt = tmp_path / "bad.unikeras"
    corrupt.write_bytes(b"PK\x03\x04 not really a zip")
    done = _run_cli("summary", str(corrupt))
    assert done.returncode == 3
    assert done.stderr.startswith("unikeras: error: ") and "Traceback" not in done.stderr
