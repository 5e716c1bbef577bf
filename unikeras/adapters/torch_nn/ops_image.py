"""Backend implementations of the image op family (torch)."""
import itertools
import math

import numpy as np
import torch
import torch.nn.functional as F

from unikeras.adapters.torch_nn.ops import _float, _to_tensor, random_normal
from unikeras.adapters.torch_nn.ops import _FLOATS
from unikeras.common.ops.image import (
    GRAY_WEIGHTS, SOBEL_X, SOBEL_Y, aspect_window, check_affine, check_elastic, check_map_coordinates,
    check_perspective, check_resize_args, check_scale_and_translate, check_ssim, crop_amounts, fold_index,
    gaussian_args, gaussian_kernel_1d, image_axes, pad_amounts, patch_geometry, perspective_coefficients,
    resize_matrix, scale_translate_weights, volume_patch_geometry)

# Every op of the family is implemented here: export the family's list.
from unikeras.common.ops.image import __all__  # noqa: E402,F401


def rgb_to_grayscale(images, data_format=None):
    x = _float(images)
    c = image_axes("rgb_to_grayscale", tuple(x.shape), data_format)[2]
    w = torch.tensor(GRAY_WEIGHTS, dtype=x.dtype, device=x.device).reshape((3,) + (1,) * (x.ndim - 1 - c))
    return torch.sum(x * w, dim=c, keepdim=True)


def rgb_to_hsv(images, data_format=None):
    x = _to_tensor(images)
    c = image_axes("rgb_to_hsv", tuple(x.shape), data_format)[2]
    r, g, b = torch.unbind(x, dim=c)
    v = torch.maximum(torch.maximum(r, g), b)
    rng = v - torch.minimum(torch.minimum(r, g), b)
    pos = rng > 0
    safe = torch.where(pos, rng, torch.ones_like(rng))
    s = torch.where(v > 0, rng / torch.where(v > 0, v, torch.ones_like(v)), torch.zeros_like(v))
    h = torch.where(r == v, (g - b) / safe, torch.where(g == v, (b - r) / safe + 2, (r - g) / safe + 4)) / 6
    h = torch.where(pos, h, torch.zeros_like(h))
    h = torch.where(h < 0, h + 1, h)
    return torch.stack([h, s, v], dim=c)


def hsv_to_rgb(images, data_format=None):
    x = _to_tensor(images)
    c = image_axes("hsv_to_rgb", tuple(x.shape), data_format)[2]
    h, s, v = torch.unbind(x, dim=c)
    dh = h * 6
    dr = torch.clamp(torch.abs(dh - 3) - 1, 0, 1)
    dg = torch.clamp(2 - torch.abs(dh - 2), 0, 1)
    db = torch.clamp(2 - torch.abs(dh - 4), 0, 1)
    return torch.stack([v * (1 - s + s * d) for d in (dr, dg, db)], dim=c)


def _aspect(x, h, w, size, crop_to_aspect_ratio, pad_to_aspect_ratio, fill_value):
    kind, box = aspect_window(x.shape[h], x.shape[w], size, crop_to_aspect_ratio, pad_to_aspect_ratio)
    if kind == "crop":
        top, left, ch, cw = box
        return x.narrow(h, top, ch).narrow(w, left, cw)
    if kind == "pad":
        pads = [(0, 0)] * x.ndim
        pads[h], pads[w] = (box[0], box[0]), (box[1], box[1])
        return F.pad(x, [v for pair in reversed(pads) for v in pair], value=float(fill_value))
    return x


def resize(images, size, interpolation="bilinear", antialias=False, crop_to_aspect_ratio=False,
           pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0, data_format=None):
    size = check_resize_args(size, interpolation, antialias, crop_to_aspect_ratio, pad_to_aspect_ratio,
                             fill_mode)
    x = _float(images)
    h, w, c = image_axes("resize", tuple(x.shape), data_format)
    x = _aspect(x, h, w, size, crop_to_aspect_ratio, pad_to_aspect_ratio, fill_value)
    unbatched = x.ndim == 3
    if unbatched:
        x, h, w, c = x[None], h + 1, w + 1, c + 1
    if c == 3:
        x = x.permute(0, 3, 1, 2)
    if interpolation == "nearest":
        y = F.interpolate(x, size=size, mode="nearest-exact")
    elif interpolation == "bilinear" or (interpolation == "bicubic" and antialias):
        # torch's (antialiased) bilinear and antialiased bicubic (a = -0.5) are these kernels;
        # its plain bicubic (a = -0.75, clamped taps) is not.
        y = F.interpolate(x, size=size, mode=interpolation, align_corners=False, antialias=antialias)
    else:
        mh = torch.as_tensor(resize_matrix(x.shape[2], size[0], interpolation, antialias), dtype=x.dtype,
                          device=x.device)
        mw = torch.as_tensor(resize_matrix(x.shape[3], size[1], interpolation, antialias), dtype=x.dtype,
                          device=x.device)
        y = torch.matmul(torch.matmul(mh, x), mw.T)
    if c == 3:
        y = y.permute(0, 2, 3, 1)
    return y[0] if unbatched else y


def pad_images(images, top_padding=None, left_padding=None, bottom_padding=None,
               right_padding=None, target_height=None, target_width=None, data_format=None):
    x = _to_tensor(images)
    ph, pw, (h, w) = pad_amounts(tuple(x.shape), top_padding, left_padding, bottom_padding,
                                 right_padding, target_height, target_width, data_format)
    pads = [(0, 0)] * x.ndim
    pads[h], pads[w] = ph, pw
    flat = [v for pair in reversed(pads) for v in pair]
    if x.dtype is torch.bool:
        return F.pad(x.to(torch.uint8), flat).to(torch.bool)
    return F.pad(x, flat)


def crop_images(images, top_cropping=None, left_cropping=None, bottom_cropping=None,
                right_cropping=None, target_height=None, target_width=None, data_format=None):
    x = _to_tensor(images)
    ch, cw, (h, w) = crop_amounts(tuple(x.shape), top_cropping, left_cropping, bottom_cropping,
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
    x = torch.movedim(x, c, 1)

    def back(y):
        y = torch.movedim(y, 1, c)
        return y[0] if unbatched else y
    return x, back


def extract_patches(images, size, strides=None, dilation_rate=1, padding="valid", data_format=None):
    x = _to_tensor(images)
    (_, _, c), (kh, kw), (sh, sw), (dh, dw), pads, (oh, ow) = patch_geometry(
        tuple(x.shape), size, strides, dilation_rate, padding, data_format)
    x, back = _nchw(x, c)
    n, ch = x.shape[0], x.shape[1]
    x = F.pad(x, [pads[1][0], pads[1][1], pads[0][0], pads[0][1]]) if pads != [(0, 0), (0, 0)] else x
    if x.dtype in _FLOATS:
        y = F.unfold(x, (kh, kw), dilation=(dh, dw), stride=(sh, sw))  # (n, ch*kh*kw, oh*ow)
        y = y.reshape(n, ch, kh * kw, oh, ow).transpose(1, 2)  # (n, kh*kw, ch, oh, ow)
    else:
        y = torch.stack([x[:, :, i * dh:i * dh + (oh - 1) * sh + 1:sh, j * dw:j * dw + (ow - 1) * sw + 1:sw]
                         for i in range(kh) for j in range(kw)], dim=1)
    return back(y.reshape(n, kh * kw * ch, oh, ow))


def gaussian_blur(images, kernel_size=(3, 3), sigma=(1.0, 1.0), data_format=None):
    (kh, kw), (sy, sx) = gaussian_args(kernel_size, sigma)
    x = _float(images)
    c = image_axes("gaussian_blur", tuple(x.shape), data_format)[2]
    x, back = _nchw(x, c)
    ch = x.shape[1]
    k = torch.as_tensor(np.outer(gaussian_kernel_1d(kh, sy), gaussian_kernel_1d(kw, sx)), dtype=x.dtype,
                     device=x.device)
    k = k.expand(ch, 1, kh, kw)
    if kh % 2 and kw % 2:
        return back(F.conv2d(x, k, padding=(kh // 2, kw // 2), groups=ch))
    x = F.pad(x, [(kw - 1) // 2, kw // 2, (kh - 1) // 2, kh // 2])
    return back(F.conv2d(x, k, groups=ch))


def map_coordinates(inputs, coordinates, order, fill_mode="constant", fill_value=0):
    x = _float(inputs)
    c = torch.stack([_to_tensor(i) for i in coordinates]) if isinstance(coordinates, (list, tuple)) \
        else _to_tensor(coordinates)
    check_map_coordinates(tuple(x.shape), tuple(c.shape), order, fill_mode)
    c = c.to(device=x.device, dtype=x.dtype)
    flat = x.reshape(-1)
    strides = [math.prod(x.shape[d + 1:]) for d in range(x.ndim)]
    fill = torch.tensor(fill_value, dtype=x.dtype, device=x.device)
    constant = fill_mode == "constant"

    def corner(idx):
        valid, lin = None, 0
        for d, i in enumerate(idx):
            if constant:
                ok = (i >= 0) & (i <= x.shape[d] - 1)
                valid = ok if valid is None else valid & ok
            lin = lin + fold_index(torch.where, i, x.shape[d], fill_mode).long() * strides[d]
        vals = flat[lin]
        return vals if valid is None else torch.where(valid, vals, fill)

    if order == 0:
        return corner([torch.floor(c[d] + 0.5) for d in range(x.ndim)])
    lo = [torch.floor(c[d]) for d in range(x.ndim)]
    out = 0
    for bits in itertools.product((0, 1), repeat=x.ndim):
        w = 1
        for d, bit in enumerate(bits):
            w = w * (1 - torch.abs(c[d] - (lo[d] + bit)))
        out = out + w * corner([lo[d] + bit for d, bit in enumerate(bits)])
    return out


def _fold(v, n, fill_mode):
    """Continuous coordinates folded into [0, n - 1] ("mirror") or [0, n) ("wrap")."""
    if fill_mode == "wrap":
        return torch.remainder(v, n)
    if n == 1:
        return v * 0
    p = 2 * (n - 1)
    v = torch.remainder(v, p)
    return torch.where(v > n - 1, p - v, v)


def _warp(x, in_y, in_x, interpolation, fill_mode, fill_value):
    """Sample NCHW `x` at (n, H, W) row / column positions `in_y`, `in_x` (grid_sample);
    outside positions follow `fill_mode` as in `map_coordinates`."""
    h, w = x.shape[2], x.shape[3]
    if interpolation == "nearest":  # halves round up (grid_sample would round them to even)
        in_x, in_y = torch.floor(in_x + 0.5), torch.floor(in_y + 0.5)
    mode = "nearest" if interpolation == "nearest" else "bilinear"
    constant = fill_mode == "constant"
    if constant:
        # zero padding per out-of-range neighbour becomes `fill_value` by sampling x - fill.
        padding = "zeros"
    elif fill_mode == "nearest":
        padding = "border"
    elif fill_mode == "reflect":  # grid_sample reflects about the pixel borders -0.5, n - 0.5
        padding = "reflection"
    else:
        in_y, in_x, padding = _fold(in_y, h, fill_mode), _fold(in_x, w, fill_mode), "border"
        if fill_mode == "wrap":  # positions in (n - 1, n) interpolate towards pixel 0
            x = torch.cat([x, x[:, :, :1]], 2)
            x = torch.cat([x, x[:, :, :, :1]], 3)
            h, w = h + 1, w + 1
    # grid_sample (align_corners=False) takes pixel p at normalized (2p + 1) / size - 1
    grid = torch.stack([(2 * in_x + 1) / w - 1, (2 * in_y + 1) / h - 1], dim=-1)
    y = F.grid_sample(x - fill_value if constant else x, grid, mode=mode, padding_mode=padding,
                      align_corners=False)
    return y + fill_value if constant else y


def affine_transform(images, transform, interpolation="bilinear", fill_mode="constant", fill_value=0,
                     data_format=None):
    x = _float(images)
    t = _to_tensor(transform)
    _, _, c = check_affine(tuple(x.shape), tuple(t.shape), interpolation, fill_mode, data_format)
    x, back = _nchw(x, c)
    n, _, h, w = x.shape
    t = t.reshape(-1, 8).to(device=x.device, dtype=x.dtype).expand(n, 8)
    ys, xs = torch.meshgrid(torch.arange(h, dtype=x.dtype, device=x.device),
                            torch.arange(w, dtype=x.dtype, device=x.device), indexing="ij")
    a0, a1, a2, b0, b1, b2, c0, c1 = [t[:, i, None, None] for i in range(8)]
    k = c0 * xs + c1 * ys + 1
    in_x = (a0 * xs + a1 * ys + a2) / k
    in_y = (b0 * xs + b1 * ys + b2) / k
    return back(_warp(x, in_y, in_x, interpolation, fill_mode, fill_value))


def perspective_transform(images, start_points, end_points, interpolation="bilinear", fill_value=0,
                          data_format=None):
    x = _float(images)
    sp, ep = _to_tensor(start_points), _to_tensor(end_points)
    check_perspective(tuple(x.shape), tuple(sp.shape), tuple(ep.shape), interpolation, data_format)
    t = perspective_coefficients(sp.to(x.dtype), ep.to(x.dtype), torch.stack, torch.linalg.solve)
    return affine_transform(x, t.reshape(-1, 8), interpolation, "constant", fill_value, data_format)


def _pad5(x, pads):
    flat = [v for pair in reversed(pads) for v in pair]
    if x.dtype is torch.bool:
        return F.pad(x.to(torch.uint8), flat).to(torch.bool)
    return F.pad(x, flat)


def extract_patches_3d(volumes, size, strides=None, dilation_rate=1, padding="valid", data_format=None):
    x = _to_tensor(volumes)
    (_, c), (kd, kh, kw), (sd, sh, sw), (dd, dh, dw), pads, (od, oh, ow) = volume_patch_geometry(
        tuple(x.shape), size, strides, dilation_rate, padding, data_format)
    unbatched = len(x.shape) == 4
    if unbatched:
        x, c = x[None], c + 1
    x = torch.movedim(x, c, -1)
    x = _pad5(x, [(0, 0), pads[0], pads[1], pads[2], (0, 0)])
    taps = [x[:, a * dd:a * dd + (od - 1) * sd + 1:sd, i * dh:i * dh + (oh - 1) * sh + 1:sh,
              j * dw:j * dw + (ow - 1) * sw + 1:sw] for a in range(kd) for i in range(kh) for j in range(kw)]
    y = torch.stack(taps, 4)  # (n, od, oh, ow, kd*kh*kw, ch)
    y = torch.reshape(y, [-1, od, oh, ow, kd * kh * kw * x.shape[-1]])
    y = torch.movedim(y, -1, c)
    return y[0] if unbatched else y


def sobel_edges(images, data_format=None):
    x = _float(images)
    c = image_axes("sobel_edges", tuple(x.shape), data_format)[2]
    x, back = _nchw(x, c)
    n, ch, h, w = x.shape
    k = torch.tensor([SOBEL_Y, SOBEL_X], dtype=x.dtype, device=x.device)[:, None].repeat(ch, 1, 1, 1)
    y = F.conv2d(x, k, padding=1, groups=ch).reshape(n, ch, 2, h, w)  # per channel [dy, dx]
    return torch.stack([back(y[:, :, 0]), back(y[:, :, 1])], dim=-1)


def ssim(image1, image2, max_val=1.0, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03,
         data_format=None):
    a, b = _to_tensor(image1), _to_tensor(image2)
    dt = _float(torch.zeros((), dtype=torch.promote_types(a.dtype, b.dtype))).dtype
    _, _, c = check_ssim(tuple(a.shape), tuple(b.shape), filter_size, filter_sigma, data_format)
    unbatched = a.ndim == 3
    a, _ = _nchw(a.to(dt), c)
    b, _ = _nchw(b.to(dt), c)
    ch = a.shape[1]
    v = torch.cat([a, b, a * a, b * b, a * b], 1)
    g = torch.as_tensor(gaussian_kernel_1d(filter_size, filter_sigma), dtype=dt, device=a.device)
    v = F.conv2d(v, g.reshape(1, 1, -1, 1).expand(5 * ch, 1, filter_size, 1), groups=5 * ch)
    v = F.conv2d(v, g.reshape(1, 1, 1, -1).expand(5 * ch, 1, 1, filter_size), groups=5 * ch)
    mu1, mu2, e11, e22, e12 = torch.split(v, ch, dim=1)
    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    m11, m22, m12 = mu1 * mu1, mu2 * mu2, mu1 * mu2
    smap = (2 * m12 + c1) * (2 * (e12 - m12) + c2) / ((m11 + m22 + c1) * ((e11 - m11) + (e22 - m22) + c2))
    out = smap.mean(dim=(1, 2, 3))
    return out[0] if unbatched else out


def scale_and_translate(images, output_shape, scale, translation, spatial_dims, method, antialias=True):
    x = _float(images)
    scale, translation = _to_tensor(scale), _to_tensor(translation)
    dims, kernel = check_scale_and_translate(tuple(x.shape), output_shape, tuple(scale.shape),
                                             tuple(translation.shape), spatial_dims, method)
    # the (small) weight matrices are built on the CPU, then moved to the images' device
    scale, translation = scale.to(device="cpu", dtype=x.dtype), translation.to(device="cpu", dtype=x.dtype)
    for k, d in enumerate(dims):
        m = scale_translate_weights(torch, x.shape[d], int(output_shape[d]), scale[k], translation[k],
                                    kernel, antialias, x.dtype)
        x = torch.movedim(torch.tensordot(x, m.to(x.device), dims=([d], [0])), -1, d)
    return x


def elastic_transform(images, alpha=20.0, sigma=5.0, interpolation="bilinear", fill_mode="reflect",
                      fill_value=0.0, seed=None, data_format=None):
    x = _float(images)
    (_, _, c), ksize = check_elastic(tuple(x.shape), alpha, sigma, interpolation, fill_mode, data_format)
    x, back = _nchw(x, c)
    n, ch, h, w = x.shape
    noise = random_normal((2 * n, h, w, 1), dtype=str(x.dtype).replace("torch.", ""), seed=seed)
    field = gaussian_blur(noise.to(x.device) * sigma, (ksize, ksize), (sigma, sigma), "channels_last")
    field = field.reshape(2, n, h, w) * alpha
    ys, xs = torch.meshgrid(torch.arange(h, dtype=x.dtype, device=x.device),
                            torch.arange(w, dtype=x.dtype, device=x.device), indexing="ij")
    return back(_warp(x, ys + field[0], xs + field[1], interpolation, fill_mode, fill_value))
