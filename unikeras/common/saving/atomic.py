"""Writing a file so that readers see the old content or the new, never a partial one."""
import contextlib
import os
import shutil
import tempfile


def write_atomically(path, data):
    """Write `data` (bytes) to `path` via a temporary file in the same folder and os.replace."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o666 & ~_umask())   # mkstemp makes 0600; a saved file is the user's usual
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


@contextlib.contextmanager
def staging_directory(target):
    """A fresh folder next to `target` (the same file system, so renames out of it are
    atomic), removed afterwards whatever happens."""
    parent = os.path.dirname(os.path.abspath(target))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(dir=parent, prefix=f".{os.path.basename(target)}.tmp-")
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def replace_directory(source, target, staging):
    """Rename folder `source` to `target`; an existing `target` is moved into `staging`
    first (and deleted with it), so `target` is always the old folder or the new one."""
    if os.path.lexists(target):
        os.rename(target, os.path.join(staging, "replaced"))
    os.rename(source, target)


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask
