"""What every callback module shares: turning logs into Python floats and printing."""
import sys


def pythonify_logs(logs):
    """Logs as a flat dict sorted by key, scalar tensors turned into Python floats."""
    result = {}
    for key, value in sorted((logs or {}).items()):
        if isinstance(value, dict):
            result.update(pythonify_logs(value))
            continue
        try:
            value = float(_to_numpy(value))
        except (TypeError, ValueError):
            pass
        result[key] = value
    return result


def _to_numpy(value):
    from unikeras.common.ops import core, dispatch
    if dispatch.backend_of_type(type(value)) not in (None, dispatch.WEAK):
        return core.convert_to_numpy(value)
    return value


def to_float(value):
    """A Python float from a float, a NumPy or backend scalar, or a Variable."""
    from unikeras.common.variables import Variable
    if isinstance(value, Variable):
        value = value.numpy()
    return float(_to_numpy(value))


def write(message):
    """Write `message` to stdout at once (no newline added)."""
    sys.stdout.write(message)
    sys.stdout.flush()


def print_line(message):
    """Write `message` and a newline to stdout at once."""
    write(message + "\n")
