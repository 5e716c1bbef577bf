"""What a benchmark run was measured on: package versions, git revision, load."""
import os
import platform
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_PACKAGES = (("unikeras", ["unikeras"]), ("keras", ["keras"]), ("torch", ["torch"]),
             ("jax", ["jax"]), ("jaxlib", ["jaxlib"]), ("flax", ["flax"]),
             ("tensorflow", ["tensorflow", "tensorflow-cpu", "tensorflow-intel"]),
             ("numpy", ["numpy"]))


def versions():
    """{package: installed version or '-'} for python and the benchmarked packages."""
    from importlib import metadata
    out = {"python": platform.python_version()}
    for name, dists in _PACKAGES:
        out[name] = "-"
        for dist in dists:
            try:
                out[name] = metadata.version(dist)
                break
            except metadata.PackageNotFoundError:
                pass
    return out


def git_revision():
    """Short HEAD commit, noting uncommitted changes under unikeras/."""
    try:
        rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "unikeras"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return (rev + (" + uncommitted changes in unikeras/" if dirty else "")) or "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def loadavg():
    try:
        return "%.2f %.2f %.2f" % os.getloadavg()
    except OSError:
        return "?"
