"""The image op family (`unikeras.ops.image`) on every framework backend: values and dtypes vs
the NumPy reference and vs independent formulas or oracles (colorsys, explicit loops,
scipy.ndimage, jax.image.resize / scale_and_translate, tf.image.resize / ssim), symbolic
shapes, gradients, jit / tf.function, seeded elastic warps, and OpenVINO graphs."""
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

# Transforms reaching far outside a 6x7 image (for the fill modes).
FAR = [[1.6, 0.3, -3.7, -0.25, 1.5, -2.4, 0.01, -0.02], [-1.45, 0.1, 9.3, 0.2, 1.7, -4.1, 0.0, 0.0]]
F32 = lambda *v: np.array(v, "float32")  # noqa: E731

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
    # resize: antialiasing, cubic / Lanczos kernels, aspect-ratio crop and pad
    ("resize", (U(2, 9, 13, 3), (4, 5)), {"antialias": True}),
    ("resize", (U(2, 3, 9, 13), (5, 17)), {"interpolation": "bicubic", "data_format": "channels_first"}),
    ("resize", (U(2, 9, 13, 3), (4, 6)), {"interpolation": "bicubic", "antialias": True}),
    ("resize", (U(9, 13, 2), (11, 7)), {"interpolation": "lanczos3", "antialias": True}),
    ("resize", (U(2, 9, 13, 2), (5, 4)), {"interpolation": "lanczos5"}),
    ("resize", (U(2, 9, 13, 3), (4, 4)), {"crop_to_aspect_ratio": True}),
    ("resize", (U(2, 3, 9, 13), (8, 3)), {"crop_to_aspect_ratio": True, "interpolation": "nearest",
                                          "data_format": "channels_first"}),
    ("resize", (U(2, 9, 13, 3), (6, 6)), {"pad_to_aspect_ratio": True, "fill_value": 0.5}),
    ("resize", (U(7, 4, 2), (5, 10)), {"pad_to_aspect_ratio": True, "antialias": True}),
    ("resize", (IMG(8, 6, 2), (3, 3)), {"antialias": True, "crop_to_aspect_ratio": True}),
    # fill modes
    *[("map_coordinates", (U(5, 6), R.uniform(-9, 15, (2, 3, 11)).astype("float32"), order), {"fill_mode": mode})
      for mode, order in (("nearest", 0), ("wrap", 1), ("mirror", 1), ("reflect", 1), ("wrap", 0))],
    ("map_coordinates", (U(1, 4, 3), R.uniform(-5, 8, (3, 13)).astype("float32"), 1), {"fill_mode": "mirror"}),
    *[("affine_transform", (U(2, 6, 7, 3), np.array(FAR, "float32")), {"fill_mode": mode, "interpolation": interp})
      for mode, interp in (("nearest", "bilinear"), ("wrap", "bilinear"), ("mirror", "bilinear"),
                           ("reflect", "nearest"), ("mirror", "nearest"))],
    ("affine_transform", (U(2, 3, 5, 6), np.array(FAR[0], "float32")), {"fill_mode": "reflect",
                                                                        "data_format": "channels_first"}),
    # sobel_edges, ssim, scale_and_translate
    ("sobel_edges", (U(2, 6, 7, 3),), {}),
    ("sobel_edges", (U(3, 5, 6),), {"data_format": "channels_first"}),
    ("sobel_edges", (IMG(5, 6, 1),), {}),
    ("ssim", (U(2, 12, 13, 3), U(2, 12, 13, 3)), {}),
    ("ssim", (U(2, 3, 9, 10), U(2, 3, 9, 10)), {"max_val": 2.0, "filter_size": 5, "filter_sigma": 1.0, "k1": 0.02,
                                                "k2": 0.05, "data_format": "channels_first"}),
    ("ssim", (IMG(12, 12, 3), IMG(12, 12, 3)), {"max_val": 255.0}),
    ("scale_and_translate", (U(2, 9, 13, 3), (2, 7, 19, 3), F32(0.6, 1.7), F32(0.3, -2.1), (1, 2), "linear"), {}),
    ("scale_and_translate", (U(9, 13), (5, 9), F32(0.5, 0.8), F32(0.0, 1.0), (0, 1), "cubic"), {"antialias": False}),
    ("scale_and_translate", (U(2, 8, 9), (2, 20, 4), F32(2.4, 0.4), F32(-1.5, 0.25), (1, -1), "lanczos3"), {}),
    ("scale_and_translate", (U(10, 3, 4), (6, 3, 4), F32(0.55), F32(0.7), (0,), "lanczos5"), {"antialias": False}),
    ("scale_and_translate", (IMG(6, 7, 2), (9, 4, 2), F32(1.5, 0.6), F32(0.0, 0.0), (0, 1), "bilinear"), {}),
]
DIFFERENTIABLE = {"rgb_to_grayscale", "rgb_to_hsv", "hsv_to_rgb", "resize", "pad_images", "crop_images",
                  "sobel_edges", "ssim", "scale_and_translate",
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


# Results on the CASES' own argument tuples are computed once (every backend compares with them).
_CASE_ARGS = {id(c[1]) for c in CASES}
_CACHE = {}


def _cached(kind, fn, name, args, kwargs):
    if id(args) not in _CASE_ARGS:
        return fn(name, args, kwargs)
    key = (kind, name, id(args), tuple(sorted(kwargs.items())))
    if key not in _CACHE:
        _CACHE[key] = fn(name, args, kwargs)
    return _CACHE[key]


def _reference(name, args, kwargs):
    return _cached("reference", lambda *a: np.asarray(_call("numpy", *a)), name, args, kwargs)


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


# Keras fill mode -> scipy.ndimage mode: scipy's "constant" and "wrap" do not extend the grid
# the Keras way ("constant" stops interpolating at the border, "wrap" has period n - 1).
SCIPY_MODES = {"constant": "grid-constant", "nearest": "nearest", "wrap": "grid-wrap", "mirror": "mirror",
               "reflect": "reflect"}
# Keras fill mode -> np.pad mode (NumPy's "reflect" is Keras's "mirror", "symmetric" its "reflect").
NP_PAD_MODES = {"nearest": "edge", "wrap": "wrap", "mirror": "reflect", "reflect": "symmetric"}


def _map_coordinates_scipy(x, coords, order, kwargs):
    ndimage = pytest.importorskip("scipy.ndimage")
    return ndimage.map_coordinates(x.astype("float64"), coords.astype("float64"), order=order,
                                   mode=SCIPY_MODES[kwargs.get("fill_mode", "constant")],
                                   cval=kwargs.get("fill_value", 0))


def _affine_loop(x, transform, kwargs):
    """Output pixel (row i, column j) samples the input at the projected point, neighbours
    outside the image reading `fill_value`."""
    xl, back = _last(x.astype("float64"), kwargs)
    if xl.ndim == 3:
        xl = xl[None]
    n, h, w, c = xl.shape
    t = np.broadcast_to(np.reshape(transform, (-1, 8)), (n, 8)).astype("float64")
    fill = kwargs.get("fill_value", 0)
    mode = kwargs.get("fill_mode", "constant")
    m = 40  # the image extended by np.pad's equivalent of the fill mode, far enough for the tests
    ext = None if mode == "constant" else np.pad(xl, [(0, 0), (m, m), (m, m), (0, 0)], mode=NP_PAD_MODES[mode])

    def pixel(b, y, z):
        if ext is not None:
            return ext[b, y + m, z + m]
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


def _aspect_loop(x, size, kwargs):
    """Keras's documented aspect-ratio handling, written from the documentation: the largest
    centred window of the target ratio, or even padding of the short side with fill_value."""
    th, tw = size
    h, w = x.shape[-3], x.shape[-2]
    if kwargs.get("crop_to_aspect_ratio"):
        if w * th > h * tw:  # too wide: keep all rows
            ch, cw = h, int(h * tw / th)
        else:
            ch, cw = int(w * th / tw), w
        top, left = (h - ch) // 2, (w - cw) // 2
        return x[..., top:top + ch, left:left + cw, :]
    if kwargs.get("pad_to_aspect_ratio"):
        if w * th > h * tw:  # too wide: add rows
            rows, cols = (int(w * th / tw) - h) // 2, 0
        else:
            rows, cols = 0, (int(h * tw / th) - w) // 2
        pads = [(0, 0)] * (x.ndim - 3) + [(rows, rows), (cols, cols), (0, 0)]
        return np.pad(x, pads, constant_values=kwargs.get("fill_value", 0.0))
    return x


def _resize_jax(x, size, kwargs):
    """jax.image.resize (its antialias and kernels) after the aspect-ratio crop/pad."""
    jax = pytest.importorskip("jax")
    xl, back = _last(x.astype("float32"), kwargs)
    xl = _aspect_loop(xl, size, kwargs)
    shape = xl.shape[:-3] + tuple(size) + xl.shape[-1:]
    out = jax.image.resize(xl, shape, kwargs.get("interpolation", "bilinear"),
                           antialias=kwargs.get("antialias", False))
    return back(np.asarray(out, "float64"))


def _sobel_scipy(x, kwargs):
    ndimage = pytest.importorskip("scipy.ndimage")
    xl, _ = _last(x.astype("float64"), kwargs)
    ky = np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], "float64").reshape((1,) * (xl.ndim - 3) + (3, 3, 1))
    kx = np.swapaxes(ky, -3, -2)
    out = np.stack([ndimage.correlate(xl, ky, mode="constant"), ndimage.correlate(xl, kx, mode="constant")], -1)
    return np.moveaxis(out, -2, -4) if kwargs.get("data_format") == "channels_first" else out


def _ssim_tf(a, b, kwargs):
    tf = pytest.importorskip("tensorflow")
    a, _ = _last(a.astype("float64"), kwargs)
    b, _ = _last(b.astype("float64"), kwargs)
    return tf.image.ssim(a, b, kwargs.get("max_val", 1.0), filter_size=kwargs.get("filter_size", 11),
                         filter_sigma=kwargs.get("filter_sigma", 1.5), k1=kwargs.get("k1", 0.01),
                         k2=kwargs.get("k2", 0.03)).numpy()


def _scale_and_translate_jax(x, output_shape, scale, translation, dims, method, kwargs):
    jax = pytest.importorskip("jax")
    fn = jax.jit(jax.image.scale_and_translate, static_argnums=(1, 2, 5, 6))  # (eager jax is slow)
    out = fn(x.astype("float32"), output_shape, dims, scale, translation, method, kwargs.get("antialias", True))
    return np.asarray(out, "float64")


def _independent(name, args, kwargs):
    x = args[0]
    if name == "resize" and (kwargs.get("antialias") or kwargs.get("crop_to_aspect_ratio")
                             or kwargs.get("pad_to_aspect_ratio")
                             or kwargs.get("interpolation", "bilinear") not in ("bilinear", "nearest")):
        return _resize_jax(x, args[1], kwargs)
    if name == "sobel_edges":
        return _sobel_scipy(x, kwargs)
    if name == "ssim":
        return _ssim_tf(x, args[1], kwargs)
    if name == "scale_and_translate":
        return _scale_and_translate_jax(x, *args[1:], kwargs)
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
    want = _cached("independent", _independent, name, args, kwargs)
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


RESIZE_LIB = [((2, 5, 7, 3), (9, 4), "bilinear", False), ((2, 5, 7, 3), (3, 11), "nearest", False),
              ((1, 8, 8, 2), (3, 5), "bilinear", False), ((1, 4, 6, 2), (13, 2), "nearest", False),
              ((1, 12, 10, 2), (5, 4), "bilinear", True), ((1, 12, 10, 2), (5, 17), "bicubic", True),
              ((2, 9, 13, 1), (4, 20), "lanczos3", True), ((1, 9, 13, 2), (19, 6), "lanczos5", False),
              ((1, 9, 13, 2), (4, 6), "bicubic", False)]


@pytest.mark.parametrize("shape,size,method,antialias", RESIZE_LIB)
def test_resize_agrees_with_jax_and_tf_image_resize(shape, size, method, antialias):
    """Our resize is jax.image.resize; tf.image.resize agrees except for its plain bicubic."""
    x = R.standard_normal(shape).astype("float32")
    with ops.backend_scope("numpy"):
        ours = ops.image.resize(x, size, interpolation=method, antialias=antialias)
    if "jax" in FRAMEWORKS:
        import jax
        want = np.asarray(jax.image.resize(x, (shape[0],) + size + (shape[-1],), method, antialias=antialias))
        np.testing.assert_allclose(ours, want, rtol=1e-5, atol=1e-5)
    if "tensorflow" in FRAMEWORKS and (antialias or method != "bicubic"):
        import tensorflow as tf
        want = tf.image.resize(x, size, method=method, antialias=antialias).numpy()
        np.testing.assert_allclose(ours, want, rtol=1e-5, atol=1e-5)
    if not ("jax" in FRAMEWORKS or "tensorflow" in FRAMEWORKS):
        pytest.skip("needs jax or tensorflow installed")


@pytest.mark.parametrize("backend", ["numpy"] + FRAMEWORKS)
def test_scale_and_translate_documented_example(backend):
    """Keras's documented example: 3x3 -> 5x5, scale 2, translation -(scale / 2 - 0.5)."""
    images = np.arange(9, dtype="float32").reshape((3, 3))
    scale = np.array([2.0, 2.0], "float32")
    out = _call(backend, "scale_and_translate", (images, (5, 5), scale, -(scale / 2.0 - 0.5), (0, 1), "linear"), {})
    want = np.array([[0.0, 0.5, 1.0, 1.5, 2.0], [1.5, 2.0, 2.5, 3.0, 3.5], [3.0, 3.5, 4.0, 4.5, 5.0],
                     [4.5, 5.0, 5.5, 6.0, 6.5], [6.0, 6.5, 7.0, 7.5, 8.0]], "float32")
    np.testing.assert_allclose(ops.convert_to_numpy(out), want, atol=1e-5)


@pytest.mark.parametrize("mode", ["constant", "nearest", "wrap", "mirror", "reflect"])
def test_fill_modes_match_scipy_and_np_pad(mode):
    """Every fill mode with both orders (the framework cases cover a subset): map_coordinates
    vs scipy.ndimage, affine_transform vs the np.pad-extended image, including size-1 axes."""
    for x in (U(5, 6), U(1, 7)):
        c = R.uniform(-12, 17, (2, 40)).astype("float32")
        for order in (0, 1):
            kwargs = {"fill_mode": mode, "fill_value": 0.25}
            got = _reference("map_coordinates", (x, c, order), kwargs)
            np.testing.assert_allclose(got, _map_coordinates_scipy(x, c, order, kwargs), atol=1e-5)
    x = U(2, 6, 7, 2)
    for interp in ("nearest", "bilinear"):
        kwargs = {"fill_mode": mode, "interpolation": interp, "fill_value": -0.5}
        args = (x, np.array(FAR, "float32"))
        np.testing.assert_allclose(_reference("affine_transform", args, kwargs), _affine_loop(x, FAR, kwargs),
                                   atol=1e-5)


@pytest.mark.parametrize("backend", ["numpy"] + FRAMEWORKS)
def test_sobel_and_ssim_known_values(backend):
    # A vertical step edge: dx is 4 per unit step next to the edge (1 + 2 + 1), dy 0 inside.
    image = np.zeros((1, 8, 8, 1), "float32")
    image[0, :, 4:, 0] = 1.0
    edges = ops.convert_to_numpy(_call(backend, "sobel_edges", (image,), {}))
    assert edges.shape == (1, 8, 8, 1, 2)
    np.testing.assert_allclose(edges[0, 1:-1, 3:5, 0, 1], 4.0)
    np.testing.assert_allclose(edges[0, 1:-1, :, 0, 0], 0.0)
    # SSIM of an image with itself is 1; with its photographic negative (same local means) < 0.
    x = U(2, 16, 16, 3)
    same = ops.convert_to_numpy(_call(backend, "ssim", (x, x), {}))
    np.testing.assert_allclose(same, 1.0, atol=1e-5)
    assert np.all(ops.convert_to_numpy(_call(backend, "ssim", (x, 1 - x), {})) < 0)


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


# --- elastic_transform (random: each backend draws its own numbers) -----------------------------
ELASTIC = [((2, 9, 10, 3), 7, 3.0, 1.5, {"fill_mode": "reflect"}),
           ((3, 8, 9), 11, 4.0, 1.0, {"fill_mode": "constant", "fill_value": 0.5, "data_format": "channels_first"}),
           ((9, 8, 2), 5, 6.0, 2.0, {"fill_mode": "wrap", "interpolation": "nearest"})]


def _elastic_recipe(backend, x, seed, alpha, sigma, kwargs):
    """The documented recipe rebuilt outside the op: the same seeded unikeras.random.normal
    draw on `backend`, a Gaussian blur by scipy.ndimage.correlate, and
    scipy.ndimage.map_coordinates per image and channel."""
    ndimage = pytest.importorskip("scipy.ndimage")
    from unikeras import random
    xl, back = _last(x.astype("float64"), kwargs)
    batched = xl.ndim == 4
    xl = xl if batched else xl[None]
    n, h, w, c = xl.shape
    with ops.backend_scope(backend):
        noise = ops.convert_to_numpy(random.normal((2 * n, h, w, 1), dtype="float32", seed=seed))
    k = int(6 * sigma) | 1
    g = np.exp(-((np.arange(k) - (k - 1) / 2) ** 2) / (2 * sigma ** 2))
    g /= g.sum()
    field = ndimage.correlate(noise[..., 0].astype("float64") * sigma, np.outer(g, g)[None], mode="constant")
    field = field.reshape(2, n, h, w) * alpha
    rows, cols = np.arange(h)[:, None] + field[0], np.arange(w)[None, :] + field[1]
    order = 0 if kwargs.get("interpolation") == "nearest" else 1
    out = np.stack([np.stack([ndimage.map_coordinates(xl[b, :, :, ch], [rows[b], cols[b]], order=order,
                                                      mode=SCIPY_MODES[kwargs.get("fill_mode", "reflect")],
                                                      cval=kwargs.get("fill_value", 0.0))
                              for ch in range(c)], -1) for b in range(n)])
    return back(out if batched else out[0])


def _elastic(backend, x, **kwargs):
    return ops.convert_to_numpy(_call(backend, "elastic_transform", (x,), kwargs))


@pytest.mark.parametrize("backend", ["numpy"] + FRAMEWORKS)
@pytest.mark.parametrize("shape,seed,alpha,sigma,kwargs", ELASTIC)
def test_elastic_transform_follows_its_recipe(backend, shape, seed, alpha, sigma, kwargs):
    x = U(*shape)
    got = _elastic(backend, x, alpha=alpha, sigma=sigma, seed=seed, **kwargs)
    want = _elastic_recipe(backend, x, seed, alpha, sigma, kwargs)
    assert got.dtype == np.float32 and got.shape == x.shape
    assert np.abs(got - x).max() > 0.05  # it did move pixels
    np.testing.assert_allclose(got, want, atol=1e-4)


@pytest.mark.parametrize("backend", ["numpy"] + FRAMEWORKS)
def test_elastic_transform_alpha_zero_is_identity_and_seeds_are_reproducible(backend):
    from unikeras.random import SeedGenerator
    x = U(2, 6, 7, 3)
    for mode, interp in (("constant", "nearest"), ("nearest", "bilinear"), ("wrap", "bilinear"),
                         ("mirror", "nearest"), ("reflect", "bilinear")):
        out = _elastic(backend, x, alpha=0.0, interpolation=interp, fill_mode=mode, seed=1)
        np.testing.assert_allclose(out, x, atol=1e-5, err_msg=f"{mode} {interp}")
    img = IMG(6, 7, 1)
    out = _elastic(backend, img, alpha=0.0, sigma=1.0)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, img, atol=1e-4)
    a, b = _elastic(backend, x, seed=4, alpha=8.0, sigma=1.0), _elastic(backend, x, seed=4, alpha=8.0, sigma=1.0)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - _elastic(backend, x, seed=5, alpha=8.0, sigma=1.0)).max() > 0.05
    # A SeedGenerator advances (new draws per call) and replays from the same initial seed.
    with ops.backend_scope(backend):
        g1, g2 = SeedGenerator(3), SeedGenerator(3)
        first, second = _elastic(backend, x, seed=g1, sigma=1.0), _elastic(backend, x, seed=g1, sigma=1.0)
        np.testing.assert_array_equal(first, _elastic(backend, x, seed=g2, sigma=1.0))
        assert np.abs(first - second).max() > 0.05


@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_elastic_transform_gradient_is_the_warp_adjoint(backend):
    """For a fixed seed the op is linear in the image, so <grad of sum(w * f(x)), v> = sum(w * f(v))."""
    x, v = U(2, 7, 8, 2), U(2, 7, 8, 2)
    kwargs = {"alpha": 4.0, "sigma": 1.0, "seed": 9, "fill_mode": "reflect"}
    w = np.random.default_rng(1).standard_normal(x.shape).astype("float32")
    wt = to_backend(w, backend)

    def loss(params, *unused):
        return ops.sum(ops.multiply(ops.image.elastic_transform(params[0], **kwargs), wt)), None

    (_, _), grads = runtime(backend).value_and_grad(loss)([to_backend(x, backend)])
    lhs = float(np.sum(ops.convert_to_numpy(grads[0]).astype("float64") * v))
    rhs = float(np.sum(w.astype("float64") * _elastic(backend, v, **kwargs)))
    np.testing.assert_allclose(lhs, rhs, rtol=1e-4)


def test_elastic_transform_inside_jax_jit_and_tf_function():
    x = U(2, 6, 7, 3)
    kwargs = {"alpha": 5.0, "sigma": 1.0, "seed": 3, "fill_mode": "wrap"}
    ran = 0
    if "jax" in FRAMEWORKS:
        import jax
        got = np.asarray(jax.jit(lambda v: ops.image.elastic_transform(v, **kwargs))(to_backend(x, "jax")))
        np.testing.assert_allclose(got, _elastic("jax", x, **kwargs), atol=1e-5)
        ran += 1
    if "tensorflow" in FRAMEWORKS:
        import tensorflow as tf
        fn = tf.function(lambda v: ops.image.elastic_transform(v, **kwargs))
        got = fn(to_backend(x, "tensorflow")).numpy()
        np.testing.assert_allclose(got, _elastic("tensorflow", x, **kwargs), atol=1e-5)
        ran += 1
    if not ran:
        pytest.skip("needs jax or tensorflow installed")


@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_scale_and_translate_with_traced_scale(backend):
    """scale / translation may be tensors computed inside jax.jit / tf.function."""
    x = U(2, 6, 7, 1)
    args = ((2, 9, 4, 1), F32(1.5, 0.6), F32(0.25, -0.5), (1, 2), "cubic")
    want = _reference("scale_and_translate", (x,) + args, {})
    if backend == "jax":
        import jax
        fn = jax.jit(lambda v, s, t: ops.image.scale_and_translate(v, args[0], s, t, args[3], args[4]))
    elif backend == "tensorflow":
        import tensorflow as tf
        fn = tf.function(lambda v, s, t: ops.image.scale_and_translate(v, args[0], s, t, args[3], args[4]))
    else:
        fn = lambda v, s, t: ops.image.scale_and_translate(v, args[0], s, t, args[3], args[4])  # noqa: E731
    got = fn(to_backend(x, backend), to_backend(args[1], backend), to_backend(args[2], backend))
    np.testing.assert_allclose(ops.convert_to_numpy(got), want, rtol=1e-5, atol=1e-5)


def test_tf_graph_with_unknown_height_and_width_gets_clear_errors():
    tf = pytest.importorskip("tensorflow")
    spec = tf.TensorSpec((None, None, None, 3), tf.float32)
    x = tf.constant(U(1, 6, 7, 3))
    for name, call in (("resize", lambda v: ops.image.resize(v, (3, 3), crop_to_aspect_ratio=True)),
                       ("sobel_edges", ops.image.sobel_edges), ("ssim", lambda v: ops.image.ssim(v, v)),
                       ("elastic_transform", lambda v: ops.image.elastic_transform(v, seed=1)),
                       ("scale_and_translate", lambda v: ops.image.scale_and_translate(
                           v, (1, 3, 3, 3), F32(0.5, 0.5), F32(0, 0), (1, 2), "linear"))):
        with pytest.raises(ValueError, match=f"ValueError: {name}: "):  # (tf.function wraps the message)
            tf.function(call, input_signature=[spec])(x)


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
    assert ops.image.sobel_edges(x).shape == (None, None, None, 3, 2)
    assert ops.image.ssim(x, x).shape == (None,)
    assert ops.image.ssim(KerasTensor((None, None, 3)), KerasTensor((20, 20, 3))).shape == ()
    assert ops.image.elastic_transform(x).shape == x.shape
    assert ops.image.elastic_transform(KerasTensor((5, 6, 1), "uint8"), seed=1).dtype == "float32"
    assert ops.image.resize(x, (5, 6), antialias=True, interpolation="lanczos5").shape == (None, 5, 6, 3)
    assert ops.image.resize(KerasTensor((None, 9, 7, 2)), (4, 4), pad_to_aspect_ratio=True).shape == (None, 4, 4, 2)
    assert ops.image.resize(x, (4, 3), crop_to_aspect_ratio=True).shape == (None, 4, 3, 3)
    st = ops.image.scale_and_translate(KerasTensor((None, 5, 6), "float16"), (4, 10, 6), KerasTensor((1,)),
                                       KerasTensor((1,)), (1,), "cubic")
    assert st.shape == (4, 10, 6) and st.dtype == "float16"
    y = KerasTensor((None, 3, 10, 12))
    assert ops.image.sobel_edges(y, data_format="channels_first").shape == (None, 3, 10, 12, 2)
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
    lambda: ops.image.map_coordinates(KerasTensor((4, 3)), KerasTensor((2, 5)), 1, fill_mode="symmetric"),
    lambda: ops.image.affine_transform(KerasTensor((2, 4, 4, 3)), KerasTensor((2, 6))),
    lambda: ops.image.affine_transform(KerasTensor((2, 4, 4, 3)), KerasTensor((8,)), interpolation="cubic"),
    lambda: ops.image.affine_transform(KerasTensor((4, 4, 3)), KerasTensor((8,)), fill_mode="grid-wrap"),
    lambda: ops.image.resize(KerasTensor((2, 4, 4, 3)), (2, 2), interpolation="area"),
    lambda: ops.image.resize(KerasTensor((2, 4, 4, 3)), (2, 2), crop_to_aspect_ratio=True, pad_to_aspect_ratio=True),
    lambda: ops.image.resize(KerasTensor((2, 4, 4, 3)), (2, 2), pad_to_aspect_ratio=True, fill_mode="reflect"),
    lambda: ops.image.sobel_edges(KerasTensor((4, 4))),
    lambda: ops.image.ssim(KerasTensor((2, 12, 12, 3)), KerasTensor((2, 12, 11, 3))),
    lambda: ops.image.ssim(KerasTensor((2, 8, 12, 3)), KerasTensor((2, 8, 12, 3))),
    lambda: ops.image.ssim(KerasTensor((12, 12, 3)), KerasTensor((12, 12, 3)), filter_size=0),
    lambda: ops.image.scale_and_translate(KerasTensor((4, 5)), (4, 6), KerasTensor((2,)), KerasTensor((2,)),
                                          (0, 1), "nearest"),
    lambda: ops.image.scale_and_translate(KerasTensor((4, 5)), (4, 6), KerasTensor((1,)), KerasTensor((1,)),
                                          (0,), "linear"),
    lambda: ops.image.scale_and_translate(KerasTensor((4, 5)), (4,), KerasTensor((1,)), KerasTensor((1,)),
                                          (0,), "linear"),
    lambda: ops.image.scale_and_translate(KerasTensor((4, 5)), (4, 6), KerasTensor((2,)), KerasTensor((1,)),
                                          (0, 1), "linear"),
    lambda: ops.image.scale_and_translate(KerasTensor((4, 5)), (4, 6), KerasTensor((2,)), KerasTensor((2,)),
                                          (0, 2), "linear"),
    lambda: ops.image.elastic_transform(KerasTensor((4, 4, 3)), interpolation="bicubic"),
    lambda: ops.image.elastic_transform(KerasTensor((4, 4, 3)), fill_mode="grid-wrap"),
    lambda: ops.image.elastic_transform(KerasTensor((4, 4, 3)), sigma=0.0),
    lambda: ops.image.elastic_transform(KerasTensor((4, 3))),
    lambda: ops.image.perspective_transform(KerasTensor((4, 4, 3)), KerasTensor((3, 2)), KerasTensor((4, 2))),
    lambda: ops.image.perspective_transform(KerasTensor((4, 4, 3)), KerasTensor((4, 2)), KerasTensor((4, 2)), "area"),
    lambda: ops.image.extract_patches_3d(KerasTensor((2, 4, 4, 3)), 2, padding="valid", data_format="nhwc"),
    lambda: ops.image.extract_patches_3d(KerasTensor((2, 4, 4, 4, 3)), (2, 2)),
    lambda: ops.image.extract_patches_3d(KerasTensor((4, 4, 3)), 2),
])
def test_symbolic_errors_name_the_op(bad):
    with pytest.raises(ValueError, match=r"^(rgb_to_grayscale|rgb_to_hsv|hsv_to_rgb|resize|pad_images|crop_images|"
                                         r"extract_patches|gaussian_blur|map_coordinates|affine_transform|"
                                         r"perspective_transform|extract_patches_3d|sobel_edges|ssim|"
                                         r"scale_and_translate|elastic_transform):"):
        bad()


@pytest.mark.parametrize("backend", ["numpy"] + FRAMEWORKS)
def test_eager_errors_name_the_op(backend):
    with pytest.raises(ValueError, match="^resize:"):
        _call(backend, "resize", (U(4, 4, 3), (2, 2)), {"interpolation": "area"})
    with pytest.raises(ValueError, match="^ssim:"):
        _call(backend, "ssim", (U(12, 12, 3), U(12, 12, 3)), {"filter_size": 13})
    with pytest.raises(ValueError, match="^map_coordinates:"):
        _call(backend, "map_coordinates", (U(4, 4), U(2, 3), 1), {"fill_mode": "grid-wrap"})
    with pytest.raises(ValueError, match="^crop_images:"):
        _call(backend, "crop_images", (U(4, 4, 3),), {"top_cropping": 1, "target_height": 5,
                                                      "left_cropping": 0, "right_cropping": 0})


# --- gradients -------------------------------------------------------------------------------
# The first two float cases of each differentiable op (keeps the file's runtime down).
# (one for the newer ops sobel_edges, ssim, scale_and_translate)
GRAD_CASES = [c for i, c in enumerate(CASES) if c[0] in DIFFERENTIABLE and c[1][0].dtype == np.float32
              and sum(d[0] == c[0] and d[1][0].dtype == np.float32 for d in CASES[:i])
              < (1 if c[0] in ("sobel_edges", "ssim", "scale_and_translate") else 2)]
# ... and the distinct code paths of the resize kernels and the fill modes: antialiased
# bilinear and bicubic (torch F.interpolate, tf ScaleAndTranslate), Lanczos (matrices), wrap
# (torch pads the image for grid_sample) and reflect.
GRAD_CASES += [c for c in CASES if c[1][0].dtype == np.float32 and (
    (c[0] == "resize" and c[2] in ({"antialias": True}, {"interpolation": "bicubic", "antialias": True},
                                   {"interpolation": "lanczos3", "antialias": True}))
    or (c[0] == "affine_transform" and c[2].get("fill_mode") == "wrap")
    or (c[0] == "map_coordinates" and c[2].get("fill_mode") == "reflect"))]


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
COMPILED = [c for c in CASES if c[1][0].dtype == np.float32][::3]  # (test_ops_compiled.py runs them all)


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
# (the OpenVINO graph ops implement plain nearest / bilinear resizing only)
OV_CASES = [(c, dyn) for c in CASES if c[0] in OV_OPS and not (
    c[2].get("antialias") or c[2].get("crop_to_aspect_ratio") or c[2].get("pad_to_aspect_ratio")
    or c[2].get("interpolation", "bilinear") not in ("bilinear", "nearest")) for dyn in (False, True)
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
