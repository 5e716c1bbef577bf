"""JAX/Flax adapter: jax op table, runtime, and `to_flax` (layers as flax.nnx.Modules)."""


def to_flax(layer, input_shape=None):
    """Materialize a unikeras layer or model as a `flax.nnx.Module` (see `module.to_flax`)."""
    from unikeras.adapters.flax.module import to_flax as _to_flax
    return _to_flax(layer, input_shape)
