"""Lambda layers saved by Keras with their Python bytecode (`"class_name": "__lambda__"`).

Loading bytecode runs code from the file, so in safe mode (the default) any such entry
refuses the whole config before anything is built. Outside safe mode (the caller's choice,
never the file's) each entry becomes a function, handed to the Lambda layer by a name
placed in a temporary custom-object scope.
"""
import base64
import builtins
import itertools
import marshal
import types

_counter = itertools.count()


class Prepared:
    """A config with its bytecode entries replaced by names, and name -> function."""

    def __init__(self, config, functions):
        self.config, self.functions = config, functions


def prepare(config, safe_mode):
    """Find `__lambda__` entries in `config`: refuse them in safe mode, else decode them."""
    functions = {}

    def visit(value, owner):
        if isinstance(value, list):
            return [visit(v, owner) for v in value]
        if not isinstance(value, dict):
            return value
        if value.get("class_name") == "__lambda__":
            if safe_mode:
                raise ValueError(
                    f"Layer {owner!r} holds a Lambda function stored as Python bytecode. "
                    "Loading it would run code from the file, which safe mode refuses. If you "
                    "trust the file, pass safe_mode=False to load_model / "
                    "deserialize_keras_object; better, save the function by name "
                    "(register_keras_serializable).")
            name = f"__unsafe_lambda_{next(_counter)}__"
            functions[name] = function_from_bytecode(value.get("config") or {}, owner)
            return name
        inner_owner = value["config"].get("name", owner) if isinstance(
            value.get("config"), dict) else owner
        return {k: visit(v, inner_owner) for k, v in value.items()}

    return Prepared(visit(config, "?"), functions)


def _cell(value):
    return (lambda: value).__closure__[0]


def function_from_bytecode(config, owner):
    """Rebuild a function from Keras's `{"code": base64 marshal, "defaults", "closure"}`."""
    try:
        code = marshal.loads(base64.b64decode(config["code"]))
    except (KeyError, TypeError, ValueError, EOFError) as e:
        raise ValueError(f"Layer {owner!r}: its Lambda bytecode cannot be read ({e}); it may "
                         "come from another Python version.") from None
    if not isinstance(code, types.CodeType):
        raise ValueError(f"Layer {owner!r}: its Lambda bytecode is not a code object.")
    import unikeras
    namespace = {"__builtins__": builtins, "keras": unikeras, "ops": unikeras.ops}
    defaults = tuple(config["defaults"]) if config.get("defaults") is not None else None
    closure = (tuple(_cell(v) for v in config["closure"])
               if config.get("closure") is not None else None)
    return types.FunctionType(code, namespace, code.co_name, defaults, closure)
