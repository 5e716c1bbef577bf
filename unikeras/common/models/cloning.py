"""`clone_model`: the same architecture with fresh weights, optionally with layers swapped.

A functional model is cloned by replaying its graph: each layer is cloned once (a layer
shared by several calls stays shared in the clone), and each recorded call is made again on
the new tensors, through `call_function` when one is given. Input layers are recreated, or
replaced by `input_tensors`. A Sequential model keeps being Sequential; a subclassed model
is rebuilt from its config.
"""
from unikeras.common import tree
from unikeras.common.layers.input_layer import Input, InputLayer
from unikeras.common.layers.layer import Layer
from unikeras.common.symbolic import KerasTensor


def _default_clone(layer):
    return type(layer).from_config(layer.get_config())


def _input_like(tensor, name):
    return Input(batch_shape=tensor.shape, dtype=tensor.dtype, sparse=tensor.sparse, name=name)


def clone_model(model, input_tensors=None, clone_function=None, call_function=None,
                recursive=False, **kwargs):
    """A new model with `model`'s architecture and newly initialized weights.

    `clone_function(layer)` makes each layer's replacement (default: the layer rebuilt from
    its config); `call_function(layer, *args, **kwargs)` makes each call of the graph
    (default: calling the layer). `recursive=True` clones nested functional and Sequential
    models layer by layer instead of handing them to `clone_function` whole.
    `input_tensors` (KerasTensors from `Input`) become the clone's inputs."""
    from unikeras.common.models.functional import Functional
    from unikeras.common.models.model import Model
    from unikeras.common.models.sequential import Sequential
    if kwargs:
        raise TypeError(f"clone_model: unexpected arguments {sorted(kwargs)}.")
    if not isinstance(model, Model):
        raise TypeError(f"clone_model: expected a unikeras Model, got {type(model).__name__}.")
    for name, fn in (("clone_function", clone_function), ("call_function", call_function)):
        if fn is not None and not callable(fn):
            raise TypeError(f"clone_model: {name} must be callable, got {fn!r}.")
    if isinstance(model, Sequential):
        return _clone_sequential(model, input_tensors, clone_function, call_function, recursive)
    if isinstance(model, Functional):
        return _clone_functional(model, input_tensors, clone_function, call_function, recursive)
    if input_tensors is not None or clone_function is not None or call_function is not None:
        raise ValueError(f"clone_model: model '{model.name}' is subclassed ({type(model).__name__})"
                         ": it has no graph to rebuild, so input_tensors, clone_function and "
                         "call_function cannot apply; it can only be cloned from its config.")
    return _default_clone(model)


def _layer_cloner(clone_function, call_function, recursive):
    """`clone(layer)`, memoized so that a layer used several times is cloned once."""
    from unikeras.common.models.functional import Functional
    from unikeras.common.models.sequential import Sequential
    clones = {}

    def clone(layer):
        if id(layer) not in clones:
            if recursive and isinstance(layer, (Functional, Sequential)):
                new = clone_model(layer, clone_function=clone_function,
                                  call_function=call_function, recursive=True)
            else:
                new = (clone_function or _default_clone)(layer)
            if not isinstance(new, Layer):
                raise TypeError(f"clone_model: clone_function must return a Layer, got "
                                f"{type(new).__name__} for layer '{layer.name}'.")
            clones[id(layer)] = new
        return clones[id(layer)]
    return clone


def _new_inputs(model, input_tensors):
    """The clone's input tensors: `input_tensors` (checked) or fresh copies of the model's."""
    if input_tensors is None:
        return [_input_like(t, t.name) for t in model.inputs]
    given = tree.flatten(input_tensors)
    if len(given) != len(model.inputs) or not all(isinstance(t, KerasTensor) for t in given):
        raise ValueError(f"clone_model: model '{model.name}' has {len(model.inputs)} input(s); "
                         f"input_tensors must be as many KerasTensors (from unikeras.Input), "
                         f"got {input_tensors!r}.")
    return given


def _clone_functional(model, input_tensors, clone_function, call_function, recursive):
    from unikeras.common.models.functional import Functional
    clone = _layer_cloner(clone_function, call_function, recursive)
    new_inputs = _new_inputs(model, input_tensors)
    values = {id(old): new for old, new in zip(model.inputs, new_inputs)}

    def resolve(t):
        return values[id(t)] if isinstance(t, KerasTensor) else t
    for node in model._nodes:
        op = node.operation
        if isinstance(op, InputLayer):
            continue
        args = tree.map_structure(resolve, node.args)
        kwargs = tree.map_structure(resolve, node.kwargs)
        if isinstance(op, Layer):
            layer = clone(op)
            out = call_function(layer, *args, **kwargs) if call_function else layer(*args, **kwargs)
        else:   # an op applied to symbolic tensors: replayed as it is
            out = op(*args, **kwargs)
        flat = [t for t in tree.flatten(out) if isinstance(t, KerasTensor)]
        if len(flat) != len(node.outputs):
            raise ValueError(f"clone_model: the clone of '{getattr(op, 'name', op)}' returned "
                             f"{len(flat)} tensors where the model's call returned "
                             f"{len(node.outputs)}.")
        values.update({id(old): new for old, new in zip(node.outputs, flat)})
    inputs = tree.pack_sequence_as(model._inputs_struct, new_inputs)
    outputs = tree.map_structure(resolve, model._outputs_struct)
    return Functional(inputs, outputs, name=model.name, trainable=model.trainable)


def _clone_sequential(model, input_tensors, clone_function, call_function, recursive):
    from unikeras.common.models.sequential import Sequential
    if call_function is not None:
        raise ValueError(f"clone_model: call_function does not apply to Sequential model "
                         f"'{model.name}': its layers are listed, not called, when it is built. "
                         "Use it with functional models.")
    clone = _layer_cloner(clone_function, call_function, recursive)
    new_layers = [clone(layer) for layer in model.layers]
    if input_tensors is not None:
        first = tree.flatten(input_tensors)
        if len(first) != 1 or not isinstance(first[0], KerasTensor):
            raise ValueError(f"clone_model: Sequential model '{model.name}' takes one input; "
                             f"input_tensors must be one KerasTensor, got {input_tensors!r}.")
    elif model._input_layer is not None:
        old = model._input_layer
        first = [InputLayer(batch_shape=old.batch_shape, dtype=old.output.dtype,
                            sparse=old.sparse, name=old.name)]
    else:
        first = []
    return Sequential(first + new_layers, trainable=model.trainable, name=model.name)
