"""Runtime services of the torch backend (see `unikeras.adapters.numpy_ref.runtime` for
the contract every backend's runtime keeps).

- make_variable: an `nn.Parameter` (requires_grad=trainable) for float/complex dtypes, a
  plain tensor (usable as a module buffer) for int/bool dtypes
- assign: in-place `copy_` under `no_grad`, so optimizers, modules and autograd keep
  seeing the same storage; assign_add: in-place `add_`
- value_and_grad: `torch.autograd.grad`, functional (never touches `.grad`)
- compile_step: eager; new values are written back in place
- optimizer_kernels: in-place multi-tensor updates for eager optimizer steps
"""
import numpy as np
import torch

from unikeras.adapters.torch_nn import ops as _ops
from unikeras.adapters.torch_nn import optimizer_kernels  # noqa: F401  (used by optimizers)
from unikeras.adapters.torch_nn.grad_mode import no_grad  # noqa: F401  (the runtime's no_grad)
from unikeras.common import dtypes, tree

NAME = "torch"


Tensor = torch.Tensor


def make_variable(value, dtype, trainable, name):
    tdt = _ops._torch_dtype(dtypes.standardize_dtype(dtype))
    if isinstance(value, Tensor):
        t = value.detach().to(dtype=tdt, copy=True)
    else:
        t = _ops._numpy_to_torch(np.asarray(value)).to(dtype=tdt, copy=True)
    if tdt in _ops._INEXACT:
        return torch.nn.Parameter(t, requires_grad=bool(trainable))
    return t


def assign(storage, value):
    if not isinstance(value, Tensor):
        value = _ops._numpy_to_torch(np.asarray(value))
    if value.shape != storage.shape:
        raise ValueError(f"assign: cannot assign a value of shape {tuple(value.shape)} to a "
                         f"variable of shape {tuple(storage.shape)}.")
    if torch.is_grad_enabled():
        with torch.no_grad():
            storage.copy_(value)
    else:   # the usual case (optimizer and metric updates): no context to enter
        storage.copy_(value)
    return storage


def assign_add(storage, delta):
    """`storage += delta` in place (one kernel) for a tensor of the storage's dtype, shape
    and device or a Python number; anything else through `assign`, which checks and casts."""
    if type(delta) in (int, float) and storage.is_floating_point() or (
            isinstance(delta, Tensor) and delta.dtype is storage.dtype
            and delta.shape == storage.shape and delta.device == storage.device):
        if torch.is_grad_enabled():
            with torch.no_grad():
                return storage.add_(delta)
        return storage.add_(delta)
    return assign(storage, storage + _ops.convert_to_tensor(delta))


def _detach(x):
    return x.detach() if isinstance(x, Tensor) else x


def value_and_grad(fn):
    """`g(params, *args) -> ((value, aux), grads)` for `fn(params, *args) -> (value, aux)`."""
    def g(params, *args):
        with torch.enable_grad():
            leaves = []
            for p in params:
                if not isinstance(p, Tensor):
                    p = _ops.convert_to_tensor(p)
                if not p.requires_grad and p.dtype in _ops._INEXACT:
                    p = p.detach().requires_grad_(True)
                leaves.append(p)
            value, aux = fn(leaves, *args)
            if not isinstance(value, Tensor):
                raise TypeError(f"value_and_grad: the function must return a torch tensor as "
                                f"its value, got {type(value).__name__}.")
            if value.numel() != 1:
                raise ValueError(f"value_and_grad: the value must be a scalar, got shape "
                                 f"{tuple(value.shape)}.")
            wrt = [i for i, p in enumerate(leaves) if p.requires_grad]
            grads = [None] * len(leaves)
            if wrt and value.requires_grad:
                found = torch.autograd.grad(value, [leaves[i] for i in wrt], allow_unused=True,
                                            materialize_grads=True)
                for i, gr in zip(wrt, found):
                    grads[i] = gr
        for i, gr in enumerate(grads):
            if gr is None:   # not differentiable (int/bool) or not reached by the value
                grads[i] = torch.zeros_like(leaves[i]).detach()
        if aux is not None:
            aux = tree.map_structure(_detach, aux)
        return (value.detach(), aux), grads
    return g


def compile_step(fn, variables):
    """Eager step: run `fn(values, *args) -> (new_values, out)` on the variables' current
    values and write back, in place, every new value that is a new object."""
    variables = list(variables)

    def step(*args):
        values = [v.value for v in variables]
        new_values, out = fn(values, *args)
        with torch.no_grad():
            for v, old, new in zip(variables, values, new_values):
                if new is not old:
                    v.assign(new)
        return out
    return step


def inference_function(model):
    """`x -> outputs` for batch inference of a model whose weights live in torch: its
    `to_torch` module (sharing those weights) in eval mode under `no_grad`, whose forward
    replays the recorded backend calls (the lean path `predict_on_batch` takes)."""
    from unikeras.adapters.torch_nn.module import to_torch
    module = to_torch(model).eval()

    def run(x):
        with torch.no_grad():
            return module(x)
    return run
