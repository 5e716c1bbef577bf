"""JAX/Flax adapter: jax op table, runtime, `to_flax` (layers as flax.nnx.Modules),
`functional` (layers as pure jax functions of a pytree), weights from plain nnx twins
(`load_nnx_state`); `unikeras.layers.FlaxLayer` / `JaxLayer` (in `wrapped_layers`) go the
other way, nnx/linen modules and jax functions inside unikeras models."""
from unikeras.adapters.flax.functional import assign_variables, functional  # noqa: F401
from unikeras.adapters.flax.nnx_state import load_nnx_state  # noqa: F401


def to_flax(layer, input_shape=None):
    """Materialize a unikeras layer or model as a `flax.nnx.Module` (see `module.to_flax`)."""
    from unikeras.adapters.flax.module import to_flax as _to_flax
    return _to_flax(layer, input_shape)
