"""JAX implementation of the recurrent-sequence op: `lax.scan` over time of the shared step
(`unikeras.common.ops.recurrent.scan_rnn_sequence`), each step projecting its own input (XLA
on CPU runs that faster than one projection for all steps), behind `jax.jit` so that an
eager call compiles once per configuration and shape."""
import jax

from unikeras.common.ops import recurrent as _def

__all__ = list(_def.IMPL_NAMES)

_STATIC = ("kind", "go_backwards", "return_sequences", "zero_output_for_mask", "activation",
           "recurrent_activation", "reset_after", "project_per_step")

_scan = jax.jit(_def.scan_rnn_sequence, static_argnames=_STATIC)


def rnn_sequence(kind, inputs, initial_states, kernel, recurrent_kernel, bias=None, mask=None,
                 go_backwards=False, return_sequences=False, zero_output_for_mask=False,
                 activation="tanh", recurrent_activation="sigmoid", reset_after=True,
                 recurrent_mask=None):
    _def.check_arguments(kind, inputs, initial_states, kernel, recurrent_kernel, bias, mask,
                         reset_after, recurrent_mask)
    return _scan(kind, inputs, list(initial_states), kernel, recurrent_kernel, bias, mask,
                 go_backwards=go_backwards, return_sequences=return_sequences,
                 zero_output_for_mask=zero_output_for_mask, activation=activation,
                 recurrent_activation=recurrent_activation, reset_after=reset_after,
                 recurrent_mask=recurrent_mask, project_per_step=True)
