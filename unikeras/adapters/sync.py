"""`sync(source, *targets)`: bring the live copies of one model's weights up to date.

`to_torch(model)`, `to_flax(model)` and `to_tf(model)` each start from the model's
current weights, then hold their own: after training one of them with its framework's
optimizer, the unikeras model and the other native modules still have the old weights.
`sync(trained, model, nnx_module, tf_module)` copies (or shares, see below) the trained
weights into each of the others.

Sources and targets are unikeras layers or models, or native modules made by `to_torch`,
`to_flax` or `to_tf` (anything with a `.layer` property giving its unikeras layer). Every
weight is synced, trainable or not (moving statistics too); seed states and layer states
(a stateful RNN's carries) are not weights and are left alone. Weights pair up by their
unikeras variable when source and target host the same layers (so a module of one
sublayer syncs with the whole model), else by canonical path (`dense_1.kernel` in
`state_dict()`, `('dense_1', 'kernel')` in `nnx.state`), which must then name the same
weights with the same shapes on both sides.

Each framework is written through its public API: torch `load_state_dict`, flax
`nnx.update`, tf `Variable.assign`, unikeras `Variable.assign`. Memory is shared rather
than copied where the frameworks allow it (CPU tensors through DLPack):

- into an nnx module or a tf module: no copy. A source tensor of another framework becomes
  a jax array (`jax.dlpack.from_dlpack`) or a tf tensor (`tf.experimental.dlpack`) over the
  same buffer, which `nnx.update` stores and `tf.Variable.assign` adopts (a jax source
  into nnx is used as is). The target then reads the source's memory until its own
  framework writes that weight, which it does into a fresh buffer (jax never writes into
  a buffer it imported, not even a donated one; tf copies a buffer before writing it while
  another holder has it). So torch's in-place optimizer steps show in the nnx and tf
  modules without another sync, while a jax or tf source, whose own updates make new
  buffers, leaves the targets with a snapshot.
- into a torch module: one copy, into the existing parameters and buffers. The source is
  viewed without a copy (`torch.from_dlpack`), then `load_state_dict` copies it in place:
  the parameters keep their identity, so torch optimizers built on them keep working, and
  other frameworks' buffers are never written to by torch.
- into a unikeras model: its backend's `Variable.assign`. torch copies into the storage in
  place (skipped when the storage is the source's very buffer: a `to_torch` module of a
  torch-backed model holds the model's own parameters, so the two are always in step);
  jax makes a copy (jax-backed variables own their buffers because `fit` donates them);
  tf adopts the view as for a tf module; NumPy copies.

A copy also happens wherever DLPack cannot share: a dtype differing between source and
target (cast), a source on another device than the target (e.g. a CUDA tensor into CPU
jax), or a buffer not aligned as the target needs (XLA and TensorFlow want 64 bytes:
tensors torch and jax allocate are, NumPy's own may not be, e.g. a model's weights loaded
from NumPy into a torch module).

OpenVINO compiled models (`unikeras.adapters.openvino.compile`) are not live: they bake a
snapshot of the weights into their graph. Sync the model, then compile it again.
"""
import sys

import numpy as np

from unikeras.adapters import hosting
from unikeras.common.ops import dispatch

_WEIGHT_KINDS = (hosting.PARAM, hosting.STAT)


def sync(source, *targets):
    """Copy (or share) the weights of `source` into every one of `targets`.

    `source` and `targets`: unikeras layers/models or modules made by `to_torch`,
    `to_flax`, `to_tf`. See the module docstring for how weights pair up and exactly when
    memory is shared. Raises TypeError for an object of another kind (an OpenVINO compiled
    model included: compile again instead) and ValueError when a target's weights do not
    match the source's; either way before writing into any target."""
    src = _endpoint(source, "source")
    values = [(h, src.read(h)) for h in src.hosted]
    plans = [(dst, _pair(values, src, dst))
             for dst in (_endpoint(target, "target") for target in targets)
             if dst.obj is not src.obj]
    for dst, pairs in plans:
        dst.write(pairs)


def _pair(values, src, dst):
    """[(target's HostedVariable, source tensor)]: by shared variable, else by path."""
    by_variable = {h.variable: value for h, value in values}
    shared = [(h, by_variable[h.variable]) for h in dst.hosted if h.variable in by_variable]
    if shared:
        return shared
    by_path = {h.path: (h, value) for h, value in values}
    problems = [f"'{h.dotted}' is not a weight of the source" for h in dst.hosted
                if h.path not in by_path]
    pairs = []
    for h in dst.hosted:
        if h.path not in by_path:
            continue
        source_shape = tuple(by_path[h.path][0].variable.shape)
        if source_shape != tuple(h.variable.shape):
            problems.append(f"'{h.dotted}' has shape {tuple(h.variable.shape)}, the source's "
                            f"{source_shape}")
        pairs.append((h, by_path[h.path][1]))
    if problems or not dst.hosted:
        raise ValueError(f"sync: {dst.describe()} shares no layers with {src.describe()} and "
                         f"its weights do not match the source's by path: "
                         f"{'; '.join(problems) or 'it has no weights'}.")
    return pairs


# --- the objects sync reads and writes ---------------------------------------------------------

class _Endpoint:
    """One side of a sync: `obj`, its unikeras `layer`, and `hosted`: the layer tree's
    weights with their canonical paths."""

    kind = "unikeras layer"

    def __init__(self, obj, layer):
        self.obj, self.layer = obj, layer
        if not layer.built or not layer.weights:
            raise ValueError(f"sync: {self.describe()} has no weights yet; build it (or call "
                             f"the module once) first.")
        self.hosted = [h for h in hosting.hosted_variables(layer) if h.kind in _WEIGHT_KINDS]

    def describe(self):
        return f"{self.kind} of '{self.layer.name}'"


class _UnikerasEnd(_Endpoint):
    def read(self, h):
        value, backend = h.variable.value, h.variable.backend
        if backend == "torch":
            return value.detach()
        return value.read_value() if backend == "tensorflow" else value

    def write(self, pairs):
        for h, value in pairs:
            backend = h.variable.backend
            converted = _CONVERTERS[backend](value, h.variable.dtype)
            if not _same_buffer(converted, h.variable.value):
                h.variable.assign(converted)


class _TorchEnd(_Endpoint):
    kind = "torch module"

    def __init__(self, obj, layer):
        super().__init__(obj, layer)
        self.state = obj.state_dict()
        missing = [h.dotted for h in self.hosted if h.dotted not in self.state]
        if missing:
            raise ValueError(f"sync: {self.describe()} has not made its parameters yet "
                             f"(missing {missing}); call it once first.")

    def read(self, h):
        return self.state[h.dotted]

    def write(self, pairs):
        updates = {}
        for h, value in pairs:
            current = self.state[h.dotted]
            new = _to_torch(value, current.dtype)
            if not _same_buffer(new, current):
                updates[h.dotted] = new
        if updates:
            self.obj.load_state_dict(updates, strict=False)  # copies in place, without grad


class _NnxEnd(_Endpoint):
    kind = "nnx module"

    def __init__(self, obj, layer):
        super().__init__(obj, layer)
        from flax import nnx
        self.state = dict(nnx.to_flat_state(nnx.state(obj, (nnx.Param, nnx.BatchStat))))

    def read(self, h):
        return self.state[h.path].get_value()

    def write(self, pairs):
        from flax import nnx
        flat = {h.path: _to_jax(value, self.state[h.path].get_value().dtype)
                for h, value in pairs}
        nnx.update(self.obj, nnx.from_flat_state(flat))


class _TfEnd(_Endpoint):
    kind = "tf module"

    def _variable(self, h):
        obj = self.obj
        for part in h.path:
            obj = getattr(obj, part)
        return obj

    def read(self, h):
        return self._variable(h).read_value()

    def write(self, pairs):
        for h, value in pairs:
            variable = self._variable(h)
            variable.assign(_to_tf(value, variable.dtype))


def _endpoint(obj, role):
    from unikeras.common.layers.layer import Layer  # not at the top: adapters/__init__ imports us
    if isinstance(obj, Layer):
        return _UnikerasEnd(obj, obj)
    for framework, end in (("torch", _TorchEnd), ("flax.nnx", _NnxEnd), ("tensorflow", _TfEnd)):
        if framework in sys.modules and isinstance(obj, _module_class(framework)):
            layer = getattr(obj, "layer", None)
            if not isinstance(layer, Layer):
                raise TypeError(f"sync: the {role} is a {type(obj).__name__}, a {end.kind} not "
                                f"made by unikeras (it has no `.layer`); pass a module made by "
                                f"to_torch, to_flax or to_tf.")
            return end(obj, layer)
    if type(obj).__module__.startswith("unikeras.adapters.openvino"):
        raise TypeError(f"sync: the {role} is an OpenVINO {type(obj).__name__}, which holds a "
                        f"snapshot of the weights compiled into its graph; sync the model, "
                        f"then compile it again (unikeras.adapters.openvino.compile).")
    raise TypeError(f"sync: the {role} is a {type(obj).__name__}; expected a unikeras layer "
                    f"or model, or a module made by to_torch, to_flax or to_tf.")


def _module_class(framework):
    if framework == "torch":
        return sys.modules["torch"].nn.Module
    if framework == "flax.nnx":
        return sys.modules["flax.nnx"].Module
    return sys.modules["tensorflow"].Module


# --- tensors between frameworks ---------------------------------------------------------------

def _to_numpy(value):
    backend = dispatch.backend_of_type(type(value))
    if backend == "torch":
        return value.detach().cpu().numpy()
    if backend == "tensorflow":
        return value.numpy()
    return np.asarray(value)


def _to_torch(value, dtype):
    """A torch tensor of `dtype` (a torch dtype or its name) viewing `value`'s memory
    where DLPack allows."""
    import torch
    if isinstance(dtype, str):
        dtype = getattr(torch, dtype)
    if not isinstance(value, torch.Tensor):
        try:
            value = torch.from_dlpack(value)
        except (TypeError, RuntimeError, BufferError, ValueError):
            value = torch.from_numpy(np.ascontiguousarray(_to_numpy(value)))
    return value.to(dtype)


def _to_jax(value, dtype):
    """A jax array of `dtype`, over `value`'s memory where DLPack allows."""
    import jax
    import jax.numpy as jnp
    if not isinstance(value, jax.Array):
        try:
            value = jax.dlpack.from_dlpack(value)
        except (TypeError, RuntimeError, BufferError, ValueError):
            value = jnp.asarray(_to_numpy(value))
    return value if value.dtype == dtype else value.astype(dtype)


def _to_tf(value, dtype):
    """A tf tensor of `dtype`, over `value`'s memory where DLPack allows and the buffer has
    the 64-byte alignment TensorFlow's kernels assume (they abort the process otherwise)."""
    import tensorflow as tf
    if not isinstance(value, (tf.Tensor, tf.Variable)):
        address = _address(value)
        if address is not None and address % _TF_ALIGNMENT == 0:
            value = tf.experimental.dlpack.from_dlpack(value.__dlpack__())
        else:
            value = tf.constant(_to_numpy(value))
    return value if value.dtype == dtype else tf.cast(value, dtype)


_TF_ALIGNMENT = 64


def _address(value):
    """The address of a CPU torch or jax tensor's data, else None."""
    backend = dispatch.backend_of_type(type(value))
    if backend == "torch" and value.device.type == "cpu" and value.is_contiguous():
        return value.data_ptr()
    if backend == "jax" and value.is_fully_addressable and len(value.devices()) == 1 and \
            next(iter(value.devices())).platform == "cpu":
        return value.unsafe_buffer_pointer()
    return None


_CONVERTERS = {  # backend of a unikeras variable -> its tensors
    "torch": _to_torch,
    "jax": _to_jax,
    "tensorflow": _to_tf,
    "numpy": lambda value, dtype: _to_numpy(value).astype(dtype, copy=False),
}


def _same_buffer(a, b):
    """Whether two torch tensors are the very same memory (torch is the framework whose
    assignment writes in place, so writing a buffer onto itself is the one to skip)."""
    if hasattr(a, "data_ptr") and hasattr(b, "data_ptr"):
        return a.device == b.device and a.data_ptr() == b.data_ptr()
    return False
