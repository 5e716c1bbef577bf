"""Train an MLP on scikit-learn's digits with `model.fit` on the default backend, then run
the same trained model as a torch.nn.Module, a flax.nnx.Module, a tf.Module and an
OpenVINO compiled model, and report how closely each agrees with the original."""
import importlib.util
import os
import tempfile

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import unikeras as uk
from unikeras import layers


def build_model():
    return uk.Sequential([
        uk.Input((64,)),
        layers.Dense(128, activation="relu"),
        layers.Dropout(0.2),
        layers.Dense(64, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ], name="digits_mlp")


def main():
    if importlib.util.find_spec("openvino"):
        # Imported first on purpose: OpenVINO's usage telemetry (unless opted out with its
        # `opt_in_out --opt_out`) sends an event from a forked process right after import,
        # and JAX warns about any fork once its threads are running.
        import openvino  # noqa: F401
    uk.utils.set_random_seed(0)
    digits = load_digits()
    x = (digits.data / 16.0).astype("float32")
    y = digits.target.astype("int32")
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)

    print(f"default backend: {uk.config.backend()}")
    model = build_model()
    model.summary()
    model.compile(optimizer=uk.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=32, epochs=40, validation_split=0.1, verbose=2,
              callbacks=[uk.callbacks.EarlyStopping(monitor="val_loss", patience=8,
                                                    restore_best_weights=True)])
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"test accuracy: {accuracy:.4f} (loss {loss:.4f})")

    weights_file = os.path.join(tempfile.mkdtemp(), "digits_mlp.safetensors")
    model.save_weights(weights_file)
    print(f"saved weights to {weights_file}")
    reference = model.predict(x_test, verbose=0)

    for name, run in native_runners(model):
        try:
            out = run(x_test)
        except ImportError as e:
            print(f"{name:>10}: skipped ({e})")
            continue
        diff = float(np.max(np.abs(out - reference)))
        same = float(np.mean(out.argmax(-1) == reference.argmax(-1)))
        print(f"{name:>10}: max |diff| = {diff:.2e}, same predicted class on {same:.1%}")


def native_runners(model):
    """(name, fn(x) -> probabilities) for each adapter, importing frameworks lazily."""
    def torch_run(x):
        import torch
        from unikeras.adapters.torch_nn import to_torch
        module = to_torch(model).eval()
        with torch.no_grad():
            return module(torch.from_numpy(x)).numpy()

    def flax_run(x):
        import jax.numpy as jnp
        from unikeras.adapters.flax import to_flax
        module = to_flax(model)
        module.eval()
        return np.asarray(module(jnp.asarray(x)))

    def tf_run(x):
        from unikeras.adapters.tf_module import to_tf  # first: it imports TF without its banner
        import tensorflow as tf
        module = to_tf(model)
        return tf.function(module)(tf.constant(x)).numpy()

    def openvino_run(x):
        from unikeras.adapters import openvino as uov
        return uov.compile(model)(x)

    return [("torch", torch_run), ("flax", flax_run), ("tf", tf_run), ("openvino", openvino_run)]


if __name__ == "__main__":
    main()
