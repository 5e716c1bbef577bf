"""Op definitions: the image family (`unikeras.ops.image`).

Images are rank 3 (one image) or rank 4 (a batch), channels last unless `data_format`
(default `unikeras.config.image_data_format()`) says "channels_first". Bodies are the
symbolic rules; the helpers below are shared with the backend implementations so that every
backend validates arguments and computes paddings/crops identically.
"""
import math

import numpy as np

from unikeras import config
from unikeras.common import dtypes
from unikeras.common.ops.op import op
from unikeras.common.ops.random import _draw
from unikeras.common.ops.shapes import spec
from unikeras.common.symbolic import KerasTensor

__all__ = ["rgb_to_grayscale", "rgb_to_hsv", "hsv_to_rgb", "resize", "pad_images", "crop_images",
           "extract_patches", "gaussian_blur", "map_coordinates",
           "affine_transform", "perspective_transform", "extract_patches_3d", "sobel_edges", "ssim",
           "scale_and_translate", "elastic_transform"]

GRAY_WEIGHTS = (0.2989, 0.5870, 0.1140)  # ITU-R 601 luma weights (as Keras uses)


def data_format_of(op_name, data_format):
    data_format = data_format or config.image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{op_name}: data_format must be 'channels_last' or 'channels_first', "
                         f"got {data_format!r}.")
    return data_format


def image_axes(op_name, shape, data_format):
    """(height axis, width axis, channel axis) of an image tensor of `shape`."""
    if len(shape) not in (3, 4):
        raise ValueError(f"{op_name}: expected a rank 3 or 4 image tensor, got shape {shape}.")
    n = len(shape)
    if data_format_of(op_name, data_format) == "channels_last":
        return n - 3, n - 2, n - 1
    return n - 2, n - 1, n - 3


def float_result(dtype):
    """Image ops that interpolate compute in float: integer/bool inputs give floatx."""
    return dtype if dtypes.is_float(dtype) else config.floatx()


def _image_rule(op_name, images, data_format, channels=None, need_rgb=False, need_float=False):
    shape, dtype = spec(images)
    _, _, c = image_axes(op_name, shape, data_format)
    if need_rgb and shape[c] is not None and shape[c] != 3:
        raise ValueError(f"{op_name}: expected 3 channels, got shape {shape}.")
    if need_float and not dtypes.is_float(dtype):
        raise ValueError(f"{op_name}: expected a float image, got dtype {dtype}.")
    if channels is not None:
        shape = shape[:c] + (channels,) + shape[c + 1:]
    return KerasTensor(shape, float_result(dtype))


@op
def rgb_to_grayscale(images, data_format=None):
    """Luma 0.2989 R + 0.5870 G + 0.1140 B; keeps a channel axis of size 1."""
    return _image_rule("rgb_to_grayscale", images, data_format, channels=1, need_rgb=True)


@op
def rgb_to_hsv(images, data_format=None):
    """RGB in [0, 1] to hue, saturation, value in [0, 1] (hue 0 where max == min)."""
    return _image_rule("rgb_to_hsv", images, data_format, need_rgb=True, need_float=True)


@op
def hsv_to_rgb(images, data_format=None):
    """Inverse of `rgb_to_hsv`."""
    return _image_rule("hsv_to_rgb", images, data_format, need_rgb=True, need_float=True)


RESIZE_METHODS = ("bilinear", "nearest", "lanczos3", "lanczos5", "bicubic")
# scale_and_translate method names -> kernel
SCALE_METHODS = {"linear": "linear", "bilinear": "linear", "trilinear": "linear", "triangle": "linear",
                 "cubic": "cubic", "bicubic": "cubic", "tricubic": "cubic",
                 "lanczos3": "lanczos3", "lanczos5": "lanczos5"}
FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")


def check_resize_args(size, interpolation, antialias, crop_to_aspect_ratio, pad_to_aspect_ratio,
                      fill_mode="constant"):
    """Validated (height, width) of a `resize` call."""
    if interpolation not in RESIZE_METHODS:
        raise ValueError(f"resize: interpolation must be one of {RESIZE_METHODS}, got {interpolation!r}.")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError("resize: crop_to_aspect_ratio and pad_to_aspect_ratio cannot both be True.")
    if fill_mode != "constant":
        raise ValueError(f"resize: only fill_mode='constant' is supported, got {fill_mode!r}.")
    size = tuple(size)
    if len(size) != 2 or any(int(s) != s or s <= 0 for s in size):
        raise ValueError(f"resize: size must be two positive integers, got {size}.")
    return int(size[0]), int(size[1])


def aspect_window(height, width, size, crop_to_aspect_ratio, pad_to_aspect_ratio):
    """What `resize` does before resampling to keep the aspect ratio of `size`:
    ("crop", (top, left, crop_height, crop_width)): the largest centred window of the target
    aspect ratio; ("pad", (pad_rows, pad_cols)): rows added both above and below and columns
    added both left and right (centred padding on the short side); or (None, None)."""
    th, tw = size
    if (crop_to_aspect_ratio or pad_to_aspect_ratio) and (height is None or width is None):
        raise ValueError("resize: crop_to_aspect_ratio / pad_to_aspect_ratio need the static height and "
                         f"width of the images, got {height} x {width}.")
    if crop_to_aspect_ratio:
        ch = max(min(height, int(width * th / tw)), 1)
        cw = max(min(width, int(height * tw / th)), 1)
        return "crop", ((height - ch) // 2, (width - cw) // 2, ch, cw)
    if pad_to_aspect_ratio:
        ph = max(height, int(width * th / tw))
        pw = max(width, int(height * tw / th))
        return "pad", ((ph - height) // 2, (pw - width) // 2)
    return None, None


@op
def resize(images, size, interpolation="bilinear", antialias=False, crop_to_aspect_ratio=False,
           pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0, data_format=None):
    """Resample images to `size` = (height, width) with half-pixel centers, with the semantics
    of jax.image.resize on every backend: "nearest" takes pixel floor((i + 0.5) * in / out);
    the other methods are `scale_and_translate` with scale out / in and no translation
    (triangle, Keys cubic a = -0.5 or Lanczos kernels, weights renormalized at the borders),
    so `antialias=True` widens the kernel by in / out when downsampling (equal to
    tf.image.resize(..., antialias=True)); it has no effect on "nearest".
    `crop_to_aspect_ratio` first crops the largest centred window of the target aspect
    ratio; `pad_to_aspect_ratio` first pads the short side evenly (both sides by the same
    amount) with `fill_value`."""
    out_h, out_w = check_resize_args(size, interpolation, antialias, crop_to_aspect_ratio,
                                     pad_to_aspect_ratio, fill_mode)
    shape, dtype = spec(images)
    h, w, _ = image_axes("resize", shape, data_format)
    shape = list(shape)
    shape[h], shape[w] = out_h, out_w
    return KerasTensor(tuple(shape), float_result(dtype))


def _amounts(op_name, what, size, before, after, target):
    """(before, after) amounts along one axis from any two of before/after/target."""
    given = sum(v is not None for v in (before, after, target))
    if given != 2:
        raise ValueError(f"{op_name}: give exactly two of the {what} before/after amounts and the "
                         f"target size, got {(before, after, target)}.")
    if target is not None:
        if size is None:
            return before, after, target  # resolved at run time; only the output size is known
        if before is None:
            before = size - after - target if what == "cropping" else target - size - after
        else:
            after = size - before - target if what == "cropping" else target - size - before
    if before < 0 or after < 0:
        raise ValueError(f"{op_name}: negative {what} {(before, after)} for size {size} and target {target}.")
    if size is None:
        return before, after, None
    out = size + before + after if what == "padding" else size - before - after
    if out <= 0 and what == "cropping":
        raise ValueError(f"{op_name}: cropping {(before, after)} leaves nothing of size {size}.")
    return before, after, out


def pad_amounts(shape, top, left, bottom, right, target_height, target_width, data_format):
    """((top, bottom), (left, right)) paddings and the (height, width) axes."""
    h, w, _ = image_axes("pad_images", shape, data_format)
    t, b, _ = _amounts("pad_images", "padding", shape[h], top, bottom, target_height)
    l_, r, _ = _amounts("pad_images", "padding", shape[w], left, right, target_width)
    return (t, b), (l_, r), (h, w)


def crop_amounts(shape, top, left, bottom, right, target_height, target_width, data_format):
    """((top, bottom), (left, right)) croppings and the (height, width) axes."""
    h, w, _ = image_axes("crop_images", shape, data_format)
    t, b, _ = _amounts("crop_images", "cropping", shape[h], top, bottom, target_height)
    l_, r, _ = _amounts("crop_images", "cropping", shape[w], left, right, target_width)
    return (t, b), (l_, r), (h, w)


def _pad_crop_rule(op_name, what, images, amounts, data_format):
    shape, dtype = spec(images)
    h, w, _ = image_axes(op_name, shape, data_format)
    out = list(shape)
    for axis, (before, after, target) in zip((h, w), amounts):
        out[axis] = _amounts(op_name, what, shape[axis], before, after, target)[2]
    return KerasTensor(tuple(out), dtype)


@op
def pad_images(images, top_padding=None, left_padding=None, bottom_padding=None,
               right_padding=None, target_height=None, target_width=None, data_format=None):
    """Zero-pad the height/width axes; per axis give two of before, after, target size."""
    return _pad_crop_rule("pad_images", "padding", images,
                          [(top_padding, bottom_padding, target_height),
                           (left_padding, right_padding, target_width)], data_format)


@op
def crop_images(images, top_cropping=None, left_cropping=None, bottom_cropping=None,
                right_cropping=None, target_height=None, target_width=None, data_format=None):
    """Crop the height/width axes; per axis give two of before, after, target size."""
    return _pad_crop_rule("crop_images", "cropping", images,
                          [(top_cropping, bottom_cropping, target_height),
                           (left_cropping, right_cropping, target_width)], data_format)


def _pair(op_name, what, v):
    v = (v, v) if isinstance(v, int) else tuple(v)
    if len(v) != 2 or any(not isinstance(i, int) or i <= 0 for i in v):
        raise ValueError(f"{op_name}: {what} must be a positive int or two of them, got {v}.")
    return v


def patch_geometry(shape, size, strides, dilation_rate, padding, data_format):
    """Static description of an `extract_patches` call: (h, w, c) axes, kernel size, strides,
    dilation, ((top, bottom), (left, right)) zero padding and output (height, width)."""
    name = "extract_patches"
    h, w, c = image_axes(name, shape, data_format)
    size = _pair(name, "size", size)
    strides = size if strides is None else _pair(name, "strides", strides)
    dilation = _pair(name, "dilation_rate", dilation_rate)
    if padding not in ("valid", "same"):
        raise ValueError(f"{name}: padding must be 'valid' or 'same', got {padding!r}.")
    pads, out = [], []
    for n, k, s, d in zip((shape[h], shape[w]), size, strides, dilation):
        eff = (k - 1) * d + 1
        if n is None:
            pads.append(None)
            out.append(None)
        elif padding == "valid":
            if n < eff:
                raise ValueError(f"{name}: patch extent {eff} exceeds image size {n}.")
            pads.append((0, 0))
            out.append((n - eff) // s + 1)
        else:
            o = -(-n // s)
            total = max((o - 1) * s + eff - n, 0)
            pads.append((total // 2, total - total // 2))
            out.append(o)
    return (h, w, c), size, strides, dilation, pads, out


@op
def extract_patches(images, size, strides=None, dilation_rate=1, padding="valid", data_format=None):
    """Sliding `size` patches flattened into the channel axis in (row, column, channel) order,
    as tf.image.extract_patches; `strides` defaults to `size` (non-overlapping)."""
    shape, dtype = spec(images)
    (h, w, c), size, _, _, _, out = patch_geometry(shape, size, strides, dilation_rate, padding,
                                                   data_format)
    res = list(shape)
    res[h], res[w] = out
    res[c] = None if shape[c] is None else size[0] * size[1] * shape[c]
    return KerasTensor(tuple(res), dtype)


def gaussian_kernel_1d(size, sigma):
    """Normalized 1-D Gaussian taps (NumPy float64) centred on the kernel."""
    x = np.arange(size) - (size - 1) / 2
    k = np.exp(-(x ** 2) / (2.0 * float(sigma) ** 2))
    return k / k.sum()


def gaussian_args(kernel_size, sigma):
    kernel_size = _pair("gaussian_blur", "kernel_size", kernel_size)
    sigma = (sigma, sigma) if isinstance(sigma, (int, float)) else tuple(sigma)
    if len(sigma) != 2 or any(s <= 0 for s in sigma):
        raise ValueError(f"gaussian_blur: sigma must be one or two positive numbers, got {sigma}.")
    return kernel_size, sigma


@op
def gaussian_blur(images, kernel_size=(3, 3), sigma=(1.0, 1.0), data_format=None):
    """Per-channel convolution with a normalized Gaussian kernel, zero padding ("same" size)."""
    gaussian_args(kernel_size, sigma)
    shape, dtype = spec(images)
    image_axes("gaussian_blur", shape, data_format)
    return KerasTensor(shape, float_result(dtype))


def check_fill_mode(op_name, fill_mode):
    if fill_mode not in FILL_MODES:
        raise ValueError(f"{op_name}: fill_mode must be one of {FILL_MODES}, got {fill_mode!r}.")


def fold_index(where, i, n, fill_mode):
    """Integer-valued (float) indices `i` along an axis of size `n` mapped into [0, n - 1] by
    `fill_mode` (for "constant" they are clipped; the caller masks them). `where` is the
    backend's where(cond, a, b); `%` is the floor modulo of every backend.
    nearest: a a | a b c d | d d;  wrap: c d | a b c d | a b;  mirror (period 2(n-1), edge
    not repeated): c b | a b c d | c b;  reflect (period 2n, edge repeated): b a | a b c d | d c."""
    if fill_mode == "wrap":
        return i % n
    if fill_mode == "mirror":
        if n == 1:
            return i * 0
        p = 2 * (n - 1)
        j = i % p
        return where(j > n - 1, p - j, j)
    if fill_mode == "reflect":
        j = i % (2 * n)
        return where(j > n - 1, 2 * n - 1 - j, j)
    return where(i < 0, i * 0, where(i > n - 1, i * 0 + (n - 1), i))


def check_map_coordinates(input_shape, coord_shape, order, fill_mode):
    if order not in (0, 1):
        raise ValueError(f"map_coordinates: order must be 0 or 1, got {order!r}.")
    check_fill_mode("map_coordinates", fill_mode)
    if not coord_shape or coord_shape[0] != len(input_shape):
        raise ValueError(f"map_coordinates: coordinates of shape {coord_shape} must have a first "
                         f"dimension equal to the input rank {len(input_shape)}.")


@op
def map_coordinates(inputs, coordinates, order, fill_mode="constant", fill_value=0):
    """Sample `inputs` at fractional index `coordinates` (shape (inputs.ndim, *out)): order 0
    takes the nearest index (halves up: floor(c + 0.5)), order 1 interpolates linearly between
    the neighbouring indices. Indices outside the array follow `fill_mode`: "constant" reads
    `fill_value` (scipy's "grid-constant"), "nearest" repeats the edge, "wrap" is periodic with
    period n (scipy's "grid-wrap"), "mirror" reflects about the edge pixel centres and
    "reflect" about the edge pixel borders (scipy's modes of the same names)."""
    shape, dtype = spec(inputs)
    cshape = tuple(spec(coordinates)[0]) if not isinstance(coordinates, (list, tuple)) else \
        (len(coordinates),) + tuple(spec(coordinates[0])[0])
    check_map_coordinates(shape, cshape, order, fill_mode)
    return KerasTensor(cshape[1:], float_result(dtype))


def check_affine(shape, tshape, interpolation, fill_mode, data_format):
    """(h, w, c) axes of an `affine_transform` call after validating its arguments."""
    axes = image_axes("affine_transform", shape, data_format)
    if interpolation not in ("nearest", "bilinear"):
        raise ValueError(f"affine_transform: interpolation must be 'nearest' or 'bilinear', got {interpolation!r}.")
    check_fill_mode("affine_transform", fill_mode)
    if len(tshape) not in (1, 2) or tshape[-1] not in (8, None):
        raise ValueError(f"affine_transform: transform must have shape (8,) or (batch, 8), got {tshape}.")
    if len(tshape) == 2 and len(shape) == 3 and tshape[0] not in (1, None):
        raise ValueError(f"affine_transform: one image needs one transform, got {tshape}.")
    return axes


@op
def affine_transform(images, transform, interpolation="bilinear", fill_mode="constant", fill_value=0,
                     data_format=None):
    """Projective warp: output pixel (row y, column x) samples the input at
    ((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k), k = c0 x + c1 y + 1, for transform
    [a0, a1, a2, b0, b1, b2, c0, c1] (one per image or shared); pixels outside the input
    follow `fill_mode` as in `map_coordinates` ("constant" reads `fill_value`);
    "nearest" takes floor(coordinate + 0.5)."""
    shape, dtype = spec(images)
    check_affine(shape, spec(transform)[0], interpolation, fill_mode, data_format)
    return KerasTensor(shape, float_result(dtype))


def perspective_coefficients(start_points, end_points, stack, solve):
    """The 8 projective coefficients (as `affine_transform` takes them) mapping each of the 4
    `end_points` (output (x, y)) onto its `start_points` (input (x, y)); `stack` and `solve`
    are the backend's stack(list, axis) and linear solve(A, b)."""
    start_points, end_points = start_points + end_points * 0, end_points + start_points * 0  # broadcast
    rows, rhs = [], []
    for i in range(4):
        u, v = end_points[..., i, 0], end_points[..., i, 1]
        x, y = start_points[..., i, 0], start_points[..., i, 1]
        z = u * 0
        o = z + 1
        rows += [stack([u, v, o, z, z, z, -u * x, -v * x], -1), stack([z, z, z, u, v, o, -u * y, -v * y], -1)]
        rhs += [x, y]
    return solve(stack(rows, -2), stack(rhs, -1)[..., None])[..., 0]


def check_perspective(shape, start_shape, end_shape, interpolation, data_format):
    axes = image_axes("perspective_transform", shape, data_format)
    for what, s in (("start_points", start_shape), ("end_points", end_shape)):
        if len(s) not in (2, 3) or tuple(s[-2:]) != (4, 2):
            raise ValueError(f"perspective_transform: {what} must have shape (4, 2) or (batch, 4, 2), got {s}.")
    if interpolation not in ("nearest", "bilinear"):
        raise ValueError(f"perspective_transform: interpolation must be 'nearest' or 'bilinear', "
                         f"got {interpolation!r}.")
    return axes


@op
def perspective_transform(images, start_points, end_points, interpolation="bilinear", fill_value=0,
                          data_format=None):
    """Warp so that the 4 `start_points` (x, y) of the input land on the `end_points` of the
    output: `affine_transform` with the projective map solved from the 4 correspondences."""
    shape, dtype = spec(images)
    check_perspective(shape, spec(start_points)[0], spec(end_points)[0], interpolation, data_format)
    return KerasTensor(shape, float_result(dtype))


def _triple(what, v):
    v = (v, v, v) if isinstance(v, int) else tuple(v)
    if len(v) != 3 or any(not isinstance(i, int) or i <= 0 for i in v):
        raise ValueError(f"extract_patches_3d: {what} must be a positive int or three of them, got {v}.")
    return v


def volume_patch_geometry(shape, size, strides, dilation_rate, padding, data_format):
    """As `patch_geometry` for volumes (rank 4 or 5): (spatial axes, channel axis), size,
    strides, dilation, per-axis (before, after) zero padding, per-axis output size."""
    name = "extract_patches_3d"
    if len(shape) not in (4, 5):
        raise ValueError(f"{name}: expected a rank 4 or 5 volume tensor, got shape {shape}.")
    n = len(shape)
    if data_format_of(name, data_format) == "channels_last":
        spatial, c = (n - 4, n - 3, n - 2), n - 1
    else:
        spatial, c = (n - 3, n - 2, n - 1), n - 4
    size = _triple("size", size)
    strides = size if strides is None else _triple("strides", strides)
    dilation = _triple("dilation_rate", dilation_rate)
    if padding not in ("valid", "same"):
        raise ValueError(f"{name}: padding must be 'valid' or 'same', got {padding!r}.")
    pads, out = [], []
    for ax, k, st, d in zip(spatial, size, strides, dilation):
        m, eff = shape[ax], (k - 1) * d + 1
        if m is None:
            pads.append(None)
            out.append(None)
        elif padding == "valid":
            if m < eff:
                raise ValueError(f"{name}: patch extent {eff} exceeds volume size {m}.")
            pads.append((0, 0))
            out.append((m - eff) // st + 1)
        else:
            o = -(-m // st)
            total = max((o - 1) * st + eff - m, 0)
            pads.append((total // 2, total - total // 2))
            out.append(o)
    return (spatial, c), size, strides, dilation, pads, out


@op
def extract_patches_3d(volumes, size, strides=None, dilation_rate=1, padding="valid", data_format=None):
    """`extract_patches` for volumes: (depth, row, column, channel)-ordered patches flattened
    into the channel axis, as tf.extract_volume_patches."""
    shape, dtype = spec(volumes)
    (spatial, c), size, _, _, _, out = volume_patch_geometry(shape, size, strides, dilation_rate,
                                                             padding, data_format)
    res = list(shape)
    for ax, o in zip(spatial, out):
        res[ax] = o
    res[c] = None if shape[c] is None else size[0] * size[1] * size[2] * shape[c]
    return KerasTensor(tuple(res), dtype)


# --- edges, similarity, resampling, elastic warps ------------------------------------------------
SOBEL_Y = ((-1.0, -2.0, -1.0), (0.0, 0.0, 0.0), (1.0, 2.0, 1.0))  # correlation taps (rows)
SOBEL_X = ((-1.0, 0.0, 1.0), (-2.0, 0.0, 2.0), (-1.0, 0.0, 1.0))  # correlation taps (columns)


@op
def sobel_edges(images, data_format=None):
    """3x3 Sobel derivatives with zero padding ("same" size): the result gains a last axis of
    size 2 holding [dy, dx] (dy = row below minus row above, smoothed 1-2-1 across columns;
    dx likewise across rows), i.e. shape (..., height, width, channels, 2) for channels_last
    and (..., channels, height, width, 2) for channels_first."""
    shape, dtype = spec(images)
    image_axes("sobel_edges", shape, data_format)
    return KerasTensor(tuple(shape) + (2,), float_result(dtype))


def check_ssim(shape1, shape2, filter_size, filter_sigma, data_format):
    """(h, w, c) axes of an `ssim` call after validating its arguments."""
    axes = image_axes("ssim", shape1, data_format)
    if len(shape2) != len(shape1) or any(a is not None and b is not None and a != b
                                         for a, b in zip(shape1, shape2)):
        raise ValueError(f"ssim: image1 and image2 must have the same shape, got {shape1} and {shape2}.")
    if not isinstance(filter_size, int) or filter_size < 1:
        raise ValueError(f"ssim: filter_size must be a positive integer, got {filter_size!r}.")
    if not filter_sigma > 0:
        raise ValueError(f"ssim: filter_sigma must be positive, got {filter_sigma!r}.")
    for ax in axes[:2]:
        n = shape1[ax] if shape1[ax] is not None else shape2[ax]
        if n is not None and n < filter_size:
            raise ValueError(f"ssim: images of shape {shape1} are smaller than filter_size {filter_size}.")
    return axes


@op
def ssim(image1, image2, max_val=1.0, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03,
         data_format=None):
    """Structural similarity (Wang et al. 2004) as tf.image.ssim computes it: local means,
    variances and covariance under a normalized `filter_size` Gaussian window (sigma
    `filter_sigma`, "valid" positions only), SSIM map
    (2 mu1 mu2 + C1)(2 cov + C2) / ((mu1^2 + mu2^2 + C1)(var1 + var2 + C2)) with
    C1 = (k1 max_val)^2, C2 = (k2 max_val)^2, averaged over positions and channels: a scalar
    per image (shape () for one image, (batch,) for a batch). Integer images give floatx."""
    (s1, d1), (s2, d2) = spec(image1), spec(image2)
    check_ssim(s1, s2, filter_size, filter_sigma, data_format)
    batch = s1[0] if s1[0] is not None else s2[0]
    return KerasTensor(() if len(s1) == 3 else (batch,), float_result(dtypes.result_type(d1, d2)))


def _resample_kernel(xp, name, x):
    """Interpolation kernel `name` at distances x >= 0 (`xp`: numpy-like module)."""
    zero = x * 0
    if name == "linear":
        return xp.where(x < 1, 1 - x, zero)
    if name == "cubic":  # Keys (1981) cubic convolution kernel, a = -0.5
        near = (1.5 * x - 2.5) * x * x + 1
        far = ((-0.5 * x + 2.5) * x - 4) * x + 2
        return xp.where(x < 1, near, xp.where(x < 2, far, zero))
    r = 3 if name == "lanczos3" else 5
    small = x <= 1e-3
    safe = xp.where(small, zero + 1, x)
    lanczos = r * xp.sin(math.pi * safe) * xp.sin(math.pi * safe / r) / (math.pi ** 2 * safe * safe)
    return xp.where(x > r, zero, xp.where(small, zero + 1, lanczos))


def scale_translate_weights(xp, n_in, n_out, scale, translation, kernel, antialias, dtype):
    """(n_in, n_out) resampling matrix of one axis: output pixel o (centre o + 0.5) reads the
    input around position ((o + 0.5) - translation) / scale (in pixel-centre coordinates), with
    `kernel` widened by 1 / scale when `antialias` and downsampling; weights are normalized to
    sum to 1 and zero where the position falls outside the input. `scale`/`translation`:
    scalars or 0-d arrays of `xp` (numpy-like module: numpy, jax.numpy, tf.experimental.numpy,
    torch), `dtype` that module's float dtype."""
    inv = 1.0 / scale
    if antialias:
        width = xp.where(inv > 1, inv, inv * 0 + 1)
    else:
        width = 1.0
    pos = (xp.arange(n_out, dtype=dtype) + 0.5 - translation) * inv - 0.5
    dist = xp.abs(pos[None, :] - xp.arange(n_in, dtype=dtype)[:, None]) / width
    w = _resample_kernel(xp, kernel, dist)
    total = xp.sum(w, axis=0, keepdims=True)
    usable = xp.abs(total) > 1000 * 1.1920929e-07
    w = xp.where(usable, w / xp.where(usable, total, total * 0 + 1), w * 0)
    inside = (pos >= -0.5) & (pos <= n_in - 0.5)
    return xp.where(inside[None, :], w, w * 0)


RESIZE_KERNELS = {"bilinear": "linear", "bicubic": "cubic", "lanczos3": "lanczos3", "lanczos5": "lanczos5"}


def resize_matrix(n_in, n_out, method, antialias):
    """(n_out, n_in) float64 NumPy resampling matrix of `resize` along one axis: "nearest" picks
    input floor((o + 0.5) * n_in / n_out); the others are `scale_translate_weights` with scale
    n_out / n_in and no translation."""
    if method == "nearest":
        m = np.zeros((n_out, n_in))
        src = np.floor((np.arange(n_out) + 0.5) * (n_in / n_out)).astype(int)
        m[np.arange(n_out), np.minimum(src, n_in - 1)] = 1
        return m
    return scale_translate_weights(np, n_in, n_out, n_out / n_in, 0.0, RESIZE_KERNELS[method], antialias,
                                   np.float64).T


def check_scale_and_translate(shape, output_shape, scale_shape, translation_shape, spatial_dims, method):
    """(canonical spatial dims, kernel name) of a `scale_and_translate` call."""
    name = "scale_and_translate"
    if method not in SCALE_METHODS:
        raise ValueError(f"{name}: method must be one of {tuple(SCALE_METHODS)}, got {method!r}.")
    output_shape = tuple(output_shape)
    if len(output_shape) != len(shape) or any(int(s) != s or s < 0 for s in output_shape):
        raise ValueError(f"{name}: output_shape {output_shape} must give a size for each of the "
                         f"{len(shape)} dimensions of images of shape {shape}.")
    dims = tuple(spatial_dims)
    if any(not -len(shape) <= d < len(shape) for d in dims):
        raise ValueError(f"{name}: spatial_dims {dims} out of range for images of rank {len(shape)}.")
    dims = tuple(d % len(shape) for d in dims)
    if len(set(dims)) != len(dims):
        raise ValueError(f"{name}: repeated spatial_dims {spatial_dims}.")
    for what, s in (("scale", scale_shape), ("translation", translation_shape)):
        if tuple(s) not in ((len(dims),), (None,)):
            raise ValueError(f"{name}: {what} must have shape ({len(dims)},) (one per spatial dim), got {s}.")
    for d in range(len(shape)):
        if d not in dims and shape[d] is not None and shape[d] != output_shape[d]:
            raise ValueError(f"{name}: output_shape {output_shape} changes dimension {d} of images of "
                             f"shape {shape}, which is not in spatial_dims {dims}.")
    return dims, SCALE_METHODS[method]


def _vector_shape(v):
    if isinstance(v, (list, tuple)):
        return (len(v),)
    if isinstance(v, (int, float)):
        return ()
    return tuple(spec(v)[0])


@op
def scale_and_translate(images, output_shape, scale, translation, spatial_dims, method, antialias=True):
    """Resample `images` to `output_shape` as jax.image.scale_and_translate: along each of
    `spatial_dims` (with the matching entries of `scale` and `translation`), input position
    x (pixel centres at i + 0.5) maps to output position x * scale + translation; each output
    pixel is the kernel-weighted ("linear"/"bilinear"/"trilinear"/"triangle", Keys
    "cubic"/"bicubic"/"tricubic", "lanczos3", "lanczos5") sum of the inputs around its inverse
    image, the kernel widened by 1 / scale when downsampling with `antialias`, weights
    renormalized; outputs whose inverse image lies outside the input are 0."""
    shape, dtype = spec(images)
    check_scale_and_translate(shape, output_shape, _vector_shape(scale), _vector_shape(translation),
                              spatial_dims, method)
    return KerasTensor(tuple(int(s) for s in output_shape), float_result(dtype))


def check_elastic(shape, alpha, sigma, interpolation, fill_mode, data_format):
    """(h, w, c) axes and the Gaussian kernel size of an `elastic_transform` call."""
    axes = image_axes("elastic_transform", shape, data_format)
    if interpolation not in ("nearest", "bilinear"):
        raise ValueError(f"elastic_transform: interpolation must be 'nearest' or 'bilinear', "
                         f"got {interpolation!r}.")
    check_fill_mode("elastic_transform", fill_mode)
    if not isinstance(sigma, (int, float)) or not sigma > 0:
        raise ValueError(f"elastic_transform: sigma must be a positive number, got {sigma!r}.")
    return axes, int(6 * sigma) | 1


@op(impl="elastic_transform")
def _elastic_transform(images, alpha, sigma, interpolation, fill_mode, fill_value, seed, data_format):
    shape, dtype = spec(images)
    check_elastic(shape, alpha, sigma, interpolation, fill_mode, data_format)
    return KerasTensor(shape, float_result(dtype))


def elastic_transform(images, alpha=20.0, sigma=5.0, interpolation="bilinear", fill_mode="reflect",
                      fill_value=0.0, seed=None, data_format=None):
    """Random elastic deformation (Simard et al. 2003). Two displacement fields, rows and
    columns, of shape (batch, height, width) are drawn as `sigma` * N(0, 1) by one
    `unikeras.random.normal((2 * batch, height, width, 1), dtype=<image float dtype>, seed=seed)`
    call (the first `batch` entries: rows, the rest: columns), smoothed by channels-last
    `gaussian_blur` (kernel size int(6 sigma) | 1, standard deviation `sigma`, zero padding) and
    scaled by `alpha`; output pixel (i, j) then samples the input at
    (i + alpha dy, j + alpha dx) with `interpolation` ("nearest"/"bilinear") and `fill_mode`
    as in `map_coordinates`. The same displacement applies to every channel. `seed` is an int,
    a SeedGenerator or None, as for `unikeras.random` ops; alpha = 0 is the identity."""
    if isinstance(images, KerasTensor):
        seed = None
    return _elastic_transform(images, alpha, sigma, interpolation, fill_mode, fill_value, _draw(seed),
                              data_format)


elastic_transform.impl_name = _elastic_transform.impl_name
elastic_transform.rule = _elastic_transform.rule
