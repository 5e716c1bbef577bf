"""TensorFlow adapter: tf op table, runtime, and `to_tf` (layers as tf.Modules)."""
