"""Weights re-laid-out once for inference instead of on every call.

Kernels take weights in torch's layout (a convolution's OIHW in the input's memory format,
the recurrent kernels' transposed, gate-reordered list), while the layers hold Keras's
layout; converting costs a copy per call, which at small batches is a large share of the
call. When no gradient is recorded the converted weights are cached per source tensor and
reused while every source still holds the same data: the same `_version` (bumped by each
in-place update: optimizer steps, `copy_`, `load_state_dict`) and the same data pointer
(`.data = ...` and `.to()` swap storages). In-place writes through `.data` (`p.data.add_()`)
bypass the version counter, as they bypass autograd's checks, and are not seen. With
gradients on, or inside torch.compile, the conversion runs as part of the recorded
computation as before.
"""
import weakref

import torch

_CACHE = {}   # (tag, source ids) -> (stamp, derived value); dropped when a source is freed
_compiling = torch.compiler.is_compiling


def _stamp(sources):
    return [None if t is None else (t._version, t.data_ptr()) for t in sources]


def _holds_every_source(value, sources):
    """True when a derived tensor (or list of tensors) shares the storage of every source
    (it is the source, or a view of it): such an entry would keep its sources alive, so
    it would never be dropped, and caching it saves nothing."""
    values = value if isinstance(value, (list, tuple)) else [value]
    held = {v.untyped_storage().data_ptr() for v in values}
    return all(t.untyped_storage().data_ptr() in held for t in sources if t is not None)


def derived(tag, sources, make):
    """`make(*sources)`, cached for inference (see module docstring). `tag` names the
    derivation (a derived value depends on `tag` and the sources only); None sources are
    allowed."""
    if torch.is_grad_enabled() or _compiling():
        return make(*sources)
    key = (tag,) + tuple(map(id, sources))
    hit = _CACHE.get(key)
    # An entry is dropped as soon as any of its sources is freed, so while it exists the
    # ids in its key name the same live tensors.
    if hit is not None and hit[0] == _stamp(sources):
        return hit[1]
    value = make(*sources)
    if any(t is not None and t.is_inference() for t in sources) or _holds_every_source(
            value, sources):
        return value

    def forget(_, key=key):
        _CACHE.pop(key, None)

    _CACHE[key] = (_stamp(sources), value, [weakref.ref(t, forget) for t in sources
                                            if t is not None])
    return value
