"""PyTorch adapter: torch op table, runtime, `to_torch` (layers as torch.nn.Modules), and
weights from plain PyTorch twins (`load_torch_state_dict`, `export_torch_state_dict`)."""
from unikeras.adapters.torch_nn.state_dict import (  # noqa: F401
    export_torch_state_dict, load_torch_state_dict)


def to_torch(layer, input_shape=None):
    """Materialize a unikeras layer or model as a `torch.nn.Module` (see `module.to_torch`)."""
    from unikeras.adapters.torch_nn.module import to_torch as _to_torch
    return _to_torch(layer, input_shape)
