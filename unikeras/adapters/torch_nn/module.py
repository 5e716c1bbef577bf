"""`to_torch`: a unikeras layer or model as a genuine `torch.nn.Module`.

Trainable weights become `nn.Parameter`s, non-trainable weights persistent buffers, seed
states and layer states (a stateful RNN's) non-persistent buffers, each on a child module
per sublayer, so `state_dict()` keys are the canonical weight paths with '.'
(`dense_1.kernel`). `forward` reads them through the module being called (so
`torch.func.functional_call` and optimizers see the real thing) and runs the layer's math
with torch ops.

Devices and dtypes (CUDA): `.to("cuda")` / `.cuda()` / `.double()` convert the parameters
and buffers as for any module, and the layer's torch-held Variables are pointed at the
converted tensors (`_apply`), so the unikeras model keeps sharing the module's state on the
new device or dtype. The forward makes every tensor on the device of its inputs (which the
caller puts on the module's device, as with any module); tapes are keyed by the input's
device and dtype, so a call on a new device records anew. An unbuilt layer built on its
first call moves to the device of that call's input.

Compilers: under `torch.compile` and `torch.export(strict=True)` (dynamo) the forward runs
the layer itself, its variables looked up by identity (`hosting.ByIdentity`), since dynamo
cannot trace a Variable's hash; eager calls replay tapes (`hosting.TapedCalls`).
"""
import numpy as np
import torch
from torch import nn

from unikeras.adapters import hosting
from unikeras.common.ops import dispatch

BACKEND = "torch"
_compiling = torch.compiler.is_compiling


def _as_torch(variable):
    value = variable.value
    if isinstance(value, torch.Tensor):
        return value.detach() if not isinstance(value, nn.Parameter) else value
    array = dispatch.get_table(variable.backend).convert_to_numpy(value)
    return torch.from_numpy(np.array(array, copy=True))


class TorchLayer(nn.Module):
    """Native torch module hosting a unikeras layer's variables; see module docstring."""

    def __init__(self, layer, input_shape=None):
        super().__init__()
        self._uk_layer = layer
        self._hosted = []
        dispatch.get_table(BACKEND)  # loaded now: a compiler's first trace cannot import it
        hosting.ensure_built(layer, BACKEND, input_shape)
        if layer.built and layer.variables:
            self._materialize()

    @property
    def layer(self):
        """The unikeras layer whose math this module runs."""
        return self._uk_layer

    def _materialize(self):
        self._hosted = hosting.hosted_variables(self._uk_layer)
        # A dotted name (a wrapped torch module's `0.weight`) nests, as in that module.
        paths = [h.path[:-1] + tuple(h.path[-1].split(".")) for h in self._hosted]
        holders = {(): self}
        parents = dict.fromkeys(p[:i] for p in paths for i in range(1, len(p)))  # in order
        for path in sorted(parents, key=len):
            child = nn.Module()
            holders[path[:-1]].add_module(path[-1], child)
            holders[path] = child
        for h, path in zip(self._hosted, paths):
            holder, name = holders[path[:-1]], path[-1]
            value = _as_torch(h.variable)
            if h.kind == hosting.PARAM:
                param = value if isinstance(value, nn.Parameter) else nn.Parameter(value)
                holder.register_parameter(name, param)
            else:
                holder.register_buffer(name, value.detach(), persistent=h.kind == hosting.STAT)
        # Where each value is read at call time: the holder's own parameter/buffer dict, which
        # is also what torch.func.functional_call and `.to()` swap entries of.
        self._stores = [(holders[path[:-1]], "_parameters" if h.kind == hosting.PARAM
                         else "_buffers", path[-1]) for h, path in zip(self._hosted, paths)]
        self._taped = hosting.TapedCalls(self._uk_layer, self._hosted, BACKEND)

    def _apply(self, fn, *args, **kwargs):
        super()._apply(fn, *args, **kwargs)
        for h, value in zip(self._hosted, self._values() if self._hosted else []):
            variable = h.variable
            if variable._backend == BACKEND and variable._value is not value:
                # the module's converted tensor becomes the Variable's storage (shared again)
                variable._value = value
        return self

    def _values(self):
        return [getattr(holder, kind)[name] for holder, kind, name in self._stores]

    def forward(self, *args, **kwargs):
        if not self._hosted:
            self._build_on_first_call(args)
        if self._uk_layer._call_has_training or "training" in kwargs:
            kwargs.setdefault("training", self.training)
        values = self._values()
        if _compiling():  # dynamo traces the layer itself; a tape would add nothing there
            outputs, updates = hosting.run_hosted(self._uk_layer, self._hosted, values, BACKEND,
                                                  args, kwargs, tracing=True)
        else:
            outputs, updates = self._taped(values, args, kwargs)
        if updates:
            with torch.no_grad():
                for i, new in updates:
                    values[i].copy_(new)
        return outputs

    def _build_on_first_call(self, args):
        shape = tuple(args[0].shape)
        hosting.ensure_built(self._uk_layer, BACKEND, (None,) + shape[1:])
        self._materialize()
        device = args[0].device if isinstance(args[0], torch.Tensor) else None
        if device is not None and device.type != "cpu":
            self.to(device)

    @property
    def losses(self):
        """The layer's losses: those its last call added, then weight penalties computed
        from this module's parameters (differentiable, on their device)."""
        return hosting.hosted_losses(self._uk_layer, self._hosted, self._values(), BACKEND)

    def get_weights(self):
        """Current weights as NumPy arrays in the layer's `get_weights()` order."""
        by_variable = {h.variable: v for h, v in zip(self._hosted, self._values())}
        return [by_variable[v].detach().cpu().numpy().copy() for v in self._uk_layer.weights]

    def extra_repr(self):
        return f"{type(self._uk_layer).__name__} '{self._uk_layer.name}'"


def to_torch(layer, input_shape=None):
    """Materialize `layer` (a unikeras Layer or Model) as a `torch.nn.Module`.

    An unbuilt layer is built from `input_shape` (batch dim included, e.g. `(None, 784)`),
    or else on its first forward call (create torch optimizers after that call).
    When the layer's weights already live in torch, the module shares them.
    """
    return TorchLayer(layer, input_shape)
