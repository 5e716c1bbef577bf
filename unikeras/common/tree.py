"""Minimal nested-structure helpers (lists, tuples, dicts) used by models and trainer."""


def flatten(structure):
    """Leaves of `structure` in order; dicts are visited by sorted key."""
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in flatten(item)]
    if isinstance(structure, dict):
        return [leaf for k in sorted(structure) for leaf in flatten(structure[k])]
    return [structure]


def map_structure(fn, structure):
    """Apply `fn` to every leaf, keeping the container types."""
    if isinstance(structure, (list, tuple)):
        mapped = [map_structure(fn, s) for s in structure]
        return type(structure)(mapped) if type(structure) in (list, tuple) else type(structure)(*mapped)
    if isinstance(structure, dict):
        return {k: map_structure(fn, v) for k, v in structure.items()}
    return fn(structure)


def pack_sequence_as(structure, flat):
    """Inverse of `flatten`: rebuild `structure` with the leaves of `flat` (dict values are
    taken in sorted-key order, as `flatten` visits them)."""
    it = iter(flat)

    def pack(s):
        if isinstance(s, (list, tuple)):
            items = [pack(x) for x in s]
            return type(s)(items) if type(s) in (list, tuple) else type(s)(*items)
        if isinstance(s, dict):
            packed = {k: pack(s[k]) for k in sorted(s)}
            return {k: packed[k] for k in s}
        return next(it)
    return pack(structure)


def is_nested(x):
    return isinstance(x, (list, tuple, dict))
