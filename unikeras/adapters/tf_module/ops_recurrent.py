"""TensorFlow implementation of the recurrent-sequence op: a `tf.while_loop` over time of the
shared step (`unikeras.common.ops.recurrent.scan_rnn_sequence` on `control.scan`), each step
projecting its own input (faster than slicing a projection made for all steps, with and
without XLA), traceable by `tf.function` and differentiable under `GradientTape`."""
from unikeras.common.ops import recurrent as _def

__all__ = list(_def.IMPL_NAMES)


def rnn_sequence(kind, inputs, initial_states, kernel, recurrent_kernel, bias=None, mask=None,
                 go_backwards=False, return_sequences=False, zero_output_for_mask=False,
                 activation="tanh", recurrent_activation="sigmoid", reset_after=True,
                 recurrent_mask=None):
    _def.check_arguments(kind, inputs, initial_states, kernel, recurrent_kernel, bias, mask,
                         reset_after, recurrent_mask)
    return _def.scan_rnn_sequence(kind, inputs, initial_states, kernel, recurrent_kernel, bias,
                                  mask, go_backwards, return_sequences, zero_output_for_mask,
                                  activation, recurrent_activation, reset_after, recurrent_mask,
                                  project_per_step=True)
