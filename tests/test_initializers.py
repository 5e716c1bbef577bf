"""unikeras.initializers: Keras 3's names, signatures and configs; deterministic values
against NumPy formulas and Keras 3; random ones checked statistically and for Keras's seeding
rules; the same seed gives the same weights on every backend."""
import inspect
import math
import warnings

import numpy as np
import pytest

import unikeras as uk
from unikeras import initializers, ops
from unikeras.common.seed_generator import SeedGenerator
from tests.keras_oracle import run_keras_code

PUBLIC_NAMES = sorted(n for n in initializers.__all__
                      if n not in ("RandomInitializer", "compute_fans"))   # our extras
CLASS_NAMES = [n for n in PUBLIC_NAMES if inspect.isclass(getattr(initializers, n))]

# Non-default arguments per class, for configs and round trips.
ARGS = {"Constant": {"value": 2.5}, "Identity": {"gain": 3.0},
        "STFT": {"side": "imag", "window": "hamming", "scaling": "spectrum", "periodic": True},
        "RandomNormal": {"mean": 1.0, "stddev": 2.0, "seed": 4},
        "RandomUniform": {"minval": -1.0, "maxval": 3.0, "seed": 4},
        "TruncatedNormal": {"mean": 1.0, "stddev": 2.0, "seed": 4},
        "VarianceScaling": {"scale": 2.0, "mode": "fan_out", "distribution": "uniform", "seed": 4,
                            "input_axes": [0, 1], "output_axes": [2]},
        "Orthogonal": {"gain": 2.0, "seed": 4},
        **{n: {"seed": 4} for n in ("GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform",
                                    "LecunNormal", "LecunUniform")}}

STFT_CASES = [{"side": s, "window": w, "scaling": sc, "periodic": p}
              for s in ("real", "imag") for w, sc, p in (
                  ("hann", "density", False), ("hann", "spectrum", True),
                  ("hamming", None, False), (None, "density", False), ("blackman", "density", True),
                  ([0.5, 1.0, 2.0, 1.0, 0.5, 0.25, 0.1, 0.0], "density", False))]

TRUNCATED_STD = 0.8796256610342398   # std of a standard normal truncated at +-2

# (class, kwargs, shape) whose empirical std Keras and we must agree on: the fan rules.
STAT_CASES = [("VarianceScaling", {"scale": 1.0, "mode": m, "distribution": d, **axes}, shape)
              for m in ("fan_in", "fan_out", "fan_avg")
              for d, axes, shape in (("uniform", {}, (60, 400)),
                                     ("untruncated_normal", {}, (5, 5, 16, 30)),
                                     ("truncated_normal", {}, (400, 60)),
                                     ("uniform", {"input_axes": [0, 1], "output_axes": [3]},
                                      (6, 7, 20, 30)),
                                     ("uniform", {"input_axes": [-2], "output_axes": [-1]},
                                      (6, 7, 20, 30)))] + [
    (n, {}, (3, 3, 40, 50)) for n in ("GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform",
                                      "LecunNormal", "LecunUniform")] + [
    ("RandomNormal", {"mean": 1.0, "stddev": 2.0}, (200, 200)),
    ("RandomUniform", {"minval": -1.0, "maxval": 3.0}, (200, 200)),
    ("TruncatedNormal", {"mean": 1.0, "stddev": 2.0}, (200, 200))]

_KERAS_CODE = r"""
import inspect
init = keras.initializers
result["public_names"] = sorted(n for n in dir(init) if not n.startswith("_"))
result["classes"] = {n: getattr(init, n).__name__ for n in CLASS_NAMES}
result["signatures"] = {n: str(inspect.signature(getattr(init, n).__init__))
                        for n in CLASS_NAMES if n != "Initializer"}
result["default_configs"] = {n: getattr(init, n)().get_config()
                             for n in CLASS_NAMES if n != "Initializer"}
result["serialized"] = {n: init.serialize(getattr(init, n)(**kw)) for n, kw in ARGS.items()}
result["get_names"] = {}
for n in CLASS_NAMES:
    try:
        result["get_names"][n] = type(init.get(n)).__name__
    except Exception:   # Keras's get("Constant") fails: its from_config needs a value
        pass
result["constant"] = init.Constant(2.5)((2, 3))
result["constant_vector"] = init.Constant([1.0, 2.0, 3.0])((2, 3))
result["identity"] = init.Identity(3.0)((3, 5))
result["ones_int"] = init.Ones()((2, 2), dtype="int32")
for i, kw in enumerate(STFT_CASES):
    result[f"stft_{i}"] = init.STFT(**kw)((8, 1, 9))
result["stds"] = [float(np.std(np.asarray(getattr(init, n)(seed=1, **kw)(shape))))
                  for n, kw, shape in STAT_CASES]
result["means"] = [float(np.mean(np.asarray(getattr(init, n)(seed=1, **kw)(shape))))
                   for n, kw, shape in STAT_CASES]
"""


@pytest.fixture(scope="module")
def keras_results():
    code = (f"CLASS_NAMES = {CLASS_NAMES!r}\nARGS = {ARGS!r}\nSTFT_CASES = {STFT_CASES!r}\n"
            f"STAT_CASES = {STAT_CASES!r}\n" + _KERAS_CODE)
    return run_keras_code(code)


def _make(name, **kwargs):
    return getattr(initializers, name)(**kwargs)


# --- the catalog, signatures, configs -----------------------------------------------------------
def test_public_names_and_aliases_equal_keras(keras_results):
    assert PUBLIC_NAMES == keras_results["public_names"]
    for name in CLASS_NAMES:   # snake_case names are the classes themselves, as in Keras
        assert getattr(initializers, name).__name__ == keras_results["classes"][name], name
    for name, cls in keras_results["get_names"].items():
        assert type(initializers.get(name)).__name__ == cls, name


def test_signatures_equal_keras(keras_results):
    for name, signature in keras_results["signatures"].items():
        if getattr(initializers, name) in (initializers.Zeros, initializers.Ones):
            # Keras shows the inherited (*args, **kwargs); neither takes an argument
            assert str(inspect.signature(_make(name).__init__)) == "()"
            continue
        assert str(inspect.signature(getattr(initializers, name).__init__)) == signature, name


def test_default_config_keys_and_values_equal_keras(keras_results):
    for name, expected in keras_results["default_configs"].items():
        ours = _make(name).get_config()
        if name in ("Identity", "IdentityInitializer", "identity"):
            # Keras 3.15 leaves `gain` out of Identity's config (so its round trip loses a
            # gain); ours keeps it, and Keras's own from_config accepts it.
            assert expected == {} and ours == {"gain": 1.0}
            continue
        assert ours == expected, name


def test_serialize_equals_keras_and_round_trips(keras_results):
    for name, kwargs in ARGS.items():
        ours = initializers.serialize(_make(name, **kwargs))
        expected = keras_results["serialized"][name]
        if name == "Identity":
            expected = {**expected, "config": {"gain": 3.0}}
        assert ours == expected, name
        # Keras's dicts (and ours) deserialize to the same object.
        back = initializers.deserialize(keras_results["serialized"][name])
        assert type(back).__name__ == name
        rebuilt = initializers.deserialize(ours)
        assert rebuilt.get_config() == ours["config"], name
        shape = {"STFT": (8, 1, 9), "Identity": (4, 5)}.get(name, (4, 5, 6))
        np.testing.assert_array_equal(rebuilt(shape), _make(name, **kwargs)(shape))


def test_get_accepts_every_identifier_kind():
    assert initializers.get(None) is None
    instance = initializers.HeNormal(seed=1)
    assert initializers.get(instance) is instance
    assert isinstance(initializers.get(initializers.Orthogonal), initializers.Orthogonal)
    assert isinstance(initializers.get("glorot_uniform"), initializers.GlorotUniform)
    assert isinstance(initializers.get("IdentityInitializer"), initializers.Identity)
    got = initializers.get({"class_name": "RandomNormal", "config": {"stddev": 3.0}})
    assert got.stddev == 3.0

    def custom(shape, dtype=None):
        return np.full(shape, 7.0, dtype)
    assert initializers.get(custom) is custom
    with pytest.raises(ValueError, match="Unknown initializer 'nope'"):
        initializers.get("nope")
    with pytest.raises(ValueError, match="Could not interpret initializer"):
        initializers.get(3.5)
    cls = type("MyInit", (initializers.Constant,), {})
    assert isinstance(initializers.deserialize({"class_name": "MyInit", "config": {"value": 1}},
                                               custom_objects={"MyInit": cls}), cls)


# --- deterministic values ------------------------------------------------------------------------
def test_constant_family_and_identity_match_keras(keras_results):
    np.testing.assert_array_equal(initializers.Constant(2.5)((2, 3)), keras_results["constant"])
    np.testing.assert_array_equal(initializers.Constant([1.0, 2.0, 3.0])((2, 3)),
                                  keras_results["constant_vector"])
    np.testing.assert_array_equal(initializers.Identity(3.0)((3, 5)), keras_results["identity"])
    np.testing.assert_array_equal(initializers.Identity(3.0)((3, 5)), 3 * np.eye(3, 5))
    ones = initializers.Ones()((2, 2), dtype="int32")
    assert ones.dtype == np.int32
    np.testing.assert_array_equal(ones, keras_results["ones_int"])
    assert initializers.Zeros()((3,), "float16").dtype == np.float16
    with pytest.raises(ValueError, match="Identity.*2D.*rank 3"):
        initializers.Identity()((2, 3, 4))


def _stft_numpy(shape, side, window, scaling, periodic):
    frame, bins = shape[0], shape[2]
    n = np.arange(frame)[:, None]
    k = np.arange(bins)[None, :]
    angle = 2 * np.pi * n * k / (2 * (bins - 1))
    kernel = np.cos(angle) if side == "real" else -np.sin(angle)
    if window is not None:
        if isinstance(window, str):
            m = frame + 1 if periodic else frame
            t = np.arange(m)
            a = {"hann": (0.5, 0.5, 0.0), "hamming": (0.54, 0.46, 0.0),
                 "blackman": (0.42, 0.5, 0.08)}[window]
            w = (a[0] - a[1] * np.cos(2 * np.pi * t / (m - 1))
                 + a[2] * np.cos(4 * np.pi * t / (m - 1)))[:frame]
        else:
            w = np.asarray(window)
        w = {"density": w / np.sqrt(np.sum(w ** 2)), "spectrum": w / np.sum(np.abs(w)),
             None: w}[scaling]
        kernel = kernel * w[:, None]
    return kernel[:, None, :]


@pytest.mark.parametrize("i", range(len(STFT_CASES)))
def test_stft_matches_formula_and_keras(keras_results, i):
    ours = initializers.STFT(**STFT_CASES[i])((8, 1, 9))
    assert ours.shape == (8, 1, 9) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, _stft_numpy((8, 1, 9), **STFT_CASES[i]), rtol=1e-5, atol=1e-6)
    # Keras computes the angles in float32: its zeros of sin are off by ~1e-6 of the scale 1.
    np.testing.assert_allclose(ours, keras_results[f"stft_{i}"], rtol=1e-5, atol=1e-5)


def test_stft_rejects_bad_arguments():
    with pytest.raises(ValueError, match="side"):
        initializers.STFT(side="both")
    with pytest.raises(ValueError, match="shape"):
        initializers.STFT()((8, 9))
    with pytest.raises(ValueError, match="window has shape"):
        initializers.STFT(window=[1.0, 2.0])((8, 1, 9))


# --- random initializers: statistics -------------------------------------------------------------
def _expected_std(name, kwargs, shape):
    """The std the initializer is defined to have, from Keras's fan rules."""
    if name == "RandomNormal":
        return kwargs["stddev"]
    if name == "RandomUniform":
        return (kwargs["maxval"] - kwargs["minval"]) / math.sqrt(12)
    if name == "TruncatedNormal":
        return kwargs["stddev"] * TRUNCATED_STD
    presets = {"GlorotNormal": (1, "fan_avg"), "GlorotUniform": (1, "fan_avg"),
               "HeNormal": (2, "fan_in"), "HeUniform": (2, "fan_in"),
               "LecunNormal": (1, "fan_in"), "LecunUniform": (1, "fan_in")}
    scale, mode = presets.get(name, (kwargs.get("scale"), kwargs.get("mode")))
    if "input_axes" in kwargs:
        fan_in = math.prod(shape[a] for a in kwargs["input_axes"])
        fan_out = math.prod(shape[a] for a in kwargs["output_axes"])
    else:
        receptive = math.prod(shape[:-2])
        fan_in, fan_out = shape[-2] * receptive, shape[-1] * receptive
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    return math.sqrt(scale / n)


@pytest.mark.parametrize("i", range(len(STAT_CASES)),
                         ids=[f"{n}{kw or ''}{s}" for n, kw, s in STAT_CASES])
def test_random_statistics_match_definition_and_keras(keras_results, i):
    name, kwargs, shape = STAT_CASES[i]
    values = _make(name, seed=1, **kwargs)(shape)
    assert values.shape == shape and values.dtype == np.float32
    std = _expected_std(name, kwargs, shape)
    mean = kwargs.get("mean", 0.0) if name != "RandomUniform" else 1.0
    # At least 24000 draws: 3% is over six standard errors of the sample std.
    assert values.std() == pytest.approx(std, rel=0.03)
    assert keras_results["stds"][i] == pytest.approx(std, rel=0.03)
    assert values.mean() == pytest.approx(mean, abs=0.05 * std)
    assert keras_results["means"][i] == pytest.approx(mean, abs=0.05 * std)
    if "Uniform" in name or kwargs.get("distribution") == "uniform":
        limit = std * math.sqrt(3)
        assert np.abs(values - mean).max() <= limit * (1 + 1e-6)
        assert np.abs(values - mean).max() > 0.99 * limit
    truncated = (name in ("GlorotNormal", "HeNormal", "LecunNormal")
                 or kwargs.get("distribution") == "truncated_normal")
    bound = 2 * kwargs["stddev"] if name == "TruncatedNormal" else (
        2 * std / TRUNCATED_STD if truncated else None)
    if bound is not None:   # redrawn beyond two standard deviations of the untruncated normal
        assert bound * 0.95 < np.abs(values - mean).max() <= bound * (1 + 1e-6)


@pytest.mark.parametrize("shape,gain", [((6, 6), 1.0), ((4, 9), 2.0), ((3, 4, 5), 0.5)])
def test_orthogonal_is_orthogonal(shape, gain):
    q = initializers.Orthogonal(gain=gain, seed=3)(shape, "float64")
    assert q.shape == shape and q.dtype == np.float64
    m = q.reshape(-1, shape[-1])
    gram = m @ m.T if m.shape[0] < m.shape[1] else m.T @ m
    np.testing.assert_allclose(gram, gain ** 2 * np.eye(gram.shape[0]), atol=1e-12)
    with pytest.raises(ValueError, match="rank >= 2"):
        initializers.Orthogonal()((5,))


def test_random_initializers_need_float_dtypes():
    assert initializers.HeUniform(seed=0)((3, 4), "float16").dtype == np.float16
    with pytest.raises(ValueError, match="GlorotUniform.*float dtype.*int32"):
        initializers.GlorotUniform()((3, 4), "int32")
    with pytest.raises(ValueError, match="mode"):
        initializers.VarianceScaling(mode="fan_max")
    with pytest.raises(ValueError, match="distribution"):
        initializers.VarianceScaling(distribution="normal")


# --- seeding ------------------------------------------------------------------------------------
def test_seeding_follows_keras():
    seeded = initializers.GlorotUniform(seed=7)
    np.testing.assert_array_equal(seeded((4, 5)), seeded((4, 5)))          # same every call
    np.testing.assert_array_equal(seeded((4, 5)), initializers.GlorotUniform(seed=7)((4, 5)))
    assert not np.array_equal(seeded((4, 5)), initializers.GlorotUniform(seed=8)((4, 5)))
    # Unseeded instances (e.g. each layer's, from a name) differ from one another ...
    a, b = initializers.get("glorot_uniform"), initializers.get("glorot_uniform")
    assert not np.array_equal(a((4, 5)), b((4, 5)))
    # ... but one instance repeats its values, with Keras's warning.
    with pytest.warns(UserWarning, match="unseeded.*same values"):
        np.testing.assert_array_equal(a((4, 5)), a((4, 5)))
    # A SeedGenerator seed gives new values per call, reproducibly.
    gen_a, gen_b = (initializers.RandomNormal(seed=SeedGenerator(5)) for _ in range(2))
    first, second = gen_a((3, 3)), gen_a((3, 3))
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(first, gen_b((3, 3)))
    np.testing.assert_array_equal(second, gen_b((3, 3)))
    assert gen_a.get_config()["seed"]["class_name"] == "SeedGenerator"


def test_global_seed_makes_unseeded_initializers_reproducible():
    uk.utils.set_random_seed(11)
    first = initializers.HeNormal()((3, 4))
    uk.utils.set_random_seed(11)
    np.testing.assert_array_equal(initializers.HeNormal()((3, 4)), first)


def test_same_seed_same_weights_on_every_backend(backend):
    with ops.backend_scope(backend):
        variable = uk.Variable(initializers.Orthogonal(seed=2), shape=(4, 3))
        layer = uk.layers.Dense(3, kernel_initializer=initializers.GlorotNormal(seed=5))
        layer(ops.convert_to_tensor(np.ones((1, 4), "float32")))
    assert variable.backend == backend
    np.testing.assert_array_equal(variable.numpy(), initializers.Orthogonal(seed=2)((4, 3)))
    np.testing.assert_array_equal(layer.get_weights()[0],
                                  initializers.GlorotNormal(seed=5)((4, 3)))


def test_no_warning_for_one_call_per_instance():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        initializers.LecunNormal()((2, 2))
