"""Backend adapters. Each package holds `ops` (the op table for its tensors), `runtime`
(variables, gradients, compiled steps) and, for the frameworks, the materializer that
turns a unikeras layer or model into that framework's native module."""

from unikeras.adapters.sync import sync  # noqa: F401  (the function shadows its module)
