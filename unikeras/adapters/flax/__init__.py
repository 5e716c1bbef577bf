"""JAX/Flax adapter: jax op table, runtime, and `to_flax` (layers as flax.nnx.Modules)."""
