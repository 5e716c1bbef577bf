"""For Flax users: unikeras layers (an LSTM encoder) as a genuine `flax.nnx.Module` beside an
`nnx.Linear`, trained the nnx way (`nnx.Optimizer` + optax, an `@nnx.jit` train step) on
scikit-learn's digits read as sequences of 8 rows, then evaluated."""
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import unikeras as uk
from unikeras import layers
from unikeras.adapters.flax import to_flax


class RowReader(nnx.Module):
    """Reads an image row by row with a unikeras LSTM, classifies with an nnx.Linear."""

    def __init__(self, rngs):
        encoder = uk.Sequential([
            layers.LSTM(32, return_sequences=True),
            layers.LayerNormalization(),
            layers.GlobalAveragePooling1D(),
            layers.Dropout(0.1),
        ], name="row_encoder")
        self.encoder = to_flax(encoder, input_shape=(None, 8, 8))
        self.head = nnx.Linear(32, 10, rngs=rngs)

    def __call__(self, rows):
        return self.head(self.encoder(rows))


def loss_fn(model, rows, labels):
    logits = model(rows)
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()


@nnx.jit
def train_step(model, optimizer, rows, labels):
    loss, grads = nnx.value_and_grad(loss_fn)(model, rows, labels)
    optimizer.update(model, grads)
    return loss


@nnx.jit
def predict(model, rows):
    return model(rows).argmax(-1)


def main():
    uk.utils.set_random_seed(0)  # the unikeras layers' initial weights and dropout
    digits = load_digits()
    images = (digits.images / 16.0).astype("float32")  # (n, 8 rows, 8 pixels)
    x_train, x_test, y_train, y_test = train_test_split(
        images, digits.target, test_size=0.25, random_state=0, stratify=digits.target)

    model = RowReader(nnx.Rngs(0))
    optimizer = nnx.Optimizer(model, optax.adam(5e-3), wrt=nnx.Param)
    params = nnx.to_flat_state(nnx.state(model, nnx.Param))
    print(f"{sum(p.get_value().size for _, p in params)} parameters: "
          + ", ".join("/".join(path) for path, _ in params))

    rng = np.random.default_rng(0)
    batch_size = 32
    for epoch in range(1, 13):
        model.train()
        losses = []
        permutation = rng.permutation(len(x_train))
        for start in range(0, len(permutation) - batch_size + 1, batch_size):
            batch = permutation[start:start + batch_size]
            losses.append(train_step(model, optimizer, jnp.asarray(x_train[batch]),
                                     jnp.asarray(y_train[batch])))
        if epoch % 3 == 0:
            print(f"epoch {epoch}: train loss {float(np.mean(losses)):.4f}")

    model.eval()
    accuracy = float(np.mean(np.asarray(predict(model, jnp.asarray(x_test))) == y_test))
    print(f"test accuracy: {accuracy:.4f}")


if __name__ == "__main__":
    main()
