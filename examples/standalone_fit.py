"""For Keras users: unikeras as Keras itself. A small convnet on scikit-learn's digits with
`model.fit` and the usual callbacks (EarlyStopping, ModelCheckpoint, ReduceLROnPlateau,
CSVLogger), evaluated, saved as a `.unikeras` archive and loaded back with identical
predictions. Runs on the default backend (`UNIKERAS_BACKEND`: torch, jax or tensorflow).

Usage: python examples/standalone_fit.py [output_dir]   (default: a new temporary folder)
"""
import os
import sys
import tempfile

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import unikeras as keras
from unikeras import layers


def build_model():
    inputs = keras.Input((8, 8, 1), name="image")
    x = layers.Conv2D(16, 3, padding="same", activation="relu")(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.2)(x)
    x = layers.Dense(64, activation="relu")(x)
    outputs = layers.Dense(10, activation="softmax", name="digit")(x)
    return keras.Model(inputs, outputs, name="digits_convnet")


def main(output_dir):
    keras.utils.set_random_seed(0)
    digits = load_digits()
    images = (digits.images / 16.0).astype("float32")[..., None]
    x_train, x_test, y_train, y_test = train_test_split(
        images, digits.target, test_size=0.25, random_state=0, stratify=digits.target)

    print(f"backend: {keras.config.backend()}")
    model = build_model()
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    best_path = os.path.join(output_dir, "best.safetensors")
    callbacks = [
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True),
        keras.callbacks.ModelCheckpoint(best_path, monitor="val_accuracy", save_best_only=True,
                                        save_weights_only=True),
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2),
        keras.callbacks.CSVLogger(os.path.join(output_dir, "history.csv")),
    ]
    history = model.fit(x_train, y_train, batch_size=32, epochs=12, validation_split=0.15,
                        callbacks=callbacks, verbose=0)
    epochs = len(history.history["loss"])
    print(f"trained {epochs} epochs, best val_accuracy {max(history.history['val_accuracy']):.4f}, "
          f"final learning rate {float(np.asarray(model.optimizer.learning_rate)):.2e}")

    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"test accuracy: {accuracy:.4f} (loss {loss:.4f})")

    archive = os.path.join(output_dir, "digits_convnet.unikeras")
    model.save(archive)
    restored = keras.saving.load_model(archive)
    diff = float(np.max(np.abs(restored.predict(x_test, verbose=0) - model.predict(x_test, verbose=0))))
    print(f"reloaded from {archive}: max |prediction diff| = {diff:.1e}")
    print(f"files: {sorted(os.listdir(output_dir))}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="standalone_fit_"))
