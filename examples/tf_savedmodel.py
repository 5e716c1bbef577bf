"""For TensorFlow users: a unikeras model as a genuine `tf.Module`, exported the native way
as a SavedModel with a serving signature (any batch size), then served by a separate Python
process that imports only TensorFlow, never unikeras, and checked against the original.

Usage: python examples/tf_savedmodel.py [output_dir]   (default: a new temporary folder)
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import unikeras as uk
from unikeras import layers, ops
from unikeras.adapters.tf_module import to_tf  # first: it imports TF without its banner
import tensorflow as tf  # noqa: E402

# What a serving process runs: TensorFlow and NumPy only.
SERVER = """
import json, sys
import numpy as np
import tensorflow as tf
export_dir, images_file, out_file = sys.argv[1:]
serve = tf.saved_model.load(export_dir).signatures["serving_default"]
images = np.load(images_file)
full = serve(images=tf.constant(images))["probabilities"].numpy()
few = serve(images=tf.constant(images[:7]))["probabilities"].numpy()  # another batch size
np.save(out_file, full)
print(json.dumps({"batch_sizes": [len(full), len(few)],
                  "few_match_full": bool(np.allclose(few, full[:7], rtol=1e-5, atol=1e-6)),
                  "unikeras_imported": any(m.split(".")[0] == "unikeras" for m in sys.modules)}))
"""


def build_model():
    return uk.Sequential([
        uk.Input((8, 8, 1)),
        layers.Conv2D(16, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(10, activation="softmax"),
    ], name="digits_convnet")


def main(output_dir):
    uk.utils.set_random_seed(0)
    digits = load_digits()
    images = (digits.images / 16.0).astype("float32")[..., None]
    x_train, x_test, y_train, y_test = train_test_split(
        images, digits.target, test_size=0.25, random_state=0, stratify=digits.target)
    with ops.backend_scope("tensorflow"):
        model = build_model()
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(x_train, y_train, batch_size=32, epochs=6, verbose=0)

    module = to_tf(model)  # a tf.Module holding the model's tf.Variables
    serve = tf.function(lambda images: {"probabilities": module(images)})
    signature = serve.get_concrete_function(tf.TensorSpec([None, 8, 8, 1], tf.float32, name="images"))
    export_dir = os.path.join(output_dir, "digits_savedmodel")
    tf.saved_model.save(module, export_dir, signatures={"serving_default": signature})
    print(f"exported {export_dir} (signature inputs: images [None, 8, 8, 1])")
    expected = module(tf.constant(x_test)).numpy()

    images_file = os.path.join(output_dir, "test_images.npy")
    served_file = os.path.join(output_dir, "served.npy")
    np.save(images_file, x_test)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run([sys.executable, "-c", SERVER, export_dir, images_file, served_file],
                            capture_output=True, text=True, env=env, cwd=output_dir, check=False)
    if result.returncode != 0:
        raise SystemExit(f"the serving process failed:\n{result.stderr}")
    report = json.loads(result.stdout.strip().splitlines()[-1])
    served = np.load(served_file)
    print(f"served in a TensorFlow-only process: batch sizes {report['batch_sizes']}, "
          f"unikeras imported there: {report['unikeras_imported']}")
    print(f"test accuracy (served): {np.mean(served.argmax(-1) == y_test):.4f}")
    print(f"max |served - in-process| = {float(np.max(np.abs(served - expected))):.2e}")
    if report["unikeras_imported"] or not report["few_match_full"]:
        raise SystemExit(f"unexpected serving report: {report}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="tf_savedmodel_"))
