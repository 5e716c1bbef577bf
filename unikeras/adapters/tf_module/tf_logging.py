"""Import TensorFlow without its start-up banner when the user has not chosen a log level.

TensorFlow writes C++ log lines to stderr on import (oneDNN's "custom operations are on"
notice, twice, each after an absl "before InitializeLog" warning) before any Python-level
setting can stop them, and `TF_CPP_MIN_LOG_LEVEL` only governs what follows. When the user
has set `TF_CPP_MIN_LOG_LEVEL` we change nothing; otherwise we set it to 1 (no INFO lines)
and drop exactly those known banner lines from what the import writes to stderr, passing
every other line through.
"""
import os
import sys
import tempfile

BANNER_MARKERS = ("oneDNN custom operations are on",
                  "All log messages before absl::InitializeLog() is called")


def import_tensorflow():
    """`import tensorflow`, quietly unless the user set `TF_CPP_MIN_LOG_LEVEL`."""
    if "tensorflow" in sys.modules or "TF_CPP_MIN_LOG_LEVEL" in os.environ:
        import tensorflow
        return tensorflow
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "1"
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
