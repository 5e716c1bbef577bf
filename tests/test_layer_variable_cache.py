"""Layers cache their variable lists (the training loop reads them every step): every change
of what the lists hold must show at once, and the lists handed out must be fresh copies.
Structure-only checks on the NumPy backend: the cache is backend-free code."""
import numpy as np

import unikeras as uk
from unikeras import layers as L, ops
from unikeras.common.seed_generator import SeedGenerator
from unikeras.common.variables import Variable


def _paths(variables):
    return [v.path.split("/")[-1] if "/" in v.path else v.path for v in variables]


class _Holder(L.Layer):
    """A layer whose sublayer and extra weight are attached after its lists were read."""

    def call(self, x):
        return x


def test_variable_lists_follow_every_change():
    with ops.backend_scope("numpy"):
        model = uk.Sequential([uk.Input((3,)), L.Dense(4, name="d1"), L.BatchNormalization(name="bn")])
        d1, bn = model.layers
        assert len(model.trainable_variables) == 4 and len(model.non_trainable_variables) == 2

        # returned lists are copies: changing one leaves the layer's lists alone
        got = model.trainable_variables
        got.clear()
        assert len(model.trainable_variables) == 4
        assert model.weights is not model.weights

        # a layer's `trainable` flag, both ways
        d1.trainable = False
        assert [v.path for v in model.trainable_variables] == ["bn/gamma", "bn/beta"]
        assert [v.path for v in model.non_trainable_weights][:2] == ["d1/kernel", "d1/bias"]
        d1.trainable = True
        assert len(model.trainable_variables) == 4

        # a variable's `trainable` flag
        d1.bias.trainable = False
        assert d1.bias not in model.trainable_variables
        assert d1.bias in model.non_trainable_variables
        assert [v.path for v in d1.weights] == ["d1/kernel", "d1/bias"]
        d1.bias.trainable = True
        assert d1.bias in model.trainable_variables

        # Sequential.add / pop change the tracked list of sublayers in place
        model.add(L.Dense(2, name="d2"))
        assert [v.path for v in model.trainable_variables][-2:] == ["d2/kernel", "d2/bias"]
        model.pop()
        assert len(model.trainable_variables) == 4 and model._flat_layers() == [d1, bn]

        # sublayers, free variables, seed generators, states and list edits made later
        holder = _Holder(name="holder")
        holder(np.zeros((1, 3), "float32"))
        assert holder.variables == [] and holder._flat_layers() == []
        holder.inner = L.Dense(2, name="inner")
        holder.inner.build((None, 3))
        assert _paths(holder.trainable_weights) == ["kernel", "bias"]
        assert holder._flat_layers() == [holder.inner]
        holder.extra = Variable(np.ones(2, "float32"), trainable=False, name="extra")
        assert holder.non_trainable_weights == [holder.extra]
        holder.seeds = SeedGenerator(3)
        assert holder.seed_variables == [holder.seeds.state]
        state = holder.add_state((2,), name="s")
        assert holder.state_variables == [state]
        assert holder.non_trainable_variables == [holder.extra, holder.seeds.state, state]
        adopted = Variable(np.zeros(1, "float32"), name="adopted")
        holder._own_variables.append(adopted)   # how framework wrappers adopt weights
        assert adopted in holder.trainable_weights
        holder._own_variables.remove(adopted)
        assert adopted not in holder.variables
        holder._layers[0] = L.Dense(1, name="swapped")
        assert holder._flat_layers()[0].name == "swapped"
        holder._layers = [holder.inner]   # assigning a plain list keeps it tracked
        holder._layers.pop()
        assert holder._flat_layers() == [] and holder.trainable_weights == []
