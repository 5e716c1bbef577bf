"""Probabilities that remember the logits they came from, inside `tf.function` graphs.

A graph's `softmax` and `sigmoid` outputs keep a reference to their input; a cross-entropy
asked to work on such probabilities (`from_logits=False`) then runs the fused kernel on the
logits (`sparse_softmax_cross_entropy_with_logits` and the like) instead of clipping and
taking the log of the probabilities: fewer ops forward and backward, and exact where the
clipped log saturates (what Keras's TensorFlow backend does too). Eager tensors get no
memo, so a `GradientTape` watching eager probabilities still differentiates them."""
import tensorflow as tf

_ATTR = "_unikeras_logits"


def remember(probs, logits, axis):
    """Attach `logits` (and the softmax `axis`, None for sigmoid) to a graph tensor."""
    if not tf.executing_eagerly():
        setattr(probs, _ATTR, (logits, axis))
    return probs


def recall(probs, axis=None):
    """The logits `probs` was computed from along `axis` (None: sigmoid), or None."""
    memo = getattr(probs, _ATTR, None)
    if memo is None or memo[1] != axis or memo[0].dtype != probs.dtype:
        return None
    return memo[0]
