"""OpenVINO adapter: graph-building op table and `compile` (models as compiled OV models)."""


def compile(model, input_shape=None, device="CPU"):  # noqa: A001 - mirrors ov.compile_model
    """Build `model` as an OpenVINO graph and compile it (see `compiled.compile`)."""
    from unikeras.adapters.openvino.compiled import compile as _compile
    return _compile(model, input_shape, device)


def build_ov_model(model, input_shape=None):
    """The uncompiled `ov.Model` of `model` (see `compiled.build_ov_model`)."""
    from unikeras.adapters.openvino.compiled import build_ov_model as _build
    return _build(model, input_shape)
