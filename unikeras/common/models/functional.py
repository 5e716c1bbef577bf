"""Functional models: a graph of layer and op calls between Input tensors and outputs."""
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
        values = {}
        for spec, x in zip(self.inputs, flat):
            self._check_input(x, spec)
            values[id(spec)] = x

        def resolve(t):
            return values[id(t)] if isinstance(t, KerasTensor) else t

        for node in self._nodes:
            if isinstance(node.operation, InputLayer):
                continue
            args = tree.map_structure(resolve, node.args)
            kwargs = tree.map_structure(resolve, node.kwargs)
            if (isinstance(node.operation, Layer) and node.operation._call_has_training
                    and kwargs.get("training") is None):
                kwargs["training"] = training
            out = node.operation(*args, **kwargs)
            for t, v in zip(node.outputs, tree.flatten(out)):
                values[id(t)] = v
        return tree.map_structure(lambda t: values[id(t)], self._outputs_struct)

    def compute_output_spec(self, inputs, training=None, mask=None):
        return self.call(inputs, training=training)

    def get_config(self):
        from unikeras.common.saving.serialization import functional_config
        return functional_config(self)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from unikeras.common.saving.serialization import functional_from_config
        return functional_from_config(cls, config, custom_objects)
