"""OpenVINO adapter: graph-building op table, `to_openvino` (models as native `ov.Model`s)
and `compile` (models as compiled OV models)."""


def compile(model, input_shape=None, device="CPU", precision="f32", config=None):  # noqa: A001
    """Build `model` as an OpenVINO graph and compile it: float32 on every CPU unless
    `precision` ("bf16", "f16", None = plugin default) says otherwise; `config` passes any
    OpenVINO property (see `compiled.compile`)."""
    from unikeras.adapters.openvino.compiled import compile as _compile
    return _compile(model, input_shape, device, precision, config)


def build_ov_model(model, input_shape=None):
    """The uncompiled `ov.Model` of `model` (see `compiled.build_ov_model`)."""
    from unikeras.adapters.openvino.compiled import build_ov_model as _build
    return _build(model, input_shape)


def to_openvino(model, input_shape=None):
    """`model` as a native, uncompiled `ov.Model` (inputs named after the model's `Input`s,
    outputs `output_0`, ...; every None dim dynamic), for `ov.Core().compile_model` or
    `ov.save_model` (which stores weights as fp16 unless `compress_to_fp16=False`). Same as
    `build_ov_model`."""
    return build_ov_model(model, input_shape)
