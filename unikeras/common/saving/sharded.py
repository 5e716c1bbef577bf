"""Sharded weights in Keras 3's layout, for models too large for one comfortable file.

`save_weights("m.weights.json", max_shard_size=GB)` writes shards `m_00000.weights.h5`,
`m_00001.weights.h5`, ... (each a Keras weights file holding part of the variables) and the
index `m.weights.json`: `{"metadata": {"total_size": bytes}, "weight_map": {"/<group>/vars":
[shard names]}}`, as Keras writes and reads them. Shards are filled in file order up to
the size limit; a single variable larger than the limit gets a shard of its own. Each file
is written atomically and the index last; shards that a replaced index named and the new one
does not are removed after it.

Reading trusts nothing in the index: shard names must be plain file names in the index's
own folder (no path can reach another directory), and the index itself is size-bounded.
"""
import json
import os

import numpy as np

from unikeras.common.saving import keras_h5
from unikeras.common.saving.atomic import write_atomically

INDEX_SUFFIX, SHARD_SUFFIX = ".weights.json", ".weights.h5"
MAX_INDEX_BYTES = 64 * 2**20


def index_path(filepath):
    """The index name for `filepath`: Keras turns a `.weights.h5` name into `.weights.json`."""
    if filepath.endswith(SHARD_SUFFIX):
        return filepath[:-len(SHARD_SUFFIX)] + INDEX_SUFFIX
    if not filepath.endswith(INDEX_SUFFIX):
        raise ValueError(f"save_weights: sharded weights need a file name ending in "
                         f"'{INDEX_SUFFIX}', got {filepath!r}.")
    return filepath


def _plan(entries, limit):
    """Split `(group, owner, name, array)` entries, in order, into shards of at most
    `limit` bytes each (an entry larger than `limit` alone in its shard)."""
    shards, current, size = [], [], 0
    for entry in entries:
        nbytes = entry[3].nbytes
        if current and size + nbytes > limit:
            shards.append(current)
            current, size = [], 0
        current.append(entry)
        size += nbytes
    if current or not shards:
        shards.append(current)
    return shards


def _shard_groups(shard):
    """A shard's entries as `keras_h5.to_bytes` groups, in order."""
    groups = {}
    for group, owner, name, array in shard:
        groups.setdefault(group, (owner, {}))[1][name] = array
    return [(group, owner, arrays) for group, (owner, arrays) in groups.items()]


def save_sharded(model, filepath, max_shard_size):
    """Write `model`'s weights and optimizer state as shards of at most `max_shard_size`
    GB (2**30 bytes) plus their index; returns the index path."""
    if not isinstance(max_shard_size, (int, float)) or max_shard_size <= 0:
        raise ValueError(f"save_weights: max_shard_size must be a positive number of GB, got "
                         f"{max_shard_size!r}.")
    filepath = index_path(filepath)
    folder = os.path.dirname(os.path.abspath(filepath))
    stem = os.path.basename(filepath)[:-len(INDEX_SUFFIX)]
    entries = [(path, owner, str(i), np.asarray(v.numpy()))
               for path, owner, variables in keras_h5.stored_groups(model)
               for i, v in enumerate(variables)]
    weight_map, total = {}, 0
    for number, shard in enumerate(_plan(entries, max_shard_size * 2**30)):
        name = f"{stem}_{number:05d}{SHARD_SUFFIX}"
        write_atomically(os.path.join(folder, name), keras_h5.to_bytes(_shard_groups(shard)))
        for group, _, _, array in shard:
            files = weight_map.setdefault("/" + "/".join(p for p in (group, "vars") if p), [])
            if name not in files:
                files.append(name)
            total += array.nbytes
    previous = _previous_shards(filepath)
    index = {"metadata": {"total_size": float(total)}, "weight_map": weight_map}
    write_atomically(filepath, json.dumps(index, indent=2).encode("utf-8"))
    current = {n for files in weight_map.values() for n in files}
    for name in previous - current:   # shards of the replaced index that nothing names now
        os.remove(os.path.join(folder, name))
    return filepath


def _previous_shards(filepath):
    """The shard names an existing index at `filepath` lists (empty if none or unreadable)."""
    try:
        return set(_shard_names(filepath, _read_index(filepath)))
    except (OSError, ValueError):
        return set()


def _read_index(filepath):
    try:
        with open(filepath, "rb") as f:
            data = f.read(MAX_INDEX_BYTES + 1)
    except FileNotFoundError:
        raise FileNotFoundError(f"load_weights: no file {filepath!r}.") from None
    if len(data) > MAX_INDEX_BYTES:
        raise ValueError(f"The sharded weights index {filepath!r} is larger than "
                         f"{MAX_INDEX_BYTES} bytes; refusing to read it.")
    from unikeras.common.saving.archive import json_member
    index = json_member(filepath, "the sharded weights index", data)
    if not isinstance(index.get("weight_map"), dict):
        raise ValueError(f"The sharded weights index {filepath!r} has no 'weight_map' object.")
    return index


def _shard_names(filepath, index):
    """Every shard file the index names, in order, each checked to be a plain name."""
    names = []
    for group, files in index["weight_map"].items():
        for name in [files] if isinstance(files, str) else files:
            if (not isinstance(name, str) or os.path.basename(name) != name
                    or "\\" in name or "\x00" in name or not name.endswith(SHARD_SUFFIX)):
                raise ValueError(f"The sharded weights index {filepath!r} names shard {name!r} "
                                 f"for {group!r}: shards must be '{SHARD_SUFFIX}' files in the "
                                 "index's own folder.")
            if name not in names:
                names.append(name)
    return names


def read_sharded(filepath):
    """Every variable of a sharded weights file as `{key: array}`, keyed as `keras_h5.read`
    keys a single file; a variable stored in two shards is an error."""
    folder = os.path.dirname(os.path.abspath(filepath))
    stored = {}
    for name in _shard_names(filepath, _read_index(filepath)):
        path = os.path.join(folder, name)
        if not os.path.isfile(path):
            raise OSError(f"The sharded weights index {filepath!r} names {name!r}, which does "
                          "not exist beside it.")
        shard = keras_h5.read(path)
        twice = sorted(set(shard) & set(stored))
        if twice:
            raise ValueError(f"Sharded weights {filepath!r}: {twice} appear in more than one "
                             "shard.")
        stored.update(shard)
    return stored
