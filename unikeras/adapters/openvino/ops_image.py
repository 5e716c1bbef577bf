"""Backend implementations of the image op family (OpenVINO graph building).

Every op of `unikeras.ops.image` except the random `elastic_transform`, built from what
reproduces the NumPy reference exactly: the reference's own separable weight matrices
(`resize_matrix` / `scale_translate_weights`) applied as a few Gathers and a weighted sum
(MatMul when the kernel is wide), a Gather of the reference's source rows for nearest,
`Interpolate` only for plain bilinear of a dynamic size; Gather for `map_coordinates` /
`affine_transform`; Convolution for the Gaussian and Sobel filters; Gauss-Jordan elimination for
`perspective_transform`'s 8 x 8 system when its points are graph values. The ops that need them
take static spatial dimensions (height and width, the sampled axes, `map_coordinates`' whole
input); the batch dimension may be dynamic. NumPy `scale_and_translate` scales and
`perspective_transform` points become weights / coefficients at build time by the reference's
own code; graph values are computed in the graph.
"""
import numpy as np
from unikeras.adapters.openvino import opset as ovo

from unikeras.adapters.openvino.ops import (_cast, _constant, _float, _graph_op, _i64, _is_graph, _shape,
                                            as_output, dtype_name, get_item)
from unikeras.common import dtypes
from unikeras.common.ops.image import (GRAY_WEIGHTS, SOBEL_X, SOBEL_Y, aspect_window, check_affine,
                                       check_map_coordinates, check_perspective, check_resize_args,
                                       check_scale_and_translate, check_ssim, crop_amounts, float_result,
                                       gaussian_args, gaussian_kernel_1d, image_axes, pad_amounts,
                                       patch_geometry, perspective_coefficients, resize_matrix,
                                       scale_translate_weights, volume_patch_geometry)

__all__ = ["rgb_to_grayscale", "rgb_to_hsv", "hsv_to_rgb", "resize", "pad_images", "crop_images",
           "extract_patches", "gaussian_blur", "map_coordinates", "affine_transform",
           "perspective_transform", "extract_patches_3d", "sobel_edges", "ssim", "scale_and_translate"]


# --- helpers ---------------------------------------------------------------------------------
def _static_hw(op_name, shape, data_format):
    h, w, c = image_axes(op_name, shape, data_format)
    if shape[h] is None or shape[w] is None:
        raise ValueError(f"{op_name}: the OpenVINO backend needs static height and width, got {shape}.")
    return h, w, c


def _k(value, x):
    """A constant of `x`'s dtype."""
    return _constant(value, dtype_name(x))


def _o(node):
    return node.output(0)


def _add(a, b):
    return _o(ovo.add(a, b))


def _sub(a, b):
    return _o(ovo.subtract(a, b))


def _mul(a, b):
    return _o(ovo.multiply(a, b))


def _div(a, b):
    return _o(ovo.divide(a, b))


def _abs(x):
    """|x| as max(x, -x): OpenVINO 2026.4's CPU plugin folds Abs of a constant subexpression to
    the subexpression itself (abs(c - 1) == c - 1 for a Constant c), e.g. for constant
    coordinates or scales."""
    return _o(ovo.maximum(x, ovo.negative(x)))


def _select(c, a, b):
    return _o(ovo.select(c, a, b))


def _transpose(x, perm):
    return _o(ovo.transpose(x, _i64(perm)))


def _along(x, axis, m):
    """Contract axis `axis` of `x` with the (n_in, n_out) matrix `m` (NumPy data or a graph
    value; the result keeps the axis in place, now of size n_out). A NumPy matrix whose columns
    have few consecutive non-zero weights (a resampling kernel's taps) is applied as that many
    Gathers and a weighted sum (cost of the output, not of in x out); others by MatMul."""
    dt = dtype_name(x)
    rank = len(_shape(x))
    if not _is_graph(m):
        n_in, n_out = m.shape
        nz = m != 0
        first = np.where(nz.any(0), nz.argmax(0), 0)
        last = np.where(nz.any(0), n_in - 1 - nz[::-1].argmax(0), 0)
        taps = int((last - first).max()) + 1 if n_out else 0
        if 0 < taps <= _MAX_TAPS:
            bshape = [1] * rank
            bshape[axis] = n_out
            out = None
            for t in range(taps):
                rows = first + t
                ok = rows < n_in
                w = np.where(ok, m[np.minimum(rows, n_in - 1), np.arange(n_out)], 0).reshape(bshape)
                term = _mul(_o(ovo.gather(x, _constant(np.minimum(rows, n_in - 1), "int32"), _i64(axis))),
                            _constant(w, dt))
                out = term if out is None else _add(out, term)
            return out
    mat = m if _is_graph(m) else _constant(m, dt)
    if axis == rank - 1:
        return _o(ovo.matmul(x, mat, False, False))
    if axis == rank - 2:
        return _o(ovo.matmul(mat, x, True, False))
    perm = [i for i in range(rank) if i != axis] + [axis]
    y = _o(ovo.matmul(_transpose(x, perm), mat, False, False))
    return _transpose(y, list(np.argsort(perm)))


_MAX_TAPS = 12  # resampling kernels up to lanczos5 (10 taps), or antialiased ones up to ~4x down


def _split3(x, c):
    node = ovo.split(x, _i64(c), 3)
    return [node.output(i) for i in range(3)]


def _need_float(op_name, x):
    if not dtypes.is_float(dtype_name(x)):
        raise ValueError(f"{op_name}: expected a float image, got dtype {dtype_name(x)}.")


def _to_nchw(x, c):
    """`x` (rank 3 or 4, channel axis `c`) as a batched channels-first tensor, and the function
    mapping an NCHW result back to the input's layout (rank and channel position)."""
    unbatched = len(_shape(x)) == 3
    if unbatched:
        x, c = _o(ovo.unsqueeze(x, _i64([0]))), c + 1
    last = c == 3
    if last:
        x = _transpose(x, [0, 3, 1, 2])

    def back(y):
        if last:
            y = _transpose(y, [0, 2, 3, 1])
        return _o(ovo.squeeze(y, _i64([0]))) if unbatched else y
    return x, back


def _to_nhwc(x, c):
    """As `_to_nchw`, to batched channels-last."""
    unbatched = len(_shape(x)) == 3
    if unbatched:
        x, c = _o(ovo.unsqueeze(x, _i64([0]))), c + 1
    first = c == 1
    if first:
        x = _transpose(x, [0, 2, 3, 1])

    def back(y):
        if first:
            y = _transpose(y, [0, 3, 1, 2])
        return _o(ovo.squeeze(y, _i64([0]))) if unbatched else y
    return x, back


def _per_channel_conv(nchw, filters, pads_begin=(0, 0), pads_end=(0, 0)):
    """Every channel of the NCHW tensor `nchw` (static H, W) correlated with each of the
    (K, kh, kw) `filters` (NumPy): shape (N * C, K, H', W')."""
    _, _, h, w = _shape(nchw)
    flat = _o(ovo.reshape(nchw, _i64([-1, 1, h, w]), False))
    f = np.asarray(filters)[:, None]
    return _o(ovo.convolution(flat, _k(f, nchw), [1, 1], list(pads_begin), list(pads_end), [1, 1]))


def _unflatten_channels(y, nchw):
    """(N * C, K, H', W') -> (N, C, K, H', W'), N and C taken from `nchw` at run time."""
    _, k, h, w = _shape(y)
    nc = _o(ovo.gather(_o(ovo.shape_of(nchw, "i64")), _i64([0, 1]), _i64(0)))
    return _o(ovo.reshape(y, _o(ovo.concat([nc, _i64([k, h, w])], 0)), False))


# --- colour ----------------------------------------------------------------------------------
@_graph_op
def rgb_to_grayscale(images, data_format=None):
    x = _float(images)
    shape = _shape(x)
    c = image_axes("rgb_to_grayscale", shape, data_format)[2]
    w = _constant(np.reshape(GRAY_WEIGHTS, (3,) + (1,) * (len(shape) - 1 - c)), dtype_name(x))
    return ovo.reduce_sum(ovo.multiply(x, w), _i64([c]), keep_dims=True).output(0)


@_graph_op
def rgb_to_hsv(images, data_format=None):
    x = as_output(images)
    _need_float("rgb_to_hsv", x)
    c = image_axes("rgb_to_hsv", _shape(x), data_format)[2]
    r, g, b = _split3(x, c)
    zero, one = _k(0, x), _k(1, x)
    v = _o(ovo.maximum(_o(ovo.maximum(r, g)), b))
    rng = _sub(v, _o(ovo.minimum(_o(ovo.minimum(r, g)), b)))
    pos = _o(ovo.greater(rng, zero))
    safe = _select(pos, rng, one)
    vpos = _o(ovo.greater(v, zero))
    s = _select(vpos, _div(rng, _select(vpos, v, one)), zero)
    hr = _div(_sub(g, b), safe)
    hg = _add(_div(_sub(b, r), safe), _k(2, x))
    hb = _add(_div(_sub(r, g), safe), _k(4, x))
    h = _div(_select(_o(ovo.equal(r, v)), hr, _select(_o(ovo.equal(g, v)), hg, hb)), _k(6, x))
    h = _select(pos, h, zero)
    h = _select(_o(ovo.less(h, zero)), _add(h, one), h)
    return _o(ovo.concat([h, s, v], c))


@_graph_op
def hsv_to_rgb(images, data_format=None):
    x = as_output(images)
    _need_float("hsv_to_rgb", x)
    c = image_axes("hsv_to_rgb", _shape(x), data_format)[2]
    h, s, v = _split3(x, c)
    one = _k(1, x)
    dh = _mul(h, _k(6, x))
    dr = _o(ovo.clamp(_sub(_abs(_sub(dh, _k(3, x))), one), 0.0, 1.0))
    dg = _o(ovo.clamp(_sub(_k(2, x), _abs(_sub(dh, _k(2, x)))), 0.0, 1.0))
    db = _o(ovo.clamp(_sub(_k(2, x), _abs(_sub(dh, _k(4, x)))), 0.0, 1.0))
    base = _sub(one, s)
    return _o(ovo.concat([_mul(v, _add(base, _mul(s, d))) for d in (dr, dg, db)], c))


# --- resizing, padding, cropping ---------------------------------------------------------------
@_graph_op
def resize(images, size, interpolation="bilinear", antialias=False, crop_to_aspect_ratio=False,
           pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0, data_format=None):
    size = check_resize_args(size, interpolation, antialias, crop_to_aspect_ratio, pad_to_aspect_ratio,
                             fill_mode)
    x = _float(images)
    shape = _shape(x)
    h, w, _ = image_axes("resize", shape, data_format)
    kind, box = aspect_window(shape[h], shape[w], size, crop_to_aspect_ratio, pad_to_aspect_ratio)
    if kind == "crop":
        top, left, ch, cw = box
        x = _o(ovo.slice(x, _i64([top, left]), _i64([top + ch, left + cw]), _i64([1, 1]), _i64([h, w])))
    elif kind == "pad":
        begin = [0] * len(shape)
        begin[h], begin[w] = box
        x = _o(ovo.pad(x, _i64(begin), _i64(begin), "constant", _k(fill_value, x)))
    shape = _shape(x)
    if interpolation == "nearest":
        # A Gather of input rows / columns floor((o + 0.5) * in / out): Interpolate's float32
        # "tf_half_pixel_for_nn" mode rounds differently where that product is an integer.
        for axis, n_out in ((h, size[0]), (w, size[1])):
            x = _o(ovo.gather(x, _nearest_rows(x, axis, n_out), _i64(axis)))
        return x
    if (shape[h] is None or shape[w] is None) and interpolation == "bilinear" and not antialias:
        # Dynamic size: Interpolate's half-pixel linear mode with edge clamping (= the triangle
        # kernel renormalized at the borders, up to float32 rounding of the positions).
        return ovo.interpolate(x, _i64(list(size)), mode="linear_onnx", shape_calculation_mode="sizes",
                               coordinate_transformation_mode="half_pixel", axes=_i64([h, w])).output(0)
    # The reference's separable weight matrices (Interpolate's cubic / antialiased modes clamp at
    # the borders instead of renormalizing the kernel).
    if shape[h] is None or shape[w] is None:
        raise ValueError(f"resize: interpolation={interpolation!r} (antialias={antialias}) needs static "
                         f"height and width on the OpenVINO backend, got shape {shape}.")
    x = _along(x, h, resize_matrix(shape[h], size[0], interpolation, antialias).T)
    return _along(x, w, resize_matrix(shape[w], size[1], interpolation, antialias).T)


def _nearest_rows(x, axis, n_out):
    """int32 indices of the input rows that "nearest" resizing reads along `axis`."""
    n_in = _shape(x)[axis]
    if n_in is not None:  # the reference's own indices
        return _constant(np.argmax(resize_matrix(n_in, n_out, "nearest", False), axis=1), "int32")
    # dynamic size: floor((2 o + 1) n_in / (2 n_out)) in exact integer arithmetic
    n_in = _o(ovo.gather(_o(ovo.shape_of(x, "i32")), _i64(axis), _i64(0)))
    src = _o(ovo.divide(_mul(_constant(2 * np.arange(n_out) + 1, "int32"), n_in), _constant(2 * n_out, "int32")))
    return _o(ovo.minimum(src, _sub(n_in, _constant(1, "int32"))))


@_graph_op
def pad_images(images, top_padding=None, left_padding=None, bottom_padding=None,
               right_padding=None, target_height=None, target_width=None, data_format=None):
    x = as_output(images)
    shape = _shape(x)
    _static_hw("pad_images", shape, data_format)
    ph, pw, (h, w) = pad_amounts(shape, top_padding, left_padding, bottom_padding, right_padding,
                                 target_height, target_width, data_format)
    begin, end = [0] * len(shape), [0] * len(shape)
    begin[h], end[h] = ph
    begin[w], end[w] = pw
    zero = _constant(0, dtype_name(x))
    return ovo.pad(x, _i64(begin), _i64(end), "constant", zero).output(0)


@_graph_op
def crop_images(images, top_cropping=None, left_cropping=None, bottom_cropping=None,
                right_cropping=None, target_height=None, target_width=None, data_format=None):
    x = as_output(images)
    shape = _shape(x)
    _static_hw("crop_images", shape, data_format)
    ch, cw, (h, w) = crop_amounts(shape, top_cropping, left_cropping, bottom_cropping,
                                  right_cropping, target_height, target_width, data_format)
    start = [ch[0], cw[0]]
    stop = [shape[h] - ch[1], shape[w] - cw[1]]
    return ovo.slice(x, _i64(start), _i64(stop), _i64([1, 1]), _i64([h, w])).output(0)


# --- patches ---------------------------------------------------------------------------------
def _patches(x, axes, c, size, strides, dilation, pads, out):
    """Zero-pad the `axes`, take one strided slice per kernel tap (row-major over the taps) and
    concatenate them along the channel axis: (tap, channel)-ordered patches."""
    if any(p != (0, 0) for p in pads):
        begin, end = [0] * len(_shape(x)), [0] * len(_shape(x))
        for ax, (lo, hi) in zip(axes, pads):
            begin[ax], end[ax] = lo, hi
        x = _o(ovo.pad(x, _i64(begin), _i64(end), "constant", _k(0, x)))
    taps = []
    for tap in np.ndindex(*size):
        start = [t * d for t, d in zip(tap, dilation)]
        stop = [s + (o - 1) * st + 1 for s, o, st in zip(start, out, strides)]
        taps.append(_o(ovo.slice(x, _i64(start), _i64(stop), _i64(list(strides)), _i64(list(axes)))))
    return taps[0] if len(taps) == 1 else _o(ovo.concat(taps, c))


@_graph_op
def extract_patches(images, size, strides=None, dilation_rate=1, padding="valid", data_format=None):
    x = as_output(images)
    shape = _shape(x)
    _static_hw("extract_patches", shape, data_format)
    (h, w, c), size, strides, dilation, pads, out = patch_geometry(shape, size, strides, dilation_rate,
                                                                   padding, data_format)
    return _patches(x, (h, w), c, size, strides, dilation, pads, out)


@_graph_op
def extract_patches_3d(volumes, size, strides=None, dilation_rate=1, padding="valid", data_format=None):
    x = as_output(volumes)
    shape = _shape(x)
    (spatial, c), size, strides, dilation, pads, out = volume_patch_geometry(shape, size, strides,
                                                                             dilation_rate, padding,
                                                                             data_format)
    if any(shape[a] is None for a in spatial):
        raise ValueError(f"extract_patches_3d: the OpenVINO backend needs static depth, height and width, "
                         f"got {shape}.")
    return _patches(x, spatial, c, size, strides, dilation, pads, out)


# --- filters ---------------------------------------------------------------------------------
@_graph_op
def gaussian_blur(images, kernel_size=(3, 3), sigma=(1.0, 1.0), data_format=None):
    (kh, kw), (sy, sx) = gaussian_args(kernel_size, sigma)
    x = _float(images)
    c = _static_hw("gaussian_blur", _shape(x), data_format)[2]
    nchw, back = _to_nchw(x, c)
    k = np.outer(gaussian_kernel_1d(kh, sy), gaussian_kernel_1d(kw, sx))
    y = _per_channel_conv(nchw, k[None], ((kh - 1) // 2, (kw - 1) // 2), (kh // 2, kw // 2))
    y = _o(ovo.reshape(y, _o(ovo.shape_of(nchw, "i64")), False))
    return back(y)


@_graph_op
def sobel_edges(images, data_format=None):
    x = _float(images)
    shape = _shape(x)
    c = _static_hw("sobel_edges", shape, data_format)[2]
    nchw, _ = _to_nchw(x, c)
    y = _unflatten_channels(_per_channel_conv(nchw, [SOBEL_Y, SOBEL_X], (1, 1), (1, 1)), nchw)
    # (N, C, 2, H, W) -> the input's layout with the [dy, dx] axis last
    y = _transpose(y, [0, 3, 4, 1, 2] if c == len(shape) - 1 else [0, 1, 3, 4, 2])
    return _o(ovo.squeeze(y, _i64([0]))) if len(shape) == 3 else y


@_graph_op
def ssim(image1, image2, max_val=1.0, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03,
         data_format=None):
    a, b = as_output(image1), as_output(image2)
    dt = float_result(dtypes.result_type(dtype_name(a), dtype_name(b)))
    a, b = _cast(a, dt), _cast(b, dt)
    s1 = _shape(a)
    h, w, c = check_ssim(s1, _shape(b), filter_size, filter_sigma, data_format)
    _static_hw("ssim", s1, data_format)
    na, _ = _to_nchw(a, c)
    nb, _ = _to_nchw(b, c)
    g = gaussian_kernel_1d(filter_size, filter_sigma)

    def blur(v):  # separable "valid" Gaussian window over rows then columns
        rows = _per_channel_conv(v, g[None, :, None])
        return _per_channel_conv(_o(ovo.reshape(rows, _i64([-1, 1] + list(_shape(rows)[2:])), False)),
                                 g[None, None, :])

    c1, c2 = _k((k1 * max_val) ** 2, na), _k((k2 * max_val) ** 2, na)
    two = _k(2, na)
    mu1, mu2 = blur(na), blur(nb)
    var1 = _sub(blur(_mul(na, na)), _mul(mu1, mu1))
    var2 = _sub(blur(_mul(nb, nb)), _mul(mu2, mu2))
    cov = _sub(blur(_mul(na, nb)), _mul(mu1, mu2))
    num = _mul(_add(_mul(_mul(two, mu1), mu2), c1), _add(_mul(two, cov), c2))
    den = _mul(_add(_add(_mul(mu1, mu1), _mul(mu2, mu2)), c1), _add(_add(var1, var2), c2))
    smap = _unflatten_channels(_div(num, den), na)  # (N, C, 1, H', W')
    out = _o(ovo.reduce_mean(smap, _i64([1, 2, 3, 4]), False))
    return _o(ovo.squeeze(out, _i64([0]))) if len(s1) == 3 else out


# --- sampling --------------------------------------------------------------------------------
def _fold(i, n, fill_mode):
    """Graph version of `fold_index`: integer-valued float indices mapped into [0, n - 1]."""
    k = lambda v: _k(v, i)  # noqa: E731
    if fill_mode == "wrap":
        return _o(ovo.floor_mod(i, k(n)))
    if fill_mode == "mirror":
        if n == 1:
            return _mul(i, k(0))
        p = 2 * (n - 1)
        j = _o(ovo.floor_mod(i, k(p)))
        return _select(_o(ovo.greater(j, k(n - 1))), _sub(k(p), j), j)
    if fill_mode == "reflect":
        j = _o(ovo.floor_mod(i, k(2 * n)))
        return _select(_o(ovo.greater(j, k(n - 1))), _sub(k(2 * n - 1), j), j)
    return _o(ovo.clamp(i, 0.0, float(n - 1)))


def _inside(i, n):
    return _o(ovo.logical_and(ovo.greater_equal(i, _k(0, i)), ovo.less_equal(i, _k(n - 1, i))))


def _sample(idx, dims, fill_mode, gather):
    """(valid mask or None, gathered values) at the integer-valued float indices `idx` (one per
    axis of sizes `dims`); `gather(flat int32 positions)` reads the data."""
    valid, lin = None, None
    for d, (i, n) in enumerate(zip(idx, dims)):
        if fill_mode == "constant":
            ok = _inside(i, n)
            valid = ok if valid is None else _o(ovo.logical_and(valid, ok))
        f = _o(ovo.convert(_fold(i, n, fill_mode), "i32"))  # (flat positions in int: exact)
        stride = int(np.prod(dims[d + 1:], dtype=np.int64))
        term = f if stride == 1 else _mul(f, _constant(stride, "int32"))
        lin = term if lin is None else _add(lin, term)
    return valid, gather(lin)


def _interpolate_at(coords, dims, order, fill_mode, fill, gather, expand=lambda v: v):
    """Order 0 / 1 interpolation at float coordinates `coords` (one per axis of `dims`), as the
    reference `map_coordinates`: weights and masks are shaped like the coordinates, `expand`
    adapts them to the gathered values."""
    def corner(idx):
        valid, v = _sample(idx, dims, fill_mode, gather)
        return v if valid is None else _select(expand(valid), v, fill)

    if order == 0:
        return corner([_o(ovo.floor(_add(ci, _k(0.5, ci)))) for ci in coords])
    lo = [_o(ovo.floor(ci)) for ci in coords]
    out = None
    for bits in np.ndindex(*(2,) * len(coords)):
        w = None
        pos = []
        for ci, li, bit in zip(coords, lo, bits):
            p = _add(li, _k(1, li)) if bit else li
            pos.append(p)
            f = _sub(_k(1, ci), _abs(_sub(ci, p)))
            w = f if w is None else _mul(w, f)
        term = _mul(expand(w), corner(pos))
        out = term if out is None else _add(out, term)
    return out


@_graph_op
def map_coordinates(inputs, coordinates, order, fill_mode="constant", fill_value=0):
    x = _float(inputs)
    dt = dtype_name(x)
    if isinstance(coordinates, (list, tuple)):
        coords = _o(ovo.concat([_o(ovo.unsqueeze(_cast(as_output(ci), dt), _i64([0])))
                                for ci in coordinates], 0))
    else:
        coords = _cast(as_output(coordinates), dt)
    shape, cshape = _shape(x), _shape(coords)
    check_map_coordinates(shape, cshape, order, fill_mode)
    if None in shape:
        raise ValueError(f"map_coordinates: the OpenVINO backend needs an input of static shape, got {shape}.")
    fill = _k(fill_value, x)
    if not int(np.prod(shape)):
        return _o(ovo.broadcast(fill, _o(ovo.slice(_o(ovo.shape_of(coords, "i64")), _i64([1]),
                                                   _i64([len(cshape)]), _i64([1])))))
    flat = _o(ovo.reshape(x, _i64([-1]), False))
    parts = [_o(ovo.squeeze(p, _i64([0]))) for p in ovo.split(coords, _i64(0), len(shape)).outputs()]
    return _interpolate_at(parts, shape, order, fill_mode, fill,
                           lambda lin: _o(ovo.gather(flat, lin, _i64(0))))


def _projective(x, t, interpolation, fill_mode, fill_value):
    """`affine_transform` of the batched channels-last `x` (static H, W) by transforms `t`
    ((n, 8) graph value, n = 1 or the batch)."""
    _, h, w, _ = _shape(x)
    dt = dtype_name(x)
    ys, xs = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing="ij")
    ys, xs = _constant(ys.reshape(1, -1), dt), _constant(xs.reshape(1, -1), dt)
    a0, a1, a2, b0, b1, b2, c0, c1 = ovo.split(t, _i64(1), 8).outputs()  # each (n, 1)
    k = _add(_add(_mul(c0, xs), _mul(c1, ys)), _k(1, x))
    in_x = _div(_add(_add(_mul(a0, xs), _mul(a1, ys)), a2), k)
    in_y = _div(_add(_add(_mul(b0, xs), _mul(b1, ys)), b2), k)  # (n, h * w)
    # (Gather with batch_dims=1 crashes the CPU plugin for a batch of 1: gather rows of the
    # (N * h * w, C) image at positions offset by b * h * w instead.)
    dims = _o(ovo.shape_of(x, "i32"))
    n = _o(ovo.gather(dims, _i64([0]), _i64(0)))
    img = _o(ovo.reshape(x, _o(ovo.concat([_constant([-1], "int32"), _o(ovo.gather(dims, _i64([3]), _i64(0)))],
                                          0)), False))  # (N * h * w, C)
    rows = _o(ovo.concat([n, _constant([h * w], "int32")], 0))
    offset = _mul(_o(ovo.range(_constant(0, "int32"), _o(ovo.squeeze(n, _i64([0]))), _constant(1, "int32"),
                               "i32")), _constant(h * w, "int32"))
    offset = _o(ovo.unsqueeze(offset, _i64([1])))

    def gather(lin):  # lin (n, h * w) -> (N, h * w, C)
        return _o(ovo.gather(img, _add(_o(ovo.broadcast(lin, rows)), offset), _i64(0)))

    expand = lambda v: _o(ovo.unsqueeze(v, _i64([2])))  # noqa: E731
    out = _interpolate_at([in_y, in_x], (h, w), 0 if interpolation == "nearest" else 1, fill_mode,
                          _k(fill_value, x), gather, expand)
    return _o(ovo.reshape(out, _i64([0, h, w, -1]), True))


@_graph_op
def affine_transform(images, transform, interpolation="bilinear", fill_mode="constant", fill_value=0,
                     data_format=None):
    x = _float(images)
    t = _cast(as_output(transform), dtype_name(x))
    shape = _shape(x)
    c = check_affine(shape, _shape(t), interpolation, fill_mode, data_format)[2]
    _static_hw("affine_transform", shape, data_format)
    nhwc, back = _to_nhwc(x, c)
    t = _o(ovo.reshape(t, _i64([-1, 8]), False))
    return back(_projective(nhwc, t, interpolation, fill_mode, fill_value))


class _Graph:
    """A graph value with NumPy's operators, for running the reference's array formulas
    (`scale_translate_weights`, written against a numpy-like module) as graph building. Python
    scalars become constants of the value's dtype (weak, as in NumPy)."""
    __slots__ = ("o",)

    def __init__(self, o):
        self.o = o

    def _b(self, other):
        return other.o if isinstance(other, _Graph) else _k(other, self.o)

    def _op(fn, swap=False):  # noqa: N805
        def apply(self, other):
            a, b = self.o, self._b(other)
            return _Graph(_o(fn(b, a) if swap else fn(a, b)))
        return apply

    __add__ = __radd__ = _op(ovo.add)
    __sub__, __rsub__ = _op(ovo.subtract), _op(ovo.subtract, True)
    __mul__ = __rmul__ = _op(ovo.multiply)
    __truediv__, __rtruediv__ = _op(ovo.divide), _op(ovo.divide, True)
    __lt__, __le__, __gt__, __ge__ = _op(ovo.less), _op(ovo.less_equal), _op(ovo.greater), _op(ovo.greater_equal)

    def __and__(self, other):
        return _Graph(_o(ovo.logical_and(self.o, other.o)))

    def __neg__(self):
        return _Graph(_o(ovo.negative(self.o)))

    def __getitem__(self, key):
        return _Graph(get_item(self.o, key))


class _GraphNumpy:
    """The few numpy functions `scale_translate_weights` uses, on `_Graph` values."""

    @staticmethod
    def where(c, a, b):
        return _Graph(_select(c.o, a.o, b.o))

    @staticmethod
    def arange(n, dtype):
        return _Graph(_constant(np.arange(n), dtype))

    @staticmethod
    def abs(x):
        return _Graph(_abs(x.o))

    @staticmethod
    def sin(x):
        return _Graph(_o(ovo.sin(x.o)))

    @staticmethod
    def sum(x, axis, keepdims):
        return _Graph(_o(ovo.reduce_sum(x.o, _i64([axis]), keepdims)))


def _stack(values, axis):
    return _Graph(_o(ovo.concat([_o(ovo.unsqueeze(v.o, _i64([axis]))) for v in values], axis)))


def _solve(a, b):
    """x with a x = b for a (..., n, n), b (..., n, 1) (`_Graph`s): Gauss-Jordan elimination with
    partial pivoting (the first largest pivot, as LAPACK), row swaps done exactly by selects."""
    a, b = a.o, b.o
    n = _shape(a)[-1]
    out_shape = _o(ovo.shape_of(b, "i64"))
    m = _o(ovo.concat([_o(ovo.reshape(a, _i64([-1, n, n]), False)), _o(ovo.reshape(b, _i64([-1, n, 1]), False))],
                      2))  # (B, n, n + 1)
    rows = _constant(np.arange(n).reshape(1, n, 1), "int32")
    for k in range(n):
        col = _o(ovo.slice(m, _i64([k, k]), _i64([n, k + 1]), _i64([1, 1]), _i64([1, 2])))  # (B, n - k, 1)
        p = ovo.topk(_abs(col), np.int64(1), 1, "max", "value", "i32", stable=True).output(1)
        p = _add(p, _constant(k, "int32"))  # (B, 1, 1)
        is_k = _o(ovo.equal(rows, _constant(k, "int32")))
        is_p = _o(ovo.equal(rows, p))  # (B, n, 1)
        row_k = _o(ovo.slice(m, _i64([k]), _i64([k + 1]), _i64([1]), _i64([1])))
        row_p = _o(ovo.reduce_sum(_select(is_p, m, _k(0, m)), _i64([1]), True))
        m = _select(is_k, row_p, _select(is_p, row_k, m))
        pivot = _o(ovo.slice(m, _i64([k, k]), _i64([k + 1, k + 1]), _i64([1, 1]), _i64([1, 2])))  # (B, 1, 1)
        factor = _div(_o(ovo.slice(m, _i64([k]), _i64([k + 1]), _i64([1]), _i64([2]))), pivot)  # (B, n, 1)
        factor = _mul(factor, _k((np.arange(n) != k).reshape(n, 1), m))
        m = _sub(m, _mul(factor, _o(ovo.slice(m, _i64([k]), _i64([k + 1]), _i64([1]), _i64([1])))))
    diag = _o(ovo.reduce_sum(_mul(_o(ovo.slice(m, _i64([0]), _i64([n]), _i64([1]), _i64([2]))), _k(np.eye(n), m)),
                             _i64([2]), True))
    x = _div(_o(ovo.slice(m, _i64([n]), _i64([n + 1]), _i64([1]), _i64([2]))), diag)
    return _Graph(_o(ovo.reshape(x, out_shape, False)))


@_graph_op
def perspective_transform(images, start_points, end_points, interpolation="bilinear", fill_value=0,
                          data_format=None):
    x = _float(images)
    dt = dtype_name(x)
    shape = _shape(x)
    if _is_graph(start_points) or _is_graph(end_points):  # the 8 x 8 system solved in the graph
        sp, ep = _cast(as_output(start_points), dt), _cast(as_output(end_points), dt)
        check_perspective(shape, _shape(sp), _shape(ep), interpolation, data_format)
        t = perspective_coefficients(_Graph(sp), _Graph(ep), _stack, _solve).o
    else:  # solved now, by the reference's own code
        sp, ep = np.asarray(start_points), np.asarray(end_points)
        check_perspective(shape, sp.shape, ep.shape, interpolation, data_format)
        t = perspective_coefficients(sp.astype(dt), ep.astype(dt), np.stack, np.linalg.solve)
    _static_hw("perspective_transform", shape, data_format)
    t = _o(ovo.reshape(as_output(t) if _is_graph(t) else _constant(t, dt), _i64([-1, 8]), False))
    return affine_transform(x, t, interpolation, "constant", fill_value, data_format)


@_graph_op
def scale_and_translate(images, output_shape, scale, translation, spatial_dims, method, antialias=True):
    x = _float(images)
    dt = dtype_name(x)
    shape = _shape(x)
    graph = _is_graph(scale) or _is_graph(translation)
    if graph:  # weights computed in the graph
        scale, translation = _cast(as_output(scale), dt), _cast(as_output(translation), dt)
        sshape, tshape = _shape(scale), _shape(translation)
    else:  # weights computed now, by the reference's own code
        scale, translation = np.asarray(scale), np.asarray(translation)
        sshape, tshape = scale.shape, translation.shape
    dims, kernel = check_scale_and_translate(shape, output_shape, sshape, tshape, spatial_dims, method)
    if any(shape[d] is None for d in dims):
        raise ValueError(f"scale_and_translate: the OpenVINO backend needs static sizes of the spatial "
                         f"dims {dims}, got shape {shape}.")
    for k, d in enumerate(dims):
        if graph:
            sk, tk = [_Graph(_o(ovo.gather(v, _i64(k), _i64(0)))) for v in (scale, translation)]
            m = scale_translate_weights(_GraphNumpy, shape[d], int(output_shape[d]), sk, tk, kernel,
                                        antialias, dt).o
            x = _along(x, d, m)
        else:
            np_dt = np.dtype(dt)
            m = scale_translate_weights(np, shape[d], int(output_shape[d]), scale[k].astype(np_dt),
                                        translation[k].astype(np_dt), kernel, antialias, np_dt)
            x = _along(x, d, np.asarray(m, np_dt))
    return x
