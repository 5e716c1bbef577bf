"""Probabilities that remember the logits they came from.

`softmax` and `sigmoid` outputs keep a reference to their input; a cross-entropy asked to
work on such probabilities (`from_logits=False`) then runs torch's fused kernel on the
logits (`F.cross_entropy`, `binary_cross_entropy_with_logits`) instead of clipping and
taking the log of the probabilities: fewer kernels forward and backward, and exact where
the clipped log saturates. The memo is trusted only while it provably describes the tensor:
same version counter (no in-place change since), and, for a tensor that requires grad, an
autograd history (so the gradient reaches what the probabilities depend on). The memo
lives in the probabilities' Python object: the logits stay alive as long as that object
does, not as long as autograd keeps the probabilities for its backward."""
import torch

_ATTR = "_unikeras_logits"


def remember(probs, logits, axis):
    """Attach `logits` (and the softmax `axis`, None for sigmoid) to `probs`; returns it."""
    if not (torch.compiler.is_compiling() or probs.is_inference()):
        setattr(probs, _ATTR, (logits, axis, probs._version))
    return probs


def recall(probs, axis=None):
    """The logits `probs` was computed from along `axis` (None: element-wise sigmoid), or
    None when there are none to trust."""
    memo = getattr(probs, _ATTR, None)
    if memo is None or torch.compiler.is_compiling():
        return None
    logits, memo_axis, version = memo
    if memo_axis != axis or probs._version != version:
        return None
    if probs.requires_grad and probs.grad_fn is None:
        return None
    return logits
