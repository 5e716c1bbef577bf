"""What `compile(loss=..., metrics=...)` was given, matched to the model's outputs.

A model's outputs have names (`output_names`): the keys of a dict of outputs (sorted, as
the flattening order), else the names of the layers that produce them. Losses, loss
weights, metrics and sample weights may be given once for every output, as a list in
output order or as a dict by output name, as in Keras. With several outputs the logs name
each part `<output>_loss`, `<output>_<metric>`.
"""
from unikeras.common import tree
from unikeras.common.ops import dispatch


def output_names(model):
    """The names of the model's outputs, in flattened order."""
    struct = getattr(model, "_outputs_struct", None)
    if isinstance(struct, dict):
        return sorted(struct)
    outputs = getattr(model, "outputs", None)
    if not outputs:
        return ["output"]
    names = []
    for i, t in enumerate(outputs):
        history = getattr(t, "_history", None)
        names.append(history[0].operation.name if history else f"output_{i}")
    return names


def per_output(spec, names, what, allow_single=True):
    """`spec` as a list aligned with `names` (None where an output has none)."""
    if isinstance(spec, dict):
        unknown = sorted(set(spec) - set(names))
        if unknown:
            raise ValueError(f"compile: {what} names unknown outputs {unknown}; the model's "
                             f"outputs are {names}.")
        return [spec.get(n) for n in names]
    if isinstance(spec, (list, tuple)) and len(names) > 1:
        if len(spec) != len(names):
            raise ValueError(f"compile: {what} is a list of {len(spec)} entries but the model "
                             f"has {len(names)} outputs {names}; give one entry per output "
                             "or a dict keyed by output name.")
        return list(spec)
    if not allow_single and len(names) > 1:
        raise ValueError(f"compile: {what} must be a list or a dict for a model with outputs "
                         f"{names}.")
    return [spec] * len(names)


def flat_targets(y, names, what="y", broadcast=False):
    """y (an array, a list in output order, or a dict by output name) as a list aligned with
    `names`. A single array serves every output only with `broadcast` (sample weights); a
    single target for several outputs is an error, not a silent first-output-only loss."""
    if isinstance(y, dict):
        missing = [n for n in names if n not in y]
        if len(names) == 1 and len(y) == 1 and missing:
            return list(y.values())
        if missing and len(y) == len(names):
            raise ValueError(f"{what} has keys {sorted(y)} but the model's outputs are {names}.")
        return [y.get(n) for n in names]
    if isinstance(y, (list, tuple)) and (len(names) > 1 or len(y) == 1):
        if len(y) != len(names):
            raise ValueError(f"{what} has {len(y)} entries but the model has {len(names)} "
                             f"outputs {names}.")
        return list(y)
    if len(names) == 1 or y is None or broadcast:
        return [y] * len(names)
    raise ValueError(f"{what} is a single array but the model has {len(names)} outputs "
                     f"{names}: give a list in output order or a dict by output name.")


def _spec(x):
    from unikeras.common.symbolic import KerasTensor
    return KerasTensor(tuple(x.shape), x.dtype)


class CompileLoss:
    """The compiled loss: one loss per output, weighted and summed."""

    def __init__(self, loss, loss_weights=None):
        self._spec, self._weights_spec = loss, loss_weights
        self.built = False
        self.last_parts = None

    def build(self, names, y_true, y_pred):
        from unikeras.common import losses
        specs = per_output(self._spec, names, "loss")
        self.names = names
        self.losses = [None if s is None else _as_loss(losses.get(s)) for s in specs]
        if all(fn is None for fn in self.losses):
            raise ValueError(f"compile: no loss is given for any of the outputs {names}.")
        weights = self._weights_spec
        weights = [1.0] * len(names) if weights is None else per_output(weights, names,
                                                                           "loss_weights")
        self.weights = [1.0 if w is None else float(w) for w in weights]
        self._check(y_true, y_pred)
        self.built = True

    def _check(self, y_true, y_pred):
        """Run each loss on symbolic specs: a loss that cannot take its output's shape fails
        here, before any weight is touched, with a message naming it."""
        trues, preds = flat_targets(y_true, self.names), tree.flatten(y_pred)
        for name, fn, t, p in zip(self.names, self.losses, trues, preds):
            if fn is None:
                continue
            if t is None:
                raise ValueError(f"Output '{name}' has a loss ({fn.name}) but no target in y.")
            try:
                fn(_spec(t), _spec(p))
            except (ValueError, TypeError) as e:
                raise ValueError(f"Loss '{fn.name}' of output '{name}' cannot take y_true of shape "
                                 f"{tuple(t.shape)} and y_pred of shape {tuple(p.shape)}: {e}") from None

    def __call__(self, y_true, y_pred, sample_weight=None):
        from unikeras.common.ops import numpy as onp
        trues, preds = flat_targets(y_true, self.names), tree.flatten(y_pred)
        weights = flat_targets(sample_weight, self.names, "sample_weight", broadcast=True)
        total, parts = None, []
        for fn, w, t, p, sw in zip(self.losses, self.weights, trues, preds, weights):
            if fn is None:
                continue
            value = fn(t, p, sample_weight=sw)
            parts.append(value)
            term = value if w == 1.0 else onp.multiply(value, w)
            total = term if total is None else onp.add(total, term)
        self.last_parts = parts
        return total

    def pop_parts(self):
        parts, self.last_parts = self.last_parts, None
        return parts


def _as_loss(fn):
    from unikeras.common import losses
    if isinstance(fn, losses.Loss):
        return fn
    return losses.LossFunctionWrapper(fn, name=getattr(fn, "__name__", None))


class CompileMetrics:
    """Metrics (unweighted) and weighted metrics per output."""

    def __init__(self, metrics=None, weighted_metrics=None):
        self._specs, self._weighted_specs = metrics, weighted_metrics
        self._check_names()
        self.metrics, self._pairs = [], []
        self.built = False

    def _check_names(self):
        """Unknown metric names fail at compile time."""
        from unikeras.common import metrics as metrics_module
        for spec in tree.flatten([self._specs, self._weighted_specs]):
            if isinstance(spec, str) and spec not in _INFERRED:
                with dispatch.backend_scope("numpy"):
                    metrics_module.get(spec)

    def build(self, names, y_true, y_pred):
        from unikeras.common import metrics as metrics_module
        trues, preds = flat_targets(y_true, names), tree.flatten(y_pred)
        plain = per_output(self._specs, names, "metrics") if self._specs else [None] * len(names)
        weighted = (per_output(self._weighted_specs, names, "weighted_metrics")
                    if self._weighted_specs else [None] * len(names))
        prefix = len(names) > 1
        for i, name in enumerate(names):
            taken = set()
            for group, is_weighted in ((plain[i], False), (weighted[i], True)):
                for spec in _as_list(group):
                    metric = _resolve(spec, trues[i], preds[i])
                    for variable in metric.variables:   # a metric made before the model
                        variable.move_to_current_backend()
                    if trues[i] is not None:   # state sized by the data: made now, not in a step
                        metrics_module.build_state(metric, trues[i], preds[i])
                    base = metric.name
                    if is_weighted and base in taken:
                        base = "weighted_" + base
                    taken.add(base)
                    metric.name = f"{name}_{base}" if prefix else base
                    self.metrics.append(metric)
                    self._pairs.append((i, is_weighted, metric))
        self.names = names
        self.built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        trues, preds = flat_targets(y_true, self.names), tree.flatten(y_pred)
        weights = flat_targets(sample_weight, self.names, "sample_weight", broadcast=True)
        for i, is_weighted, metric in self._pairs:
            metric.update_state(trues[i], preds[i], sample_weight=weights[i] if is_weighted else None)


def _as_list(group):
    if group is None:
        return []
    return list(group) if isinstance(group, (list, tuple)) else [group]


_INFERRED = ("accuracy", "acc", "crossentropy", "ce")


def _resolve(spec, y_true, y_pred):
    """A metric object; 'accuracy'/'crossentropy' pick the binary, categorical or sparse form
    from the shapes of the target and the prediction, as Keras does."""
    from unikeras.common import metrics as metrics_module
    if spec not in _INFERRED:
        metric = metrics_module.get(spec)
        if not isinstance(metric, metrics_module.Metric):   # a plain function
            metric = metrics_module.MeanMetricWrapper(metric, name=getattr(metric, "__name__", None))
        if isinstance(spec, str) and spec != type(metric).__name__:
            metric.name = spec   # Keras logs a metric given by a name under that name
        return metric
    pred_shape = tuple(y_pred.shape)
    if pred_shape[-1] == 1:
        kind = "binary"
    elif y_true.ndim == len(pred_shape) and y_true.shape[-1] == pred_shape[-1]:
        kind = "categorical"
    else:
        kind = "sparse_categorical"
    suffix = "accuracy" if spec in ("accuracy", "acc") else "crossentropy"
    cls = "".join(part.capitalize() for part in f"{kind}_{suffix}".split("_"))
    return getattr(metrics_module, cls)(name=spec)
