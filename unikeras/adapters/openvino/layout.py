"""Remove the layout round trips that channels_last layers leave in an OpenVINO graph.

OpenVINO's Convolution and pooling nodes work on channels-first data, so each channels_last
op is built as transpose -> op -> transpose back. Between two such ops a layer usually runs
element-wise work in channels_last (bias add, activation), which leaves
`Transpose(back) -> Add(bias) -> Relu -> Transpose(forth)`; the CPU plugin neither fuses
nor cancels that pair and reorders the whole tensor twice. This pass moves the element-wise
chain to the channels-first side (reshaping its per-channel constants) and drops both
transposes, where every node of the chain feeds only the next one. A chain that ends in a
Flatten (conv -> bias -> relu -> Flatten) moves the same way, so that its transpose meets
the Flatten and the Dense weights absorb it (dense_weights.py).
"""
import numpy as np
from openvino import opset16 as ovo

_UNARY = frozenset({"Relu", "Sigmoid", "Tanh", "Elu", "Clamp", "Swish", "HSwish", "HSigmoid",
                    "Gelu", "SoftPlus", "Exp", "Abs", "Negative", "Mish", "SoftSign", "Erf"})
_BINARY = frozenset({"Add", "Multiply", "Subtract", "Divide", "Maximum", "Minimum"})


def _permutation(node):
    """The order of a Transpose node with a constant order, else None."""
    if node.get_type_name() != "Transpose":
        return None
    order = node.input_value(1).get_node()
    if order.get_type_name() != "Constant":
        return None
    return [int(v) for v in order.get_data().ravel()]


def _back(rank):
    return [0] + list(range(2, rank)) + [1]


def _forth(rank):
    return [0, rank - 1] + list(range(1, rank - 1))


def _single_consumer(output):
    return len(output.get_target_inputs()) == 1


def _channel_constant(node, rank):
    """For a Constant that broadcasts over all axes of channels_last data but the channels
    one, the same values laid out for channels-first data; else None."""
    if node.get_type_name() != "Constant":
        return None
    data = node.get_data()
    if data.ndim > rank or any(d != 1 for d in data.shape[:-1]):
        return None
    if data.ndim == 0 or data.shape[-1] == 1:
        return data  # a scalar: any layout
    return np.ascontiguousarray(data.reshape((data.shape[-1],) + (1,) * (rank - 2)))


def _chain(start, rank):
    """From the input of a forth-Transpose walk back through element-wise nodes to a
    back-Transpose; returns (back transpose, [(node, constant input index or None), ...])
    listed from the back transpose onward, or None."""
    steps, output = [], start
    while True:
        if not _single_consumer(output):
            return None
        node = output.get_node()
        if _permutation(node) == _back(rank):
            return node, steps[::-1]
        kind = node.get_type_name()
        if kind in _UNARY and node.get_input_size() >= 1:
            if any(node.input_value(i).get_node().get_type_name() != "Constant"
                   for i in range(1, node.get_input_size())):
                return None
            steps.append((node, None))
            output = node.input_value(0)
        elif kind in _BINARY:
            sides = [node.input_value(i).get_node() for i in (0, 1)]
            const = [i for i in (0, 1) if _channel_constant(sides[i], rank) is not None]
            if len(const) != 1:
                return None
            steps.append((node, const[0]))
            output = node.input_value(1 - const[0])
        else:
            return None


def _to_channels_first(back, steps, rank):
    """Rewire the element-wise `steps` after the back-Transpose `back` to run on its
    channels-first input; returns the chain's new (channels-first) output."""
    source = back.input_value(0)
    for step, const_index in steps:
        data_index = 0 if const_index in (None, 1) else 1
        step.input(data_index).replace_source_output(source)
        if const_index is not None:
            values = _channel_constant(step.input_value(const_index).get_node(), rank)
            step.input(const_index).replace_source_output(ovo.constant(values).output(0))
        step.validate_and_infer_types()
        source = step.output(0)
    return source


def _flattens(node):
    """Whether `node` is a Reshape to (batch, features), as Flatten builds it."""
    return (node.get_type_name() == "Reshape"
            and node.get_output_partial_shape(0).rank.get_length() == 2)


def sink_channel_transposes(model):
    """Apply the rewrite described in the module docstring to `model` in place; a chain
    between a back-Transpose and a Flatten moves likewise, the Transpose then feeding the
    Flatten directly (where dense_weights.py folds it into the next Dense)."""
    changed = False
    for node in list(model.get_ordered_ops()):
        flatten = _flattens(node)
        data = node.input_value(0) if flatten else node.output(0)
        rank = data.get_partial_shape().rank
        if not rank.is_static or rank.get_length() < 3:
            continue
        rank = rank.get_length()
        if not flatten and _permutation(node) != _forth(rank):
            continue
        found = _chain(node.input_value(0), rank)
        if found is None or (flatten and not found[1]):
            continue
        source = _to_channels_first(*found, rank)
        if flatten:
            back = ovo.transpose(source, ovo.constant(np.asarray(_back(rank), np.int64)))
            node.input(0).replace_source_output(back.output(0))
        else:
            node.output(0).replace(source)
        changed = True
    if changed:
        model.validate_nodes_and_infer_types()
    return model
