"""`compile`: a unikeras model as an OpenVINO model built directly with `openvino.opset16`.

The layer's `call` runs once with graph nodes as tensors (parameters for the inputs,
constants for the weights), which yields an `ov.Model`; `ov.compile_model` then gives a
CompiledModel. The batch dimension (and any other None dim) stays dynamic.

A layer whose call needs an op without an OpenVINO builder (or one that runs another
framework's module) fails the build with a `NotImplementedError` naming the layer and the op.
"""
import os

import numpy as np
import openvino as ov
from openvino import opset16 as ops_ov

from unikeras.adapters import hosting
from unikeras.adapters.openvino.dense_weights import lay_out_dense_weights
from unikeras.adapters.openvino.layout import sink_channel_transposes
from unikeras.common import dtypes, tree
from unikeras.common.layers.layer import Layer
from unikeras.common.ops import dispatch
from unikeras.common.ops.numpy import add as _any_op

BACKEND = "openvino"


def _input_specs(model, input_shape):
    inputs = getattr(model, "inputs", None)
    if inputs:
        return [(t.name or f"input_{i}", t.shape, t.dtype) for i, t in enumerate(inputs)]
    if input_shape is None:
        raise ValueError(f"openvino.compile: model '{model.name}' has no Input; pass "
                         "input_shape (batch dim included, e.g. (None, 784)).")
    return [("input_0", tuple(input_shape), "float32")]


def build_ov_model(model, input_shape=None):
    """The `ov.Model` computing `model(inputs, training=False)`."""
    table = dispatch.get_table(BACKEND)
    hosting.ensure_built(model, dispatch.current_backend(), input_shape)
    _refuse_foreign_layers(model)
    specs = _input_specs(model, input_shape)
    params = [ops_ov.parameter([-1 if d is None else d for d in shape], table.ov_element_type(dtype), name=name)
              for name, shape, dtype in specs]
    hosted = hosting.hosted_variables(model)
    values = [table.convert_to_tensor(np.asarray(h.variable.numpy()), dtype=h.variable.dtype)
              for h in hosted]
    inputs = [p.output(0) for p in params]
    kwargs = {"training": False} if model._call_has_training else {}
    arg = inputs[0] if len(inputs) == 1 else inputs
    try:
        outputs, _ = hosting.run_hosted(model, hosted, values, BACKEND, (arg,), kwargs)
    except NotImplementedError as e:
        raise NotImplementedError(_no_openvino_form(e, model)) from None
    results = []
    for i, out in enumerate(tree.flatten(outputs)):
        result = ops_ov.result(out)
        result.get_output_tensor(0).set_names({f"output_{i}"})
        results.append(result)
    return lay_out_dense_weights(sink_channel_transposes(ov.Model(results, params, model.name)))


# Layers that run another framework's module: nothing of theirs can become OpenVINO ops.
FOREIGN_LAYERS = {"TorchModuleWrapper": "a torch.nn.Module", "FlaxLayer": "a Flax module",
                  "JaxLayer": "a JAX function", "TFSMLayer": "a TensorFlow SavedModel"}


def _refuse_foreign_layers(model):
    for layer in [model] + model._flat_layers():
        runs = FOREIGN_LAYERS.get(type(layer).__name__)
        if runs is not None:
            raise NotImplementedError(
                f"openvino: layer '{layer.name}' ({type(layer).__name__}): op 'call' has no "
                f"OpenVINO form: it runs {runs}. Rebuild the model from unikeras layers "
                f"(moving the weights) to serve it with OpenVINO.")


_OP_CALL = _any_op.__code__  # every public op is this one dispatching function


def _no_openvino_form(error, model):
    """The message for `error` raised while building `model`: the innermost layer being
    called and the innermost op being dispatched, found on the traceback."""
    layer, op_name = model, None
    tb = error.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_code is _OP_CALL:
            op_name = frame.f_locals.get("impl_name", op_name)
        elif frame.f_code.co_name == "__call__" and isinstance(frame.f_locals.get("self"), Layer):
            layer = frame.f_locals["self"]
        tb = tb.tb_next
    what = f"op '{op_name}'" if op_name else "its call"
    return (f"openvino: layer '{layer.name}' ({type(layer).__name__}): {what} has no OpenVINO "
            f"form ({str(error).rstrip('.')}). Serve this model with torch, jax or tensorflow, "
            "or replace the layer by one whose ops OpenVINO supports.")


PRECISIONS = {"f32": "f32", "float32": "f32", "bf16": "bf16", "bfloat16": "bf16",
              "f16": "f16", "float16": "f16"}


def compile_config(precision="f32", config=None):
    """The properties passed to `ov.compile_model`: `INFERENCE_PRECISION_HINT` from
    `precision` (None leaves the plugin's default, which is bf16 on CPUs with bf16 support),
    then `config` (any OpenVINO property; its entries win)."""
    properties = {}
    if precision is not None:
        key = PRECISIONS.get(str(precision).lower())
        if key is None:
            raise ValueError(f"openvino.compile: precision must be one of 'f32', 'bf16', 'f16' "
                             f"or None (the plugin's default), got {precision!r}.")
        properties["INFERENCE_PRECISION_HINT"] = key
    if config is not None:
        if not isinstance(config, dict):
            raise TypeError(f"openvino.compile: config must be a dict of OpenVINO properties, "
                            f"got {type(config).__name__}.")
        properties.update(config)
    return properties


class CompiledModel:
    """A compiled OpenVINO model called on NumPy arrays, returning NumPy arrays.

    A call hands each input to its infer request as a tensor sharing the array's memory and
    copies each output once: `InferRequest.infer(list)` would copy the inputs and wrap the
    outputs in an OVDict, which costs more than a small model's whole inference."""

    def __init__(self, ov_model, device="CPU", n_outputs=1, precision="f32", config=None):
        self.ov_model = ov_model
        self.compiled = ov.Core().compile_model(ov_model, device, compile_config(precision, config))
        self._request = self.compiled.create_infer_request()
        self._n_outputs = n_outputs
        self._input_dtypes = [_np_dtype(p) for p in ov_model.get_parameters()]

    @property
    def inference_precision(self):
        """The precision the device computes in ('f32', 'bf16', 'f16'), as the plugin reports."""
        return self.compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()

    def __call__(self, *inputs):
        if len(inputs) != len(self._input_dtypes):
            raise ValueError(f"CompiledModel '{self.ov_model.get_friendly_name()}' expects "
                             f"{len(self._input_dtypes)} inputs, got {len(inputs)}.")
        request = self._request
        for i, (x, dtype) in enumerate(zip(inputs, self._input_dtypes)):
            array = np.asarray(x, dtype=dtype, order="C")
            request.set_input_tensor(i, ov.Tensor(array, shared_memory=True))
        request.infer()
        outs = [request.get_output_tensor(i).data.copy() for i in range(self._n_outputs)]
        return outs[0] if self._n_outputs == 1 else outs

    def save(self, path, compress_to_fp16=False):
        """Write OpenVINO IR (`.xml` + `.bin`, atomically); weights stay float32 unless asked."""
        save_ir(self.ov_model, path, compress_to_fp16=compress_to_fp16)


def save_ir(ov_model, path, compress_to_fp16=False):
    """`ov.save_model` made crash-safe: the IR is written in a staging folder beside `path`,
    then the `.bin` and last the `.xml` are renamed into place, so a reader finds the old
    pair or the new one, never a truncated file."""
    from unikeras.common.saving.atomic import staging_directory
    path = os.fspath(path)
    if not path.endswith(".xml"):
        raise ValueError(f"OpenVINO IR: the file name must end in '.xml', got {path!r}.")
    with staging_directory(path) as staging:
        staged = os.path.join(staging, "model.xml")
        ov.save_model(ov_model, staged, compress_to_fp16=compress_to_fp16)
        os.replace(staged[:-4] + ".bin", path[:-4] + ".bin")
        os.replace(staged, path)   # last: the .xml names a complete .bin


def _np_dtype(parameter):
    return dtypes.standardize_dtype(parameter.get_element_type().to_dtype())


def compile(model, input_shape=None, device="CPU", precision="f32", config=None):  # noqa: A001
    """Build and compile `model` for inference with OpenVINO on `device`.

    It computes in float32 on every CPU by default. `precision="bf16"` or `"f16"` opts into
    faster lower-precision inference where the device supports it (about 3 significant
    digits: see the README), `None` keeps the plugin's own default, and `config` passes
    any OpenVINO property as `ov.compile_model` takes it (e.g.
    `{"INFERENCE_NUM_THREADS": 4, "PERFORMANCE_HINT": "LATENCY"}`)."""
    ov_model = build_ov_model(model, input_shape)
    return CompiledModel(ov_model, device, n_outputs=len(ov_model.outputs),
                         precision=precision, config=config)
