"""Weight penalties seen from a native module: `module.losses` follows the module's own
weights (trained there, copied from another backend) and differentiates in its framework."""
import numpy as np
import pytest

import unikeras as uk
from unikeras import layers as L


def _model(backend):
    uk.utils.set_random_seed(0)
    with uk.ops.backend_scope(backend):
        return uk.Sequential([uk.Input((3,)),
                              L.Dense(4, kernel_regularizer=uk.regularizers.L2(0.1), name="d1"),
                              L.ActivityRegularization(l1=0.5, name="act"),
                              L.Dense(2, bias_regularizer=uk.regularizers.L1(0.2), name="d2")])


X = np.arange(6, dtype="float32").reshape(2, 3) / 6.0


def _expected(kernel, bias, activity_input):
    """0.1 * sum(k1^2) + 0.2 * sum|b2| + 0.5 * mean over the batch of sum|h|."""
    return (0.1 * np.sum(kernel ** 2) + 0.2 * np.sum(np.abs(bias))
            + 0.5 * np.sum(np.abs(activity_input)) / activity_input.shape[0])


@pytest.mark.parametrize("model_backend", ["jax", "numpy"])   # weights copied into the host
def test_torch_module_losses_follow_its_parameters(model_backend):
    import torch
    from unikeras.adapters.torch_nn import to_torch
    module = to_torch(_model(model_backend))
    with torch.no_grad():
        module.d1.kernel.mul_(3.0)          # trained in torch: the model's copy is stale
        module.d2.bias.fill_(-0.5)
    x = torch.from_numpy(X)
    module(x)
    losses = module.losses
    assert len(losses) == 3
    k, b = module.d1.kernel.detach().numpy(), module.d1.bias.detach().numpy()
    h = X @ k + b
    np.testing.assert_allclose(float(sum(losses).detach()), _expected(k, module.d2.bias.detach().numpy(), h),
                               rtol=1e-5)
    sum(losses[1:]).backward()   # the weight penalties alone: their gradients by formula
    np.testing.assert_allclose(module.d1.kernel.grad.numpy(), 0.2 * k, rtol=1e-5)
    np.testing.assert_allclose(module.d2.bias.grad.numpy(), np.full(2, -0.2), rtol=1e-6)


def test_tf_module_losses_follow_its_variables_under_gradient_tape():
    import tensorflow as tf
    from unikeras.adapters.tf_module import to_tf
    module = to_tf(_model("torch"))
    module.d1.kernel.assign(module.d1.kernel * 3.0)
    module.d2.bias.assign(tf.fill([2], 0.25))
    with tf.GradientTape() as tape:
        module(tf.constant(X))
        losses = module.losses
        penalty = tf.add_n(losses[1:])
    k, b = module.d1.kernel.numpy(), module.d1.bias.numpy()
    np.testing.assert_allclose(float(tf.add_n(losses)), _expected(k, np.full(2, 0.25), X @ k + b),
                               rtol=1e-5)
    gk, gb = tape.gradient(penalty, [module.d1.kernel, module.d2.bias])
    np.testing.assert_allclose(gk.numpy(), 0.2 * k, rtol=1e-5)
    np.testing.assert_allclose(gb.numpy(), np.full(2, 0.2), rtol=1e-6)


def test_nnx_module_losses_follow_its_params_under_nnx_grad():
    import jax.numpy as jnp
    from flax import nnx
    from unikeras.adapters.flax import to_flax
    module = to_flax(_model("torch"))
    module.d1.kernel.set_value(module.d1.kernel.get_value() * 3.0)
    module.d2.bias.set_value(jnp.full((2,), 0.25))

    def penalty(m):
        m(jnp.asarray(X))
        return sum(m.losses[1:])

    grads = nnx.grad(penalty)(module)
    k = np.asarray(module.d1.kernel.get_value())
    module(jnp.asarray(X))
    np.testing.assert_allclose(float(sum(module.losses)),
                               _expected(k, np.full(2, 0.25), X @ k + np.asarray(module.d1.bias.get_value())),
                               rtol=1e-5)
    np.testing.assert_allclose(np.asarray(grads.d1.kernel.get_value()), 0.2 * k, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(grads.d2.bias.get_value()), np.full(2, 0.2), rtol=1e-6)
