"""For teams that train in one framework and serve in another: train on the torch backend,
save the weights to `.safetensors`, load them into the same architecture built on jax,
compile that to OpenVINO for serving, and check that both copies (jax, OpenVINO) predict
what the torch model does. Independent of `UNIKERAS_BACKEND`.

Usage: python examples/train_torch_serve_openvino.py [output_dir]   (default: a temp folder)
"""
import os
import sys
import tempfile

import openvino  # noqa: F401  (first, before JAX starts its threads: see quickstart.py)
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import unikeras as uk
from unikeras import layers, ops
from unikeras.adapters import openvino as uov


def build_model():
    """The architecture, on whichever backend is in scope."""
    return uk.Sequential([
        uk.Input((8, 8, 1)),
        layers.Conv2D(16, 3, padding="same", activation="relu"),
        layers.BatchNormalization(),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dropout(0.2),
        layers.Dense(10, activation="softmax"),
    ], name="digits_convnet")


def main(output_dir):
    uk.utils.set_random_seed(0)
    digits = load_digits()
    images = (digits.images / 16.0).astype("float32")[..., None]
    x_train, x_test, y_train, y_test = train_test_split(
        images, digits.target, test_size=0.25, random_state=0, stratify=digits.target)

    with ops.backend_scope("torch"):
        trained = build_model()
        trained.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                        metrics=["accuracy"])
        trained.fit(x_train, y_train, batch_size=32, epochs=8, verbose=0)
        _, accuracy = trained.evaluate(x_test, y_test, verbose=0)
        reference = trained.predict(x_test, verbose=0)
    print(f"trained on torch: test accuracy {accuracy:.4f}")
    weights_file = os.path.join(output_dir, "digits_convnet.safetensors")
    trained.save_weights(weights_file)
    print(f"saved {weights_file}")

    with ops.backend_scope("jax"):
        served = build_model()
        served.load_weights(weights_file)
        from_jax = served.predict(x_test, verbose=0)
    compiled = uov.compile(served)  # runs in float32 on every CPU
    diffs = {name: float(np.max(np.abs(probabilities - reference)))
             for name, probabilities in (("jax", from_jax), ("openvino", compiled(x_test)))}
    for name, diff in diffs.items():
        print(f"{name:>8} vs torch: max |diff| = {diff:.2e}")
    worst = max(diffs.values())
    print(f"largest disagreement: {worst:.2e} "
          f"(OpenVINO precision {compiled.inference_precision})")
    if worst > 1e-5:
        raise SystemExit(f"the served copies disagree with torch by {worst:.2e} (> 1e-5)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="torch_to_openvino_"))
