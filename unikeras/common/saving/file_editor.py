"""`KerasFileEditor`: inspect and edit the weights stored in a file, then write them back.

It serves the user whose architecture changed after training: rename, drop or add the
weights of a layer in an old file so that it loads into the new model. It opens Keras's
layouts (`.weights.h5`, a sharded `.weights.json`, a `.keras` archive's weights) and
unikeras's (`.safetensors`, a `.unikeras` archive's weights). `weights_dict` is the
file's tree as nested dicts: objects are dicts, weights are NumPy arrays, keyed as the file
keys them (Keras's `layers/dense` -> `{"0": kernel, "1": bias}`; unikeras's
`dense/kernel`). Editing changes only this in-memory copy; `save` writes a new file.
"""
import io
import json
import os

import numpy as np

KERAS_LAYOUT, UNIKERAS_LAYOUT = "keras", "unikeras"
_SUFFIXES = {".weights.h5": KERAS_LAYOUT, ".weights.json": KERAS_LAYOUT, ".keras": KERAS_LAYOUT,
             ".safetensors": UNIKERAS_LAYOUT, ".unikeras": UNIKERAS_LAYOUT}
_WRITABLE = {".weights.h5": KERAS_LAYOUT, ".safetensors": UNIKERAS_LAYOUT}


def _suffix(filepath, table, action):
    for suffix, layout in table.items():
        if filepath.endswith(suffix):
            return suffix, layout
    raise ValueError(f"KerasFileEditor.{action}: {filepath!r} must end in one of "
                     f"{sorted(table)}.")


def read_flat(filepath):
    """`(layout, {key: array})` of every weight stored in `filepath`."""
    from unikeras.common.saving import archive, keras_archive, keras_h5, sharded, weights
    suffix, layout = _suffix(filepath, _SUFFIXES, "__init__")
    if not os.path.isfile(filepath):
        raise FileNotFoundError(f"KerasFileEditor: no file {filepath!r}.")
    if suffix == ".weights.h5":
        return layout, keras_h5.read(filepath)
    if suffix == ".weights.json":
        return layout, sharded.read_sharded(filepath)
    if suffix == ".keras":
        member = keras_archive.WEIGHTS
        data = archive.read_members(filepath, {member: keras_archive.MAX_WEIGHTS_BYTES})[member]
        return layout, keras_h5.read(io.BytesIO(data), name=f"{filepath}/{member}")
    if suffix == ".safetensors":
        return layout, weights.read_safetensors(filepath)
    data = archive.read_members(filepath, {archive.WEIGHTS: archive.MAX_WEIGHTS_BYTES})
    return layout, archive.read_tensors(filepath, data[archive.WEIGHTS])


def _split(key, layout):
    """`(object path parts, weight name)` of a flat key (Keras's `.../vars/<i>` keys drop
    their `vars` level, as Keras's own editor shows them)."""
    parts = key.split("/")
    if layout == KERAS_LAYOUT and len(parts) >= 2 and parts[-2] == "vars":
        return parts[:-2], parts[-1]
    return parts[:-1], parts[-1]


def _join(path, name, layout):
    return "/".join(path + (["vars", name] if layout == KERAS_LAYOUT else [name]))


class KerasFileEditor:
    """Open `filepath`'s weights for inspection and editing.

    Objects are named by their path in the file (`"layers/dense_1"`, or `"dense_1"` for a
    unikeras file) or, when unambiguous, by their last part alone (`"dense_1"`)."""

    def __init__(self, filepath):
        self.filepath = os.fspath(filepath)
        self.layout, flat = read_flat(self.filepath)
        self.weights_dict = {}
        for key, array in flat.items():
            path, name = _split(key, self.layout)
            node = self.weights_dict
            for part in path:
                node = node.setdefault(part, {})
            node[name] = np.asarray(array)

    # --- reading -------------------------------------------------------------------------
    def _objects(self):
        """`(path parts, dict)` of every object of the tree, depth first."""
        found = []

        def visit(node, path):
            for key, value in node.items():
                if isinstance(value, dict):
                    found.append((path + [key], value))
                    visit(value, path + [key])
        visit(self.weights_dict, [])
        return found

    def _flat(self):
        """The edited weights as `{file key: array}`, in tree order."""
        flat = {}

        def visit(node, path):
            for key, value in node.items():
                if isinstance(value, dict):
                    visit(value, path + [key])
                else:
                    flat[_join(path, key, self.layout)] = value
        visit(self.weights_dict, [])
        return flat

    def _resolve(self, object_name):
        """The path parts of the object `object_name` names (a path, or a unique last part)."""
        if not isinstance(object_name, str) or not object_name.strip("/"):
            raise ValueError(f"KerasFileEditor: an object name must be a non-empty string, got "
                             f"{object_name!r}.")
        parts = object_name.strip("/").split("/")
        objects = self._objects()
        exact = [path for path, _ in objects if path == parts]
        if exact:
            return exact[0]
        if len(parts) == 1:
            matches = [path for path, _ in objects if path[-1] == parts[0]]
            if len(matches) == 1:
                return matches[0]
            if matches:
                raise ValueError(f"KerasFileEditor: {object_name!r} names several objects of "
                                 f"{self.filepath!r}: {['/'.join(m) for m in matches]}; give "
                                 "the full path.")
        raise ValueError(f"KerasFileEditor: no object {object_name!r} in {self.filepath!r}; "
                         "editor.summary() lists its objects.")

    def _node(self, parts):
        node = self.weights_dict
        for part in parts:
            node = node[part]
        return node

    def summary(self):
        """Print every object that holds weights, with each weight's shape and dtype."""
        lines = [f"Weights of {self.filepath!r} ({self.layout} layout)"]
        for path, node in self._objects():
            weights = [(k, v) for k, v in node.items() if not isinstance(v, dict)]
            if weights:
                lines.append("/".join(path))
                lines += [f"    {k}: shape={tuple(v.shape)}, dtype={v.dtype}" for k, v in weights]
        print("\n".join(lines))

    def compare(self, reference_model):
        """Check the file's model weights (the optimizer state aside) against
        `reference_model`'s: prints each difference and returns `{"status": "success" |
        "error", "error_count": n, "match_count": m}`."""
        from unikeras.common.saving import keras_h5
        from unikeras.common.saving.weights import weight_paths
        if self.layout == KERAS_LAYOUT:
            expected = keras_h5.variable_keys(reference_model, include_optimizer=False)
        else:
            expected = weight_paths(reference_model)
        expected = {key: tuple(v.shape) for key, v in expected}
        stored = {k: tuple(a.shape) for k, a in self._flat().items()
                  if not k.startswith("optimizer/")}
        errors = [f"missing in the file: {k} (shape {expected[k]})"
                  for k in expected if k not in stored]
        errors += [f"not in the model: {k} (shape {stored[k]})"
                   for k in stored if k not in expected]
        errors += [f"shape mismatch for {k}: {stored[k]} in the file, {expected[k]} in the model"
                   for k in expected if k in stored and stored[k] != expected[k]]
        matches = sum(1 for k in expected if stored.get(k) == expected[k])
        print("\n".join(errors) if errors else
              f"The file matches model '{reference_model.name}': {matches} weights.")
        return {"status": "error" if errors else "success", "error_count": len(errors),
                "match_count": matches}

    # --- editing -------------------------------------------------------------------------
    def rename_object(self, object_name, new_name):
        """Give the object `object_name` the last path part `new_name`."""
        parts = self._resolve(object_name)
        if not isinstance(new_name, str) or not new_name or "/" in new_name:
            raise ValueError(f"KerasFileEditor.rename_object: the new name must be one path "
                             f"part without '/', got {new_name!r}.")
        parent = self._node(parts[:-1])
        if new_name in parent:
            raise ValueError(f"KerasFileEditor.rename_object: {'/'.join(parts[:-1] + [new_name])!r}"
                             " already exists.")
        renamed = {(new_name if k == parts[-1] else k): v for k, v in parent.items()}
        parent.clear()
        parent.update(renamed)   # the object keeps its position in the file's order

    def delete_object(self, object_name):
        """Remove the object `object_name` and all it holds."""
        parts = self._resolve(object_name)
        del self._node(parts[:-1])[parts[-1]]

    def add_object(self, object_path, weights):
        """Add a new object at `object_path` holding `weights` (a dict of name -> array, or a
        list, named "0", "1", ... as in Keras's layout)."""
        if not isinstance(object_path, str) or not object_path.strip("/"):
            raise ValueError(f"KerasFileEditor.add_object: the path must be a non-empty string, "
                             f"got {object_path!r}.")
        parts = object_path.strip("/").split("/")
        node = self.weights_dict
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError(f"KerasFileEditor.add_object: {part!r} of {object_path!r} is a "
                                 "weight, not an object.")
        if parts[-1] in node:
            raise ValueError(f"KerasFileEditor.add_object: {object_path!r} already exists; use "
                             "add_weights to add weights to it.")
        node[parts[-1]] = self._arrays(weights, {}, "add_object")

    def add_weights(self, object_name, weights):
        """Add `weights` (a dict of name -> array) to the existing object `object_name`."""
        node = self._node(self._resolve(object_name))
        node.update(self._arrays(weights, node, "add_weights"))

    def delete_weight(self, object_name, weight_name):
        """Remove the weight `weight_name` from the object `object_name`."""
        parts = self._resolve(object_name)
        node = self._node(parts)
        if weight_name not in node or isinstance(node[weight_name], dict):
            names = [k for k, v in node.items() if not isinstance(v, dict)]
            raise ValueError(f"KerasFileEditor.delete_weight: object {'/'.join(parts)!r} has "
                             f"no weight {weight_name!r}; it has {names}.")
        del node[weight_name]

    @staticmethod
    def _arrays(weights, existing, action):
        if isinstance(weights, (list, tuple)):
            weights = {str(i): w for i, w in enumerate(weights)}
        if not isinstance(weights, dict) or not weights:
            raise ValueError(f"KerasFileEditor.{action}: weights must be a non-empty dict of "
                             f"name -> array (or a list), got {type(weights).__name__}.")
        arrays = {}
        for name, value in weights.items():
            if not isinstance(name, str) or not name or "/" in name:
                raise ValueError(f"KerasFileEditor.{action}: weight names must be strings "
                                 f"without '/', got {name!r}.")
            if name in existing:
                raise ValueError(f"KerasFileEditor.{action}: a weight {name!r} exists already.")
            array = np.asarray(value)
            if array.dtype.kind not in "fiub":
                raise ValueError(f"KerasFileEditor.{action}: weight {name!r} must be numeric, "
                                 f"got dtype {array.dtype}.")
            arrays[name] = array
        return arrays

    # --- writing -------------------------------------------------------------------------
    def save(self, filepath):
        """Write the edited weights atomically to a new weights file of the same layout:
        `.weights.h5` for Keras's, `.safetensors` for unikeras's."""
        from unikeras.common.saving import keras_h5
        from unikeras.common.saving.atomic import write_atomically
        filepath = os.fspath(filepath)
        suffix, layout = _suffix(filepath, _WRITABLE, "save")
        if layout != self.layout:
            other = next(s for s, lay in _WRITABLE.items() if lay == self.layout)
            raise ValueError(f"KerasFileEditor.save: the weights are in {self.layout}'s layout; "
                             f"write them to a '{other}' file, not {filepath!r}.")
        flat = self._flat()
        if layout == UNIKERAS_LAYOUT:
            from safetensors.numpy import save
            tensors = {k: np.ascontiguousarray(a) for k, a in flat.items()}
            metadata = {"format": "unikeras", "order": json.dumps(list(tensors))}
            write_atomically(filepath, save(tensors, metadata=metadata))
            return
        groups = {}
        for key, array in flat.items():
            path, name = _split(key, layout)
            groups.setdefault("/".join(path), {})[name] = array
        write_atomically(filepath, keras_h5.to_bytes(
            [(path, path.rsplit("/", 1)[-1] or None, arrays) for path, arrays in groups.items()]))

    resave_weights = save
