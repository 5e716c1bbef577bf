"""Keras 3's `.weights.h5` layout: one HDF5 group per object of the model tree.

Keras keys each variable by where its owner sits in the tree, not by the owner's name:
a model's layers live under `layers/<snake_case class name>` (`dense`, `dense_1`, ... in
layer order), any other sublayer under the attribute that holds it (`cell`,
`forward_layer`, `query_dense`), and every object's own variables under `<group>/vars/<i>`
in creation order, trainable ones first. The group `vars` carries the owner's name as an
attribute, and a compiled model's optimizer is stored under `optimizer/vars`. h5py is an
optional dependency (the `unikeras[h5]` extra): it is imported only here, on use.
"""
import io
import os

import numpy as np

from unikeras.common.naming import to_snake_case
from unikeras.common.saving.atomic import write_atomically

H5_EXTRA_HINT = "reading and writing '.weights.h5' files needs h5py: pip install 'unikeras[h5]'"


def require_h5py():
    """The h5py module, or an ImportError that names the extra to install."""
    try:
        import h5py
    except ImportError:
        raise ImportError(H5_EXTRA_HINT) from None
    return h5py


def own_variables(obj):
    """An object's own variables in Keras's `vars/<i>` order: trainable first, then the rest."""
    own = list(obj._own_variables)
    return [v for v in own if v.trainable] + [v for v in own if not v.trainable]


def _is_model(layer):
    from unikeras.common.models.model import Model
    return isinstance(layer, Model)


def _attribute_name(parent, child):
    """The name under which `parent` holds `child`: a public property or attribute when
    there is one (as Keras prefers them), else the private attribute."""
    from unikeras.common.layers.layer import Layer
    names = [k for k, v in vars(parent).items() if v is child and k != "_outer"]
    for cls in type(parent).__mro__:
        if cls is Layer:   # Layer's own properties (weights, losses, ...) hold no sublayer
            break
        for k, v in vars(cls).items():
            if isinstance(v, property) and not k.startswith("_") and k not in names:
                try:
                    if v.fget(parent) is child:
                        names.append(k)
                except Exception:   # a property that cannot be computed now holds nothing
                    continue
    if not names:
        return None
    return min(names, key=lambda k: (k.startswith("_"), k))


def _list_attribute(parent, child):
    """The attribute of `parent` holding `child` inside a list/tuple of layers, if any."""
    for k, v in vars(parent).items():
        if k != "_layers" and isinstance(v, (list, tuple)) and any(e is child for e in v):
            return k
    return None


def _container_names(layers):
    """Keras's names inside a list of layers: the snake_case class name, numbered on repeats."""
    used, names = {}, []
    for layer in layers:
        base = to_snake_case(type(layer).__name__)
        n = used.get(base, 0)
        used[base] = n + 1
        names.append(base if n == 0 else f"{base}_{n}")
    return names


def object_groups(model):
    """Every object of `model`'s tree as `(group path, object)`, the model first ("")."""
    groups, seen = [], set()

    def visit(obj, path):
        if id(obj) in seen:
            return
        seen.add(id(obj))
        groups.append((path, obj))
        if _is_model(obj):
            children = list(obj.layers)
            for name, child in zip(_container_names(children), children):
                visit(child, _join(path, "layers", name))
            return
        lists = {}
        for child in obj._layers:
            attribute = _attribute_name(obj, child)
            if attribute is not None:
                visit(child, _join(path, attribute))
                continue
            holder = _list_attribute(obj, child)
            lists.setdefault(holder or "layers", []).append(child)
        for holder, children in lists.items():
            for name, child in zip(_container_names(children), children):
                visit(child, _join(path, holder, name))
    visit(model, "")
    return groups


def _join(*parts):
    return "/".join(p for p in parts if p)


def stored_groups(model, include_optimizer=True):
    """`(group path, owner name, variables)` for every object of the tree in Keras's file
    order, then the optimizer's (`optimizer`) when the model has one and it is wanted."""
    groups = [(path, obj.name, own_variables(obj)) for path, obj in object_groups(model)]
    optimizer = getattr(model, "optimizer", None) if include_optimizer else None
    if optimizer is not None:
        groups.append(("optimizer", optimizer.name, list(optimizer.variables)))
    return groups


def variable_keys(model, include_optimizer=True):
    """`(key, Variable)` for every stored variable: `layers/dense/vars/0`, ... then the
    optimizer's `optimizer/vars/<i>` when the model has one."""
    return [(_join(path, "vars", str(i)), v)
            for path, _, variables in stored_groups(model, include_optimizer)
            for i, v in enumerate(variables)]


def to_bytes(groups):
    """An HDF5 file in Keras's layout, as bytes: `groups` is `(group path, owner name,
    {dataset name: array})` for each object (the `vars` group carries the owner's name)."""
    h5py = require_h5py()
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        for path, owner, arrays in groups:
            group = f.require_group(_join(path, "vars"))
            if owner is not None:
                group.attrs["name"] = owner
            for name, array in arrays.items():
                group.create_dataset(name, data=np.asarray(array))
    return buffer.getvalue()


def model_bytes(model, include_optimizer=True):
    """`model`'s weights (and, unless `include_optimizer=False`, its optimizer state) as the
    bytes of a Keras weights file."""
    return to_bytes([(path, owner, {str(i): v.numpy() for i, v in enumerate(variables)})
                     for path, owner, variables in stored_groups(model, include_optimizer)])


def write(model, filepath, include_optimizer=True):
    """Write `model`'s weights file in Keras's layout atomically (a temporary file in the
    same folder, renamed over `filepath`)."""
    write_atomically(filepath, model_bytes(model, include_optimizer))


class _OutsideData(Exception):
    """A dataset whose bytes live in another file (external storage or a virtual dataset)."""


def read(source, name=None):
    """Every dataset of a Keras weights file as `{key: array}` (e.g. `layers/dense/vars/0`).

    `source` is a path or a binary file object (an archive member read into memory);
    `name` names it in errors. An unreadable or truncated file is an OSError naming it;
    a dataset stored in another file (which could read any local file) is refused."""
    h5py = require_h5py()
    name = name or os.fspath(source)
    stored = {}
    try:
        with h5py.File(source, "r") as f:
            def collect(key, obj):
                if isinstance(obj, h5py.Dataset):
                    if obj.external or obj.is_virtual:
                        raise _OutsideData(key)
                    stored[key] = np.asarray(obj[()])
            f.visititems(collect)
    except _OutsideData as e:
        raise ValueError(f"The Keras weights file {name!r} refers to data outside itself "
                         f"(dataset {e}); such files are refused.") from None
    except (OSError, ValueError, KeyError, RuntimeError, TypeError) as e:
        raise OSError(f"Cannot read the Keras weights file {name!r}: it is not a valid or "
                      f"complete HDF5 file ({type(e).__name__}: {e}).") from None
    return stored
