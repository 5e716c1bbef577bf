"""Backend implementations of the image op family (OpenVINO graph building).

Only the ops an inference graph of the layer catalog needs: resize, pad_images, crop_images,
rgb_to_grayscale. Height and width must be static (the batch dimension may be dynamic).
"""
import numpy as np
import openvino.opset16 as ovo

from unikeras.adapters.openvino.ops import _constant, _float, _graph_op, _i64, _shape, as_output, dtype_name
from unikeras.common.ops.image import (GRAY_WEIGHTS, check_resize_args, crop_amounts, image_axes,
                                       pad_amounts)

__all__ = ["rgb_to_grayscale", "resize", "pad_images", "crop_images"]


def _static_hw(op_name, shape, data_format):
    h, w, c = image_axes(op_name, shape, data_format)
    if shape[h] is None or shape[w] is None:
        raise ValueError(f"{op_name}: the OpenVINO backend needs static height and width, got {shape}.")
    return h, w, c


@_graph_op
def rgb_to_grayscale(images, data_format=None):
    x = _float(images)
    shape = _shape(x)
    c = image_axes("rgb_to_grayscale", shape, data_format)[2]
    w = _constant(np.reshape(GRAY_WEIGHTS, (3,) + (1,) * (len(shape) - 1 - c)), dtype_name(x))
    return ovo.reduce_sum(ovo.multiply(x, w), _i64([c]), keep_dims=True).output(0)


@_graph_op
def resize(images, size, interpolation="bilinear", antialias=False, crop_to_aspect_ratio=False,
           pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0, data_format=None):
    size = check_resize_args(size, interpolation, antialias, crop_to_aspect_ratio, pad_to_aspect_ratio)
    x = _float(images)
    h, w, _ = image_axes("resize", _shape(x), data_format)
    if interpolation == "nearest":
        # floor((out + 0.5) * in / out): TF/JAX half-pixel nearest sampling.
        kw = dict(mode="nearest", coordinate_transformation_mode="tf_half_pixel_for_nn",
                  nearest_mode="floor")
    else:
        kw = dict(mode="linear_onnx", coordinate_transformation_mode="half_pixel")
    return ovo.interpolate(x, _i64(list(size)), shape_calculation_mode="sizes",
                           axes=_i64([h, w]), **kw).output(0)


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
