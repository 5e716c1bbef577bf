"""The image op family (`unikeras.ops.image`) as OpenVINO graphs: every case of
tests/test_ops_image.py whose op has an OpenVINO builder (all but the random
`elastic_transform`) is built through the public `unikeras.ops.image` call on Parameters, compiled
on CPU and inferred, with static shapes and with a dynamic batch dimension; values, dtypes and
shapes must equal the NumPy reference's, and (static graphs) the independent formulas / oracles
of tests/test_ops_image.py. Every array argument is a Parameter there (coordinates, transforms,
points and scales computed in the graph); further tests pass them as NumPy data, fold fully
constant graphs, and cover dynamic image sizes, float16 and the errors for what needs static
dimensions."""
import numpy as np
import pytest

ov = pytest.importorskip("openvino")
ovo = pytest.importorskip("openvino.opset16")

from unikeras import ops  # noqa: E402
from unikeras.adapters.openvino import ops as ov_ops  # noqa: E402
from tests.test_ops_image import CASES, _case_id, _independent, _reference  # noqa: E402

CONFIG = {"INFERENCE_PRECISION_HINT": "f32"}  # bit-exact float32 on every CPU
OV_IMAGE_OPS = {"rgb_to_grayscale", "rgb_to_hsv", "hsv_to_rgb", "resize", "pad_images", "crop_images",
                "extract_patches", "extract_patches_3d", "gaussian_blur", "sobel_edges", "ssim",
                "map_coordinates", "affine_transform", "perspective_transform", "scale_and_translate"}

R = np.random.default_rng(5)
U = lambda *s: R.uniform(0.0, 1.0, s).astype("float32")  # noqa: E731

EXTRA = [
    ("resize", (U(2, 3, 9, 13), (5, 17)), {"interpolation": "lanczos3"}),
    ("resize", (U(3, 9, 7), (4, 11)), {"interpolation": "bicubic", "antialias": True,
                                       "data_format": "channels_first"}),
    ("resize", (U(2, 3, 7, 4), (5, 10)), {"pad_to_aspect_ratio": True, "fill_value": -1.0, "interpolation": "nearest",
                                          "data_format": "channels_first"}),
    ("resize", (U(2, 9, 13, 3), (4, 4)), {"crop_to_aspect_ratio": True, "interpolation": "lanczos5",
                                          "antialias": True}),
    ("resize", (U(2, 12, 10, 2), (5, 4)), {"antialias": True, "interpolation": "nearest"}),
    ("resize", (U(2, 4, 6, 2), (13, 2)), {"antialias": True}),
    ("resize", (R.integers(0, 255, (2, 8, 6, 3)).astype("uint8"), (3, 5)), {"interpolation": "bicubic",
                                                                            "antialias": True}),
    ("resize", (R.integers(0, 255, (2, 8, 6, 3)).astype("uint8"), (4, 4)), {"pad_to_aspect_ratio": True,
                                                                            "fill_value": 128.0}),
    ("resize", (R.integers(0, 255, (2, 3, 8, 6)).astype("uint8"), (5, 2)), {"interpolation": "nearest",
                                                                            "data_format": "channels_first"}),
    ("rgb_to_hsv", (np.array([[[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0]], [[0.5, 0.5, 0.5], [0, 0, 0], [1, 0, 1],
                                                                               [0.2, 0.2, 0.7]]], "float32"),), {}),
    ("gaussian_blur", (U(2, 8, 9, 4),), {"kernel_size": (7, 5), "sigma": (2.0, 0.5)}),
    ("sobel_edges", (U(2, 2, 5, 6),), {"data_format": "channels_first"}),
    ("ssim", (U(12, 13, 2), U(12, 13, 2)), {"filter_size": 7}),
    ("map_coordinates", (U(3, 4, 5), R.uniform(-6, 9, (3, 2, 3, 4)).astype("float32"), 1), {"fill_mode": "reflect"}),
    ("affine_transform", (U(6, 7, 2), np.array([[0.8, 0.1, 1.3, -0.2, 1.2, -0.6, 0.02, 0.01]], "float32")),
     {"fill_mode": "wrap", "interpolation": "nearest"}),
    ("scale_and_translate", (U(2, 3, 9, 8), (2, 3, 5, 14), np.array([0.6, 1.8], "float32"),
                             np.array([0.2, -0.4], "float32"), (2, 3), "cubic"), {}),
]
SQUARE = np.array([[0, 0], [4, 0], [4, 4], [0, 4]], "float32")
ALL = [c for c in CASES if c[0] in OV_IMAGE_OPS] + EXTRA


def _batched(name, args, kwargs):
    """Whether the first argument has a leading batch dimension (what `dynamic` makes dynamic)."""
    x = args[0]
    if name == "map_coordinates":
        return False
    if name == "extract_patches_3d":
        return x.ndim == 5
    if name == "scale_and_translate":
        return 0 not in [d % x.ndim for d in args[4]]
    return x.ndim == 4


def _dynamic_axes(name, i, a, batched):
    """The axes made dynamic in the `i`-th argument `a` of a dynamic-batch case."""
    if name == "map_coordinates" and i == 1 and a.ndim > 1:
        return [1]  # the coordinates' first output dimension
    if (name == "affine_transform" and i == 1 and a.ndim == 2) or (
            name == "perspective_transform" and i in (1, 2) and a.ndim == 3):
        return [0]
    if batched and ((i == 0) or (name == "ssim" and i == 1)):
        return [0]
    return []


def _build(name, args, kwargs, dynamic):
    batched = _batched(name, args, kwargs)
    params, feeds, call_args = [], [], []
    for i, a in enumerate(args):
        if isinstance(a, np.ndarray):
            dyn = _dynamic_axes(name, i, a, batched) if dynamic else []
            p = ovo.parameter([-1 if d in dyn else s for d, s in enumerate(a.shape)], a.dtype, name=f"arg{i}")
            params.append(p)
            feeds.append(a)
            call_args.append(p.output(0))
        else:
            call_args.append(a)
    out = getattr(ops.image, name)(*call_args, **kwargs)
    return out, params, feeds


def _run(out, params, feeds):
    compiled = ov.compile_model(ov.Model([out], params, "image"), "CPU", CONFIG)
    return np.array(compiled(feeds)[0])


def _has_dynamic(case):
    name, args, kwargs = case
    return _batched(name, args, kwargs) or name in ("map_coordinates", "affine_transform") and args[1].ndim > 1


PARAMS = [(c, d) for c in ALL for d in (False, True) if not d or _has_dynamic(c)]


@pytest.mark.parametrize("case,dynamic", PARAMS, ids=[_case_id(c) + ("-dyn" if d else "-static") for c, d in PARAMS])
def test_openvino_image_graph_matches_reference(case, dynamic):
    name, args, kwargs = case
    expected = _reference(name, args, kwargs)
    out, params, feeds = _build(name, args, kwargs, dynamic)
    assert ov_ops.dtype_name(out) == expected.dtype.name
    static_shape = ops.shape(out)
    if not dynamic:
        assert static_shape == expected.shape
    else:  # the builders keep every static dimension; the dynamic one stays unknown (or is
        # implied by a static argument, e.g. a batch of constant points)
        assert len(static_shape) == expected.ndim
        assert all(s is None or s == e for s, e in zip(static_shape, expected.shape))
        assert any(p.get_partial_shape().is_dynamic for p in params)
    got = _run(out, params, feeds)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=2e-5 * max(1, np.abs(expected).max()))
    if not dynamic:
        want = _independent(name, args, kwargs)
        assert want.shape == got.shape
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=2e-5 * max(1, np.abs(want).max()))


def test_openvino_dynamic_batch_runs_several_batch_sizes():
    """One compiled graph with a dynamic batch serves batches of 1 and 3 (the Resizing /
    CenterCrop inference path)."""
    p = ovo.parameter([-1, 9, 13, 3], np.float32)
    x = p.output(0)
    out = ops.image.resize(ops.image.crop_images(x, 1, 2, 1, 2), (4, 4), interpolation="bicubic",
                           antialias=True, crop_to_aspect_ratio=True)
    out = ops.image.rgb_to_hsv(ops.image.affine_transform(out, np.array([1.0, 0.1, 0.2, 0.0, 0.9, 0.3, 0, 0],
                                                                        "float32")))
    compiled = ov.compile_model(ov.Model([out], [p], "pipeline"), "CPU", CONFIG)
    for n in (1, 3):
        data = U(n, 9, 13, 3)
        with ops.backend_scope("numpy"):
            want = ops.image.crop_images(data, 1, 2, 1, 2)
            want = ops.image.resize(want, (4, 4), interpolation="bicubic", antialias=True, crop_to_aspect_ratio=True)
            want = ops.image.rgb_to_hsv(ops.image.affine_transform(
                want, np.array([1.0, 0.1, 0.2, 0.0, 0.9, 0.3, 0, 0], "float32")))
        got = np.array(compiled([data])[0])
        assert got.shape == want.shape == (n, 4, 4, 3)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=2e-5)


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_openvino_resize_nearest_bilinear_with_dynamic_height_and_width(interpolation):
    """Plain nearest / bilinear resizing needs no static size: one graph serves any input size
    (including sizes where nearest's source position (o + 0.5) * in / out is an integer)."""
    p = ovo.parameter([-1, -1, -1, 2], np.float32)
    for size in ((5, 7), (1, 2)):
        out = ops.image.resize(p.output(0), size, interpolation=interpolation)
        assert ops.shape(out) == (None,) + size + (2,)
        compiled = ov.compile_model(ov.Model([out], [p], "resize"), "CPU", CONFIG)
        for shape in ((1, 3, 4, 2), (2, 14, 28, 2), (1, 30, 12, 2)):
            data = U(*shape)
            expected = _reference("resize", (data, size), {"interpolation": interpolation})
            np.testing.assert_allclose(np.array(compiled([data])[0]), expected, rtol=1e-5, atol=2e-5)


def test_openvino_resize_nearest_at_integer_source_positions():
    """Downsampling by 14 or 30 puts nearest's source position on an integer: the graph reads
    the same pixels as the reference (floor((o + 0.5) * in / out))."""
    for n_in, n_out in ((14, 1), (28, 2), (30, 9), (36, 10), (26, 7)):
        x = np.arange(n_in * 3, dtype="float32").reshape(1, n_in, 3, 1)
        p = ovo.parameter([-1, n_in, 3, 1], np.float32)
        out = ops.image.resize(p.output(0), (n_out, 3), interpolation="nearest")
        got = _run(out, [p], [x])
        rows = [int(np.floor((o + 0.5) * n_in / n_out)) for o in range(n_out)]
        np.testing.assert_array_equal(got[0, :, :, 0], x[0, rows, :, 0])


@pytest.mark.parametrize("name,call", [
    ("resize", lambda x: ops.image.resize(x, (3, 3), interpolation="bicubic")),
    ("resize", lambda x: ops.image.resize(x, (3, 3), antialias=True)),
    ("resize", lambda x: ops.image.resize(x, (3, 3), crop_to_aspect_ratio=True)),
    ("resize", lambda x: ops.image.resize(x, (3, 3), pad_to_aspect_ratio=True)),
    ("extract_patches", lambda x: ops.image.extract_patches(x, 2)),
    ("gaussian_blur", lambda x: ops.image.gaussian_blur(x)),
    ("sobel_edges", lambda x: ops.image.sobel_edges(x)),
    ("ssim", lambda x: ops.image.ssim(x, x)),
    ("affine_transform", lambda x: ops.image.affine_transform(x, np.zeros(8, "float32"))),
    ("perspective_transform", lambda x: ops.image.perspective_transform(x, SQUARE, SQUARE + 0.5)),
    ("scale_and_translate", lambda x: ops.image.scale_and_translate(
        x, (2, 4, 4, 3), np.ones(2, "float32"), np.zeros(2, "float32"), (1, 2), "linear")),
    ("map_coordinates", lambda x: ops.image.map_coordinates(x, np.zeros((4, 5), "float32"), 1)),
])
def test_openvino_needs_static_spatial_dims(name, call):
    p = ovo.parameter([2, -1, -1, 3], np.float32)
    with pytest.raises(ValueError, match=f"^{name}:"):
        call(p.output(0))


CONSTANT_CASES = [c for c in ALL if sum(isinstance(a, np.ndarray) for a in c[1]) > 1]


@pytest.mark.parametrize("case", CONSTANT_CASES, ids=[_case_id(c) for c in CONSTANT_CASES])
def test_openvino_numpy_arguments_after_the_image(case):
    """NumPy coordinates, transforms, points, scales: constants of the graph (for
    `scale_and_translate` / `perspective_transform`, weights / coefficients computed at build time
    by the reference's code; the main test feeds them as Parameters: computed in the graph)."""
    name, args, kwargs = case
    expected = _reference(name, args, kwargs)
    x = args[0]
    p = ovo.parameter(list(x.shape), x.dtype)
    out = getattr(ops.image, name)(p.output(0), *args[1:], **kwargs)
    assert ops.shape(out) == expected.shape
    got = _run(out, [p], [x])
    assert got.dtype == expected.dtype
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=2e-5 * max(1, np.abs(expected).max()))


@pytest.mark.parametrize("case", ALL, ids=[_case_id(c) for c in ALL])
def test_openvino_fully_constant_graph(case):
    """Every array a Constant node: OpenVINO folds the whole graph at compile time (its constant
    folding must give the same values as inference)."""
    name, args, kwargs = case
    expected = _reference(name, args, kwargs)
    consts = [ov_ops.convert_to_tensor(a) if isinstance(a, np.ndarray) else a for a in args]
    out = getattr(ops.image, name)(*consts, **kwargs)
    got = np.array(ov.compile_model(ov.Model([out], [], "folded"), "CPU", CONFIG)([])[0])
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=2e-5 * max(1, np.abs(expected).max()))


def test_openvino_map_coordinates_takes_a_list_of_coordinate_arrays():
    x = U(5, 6)
    rows, cols = R.uniform(-1, 6, (3, 4)).astype("float32"), R.uniform(-1, 7, (3, 4)).astype("float32")
    expected = _reference("map_coordinates", (x, np.stack([rows, cols]), 1), {"fill_mode": "mirror"})
    p, q = ovo.parameter([5, 6], np.float32), ovo.parameter([-1, 4], np.float32)
    out = ops.image.map_coordinates(p.output(0), [q.output(0), cols], 1, fill_mode="mirror")
    assert ops.shape(out) in ((None, 4), (3, 4))  # (OpenVINO may take the 3 from the constant)
    np.testing.assert_allclose(_run(out, [p, q], [x, rows]), expected, rtol=1e-5, atol=2e-5)


F16_CALLS = {
    "resize": lambda v: ops.image.resize(v, (4, 5), interpolation="bicubic", antialias=True),
    "rgb_to_hsv": ops.image.rgb_to_hsv,
    "gaussian_blur": ops.image.gaussian_blur,
    "sobel_edges": ops.image.sobel_edges,
    "affine_transform": lambda v: ops.image.affine_transform(v, np.array([1, 0.1, 0.3, 0, 1, 0.2, 0, 0], "float32")),
    "scale_and_translate": lambda v: ops.image.scale_and_translate(
        v, (2, 5, 11, 3), np.array([0.6, 1.3], "float32"), np.array([0.1, 0.2], "float32"), (1, 2), "lanczos3"),
    "extract_patches": lambda v: ops.image.extract_patches(v, 2),
}


@pytest.mark.parametrize("name", list(F16_CALLS))
def test_openvino_float16_images_keep_their_dtype(name):
    x = U(2, 9, 8, 3).astype("float16")
    p = ovo.parameter([-1, 9, 8, 3], np.float16)
    out = F16_CALLS[name](p.output(0))
    with ops.backend_scope("numpy"):
        expected = np.asarray(F16_CALLS[name](x))
    assert ov_ops.dtype_name(out) == "float16"
    got = _run(out, [p], [x])
    assert got.dtype == expected.dtype == np.float16 and got.shape == expected.shape
    # float16 rounding differs (NumPy rounds every step, sampling coordinates included, to
    # float16): a few float16 ulps
    np.testing.assert_allclose(got.astype("float32"), expected.astype("float32"), rtol=0,
                               atol=1e-2 * max(1, float(np.abs(expected).max())))


def test_openvino_map_coordinates_float16_reads_the_right_pixels_of_a_large_input():
    """Flat positions beyond 2048 (not representable in float16) are computed in integers."""
    x = U(45, 70).astype("float16")
    coords = np.stack([R.uniform(-1, 45, (200,)), R.uniform(-1, 70, (200,))]).astype("float16")
    p = ovo.parameter([45, 70], np.float16)
    for order in (0, 1):
        out = ops.image.map_coordinates(p.output(0), coords, order, fill_mode="nearest")
        got = _run(out, [p], [x])
        expected = _reference("map_coordinates", (x, coords, order), {"fill_mode": "nearest"})
        assert got.dtype == expected.dtype == np.float16
        np.testing.assert_allclose(got.astype("float32"), expected.astype("float32"), atol=2e-3)


def test_openvino_argument_errors_name_the_op():
    x = ovo.parameter([1, 6, 6, 3], np.float32).output(0)
    with pytest.raises(ValueError, match="^resize:"):
        ops.image.resize(x, (3, 3), interpolation="area")
    with pytest.raises(ValueError, match="^resize:"):
        ops.image.resize(x, (3, 3), crop_to_aspect_ratio=True, pad_to_aspect_ratio=True)
    with pytest.raises(ValueError, match="^rgb_to_hsv:"):
        ops.image.rgb_to_hsv(ovo.parameter([1, 6, 6, 3], np.int32).output(0))
    with pytest.raises(ValueError, match="^ssim:"):
        ops.image.ssim(x, x, filter_size=7)
    with pytest.raises(ValueError, match="^map_coordinates:"):
        ops.image.map_coordinates(x, np.zeros((2, 5), "float32"), 1)
    with pytest.raises(ValueError, match="^affine_transform:"):
        ops.image.affine_transform(x, np.zeros(6, "float32"))
    with pytest.raises(ValueError, match="^perspective_transform:"):
        ops.image.perspective_transform(x, ovo.parameter([3, 2], np.float32).output(0), SQUARE)
    with pytest.raises(ValueError, match="^scale_and_translate:"):
        ops.image.scale_and_translate(x, (1, 3, 3, 3), ovo.parameter([3], np.float32).output(0),
                                      np.zeros(2, "float32"), (1, 2), "linear")
    with pytest.raises(ValueError, match="^extract_patches_3d:"):
        ops.image.extract_patches_3d(ovo.parameter([1, 4, -1, 4, 2], np.float32).output(0), 2)
