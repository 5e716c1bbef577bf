"""unikeras models used the way a TensorFlow user writes TF code, without tf.keras.

`to_tf(model)` must be a genuine `tf.Module`: trained with `tf.GradientTape` in a
`tf.function` (also `jit_compile=True`) by plain `assign_sub` over `trainable_variables`,
exported with `tf.saved_model` (by hand or `export_saved_model`) and served by a process
without unikeras, checkpointed with `tf.train.Checkpoint`, fed by `tf.data`; a SavedModel
comes back as a layer through `TFSMLayer`. The catalog model (every layer family) is the
main subject; a small MLP checks the details.
"""
import functools
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

import unikeras as uk  # noqa: E402
from unikeras import ops  # noqa: E402
from unikeras.adapters.tf_module import export_saved_model, to_tf  # noqa: E402

from catalog_model import build_catalog_model, sample_tokens  # noqa: E402


def _mlp(dropout=None, seed=None, hidden=16):
    layers = [uk.Input((3,)), uk.layers.Dense(hidden, activation="relu", name="dense")]
    if dropout is not None:
        layers.append(uk.layers.Dropout(dropout, seed=seed, name="drop"))
    layers.append(uk.layers.Dense(1, name="out"))
    return uk.Sequential(layers)


def _data(n=128):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3)).astype("float32")
    w = rng.normal(size=(3, 1)).astype("float32")
    y = (x @ w + 0.3 * np.tanh(x[:, :1])).astype("float32")
    return tf.constant(x), tf.constant(y)


def _numpy_forward(weights, x):
    k1, b1, k2, b2 = weights
    return np.maximum(np.asarray(x) @ k1 + b1, 0) @ k2 + b2


def _sgd_step_fn(module, lr, jit_compile=False):
    @tf.function(jit_compile=jit_compile)
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(module(x) - y))
        grads = tape.gradient(loss, module.trainable_variables)
        for v, g in zip(module.trainable_variables, grads):
            v.assign_sub(lr * g)
        return loss
    return step


def _mse(module, x, y):
    return float(tf.reduce_mean(tf.square(module(x) - y)))


# --- training -------------------------------------------------------------------------------

def test_is_tf_module_with_named_variables():
    module = to_tf(_mlp(dropout=0.5, seed=1))
    assert isinstance(module, tf.Module)
    trainable = module.trainable_variables
    assert len(trainable) == 4
    assert all(isinstance(v, tf.Variable) and v.trainable for v in trainable)
    names = {v.name for v in trainable}
    assert names == {"dense/kernel:0", "dense/bias:0", "out/kernel:0", "out/bias:0"}
    by_name = {v.name: v for v in trainable}
    assert tuple(by_name["dense/kernel:0"].shape) == (3, 16)  # Keras layout (in, out)
    non_trainable = module.non_trainable_variables
    assert [v.name for v in non_trainable] == ["drop/seed_generator_state:0"]
    assert non_trainable[0].dtype == tf.int32
    assert len(module.variables) == 5


def test_trains_with_gradient_tape_and_plain_sgd_in_tf_function():
    module = to_tf(_mlp())
    x, y = _data()
    step = _sgd_step_fn(module, lr=0.05)
    first = _mse(module, x, y)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)
    for _ in range(40):
        for xb, yb in ds:
            loss = step(xb, yb)
    assert np.isfinite(float(loss))
    last = _mse(module, x, y)
    assert last < first / 10, (first, last)
    # get_weights reads the trained tf.Variables; the NumPy math agrees with the module.
    np.testing.assert_allclose(_numpy_forward(module.get_weights(), x), module(x).numpy(),
                               rtol=1e-5, atol=1e-5)


def test_trains_under_jit_compile():
    module = to_tf(_mlp())
    x, y = _data()
    step = _sgd_step_fn(module, lr=0.05, jit_compile=True)
    first = _mse(module, x, y)
    for _ in range(150):
        loss = step(x, y)
    last = _mse(module, x, y)
    assert np.isfinite(float(loss))
    assert last < first / 10, (first, last)

    forward = tf.function(lambda x: module(x), jit_compile=True)
    np.testing.assert_allclose(forward(x).numpy(), module(x).numpy(), rtol=1e-5, atol=1e-6)


def test_gradient_tape_matches_hand_computation():
    model = uk.Sequential([uk.Input((4,)), uk.layers.Dense(2, name="dense")])
    module = to_tf(model)
    rng = np.random.default_rng(1)
    x = tf.constant(rng.normal(size=(5, 4)).astype("float32"))
    t = tf.constant(rng.normal(size=(5, 2)).astype("float32"))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.square(module(x) - t))
    kernel, bias = module.dense.kernel, module.dense.bias
    gk, gb = tape.gradient(loss, [kernel, bias])
    dz = 2 * (x.numpy() @ kernel.numpy() + bias.numpy() - t.numpy())
    np.testing.assert_allclose(gk.numpy(), x.numpy().T @ dz, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gb.numpy(), dz.sum(0), rtol=1e-5, atol=1e-5)


def test_training_flag_and_seed_state_in_tf_function():
    module = to_tf(uk.Sequential([uk.Input((64,)), uk.layers.Dropout(0.5, seed=3, name="drop")]))
    x = tf.ones((4, 64))
    # Keras convention: inference unless training=True.
    np.testing.assert_array_equal(module(x).numpy(), x.numpy())

    @tf.function
    def train_forward(x):
        return module(x, training=True)

    state = module.drop.seed_generator_state
    start = state.numpy().copy()
    a = train_forward(x).numpy()
    np.testing.assert_array_equal(state.numpy(), start + np.array([0, 1], np.int32))
    b = train_forward(x).numpy()
    np.testing.assert_array_equal(state.numpy(), start + np.array([0, 2], np.int32))
    assert set(np.unique(a).tolist()) == {0.0, 2.0}
    assert not np.array_equal(a, b)


# --- saved_model ---------------------------------------------------------------------------

class _Serving(tf.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
    def serve(self, x):
        return {"y": self.inner(x)}


def test_saved_model_save_load_reproduces_outputs(tmp_path):
    module = to_tf(_mlp(dropout=0.5, seed=1))
    x, _ = _data(9)
    expected = module(x).numpy()
    kernel = module.dense.kernel.numpy().copy()
    wrapper = _Serving(module)
    path = str(tmp_path / "saved")
    tf.saved_model.save(wrapper, path, signatures={"serving_default": wrapper.serve})

    # Change the live weights: the export must not depend on them any more.
    for v in module.trainable_variables:
        v.assign(tf.zeros_like(v))

    loaded = tf.saved_model.load(path)
    np.testing.assert_allclose(loaded.serve(x)["y"].numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(loaded.signatures["serving_default"](x=x)["y"].numpy(), expected,
                               rtol=1e-6)
    # Dynamic batch from the input_signature.
    np.testing.assert_allclose(loaded.serve(x[:1])["y"].numpy(), expected[:1], rtol=1e-6)
    # The attribute tree (canonical weight paths) survives the export.
    np.testing.assert_array_equal(loaded.inner.dense.kernel.numpy(), kernel)


# --- tf.train.Checkpoint -------------------------------------------------------------------

def test_checkpoint_save_restore_round_trip(tmp_path):
    module = to_tf(_mlp())
    x, _ = _data(6)
    expected = module(x).numpy()
    ckpt = tf.train.Checkpoint(model=module)
    path = ckpt.save(str(tmp_path / "ckpt"))

    keys = {name for name, _ in tf.train.list_variables(path)}
    assert "model/dense/kernel/.ATTRIBUTES/VARIABLE_VALUE" in keys
    assert "model/out/bias/.ATTRIBUTES/VARIABLE_VALUE" in keys

    for v in module.trainable_variables:
        v.assign(tf.zeros_like(v))
    assert not np.allclose(module(x).numpy(), expected)
    ckpt.restore(path).assert_consumed()
    np.testing.assert_allclose(module(x).numpy(), expected, rtol=1e-6)


def test_weightless_layer_needs_no_input_shape():
    """A Keras Dropout is built at construction: to_tf needs no input shape for it."""
    module = to_tf(uk.layers.Dropout(0.5, seed=2))
    assert [v.name for v in module.non_trainable_variables] == ["seed_generator_state:0"]
    x = tf.ones((4, 64))
    np.testing.assert_array_equal(module(x).numpy(), x.numpy())
    assert set(np.unique(module(x, training=True).numpy()).tolist()) == {0.0, 2.0}


# --- the catalog model: every layer family -------------------------------------------------

def _catalog_module(seed=0):
    model = build_catalog_model("tensorflow", seed=seed)
    return model, to_tf(model)


def _at(module, dotted):
    """The tf.Variable at an attribute path such as 'bn.moving_mean'."""
    return functools.reduce(getattr, dotted.split("."), module)


def _cross_entropy(logits, labels):
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))


def test_catalog_is_a_tf_module_whose_compiled_calls_match_eager():
    model, module = _catalog_module()
    assert isinstance(module, tf.Module)
    assert len(module.trainable_variables) == len(model.trainable_weights) == 20
    assert all(isinstance(v, tf.Variable) and v.trainable for v in module.trainable_variables)
    non_trainable = {id(v) for v in module.non_trainable_variables}
    assert len(non_trainable) == 3  # the BatchNormalization statistics and Dropout's seed state
    for path in ("bn.moving_mean", "bn.moving_variance", "drop.seed_generator_state"):
        assert not _at(module, path).trainable and id(_at(module, path)) in non_trainable, path
    assert _at(module, "drop.seed_generator_state").dtype == tf.int32

    x = tf.constant(sample_tokens(4))
    eager = module(x).numpy()
    reference = build_catalog_model("numpy").predict(x.numpy(), verbose=0)
    np.testing.assert_allclose(eager, reference, rtol=1e-5, atol=1e-6)
    for jit_compile in (False, True):
        compiled = tf.function(lambda t: module(t), jit_compile=jit_compile)
        np.testing.assert_allclose(compiled(x).numpy(), eager, rtol=1e-5, atol=1e-6,
                                   err_msg=f"jit_compile={jit_compile}")


def test_catalog_gradient_tape_matches_torch_autograd():
    import torch
    from unikeras.adapters.torch_nn import to_torch

    model, module = _catalog_module()
    twin = build_catalog_model("torch", seed=1)
    twin.set_weights(model.get_weights())
    torch_module = to_torch(twin).eval()  # torch modules start in training mode
    named = list(torch_module.named_parameters())
    assert len(named) == 20
    x = sample_tokens(4, seed=5)
    target = np.random.default_rng(5).normal(size=(4, 3)).astype("float32")

    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.square(module(tf.constant(x)) - target))
    tf_grads = tape.gradient(loss, [_at(module, name) for name, _ in named])
    torch_loss = torch.sum((torch_module(torch.from_numpy(x)) - torch.from_numpy(target)) ** 2)
    torch_loss.backward()

    np.testing.assert_allclose(float(loss), torch_loss.item(), rtol=1e-5)
    expected = {name: param.grad.numpy() for name, param in named}
    # Each tensor's tolerance scales with it; the floor covers the key bias, whose true
    # gradient is zero (softmax ignores a shift shared by all keys): rounding noise only.
    floor = 1e-7 * max(np.abs(g).max() for g in expected.values())
    for (name, _), grad in zip(named, tf_grads):
        got = tf.convert_to_tensor(grad).numpy()  # the embedding's gradient is IndexedSlices
        np.testing.assert_allclose(got, expected[name], rtol=1e-4,
                                   atol=1e-5 * np.abs(expected[name]).max() + floor, err_msg=name)


def test_catalog_batch_norm_statistics_update_under_training_in_tf_function():
    _, module = _catalog_module()
    x = sample_tokens(6, seed=7)
    np.testing.assert_array_equal(module.bn.moving_mean.numpy(), np.zeros(8, "float32"))
    module(tf.constant(x))  # inference: statistics unchanged
    np.testing.assert_array_equal(module.bn.moving_variance.numpy(), np.ones(8, "float32"))

    tf.function(lambda t: module(t, training=True))(tf.constant(x))
    # Independent NumPy: embedding lookup, same-padded Conv1D + relu, then batch moments.
    embedded = np.pad(module.embed.embeddings.numpy()[x], ((0, 0), (1, 1), (0, 0)))
    kernel, bias = module.conv.kernel.numpy(), module.conv.bias.numpy()
    conv = np.maximum(sum(embedded[:, k:k + x.shape[1]] @ kernel[k] for k in range(3)) + bias, 0)
    momentum = 0.99
    np.testing.assert_allclose(module.bn.moving_mean.numpy(), (1 - momentum) * conv.mean((0, 1)),
                               rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(module.bn.moving_variance.numpy(),
                               momentum + (1 - momentum) * conv.var((0, 1)), rtol=1e-5, atol=1e-7)


def test_catalog_sgd_loop_fed_by_tf_data_reduces_loss():
    model, module = _catalog_module()
    x = sample_tokens(64, seed=11)
    y = np.digitize((x < 20).sum(1), [4, 7]).astype("int32")  # how many small token ids

    @tf.function
    def step(tokens, labels):
        with tf.GradientTape() as tape:
            loss = _cross_entropy(module(tokens, training=True), labels)
        grads = tape.gradient(loss, module.trainable_variables)
        for v, g in zip(module.trainable_variables, grads):
            v.assign_sub(0.5 * tf.convert_to_tensor(g))
        return loss

    first = float(_cross_entropy(module(x), y))
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(64, seed=0).batch(16)
    for _ in range(2):
        for tokens, labels in dataset:
            loss = step(tokens, labels)
    assert np.isfinite(float(loss))
    last = float(_cross_entropy(module(x), y))
    assert last < 0.8 * first, (first, last)
    # The module trained the model's own variables: the model predicts what the module does.
    np.testing.assert_allclose(model.predict(x, verbose=0), module(x).numpy(), rtol=1e-5, atol=1e-6)


def test_catalog_checkpoint_restores_into_a_differently_seeded_module(tmp_path):
    _, src = _catalog_module(seed=0)
    x = tf.constant(sample_tokens(5))
    src(x, training=True)  # moves the statistics and the seed state away from their starts
    path = tf.train.Checkpoint(model=src).write(str(tmp_path / "ckpt"))

    _, dst = _catalog_module(seed=1)
    assert not np.allclose(dst(x).numpy(), src(x).numpy())
    tf.train.Checkpoint(model=dst).read(path).assert_consumed()
    assert [v.name for v in dst.variables] == [v.name for v in src.variables]
    for a, b in zip(dst.variables, src.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.name)
    np.testing.assert_array_equal(dst(x).numpy(), src(x).numpy())


# --- SavedModel: exported, served without unikeras, reloaded as a layer ----------------------

@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The catalog model exported by `export_saved_model` and by hand with
    `tf.saved_model.save`, with token batches of two sizes and the model's outputs."""
    root = tmp_path_factory.mktemp("saved")
    model = build_catalog_model("tensorflow")
    helper = root / "helper"
    helper.mkdir()
    (helper / "stale.txt").write_text("an earlier artifact")  # replaced as a whole
    helper = export_saved_model(model, str(helper))

    module = to_tf(model)
    signature = [tf.TensorSpec([None, 10], tf.int32, name="tokens")]
    serve = tf.function(lambda tokens: {"logits": module(tokens)}, input_signature=signature)
    module.forward_training = tf.function(lambda tokens: module(tokens, training=True),
                                          input_signature=signature)
    native = str(root / "native")
    tf.saved_model.save(module, native, signatures={"serving_default": serve})

    inputs = {f"batch_{n}": sample_tokens(n, seed=n) for n in (1, 7)}
    expected = {k: model.predict(x, verbose=0) for k, x in inputs.items()}
    return {"root": root, "helper": helper, "native": native, "inputs": inputs,
            "expected": expected}


# Runs in a fresh interpreter: TensorFlow alone loads and serves both SavedModels.
_SERVE_SAVED_MODELS = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf
    inputs_path, outputs_path, *paths = sys.argv[1:]
    inputs, outputs, report = np.load(inputs_path), {}, {}
    for i, path in enumerate(paths):
        serving = tf.saved_model.load(path).signatures["serving_default"]
        spec = serving.structured_input_signature[1]["tokens"]
        report[f"model_{i}"] = {"input": [spec.shape.as_list(), spec.dtype.name],
                                "outputs": sorted(serving.structured_outputs)}
        for key in inputs.files:
            for name, value in serving(tokens=tf.constant(inputs[key])).items():
                outputs[f"{i}/{key}/{name}"] = value.numpy()
    np.savez(outputs_path, **outputs)
    report["unikeras_imported"] = "unikeras" in sys.modules
    print(json.dumps(report))
""")


def test_saved_models_are_served_by_a_process_without_unikeras(exported, tmp_path):
    np.savez(tmp_path / "inputs.npz", **exported["inputs"])
    done = subprocess.run([sys.executable, "-c", _SERVE_SAVED_MODELS, str(tmp_path / "inputs.npz"),
                           str(tmp_path / "outputs.npz"), exported["helper"], exported["native"]],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"unikeras_imported": False,
                      "model_0": {"input": [[None, 10], "int32"], "outputs": ["output_0"]},
                      "model_1": {"input": [[None, 10], "int32"], "outputs": ["logits"]}}
    served = np.load(tmp_path / "outputs.npz")
    for key, expected in exported["expected"].items():
        for i, name in ((0, "output_0"), (1, "logits")):
            np.testing.assert_allclose(served[f"{i}/{key}/{name}"], expected, rtol=1e-5, atol=1e-6)


def test_export_saved_model_replaces_whole_or_not_at_all(exported, tmp_path):
    assert sorted(os.listdir(exported["helper"])) == ["assets", "fingerprint.pb", "saved_model.pb",
                                                       "variables"]
    assert sorted(p.name for p in exported["root"].iterdir()) == ["helper", "native"]
    # A failed export leaves the earlier artifact as it was and no staging directory.
    (tmp_path / "artifact").mkdir()
    (tmp_path / "artifact" / "old.txt").write_text("kept")
    wrong = [tf.TensorSpec([None, 10, 2], tf.int32, name="tokens")]
    with pytest.raises(ValueError, match=r"input 'tokens' expects shape \(None, 10\)"):
        export_saved_model(build_catalog_model("tensorflow"), tmp_path / "artifact",
                           input_signature=wrong)
    assert os.listdir(tmp_path) == ["artifact"]
    assert os.listdir(tmp_path / "artifact") == ["old.txt"]


def test_export_saved_model_of_a_two_input_model(tmp_path):
    a, b = uk.Input((3,), name="a"), uk.Input((2,), name="b")
    model = uk.Model([a, b], uk.layers.Dense(1, name="head")(ops.concatenate([a, b], axis=-1)))
    serving = tf.saved_model.load(export_saved_model(model, tmp_path / "two")).signatures[
        "serving_default"]
    specs = serving.structured_input_signature[1]
    assert {k: s.shape.as_list() for k, s in specs.items()} == {"a": [None, 3], "b": [None, 2]}
    rng = np.random.default_rng(2)
    xa, xb = rng.normal(size=(4, 3)).astype("float32"), rng.normal(size=(4, 2)).astype("float32")
    kernel, bias = model.get_weights()
    np.testing.assert_allclose(serving(a=xa, b=xb)["output_0"].numpy(),
                               np.concatenate([xa, xb], -1) @ kernel + bias, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"'free' \(Dense\) has no Input"):
        export_saved_model(to_tf(uk.layers.Dense(2, name="free"), (None, 3)), tmp_path / "x")


def test_tfsm_layer_serves_an_exported_model_inside_sequential(exported):
    from unikeras.adapters import openvino as uov

    x, expected = exported["inputs"]["batch_7"], exported["expected"]["batch_7"]
    with ops.backend_scope("tensorflow"):
        reloaded = uk.layers.TFSMLayer(exported["helper"], name="reloaded")
        by_signature = uk.layers.TFSMLayer(exported["helper"], call_endpoint="serving_default")
        by_hand = uk.layers.TFSMLayer(exported["native"], call_endpoint="serving_default",
                                      call_training_endpoint="forward_training")
        frozen = uk.layers.TFSMLayer(exported["helper"], trainable=False)
        models = [uk.Sequential([uk.Input((10,), dtype="int32"), layer])
                  for layer in (reloaded, by_signature, by_hand)]
    for layer in (reloaded, by_signature, by_hand):
        assert len(layer.trainable_weights) == 20
        assert all(w.trainable for w in layer.trainable_weights)
    # BatchNormalization's statistics; the training endpoint also uses Dropout's seed state.
    assert [w.shape for w in reloaded.non_trainable_weights] == [(8,), (8,)]
    assert sorted(w.dtype for w in by_hand.non_trainable_weights) == ["float32"] * 2 + ["int32"]
    assert frozen.trainable_weights == [] and len(frozen.weights) == 22
    for model, name in zip(models, ("output_0", "output_0", "logits")):
        out = model.predict(x, verbose=0)
        assert list(out) == [name]
        np.testing.assert_allclose(out[name], expected, rtol=1e-5, atol=1e-6)

    # training=True calls the training endpoint: Dropout drops.
    inference = by_hand(tf.constant(x))["logits"].numpy()
    training = by_hand(tf.constant(x), training=True).numpy()
    np.testing.assert_allclose(inference, expected, rtol=1e-5, atol=1e-6)
    assert training.shape == expected.shape and not np.allclose(training, expected, atol=1e-4)

    # Its weights are the variables the SavedModel computes with.
    models[0].set_weights([np.zeros_like(w) for w in models[0].get_weights()])
    np.testing.assert_array_equal(models[0].predict(x, verbose=0)["output_0"], np.zeros((7, 3)))

    with ops.backend_scope("tensorflow"):
        with pytest.raises(ValueError, match=r"no endpoint 'nope'; available: \['serve', "):
            uk.layers.TFSMLayer(exported["helper"], call_endpoint="nope")
        with pytest.raises(ValueError, match=r"no SavedModel at"):
            uk.layers.TFSMLayer(exported["root"] / "missing")
    with ops.backend_scope("torch"), pytest.raises(ValueError, match="tensorflow backend only"):
        uk.layers.TFSMLayer(exported["helper"])
    with pytest.raises(NotImplementedError, match=r"layer 'reloaded' \(TFSMLayer\): op 'call'"):
        uov.to_openvino(models[0])
