"""OpenVINO graphs give the same answers on every CPU.

`uov.compile` computes in float32 unless asked for less: the CPU plugin defaults to bf16 on
CPUs with bf16 support (Intel Xeons with AMX / avx512_bf16) and to f32 elsewhere. And
comparisons treat NaN as IEEE says on AVX-512 CPUs too. These tests mean the same on an AMD
EPYC with AVX2 and on an Intel Sapphire Rapids.
"""
import numpy as np
import pytest

ov = pytest.importorskip("openvino")

import unikeras as uk  # noqa: E402
from unikeras.adapters import openvino as uov  # noqa: E402


def _mlp():
    uk.utils.set_random_seed(3)
    return uk.Sequential([uk.Input((64,)), uk.layers.Dense(128, activation="relu"),
                          uk.layers.Dense(10)])


def _reference(model, x):
    k1, b1, k2, b2 = model.get_weights()
    return np.maximum(x @ k1 + b1, 0) @ k2 + b2


def _x(n=32):
    return np.random.default_rng(0).random((n, 64)).astype("float32")


def _cpu_has_bf16():
    return "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


def test_default_is_float32_on_every_cpu():
    model = _mlp()
    compiled = uov.compile(model)
    assert compiled.inference_precision == "f32"
    assert compiled.compiled.get_property("INFERENCE_PRECISION_HINT") == ov.Type.f32
    x = _x()
    np.testing.assert_allclose(compiled(x), _reference(model, x), rtol=1e-5, atol=1e-5)


def test_bf16_on_request_agrees_at_bf16_tolerance():
    model = _mlp()
    compiled = uov.compile(model, precision="bf16")
    # The plugin computes in bf16 where the CPU supports it and falls back to f32 elsewhere.
    assert compiled.inference_precision == ("bf16" if _cpu_has_bf16() else "f32")
    x = _x()
    expected = _reference(model, x)
    got = compiled(x)
    assert got.dtype == np.float32
    # bf16 keeps 8 bits of mantissa: about 2-3 significant digits after a 64-term dot product.
    scale = np.abs(expected).max()
    np.testing.assert_allclose(got, expected, rtol=0, atol=3e-2 * scale)
    assert np.mean(got.argmax(-1) == expected.argmax(-1)) >= 0.9


def test_config_passes_any_property_and_wins_over_precision():
    model = _mlp()
    compiled = uov.compile(model, config={"INFERENCE_NUM_THREADS": 1, "PERFORMANCE_HINT": "LATENCY"})
    assert compiled.compiled.get_property("INFERENCE_NUM_THREADS") == 1
    assert compiled.inference_precision == "f32"
    overridden = uov.compile(model, precision="bf16", config={"INFERENCE_PRECISION_HINT": "f32"})
    assert overridden.inference_precision == "f32"
    plugin_default = uov.compile(model, precision=None)
    assert plugin_default.inference_precision == ("bf16" if _cpu_has_bf16() else "f32")


@pytest.mark.parametrize("bad,error", [("fp8", ValueError), ("int8", ValueError)])
def test_unknown_precision_is_a_clear_error(bad, error):
    with pytest.raises(error, match=r"openvino.compile: precision must be one of"):
        uov.compile(_mlp(), precision=bad)


def test_config_must_be_a_dict():
    with pytest.raises(TypeError, match=r"openvino.compile: config must be a dict"):
        uov.compile(_mlp(), config=[("INFERENCE_NUM_THREADS", 1)])


# maximum/minimum/relu/clip are left out on purpose: OpenVINO's Maximum, Minimum, Relu and
# Clamp return the non-NaN operand (the x86 max/min instructions do so on every CPU), where
# NumPy propagates NaN; adding NaN selects would slow the hottest inference ops.
@pytest.mark.parametrize("name", ["greater", "greater_equal", "less", "less_equal", "heaviside",
                                  "fmax", "fmin", "isnan", "equal", "not_equal"])
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_nan_comparisons_follow_ieee(name, dtype):
    from unikeras import ops
    nan = np.nan
    a = np.array([-1, 0, -0.0, 2, nan, nan, 1, 3, np.inf, -np.inf], dtype)
    b = np.array([0, 0, 0.5, nan, 1, nan, 0.25, 3, 1, -np.inf], dtype)
    calls = {"isnan": lambda o, x, y: o.isnan(x)}
    call = calls.get(name, lambda o, x, y: getattr(o, name)(x, y))
    pa, pb = ov.opset16.parameter([-1], ov.Type(np.dtype(dtype))), ov.opset16.parameter([-1], ov.Type(np.dtype(dtype)))
    with ops.backend_scope("openvino"):
        out = call(ops, pa.output(0), pb.output(0))
    compiled = ov.compile_model(ov.Model([out], [pa, pb], name), "CPU",
                                {"INFERENCE_PRECISION_HINT": "f32"})
    got = compiled([a, b])[compiled.outputs[0]]
    with ops.backend_scope("numpy"):
        expected = ops.convert_to_numpy(call(ops, a, b))
    np.testing.assert_array_equal(got, expected)
