"""PyTorch adapter: torch op table, runtime, and `to_torch` (layers as torch.nn.Modules)."""
