"""Weights trained in plain PyTorch <-> the same architecture written in unikeras.

`load_torch_state_dict` reads a `torch.nn` state_dict into a unikeras model whose layers are
the twins of the torch modules (Linear <-> Dense, Conv2d <-> Conv2D, LSTM <-> LSTM, ...),
converting each tensor to Keras's layout; `export_torch_state_dict` goes the other way.
Modules pair with layers in order (see `unikeras.adapters.native_weights`).
"""
import collections
import re

import numpy as np

from unikeras.adapters import native_weights
from unikeras.adapters.native_weights import Rule, Twin, one_to_one
from unikeras.common.layers import attention, convolution, embedding, normalization, recurrent
from unikeras.common.layers.bidirectional import Bidirectional
from unikeras.common.layers.core import Dense

_RNN_KEY = re.compile(r"^(weight|bias)_(ih|hh)_l(\d+)(_reverse)?$")
_PROJECTION_NAMES = ("in_proj_weight", "in_proj_bias", "q_proj_weight")


def _transposed(target, source):
    """A 2-D tensor stored (out, in) in torch and (in, out) in Keras."""
    return one_to_one(target, source, 2, np.transpose, np.transpose)


def _conv_kernel(ndim):
    """Conv (out, in, *spatial) and ConvTranspose (in, out, *spatial) kernels: Keras puts the
    spatial axes first and the two channel axes last, reversed ((h, w, in, out) for a
    convolution, (h, w, out, in) for a transposed one), so one permutation serves both."""
    to_keras = tuple(range(2, ndim)) + (1, 0)
    to_torch = tuple(int(i) for i in np.argsort(to_keras))
    return one_to_one("kernel", "weight", ndim, lambda a: a.transpose(to_keras),
                      lambda a: a.transpose(to_torch))


def _depthwise_kernel(ndim):
    """torch (in * multiplier, 1, *spatial), output channel c * multiplier + m, <-> Keras
    (*spatial, in, multiplier)."""
    spatial = ndim - 2

    def to_keras(arrays, shapes):
        (a,), (shape,) = arrays, shapes
        if a.shape[1] != 1 or a.shape[0] != shape[-2] * shape[-1]:
            raise ValueError(f"a depthwise torch kernel is (in * multiplier, 1, *kernel_size), "
                             f"expected ({shape[-2] * shape[-1]}, 1, ...), got {tuple(a.shape)}.")
        a = a.reshape((shape[-2], shape[-1]) + a.shape[2:])
        return [a.transpose(tuple(range(2, ndim)) + (0, 1))]

    def to_torch(arrays):
        k = arrays[0].transpose((spatial, spatial + 1) + tuple(range(spatial)))
        return [k.reshape((-1, 1) + k.shape[2:])]
    return Rule(("kernel",), ("weight",), to_keras, to_torch, ndims=(ndim,))


def _conv_twin(name, ndim, kernel=_conv_kernel, kind=None):
    return Twin(name, [kernel(ndim), one_to_one("bias", "bias", 1)], kinds=kind and (kind,))


def _affine_twin(name, ndim=1):
    return Twin(name, [one_to_one("gamma", "weight", ndim), one_to_one("beta", "bias", ndim)])


def _swap_first_gates(a):
    """torch GRU gates r, z, n <-> Keras z, r, h along axis 0 (its own inverse)."""
    first, second, third = np.split(a, 3, axis=0)
    return np.concatenate([second, first, third], axis=0)


def _check_gates(a, count):
    if a.shape[0] % count:
        raise ValueError(f"expected {count} gates along the first axis, got {a.shape[0]} rows.")
    return a


def _summed_biases():
    """torch's b_ih and b_hh act as one sum where Keras keeps one bias (LSTM, SimpleRNN)."""
    return Rule(("bias",), ("bias_ih", "bias_hh"), lambda arrays, shapes: [arrays[0] + arrays[1]],
                lambda arrays: [arrays[0], np.zeros_like(arrays[0])], ndims=(1, 1))


def _gru_biases():
    """Keras's reset_after GRU keeps both torch biases: (2, 3 * units), input bias first."""
    def load(arrays, shapes):
        if len(shapes[0]) != 2:
            raise ValueError("a GRU with reset_after=False keeps one bias and has no torch twin; "
                             "use reset_after=True (torch's form, two biases).")
        return [np.stack([_swap_first_gates(_check_gates(b, 3)) for b in arrays])]
    return Rule(("bias",), ("bias_ih", "bias_hh"), load,
                lambda arrays: [_swap_first_gates(b) for b in arrays[0]], ndims=(1, 1))


def _recurrent_twin(name, gates, biases, reorder=lambda a: a):
    """torch (gates * units, in) kernels <-> Keras (in, gates * units), gates reordered by
    `reorder` (LSTM's i, f, g, o already are Keras's i, f, c, o)."""
    to_keras = lambda a: reorder(_check_gates(a, gates)).T  # noqa: E731
    to_torch = lambda k: reorder(k.T)  # noqa: E731
    return Twin(name, [one_to_one("kernel", "weight_ih", 2, to_keras, to_torch),
                       one_to_one("recurrent_kernel", "weight_hh", 2, to_keras, to_torch), biases])


def _attention_twin():
    """nn.MultiheadAttention: in_proj_weight (3E, E) holds q, k, v (E = heads * head_dim, rows
    h * head_dim + d), or q/k/v_proj_weight when kdim/vdim differ; Keras's EinsumDense
    kernels are (in, heads, head_dim) and the output one (heads, head_dim, out)."""
    projections = ("query/kernel", "key/kernel", "value/kernel")
    biases = ("query/bias", "key/bias", "value/bias")
    same_shapes = lambda shapes: len(set(shapes)) == 1  # noqa: E731

    def split_weights(arrays, shapes):
        return [w.T.reshape(s) for w, s in zip(np.split(arrays[0], 3, axis=0), shapes)]

    def separate(target, source):
        return Rule((target,), (source,), lambda arrays, shapes: [arrays[0].T.reshape(shapes[0])],
                    lambda arrays: [arrays[0].reshape(arrays[0].shape[0], -1).T], ndims=(2,))

    def split_biases(arrays, shapes):
        return [b.reshape(s) for b, s in zip(np.split(arrays[0], 3), shapes)]

    def output_kernel(arrays, shapes):
        return [arrays[0].T.reshape(shapes[0])]
    return Twin("MultiheadAttention", [
        Rule(projections, ("in_proj_weight",), split_weights,
             lambda arrays: [np.concatenate([k.reshape(k.shape[0], -1).T for k in arrays])],
             ndims=(2,), exports=same_shapes),
        separate("query/kernel", "q_proj_weight"), separate("key/kernel", "k_proj_weight"),
        separate("value/kernel", "v_proj_weight"),
        Rule(biases, ("in_proj_bias",), split_biases,
             lambda arrays: [np.concatenate([b.ravel() for b in arrays])], ndims=(1,)),
        Rule(("attention_output/kernel",), ("out_proj.weight",), output_kernel,
             lambda arrays: [arrays[0].reshape(-1, arrays[0].shape[-1]).T], ndims=(2,)),
        one_to_one("attention_output/bias", "out_proj.bias", 1)])


def _twins():
    """unikeras layer class -> its torch twin."""
    c, n, r = convolution, normalization, recurrent
    twins = {Dense: Twin("Linear", [_transposed("kernel", "weight"),
                                    one_to_one("bias", "bias", 1)]),
             n.BatchNormalization: Twin("BatchNorm", [
                 one_to_one("gamma", "weight", 1), one_to_one("beta", "bias", 1),
                 one_to_one("moving_mean", "running_mean", 1),
                 one_to_one("moving_variance", "running_var", 1)], kinds=("_BatchNorm",)),
             n.LayerNormalization: _affine_twin("LayerNorm", None),
             n.GroupNormalization: _affine_twin("GroupNorm"),
             n.RMSNormalization: Twin("RMSNorm", [one_to_one("scale", "weight")]),
             embedding.Embedding: Twin("Embedding", [one_to_one("embeddings", "weight", 2)]),
             r.LSTM: _recurrent_twin("LSTM", 4, _summed_biases()),
             r.SimpleRNN: _recurrent_twin("RNN", 1, _summed_biases()),
             r.GRU: _recurrent_twin("GRU", 3, _gru_biases(), _swap_first_gates),
             attention.MultiHeadAttention: _attention_twin()}
    for d in (1, 2, 3):
        twins[getattr(c, f"Conv{d}D")] = _conv_twin(f"Conv{d}d", d + 2)
        twins[getattr(c, f"Conv{d}DTranspose")] = _conv_twin(f"ConvTranspose{d}d", d + 2)
    for d in (1, 2):
        twins[getattr(c, f"DepthwiseConv{d}D")] = _conv_twin(f"Conv{d}d(groups=in_channels)", d + 2,
                                                             _depthwise_kernel, f"Conv{d}d")
    return twins


TORCH_TWINS = _twins()


def _as_numpy(value):
    """A torch tensor (any device, bfloat16 too) or array-like as a NumPy array."""
    if hasattr(value, "detach"):
        value = value.detach().cpu()
        if str(value.dtype) == "torch.bfloat16":
            value = value.float()
        return value.numpy()
    return np.asarray(value)


def _state_of(state_dict_or_module):
    """(state_dict, {module prefix: its class names} when a module was given, else None)."""
    if hasattr(state_dict_or_module, "state_dict") and callable(state_dict_or_module.state_dict):
        kinds = {prefix: tuple(c.__name__ for c in type(m).__mro__)
                 for prefix, m in state_dict_or_module.named_modules()}
        return state_dict_or_module.state_dict(), kinds
    if not hasattr(state_dict_or_module, "items"):
        raise TypeError(f"expected a torch state_dict (a mapping of names to tensors) or a "
                        f"torch.nn.Module, got {type(state_dict_or_module).__name__}.")
    return state_dict_or_module, None


def _source_units(state_dict, kinds=None):
    """The state_dict as one unit per module, in its order: a recurrent module gives one unit
    per layer and direction (`weight_ih_l1_reverse` -> unit 'lstm (layer 1, reverse)', name
    `weight_ih`); a MultiheadAttention takes in its `out_proj` child. `num_batches_tracked`
    (a counter, no weight) is left out."""
    units = collections.OrderedDict()
    for key, value in state_dict.items():
        module, _, name = key.rpartition(".")
        if name == "num_batches_tracked":
            continue
        rnn = _RNN_KEY.match(name)
        parent, _, child = module.rpartition(".")
        if rnn:
            layer, reverse = rnn.group(3), bool(rnn.group(4))
            unit_id = (module, layer, reverse)
            label = f"'{module}' (layer {layer}{', reverse' if reverse else ''})"
            name = f"{rnn.group(1)}_{rnn.group(2)}"
        elif child == "out_proj" and (parent, None, False) in units and any(
                p in units[(parent, None, False)].tensors for p in _PROJECTION_NAMES):
            unit_id, label, name = (parent, None, False), None, f"out_proj.{name}"
        else:
            unit_id, label = (module, None, False), f"'{module}'" if module else "(top level)"
        if unit_id not in units:
            kind = kinds.get(unit_id[0]) if kinds else None
            path = unit_id[0].split(".")
            units[unit_id] = native_weights.SourceUnit(label, path=path, kinds=kind)
        units[unit_id].tensors[name] = (key, _as_numpy(value))
    return list(units.values())


def load_torch_state_dict(model, state_dict, mapping=None, strict=True):
    """Load a torch `state_dict` (or a `torch.nn.Module`'s) into `model`, a unikeras model of
    the same architecture, converting each tensor to Keras's layout.

    Torch modules pair with the model's layers that hold weights, both in order: Linear with
    Dense, Conv1d/2d/3d and ConvTranspose1d/2d/3d with Conv*D and Conv*DTranspose,
    Conv*d(groups=in_channels) with DepthwiseConv*D, BatchNorm*d, LayerNorm, GroupNorm, RMSNorm
    and Embedding with their namesakes, LSTM/GRU/RNN with LSTM/GRU(reset_after=True)/
    SimpleRNN (one layer per torch layer, a `Bidirectional` per bidirectional layer; the two
    torch biases summed where Keras keeps one), MultiheadAttention with MultiHeadAttention.
    Hyperparameters are not checked: build the twin with torch's (`epsilon=1e-5`,
    `padding`, ...).

    `mapping` ({torch key: unikeras weight path or layer path, or None}) pairs keys
    explicitly and drops the ones mapped to None. With `strict`, every weight must get a value
    and every key must be used. Any mismatch raises one ValueError listing all of them, and
    leaves the model unchanged. Returns `(missing_keys, unexpected_keys)`.
    """
    sources = _source_units(*_state_of(state_dict))
    return native_weights.load(model, sources, TORCH_TWINS, mapping, strict,
                               "load_torch_state_dict", "torch")


def _default_key(target, name):
    """`dense.weight`; recurrent layers get torch's `_l0` suffix, and the two layers of a
    Bidirectional share its name (`bidirectional.weight_ih_l0`, `..._l0_reverse`)."""
    prefix = target.path.replace("/", ".")
    if name.startswith(("weight_ih", "weight_hh", "bias_ih", "bias_hh")):
        suffix = "_l0"
        parent = target.parent
        if isinstance(parent, Bidirectional):
            prefix = prefix.rpartition(".")[0] or parent.name
            suffix += "_reverse" if target.layer is parent.backward_layer else ""
        return f"{prefix}.{name}{suffix}"
    return f"{prefix}.{name}"


def export_torch_state_dict(model, template=None):
    """`model`'s weights as a torch state_dict (an OrderedDict of CPU tensors in torch layouts).

    Keys follow `template` (the torch twin module or its state_dict, paired with the model's
    layers in order as `load_torch_state_dict` does, its other entries such as
    `num_batches_tracked` copied), so that `twin.load_state_dict(result)` accepts it; without
    a template they are the layers' paths (`dense.weight`, `lstm.weight_ih_l0`).
    """
    import torch
    units = native_weights.export(model, TORCH_TWINS, "export_torch_state_dict", "torch")
    if template is None:
        return collections.OrderedDict((_default_key(target, name), torch.from_numpy(a))
                                       for target, tensors in units for name, a in tensors)
    template, kinds = _state_of(template)
    sources = _source_units(template, kinds)
    if len(sources) != len(units):
        raise ValueError(f"export_torch_state_dict: the template has {len(sources)} modules with "
                         f"weights, model '{model.name}' {len(units)} layers with torch twins.")
    exported = {}
    for source, (target, tensors) in zip(sources, units):
        for name, array in tensors:
            if name not in source.tensors:
                raise ValueError(f"export_torch_state_dict: template module {source.describe()} "
                                 f"has no '{name}' for {target.describe()}.")
            key, like = source.tensors[name]
            if tuple(like.shape) != array.shape:
                raise ValueError(f"export_torch_state_dict: template '{key}' has shape "
                                 f"{tuple(like.shape)}, {target.describe()} gives {array.shape}.")
            exported[key] = torch.from_numpy(array)
    unfilled = [key for s in sources for key, _ in s.tensors.values() if key not in exported]
    if unfilled:
        raise ValueError(f"export_torch_state_dict: model '{model.name}' has no weights for the "
                         f"template's {unfilled}.")
    return collections.OrderedDict(
        (key, exported.get(key, value)) for key, value in template.items())
