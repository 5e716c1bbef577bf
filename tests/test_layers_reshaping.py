"""Reshaping layers on torch, jax and tensorflow vs NumPy (reshape, transpose, repeat, pad,
slicing; bilinear upsampling vs torch.nn.functional.interpolate with align_corners=False,
Keras's half-pixel convention) and vs Keras 3; structure (config, shapes with None dims) vs
Keras; gradients across backends; OpenVINO graphs (dynamic batch and spatial dims) vs the
NumPy backend; bad input."""
import numpy as np
import pytest

import unikeras as uk
from unikeras import layers, ops
from tests.conftest import FRAMEWORKS, to_backend
from tests.keras_oracle import run_layer_cases
from tests.layer_checks import backend_gradients

TOL = dict(rtol=1e-5, atol=1e-6)

# id: (layer class, constructor arguments, input shape with the batch dim)
CASES = {
    "reshape_inferred": ("Reshape", {"target_shape": (-1, 2)}, (2, 3, 4)),
    "reshape_rank_up": ("Reshape", {"target_shape": (2, 3, 2)}, (2, 12)),
    "permute": ("Permute", {"dims": (2, 1)}, (2, 3, 4)),
    "permute_rank4": ("Permute", {"dims": (3, 1, 2)}, (2, 3, 4, 5)),
    "repeat_vector": ("RepeatVector", {"n": 3}, (2, 4)),
    "upsampling1d": ("UpSampling1D", {"size": 3}, (2, 4, 3)),
    "upsampling2d": ("UpSampling2D", {"size": (2, 3)}, (2, 3, 4, 2)),
    "upsampling2d_cf": ("UpSampling2D", {"size": 2, "data_format": "channels_first"},
                        (2, 2, 3, 4)),
    "upsampling2d_bilinear": ("UpSampling2D", {"size": (2, 3), "interpolation": "bilinear"},
                              (2, 3, 4, 2)),
    "upsampling2d_bilinear_cf": ("UpSampling2D", {"size": 2, "interpolation": "bilinear",
                                                  "data_format": "channels_first"}, (2, 2, 3, 4)),
    "upsampling3d": ("UpSampling3D", {"size": (2, 1, 3)}, (2, 2, 3, 2, 2)),
    "upsampling3d_cf": ("UpSampling3D", {"data_format": "channels_first"}, (2, 2, 2, 3, 2)),
    "zeropad1d": ("ZeroPadding1D", {"padding": (1, 2)}, (2, 4, 3)),
    "zeropad1d_cf": ("ZeroPadding1D", {"padding": 2, "data_format": "channels_first"}, (2, 3, 4)),
    "zeropad2d": ("ZeroPadding2D", {"padding": ((1, 2), (0, 3))}, (2, 3, 4, 2)),
    "zeropad2d_cf": ("ZeroPadding2D", {"padding": (1, 2), "data_format": "channels_first"},
                     (2, 2, 3, 4)),
    "zeropad3d": ("ZeroPadding3D", {"padding": 1}, (2, 2, 3, 2, 2)),
    "zeropad3d_cf": ("ZeroPadding3D", {"padding": ((0, 1), (2, 0), (1, 1)),
                                       "data_format": "channels_first"}, (2, 2, 2, 3, 2)),
    "crop1d": ("Cropping1D", {"cropping": (1, 2)}, (2, 6, 3)),
    "crop2d": ("Cropping2D", {"cropping": ((1, 0), (2, 1))}, (2, 4, 5, 2)),
    "crop2d_cf": ("Cropping2D", {"cropping": 1, "data_format": "channels_first"}, (2, 2, 4, 5)),
    "crop3d": ("Cropping3D", {"cropping": (1, 0, 2)}, (2, 4, 3, 6, 2)),
    "crop3d_cf": ("Cropping3D", {"cropping": ((0, 1), (1, 1), (2, 0)),
                                 "data_format": "channels_first"}, (2, 2, 3, 4, 5)),
}


def _np(x):
    return ops.convert_to_numpy(x)


def _make(case):
    cls, config, _ = CASES[case]
    return getattr(layers, cls)(**config)


@pytest.fixture(scope="module")
def inputs():
    return {case: np.random.default_rng(i).standard_normal(shape).astype("float32")
            for i, (case, (_, _, shape)) in enumerate(CASES.items())}


@pytest.fixture(scope="module")
def keras_results(inputs):
    cases = [{"layer": CASES[c][0], "config": CASES[c][1], "inputs": inputs[c]} for c in CASES]
    return dict(zip(CASES, run_layer_cases(cases)))


# --- the independent reference -----------------------------------------------------------
def _spatial_axes(config, rank):
    first = 2 if config.get("data_format") == "channels_first" else 1
    return list(range(first, first + rank))


def _pairs(value, rank):
    if isinstance(value, int):
        return [(value, value)] * rank
    if rank == 1:
        return [tuple(value)]
    return [tuple(v) if isinstance(v, tuple) else (v, v) for v in value]


def _bilinear(x, config):
    """torch.nn.functional.interpolate (align_corners=False) in float64, NCHW inside."""
    torch = pytest.importorskip("torch")
    size = config["size"]
    size = (size, size) if isinstance(size, int) else size
    channels_last = config.get("data_format") != "channels_first"
    t = torch.from_numpy(x.astype("float64"))
    t = t.permute(0, 3, 1, 2) if channels_last else t
    out = torch.nn.functional.interpolate(t, scale_factor=size, mode="bilinear",
                                          align_corners=False)
    return (out.permute(0, 2, 3, 1) if channels_last else out).numpy()


def _reference(case, x):
    cls, config, shape = CASES[case]
    if cls == "Reshape":
        return x.reshape((x.shape[0],) + tuple(config["target_shape"]))
    if cls == "Permute":
        return np.transpose(x, (0,) + tuple(config["dims"]))
    if cls == "RepeatVector":
        return np.repeat(x[:, None], config["n"], axis=1)
    rank = int(cls[-2])
    axes = _spatial_axes(config, rank)
    if cls.startswith("UpSampling"):
        if config.get("interpolation") == "bilinear":
            return _bilinear(x, config)
        size = config.get("size", 2)
        for axis, factor in zip(axes, (size,) * rank if isinstance(size, int) else size):
            x = np.repeat(x, factor, axis=axis)
        return x
    if cls.startswith("ZeroPadding"):
        width = [(0, 0)] * x.ndim
        for axis, pair in zip(axes, _pairs(config["padding"], rank)):
            width[axis] = pair
        return np.pad(x, width)
    index = [slice(None)] * x.ndim
    for axis, (before, after) in zip(axes, _pairs(config["cropping"], rank)):
        index[axis] = slice(before, x.shape[axis] - after)
    return x[tuple(index)]


@pytest.mark.parametrize("case", CASES)
def test_matches_numpy_and_keras(case, backend, inputs, keras_results):
    x = inputs[case]
    result = keras_results[case]
    assert "error" not in result, result.get("error")
    with ops.backend_scope(backend):
        out = _np(_make(case)(to_backend(x, backend)))
    np.testing.assert_allclose(out, _reference(case, x), **TOL)
    np.testing.assert_allclose(out, result["outputs"], **TOL)


@pytest.mark.parametrize("case", CASES)
def test_structure_matches_keras(case, inputs, keras_results):
    result = keras_results[case]
    cls, _, shape = CASES[case]
    layer = _make(case)
    config = layer.get_config()
    assert set(config) == set(result["config"])
    assert getattr(layers, cls).from_config(config).get_config() == config
    assert tuple(layer.compute_output_shape(shape)) == tuple(result["output_shape"])
    symbolic = _make(case)(uk.Input(shape[1:]))
    assert symbolic.shape == (None,) + tuple(result["output_shape"][1:])
    assert layer.weights == []


@pytest.mark.parametrize("layer,input_shape,expected", [
    (lambda: layers.Reshape((-1, 2)), (None, 4), (None, None, 2)),
    (lambda: layers.Reshape((2, -1)), (3, 4), (None, 2, 6)),
    (lambda: layers.Permute((2, 1)), (None, 4), (None, 4, None)),
    (lambda: layers.RepeatVector(3), (4,), (None, 3, 4)),
    (lambda: layers.UpSampling1D(2), (None, 3), (None, None, 3)),
    (lambda: layers.UpSampling2D(), (None, 3, 2), (None, None, 6, 2)),
    (lambda: layers.UpSampling2D(interpolation="bilinear"), (None, 3, 2), (None, None, 6, 2)),
    (lambda: layers.ZeroPadding2D(((1, 2), (0, 1))), (None, 3, 2), (None, None, 4, 2)),
    (lambda: layers.ZeroPadding3D(1, data_format="channels_first"), (2, None, 3, 4),
     (None, 2, None, 5, 6)),
    (lambda: layers.Cropping2D(((1, 0), (0, 1))), (None, 3, 1), (None, None, 2, 1)),
    (lambda: layers.Cropping1D((1, 1)), (None, 3), (None, None, 3)),
])
def test_symbolic_shapes_keep_none_dims(layer, input_shape, expected, backend):
    assert layer()(uk.Input(input_shape)).shape == expected
    concrete = tuple(5 if d is None else d for d in (2,) + input_shape)
    with ops.backend_scope(backend):
        eager = layer()(to_backend(np.ones(concrete, "float32"), backend))
    assert all(e is None or e == g for e, g in zip(expected[1:], tuple(eager.shape)[1:]))


# --- gradients across backends -----------------------------------------------------------
@pytest.mark.parametrize("case", ["reshape_inferred", "permute_rank4", "repeat_vector",
                                  "upsampling2d", "upsampling2d_bilinear", "upsampling3d_cf",
                                  "zeropad2d", "crop3d_cf"])
def test_gradients_agree_across_backends(case, inputs):
    if len(FRAMEWORKS) < 2:
        pytest.skip("needs two framework backends")
    x = inputs[case]
    cotangent = np.random.default_rng(7).standard_normal(
        _reference(case, x).shape).astype("float32")
    grads = {b: backend_gradients(_make(case), b, x, [], cotangent)[0]
             for b in FRAMEWORKS}
    first = grads[FRAMEWORKS[0]]
    assert first.shape == x.shape and np.abs(first).sum() > 0
    for backend in FRAMEWORKS[1:]:
        np.testing.assert_allclose(grads[backend], first, **TOL)


# --- OpenVINO -----------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES)
def test_openvino_graph_matches_numpy_backend(case, inputs):
    pytest.importorskip("openvino")
    from unikeras.adapters import openvino as uov
    x = inputs[case]
    with ops.backend_scope("numpy"):
        model = uk.Sequential([uk.Input(x.shape[1:]), _make(case)])
    compiled = uov.compile(model)
    for batch in (x, np.concatenate([x, -x, 0.5 * x])):   # the batch dim is dynamic
        with ops.backend_scope("numpy"):
            expected = _np(model(batch))
        np.testing.assert_allclose(compiled(batch), expected, **TOL)


@pytest.mark.parametrize("layer", [
    lambda: layers.UpSampling2D((2, 3)), lambda: layers.ZeroPadding2D(((1, 2), (0, 1))),
    lambda: layers.Cropping2D(((1, 0), (0, 1))), lambda: layers.Permute((3, 1, 2))])
def test_openvino_graph_with_dynamic_spatial_dims(layer):
    pytest.importorskip("openvino")
    from unikeras.adapters import openvino as uov
    with ops.backend_scope("numpy"):
        model = uk.Sequential([uk.Input((None, None, 2)), layer()])
    compiled = uov.compile(model)
    rng = np.random.default_rng(0)
    for shape in ((1, 3, 4, 2), (3, 5, 2, 2)):
        x = rng.standard_normal(shape).astype("float32")
        with ops.backend_scope("numpy"):
            expected = _np(model(x))
        np.testing.assert_allclose(compiled(x), expected, **TOL)


# --- bad input ----------------------------------------------------------------------------
@pytest.mark.parametrize("make,error,pattern", [
    (lambda: layers.Reshape((-1, -1), name="r"), ValueError, r"Reshape 'r'.*at most one -1"),
    (lambda: layers.Reshape((-2, 3), name="r"), ValueError, r"Reshape 'r'.*non-negative"),
    (lambda: layers.Reshape(3, name="r"), TypeError, r"Reshape 'r'.*tuple of ints"),
    (lambda: layers.Reshape((5,), name="r")(uk.Input((3, 4))), ValueError,
     r"Reshape 'r'.*\(None, 3, 4\).*\(5,\)"),
    (lambda: layers.Reshape((5, -1), name="r")(uk.Input((3, 4))), ValueError,
     r"Reshape 'r'.*\(None, 3, 4\).*\(5, -1\)"),
    (lambda: layers.Permute((2, 3), name="p"), ValueError, r"Permute 'p'.*permutation of 1..2"),
    (lambda: layers.Permute((0, 1), name="p"), ValueError, r"Permute 'p'.*\(0, 1\)"),
    (lambda: layers.Permute((2, 1), name="p")(uk.Input((3, 4, 5))), ValueError,
     r"'p'.*rank 3.*\(None, 3, 4, 5\)"),
    (lambda: layers.RepeatVector("a", name="v"), TypeError, r"RepeatVector 'v'.*n must be an int"),
    (lambda: layers.RepeatVector(0, name="v"), ValueError, r"RepeatVector 'v'.*positive.*0"),
    (lambda: layers.RepeatVector(2, name="v")(uk.Input((3, 4))), ValueError,
     r"'v'.*rank 2.*\(None, 3, 4\)"),
    (lambda: layers.UpSampling1D((2,), name="u"), TypeError, r"UpSampling1D 'u'.*size.*int"),
    (lambda: layers.UpSampling2D(0, name="u"), ValueError, r"UpSampling2D 'u'.*size.*0"),
    (lambda: layers.UpSampling2D(data_format="NHWC", name="u"), ValueError,
     r"UpSampling2D 'u'.*data_format.*'NHWC'"),
    (lambda: layers.UpSampling2D(interpolation="cubic", name="u"), ValueError,
     r"UpSampling2D 'u'.*interpolation.*'cubic'"),
    (lambda: layers.UpSampling3D(name="u")(uk.Input((3, 4, 2))), ValueError,
     r"'u'.*rank 5.*\(None, 3, 4, 2\)"),
    (lambda: layers.ZeroPadding2D((1, 2, 3), name="z"), ValueError,
     r"ZeroPadding2D 'z'.*padding.*\(1, 2, 3\)"),
    (lambda: layers.ZeroPadding1D(-1, name="z"), ValueError, r"ZeroPadding1D 'z'.*>= 0.*-1"),
    (lambda: layers.ZeroPadding3D(data_format="channels_middle", name="z"), ValueError,
     r"ZeroPadding3D 'z'.*data_format"),
    (lambda: layers.Cropping1D((2, 2), name="c")(uk.Input((3, 4))), ValueError,
     r"Cropping1D 'c'.*\(2, 2\).*\(None, 3, 4\)"),
    (lambda: layers.Cropping2D(((1, 1), (0, 2)), name="c")(uk.Input((4, 2, 3))), ValueError,
     r"Cropping2D 'c'.*\(None, 4, 2, 3\)"),
    (lambda: layers.Cropping3D(((1, 1), (0, 2)), name="c"), ValueError,
     r"Cropping3D 'c'.*cropping"),
])
def test_bad_arguments_and_inputs(make, error, pattern):
    with pytest.raises(error, match=pattern):
        make()


def test_eager_calls_check_rank_and_sizes(backend):
    """The first call (which builds) and later calls (on a built layer) alike."""
    def zeros(*shape):
        return to_backend(np.zeros(shape, "float32"), backend)

    with ops.backend_scope(backend):
        built = {"v": layers.RepeatVector(2, name="v"), "p": layers.Permute((2, 1), name="p"),
                 "u": layers.UpSampling1D(name="u"), "z": layers.ZeroPadding1D(name="z"),
                 "c": layers.Cropping1D(name="c")}
        for name, layer in built.items():
            layer(zeros(2, 4) if name == "v" else zeros(2, 4, 3))
            with pytest.raises(ValueError, match=rf"'{name}'.*rank.*\(2, 4, 3, 1\)"):
                layer(zeros(2, 4, 3, 1))
        with pytest.raises(ValueError, match=r"Cropping1D 'c'.*\(2, 2, 3\)"):
            built["c"](zeros(2, 2, 3))
        reshape = layers.Reshape((-1, 2), name="r")
        reshape(zeros(2, 3, 4))
        with pytest.raises(ValueError, match=r"Reshape 'r'.*\(3, 3, 3\)"):
            reshape(zeros(3, 3, 3))   # 9 values per sample do not split into pairs
        np.testing.assert_array_equal(_np(reshape(zeros(3, 2, 4))).shape, (3, 4, 2))
        with pytest.raises(ValueError, match=r"'v'.*rank 2.*\(2, 3, 4\)"):
            layers.RepeatVector(2, name="v")(to_backend(np.zeros((2, 3, 4), "float32"), backend))
        with pytest.raises(ValueError, match=r"Reshape 'r'.*\(2, 3, 4\)"):
            layers.Reshape((5,), name="r")(to_backend(np.zeros((2, 3, 4), "float32"), backend))
        with pytest.raises(ValueError, match=r"Cropping2D 'c'.*\(2, 3, 3, 1\)"):
            layers.Cropping2D(((2, 1), (0, 0)), name="c")(
                to_backend(np.zeros((2, 3, 3, 1), "float32"), backend))
