"""Op definitions: the image family (`unikeras.ops.image`).

Images are rank 3 (one image) or rank 4 (a batch), channels last unless `data_format`
(default `unikeras.config.image_data_format()`) says "channels_first". Bodies are the
symbolic rules; the helpers below are shared with the backend implementations so that every
backend validates arguments and computes paddings/crops identically.
"""
from unikeras import config
from unikeras.common import dtypes
from unikeras.common.ops.op import op
from unikeras.common.ops.shapes import spec
from unikeras.common.symbolic import KerasTensor

__all__ = ["rgb_to_grayscale", "rgb_to_hsv", "hsv_to_rgb", "resize", "pad_images", "crop_images",
           "extract_patches", "gaussian_blur", "map_coordinates",
           "affine_transform", "perspective_transform", "extract_patches_3d"]

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


RESIZE_METHODS = ("nearest", "bilinear")


def check_resize_args(size, interpolation, antialias, crop_to_aspect_ratio, pad_to_aspect_ratio):
    """Validated (height, width) of a `resize` call."""
    if interpolation not in RESIZE_METHODS:
        raise ValueError(f"resize: interpolation must be one of {RESIZE_METHODS}, got {interpolation!r}.")
    if antialias:
        raise ValueError("resize: antialias=True is not supported.")
    if crop_to_aspect_ratio or pad_to_aspect_ratio:
        raise ValueError("resize: crop_to_aspect_ratio / pad_to_aspect_ratio are not supported.")
    size = tuple(size)
    if len(size) != 2 or any(int(s) != s or s <= 0 for s in size):
        raise ValueError(f"resize: size must be two positive integers, got {size}.")
    return int(size[0]), int(size[1])


@op
def resize(images, size, interpolation="bilinear", antialias=False, crop_to_aspect_ratio=False,
           pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0, data_format=None):
    """Resample images to `size` = (height, width) with half-pixel centers (as
    jax.image.resize / tf.image.resize); "nearest" or "bilinear" (edges clamp)."""
    out_h, out_w = check_resize_args(size, interpolation, antialias, crop_to_aspect_ratio,
                                     pad_to_aspect_ratio)
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
    import numpy as np
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


def check_map_coordinates(input_shape, coord_shape, order, fill_mode):
    if order not in (0, 1):
        raise ValueError(f"map_coordinates: order must be 0 or 1, got {order!r}.")
    if fill_mode != "constant":
        raise ValueError(f"map_coordinates: only fill_mode='constant' is supported, got {fill_mode!r}.")
    if not coord_shape or coord_shape[0] != len(input_shape):
        raise ValueError(f"map_coordinates: coordinates of shape {coord_shape} must have a first "
                         f"dimension equal to the input rank {len(input_shape)}.")


@op
def map_coordinates(inputs, coordinates, order, fill_mode="constant", fill_value=0):
    """Sample `inputs` at fractional index `coordinates` (shape (inputs.ndim, *out)): order 0
    takes the nearest index (halves up: floor(c + 0.5)), order 1 interpolates linearly; samples outside
    the array take `fill_value`."""
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
    if fill_mode != "constant":
        raise ValueError(f"affine_transform: only fill_mode='constant' is supported, got {fill_mode!r}.")
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
    [a0, a1, a2, b0, b1, b2, c0, c1] (one per image or shared); outside pixels are `fill_value`;
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
