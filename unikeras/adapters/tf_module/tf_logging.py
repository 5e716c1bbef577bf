"""Import TensorFlow without its start-up banner unless INFO logging was asked for.

TensorFlow writes C++ INFO lines to stderr on import (oneDNN's "custom operations are on"
notice, twice, each after an absl "before InitializeLog" warning) before its own
`TF_CPP_MIN_LOG_LEVEL` takes effect, so they appear even at level 1 or more (JAX, for one,
sets level 1 when it is imported). We make the level hold for them: unless it is 0 (INFO
wanted), or TensorFlow is already imported, we drop exactly those known banner lines from
what the import writes to stderr and pass every other line through. When nobody set a
level we set 1 (no INFO lines).
"""
import os
import sys
import tempfile

BANNER_MARKERS = ("oneDNN custom operations are on",
                  "All log messages before absl::InitializeLog() is called")


def import_tensorflow():
    """`import tensorflow`, without the banner unless `TF_CPP_MIN_LOG_LEVEL` is 0."""
    level = os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    if "tensorflow" in sys.modules or level.strip() == "0":
        import tensorflow
        return tensorflow
    with tempfile.TemporaryFile() as capture:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(capture.fileno(), 2)
        try:
            import tensorflow
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            kept = [line for line in capture.read().decode("utf-8", "replace").splitlines(True)
                    if not any(marker in line for marker in BANNER_MARKERS)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()
    return tensorflow
