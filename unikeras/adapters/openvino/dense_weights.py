"""Lay out the constant weights of MatMul nodes as the CPU plugin's FullyConnected takes them.

Two rewrites of an `ov.Model`, both exact (they only move weight entries):
- `x @ W` with a constant 2-D `W` (in, out), as Dense builds it, becomes `x @ W'.T` with
  the constant stored as (out, in), the layout FullyConnected uses, so that the plugin
  adds no transpose of the weights.
- `Transpose(x) -> Reshape(batch, -1) -> MatMul(W)` (Flatten of channels-first data back in
  channels_last order, then Dense) becomes `Reshape(x) -> MatMul(W permuted)`: the flatten
  order is folded into the rows of W, so the data is never reordered.
"""
import numpy as np
import openvino as ov
from openvino import opset16 as ovo

_NUMPY_READABLE = (ov.Type.f32, ov.Type.f16, ov.Type.f64)   # get_data() shows bf16 as f16 bits


def _constant_matrix(output):
    node = output.get_node()
    if (node.get_type_name() != "Constant" or len(node.get_output_shape(0)) != 2
            or node.get_element_type() not in _NUMPY_READABLE):
        return None
    return node.get_data()


def _flags(matmul):
    attrs = matmul.get_attributes()
    return bool(attrs["transpose_a"]), bool(attrs["transpose_b"])


def _weights_in_by_out(matmul):
    """The (in, out) weights of a MatMul `x @ constant`, else None."""
    if matmul.get_type_name() != "MatMul":
        return None
    weights = _constant_matrix(matmul.input_value(1))
    transpose_a, transpose_b = _flags(matmul)
    if weights is None or transpose_a:
        return None
    return weights.T if transpose_b else weights


def _single_consumer(output):
    return len(output.get_target_inputs()) == 1


def _unflattened(reshape):
    """For `Reshape(Transpose(x, order), (batch, n))` with a constant order that keeps the
    batch axis first: (x, order), else None."""
    if reshape.get_type_name() != "Reshape" or not _single_consumer(reshape.output(0)):
        return None
    shape = reshape.get_output_partial_shape(0)
    if shape.rank.get_length() != 2 or not shape[1].is_static:
        return None
    transpose = reshape.input_value(0).get_node()
    if transpose.get_type_name() != "Transpose" or not _single_consumer(transpose.output(0)):
        return None
    order = transpose.input_value(1).get_node()
    if order.get_type_name() != "Constant":
        return None
    order = [int(v) for v in order.get_data().ravel()]
    source = transpose.input_value(0)
    dims = list(source.get_partial_shape())[1:]
    if (order[0] != 0 or not all(d.is_static for d in dims)
            or shape[1].get_length() != int(np.prod([d.get_length() for d in dims]))):
        return None   # not a flatten that keeps the batch axis
    return source, order


def _fold_flatten_order(matmul, weights):
    """Rewrite `Transpose -> Reshape -> matmul` as `Reshape -> matmul`; returns `weights`
    (in, out) with their rows permuted to match, or None where the pattern is absent."""
    found = _unflattened(matmul.input_value(0).get_node())
    if found is None:
        return None
    source, order = found
    source_dims = [d.get_length() for d in list(source.get_partial_shape())[1:]]
    flat_dims = [source_dims[a - 1] for a in order[1:]]
    inverse = np.argsort([a - 1 for a in order[1:]])
    rows = weights.reshape(flat_dims + [weights.shape[1]])
    weights = rows.transpose(list(inverse) + [len(flat_dims)]).reshape(weights.shape)
    pattern = ovo.constant(np.asarray([0, weights.shape[0]], np.int64))
    flat = ovo.reshape(source, pattern, special_zero=True)
    matmul.input(0).replace_source_output(flat.output(0))
    return weights


def lay_out_dense_weights(model):
    """Apply the rewrites described in the module docstring to `model` in place."""
    changed, transposed_of = False, {}   # one (out, in) copy of weights shared by MatMuls
    for node in list(model.get_ordered_ops()):
        weights = _weights_in_by_out(node)
        if weights is None:
            continue
        folded = _fold_flatten_order(node, weights)
        if folded is not None:
            transposed = ovo.constant(np.ascontiguousarray(folded.T))
        elif _flags(node)[1]:
            continue
        else:
            key = node.input_value(1).get_node().get_instance_id()
            if key not in transposed_of:
                transposed_of[key] = ovo.constant(np.ascontiguousarray(weights.T))
            transposed = transposed_of[key]
        replacement = ovo.matmul(node.input_value(0), transposed, False, True)
        replacement.set_friendly_name(node.get_friendly_name())
        node.output(0).replace(replacement.output(0))
        changed = True
    if changed:
        model.validate_nodes_and_infer_types()
    return model
