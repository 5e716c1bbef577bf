"""Layer states (`Layer.add_state`): a stateful LSTM / GRU carries its states from call to
call on every backend, in compiled predict steps (jax.jit, tf.function), and through the
adapters (`to_torch` buffers, `to_flax` inside `nnx.jit`, `to_tf` inside `tf.function`);
the states are no weights, as in Keras 3 (checked against Keras on the same weights)."""
import re

import numpy as np
import pytest

import unikeras as uk
from unikeras import layers as L, ops
from tests.conftest import FRAMEWORKS, to_backend
from tests.keras_oracle import run_keras_code

B, T, F, UNITS = 2, 6, 3, 4
RNG = np.random.default_rng(11)
X = RNG.standard_normal((B, 2 * T, F)).astype("float32")
X1, X2 = X[:, :T], X[:, T:]
KINDS = {"lstm": (L.LSTM, 2), "gru": (L.GRU, 1)}


def _weights(n_gates):
    rng = np.random.default_rng(n_gates)
    shapes = [(F, n_gates * UNITS), (UNITS, n_gates * UNITS)]
    shapes.append((2, 3 * UNITS) if n_gates == 3 else (n_gates * UNITS,))
    return [(rng.standard_normal(s) * 0.5).astype("float32") for s in shapes]


def _layer(kind, stateful, backend):
    cls, _ = KINDS[kind]
    with ops.backend_scope(backend):
        layer = cls(UNITS, stateful=stateful, return_sequences=True)
        layer(to_backend(X1, backend))
        layer.set_weights(_weights(4 if kind == "lstm" else 3))
        if stateful:
            layer.reset_states()
    return layer


def _np(x):
    return np.asarray(ops.convert_to_numpy(x))


def _whole_sequence(kind):
    """The non-stateful layer on the concatenated sequence: what the two chunks must give."""
    with ops.backend_scope("numpy"):
        return _np(_layer(kind, False, "numpy")(X))


_KERAS = """
L = keras.layers
for kind, cls in (("lstm", L.LSTM), ("gru", L.GRU)):
    layer = cls(4, stateful=True, return_sequences=True)
    layer(arrays["x1"])
    layer.set_weights([arrays[f"{kind}{i}"] for i in range(3)])
    layer.reset_states()
    result[kind + "_x1"] = layer(arrays["x1"])
    result[kind + "_x2"] = layer(arrays["x2"])
    result[kind + "_paths"] = {
        "weights": [w.path for w in layer.weights],
        "non_trainable_weights": [w.path for w in layer.non_trainable_weights],
        "states": [s.path for s in layer.states], "n_get_weights": len(layer.get_weights())}
"""


@pytest.fixture(scope="module")
def keras_side():
    arrays = {"x1": X1, "x2": X2}
    for kind, n in (("lstm", 4), ("gru", 3)):
        arrays.update({f"{kind}{i}": w for i, w in enumerate(_weights(n))})
    return run_keras_code(_KERAS, arrays)


def _unnumbered(paths):
    """Paths without the `_N` suffixes that make layer names unique (a count stays)."""
    return {k: v if isinstance(v, int) else [re.sub(r"_\d+(?=/|$)", "", p) for p in v]
            for k, v in paths.items()}


def test_states_are_no_weights_and_carry_as_in_keras(keras_side):
    for kind in KINDS:
        layer = _layer(kind, True, "numpy")
        mine = {"weights": [w.path for w in layer.weights],
                "non_trainable_weights": [w.path for w in layer.non_trainable_weights],
                "states": [s.path for s in layer.states],
                "n_get_weights": len(layer.get_weights())}
        assert _unnumbered(mine) == _unnumbered(keras_side[kind + "_paths"])
        assert [v.path for v in layer.state_variables] == mine["states"]
        assert all(s in layer.non_trainable_variables for s in layer.states)
        for x, want in zip((X1, X2), (keras_side[kind + "_x1"], keras_side[kind + "_x2"])):
            np.testing.assert_allclose(_np(layer(x)), want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", list(KINDS))
def test_two_chunks_equal_the_whole_sequence_on_every_backend(kind):
    whole = _whole_sequence(kind)
    for backend in FRAMEWORKS:
        layer = _layer(kind, True, backend)
        with ops.backend_scope(backend):
            first = _np(layer(to_backend(X1, backend)))
            second = _np(layer(to_backend(X2, backend)))
            np.testing.assert_allclose(np.concatenate([first, second], 1), whole,
                                       rtol=1e-5, atol=1e-6, err_msg=backend)
            np.testing.assert_allclose(_np(layer.states[0]), whole[:, -1], rtol=1e-5,
                                       atol=1e-6, err_msg=backend)
            layer.reset_state()
            np.testing.assert_allclose(_np(layer(to_backend(X1, backend))), first, rtol=1e-6,
                                       atol=1e-7, err_msg=backend)


@pytest.mark.parametrize("backend", [b for b in FRAMEWORKS if b != "torch"])
def test_compiled_predict_steps_carry_the_states(backend):
    """predict's jax.jit / tf.function step threads the states batch to batch."""
    with ops.backend_scope(backend):
        inputs = uk.Input(batch_shape=(B, T, F))
        model = uk.Model(inputs, L.LSTM(UNITS, stateful=True, return_sequences=True)(inputs))
        model.set_weights(_weights(4))
    got = model.predict(np.concatenate([X1, X2]), batch_size=B, verbose=0)
    whole = _whole_sequence("lstm")
    np.testing.assert_allclose(np.concatenate([got[:B], got[B:]], 1), whole, rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(_np(model.layers[-1].states[0]), whole[:, -1], rtol=1e-5,
                               atol=1e-6)


def test_to_torch_holds_the_states_as_buffers_outside_the_state_dict():
    torch = pytest.importorskip("torch")
    from unikeras.adapters.torch_nn import to_torch
    module = to_torch(_layer("lstm", True, "torch"))
    buffers = dict(module.named_buffers())
    assert sorted(buffers) == ["rnn_state", "rnn_state_1"]
    assert not set(buffers) & set(module.state_dict())
    with torch.no_grad():
        outs = [module(torch.from_numpy(x)).numpy() for x in (X1, X2)]
    whole = _whole_sequence("lstm")
    np.testing.assert_allclose(np.concatenate(outs, 1), whole, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(buffers["rnn_state"].numpy(), whole[:, -1], rtol=1e-5,
                               atol=1e-6)


def test_to_flax_updates_the_states_inside_nnx_jit():
    jax = pytest.importorskip("jax")
    nnx = pytest.importorskip("flax.nnx")
    from unikeras.adapters.flax import to_flax
    from unikeras.adapters.flax.module import LayerState
    module = to_flax(_layer("gru", True, "jax"))
    assert len(nnx.state(module, LayerState)) == 1 and not nnx.state(module, nnx.BatchStat)

    @nnx.jit
    def run(module, x):
        return module(x)

    outs = [np.asarray(run(module, jax.numpy.asarray(x))) for x in (X1, X2)]
    np.testing.assert_allclose(np.concatenate(outs, 1), _whole_sequence("gru"), rtol=1e-5,
                               atol=1e-6)


def test_to_tf_updates_the_states_inside_tf_function():
    tf = pytest.importorskip("tensorflow")
    from unikeras.adapters.tf_module import to_tf
    module = to_tf(_layer("lstm", True, "tensorflow"))
    assert len(module.trainable_variables) == 3 and len(module.variables) == 5
    run = tf.function(module)
    outs = [run(tf.constant(x)).numpy() for x in (X1, X2)]
    np.testing.assert_allclose(np.concatenate(outs, 1), _whole_sequence("lstm"), rtol=1e-5,
                               atol=1e-6)
