"""Functional models: a graph of layer and op calls between Input tensors and outputs.

Replaying the graph also carries masks: each layer's output mask (its `compute_mask`) is
passed as `mask=` to the layers that consume that output (see layers/layer.py)."""
from unikeras.common import tree
from unikeras.common.layers.input_layer import InputLayer
from unikeras.common.layers.layer import Layer
from unikeras.common.ops import core
from unikeras.common.models.model import Model
from unikeras.common.symbolic import KerasTensor


def _topological_nodes(inputs, outputs):
    """Nodes needed to compute `outputs` from `inputs`, each after the nodes it depends on."""
    input_ids = {id(t) for t in inputs}
    order, visited = [], set()

    def visit(tensor):
        if tensor._history is None:
            raise ValueError(f"Tensor {tensor} was not produced by a layer or op call and is "
                             "not a model input.")
        node = tensor._history[0]
        if id(node) in visited:
            return
        visited.add(id(node))
        if id(tensor) not in input_ids:
            for t in node.inputs:
                visit(t)
        order.append(node)

    for t in outputs:
        visit(t)
    reached = {id(t) for n in order for t in n.outputs}
    missing = [t for t in inputs if id(t) not in reached]
    if missing:
        names = [t.name for t in missing]
        raise ValueError(f"Model inputs {names} are not connected to the outputs.")
    for node in order:
        for t in node.inputs:
            if id(t) not in reached and id(t) not in input_ids:
                raise ValueError(f"Graph disconnected: {t} is needed but is not a model input.")
    return order


class _Step:
    """One graph node to replay, with what the replay loop needs to know about it."""

    __slots__ = ("node", "has_training", "computes_mask", "first_input", "sole_input",
                 "fixed_kwargs", "sole_output")

    def __init__(self, node):
        op = node.operation
        self.node = node
        is_layer = isinstance(op, Layer)
        self.has_training = is_layer and op._call_has_training
        self.computes_mask = is_layer and op._computes_mask()
        self.first_input = node.args[0] if is_layer and node.args else None
        # The common node, replayed without walking structures: one tensor in, one out,
        # keyword arguments that hold no tensor. (Tensors, not their ids: a deep copy of
        # the model copies them.)
        args = node.args
        self.sole_input = args[0] if len(args) == 1 and isinstance(args[0], KerasTensor) else None
        self.fixed_kwargs = not any(isinstance(leaf, KerasTensor)
                                    for leaf in tree.flatten(node.kwargs))
        self.sole_output = node.outputs[0] if len(node.outputs) == 1 else None

    def input_mask(self, masks):
        """The mask(s) of the node's first argument, None if it carries none."""
        first = self.first_input
        if isinstance(first, (list, tuple)):
            found = [masks.get(id(t)) if isinstance(t, KerasTensor) else None for t in first]
            return found if any(m is not None for m in found) else None
        return masks.get(id(first)) if isinstance(first, KerasTensor) else None


class Functional(Model):
    """`Model(inputs, outputs)`: replays the recorded graph on real tensors."""

    def __init__(self, inputs, outputs, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self._inputs_struct, self._outputs_struct = inputs, outputs
        self.inputs = tree.flatten(inputs)
        self.outputs = tree.flatten(outputs)
        for t in self.inputs + self.outputs:
            if not isinstance(t, KerasTensor):
                raise TypeError(f"Model '{self.name}': inputs and outputs must be KerasTensors "
                                f"(from unikeras.Input), got {type(t).__name__}.")
        self._nodes = _topological_nodes(self.inputs, self.outputs)
        layers = []
        for node in self._nodes:
            if isinstance(node.operation, Layer) and node.operation not in layers:
                layers.append(node.operation)
        names = [layer.name for layer in layers]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"Model '{self.name}': layer names must be unique, repeated: {duplicates}.")
        self._layers = layers
        self._input_shapes = [t.shape for t in self.inputs]
        self._set_untracked(_steps=[_Step(node) for node in self._nodes
                                    if not isinstance(node.operation, InputLayer)],
                            _last_output_masks=None)
        self.built = True

    @property
    def input_shape(self):
        shapes = self._input_shapes
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        shapes = [t.shape for t in self.outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    def _check_input(self, x, spec):
        shape = tuple(core.shape(x))
        want = spec.shape
        if len(shape) != len(want) or any(w is not None and g is not None and w != g
                                          for w, g in zip(want, shape)):
            raise ValueError(f"Model '{self.name}': input '{spec.name}' expects shape {want}, "
                             f"got {tuple(shape)}.")

    def call(self, inputs, training=None, mask=None):
        flat = tree.flatten(inputs) if tree.is_nested(inputs) else [inputs]
        if len(flat) != len(self.inputs):
            raise ValueError(f"Model '{self.name}' expects {len(self.inputs)} inputs, got {len(flat)}.")
        values, masks = {}, {}
        for spec, x in zip(self.inputs, flat):
            self._check_input(x, spec)
            values[id(spec)] = x
        if mask is not None:
            flat_masks = tree.flatten(mask) if tree.is_nested(mask) else [mask]
            masks = {id(spec): m for spec, m in zip(self.inputs, flat_masks) if m is not None}

        def resolve(t):
            return values[id(t)] if isinstance(t, KerasTensor) else t

        for step in self._steps:
            node = step.node
            if step.sole_input is not None:
                args = (values[id(step.sole_input)],)
            else:
                args = tree.map_structure(resolve, node.args)
            kwargs = dict(node.kwargs) if step.fixed_kwargs else tree.map_structure(
                resolve, node.kwargs)
            if step.has_training and kwargs.get("training") is None:
                kwargs["training"] = training
            in_mask = step.input_mask(masks) if masks else None
            if in_mask is None and not step.computes_mask:
                out, out_mask = node.operation(*args, **kwargs), None
            else:
                out, out_mask = node.operation._call_and_mask(args, kwargs, in_mask)
            if step.sole_output is not None and not tree.is_nested(out):
                values[id(step.sole_output)] = out
            else:
                for t, v in zip(node.outputs, tree.flatten(out)):
                    values[id(t)] = v
            if out_mask is not None:
                for t, m in zip(node.outputs, tree.flatten(out_mask)):
                    if m is not None:
                        masks[id(t)] = m
        out_masks = None
        if masks:
            out_masks = tree.map_structure(lambda t: masks.get(id(t)), self._outputs_struct)
        self.__dict__["_last_output_masks"] = out_masks   # plain store: hot path
        return tree.map_structure(lambda t: values[id(t)], self._outputs_struct)

    def compute_output_spec(self, inputs, training=None, mask=None):
        return self.call(inputs, training=training, mask=mask)

    def compute_mask(self, inputs, previous_mask):
        """Masks of the outputs (runs the graph)."""
        self.call(inputs, mask=previous_mask)
        return self._last_output_masks

    def _output_mask(self, inputs, previous_mask):
        return self._last_output_masks  # computed by the call that just ran

    def get_config(self):
        from unikeras.common.saving.serialization import functional_config
        return functional_config(self)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from unikeras.common.saving.serialization import functional_from_config
        return functional_from_config(cls, config, custom_objects)
