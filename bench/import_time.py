"""`import unikeras` against `import numpy`: wall time of fresh interpreters, interleaved.

Each round starts one `python -c "import numpy"` and one `python -c "import unikeras"`
(alternating order), timing the whole process; the difference of the medians is what
unikeras adds on top of NumPy. Also reports which frameworks the plain import loaded.
Run: python bench/import_time.py [rounds]
"""
import os
import statistics
import subprocess
import sys
import time


# As after a regular install: bytecode cached (pip compiles site-packages; here the warm-up
# run writes unikeras's __pycache__ even where PYTHONDONTWRITEBYTECODE is set).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _run(code):
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=ENV)
    return time.perf_counter() - start


def main(rounds=15):
    snippets = {"numpy": "import numpy", "unikeras": "import unikeras"}
    times = {k: [] for k in snippets}
    _run("import unikeras")  # warm the file cache and bytecode
    for i in range(rounds):
        order = list(snippets) if i % 2 == 0 else list(snippets)[::-1]
        for k in order:
            times[k].append(_run(snippets[k]))
    med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
    leaked = subprocess.run(
        [sys.executable, "-c", "import sys, unikeras; print(' '.join(m for m in ('torch', 'jax', "
         "'tensorflow', 'openvino', 'flax') if m in sys.modules) or 'none')"],
        capture_output=True, text=True, check=True, env=ENV).stdout.strip()
    print(f"median of {rounds} fresh processes (ms): import numpy {med['numpy']:.0f}, "
          f"import unikeras {med['unikeras']:.0f}, unikeras adds {med['unikeras'] - med['numpy']:.0f}")
    print(f"frameworks imported by `import unikeras`: {leaked}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
