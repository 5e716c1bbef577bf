"""OpenVINO adapter: graph-building op table and `compile` (models as compiled OV models)."""


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
