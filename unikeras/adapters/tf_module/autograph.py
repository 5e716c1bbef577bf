"""Keep AutoGraph from rewriting unikeras inside `tf.function`s.

Like Keras, unikeras is library code written with ops, not Python control flow on tensors,
so converting it buys nothing, costs tracing time, and exposes it to AutoGraph's own
conversion-cache bugs (methods re-bound with `self` twice). TensorFlow lists the packages it
leaves alone in a private table; unikeras is added there as soon as the adapter loads,
before any function is traced."""


def keep_unikeras_unconverted():
    try:
        from tensorflow.python.autograph.core import config
    except ImportError:  # pragma: no cover - a TensorFlow without the table
        return
    rules = tuple(getattr(config, "CONVERSION_RULES", ()))
    if not any(getattr(rule, "_prefix", None) == "unikeras" for rule in rules):
        config.CONVERSION_RULES = (config.DoNotConvert("unikeras"),) + rules
