"""`no_grad()` for the torch adapter's updates: `torch.no_grad()`, or nothing to enter
where gradients are already off (the optimizer and metric updates of a step run nested
in the step's own no_grad, and entering torch's context costs a few Python calls)."""
import contextlib

import torch

_ALREADY_OFF = contextlib.nullcontext()


def no_grad():
    return torch.no_grad() if torch.is_grad_enabled() else _ALREADY_OFF
