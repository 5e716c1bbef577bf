"""Runtime services of the OpenVINO backend (see `unikeras.adapters.numpy_ref.runtime`).

OpenVINO graphs are for inference: a variable's value is a Constant node of the graph
(weights are folded in), graphs are immutable once built, and there are no gradients or
training steps.
"""
import contextlib

from unikeras.adapters.openvino import ops as _ops

NAME = "openvino"

_INFERENCE_ONLY = ("OpenVINO is inference-only: it builds and runs inference graphs and has no "
                   "{what}. Train with torch, jax or tensorflow, then move the weights "
                   "(get_weights/set_weights or safetensors) and build the OpenVINO model.")


def make_variable(value, dtype, trainable, name):
    """A Constant node Output holding `value` as `dtype` (weights are graph constants)."""
    dtype = _ops._std(dtype)
    if _ops._is_graph(value):
        return _ops._cast(_ops.as_output(value), dtype)
    out = _ops.convert_to_tensor(_ops.convert_to_numpy(value), dtype)
    if name:
        out.get_node().set_friendly_name(str(name))
    return out


def assign(storage, value):
    raise TypeError("assign: OpenVINO graphs are immutable; a variable's value is a Constant "
                    "node. Set new weights on the unikeras model (set_weights) and rebuild the "
                    "OpenVINO model.")


def value_and_grad(fn):
    raise NotImplementedError(_INFERENCE_ONLY.format(what="gradients"))


def compile_step(fn, variables):
    raise NotImplementedError(_INFERENCE_ONLY.format(what="training or update steps"))


no_grad = contextlib.nullcontext
