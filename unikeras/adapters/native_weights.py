"""Weights of native modules <-> weights of a unikeras model: the framework-neutral matching
behind `torch_nn.load_torch_state_dict`, `torch_nn.export_torch_state_dict` and
`flax.load_nnx_state`.

A native state is read as a sequence of *source units*: the tensors of one native module
(one layer and direction of a recurrent module), keyed by their local names. The model is
read as a sequence of *target units*: its layers that have a native twin, in weight order.
Units pair up in order (torch) or by fit (nnx, whose states are sorted by name), or through
an explicit `mapping`, and each twin's rules convert tensors between the native layout and
Keras's.
"""
import collections

import numpy as np

from unikeras.common.saving.weights import weight_paths

LoadResult = collections.namedtuple("LoadResult", ["missing_keys", "unexpected_keys"])
LoadResult.__doc__ = """What a non-strict load left out: unikeras weight paths that got no
value, native keys that fed nothing (the fields of torch's `load_state_dict` result)."""


class Rule:
    """Native tensors `sources` <-> unikeras weights `targets` of one layer.

    Targets are weight paths relative to the layer, matched on their last components
    (`kernel` matches `lstm_cell/kernel`). `load(arrays, shapes)` turns the source arrays into
    the target arrays (`shapes`: the targets' shapes in the model); `export(arrays)` goes back.
    `ndims` are the sources' expected ranks (None: any). Where several rules fill the same
    targets (alternative native layouts), `exports(shapes)` picks the one used to export.
    """

    def __init__(self, targets, sources, load, export, ndims=None, exports=None):
        self.targets, self.sources = tuple(targets), tuple(sources)
        self.load, self.export = load, export
        self.ndims = tuple(ndims) if ndims is not None else (None,) * len(self.sources)
        self.exports = exports or (lambda shapes: True)


def one_to_one(target, source, ndim=None, to_keras=None, to_native=None):
    """A rule for one tensor that maps to one weight (through an optional layout change)."""
    to_keras, to_native = to_keras or (lambda a: a), to_native or (lambda a: a)
    return Rule((target,), (source,), lambda arrays, shapes: [to_keras(arrays[0])],
                lambda arrays: [to_native(arrays[0])], ndims=(ndim,))


class Twin:
    """How one unikeras layer type's weights correspond to a native module's tensors;
    `kinds`: the native class names that hold them (default: `native_name`)."""

    def __init__(self, native_name, rules, kinds=None):
        self.native_name, self.rules = native_name, list(rules)
        self.kinds = tuple(kinds or (native_name,))

    def slot_of(self, relative_path):
        """The rule target that a weight path (relative to its layer) fills, or None."""
        parts = relative_path.split("/")
        for rule in self.rules:
            for target in rule.targets:
                if parts[-len(target.split("/")):] == target.split("/"):
                    return target
        return None


class SourceUnit:
    """The tensors of one native module: `tensors` maps local name -> (full key, array);
    `path` its module path (a tuple), `kinds` its class names (its MRO) when known."""

    def __init__(self, name, tensors=None, path=(), kinds=None):
        self.name = name
        self.tensors = tensors if tensors is not None else collections.OrderedDict()
        self.path, self.kinds = tuple(path), kinds

    def describe(self):
        inner = ", ".join(f"{base} {tuple(a.shape)}" for base, (_, a) in self.tensors.items())
        return f"{self.name} ({inner})"


class TargetUnit:
    """A layer of the model with a native twin: `slots` maps rule target -> (weight path,
    index in `model.weights`, shape); `unmatched` lists weight paths no rule fills."""

    def __init__(self, layer, path, parent, twin, slots, unmatched):
        self.layer, self.path, self.parent, self.twin = layer, path, parent, twin
        self.slots, self.unmatched = slots, unmatched

    def describe(self):
        return f"'{self.path}' ({type(self.layer).__name__})"


def twin_of(layer, twins):
    """The twin of `layer`'s class or of its nearest base class that has one."""
    for cls in type(layer).__mro__:
        if cls in twins:
            return twins[cls]
    return None


def target_units(model, twins):
    """(units in weight order, paths of weights that belong to no layer with a twin)."""
    index = {id(v): i for i, v in enumerate(model.weights)}
    units, seen = [], set()

    def visit(layer, path, parent):
        if id(layer) in seen:
            return
        seen.add(id(layer))
        twin = twin_of(layer, twins)
        if twin is None:
            for sub in layer._layers:
                visit(sub, f"{path}/{sub.name}" if path else sub.name, layer)
            return
        slots, unmatched = collections.OrderedDict(), []
        for rel, v in weight_paths(layer):
            slot = twin.slot_of(rel)
            entry = (f"{path}/{rel}" if path else rel, index[id(v)], tuple(v.shape))
            if slot is None or slot in slots:
                unmatched.append(entry[0])
            else:
                slots[slot] = entry
        units.append(TargetUnit(layer, path or layer.name, parent, twin, slots, unmatched))

    visit(model, "", None)
    units.sort(key=lambda u: min([e[1] for e in u.slots.values()], default=len(index)))
    covered = {e[1] for u in units for e in u.slots.values()}
    uncovered = [p for i, (p, _) in enumerate(weight_paths(model)) if i not in covered]
    return units, uncovered


def _apply_mapping(mapping, sources, targets, errors, native):
    """Take the mapped keys out of the automatic order: {native key: weight or layer path,
    or None to drop the key}. Returns (sources, targets, explicit (target, source) pairs)."""
    by_key = {key: (unit, base) for unit in sources for base, (key, _) in unit.tensors.items()}
    by_path = {}
    for t in targets:
        by_path[t.path] = (t, None)
        by_path.update({path: (t, slot) for slot, (path, _, _) in t.slots.items()})
    explicit = collections.OrderedDict()
    for key, dest in mapping.items():
        if key not in by_key:
            errors.append(f"mapping names {key!r}, which is not a key of the {native} state.")
            continue
        unit, base = by_key[key]
        entry = unit.tensors.pop(base)
        if dest is None:
            continue
        if dest not in by_path:
            errors.append(f"mapping sends {key!r} to {dest!r}, which is neither a weight nor a "
                          f"layer with a {native} twin in the model.")
            continue
        target, slot = by_path[dest]
        if slot is not None:
            base = _source_name(target.twin, slot, base)
        pair = explicit.setdefault(id(target), (target, SourceUnit(f"mapping to '{target.path}'")))
        pair[1].tensors[base] = entry
    sources = [u for u in sources if u.tensors]
    targets = [t for t in targets if id(t) not in explicit]
    return sources, targets, list(explicit.values())


def _source_name(twin, slot, base):
    """The local name a mapped tensor plays for weight `slot`: its own name when that feeds
    the slot, else the slot's only source."""
    rules = [r for r in twin.rules if slot in r.targets]
    if any(base in r.sources for r in rules):
        return base
    if len(rules) == 1 and len(rules[0].sources) == 1:
        return rules[0].sources[0]
    return base


def _convert_pair(source, target, native):
    """(arrays by weight index, problems, missing weight paths, unused native keys)."""
    produced, failed, used, problems = {}, set(), set(), []
    if source.kinds is not None and not set(target.twin.kinds) & set(source.kinds):
        return {}, [f"{native} {source.name} is a {source.kinds[0]}; {target.describe()} needs a "
                    f"{target.twin.native_name}."], [], []
    for rule in target.twin.rules:
        if (not all(t in target.slots for t in rule.targets)
                or any(t in produced for t in rule.targets)
                or not all(s in source.tensors for s in rule.sources)):
            continue
        arrays = [source.tensors[s][1] for s in rule.sources]
        shown = ", ".join(f"'{source.tensors[s][0]}' {tuple(a.shape)}"
                          for s, a in zip(rule.sources, arrays))
        wrong_rank = [(s, n) for s, n, a in zip(rule.sources, rule.ndims, arrays)
                      if n is not None and a.ndim != n]
        if wrong_rank:
            (name, ndim), = wrong_rank[:1]
            problems.append(f"{native} {shown} cannot fill {target.describe()}: a "
                            f"{target.twin.native_name} '{name}' is {ndim}-D.")
            failed.update(rule.targets)
            continue
        shapes = [target.slots[t][2] for t in rule.targets]
        try:
            outs = rule.load(arrays, shapes)
        except ValueError as e:
            problems.append(f"{native} {shown} cannot fill {target.describe()}: {e}")
            failed.update(rule.targets)
            continue
        for t, out, shape in zip(rule.targets, outs, shapes):
            path, index, _ = target.slots[t]
            if tuple(out.shape) != shape:
                problems.append(f"{path} has shape {shape} in the model; {native} {shown} gives "
                                f"{tuple(out.shape)}.")
                failed.add(t)
            else:
                produced[t] = (index, out)
        used.update(rule.sources)
    if not produced and not problems and target.slots:
        expected = sorted({s for r in target.twin.rules for s in r.sources})
        problems.append(f"{native} {source.describe()} does not fit {target.describe()}, the twin "
                        f"of {target.twin.native_name} (tensors among {expected}).")
    missing = [path for slot, (path, _, _) in target.slots.items()
               if slot not in produced and slot not in failed] + target.unmatched
    unused = [key for base, (key, _) in source.tensors.items() if base not in used]
    return dict(produced.values()), problems, missing, unused


def pair_in_order(sources, targets, native):
    """The i-th source with the i-th target: (pairs, problems, unpaired sources and targets)."""
    return list(zip(sources, targets)), [], sources[len(targets):], targets[len(sources):]


def _fits(source, target, native):
    produced, problems, missing, unused = _convert_pair(source, target, native)
    return not problems and not missing and not unused


def _index_ordered(a, b):
    """Whether paths `a` and `b` first differ at list indices (so their order is meaningful)."""
    for x, y in zip(a, b):
        if x != y:
            return str(x).isdigit() and str(y).isdigit()
    return False


def pair_by_fit(sources, targets, native):
    """Each target with the first unused source whose type, names and shapes fit it, for
    states whose order is not the definition order (nnx sorts attributes by name). Sources
    that fit equally and are ordered only by attribute names are ambiguous: an error."""
    pairs, problems, used, unpaired = [], [], set(), []
    for target in targets:
        fitting = [i for i, s in enumerate(sources) if i not in used and _fits(s, target, native)]
        rivals = [sources[i].name for i in fitting[1:]
                  if not _index_ordered(sources[fitting[0]].path, sources[i].path)]
        if fitting and rivals:
            problems.append(f"{native} {sources[fitting[0]].name} and {', '.join(rivals)} all fit "
                            f"{target.describe()}: their attribute names do not tell which one "
                            f"it is.")
        elif fitting:
            used.add(fitting[0])
            pairs.append((sources[fitting[0]], target))
        else:
            near = [s for i, s in enumerate(sources)
                    if i not in used and _convert_pair(s, target, native)[1]]
            if near:
                problems.extend(_convert_pair(near[0], target, native)[1])
            unpaired.append(target)
    return pairs, problems, [s for i, s in enumerate(sources) if i not in used], unpaired


def load(model, sources, twins, mapping, strict, caller, native, pairing=pair_in_order):
    """Assign the native `sources` to `model`'s weights; nothing changes unless all is well.

    Raises one ValueError listing every problem: pairs whose tensors do not fit (wrong type,
    rank or shape) always, and with `strict`, also weights left without a value and native
    keys that fed nothing. Returns a `LoadResult` of what was left out."""
    targets, uncovered = target_units(model, twins)
    errors, missing, unexpected, values = [], list(uncovered), [], {}
    if not model.weights:
        raise ValueError(f"{caller}: model '{model.name}' has no weights yet; build it (give it an "
                         f"Input or call it once) before loading.")
    sources, targets, explicit = _apply_mapping(dict(mapping or {}), sources, targets, errors,
                                                native)
    pairs, problems, extra_sources, extra_targets = pairing(sources, targets, native)
    errors.extend(problems)
    for source, target in pairs + [(s, t) for t, s in explicit]:
        produced, problems, left, unused = _convert_pair(source, target, native)
        values.update(produced)
        errors.extend(problems)
        missing.extend(left)
        unexpected.extend(unused)
    if strict:
        errors.extend(f"{native} {s.describe()} fills no layer." for s in extra_sources)
        errors.extend(f"{t.describe()} gets no {native} tensors." for t in extra_targets)
        if missing:
            errors.append(f"weights with no value: {missing}.")
        if unexpected:
            errors.append(f"{native} keys that fed nothing: {unexpected}.")
    missing.extend(path for t in extra_targets for path, _, _ in t.slots.values())
    unexpected.extend(key for s in extra_sources for key, _ in s.tensors.values())
    if errors:
        raise ValueError(f"{caller}: the {native} state does not match model '{model.name}':\n"
                         + "\n".join(f"  - {e}" for e in errors)
                         + f"\nPass mapping={{{native} key: weight or layer path}} to pair "
                           f"tensors explicitly (a None value drops a key), or strict=False to "
                           f"load what fits.")
    weights = model.get_weights()
    for index, array in values.items():
        weights[index] = np.asarray(array, dtype=weights[index].dtype)
    model.set_weights(weights)
    return LoadResult(missing, unexpected)


def export(model, twins, caller, native):
    """[(target unit, [(native local name, array)])] in weight order, in native layouts."""
    targets, uncovered = target_units(model, twins)
    if uncovered:
        raise ValueError(f"{caller}: model '{model.name}' has weights with no {native} twin: "
                         f"{uncovered}.")
    weights, result = model.get_weights(), []
    for target in targets:
        tensors, done = [], set()
        for rule in target.twin.rules:
            shapes = [target.slots[t][2] for t in rule.targets if t in target.slots]
            if (len(shapes) < len(rule.targets) or done & set(rule.targets)
                    or not rule.exports(shapes)):
                continue
            arrays = rule.export([weights[target.slots[t][1]] for t in rule.targets])
            tensors.extend(zip(rule.sources, (np.ascontiguousarray(a) for a in arrays)))
            done.update(rule.targets)
        if target.unmatched:
            raise ValueError(f"{caller}: {target.describe()} has weights no {native} tensor holds: "
                             f"{target.unmatched}.")
        result.append((target, tensors))
    return result
