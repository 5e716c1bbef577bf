"""Backend implementations of the image op family (jax)."""
import jax
import jax.scipy.ndimage
import numpy as np
from jax import lax
import jax.numpy as jnp

from unikeras.adapters.flax.ops import _float, _j
from unikeras.adapters.flax.ops import _FLOATS
from unikeras.common.ops.image import (
    GRAY_WEIGHTS, check_affine, check_map_coordinates, check_perspective, check_resize_args,
    crop_amounts, gaussian_args, gaussian_kernel_1d, image_axes, pad_amounts, patch_geometry,
    perspective_coefficients, volume_patch_geometry)

__all__ = ["rgb_to_grayscale", "rgb_to_hsv", "hsv_to_rgb", "resize", "pad_images", "crop_images",
           "extract_patches", "gaussian_blur", "map_coordinates",
           "affine_transform", "perspective_transform", "extract_patches_3d"]


def rgb_to_grayscale(images, data_format=None):
    x = _float(images)
    c = image_axes("rgb_to_grayscale", x.shape, data_format)[2]
    w = jnp.asarray(GRAY_WEIGHTS, x.dtype).reshape((3,) + (1,) * (x.ndim - 1 - c))
    return jnp.sum(x * w, axis=c, keepdims=True)


def _unstack(x, op_name, data_format):
    c = image_axes(op_name, x.shape, data_format)[2]
    return c, [jnp.take(x, i, axis=c) for i in range(3)]


def rgb_to_hsv(images, data_format=None):
    x = _j(images)
    c, (r, g, b) = _unstack(x, "rgb_to_hsv", data_format)
    v = jnp.maximum(jnp.maximum(r, g), b)
    rng = v - jnp.minimum(jnp.minimum(r, g), b)
    safe = jnp.where(rng > 0, rng, 1)
    s = jnp.where(v > 0, rng / jnp.where(v > 0, v, 1), 0)
    h = jnp.where(r == v, (g - b) / safe, jnp.where(g == v, (b - r) / safe + 2, (r - g) / safe + 4)) / 6
    h = jnp.where(rng > 0, h, 0)
    h = jnp.where(h < 0, h + 1, h)
    return jnp.stack([h, s, v], axis=c).astype(x.dtype)


def hsv_to_rgb(images, data_format=None):
    x = _j(images)
    c, (h, s, v) = _unstack(x, "hsv_to_rgb", data_format)
    dh = h * 6
    dr = jnp.clip(jnp.abs(dh - 3) - 1, 0, 1)
    dg = jnp.clip(2 - jnp.abs(dh - 2), 0, 1)
    db = jnp.clip(2 - jnp.abs(dh - 4), 0, 1)
    return jnp.stack([v * (1 - s + s * d) for d in (dr, dg, db)], axis=c).astype(x.dtype)


def resize(images, size, interpolation="bilinear", antialias=False, crop_to_aspect_ratio=False,
           pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0, data_format=None):
    size = check_resize_args(size, interpolation, antialias, crop_to_aspect_ratio, pad_to_aspect_ratio)
    x = _float(images)
    h, w, _ = image_axes("resize", x.shape, data_format)
    shape = list(x.shape)
    shape[h], shape[w] = size
    return jax.image.resize(x, tuple(shape), method=interpolation, antialias=False)


def pad_images(images, top_padding=None, left_padding=None, bottom_padding=None,
               right_padding=None, target_height=None, target_width=None, data_format=None):
    x = _j(images)
    ph, pw, (h, w) = pad_amounts(x.shape, top_padding, left_padding, bottom_padding, right_padding,
                                 target_height, target_width, data_format)
    pads = [(0, 0)] * x.ndim
    pads[h], pads[w] = ph, pw
    return jnp.pad(x, pads)


def crop_images(images, top_cropping=None, left_cropping=None, bottom_cropping=None,
                right_cropping=None, target_height=None, target_width=None, data_format=None):
    x = _j(images)
    ch, cw, (h, w) = crop_amounts(x.shape, top_cropping, left_cropping, bottom_cropping,
                                  right_cropping, target_height, target_width, data_format)
    key = [slice(None)] * x.ndim
    key[h] = slice(ch[0], x.shape[h] - ch[1])
    key[w] = slice(cw[0], x.shape[w] - cw[1])
    return x[tuple(key)]


def _nchw(x, c):
    """Batched channels-first view of `x` (channel axis `c`) and the function undoing it."""
    unbatched = x.ndim == 3
    if unbatched:
        x, c = x[None], c + 1
    x = jnp.moveaxis(x, c, 1)

    def back(y):
        y = jnp.moveaxis(y, 1, c)
        return y[0] if unbatched else y
    return x, back


def extract_patches(images, size, strides=None, dilation_rate=1, padding="valid", data_format=None):
    x = _j(images)
    (_, _, c), (kh, kw), (sh, sw), (dh, dw), pads, (oh, ow) = patch_geometry(
        x.shape, size, strides, dilation_rate, padding, data_format)
    x, back = _nchw(x, c)
    n, ch = x.shape[0], x.shape[1]
    if x.dtype in _FLOATS:
        y = lax.conv_general_dilated_patches(
            x, (kh, kw), (sh, sw), list(pads), rhs_dilation=(dh, dw),
            dimension_numbers=("NCHW", "OIHW", "NCHW"), precision=lax.Precision.HIGHEST)
        y = y.reshape(n, ch, kh * kw, oh, ow).swapaxes(1, 2)  # (n, kh*kw, ch, oh, ow)
    else:
        x = jnp.pad(x, [(0, 0), (0, 0), pads[0], pads[1]])
        y = jnp.stack([x[:, :, i * dh:i * dh + (oh - 1) * sh + 1:sh, j * dw:j * dw + (ow - 1) * sw + 1:sw]
                       for i in range(kh) for j in range(kw)], axis=1)
    return back(y.reshape(n, kh * kw * ch, oh, ow))


def gaussian_blur(images, kernel_size=(3, 3), sigma=(1.0, 1.0), data_format=None):
    (kh, kw), (sy, sx) = gaussian_args(kernel_size, sigma)
    x = _float(images)
    c = image_axes("gaussian_blur", x.shape, data_format)[2]
    x, back = _nchw(x, c)
    ch = x.shape[1]
    k = np.outer(gaussian_kernel_1d(kh, sy), gaussian_kernel_1d(kw, sx))
    k = jnp.asarray(np.broadcast_to(k, (ch, 1, kh, kw)), x.dtype)
    pads = [((kh - 1) // 2, kh // 2), ((kw - 1) // 2, kw // 2)]
    y = lax.conv_general_dilated(x, k, (1, 1), pads, feature_group_count=ch,
                                 dimension_numbers=("NCHW", "OIHW", "NCHW"),
                                 precision=lax.Precision.HIGHEST)
    return back(y)


def map_coordinates(inputs, coordinates, order, fill_mode="constant", fill_value=0):
    x = _float(inputs)
    c = jnp.stack([_j(i) for i in coordinates]) if isinstance(coordinates, (list, tuple)) else _j(coordinates)
    check_map_coordinates(x.shape, c.shape, order, fill_mode)
    c = c.astype(x.dtype)
    return jax.scipy.ndimage.map_coordinates(x, list(c), order, mode="constant", cval=fill_value)


def _nhwc(x, c):
    unbatched = x.ndim == 3
    if unbatched:
        x, c = x[None], c + 1
    x = jnp.moveaxis(x, c, -1)

    def back(y):
        y = jnp.moveaxis(y, -1, c)
        return y[0] if unbatched else y
    return x, back


def affine_transform(images, transform, interpolation="bilinear", fill_mode="constant", fill_value=0,
                     data_format=None):
    from unikeras.adapters.numpy_ref.ops_image import _affine_coordinates
    x = _float(images)
    t = _j(transform)
    _, _, c = check_affine(x.shape, t.shape, interpolation, fill_mode, data_format)
    x, back = _nhwc(x, c)
    n, h, w, ch = x.shape
    t = jnp.broadcast_to(t.reshape(-1, 8), (n, 8)).astype(x.dtype)
    coords = _affine_coordinates(t, n, h, w, ch, jnp)
    order = 0 if interpolation == "nearest" else 1
    return back(jax.scipy.ndimage.map_coordinates(x, list(coords), order, mode="constant", cval=fill_value))


def perspective_transform(images, start_points, end_points, interpolation="bilinear", fill_value=0,
                          data_format=None):
    x = _float(images)
    sp, ep = _j(start_points), _j(end_points)
    check_perspective(x.shape, sp.shape, ep.shape, interpolation, data_format)
    t = perspective_coefficients(sp.astype(x.dtype), ep.astype(x.dtype), jnp.stack, jnp.linalg.solve)
    return affine_transform(x, t.reshape(-1, 8), interpolation, "constant", fill_value, data_format)


def extract_patches_3d(volumes, size, strides=None, dilation_rate=1, padding="valid", data_format=None):
    x = _j(volumes)
    (_, c), (kd, kh, kw), (sd, sh, sw), (dd, dh, dw), pads, (od, oh, ow) = volume_patch_geometry(
        tuple(x.shape), size, strides, dilation_rate, padding, data_format)
    unbatched = len(x.shape) == 4
    if unbatched:
        x, c = x[None], c + 1
    x = jnp.moveaxis(x, c, -1)
    x = jnp.pad(x, [(0, 0), pads[0], pads[1], pads[2], (0, 0)])
    taps = [x[:, a * dd:a * dd + (od - 1) * sd + 1:sd, i * dh:i * dh + (oh - 1) * sh + 1:sh,
              j * dw:j * dw + (ow - 1) * sw + 1:sw] for a in range(kd) for i in range(kh) for j in range(kw)]
    y = jnp.stack(taps, 4)  # (n, od, oh, ow, kd*kh*kw, ch)
    y = jnp.reshape(y, [-1, od, oh, ow, kd * kh * kw * x.shape[-1]])
    y = jnp.moveaxis(y, -1, c)
    return y[0] if unbatched else y
