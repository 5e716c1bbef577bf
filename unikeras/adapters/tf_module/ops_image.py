"""Backend implementations of the image op family (tensorflow)."""
import itertools

import numpy as np
import tensorflow as tf
import tensorflow.experimental.numpy as tnp

from unikeras.adapters.tf_module.ops import _float, _t, random_normal
from unikeras.common.ops.image import (
    GRAY_WEIGHTS, SOBEL_X, SOBEL_Y, aspect_window, check_affine, check_elastic, check_map_coordinates,
    check_perspective, check_resize_args, check_scale_and_translate, check_ssim, crop_amounts, fold_index,
    gaussian_args, gaussian_kernel_1d, image_axes, pad_amounts, patch_geometry, perspective_coefficients,
    resize_matrix, scale_translate_weights, volume_patch_geometry)

# Every op of the family is implemented here: export the family's list.
from unikeras.common.ops.image import __all__  # noqa: E402,F401


def _static_shape(x, op_name):
    shape = tuple(x.shape)
    if None in shape[-3:]:
        raise ValueError(f"{op_name}: needs static image dimensions, got shape {shape}.")
    return shape


def rgb_to_grayscale(images, data_format=None):
    x = _float(images)
    c = image_axes("rgb_to_grayscale", tuple(x.shape), data_format)[2]
    w = tf.reshape(tf.constant(GRAY_WEIGHTS, x.dtype), (3,) + (1,) * (len(x.shape) - 1 - c))
    return tf.reduce_sum(x * w, axis=c, keepdims=True)


def _to_last(x, c):
    """Channels moved last (the layout tf.image kernels expect) and the inverse permutation."""
    n = len(x.shape)
    if c == n - 1:
        return x, None
    perm = [i for i in range(n) if i != c] + [c]
    inv = [perm.index(i) for i in range(n)]
    return tf.transpose(x, perm), inv


# Written out rather than tf.image.rgb_to_hsv / hsv_to_rgb: those kernels have no gradient.
def rgb_to_hsv(images, data_format=None):
    x = _t(images)
    c = image_axes("rgb_to_hsv", tuple(x.shape), data_format)[2]
    r, g, b = tf.unstack(x, 3, axis=c)
    v = tf.maximum(tf.maximum(r, g), b)
    rng = v - tf.minimum(tf.minimum(r, g), b)
    one, zero = tf.ones_like(v), tf.zeros_like(v)
    safe = tf.where(rng > 0, rng, one)
    s = tf.where(v > 0, rng / tf.where(v > 0, v, one), zero)
    h = tf.where(r == v, (g - b) / safe, tf.where(g == v, (b - r) / safe + 2, (r - g) / safe + 4)) / 6
    h = tf.where(rng > 0, h, zero)
    h = tf.where(h < 0, h + 1, h)
    return tf.stack([h, s, v], axis=c)


def hsv_to_rgb(images, data_format=None):
    x = _t(images)
    c = image_axes("hsv_to_rgb", tuple(x.shape), data_format)[2]
    h, s, v = tf.unstack(x, 3, axis=c)
    dh = h * 6
    dr = tf.clip_by_value(tf.abs(dh - 3) - 1, 0, 1)
    dg = tf.clip_by_value(2 - tf.abs(dh - 2), 0, 1)
    db = tf.clip_by_value(2 - tf.abs(dh - 4), 0, 1)
    return tf.stack([v * (1 - s + s * d) for d in (dr, dg, db)], axis=c)


def _aspect(x, h, w, size, crop_to_aspect_ratio, pad_to_aspect_ratio, fill_value):
    shape = tuple(x.shape)
    kind, box = aspect_window(shape[h], shape[w], size, crop_to_aspect_ratio, pad_to_aspect_ratio)
    if kind == "crop":
        top, left, ch, cw = box
        key = [slice(None)] * len(shape)
        key[h], key[w] = slice(top, top + ch), slice(left, left + cw)
        return x[tuple(key)]
    if kind == "pad":
        pads = [(0, 0)] * len(shape)
        pads[h], pads[w] = (box[0], box[0]), (box[1], box[1])
        return tf.pad(x, pads, constant_values=tf.cast(fill_value, x.dtype))
    return x


def resize(images, size, interpolation="bilinear", antialias=False, crop_to_aspect_ratio=False,
           pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0, data_format=None):
    size = check_resize_args(size, interpolation, antialias, crop_to_aspect_ratio, pad_to_aspect_ratio,
                             fill_mode)
    x = _float(images)
    h, w, c = image_axes("resize", tuple(x.shape), data_format)
    x = _aspect(x, h, w, size, crop_to_aspect_ratio, pad_to_aspect_ratio, fill_value)
    if (interpolation == "bicubic" and not antialias) or (x.dtype == tf.float64 and interpolation != "nearest"):
        # tf's plain bicubic clamps taps instead of renormalizing them, and its resampling
        # kernels compute in float32: separable matrices instead.
        for axis, n in ((h, size[0]), (w, size[1])):
            m = tf.constant(resize_matrix(x.shape[axis], n, interpolation, antialias).T, x.dtype)
            x = _tf_moveaxis(tf.tensordot(x, m, [[axis], [0]]), -1, axis)
        return x
    y, inv = _to_last(x, c)
    y = tf.image.resize(y, size, method=interpolation, antialias=antialias)
    y = tf.cast(y, x.dtype)
    return y if inv is None else tf.transpose(y, inv)


def pad_images(images, top_padding=None, left_padding=None, bottom_padding=None,
               right_padding=None, target_height=None, target_width=None, data_format=None):
    x = _t(images)
    ph, pw, (h, w) = pad_amounts(_static_shape(x, "pad_images"), top_padding, left_padding,
                                 bottom_padding, right_padding, target_height, target_width, data_format)
    pads = [(0, 0)] * len(x.shape)
    pads[h], pads[w] = ph, pw
    return tf.pad(x, pads)


def crop_images(images, top_cropping=None, left_cropping=None, bottom_cropping=None,
                right_cropping=None, target_height=None, target_width=None, data_format=None):
    x = _t(images)
    shape = _static_shape(x, "crop_images")
    ch, cw, (h, w) = crop_amounts(shape, top_cropping, left_cropping, bottom_cropping,
                                  right_cropping, target_height, target_width, data_format)
    key = [slice(None)] * len(shape)
    key[h] = slice(ch[0], shape[h] - ch[1])
    key[w] = slice(cw[0], shape[w] - cw[1])
    return x[tuple(key)]


def _nhwc(x, c):
    """Batched channels-last view of `x` (channel axis `c`) and the function undoing it."""
    unbatched = len(x.shape) == 3
    if unbatched:
        x, c = x[None], c + 1
    x, inv = _to_last(x, c)

    def back(y):
        y = y if inv is None else tf.transpose(y, inv)
        return y[0] if unbatched else y
    return x, back


def extract_patches(images, size, strides=None, dilation_rate=1, padding="valid", data_format=None):
    x = _t(images)
    (_, _, c), (kh, kw), (sh, sw), (dh, dw), _, _ = patch_geometry(
        _static_shape(x, "extract_patches"), size, strides, dilation_rate, padding, data_format)
    x, back = _nhwc(x, c)
    y = tf.image.extract_patches(x, [1, kh, kw, 1], [1, sh, sw, 1], [1, dh, dw, 1], padding.upper())
    return back(y)


def gaussian_blur(images, kernel_size=(3, 3), sigma=(1.0, 1.0), data_format=None):
    (kh, kw), (sy, sx) = gaussian_args(kernel_size, sigma)
    x = _float(images)
    c = image_axes("gaussian_blur", tuple(x.shape), data_format)[2]
    x, back = _nhwc(x, c)
    ch = x.shape[-1]
    k = np.outer(gaussian_kernel_1d(kh, sy), gaussian_kernel_1d(kw, sx))
    k = tf.constant(np.broadcast_to(k[:, :, None, None], (kh, kw, ch, 1)), x.dtype)
    return back(tf.nn.depthwise_conv2d(x, k, [1, 1, 1, 1], "SAME"))


def map_coordinates(inputs, coordinates, order, fill_mode="constant", fill_value=0):
    x = _float(inputs)
    c = tf.stack([_t(i) for i in coordinates]) if isinstance(coordinates, (list, tuple)) else _t(coordinates)
    shape = tuple(x.shape)
    check_map_coordinates(shape, tuple(c.shape), order, fill_mode)
    c = tf.cast(c, x.dtype)
    flat = tf.reshape(x, [-1])
    strides = [int(np.prod(shape[d + 1:])) for d in range(len(shape))]
    fill = tf.constant(fill_value, x.dtype)
    constant = fill_mode == "constant"

    def corner(idx):
        valid, lin = True, 0
        for d, i in enumerate(idx):
            if constant:
                valid = tf.logical_and(valid, (i >= 0) & (i <= shape[d] - 1))
            lin = lin + tf.cast(fold_index(tf.where, i, shape[d], fill_mode), tf.int64) * strides[d]
        vals = tf.gather(flat, lin)
        return tf.where(valid, vals, fill) if constant else vals

    if order == 0:
        return corner([tf.floor(c[d] + 0.5) for d in range(len(shape))])
    lo = [tf.floor(c[d]) for d in range(len(shape))]
    out = 0
    for bits in itertools.product((0, 1), repeat=len(shape)):
        w = 1
        for d, bit in enumerate(bits):
            w = w * (1 - tf.abs(c[d] - (lo[d] + bit)))
        out = out + w * corner([lo[d] + bit for d, bit in enumerate(bits)])
    return out


def _warp(x, in_y, in_x, interpolation, fill_mode, fill_value):
    """Sample NHWC `x` (static h, w, c) at (n, H, W) row / column positions (gathers, channels
    carried); outside positions follow `fill_mode` as in `map_coordinates`."""
    # Gathers rather than tf.raw_ops.ImageProjectiveTransformV3: that kernel's registered
    # gradient warps back with the inverse transform, which is not the true adjoint.
    h, w, ch = x.shape[1], x.shape[2], x.shape[3]
    n = tf.shape(x)[0]
    flat = tf.reshape(x, [-1, ch])
    base = tf.cast(tf.range(n), tf.int64)[:, None, None] * (h * w)
    fill = tf.constant(fill_value, x.dtype)

    def read(y, z):  # (n, H, W, ch) pixels at integer-valued float positions
        yi = tf.cast(fold_index(tf.where, y, h, fill_mode), tf.int64)
        zi = tf.cast(fold_index(tf.where, z, w, fill_mode), tf.int64)
        vals = tf.gather(flat, base + yi * w + zi)
        if fill_mode != "constant":
            return vals
        valid = (y >= 0) & (y <= h - 1) & (z >= 0) & (z <= w - 1)
        return tf.where(valid[..., None], vals, fill)

    if interpolation == "nearest":
        return read(tf.floor(in_y + 0.5), tf.floor(in_x + 0.5))
    y0, x0 = tf.floor(in_y), tf.floor(in_x)
    fy, fx = (in_y - y0)[..., None], (in_x - x0)[..., None]
    return ((1 - fy) * (1 - fx) * read(y0, x0) + (1 - fy) * fx * read(y0, x0 + 1)
            + fy * (1 - fx) * read(y0 + 1, x0) + fy * fx * read(y0 + 1, x0 + 1))


def affine_transform(images, transform, interpolation="bilinear", fill_mode="constant", fill_value=0,
                     data_format=None):
    x = _float(images)
    t = _t(transform)
    shape = _static_shape(x, "affine_transform")
    _, _, c = check_affine(shape, tuple(t.shape), interpolation, fill_mode, data_format)
    x, back = _nhwc(x, c)
    h, w = x.shape[1], x.shape[2]
    n = tf.shape(x)[0]
    t = tf.broadcast_to(tf.reshape(tf.cast(t, x.dtype), [-1, 8]), tf.stack([n, 8]))
    ys, xs = tf.meshgrid(tf.range(h, dtype=x.dtype), tf.range(w, dtype=x.dtype), indexing="ij")
    a0, a1, a2, b0, b1, b2, c0, c1 = [t[:, i, None, None] for i in range(8)]
    k = c0 * xs + c1 * ys + 1
    in_x = (a0 * xs + a1 * ys + a2) / k
    in_y = (b0 * xs + b1 * ys + b2) / k
    return back(_warp(x, in_y, in_x, interpolation, fill_mode, fill_value))


def perspective_transform(images, start_points, end_points, interpolation="bilinear", fill_value=0,
                          data_format=None):
    x = _float(images)
    sp, ep = _t(start_points), _t(end_points)
    check_perspective(tuple(x.shape), tuple(sp.shape), tuple(ep.shape), interpolation, data_format)
    t = perspective_coefficients(tf.cast(sp, x.dtype), tf.cast(ep, x.dtype), tf.stack, tf.linalg.solve)
    return affine_transform(x, tf.reshape(t, [-1, 8]), interpolation, "constant", fill_value, data_format)


def _tf_moveaxis(x, src, dst):
    n = len(x.shape)
    src, dst = src % n, dst % n
    if src == dst:
        return x
    perm = [i for i in range(n) if i != src]
    perm.insert(dst, src)
    return tf.transpose(x, perm)


def extract_patches_3d(volumes, size, strides=None, dilation_rate=1, padding="valid", data_format=None):
    x = _t(volumes)
    (_, c), (kd, kh, kw), (sd, sh, sw), (dd, dh, dw), pads, (od, oh, ow) = volume_patch_geometry(
        tuple(x.shape), size, strides, dilation_rate, padding, data_format)
    unbatched = len(x.shape) == 4
    if unbatched:
        x, c = x[None], c + 1
    x = _tf_moveaxis(x, c, -1)
    x = tf.pad(x, [(0, 0), pads[0], pads[1], pads[2], (0, 0)])
    taps = [x[:, a * dd:a * dd + (od - 1) * sd + 1:sd, i * dh:i * dh + (oh - 1) * sh + 1:sh,
              j * dw:j * dw + (ow - 1) * sw + 1:sw] for a in range(kd) for i in range(kh) for j in range(kw)]
    y = tf.stack(taps, 4)  # (n, od, oh, ow, kd*kh*kw, ch)
    y = tf.reshape(y, [-1, od, oh, ow, kd * kh * kw * x.shape[-1]])
    y = _tf_moveaxis(y, -1, c)
    return y[0] if unbatched else y


def _image_out(y, c, rank):
    """(n, h, w, ch, k) channels-last results back to the input's layout and rank."""
    if c != rank - 1:
        y = tf.transpose(y, [0, 3, 1, 2, 4])
    return y[0] if rank == 3 else y


def sobel_edges(images, data_format=None):
    x = _float(images)
    shape = _static_shape(x, "sobel_edges")
    c = image_axes("sobel_edges", shape, data_format)[2]
    y, _ = _nhwc(x, c)
    ch = y.shape[-1]
    k = np.stack([SOBEL_Y, SOBEL_X], -1)[:, :, None, :]  # (3, 3, 1, 2): [dy, dx] per channel
    k = tf.constant(np.broadcast_to(k, (3, 3, ch, 2)), x.dtype)
    y = tf.nn.depthwise_conv2d(y, k, [1, 1, 1, 1], "SAME")
    y = tf.reshape(y, tf.concat([tf.shape(y)[:3], [ch, 2]], 0))
    return _image_out(y, c, len(shape))


def ssim(image1, image2, max_val=1.0, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03,
         data_format=None):
    a, b = _t(image1), _t(image2)
    dt = a.dtype if a.dtype == b.dtype else tf.float64 if tf.float64 in (a.dtype, b.dtype) else tf.float32
    if not dt.is_floating:
        dt = _float(tf.zeros((), dt)).dtype
    shape = _static_shape(a, "ssim")
    _, _, c = check_ssim(shape, tuple(b.shape), filter_size, filter_sigma, data_format)
    a, _ = _nhwc(tf.cast(a, dt), c)
    b, _ = _nhwc(tf.cast(b, dt), c)
    ch = a.shape[-1]
    v = tf.concat([a, b, a * a, b * b, a * b], -1)
    g = gaussian_kernel_1d(filter_size, filter_sigma)
    for kshape in ((filter_size, 1), (1, filter_size)):
        k = tf.constant(np.broadcast_to(g.reshape(kshape + (1, 1)), kshape + (5 * ch, 1)), dt)
        v = tf.nn.depthwise_conv2d(v, k, [1, 1, 1, 1], "VALID")
    mu1, mu2, e11, e22, e12 = tf.split(v, 5, axis=-1)
    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    m11, m22, m12 = mu1 * mu1, mu2 * mu2, mu1 * mu2
    smap = (2 * m12 + c1) * (2 * (e12 - m12) + c2) / ((m11 + m22 + c1) * ((e11 - m11) + (e22 - m22) + c2))
    out = tf.reduce_mean(smap, axis=[1, 2, 3])
    return out[0] if len(shape) == 3 else out


def scale_and_translate(images, output_shape, scale, translation, spatial_dims, method, antialias=True):
    x = _float(images)
    scale, translation = _t(scale), _t(translation)
    dims, kernel = check_scale_and_translate(tuple(x.shape), output_shape, tuple(scale.shape),
                                             tuple(translation.shape), spatial_dims, method)
    if any(x.shape[d] is None for d in dims):
        raise ValueError(f"scale_and_translate: needs static sizes of the spatial dims {dims}, got shape "
                         f"{tuple(x.shape)}.")
    scale, translation = tf.cast(scale, x.dtype), tf.cast(translation, x.dtype)
    for k, d in enumerate(dims):
        m = scale_translate_weights(tnp, x.shape[d], int(output_shape[d]), scale[k], translation[k],
                                    kernel, antialias, x.dtype)
        x = _tf_moveaxis(tf.tensordot(x, m, [[d], [0]]), -1, d)
    return x


def elastic_transform(images, alpha=20.0, sigma=5.0, interpolation="bilinear", fill_mode="reflect",
                      fill_value=0.0, seed=None, data_format=None):
    x = _float(images)
    shape = _static_shape(x, "elastic_transform")
    (_, _, c), ksize = check_elastic(shape, alpha, sigma, interpolation, fill_mode, data_format)
    x, back = _nhwc(x, c)
    h, w = x.shape[1], x.shape[2]
    n = x.shape[0] if x.shape[0] is not None else tf.shape(x)[0]
    noise = random_normal((2 * n, h, w, 1) if isinstance(n, int) else tf.stack([2 * n, h, w, 1]),
                          dtype=x.dtype.name, seed=seed)
    field = gaussian_blur(noise * sigma, (ksize, ksize), (sigma, sigma), "channels_last")
    field = tf.reshape(field, tf.stack([2, tf.shape(x)[0], h, w])) * tf.cast(alpha, x.dtype)
    ys, xs = tf.meshgrid(tf.range(h, dtype=x.dtype), tf.range(w, dtype=x.dtype), indexing="ij")
    return back(_warp(x, ys + field[0], xs + field[1], interpolation, fill_mode, fill_value))
