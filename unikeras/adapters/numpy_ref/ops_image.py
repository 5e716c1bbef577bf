"""Backend implementations of the image op family (NumPy reference)."""
import itertools

import numpy as np

from unikeras.adapters.numpy_ref.ops import _float, random_normal
from unikeras.common.ops.image import (
    GRAY_WEIGHTS, SOBEL_X, SOBEL_Y, aspect_window, check_affine, check_elastic,
    check_map_coordinates, check_perspective, check_resize_args, check_scale_and_translate, check_ssim,
    crop_amounts, fold_index, gaussian_args, gaussian_kernel_1d, image_axes, pad_amounts, patch_geometry,
    perspective_coefficients, resize_matrix, scale_translate_weights, volume_patch_geometry)

# Every op of the family is implemented here: export the family's list.
from unikeras.common.ops.image import __all__  # noqa: E402,F401


def rgb_to_grayscale(images, data_format=None):
    x = _float(images)
    c = image_axes("rgb_to_grayscale", x.shape, data_format)[2]
    w = np.asarray(GRAY_WEIGHTS, x.dtype).reshape((3,) + (1,) * (x.ndim - 1 - c))
    return np.sum(x * w, axis=c, keepdims=True).astype(x.dtype)


def _channels(x, op_name, data_format):
    c = image_axes(op_name, x.shape, data_format)[2]
    return c, [np.take(x, i, axis=c) for i in range(3)]


def rgb_to_hsv(images, data_format=None):
    x = np.asarray(images)
    c, (r, g, b) = _channels(x, "rgb_to_hsv", data_format)
    v = np.maximum(np.maximum(r, g), b)
    rng = v - np.minimum(np.minimum(r, g), b)
    safe = np.where(rng > 0, rng, 1)
    s = np.where(v > 0, rng / np.where(v > 0, v, 1), 0)
    h = np.where(r == v, (g - b) / safe, np.where(g == v, (b - r) / safe + 2, (r - g) / safe + 4)) / 6
    h = np.where(rng > 0, h, 0)
    h = np.where(h < 0, h + 1, h)
    return np.stack([h, s, v], axis=c).astype(x.dtype)


def hsv_to_rgb(images, data_format=None):
    x = np.asarray(images)
    c, (h, s, v) = _channels(x, "hsv_to_rgb", data_format)
    dh = h * 6
    dr = np.clip(np.abs(dh - 3) - 1, 0, 1)
    dg = np.clip(2 - np.abs(dh - 2), 0, 1)
    db = np.clip(2 - np.abs(dh - 4), 0, 1)
    out = [v * (1 - s + s * d) for d in (dr, dg, db)]
    return np.stack(out, axis=c).astype(x.dtype)


def _aspect(x, h, w, size, crop_to_aspect_ratio, pad_to_aspect_ratio, fill_value):
    """`resize`'s crop/pad to the target aspect ratio (before resampling)."""
    kind, box = aspect_window(x.shape[h], x.shape[w], size, crop_to_aspect_ratio, pad_to_aspect_ratio)
    if kind == "crop":
        top, left, ch, cw = box
        key = [slice(None)] * x.ndim
        key[h], key[w] = slice(top, top + ch), slice(left, left + cw)
        return x[tuple(key)]
    if kind == "pad":
        pads = [(0, 0)] * x.ndim
        pads[h], pads[w] = (box[0], box[0]), (box[1], box[1])
        return np.pad(x, pads, constant_values=np.asarray(fill_value, x.dtype))
    return x


def resize(images, size, interpolation="bilinear", antialias=False, crop_to_aspect_ratio=False,
           pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0, data_format=None):
    out_h, out_w = check_resize_args(size, interpolation, antialias, crop_to_aspect_ratio,
                                     pad_to_aspect_ratio, fill_mode)
    x = _float(images)
    h, w, _ = image_axes("resize", x.shape, data_format)
    x = _aspect(x, h, w, (out_h, out_w), crop_to_aspect_ratio, pad_to_aspect_ratio, fill_value)
    mh = resize_matrix(x.shape[h], out_h, interpolation, antialias).astype(x.dtype)
    mw = resize_matrix(x.shape[w], out_w, interpolation, antialias).astype(x.dtype)
    x = np.moveaxis(np.tensordot(mh, x, axes=([1], [h])), 0, h)
    x = np.moveaxis(np.tensordot(mw, x, axes=([1], [w])), 0, w)
    return x.astype(mh.dtype)


def pad_images(images, top_padding=None, left_padding=None, bottom_padding=None,
               right_padding=None, target_height=None, target_width=None, data_format=None):
    x = np.asarray(images)
    ph, pw, (h, w) = pad_amounts(x.shape, top_padding, left_padding, bottom_padding, right_padding,
                                 target_height, target_width, data_format)
    pads = [(0, 0)] * x.ndim
    pads[h], pads[w] = ph, pw
    return np.pad(x, pads)


def crop_images(images, top_cropping=None, left_cropping=None, bottom_cropping=None,
                right_cropping=None, target_height=None, target_width=None, data_format=None):
    x = np.asarray(images)
    ch, cw, (h, w) = crop_amounts(x.shape, top_cropping, left_cropping, bottom_cropping,
                                  right_cropping, target_height, target_width, data_format)
    key = [slice(None)] * x.ndim
    key[h] = slice(ch[0], x.shape[h] - ch[1])
    key[w] = slice(cw[0], x.shape[w] - cw[1])
    return x[tuple(key)]


def _nhwc(x, c):
    """Batched channels-last view of `x` (channel axis `c`) and the function undoing it."""
    unbatched = x.ndim == 3
    if unbatched:
        x, c = x[None], c + 1
    x = np.moveaxis(x, c, -1)

    def back(y):
        y = np.moveaxis(y, -1, c)
        return y[0] if unbatched else y
    return x, back


def extract_patches(images, size, strides=None, dilation_rate=1, padding="valid", data_format=None):
    x = np.asarray(images)
    (_, _, c), (kh, kw), (sh, sw), (dh, dw), pads, (oh, ow) = patch_geometry(
        x.shape, size, strides, dilation_rate, padding, data_format)
    x, back = _nhwc(x, c)
    x = np.pad(x, [(0, 0), pads[0], pads[1], (0, 0)])
    taps = [x[:, i * dh:i * dh + (oh - 1) * sh + 1:sh, j * dw:j * dw + (ow - 1) * sw + 1:sw]
            for i in range(kh) for j in range(kw)]
    y = np.stack(taps, axis=3)
    return back(y.reshape(y.shape[:3] + (-1,)))


def gaussian_blur(images, kernel_size=(3, 3), sigma=(1.0, 1.0), data_format=None):
    (kh, kw), (sy, sx) = gaussian_args(kernel_size, sigma)
    x = _float(images)
    c = image_axes("gaussian_blur", x.shape, data_format)[2]
    x, back = _nhwc(x, c)
    k = np.outer(gaussian_kernel_1d(kh, sy), gaussian_kernel_1d(kw, sx)).astype(x.dtype)
    n, h, w, _ = x.shape
    xp = np.pad(x, [(0, 0), ((kh - 1) // 2, kh // 2), ((kw - 1) // 2, kw // 2), (0, 0)])
    out = np.zeros_like(x)
    for i in range(kh):
        for j in range(kw):
            out = out + k[i, j] * xp[:, i:i + h, j:j + w]
    return back(out.astype(x.dtype))


def map_coordinates(inputs, coordinates, order, fill_mode="constant", fill_value=0):
    x = _float(inputs)
    c = np.asarray(coordinates if not isinstance(coordinates, (list, tuple)) else np.stack(coordinates))
    check_map_coordinates(x.shape, c.shape, order, fill_mode)
    c = c.astype(x.dtype)
    flat = x.reshape(-1)
    strides = [int(np.prod(x.shape[d + 1:])) for d in range(x.ndim)]
    fill = np.asarray(fill_value, x.dtype)
    if not flat.size:
        return np.full(c.shape[1:], fill, x.dtype)
    constant = fill_mode == "constant"

    def corner(idx):  # (valid mask, flat positions) of integer-valued index arrays
        valid = np.ones(c.shape[1:], bool)
        lin = 0
        for d, i in enumerate(idx):
            if constant:
                valid &= (i >= 0) & (i <= x.shape[d] - 1)
            lin = lin + fold_index(np.where, i, x.shape[d], fill_mode).astype(np.int64) * strides[d]
        return valid, lin

    if order == 0:
        valid, lin = corner([np.floor(c[d] + 0.5) for d in range(x.ndim)])
        return np.where(valid, flat[lin], fill).astype(x.dtype)
    lo = [np.floor(c[d]) for d in range(x.ndim)]
    out = np.zeros(c.shape[1:], x.dtype)
    for bits in itertools.product((0, 1), repeat=x.ndim):
        w = np.ones(c.shape[1:], x.dtype)
        for d, bit in enumerate(bits):
            w = w * (1 - np.abs(c[d] - (lo[d] + bit)))
        valid, lin = corner([lo[d] + bit for d, bit in enumerate(bits)])
        out = out + w * np.where(valid, flat[lin], fill)
    return out.astype(x.dtype)


def _affine_coordinates(t, n, h, w, c, xp):
    """(4, n, h, w, c) sampling coordinates (batch, row, column, channel) of a projective
    transform `t` of shape (n, 8); `xp` is the array module (numpy or jax.numpy)."""
    ys, xs = xp.meshgrid(xp.arange(h, dtype=t.dtype), xp.arange(w, dtype=t.dtype), indexing="ij")
    a0, a1, a2, b0, b1, b2, c0, c1 = [t[:, i, None, None] for i in range(8)]
    k = c0 * xs + c1 * ys + 1
    in_x = (a0 * xs + a1 * ys + a2) / k
    in_y = (b0 * xs + b1 * ys + b2) / k
    full = (n, h, w, c)
    bi = xp.broadcast_to(xp.arange(n, dtype=t.dtype)[:, None, None, None], full)
    ci = xp.broadcast_to(xp.arange(c, dtype=t.dtype), full)
    return xp.stack([bi, xp.broadcast_to(in_y[..., None], full), xp.broadcast_to(in_x[..., None], full), ci])


def affine_transform(images, transform, interpolation="bilinear", fill_mode="constant", fill_value=0,
                     data_format=None):
    x = _float(images)
    t = np.asarray(transform)
    _, _, c = check_affine(x.shape, t.shape, interpolation, fill_mode, data_format)
    x, back = _nhwc(x, c)
    n, h, w, ch = x.shape
    t = np.broadcast_to(t.reshape(-1, 8), (n, 8)).astype(x.dtype)
    coords = _affine_coordinates(t, n, h, w, ch, np)
    out = map_coordinates(x, coords, 0 if interpolation == "nearest" else 1, fill_mode, fill_value)
    return back(out)


def perspective_transform(images, start_points, end_points, interpolation="bilinear", fill_value=0,
                          data_format=None):
    x = _float(images)
    sp, ep = np.asarray(start_points), np.asarray(end_points)
    check_perspective(x.shape, sp.shape, ep.shape, interpolation, data_format)
    t = perspective_coefficients(sp.astype(x.dtype), ep.astype(x.dtype), np.stack, np.linalg.solve)
    return affine_transform(x, t.reshape(-1, 8), interpolation, "constant", fill_value, data_format)


def extract_patches_3d(volumes, size, strides=None, dilation_rate=1, padding="valid", data_format=None):
    x = np.asarray(volumes)
    (_, c), (kd, kh, kw), (sd, sh, sw), (dd, dh, dw), pads, (od, oh, ow) = volume_patch_geometry(
        tuple(x.shape), size, strides, dilation_rate, padding, data_format)
    unbatched = len(x.shape) == 4
    if unbatched:
        x, c = x[None], c + 1
    x = np.moveaxis(x, c, -1)
    x = np.pad(x, [(0, 0), pads[0], pads[1], pads[2], (0, 0)])
    taps = [x[:, a * dd:a * dd + (od - 1) * sd + 1:sd, i * dh:i * dh + (oh - 1) * sh + 1:sh,
              j * dw:j * dw + (ow - 1) * sw + 1:sw] for a in range(kd) for i in range(kh) for j in range(kw)]
    y = np.stack(taps, 4)  # (n, od, oh, ow, kd*kh*kw, ch)
    y = np.reshape(y, [-1, od, oh, ow, kd * kh * kw * x.shape[-1]])
    y = np.moveaxis(y, -1, c)
    return y[0] if unbatched else y


def sobel_edges(images, data_format=None):
    x = _float(images)
    c = image_axes("sobel_edges", x.shape, data_format)[2]
    x, back = _nhwc(x, c)
    h, w = x.shape[1], x.shape[2]
    xp = np.pad(x, [(0, 0), (1, 1), (1, 1), (0, 0)])
    out = []
    for taps in (SOBEL_Y, SOBEL_X):
        acc = np.zeros_like(x)
        for i in range(3):
            for j in range(3):
                if taps[i][j]:
                    acc = acc + np.asarray(taps[i][j], x.dtype) * xp[:, i:i + h, j:j + w]
        out.append(back(acc))
    return np.stack(out, axis=-1).astype(x.dtype)


def _ssim_inputs(image1, image2, filter_size, filter_sigma, data_format):
    """Both images as batched channels-last arrays of the common float dtype."""
    a, b = np.asarray(image1), np.asarray(image2)
    dt = _float(np.zeros((), np.result_type(a.dtype, b.dtype))).dtype
    h, w, c = check_ssim(a.shape, b.shape, filter_size, filter_sigma, data_format)
    return _nhwc(a.astype(dt), c)[0], _nhwc(b.astype(dt), c)[0], a.ndim == 3


def ssim(image1, image2, max_val=1.0, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03,
         data_format=None):
    a, b, unbatched = _ssim_inputs(image1, image2, filter_size, filter_sigma, data_format)
    g = gaussian_kernel_1d(filter_size, filter_sigma).astype(a.dtype)

    def blur(v):  # separable "valid" Gaussian window over rows then columns
        n = v.shape[1] - filter_size + 1
        v = sum(g[i] * v[:, i:i + n] for i in range(filter_size))
        m = v.shape[2] - filter_size + 1
        return sum(g[j] * v[:, :, j:j + m] for j in range(filter_size))

    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    mu1, mu2 = blur(a), blur(b)
    var1 = blur(a * a) - mu1 * mu1
    var2 = blur(b * b) - mu2 * mu2
    cov = blur(a * b) - mu1 * mu2
    smap = (2 * mu1 * mu2 + c1) * (2 * cov + c2) / ((mu1 * mu1 + mu2 * mu2 + c1) * (var1 + var2 + c2))
    out = np.mean(smap, axis=(1, 2, 3)).astype(a.dtype)
    return out[0] if unbatched else out


def scale_and_translate(images, output_shape, scale, translation, spatial_dims, method, antialias=True):
    x = _float(images)
    scale, translation = np.asarray(scale), np.asarray(translation)
    dims, kernel = check_scale_and_translate(x.shape, output_shape, scale.shape, translation.shape,
                                             spatial_dims, method)
    scale, translation = scale.astype(x.dtype), translation.astype(x.dtype)
    for k, d in enumerate(dims):
        m = scale_translate_weights(np, x.shape[d], int(output_shape[d]), scale[k], translation[k],
                                    kernel, antialias, x.dtype)
        x = np.moveaxis(np.tensordot(x, m.astype(x.dtype), axes=([d], [0])), -1, d)
    return x


def elastic_transform(images, alpha=20.0, sigma=5.0, interpolation="bilinear", fill_mode="reflect",
                      fill_value=0.0, seed=None, data_format=None):
    x = _float(images)
    (_, _, c), ksize = check_elastic(x.shape, alpha, sigma, interpolation, fill_mode, data_format)
    x, back = _nhwc(x, c)
    n, h, w, ch = x.shape
    noise = random_normal((2 * n, h, w, 1), dtype=x.dtype.name, seed=seed)
    field = gaussian_blur(noise * np.asarray(sigma, x.dtype), (ksize, ksize), (sigma, sigma), "channels_last")
    dy, dx = field.reshape((2, n, h, w)) * np.asarray(alpha, x.dtype)
    ys, xs = np.meshgrid(np.arange(h, dtype=x.dtype), np.arange(w, dtype=x.dtype), indexing="ij")
    full = (n, h, w, ch)
    coords = np.stack([np.broadcast_to(np.arange(n, dtype=x.dtype)[:, None, None, None], full),
                       np.broadcast_to((ys + dy)[..., None], full), np.broadcast_to((xs + dx)[..., None], full),
                       np.broadcast_to(np.arange(ch, dtype=x.dtype), full)])
    out = map_coordinates(x, coords, 0 if interpolation == "nearest" else 1, fill_mode, fill_value)
    return back(out.astype(x.dtype))
