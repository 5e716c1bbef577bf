"""Weights of plain flax nnx modules -> the same architecture written in unikeras.

nnx already keeps Keras's layouts (Linear kernels (in, out), Conv kernels HWIO), so only the
names change: `scale` -> `gamma`, `mean` -> `moving_mean`, `embedding` -> `embeddings`, ...
Modules pair with the layers they fit (see `unikeras.adapters.native_weights`).
"""
import collections

import numpy as np

from unikeras.adapters import native_weights
from unikeras.adapters.native_weights import Twin, one_to_one
from unikeras.common.layers import convolution, embedding, normalization
from unikeras.common.layers.core import Dense


def _twins():
    """unikeras layer class -> its nnx twin."""
    n = normalization
    def kernel_and_bias(name, ndim):
        return Twin(name, [one_to_one("kernel", "kernel", ndim), one_to_one("bias", "bias", 1)])

    def scale_and_bias(name):
        return Twin(name, [one_to_one("gamma", "scale"), one_to_one("beta", "bias")])
    twins = {Dense: kernel_and_bias("Linear", 2),
             n.BatchNormalization: Twin("BatchNorm", [
                 one_to_one("gamma", "scale", 1), one_to_one("beta", "bias", 1),
                 one_to_one("moving_mean", "mean", 1), one_to_one("moving_variance", "var", 1)]),
             n.LayerNormalization: scale_and_bias("LayerNorm"),
             n.GroupNormalization: scale_and_bias("GroupNorm"),
             n.RMSNormalization: Twin("RMSNorm", [one_to_one("scale", "scale")]),
             embedding.Embedding: Twin("Embed", [one_to_one("embeddings", "embedding", 2)])}
    for d in (1, 2, 3):
        twins[getattr(convolution, f"Conv{d}D")] = kernel_and_bias("Conv", d + 2)
    return twins


NNX_TWINS = _twins()


def _flat_variables(module_or_state):
    """(path tuple, array, kinds of the owning module or None) for an nnx Module, an nnx
    State or a nested dict of arrays such as `nnx.to_pure_dict(state)`, in nnx's sorted
    order (rng streams left out)."""
    from flax import nnx
    kinds = None
    if isinstance(module_or_state, nnx.Module):
        kinds = {tuple(path): tuple(c.__name__ for c in type(node).__mro__)
                 for path, node in nnx.iter_graph(module_or_state) if isinstance(node, nnx.Module)}
        module_or_state = nnx.state(module_or_state)
    if isinstance(module_or_state, nnx.State):
        pairs = [(tuple(path), v.get_value()) for path, v in nnx.to_flat_state(module_or_state)
                 if not isinstance(v, nnx.RngState)]
    elif isinstance(module_or_state, dict):
        pairs = []

        def visit(node, path):
            for name, value in node.items():
                if isinstance(value, dict):
                    visit(value, path + (name,))
                else:
                    pairs.append((path + (name,), value))
        visit(module_or_state, ())
    else:
        raise TypeError(f"load_nnx_state: expected an nnx.Module, an nnx.State or a nested dict "
                        f"of arrays, got {type(module_or_state).__name__}.")
    return [(path, np.asarray(value), kinds.get(path[:-1]) if kinds else None)
            for path, value in pairs]


def _source_units(variables):
    """One unit per module: the variables that share a path prefix."""
    units = collections.OrderedDict()
    for path, array, kinds in variables:
        module = ".".join(str(p) for p in path[:-1])
        if module not in units:
            units[module] = native_weights.SourceUnit(f"'{module}'" if module else "(top level)",
                                                      path=path[:-1], kinds=kinds)
        units[module].tensors[str(path[-1])] = (".".join(str(p) for p in path), array)
    return list(units.values())


def load_nnx_state(model, nnx_module_or_state, mapping=None, strict=True):
    """Load the weights of a flax nnx module (or its `nnx.state`, or that state's pure dict)
    into `model`, a unikeras model of the same architecture.

    Each layer of the model that holds weights, in order, takes the first nnx module that fits
    it (type, names and shapes): Linear for Dense, Conv for Conv1D/2D/3D, BatchNorm (scale,
    bias, mean, var), LayerNorm, GroupNorm, RMSNorm and Embed for their namesakes. nnx keeps
    attributes sorted by name, not in definition order, so where several modules fit one
    layer and only attribute names order them (not nnx.List/Sequential indices), that is an
    error that asks for `mapping`. Given a State (no module types), a LayerNorm and a GroupNorm
    look alike. Hyperparameters are not checked: build the twin with nnx's (`epsilon=1e-5` for
    BatchNorm, 1e-6 for the other norms, ...).

    `mapping` ({dotted nnx path, e.g. 'layers.0.kernel': unikeras weight or layer path, or
    None}) pairs variables explicitly and drops the ones mapped to None. With `strict`, every
    weight must get a value and every variable must be used. Any mismatch raises one
    ValueError listing all of them, and leaves the model unchanged. Returns
    `(missing_keys, unexpected_keys)`.
    """
    sources = _source_units(_flat_variables(nnx_module_or_state))
    return native_weights.load(model, sources, NNX_TWINS, mapping, strict, "load_nnx_state", "nnx",
                               pairing=native_weights.pair_by_fit)
