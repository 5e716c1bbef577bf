"""The `unikeras` command: inspect (`summary`), convert (`convert`) and cross-check (`check`)
saved models from a shell.

Exit codes: 0 success, 1 a check over tolerance or a conversion/run that failed, 2 a usage
error (argparse's), 3 a missing, unreadable or invalid model file. Errors go to stderr as
`unikeras: error: <message>`; `--traceback` shows the full traceback instead.

Frameworks are imported only by the commands that need them, so `unikeras --help` is quick.
"""
import argparse
import importlib.util
import os
import sys
import textwrap

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_BAD_FILE = 0, 1, 2, 3

# --to target -> (default suffix of the output, one-line description for --help)
TARGETS = {
    "safetensors": (".safetensors", "weights as a .safetensors file (model.save_weights)"),
    "keras-h5": (".weights.h5", "weights in Keras 3's .weights.h5 layout"),
    "unikeras": (".unikeras", "a .unikeras model archive"),
    "keras": (".keras", "a Keras 3 .keras model archive"),
    "openvino": (".xml", "an OpenVINO IR (.xml and .bin), batch dim dynamic"),
    "saved_model": ("_saved_model", "a TensorFlow SavedModel folder with a 'serving_default' "
                                    "signature, batch dim dynamic"),
    "torch": (".torch.safetensors", "a torch state_dict (torch layouts, keys = layer paths) "
                                    "saved with safetensors.torch, not pickle: load it with "
                                    "safetensors.torch.load_file"),
}
# Backends `check` compares with the NumPy reference: (backend, module that must be installed).
CHECK_BACKENDS = (("torch", "torch"), ("jax", "jax"), ("tensorflow", "tensorflow"))
MODEL_SUFFIXES = (".unikeras", ".keras")


class CliError(Exception):
    """An error reported as `unikeras: error: <message>` with exit code `code`."""

    def __init__(self, message, code=EXIT_FAILED):
        super().__init__(message)
        self.code = code


# --- shared helpers ------------------------------------------------------------------------------
def _load(args, backend="numpy"):
    """The model in `args.file` on `backend`; any failure to read it is a CliError (exit 3)."""
    from unikeras import ops
    from unikeras.saving import load_model
    path = args.file
    if not path.endswith(MODEL_SUFFIXES):
        raise CliError(f"{path!r}: expected a '.unikeras' or '.keras' model archive.",
                       EXIT_BAD_FILE)
    if not os.path.isfile(path):
        raise CliError(f"{path!r}: no such file.", EXIT_BAD_FILE)
    try:
        with ops.backend_scope(backend):
            return load_model(path, compile=False, safe_mode=not args.unsafe)
    except Exception as e:
        raise CliError(f"cannot load {path!r}: {e}", EXIT_BAD_FILE) from e


def _parse_shape(text):
    """`--input-shape 28,28,1` -> (28, 28, 1): one sample's shape, the batch dim left out."""
    try:
        dims = tuple(int(d) for d in text.replace("x", ",").split(",") if d.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")
    if not dims or min(dims) < 1:
        raise argparse.ArgumentTypeError(f"expected positive dims, got {text!r}")
    return dims


def _input_specs(model, input_shape):
    """[(shape with batch dim None, dtype)] for each model input: `--input-shape` if given,
    else the model's Inputs, else the shape it was built with."""
    if input_shape is not None:
        return [((None,) + tuple(input_shape), "float32")]
    if getattr(model, "inputs", None):
        return [(tuple(t.shape), t.dtype) for t in model.inputs]
    shape = model.get_build_config().get("input_shape")
    if shape is None:
        raise CliError(f"model '{model.name}' has no known input shape; pass --input-shape "
                       "(one sample's shape, e.g. 28,28,1).")
    shapes = shape if shape and isinstance(shape[0], list) else [shape]
    return [((None,) + tuple(s[1:]), "float32") for s in shapes]


def _flat_outputs(outputs):
    import numpy as np
    if isinstance(outputs, dict):
        outputs = [outputs[k] for k in sorted(outputs)]
    if isinstance(outputs, (list, tuple)):
        return [a for o in outputs for a in _flat_outputs(o)]
    return [np.asarray(outputs)]


# --- summary -------------------------------------------------------------------------------------
def run_summary(args):
    """Print the model's layer table and the archive's metadata."""
    from unikeras.saving import read_metadata
    model = _load(args)
    model.summary()
    try:
        metadata = read_metadata(args.file)
    except Exception:   # a .keras archive written without metadata.json
        metadata = {}
    if metadata:
        print("Metadata:")
        for key in sorted(metadata):
            print(f"  {key}: {metadata[key]}")
    return EXIT_OK


# --- convert -------------------------------------------------------------------------------------
def _default_output(path, target):
    stem = path
    for suffix in MODEL_SUFFIXES:
        if stem.endswith(suffix):
            stem = stem[:-len(suffix)]
    return stem + TARGETS[target][0]


def _to_openvino(model, out, input_shape):
    from unikeras.adapters.openvino import build_ov_model
    from unikeras.adapters.openvino.compiled import save_ir
    if not out.endswith(".xml"):
        raise CliError(f"--to openvino: the output must end in '.xml', got {out!r}.")
    shape = None if input_shape is None else (None,) + tuple(input_shape)
    save_ir(build_ov_model(model, shape), out)


def _to_saved_model(model, out, input_shape):
    import tensorflow as tf
    from unikeras.adapters.tf_module import export_saved_model
    signature = [tf.TensorSpec(shape, dtype, name=f"input_{i}")
                 for i, (shape, dtype) in enumerate(_input_specs(model, input_shape))]
    export_saved_model(model, out, input_signature=signature)


def _to_torch(model, out, input_shape):
    import safetensors.torch
    from unikeras.adapters.torch_nn import export_torch_state_dict
    from unikeras.common.saving.atomic import write_atomically
    state = {k: v.contiguous() for k, v in export_torch_state_dict(model).items()}
    write_atomically(out, safetensors.torch.save(state))


def _save_weights(model, out, input_shape):
    model.save_weights(out)


def _save_model(model, out, input_shape):
    model.save(out)


WRITERS = {"safetensors": _save_weights, "keras-h5": _save_weights, "unikeras": _save_model,
           "keras": _save_model, "openvino": _to_openvino, "saved_model": _to_saved_model,
           "torch": _to_torch}


def run_convert(args):
    """Write the model in `args.to`'s format to `args.output` (or a name next to the file)."""
    out = args.output or _default_output(args.file, args.to)
    if os.path.abspath(out) == os.path.abspath(args.file):
        raise CliError(f"the output {out!r} is the input file; pass another -o.", EXIT_USAGE)
    model = _load(args)
    try:
        WRITERS[args.to](model, out, args.input_shape)
    except CliError:
        raise
    except ImportError as e:
        raise CliError(f"--to {args.to} needs a package that is not installed: {e}") from e
    except Exception as e:
        raise CliError(f"converting {args.file!r} to {args.to}: {e}") from e
    print(f"wrote {out}")
    return EXIT_OK


# --- check ---------------------------------------------------------------------------------------
def _random_inputs(specs, batch, seed):
    import numpy as np
    rng = np.random.default_rng(seed)
    arrays = []
    for shape, dtype in specs:
        full = (batch,) + tuple(shape[1:])
        if None in full:
            raise CliError(f"input shape {shape} has unknown dims besides the batch; "
                           "pass --input-shape.")
        if np.issubdtype(np.dtype(dtype), np.floating):
            arrays.append(rng.standard_normal(full).astype(dtype))
        else:
            arrays.append(rng.integers(0, 2, full).astype(dtype))
    return arrays


def _predict_on(args, backend, inputs):
    model = _load(args, backend)
    from unikeras import ops
    with ops.backend_scope(backend):
        return _flat_outputs(model.predict(inputs[0] if len(inputs) == 1 else inputs,
                                           verbose=0))


def _predict_openvino(model, inputs):
    from unikeras.adapters.openvino import compile as ov_compile
    shapes = [(None,) + a.shape[1:] for a in inputs]
    compiled = ov_compile(model, shapes[0] if len(shapes) == 1 else shapes, precision="f32")
    return _flat_outputs(compiled(*inputs))


def _max_diff(outputs, reference):
    import numpy as np
    if len(outputs) != len(reference) or any(o.shape != r.shape
                                             for o, r in zip(outputs, reference)):
        raise ValueError(f"output shapes {[o.shape for o in outputs]} differ from the "
                         f"reference's {[r.shape for r in reference]}")
    return max(float(np.max(np.abs(o.astype(np.float64) - r.astype(np.float64)), initial=0.0))
               for o, r in zip(outputs, reference))


def run_check(args):
    """Run the model on every installed backend and OpenVINO; compare with NumPy's output."""
    model = _load(args)
    inputs = _random_inputs(_input_specs(model, args.input_shape), args.batch, args.seed)
    reference = _flat_outputs(model.predict(inputs[0] if len(inputs) == 1 else inputs,
                                            verbose=0))
    runners = [(b, mod, lambda b=b: _predict_on(args, b, inputs)) for b, mod in CHECK_BACKENDS]
    runners.append(("openvino", "openvino", lambda: _predict_openvino(model, inputs)))
    rows, failed = [("numpy", "0", "reference")], False
    for backend, module, predict in runners:
        if importlib.util.find_spec(module) is None:
            rows.append((backend, "-", "skipped (not installed)"))
            continue
        try:
            diff = _max_diff(predict(), reference)
        except Exception as e:
            if args.traceback:
                raise
            rows.append((backend, "-", f"error: {e}"))
            failed = True
            continue
        ok = diff <= args.atol
        failed = failed or not ok
        rows.append((backend, f"{diff:.3g}", "ok" if ok else f"FAILED (atol {args.atol:g})"))
    print(f"Input shapes: {[a.shape for a in inputs]}, seed {args.seed}")
    print(f"{'backend':<12}{'max |diff|':<14}status")
    for row in rows:
        print(f"{row[0]:<12}{row[1]:<14}{row[2]}")
    return EXIT_FAILED if failed else EXIT_OK


# --- parser and entry point ----------------------------------------------------------------------
def build_parser():
    common = argparse.ArgumentParser(add_help=False)   # SUPPRESS: keeps a top-level --traceback
    common.add_argument("--traceback", action="store_true", default=argparse.SUPPRESS,
                        help="show the full traceback of an error")
    model_file = argparse.ArgumentParser(add_help=False, parents=[common])
    model_file.add_argument("file", metavar="FILE", help="a .unikeras or .keras model archive")
    model_file.add_argument("--unsafe", action="store_true",
                            help="load with safe_mode=False (runs Lambda bytecode from the "
                                 "file: only for files you trust)")
    shape = argparse.ArgumentParser(add_help=False)
    shape.add_argument("--input-shape", type=_parse_shape, metavar="DIMS",
                       help="one sample's input shape, batch dim left out (e.g. 28,28,1); "
                            "needed only for a model without a known input shape")

    parser = argparse.ArgumentParser(
        prog="unikeras",
        description="Inspect, convert and cross-check saved unikeras / Keras 3 models.",
        epilog="Exit codes: 0 ok, 1 check or conversion failed, 2 usage error, "
               "3 missing or invalid model file.")
    parser.add_argument("--traceback", action="store_true",
                        help="show the full traceback of an error")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    summary = commands.add_parser("summary", parents=[model_file],
                                  help="print the layer table and the file's metadata",
                                  description="Print the model's layer table and the "
                                              "archive's metadata.")
    summary.set_defaults(run=run_summary)

    targets = "\n".join(textwrap.fill(desc, 88, initial_indent=f"  {name:<13}",
                                       subsequent_indent=" " * 15)
                         for name, (_, desc) in TARGETS.items())
    convert = commands.add_parser(
        "convert", parents=[model_file, shape], formatter_class=argparse.RawTextHelpFormatter,
        help="write the model's weights or graph in another format",
        description=f"Write the model in another format (atomically).\n\nTargets:\n{targets}")
    convert.add_argument("--to", required=True, choices=list(TARGETS), metavar="FORMAT",
                         help="one of: " + ", ".join(TARGETS))
    convert.add_argument("-o", "--output", metavar="OUT",
                         help="output path (default: FILE's name with the target's suffix)")
    convert.set_defaults(run=run_convert)

    check = commands.add_parser(
        "check", parents=[model_file, shape],
        help="compare the model's outputs on every installed backend and OpenVINO",
        description="Run the model on NumPy (the reference), torch, jax, tensorflow and "
                    "OpenVINO (float32) on the same seeded random input, print each backend's "
                    "largest absolute difference from NumPy, and exit 1 if any exceeds --atol.")
    check.add_argument("--batch", type=int, default=2, metavar="N", help="batch size (default 2)")
    check.add_argument("--atol", type=float, default=1e-4,
                       help="largest allowed absolute difference (default 1e-4)")
    check.add_argument("--seed", type=int, default=0, help="seed of the random input (default 0)")
    check.set_defaults(run=run_check)
    return parser


def main(argv=None):
    """Run the command in `argv` (default: sys.argv[1:]) and return its exit code."""
    args = build_parser().parse_args(argv)
    if getattr(args, "batch", 1) < 1:
        build_parser().error(f"--batch must be at least 1, got {args.batch}")
    if getattr(args, "unsafe", False):
        print("unikeras: warning: --unsafe: loading with safe_mode=False, which can run code "
              "stored in the file.", file=sys.stderr)
    try:
        return args.run(args)
    except Exception as e:
        if args.traceback:
            raise
        code = e.code if isinstance(e, CliError) else EXIT_FAILED
        message = str(e) if isinstance(e, CliError) else f"{type(e).__name__}: {e}"
        print(f"unikeras: error: {message}", file=sys.stderr)
        return code
