"""Backend implementations of the image op family (jax). Multi-step ops run as jitted helpers
(static configuration arguments) so that eager calls compile once per shape."""
import functools

import jax
import jax.scipy.ndimage
import numpy as np
from jax import lax
import jax.numpy as jnp

from unikeras.adapters.flax.ops import _float, _j, random_normal
from unikeras.adapters.flax.ops import _FLOATS
from unikeras.common.ops.image import (
    GRAY_WEIGHTS, SOBEL_X, SOBEL_Y, aspect_window, check_affine, check_elastic, check_map_coordinates,
    check_perspective, check_resize_args, check_scale_and_translate, check_ssim, crop_amounts, fold_index,
    gaussian_args, gaussian_kernel_1d, image_axes, pad_amounts, patch_geometry, perspective_coefficients,
    volume_patch_geometry)

# Every op of the family is implemented here: export the family's list.
from unikeras.common.ops.image import __all__  # noqa: E402,F401


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


def _aspect(x, h, w, size, crop_to_aspect_ratio, pad_to_aspect_ratio, fill_value):
    kind, box = aspect_window(x.shape[h], x.shape[w], size, crop_to_aspect_ratio, pad_to_aspect_ratio)
    if kind == "crop":
        top, left, ch, cw = box
        key = [slice(None)] * x.ndim
        key[h], key[w] = slice(top, top + ch), slice(left, left + cw)
        return x[tuple(key)]
    if kind == "pad":
        pads = [(0, 0)] * x.ndim
        pads[h], pads[w] = (box[0], box[0]), (box[1], box[1])
        return jnp.pad(x, pads, constant_values=jnp.asarray(fill_value, x.dtype))
    return x


def resize(images, size, interpolation="bilinear", antialias=False, crop_to_aspect_ratio=False,
           pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0, data_format=None):
    size = check_resize_args(size, interpolation, antialias, crop_to_aspect_ratio, pad_to_aspect_ratio,
                             fill_mode)
    x = _float(images)
    h, w, _ = image_axes("resize", x.shape, data_format)
    x = _aspect(x, h, w, size, crop_to_aspect_ratio, pad_to_aspect_ratio, fill_value)
    shape = list(x.shape)
    shape[h], shape[w] = size
    return jax.image.resize(x, tuple(shape), method=interpolation, antialias=antialias).astype(x.dtype)


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
    if order == 0:  # halves round up, as on the other backends (jax rounds them to even)
        c = jnp.floor(c + 0.5)
    return jax.scipy.ndimage.map_coordinates(x, list(c), order, mode=fill_mode, cval=fill_value)


def _nhwc(x, c):
    unbatched = x.ndim == 3
    if unbatched:
        x, c = x[None], c + 1
    x = jnp.moveaxis(x, c, -1)

    def back(y):
        y = jnp.moveaxis(y, -1, c)
        return y[0] if unbatched else y
    return x, back


@functools.partial(jax.jit, static_argnames=("interpolation", "fill_mode"))
def _warp(x, in_y, in_x, interpolation, fill_mode, fill_value):
    """Sample NHWC `x` at (n, H, W) row / column positions (2-D gathers, channels carried);
    outside positions follow `fill_mode` as in `map_coordinates`."""
    n, h, w, ch = x.shape
    flat = x.reshape(n, h * w, ch)
    batch = jnp.arange(n)[:, None, None]
    fill = jnp.asarray(fill_value).astype(x.dtype)

    def read(y, z):  # pixels at integer-valued float positions
        lin = (fold_index(jnp.where, y, h, fill_mode) * w + fold_index(jnp.where, z, w, fill_mode)).astype(jnp.int32)
        vals = flat[batch, lin]
        if fill_mode != "constant":
            return vals
        valid = (y >= 0) & (y <= h - 1) & (z >= 0) & (z <= w - 1)
        return jnp.where(valid[..., None], vals, fill)

    if interpolation == "nearest":
        return read(jnp.floor(in_y + 0.5), jnp.floor(in_x + 0.5))
    y0, x0 = jnp.floor(in_y), jnp.floor(in_x)
    fy, fx = (in_y - y0)[..., None], (in_x - x0)[..., None]
    return ((1 - fy) * ((1 - fx) * read(y0, x0) + fx * read(y0, x0 + 1))
            + fy * ((1 - fx) * read(y0 + 1, x0) + fx * read(y0 + 1, x0 + 1)))


def affine_transform(images, transform, interpolation="bilinear", fill_mode="constant", fill_value=0,
                     data_format=None):
    x = _float(images)
    t = _j(transform)
    _, _, c = check_affine(x.shape, t.shape, interpolation, fill_mode, data_format)
    x, back = _nhwc(x, c)
    n, h, w, ch = x.shape
    t = jnp.broadcast_to(t.reshape(-1, 8), (n, 8)).astype(x.dtype)
    ys, xs = jnp.meshgrid(jnp.arange(h, dtype=x.dtype), jnp.arange(w, dtype=x.dtype), indexing="ij")
    a0, a1, a2, b0, b1, b2, c0, c1 = [t[:, i, None, None] for i in range(8)]
    k = c0 * xs + c1 * ys + 1
    in_x = (a0 * xs + a1 * ys + a2) / k
    in_y = (b0 * xs + b1 * ys + b2) / k
    return back(_warp(x, in_y, in_x, interpolation, fill_mode, fill_value))


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


def sobel_edges(images, data_format=None):
    x = _float(images)
    return _sobel(x, image_axes("sobel_edges", x.shape, data_format)[2])


@functools.partial(jax.jit, static_argnames=("c",))
def _sobel(x, c):
    x, back = _nchw(x, c)
    n, ch, h, w = x.shape
    k = jnp.tile(jnp.asarray([SOBEL_Y, SOBEL_X], x.dtype)[:, None], (ch, 1, 1, 1))
    y = lax.conv_general_dilated(x, k, (1, 1), ((1, 1), (1, 1)), feature_group_count=ch,
                                 dimension_numbers=("NCHW", "OIHW", "NCHW"), precision=lax.Precision.HIGHEST)
    y = y.reshape(n, ch, 2, h, w)  # per channel [dy, dx]
    return jnp.stack([back(y[:, :, 0]), back(y[:, :, 1])], axis=-1)


def ssim(image1, image2, max_val=1.0, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03,
         data_format=None):
    a, b = _j(image1), _j(image2)
    dt = _float(jnp.zeros((), jnp.promote_types(a.dtype, b.dtype))).dtype
    _, _, c = check_ssim(a.shape, b.shape, filter_size, filter_sigma, data_format)
    return _ssim(a.astype(dt), b.astype(dt), max_val, k1, k2, c=c, filter_size=filter_size,
                 filter_sigma=float(filter_sigma))


@functools.partial(jax.jit, static_argnames=("c", "filter_size", "filter_sigma"))
def _ssim(a, b, max_val, k1, k2, c, filter_size, filter_sigma):
    dt = a.dtype
    unbatched = a.ndim == 3
    a, _ = _nchw(a, c)
    b, _ = _nchw(b.astype(dt), c)
    ch = a.shape[1]
    v = jnp.concatenate([a, b, a * a, b * b, a * b], 1)
    g = jnp.asarray(gaussian_kernel_1d(filter_size, filter_sigma), dt)
    for kshape in ((5 * ch, 1, filter_size, 1), (5 * ch, 1, 1, filter_size)):
        v = lax.conv_general_dilated(v, jnp.broadcast_to(g.reshape(kshape[1:]), kshape), (1, 1), "VALID",
                                     feature_group_count=5 * ch, dimension_numbers=("NCHW", "OIHW", "NCHW"),
                                     precision=lax.Precision.HIGHEST)
    mu1, mu2, e11, e22, e12 = jnp.split(v, 5, axis=1)
    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    m11, m22, m12 = mu1 * mu1, mu2 * mu2, mu1 * mu2
    smap = (2 * m12 + c1) * (2 * (e12 - m12) + c2) / ((m11 + m22 + c1) * ((e11 - m11) + (e22 - m22) + c2))
    out = jnp.mean(smap, axis=(1, 2, 3)).astype(dt)
    return out[0] if unbatched else out


_scale_translate = jax.jit(jax.image.scale_and_translate, static_argnums=(1, 2, 5, 6), static_argnames=("precision",))


def scale_and_translate(images, output_shape, scale, translation, spatial_dims, method, antialias=True):
    x = _float(images)
    scale, translation = _j(scale), _j(translation)
    dims, _ = check_scale_and_translate(x.shape, output_shape, scale.shape, translation.shape,
                                        spatial_dims, method)
    out = _scale_translate(x, tuple(int(s) for s in output_shape), dims, scale.astype(x.dtype),
                           translation.astype(x.dtype), method, bool(antialias), precision=lax.Precision.HIGHEST)
    return out.astype(x.dtype)


def elastic_transform(images, alpha=20.0, sigma=5.0, interpolation="bilinear", fill_mode="reflect",
                      fill_value=0.0, seed=None, data_format=None):
    x = _float(images)
    (_, _, c), ksize = check_elastic(x.shape, alpha, sigma, interpolation, fill_mode, data_format)
    x, back = _nhwc(x, c)
    n, h, w, ch = x.shape
    noise = random_normal((2 * n, h, w, 1), dtype=x.dtype.name, seed=seed)
    return back(_elastic_warp(x, noise, alpha, fill_value, sigma=float(sigma), ksize=ksize,
                              interpolation=interpolation, fill_mode=fill_mode))


@functools.partial(jax.jit, static_argnames=("sigma", "ksize", "interpolation", "fill_mode"))
def _elastic_warp(x, noise, alpha, fill_value, sigma, ksize, interpolation, fill_mode):
    n, h, w, _ = x.shape
    field = gaussian_blur(noise * sigma, (ksize, ksize), (sigma, sigma), "channels_last")
    field = field.reshape(2, n, h, w) * jnp.asarray(alpha).astype(x.dtype)
    ys, xs = jnp.meshgrid(jnp.arange(h, dtype=x.dtype), jnp.arange(w, dtype=x.dtype), indexing="ij")
    return _warp(x, ys + field[0], xs + field[1], interpolation, fill_mode, fill_value)
