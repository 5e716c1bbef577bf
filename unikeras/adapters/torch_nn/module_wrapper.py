"""`TorchModuleWrapper`: any `torch.nn.Module` as a unikeras layer (torch backend only).

The module's parameters become the layer's trainable weights (non-trainable where
`requires_grad` is off) and its persistent buffers non-trainable weights. Each Variable
adopts the module's own tensor as its storage, so optimizer steps, `set_weights` and
`load_weights` (which assign in place) change the module itself, and the module's own
training changes the layer's weights.

A call runs the module through `torch.func.functional_call` on the Variables' current
values: outside any scope those are the module's own tensors; inside a StatelessScope (a
`fit` step's gradient pass, `stateless_call`) the values the scope supplies, so gradients
reach them. `training=True/False` (fit, evaluate, predict) sets the module's train/eval
mode; a call without it leaves the mode the user set.

The config records the module's class only (a module is code plus tensors, not config, and
pickling it would run arbitrary code on load): `from_config` needs `module=`.
"""
import itertools

import torch
from torch import nn

from unikeras.common import dtypes
from unikeras.common.layers.layer import Layer
from unikeras.common.ops import dispatch
from unikeras.common.symbolic import KerasTensor
from unikeras.common.variables import Variable

_PROBE_SIZES = (2, 3)  # stand-ins for unknown dims when inferring the output shape


def _module_class(module):
    cls = type(module)
    return f"{cls.__module__}.{cls.__qualname__}"


class TorchModuleWrapper(Layer):
    """A `torch.nn.Module` inside a unikeras model; see module docstring.

    `output_shape` (full shape, None for unknown dims) skips the shape inference that
    otherwise runs the module once per probe size on zeros."""

    def __init__(self, module, name=None, output_shape=None, **kwargs):
        if dispatch.current_backend() != "torch":
            raise ValueError(
                f"TorchModuleWrapper runs a torch.nn.Module, which needs the torch backend; "
                f"the current backend is {dispatch.current_backend()!r}. Select torch "
                f"(UNIKERAS_BACKEND=torch or `unikeras.ops.backend_scope('torch')`).")
        if not isinstance(module, nn.Module):
            raise TypeError(f"TorchModuleWrapper: `module` must be a torch.nn.Module, got "
                            f"{type(module).__name__}.")
        super().__init__(name=name, **kwargs)
        self.module = module
        self.output_shape = None if output_shape is None else tuple(output_shape)
        self._track_module()
        self.built = True

    def _track_module(self):
        """One Variable per parameter and persistent buffer, named by its state_dict key."""
        param_ids = {id(p) for p in self.module.parameters()}
        self._torch_names, seen = [], set()
        for key, tensor in self.module.state_dict(keep_vars=True).items():
            if id(tensor) in seen:  # tied weights: one Variable
                continue
            seen.add(id(tensor))
            trainable = id(tensor) in param_ids and tensor.requires_grad
            self._own_variables.append(Variable.from_storage(
                tensor, "torch", dtypes.standardize_dtype(tensor.dtype), trainable, key))
            self._torch_names.append(key)
        for v in self._own_variables:
            v.path = f"{self.name}/{v.name}"

    def call(self, *args, training=None, **kwargs):
        if training is not None:
            self.module.train(bool(training))
        values = {key: v.value for key, v in zip(self._torch_names, self._own_variables)}
        return torch.func.functional_call(self.module, values, args, kwargs)

    def compute_output_spec(self, *args, training=None, **kwargs):
        if self.output_shape is not None:
            return KerasTensor(self.output_shape, self.compute_dtype)
        probes = [self._probe(args, kwargs, size) for size in _PROBE_SIZES]
        return torch.utils._pytree.tree_map(_spec_from_probes, *probes)

    def _probe(self, args, kwargs, size):
        """The module's outputs on zeros shaped like the symbolic inputs (unknown dims =
        `size`), in eval mode and without gradients, so no state of the module changes."""
        held = next(itertools.chain(self.module.parameters(), self.module.buffers()), None)
        device = held.device if held is not None else None

        def zeros(x):
            if not isinstance(x, KerasTensor):
                return x
            shape = tuple(size if d is None else d for d in x.shape)
            return torch.zeros(shape, dtype=getattr(torch, x.dtype), device=device)
        args, kwargs = torch.utils._pytree.tree_map(zeros, (args, kwargs))
        modes = [(m, m.training) for m in self.module.modules()]
        self.module.eval()
        try:
            with torch.no_grad():
                return self.module(*args, **kwargs)
        except Exception as e:
            shapes = [x.shape for x in torch.utils._pytree.tree_leaves((args, kwargs))
                      if isinstance(x, torch.Tensor)]
            raise ValueError(f"TorchModuleWrapper '{self.name}': the module "
                             f"({_module_class(self.module)}) failed on inputs of shapes "
                             f"{shapes} while inferring its output shape: {e}. Pass "
                             f"`output_shape=` to skip the inference.") from e
        finally:
            for m, mode in modes:
                m.training = mode

    def get_config(self):
        config = super().get_config()
        config.update(module_class=_module_class(self.module), output_shape=self.output_shape)
        return config

    @classmethod
    def from_config(cls, config, module=None):
        config = dict(config)
        recorded = config.pop("module_class", None)
        module = config.pop("module", None) if module is None else module
        if not isinstance(module, nn.Module):
            raise ValueError(
                f"TorchModuleWrapper.from_config: the config holds no module (only its class, "
                f"{recorded!r}): pass `module=` (the torch.nn.Module to wrap, e.g. "
                f"`TorchModuleWrapper.from_config(config, module={recorded or 'MyModule'}"
                f"(...))`), then load the weights.")
        return super().from_config({**config, "module": module})


def _spec_from_probes(*outputs):
    """A KerasTensor for one output: dims that differ between the probes are unknown."""
    first = outputs[0]
    if not isinstance(first, torch.Tensor):
        return first
    shape = tuple(d if all(o.shape[i] == d for o in outputs) else None
                  for i, d in enumerate(first.shape))
    return KerasTensor(shape, dtypes.standardize_dtype(first.dtype))
