"""unikeras prints only what it means to print: no framework banners, no retracing notices."""
import os
import subprocess
import sys

import pytest

from tests.conftest import FRAMEWORKS

FIT = """
import numpy as np, unikeras as uk
m = uk.Sequential([uk.Input((4,)), uk.layers.Dense(8, activation="relu"),
                   uk.layers.Dense(3, activation="softmax")])
m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
x = np.random.default_rng(0).random((70, 4)).astype("float32")
y = (x[:, 0] * 3).astype("int32")
for _ in range(3):  # partial last batches, validation, evaluate and predict: several shapes
    m.fit(x, y, batch_size=32, epochs=2, verbose=0, validation_split=0.2)
    m.evaluate(x[:50], y[:50], batch_size=16, verbose=0)
    m.predict(x[:7], verbose=0)
"""


def _run(code, **env):
    clean = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    clean.update(JAX_PLATFORMS="cpu", **env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=clean, timeout=300)


@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_fit_evaluate_predict_print_nothing_with_verbose_0(backend):
    out = _run(FIT, UNIKERAS_BACKEND=backend)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "" and out.stderr == "", (out.stdout, out.stderr)


@pytest.mark.skipif("tensorflow" not in FRAMEWORKS, reason="tensorflow is not installed")
def test_tf_adapter_import_hides_only_the_banner():
    code = ("import os, sys\nfrom unikeras.adapters.tf_module import to_tf\n"
            "print(os.environ['TF_CPP_MIN_LOG_LEVEL'])\nprint('after import', file=sys.stderr)")
    out = _run(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "1"
    assert out.stderr == "after import\n", out.stderr


@pytest.mark.skipif("tensorflow" not in FRAMEWORKS, reason="tensorflow is not installed")
@pytest.mark.parametrize("level", ["1", "2"])
def test_banner_stays_hidden_at_the_levels_that_exclude_info(level):
    """JAX sets TF_CPP_MIN_LOG_LEVEL=1 when imported; the banner is INFO and stays hidden."""
    code = "from unikeras.adapters.tf_module import to_tf"
    out = _run(code, TF_CPP_MIN_LOG_LEVEL=level)
    assert out.returncode == 0, out.stderr
    assert "oneDNN" not in out.stderr and "InitializeLog" not in out.stderr, out.stderr


@pytest.mark.skipif("tensorflow" not in FRAMEWORKS, reason="tensorflow is not installed")
def test_level_0_chosen_by_the_user_is_kept():
    code = "import os\nfrom unikeras.adapters.tf_module import to_tf\nprint(os.environ['TF_CPP_MIN_LOG_LEVEL'])"
    out = _run(code, TF_CPP_MIN_LOG_LEVEL="0")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0"
