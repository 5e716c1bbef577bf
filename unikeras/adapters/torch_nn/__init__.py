"""PyTorch adapter: torch op table, runtime, and `to_torch` (layers as torch.nn.Modules)."""


def to_torch(layer, input_shape=None):
    """Materialize a unikeras layer or model as a `torch.nn.Module` (see `module.to_torch`)."""
    from unikeras.adapters.torch_nn.module import to_torch as _to_torch
    return _to_torch(layer, input_shape)
