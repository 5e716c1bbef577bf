"""MultiOptimizer: different optimizers for different variables, chosen by an
OptimizerMap (variable path -> optimizer, exact or by regex) or any callable."""
import re
from collections.abc import MutableMapping

from unikeras.common.optimizers.base import Optimizer
from unikeras.common.optimizers.loss_scale_optimizer import LossScaleOptimizer


def _check_inner(optimizer, where):
    if not isinstance(optimizer, Optimizer):
        raise ValueError(f"{where}: expected an Optimizer instance, got {optimizer!r}.")
    if isinstance(optimizer, LossScaleOptimizer):
        raise ValueError(f"{where}: a LossScaleOptimizer cannot be used inside a MultiOptimizer.")
    if isinstance(optimizer, MultiOptimizer):
        raise ValueError(f"{where}: a MultiOptimizer cannot be used inside a MultiOptimizer.")


class OptimizerMap(MutableMapping):
    """Variable path (or regex pattern, matched in full) -> optimizer, with a default."""

    def __init__(self, default_optimizer, optimizer_map=None):
        if not isinstance(default_optimizer, Optimizer):
            raise TypeError("OptimizerMap: default_optimizer must be an Optimizer instance. "
                            f"Received: {default_optimizer!r}")
        if optimizer_map is not None and not isinstance(optimizer_map, dict):
            raise TypeError(f"OptimizerMap: optimizer_map must be a dictionary. Received: "
                            f"{optimizer_map!r}")
        self._default_optimizer = default_optimizer
        self._optimizer_map = dict(optimizer_map or {})

    @property
    def default_optimizer(self):
        return self._default_optimizer

    def __getitem__(self, key):
        """The optimizer for `key`: an exact entry, else the one pattern that fully
        matches, else the default."""
        if key in self._optimizer_map:
            return self._optimizer_map[key]
        matches = [p for p in self._optimizer_map if re.fullmatch(p, key)]
        if len(matches) > 1:
            raise ValueError(f"OptimizerMap: multiple optimizers assigned to variable {key} "
                             f"(patterns {matches}).")
        return self._optimizer_map[matches[0]] if matches else self._default_optimizer

    def __setitem__(self, key, optimizer):
        if key in self._optimizer_map:
            raise ValueError(f"OptimizerMap: '{key}' already exists with value "
                             f"{self._optimizer_map[key]}; keys must be unique.")
        if not isinstance(key, str):
            raise ValueError(f"OptimizerMap: key must be a string. Received: {key!r}")
        _check_inner(optimizer, f"OptimizerMap['{key}']")
        self._optimizer_map[key] = optimizer

    def __delitem__(self, key):
        del self._optimizer_map[key]

    def __len__(self):
        return len(self._optimizer_map)

    def __iter__(self):
        return iter(self._optimizer_map)

    def __call__(self, variable):
        return self[variable.path]

    def get_config(self):
        from unikeras.common.optimizers.serialization import serialize
        return {"default_optimizer": serialize(self._default_optimizer),
                "optimizer_map": {k: serialize(o) for k, o in self._optimizer_map.items()}}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from unikeras.common.optimizers.serialization import deserialize
        default = deserialize(config["default_optimizer"], custom_objects=custom_objects)
        mapping = {k: deserialize(o, custom_objects=custom_objects)
                   for k, o in (config.get("optimizer_map") or {}).items()}
        return cls(default, mapping)


class MultiOptimizer(Optimizer):
    """Dispatch each variable's gradient to the optimizer `optimizer_map(variable)`."""

    def __init__(self, optimizer_map, loss_scale_factor=None, name=None):
        self._inner_optimizers = []
        super().__init__(learning_rate=0.0, loss_scale_factor=loss_scale_factor, name=name)
        self._optimizer_map = optimizer_map
        candidates = list(optimizer_map.values()) if hasattr(optimizer_map, "values") else []
        default = getattr(optimizer_map, "default_optimizer", None)
        if default is not None:
            candidates.append(default)
        for opt in candidates:
            self._add_inner(opt)

    def _add_inner(self, optimizer):
        if not any(optimizer is o for o in self._inner_optimizers):
            optimizer.loss_scale_factor = self.loss_scale_factor
            self._inner_optimizers.append(optimizer)
        return next(i for i, o in enumerate(self._inner_optimizers) if o is optimizer)

    def build(self, var_list):
        if self.built:
            return
        var_list = list(var_list)
        self._var_to_optimizer = {}
        groups = {}
        for var in var_list:
            opt = self._optimizer_map(var)
            _check_inner(opt, f"MultiOptimizer '{self.name}' (variable {var.path})")
            idx = self._add_inner(opt)
            self._var_to_optimizer[id(var)] = idx
            groups.setdefault(idx, []).append(var)
        for idx, variables in sorted(groups.items()):
            self._inner_optimizers[idx].build(variables)
        super().build(var_list)

    @property
    def optimizers(self):
        return self._inner_optimizers

    @property
    def variables(self):
        out = list(self._variables)
        for opt in self._inner_optimizers:
            out.extend(opt.variables)
        return out

    @property
    def learning_rate(self):
        raise AttributeError("Learning rate cannot be accessed on a MultiOptimizer; use the "
                             "individual sub-optimizers instead.")

    @learning_rate.setter
    def learning_rate(self, value):
        raise AttributeError("Learning rate cannot be set on a MultiOptimizer; set it on the "
                             "individual sub-optimizers instead.")

    @property
    def loss_scale_factor(self):
        return getattr(self, "_loss_scale_factor", None)

    @loss_scale_factor.setter
    def loss_scale_factor(self, value):
        self._loss_scale_factor = value
        for opt in self._inner_optimizers:
            opt.loss_scale_factor = value

    @property
    def iterations(self):
        return self._iterations

    def apply(self, grads, trainable_variables=None):
        grads = list(grads)
        if not grads:
            return
        trainable_variables = self._resolve_variables(grads, trainable_variables)
        groups = {}
        for g, v in zip(grads, trainable_variables):
            groups.setdefault(self._var_to_optimizer[id(v)], []).append((g, v))
        for idx, pairs in sorted(groups.items()):
            self._inner_optimizers[idx].apply([g for g, _ in pairs], [v for _, v in pairs])
        self._iterations.assign(self._iterations.value + 1)

    def finalize_variable_values(self, var_list):
        groups = {}
        for v in var_list:
            groups.setdefault(self._var_to_optimizer[id(v)], []).append(v)
        for idx, variables in groups.items():
            self._inner_optimizers[idx].finalize_variable_values(variables)

    def get_config(self):
        from unikeras.common.optimizers.serialization import serialize
        return {"optimizer_map": serialize(self._optimizer_map),
                "loss_scale_factor": self.loss_scale_factor, "name": self.name}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from unikeras.common.optimizers.serialization import deserialize
        config = dict(config)
        config["optimizer_map"] = deserialize(config["optimizer_map"], custom_objects)
        return cls(**config)
