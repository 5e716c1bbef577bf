"""The image op family (`unikeras.ops.image`) on every framework backend: values and dtypes vs
the NumPy reference and vs independent formulas (colorsys, explicit loops, jax.image.resize /
tf.image.resize), symbolic shapes, gradients, jit / tf.function, and OpenVINO graphs."""
import colorsys

import numpy as np
import pytest

from unikeras import KerasTensor, ops
from unikeras.common.variables import runtime
from tests.conftest import FRAMEWORKS, to_backend

R = np.random.default_rng(3)
U = lambda *s: R.uniform(0.0, 1.0, s).astype("float32")  # noqa: E731
IMG = lambda *s: R.integers(0, 255, s).astype("uint8")  # noqa: E731

# Projective transforms [a0, a1, a2, b0, b1, b2, c0, c1] (no sample lands on a rounding tie).
AFFINE = [[0.9, 0.2, -0.7, -0.15, 1.1, 0.4, 0.01, -0.02], [1.05, -0.1, 0.37, 0.1, 0.95, -1.23, 0.0, 0.0]]

CORNERS = np.array([[0, 0], [6, 0], [6, 5], [0, 5]], "float32")  # (x, y) corners of a 6x7 image

CASES = [
    ("rgb_to_grayscale", (U(2, 4, 5, 3),), {}),
    ("rgb_to_grayscale", (U(3, 4, 5),), {"data_format": "channels_first"}),
    ("rgb_to_grayscale", (IMG(4, 5, 3),), {}),
    ("rgb_to_hsv", (U(2, 4, 5, 3),), {}),
    ("rgb_to_hsv", (U(2, 3, 4, 5),), {"data_format": "channels_first"}),
    ("hsv_to_rgb", (U(4, 5, 3),), {}),
    ("hsv_to_rgb", (U(2, 3, 4, 5),), {"data_format": "channels_first"}),
    ("resize", (U(2, 5, 7, 3), (9, 4)), {}),
    ("resize", (U(2, 5, 7, 3), (3, 11)), {"interpolation": "nearest"}),
    ("resize", (U(3, 6, 5), (4, 13)), {"data_format": "channels_first"}),
    ("resize", (U(2, 2, 6, 5), (12, 3)), {"interpolation": "nearest", "data_format": "channels_first"}),
    ("resize", (IMG(6, 6, 1), (3, 4)), {}),
    ("pad_images", (U(2, 4, 5, 3),), {"top_padding": 1, "bottom_padding": 2, "left_padding": 0, "right_padding": 3}),
    ("pad_images", (U(4, 5, 3),), {"top_padding": 1, "target_height": 7, "right_padding": 2, "target_width": 8}),
    ("pad_images", (IMG(2, 3, 4, 5),), {"bottom_padding": 1, "target_height": 6, "left_padding": 1,
                                        "right_padding": 1, "data_format": "channels_first"}),
    ("crop_images", (U(2, 6, 7, 3),), {"top_cropping": 1, "bottom_cropping": 2, "left_cropping": 0,
                                       "right_cropping": 3}),
    ("crop_images", (U(6, 7, 3),), {"top_cropping": 2, "target_height": 3, "right_cropping": 1, "target_width": 4}),
    ("crop_images", (IMG(2, 3, 6, 7),), {"bottom_cropping": 1, "target_height": 4, "left_cropping": 2,
                                         "right_cropping": 1, "data_format": "channels_first"}),
    ("extract_patches", (U(2, 6, 8, 3), 2), {}),
    ("extract_patches", (U(2, 7, 8, 2), (3, 2)), {"strides": (2, 3), "padding": "same"}),
    ("extract_patches", (U(2, 2, 9, 8), (2, 3)), {"strides": 1, "dilation_rate": 2, "data_format": "channels_first"}),
    ("extract_patches", (IMG(7, 6, 3), 3), {"strides": 2, "padding": "same"}),
    ("gaussian_blur", (U(2, 6, 7, 3),), {}),
    ("gaussian_blur", (U(2, 6, 7, 2),), {"kernel_size": (5, 4), "sigma": (1.5, 0.7)}),
    ("gaussian_blur", (U(2, 3, 7, 6),), {"kernel_size": 3, "sigma": 2.0, "data_format": "channels_first"}),
    ("gaussian_blur", (IMG(6, 5, 1),), {"kernel_size": (3, 5)}),
    ("map_coordinates", (U(5, 6), R.uniform(-1.5, 6.5, (2, 4, 7)).astype("float32"), 1), {}),
    ("map_coordinates", (U(4, 5, 3), R.uniform(-1.5, 5.5, (3, 11)).astype("float32"), 1), {"fill_value": 0.5}),
    ("map_coordinates", (U(5, 6), R.uniform(-1.3, 6.3, (2, 9)).astype("float32"), 0), {"fill_value": -1.0}),
    ("map_coordinates", (U(7), R.uniform(-1.3, 7.3, (1, 3, 4)).astype("float32"), 0), {}),
    ("affine_transform", (U(2, 6, 7, 3), np.array(AFFINE, "float32")), {"fill_value": 0.3}),
    ("affine_transform", (U(2, 6, 7, 3), np.array(AFFINE, "float32")), {"interpolation": "nearest"}),
    ("affine_transform", (U(2, 3, 5, 6), np.array(AFFINE[0], "float32")), {"data_format": "channels_first"}),
    ("affine_transform", (U(5, 6, 2), np.array(AFFINE[1], "float32")),
     {"interpolation": "nearest", "fill_value": -1.0}),
    ("perspective_transform", (U(2, 6, 7, 3), CORNERS, CORNERS + R.uniform(-1, 1, (2, 4, 2)).astype("float32")), {}),
    ("perspective_transform", (U(2, 3, 6, 7), CORNERS + R.uniform(-1, 1, (2, 4, 2)).astype("float32"), CORNERS),
     {"interpolation": "nearest", "fill_value": 0.5, "data_format": "channels_first"}),
    ("perspective_transform", (U(6, 7, 2), CORNERS, CORNERS * 0.8 + 0.3), {"fill_value": -1.0}),
    ("extract_patches_3d", (U(2, 4, 5, 6, 2), 2), {}),
    ("extract_patches_3d", (U(2, 5, 4, 6, 2), (2, 3, 2)), {"strides": (1, 2, 3), "padding": "same"}),
    ("extract_patches_3d", (U(1, 2, 5, 6, 7), (2, 2, 3)), {"strides": 1, "dilation_rate": (1, 2, 2),
                                                           "data_format": "channels_first"}),
    ("extract_patches_3d", (IMG(5, 4, 3, 2), 2), {"strides": 2, "padding": "same"}),
]
DIFFERENTIABLE = {"rgb_to_grayscale", "rgb_to_hsv", "hsv_to_rgb", "resize", "pad_images", "crop_images",
                  "extract_patches", "gaussian_blur", "map_coordinates", "affine_transform",
                  "perspective_transform", "extract_patches_3d"}


def _case_id(case):
    name, args, kwargs = case
    return "-".join([name, "x".join(map(str, args[0].shape)), str(args[0].dtype)] +
                    [str(getattr(a, "shape", a)) for a in args[1:]] + [f"{k}={v}" for k, v in kwargs.items()])


IDS = [_case_id(c) for c in CASES]


def _call(backend, name, args, kwargs):
    if backend == "numpy":
        with ops.backend_scope("numpy"):
            return getattr(ops.image, name)(*args, **kwargs)
    return getattr(ops.image, name)(to_backend(args[0], backend), *_rest(args, backend), **kwargs)


def _rest(args, backend):
    """Arguments after the first, NumPy arrays as `backend` tensors."""
    return [to_backend(a, backend) if isinstance(a, np.ndarray) else a for a in args[1:]]


def _reference(name, args, kwargs):
    return np.asarray(_call("numpy", name, args, kwargs))


# --- independent formulas --------------------------------------------------------------------
def _last(x, kwargs):
    """Channels-last view of an image (and the inverse move)."""
    if kwargs.get("data_format") == "channels_first":
        return np.moveaxis(x, -3, -1), lambda y: np.moveaxis(y, -1, -3)
    return x, lambda y: y


def _colorsys(fn, x, kwargs):
    xl, back = _last(x.astype("float64"), kwargs)
    out = np.empty_like(xl)
    for idx in np.ndindex(xl.shape[:-1]):
        out[idx] = fn(*xl[idx])
    return back(out)


def _gray_loop(x, kwargs):
    xl, back = _last(x.astype("float64"), kwargs)
    out = np.empty(xl.shape[:-1] + (1,))
    for idx in np.ndindex(xl.shape[:-1]):
        r, g, b = xl[idx]
        out[idx] = 0.2989 * r + 0.5870 * g + 0.1140 * b
    return back(out)


def _resize_loop(x, size, kwargs):
    """Half-pixel-center sampling written out pixel by pixel."""
    xl, back = _last(x.astype("float64"), kwargs)
    if xl.ndim == 3:
        xl = xl[None]
    n, ih, iw, c = xl.shape
    oh, ow = size
    out = np.empty((n, oh, ow, c))
    for i in range(oh):
        for j in range(ow):
            sy, sx = (i + 0.5) * ih / oh, (j + 0.5) * iw / ow
            if kwargs.get("interpolation") == "nearest":
                out[:, i, j] = xl[:, min(int(sy), ih - 1), min(int(sx), iw - 1)]
                continue
            sy, sx = min(max(sy - 0.5, 0), ih - 1), min(max(sx - 0.5, 0), iw - 1)
            y0, x0 = int(sy), int(sx)
            y1, x1 = min(y0 + 1, ih - 1), min(x0 + 1, iw - 1)
            fy, fx = sy - y0, sx - x0
            out[:, i, j] = ((1 - fy) * (1 - fx) * xl[:, y0, x0] + (1 - fy) * fx * xl[:, y0, x1]
                            + fy * (1 - fx) * xl[:, y1, x0] + fy * fx * xl[:, y1, x1])
    out = out[0] if x.ndim == 3 else out
    return back(out)


def _pad_loop(x, kwargs):
    xl, back = _last(x, kwargs)
    h, w = xl.shape[-3], xl.shape[-2]
    top = kwargs.get("top_padding")
    top = kwargs["target_height"] - h - kwargs["bottom_padding"] if top is None else top
    bottom = kwargs.get("bottom_padding")
    bottom = kwargs["target_height"] - h - top if bottom is None else bottom
    left = kwargs.get("left_padding")
    left = kwargs["target_width"] - w - kwargs["right_padding"] if left is None else left
    right = kwargs.get("right_padding")
    right = kwargs["target_width"] - w - left if right is None else right
    out = np.zeros(xl.shape[:-3] + (h + top + bottom, w + left + right, xl.shape[-1]), x.dtype)
    for i in range(h):
        for j in range(w):
            out[..., top + i, left + j, :] = xl[..., i, j, :]
    return back(out)


def _crop_loop(x, kwargs):
    xl, back = _last(x, kwargs)
    h, w = xl.shape[-3], xl.shape[-2]
    top = kwargs.get("top_cropping")
    top = h - kwargs["target_height"] - kwargs["bottom_cropping"] if top is None else top
    oh = kwargs["target_height"] if "target_height" in kwargs else h - top - kwargs["bottom_cropping"]
    left = kwargs.get("left_cropping")
    left = w - kwargs["target_width"] - kwargs["right_cropping"] if left is None else left
    ow = kwargs["target_width"] if "target_width" in kwargs else w - left - kwargs["right_cropping"]
    out = np.zeros(xl.shape[:-3] + (oh, ow, xl.shape[-1]), x.dtype)
    for i in range(oh):
        for j in range(ow):
            out[..., i, j, :] = xl[..., top + i, left + j, :]
    return back(out)


def _pair(v):
    return (v, v) if isinstance(v, (int, float)) else tuple(v)


def _patches_loop(x, size, kwargs):
    """Every output position's patch gathered pixel by pixel, zeros outside the image."""
    xl, back = _last(x, kwargs)
    if xl.ndim == 3:
        xl = xl[None]
    n, h, w, c = xl.shape
    kh, kw = _pair(size)
    sh, sw = _pair(kwargs.get("strides") or (kh, kw))
    dh, dw = _pair(kwargs.get("dilation_rate", 1))
    if kwargs.get("padding", "valid") == "valid":
        oh, ow, top, left = (h - (kh - 1) * dh - 1) // sh + 1, (w - (kw - 1) * dw - 1) // sw + 1, 0, 0
    else:
        oh, ow = -(-h // sh), -(-w // sw)
        top = max((oh - 1) * sh + (kh - 1) * dh + 1 - h, 0) // 2
        left = max((ow - 1) * sw + (kw - 1) * dw + 1 - w, 0) // 2
    out = np.zeros((n, oh, ow, kh * kw * c), x.dtype)
    for i in range(oh):
        for j in range(ow):
            vals = []
            for a in range(kh):
                for b in range(kw):
                    y, z = i * sh + a * dh - top, j * sw + b * dw - left
                    inside = 0 <= y < h and 0 <= z < w
                    vals.append(xl[:, y, z] if inside else np.zeros((n, c), x.dtype))
            out[:, i, j] = np.concatenate(vals, axis=-1)
    out = out[0] if x.ndim == 3 else out
    return back(out)


def _blur_loop(x, kwargs):
    """Zero-padded "same" convolution with exp(-d^2 / 2 sigma^2) weights normalized to sum 1."""
    xl, back = _last(x.astype("float64"), kwargs)
    kh, kw = _pair(kwargs.get("kernel_size", (3, 3)))
    sy, sx = _pair(kwargs.get("sigma", (1.0, 1.0)))
    wy = [np.exp(-((a - (kh - 1) / 2) ** 2) / (2 * sy * sy)) for a in range(kh)]
    wx = [np.exp(-((b - (kw - 1) / 2) ** 2) / (2 * sx * sx)) for b in range(kw)]
    total = sum(wy) * sum(wx)
    h, w = xl.shape[-3], xl.shape[-2]
    out = np.zeros_like(xl)
    for i in range(h):
        for j in range(w):
            for a in range(kh):
                for b in range(kw):
                    y, z = i + a - (kh - 1) // 2, j + b - (kw - 1) // 2
                    if 0 <= y < h and 0 <= z < w:
                        out[..., i, j, :] += wy[a] * wx[b] / total * xl[..., y, z, :]
    return back(out)


def _map_coordinates_scipy(x, coords, order, kwargs):
    ndimage = pytest.importorskip("scipy.ndimage")
    return ndimage.map_coordinates(x.astype("float64"), coords.astype("float64"), order=order,
                                   mode="grid-constant", cval=kwargs.get("fill_value", 0))


def _affine_loop(x, transform, kwargs):
    """Output pixel (row i, column j) samples the input at the projected point, neighbours
    outside the image reading `fill_value`."""
    xl, back = _last(x.astype("float64"), kwargs)
    if xl.ndim == 3:
        xl = xl[None]
    n, h, w, c = xl.shape
    t = np.broadcast_to(np.reshape(transform, (-1, 8)), (n, 8)).astype("float64")
    fill = kwargs.get("fill_value", 0)

    def pixel(b, y, z):
        return xl[b, y, z] if 0 <= y < h and 0 <= z < w else np.full(c, fill, "float64")
    out = np.empty_like(xl)
    for b in range(n):
        a0, a1, a2, b0, b1, b2, c0, c1 = t[b]
        for i in range(h):
            for j in range(w):
                k = c0 * j + c1 * i + 1
                sx, sy = (a0 * j + a1 * i + a2) / k, (b0 * j + b1 * i + b2) / k
                if kwargs.get("interpolation") == "nearest":
                    out[b, i, j] = pixel(b, int(np.floor(sy + 0.5)), int(np.floor(sx + 0.5)))
                    continue
                y0, x0 = int(np.floor(sy)), int(np.floor(sx))
                fy, fx = sy - y0, sx - x0
                out[b, i, j] = ((1 - fy) * (1 - fx) * pixel(b, y0, x0) + (1 - fy) * fx * pixel(b, y0, x0 + 1)
                                + fy * (1 - fx) * pixel(b, y0 + 1, x0) + fy * fx * pixel(b, y0 + 1, x0 + 1))
    out = out[0] if x.ndim == 3 else out
    return back(out)


def _homography(start, end):
    """Projective coefficients taking `end` (output) points to `start` (input) points: the
    null vector (SVD) of the 8x9 direct linear transform system, scaled so h[8] = 1."""
    start, end = np.broadcast_arrays(np.asarray(start, "float64"), np.asarray(end, "float64"))
    out = []
    for s_pts, e_pts in zip(start.reshape(-1, 4, 2), end.reshape(-1, 4, 2)):
        rows = []
        for (x, y), (u, v) in zip(s_pts, e_pts):
            rows += [[u, v, 1, 0, 0, 0, -x * u, -x * v, -x], [0, 0, 0, u, v, 1, -y * u, -y * v, -y]]
        h = np.linalg.svd(np.array(rows))[2][-1]
        out.append(h[:8] / h[8])
    return np.array(out)


def _volume_patches_loop(x, size, kwargs):
    """extract_patches_3d written out voxel by voxel, zeros outside the volume."""
    first = kwargs.get("data_format") == "channels_first"
    xl = np.moveaxis(x, -4, -1) if first else x
    if xl.ndim == 4:
        xl = xl[None]
    n, *dims, c = xl.shape
    trip = lambda v: (v,) * 3 if isinstance(v, int) else tuple(v)  # noqa: E731
    k, st, dl = trip(size), trip(kwargs.get("strides") or size), trip(kwargs.get("dilation_rate", 1))
    outs, lows = [], []
    for m, kk, s_, d in zip(dims, k, st, dl):
        if kwargs.get("padding", "valid") == "valid":
            outs.append((m - (kk - 1) * d - 1) // s_ + 1)
            lows.append(0)
        else:
            o = -(-m // s_)
            outs.append(o)
            lows.append(max((o - 1) * s_ + (kk - 1) * d + 1 - m, 0) // 2)
    out = np.zeros((n, *outs, int(np.prod(k)) * c), x.dtype)
    for pos in np.ndindex(*outs):
        vals = []
        for tap in np.ndindex(*k):
            src = [p * s_ + t * d - lo for p, t, s_, d, lo in zip(pos, tap, st, dl, lows)]
            inside = all(0 <= i < m for i, m in zip(src, dims))
            vals.append(xl[(slice(None), *src)] if inside else np.zeros((n, c), x.dtype))
        out[(slice(None), *pos)] = np.concatenate(vals, axis=-1)
    out = out[0] if x.ndim == 4 else out
    return np.moveaxis(out, -1, -4) if first else out


def _independent(name, args, kwargs):
    x = args[0]
    if name == "extract_patches_3d":
        return _volume_patches_loop(x, args[1], kwargs)
    if name == "perspective_transform":
        return _affine_loop(x, _homography(args[1], args[2]), kwargs)
    if name == "affine_transform":
        return _affine_loop(x, args[1], kwargs)
    if name == "map_coordinates":
        return _map_coordinates_scipy(x, args[1], args[2], kwargs)
    if name == "extract_patches":
        return _patches_loop(x, args[1], kwargs)
    if name == "gaussian_blur":
        return _blur_loop(x, kwargs)
    if name == "rgb_to_grayscale":
        return _gray_loop(x, kwargs)
    if name == "rgb_to_hsv":
        return _colorsys(colorsys.rgb_to_hsv, x, kwargs)
    if name == "hsv_to_rgb":
        return _colorsys(colorsys.hsv_to_rgb, x, kwargs)
    if name == "resize":
        return _resize_loop(x, args[1], kwargs)
    if name == "pad_images":
        return _pad_loop(x, kwargs)
    return _crop_loop(x, kwargs)



# --- values ----------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", FRAMEWORKS)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_op_matches_numpy_reference(backend, case):
    name, args, kwargs = case
    expected = _reference(name, args, kwargs)
    out = _call(backend, name, args, kwargs)
    assert ops.is_tensor(out)
    got = ops.convert_to_numpy(out)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=2e-5 * max(1, np.abs(expected).max()))


@pytest.mark.parametrize("backend", ["numpy"] + FRAMEWORKS)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_op_matches_independent_formula(backend, case):
    name, args, kwargs = case
    got = np.asarray(ops.convert_to_numpy(_call(backend, name, args, kwargs)))
    want = _independent(name, args, kwargs)
    x = args[0]
    # Interpolating/colour ops compute in float: float inputs keep their dtype, integers give floatx.
    keeps_dtype = name in ("pad_images", "crop_images", "extract_patches", "extract_patches_3d")
    want_dtype = x.dtype if keeps_dtype or x.dtype.kind == "f" else np.dtype("float32")
    assert got.dtype == want_dtype
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=2e-5 * max(1, np.abs(want).max()))


@pytest.mark.parametrize("backend", ["numpy"] + FRAMEWORKS)
def test_hsv_round_trip_and_known_colours(backend):
    colours = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0.5, 0.5, 0.5], [0, 0, 0]], "float32")
    hsv = np.array([[0, 1, 1], [1 / 3, 1, 1], [2 / 3, 1, 1], [1 / 6, 1, 1], [0, 0, 0.5], [0, 0, 0]], "float32")
    got = ops.convert_to_numpy(_call(backend, "rgb_to_hsv", (colours[None],), {}))[0]
    np.testing.assert_allclose(got, hsv, atol=1e-6)
    x = U(3, 4, 3)
    back = _call(backend, "hsv_to_rgb", (np.asarray(ops.convert_to_numpy(_call(backend, "rgb_to_hsv", (x,), {}))),), {})
    np.testing.assert_allclose(ops.convert_to_numpy(back), x, atol=1e-5)


RESIZE_LIB = [((2, 5, 7, 3), (9, 4), "bilinear"), ((2, 5, 7, 3), (3, 11), "nearest"),
              ((1, 8, 8, 2), (3, 5), "bilinear"), ((1, 4, 6, 2), (13, 2), "nearest")]


@pytest.mark.parametrize("shape,size,method", RESIZE_LIB)
def test_resize_agrees_with_jax_and_tf_image_resize(shape, size, method):
    x = R.standard_normal(shape).astype("float32")
    with ops.backend_scope("numpy"):
        ours = ops.image.resize(x, size, interpolation=method)
    if "jax" in FRAMEWORKS:
        import jax
        want = np.asarray(jax.image.resize(x, (shape[0],) + size + (shape[-1],), method, antialias=False))
        np.testing.assert_allclose(ours, want, rtol=1e-5, atol=1e-5)
    if "tensorflow" in FRAMEWORKS:
        import tensorflow as tf
        want = tf.image.resize(x, size, method=method, antialias=False).numpy()
        np.testing.assert_allclose(ours, want, rtol=1e-5, atol=1e-5)
    if not ("jax" in FRAMEWORKS or "tensorflow" in FRAMEWORKS):
        pytest.skip("needs jax or tensorflow installed")


PATCH_LIB = [((2, 6, 8, 3), 2, {}), ((2, 7, 8, 2), (3, 2), {"strides": (2, 3), "padding": "same"}),
             ((1, 9, 9, 2), (2, 3), {"strides": 1, "dilation_rate": 2})]


@pytest.mark.parametrize("shape,size,kwargs", PATCH_LIB)
def test_extract_patches_agrees_with_tf_image_extract_patches(shape, size, kwargs):
    tf = pytest.importorskip("tensorflow")
    x = R.standard_normal(shape).astype("float32")
    with ops.backend_scope("numpy"):
        ours = ops.image.extract_patches(x, size, **kwargs)
    k, s, d = _pair(size), _pair(kwargs.get("strides") or size), _pair(kwargs.get("dilation_rate", 1))
    want = tf.image.extract_patches(x, [1, *k, 1], [1, *s, 1], [1, *d, 1],
                                    kwargs.get("padding", "valid").upper()).numpy()
    np.testing.assert_array_equal(ours, want)


@pytest.mark.parametrize("backend", ["numpy"] + FRAMEWORKS)
def test_affine_identity_and_integer_shift(backend):
    x = U(2, 5, 6, 3)
    same = _call(backend, "affine_transform", (x, np.array([1, 0, 0, 0, 1, 0, 0, 0], "float32")), {})
    np.testing.assert_allclose(ops.convert_to_numpy(same), x, atol=1e-6)
    # Output (i, j) reads input (i + 1, j - 2): rows shift up, columns right; the rest is fill.
    shifted = ops.convert_to_numpy(_call(backend, "affine_transform",
                                         (x, np.array([1, 0, -2, 0, 1, 1, 0, 0], "float32")),
                                         {"interpolation": "nearest", "fill_value": 7.0}))
    np.testing.assert_allclose(shifted[:, :4, 2:], x[:, 1:, :4], atol=1e-6)
    assert np.all(shifted[:, 4:] == 7.0) and np.all(shifted[:, :, :2] == 7.0)


VOLUME_LIB = [((2, 4, 5, 6, 2), 2, 2, "valid"), ((1, 5, 4, 6, 2), (2, 3, 2), (1, 2, 3), "same")]


@pytest.mark.parametrize("shape,size,strides,padding", VOLUME_LIB)
def test_extract_patches_3d_agrees_with_tf_extract_volume_patches(shape, size, strides, padding):
    tf = pytest.importorskip("tensorflow")
    x = R.standard_normal(shape).astype("float32")
    with ops.backend_scope("numpy"):
        ours = ops.image.extract_patches_3d(x, size, strides=strides, padding=padding)
    k, s = _triple(size), _triple(strides)
    want = tf.extract_volume_patches(x, [1, *k, 1], [1, *s, 1], padding.upper()).numpy()
    np.testing.assert_array_equal(ours, want)


def _triple(v):
    return (v,) * 3 if isinstance(v, int) else tuple(v)


# --- symbolic rules --------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_symbolic_rule_matches_reference(case):
    name, args, kwargs = case
    expected = _reference(name, args, kwargs)
    spec = getattr(ops.image, name)(*[KerasTensor(a.shape, a.dtype) if isinstance(a, np.ndarray) else a
                                      for a in args], **kwargs)
    assert isinstance(spec, KerasTensor)
    assert spec.shape == expected.shape and spec.dtype == expected.dtype.name


def test_symbolic_rule_keeps_unknown_dims():
    x = KerasTensor((None, None, None, 3))
    assert ops.image.rgb_to_grayscale(x).shape == (None, None, None, 1)
    assert ops.image.rgb_to_hsv(x).shape == (None, None, None, 3)
    assert ops.image.resize(x, (5, 6)).shape == (None, 5, 6, 3)
    assert ops.image.pad_images(x, 1, 2, 3, 4).shape == (None, None, None, 3)
    assert ops.image.pad_images(x, 1, 2, target_height=9, target_width=8).shape == (None, 9, 8, 3)
    assert ops.image.crop_images(x, 1, 2, target_height=4, target_width=5).shape == (None, 4, 5, 3)
    assert ops.image.extract_patches(x, 2).shape == (None, None, None, 12)
    assert ops.image.extract_patches(KerasTensor((None, 9, 10, None)), 3, padding="same").shape == (None, 3, 4, None)
    assert ops.image.gaussian_blur(x).shape == (None, None, None, 3)
    assert ops.image.map_coordinates(KerasTensor((None, 4)), KerasTensor((2, None, 5)), 1).shape == (None, 5)
    assert ops.image.affine_transform(x, KerasTensor((None, 8))).shape == (None, None, None, 3)
    assert ops.image.perspective_transform(x, KerasTensor((4, 2)), KerasTensor((None, 4, 2))).shape == x.shape
    assert ops.image.extract_patches_3d(KerasTensor((None, 4, None, 6, 2)), 2).shape == (None, 2, None, 3, 16)
    y = KerasTensor((None, 3, 10, 12))
    assert ops.image.crop_images(y, 1, 2, 3, 4, data_format="channels_first").shape == (None, 3, 6, 6)
    assert ops.image.resize(y, (2, 2), data_format="channels_first").shape == (None, 3, 2, 2)


@pytest.mark.parametrize("bad", [
    lambda: ops.image.rgb_to_grayscale(KerasTensor((4, 4, 4))),
    lambda: ops.image.rgb_to_hsv(KerasTensor((2, 4, 4, 3), "int32")),
    lambda: ops.image.hsv_to_rgb(KerasTensor((4, 4))),
    lambda: ops.image.resize(KerasTensor((2, 4, 4, 3)), (2, 2), interpolation="lanczos9"),
    lambda: ops.image.resize(KerasTensor((2, 4, 4, 3)), (2,)),
    lambda: ops.image.resize(KerasTensor((2, 4, 4, 3)), (2, 2), data_format="nhwc"),
    lambda: ops.image.pad_images(KerasTensor((2, 4, 4, 3)), 1, 1),
    lambda: ops.image.pad_images(KerasTensor((2, 4, 4, 3)), 1, 1, target_height=3, target_width=6),
    lambda: ops.image.crop_images(KerasTensor((2, 4, 4, 3)), 2, 2, 2, 2),
    lambda: ops.image.extract_patches(KerasTensor((2, 4, 4, 3)), 5),
    lambda: ops.image.extract_patches(KerasTensor((2, 4, 4, 3)), 2, padding="full"),
    lambda: ops.image.gaussian_blur(KerasTensor((2, 4, 4, 3)), sigma=(1.0, -1.0)),
    lambda: ops.image.gaussian_blur(KerasTensor((4, 3))),
    lambda: ops.image.map_coordinates(KerasTensor((4, 3)), KerasTensor((3, 5)), 1),
    lambda: ops.image.map_coordinates(KerasTensor((4, 3)), KerasTensor((2, 5)), 3),
    lambda: ops.image.map_coordinates(KerasTensor((4, 3)), KerasTensor((2, 5)), 1, fill_mode="wrap"),
    lambda: ops.image.affine_transform(KerasTensor((2, 4, 4, 3)), KerasTensor((2, 6))),
    lambda: ops.image.affine_transform(KerasTensor((2, 4, 4, 3)), KerasTensor((8,)), interpolation="cubic"),
    lambda: ops.image.affine_transform(KerasTensor((4, 4, 3)), KerasTensor((8,)), fill_mode="reflect"),
    lambda: ops.image.perspective_transform(KerasTensor((4, 4, 3)), KerasTensor((3, 2)), KerasTensor((4, 2))),
    lambda: ops.image.perspective_transform(KerasTensor((4, 4, 3)), KerasTensor((4, 2)), KerasTensor((4, 2)), "area"),
    lambda: ops.image.extract_patches_3d(KerasTensor((2, 4, 4, 3)), 2, padding="valid", data_format="nhwc"),
    lambda: ops.image.extract_patches_3d(KerasTensor((2, 4, 4, 4, 3)), (2, 2)),
    lambda: ops.image.extract_patches_3d(KerasTensor((4, 4, 3)), 2),
])
def test_symbolic_errors_name_the_op(bad):
    with pytest.raises(ValueError, match=r"^(rgb_to_grayscale|rgb_to_hsv|hsv_to_rgb|resize|pad_images|crop_images|"
                                         r"extract_patches|gaussian_blur|map_coordinates|affine_transform|"
                                         r"perspective_transform|extract_patches_3d):"):
        bad()


@pytest.mark.parametrize("backend", ["numpy"] + FRAMEWORKS)
def test_eager_errors_name_the_op(backend):
    with pytest.raises(ValueError, match="^resize:"):
        _call(backend, "resize", (U(4, 4, 3), (2, 2)), {"antialias": True})
    with pytest.raises(ValueError, match="^crop_images:"):
        _call(backend, "crop_images", (U(4, 4, 3),), {"top_cropping": 1, "target_height": 5,
                                                      "left_cropping": 0, "right_cropping": 0})


# --- gradients -------------------------------------------------------------------------------
# The first two float cases of each differentiable op (keeps the file's runtime down).
GRAD_CASES = [c for i, c in enumerate(CASES) if c[0] in DIFFERENTIABLE and c[1][0].dtype == np.float32
              and sum(d[0] == c[0] and d[1][0].dtype == np.float32 for d in CASES[:i]) < 2]


def _weights(name, args, kwargs):
    return np.random.default_rng(7).standard_normal(_reference(name, args, kwargs).shape)


def _numeric_grad(name, args, kwargs, n_probe=40):
    """Central differences (float64) at `n_probe` random entries of the first argument:
    (flat indices, gradient values)."""
    x = args[0].astype("float64")
    w = _weights(name, args, kwargs)
    probe = np.sort(np.random.default_rng(11).choice(x.size, min(x.size, n_probe), replace=False))
    grad = []
    eps = 1e-4
    for flat in probe:
        idx = np.unravel_index(flat, x.shape)
        vals = []
        for sign in (1, -1):
            xp = x.copy()
            xp[idx] += sign * eps
            vals.append(float(np.sum(_reference(name, (xp,) + tuple(args[1:]), kwargs) * w)))
        grad.append((vals[0] - vals[1]) / (2 * eps))
    return probe, np.array(grad)


@pytest.mark.parametrize("case", GRAD_CASES, ids=[_case_id(c) for c in GRAD_CASES])
def test_gradients_match_finite_differences_and_agree_across_backends(case):
    name, args, kwargs = case
    probe, expected = _numeric_grad(name, args, kwargs)
    weights = _weights(name, args, kwargs).astype("float32")
    per_backend = {}
    for backend in FRAMEWORKS:
        w = to_backend(weights, backend)
        rest = _rest(args, backend)

        def loss(params, *unused):
            out = getattr(ops.image, name)(params[0], *rest, **kwargs)
            return ops.sum(ops.multiply(out, w)), None

        (_, _), grads = runtime(backend).value_and_grad(loss)([to_backend(args[0], backend)])
        per_backend[backend] = ops.convert_to_numpy(grads[0])
        np.testing.assert_allclose(per_backend[backend].reshape(-1)[probe], expected, rtol=2e-2, atol=2e-2,
                                   err_msg=f"{name} gradient on {backend}")
    first = next(iter(per_backend.values()))
    for backend, g in per_backend.items():
        np.testing.assert_allclose(g, first, rtol=1e-4, atol=1e-4, err_msg=f"{name} grads differ on {backend}")


# --- compiled --------------------------------------------------------------------------------
COMPILED = [c for c in CASES if c[1][0].dtype == np.float32][::2]


@pytest.mark.parametrize("case", COMPILED, ids=[_case_id(c) for c in COMPILED])
def test_inside_jax_jit_and_tf_function(case):
    name, args, kwargs = case
    expected = _reference(name, args, kwargs)
    ran = 0
    if "jax" in FRAMEWORKS:
        import jax
        rest = _rest(args, "jax")
        got = np.asarray(jax.jit(lambda x: getattr(ops.image, name)(x, *rest, **kwargs))(to_backend(args[0], "jax")))
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
        ran += 1
    if "tensorflow" in FRAMEWORKS:
        import tensorflow as tf
        rest = _rest(args, "tensorflow")
        fn = tf.function(lambda x: getattr(ops.image, name)(x, *rest, **kwargs))
        got = fn(to_backend(args[0], "tensorflow")).numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
        ran += 1
    if not ran:
        pytest.skip("needs jax or tensorflow installed")


# --- OpenVINO ---------------------------------------------------------------------------------
OV_OPS = {"rgb_to_grayscale", "resize", "pad_images", "crop_images"}
# "dynamic": a dynamic batch dimension (rank-4 inputs); height and width stay static.
OV_CASES = [(c, dyn) for c in CASES if c[0] in OV_OPS for dyn in (False, True)
            if not dyn or c[1][0].ndim == 4]


@pytest.mark.parametrize("case,dynamic", OV_CASES,
                         ids=[_case_id(c) + ("-dyn" if d else "-static") for c, d in OV_CASES])
def test_openvino_graph_matches_numpy_reference(case, dynamic):
    ov = pytest.importorskip("openvino")
    ovo = pytest.importorskip("openvino.opset16")
    from unikeras.adapters.openvino import ops as ov_ops
    name, args, kwargs = case
    expected = _reference(name, args, kwargs)
    x = args[0]
    shape = [-1 if dynamic and i == 0 else d for i, d in enumerate(x.shape)]
    p = ovo.parameter(shape, x.dtype, name="images")
    out = getattr(ops.image, name)(p.output(0), *args[1:], **kwargs)
    assert ov_ops.dtype_name(out) == expected.dtype.name
    assert ops.shape(out) == tuple(None if dynamic and i == 0 else d for i, d in enumerate(expected.shape))
    compiled = ov.compile_model(ov.Model([out], [p], "image"), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    got = np.array(compiled([x])[0])
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=2e-5 * max(1, np.abs(expected).max()))


def test_openvino_needs_static_height_and_width():
    ovo = pytest.importorskip("openvino.opset16")
    p = ovo.parameter([2, -1, 5, 3], np.float32)
    with pytest.raises(ValueError, match="^pad_images:"):
        ops.image.pad_images(p.output(0), 1, 1, 1, 1)
