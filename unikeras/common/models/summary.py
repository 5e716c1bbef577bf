"""Text table for `Model.summary()`."""
from unikeras.common.layers.input_layer import InputLayer


def _output_shape(model, layer):
    nodes = getattr(model, "_nodes", None)
    if nodes is None and getattr(model, "_functional", None) is not None:
        nodes = model._functional._nodes
    for node in nodes or []:
        if node.operation is layer:
            shapes = [t.shape for t in node.outputs]
            return str(shapes[0] if len(shapes) == 1 else shapes)
    return "?"


def _params(layer):
    return sum(int(_prod(v.shape)) for v in layer.weights)


def _prod(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def format_summary(model, width=80):
    cols = (int(width * 0.45), int(width * 0.33))
    rows = [("Layer (type)", "Output Shape", "Param #")]
    for layer in model.layers:
        if isinstance(layer, InputLayer) and getattr(model, "_functional", None) is not None:
            continue
        rows.append((f"{layer.name} ({type(layer).__name__})", _output_shape(model, layer),
                     f"{_params(layer):,}" if layer.built else "0 (unbuilt)"))
    rule = "─" * width
    lines = [f'Model: "{model.name}"', rule]
    for i, (a, b, c) in enumerate(rows):
        lines.append(f"{a:<{cols[0]}}{b:<{cols[1]}}{c:>{width - cols[0] - cols[1]}}")
        lines.append("═" * width if i == 0 else rule)
    trainable = sum(_prod(v.shape) for v in model.trainable_weights)
    non_trainable = sum(_prod(v.shape) for v in model.non_trainable_weights)
    lines += [f" Total params: {trainable + non_trainable:,}",
              f" Trainable params: {trainable:,}",
              f" Non-trainable params: {non_trainable:,}"]
    return "\n".join(lines)
