"""First-call cost of each numba kernel, cold (empty cache) and warm (cache filled by a
previous process), per dtype: the command behind the compile figures of docs/distributed.md.

Each measurement runs in a fresh interpreter with ``NUMBA_CACHE_DIR`` set to a temporary
folder (so the repository's own ``__pycache__`` is not used), times the first call of one
public function with ``engine="numba"`` on a tiny problem, and reports what the process wrote
to stdout/stderr besides the figure (it should be nothing).

    python docs/dev/scripts/numba_compile.py [--kernels omp,lasso,...] [--dtypes float64,float32]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

SETUP = """
import time, json, numpy as np
rng = np.random.default_rng(0)
dt = np.dtype({dtype!r})
D = rng.standard_normal((16, 8)).astype(dt); D /= np.linalg.norm(D, axis=1, keepdims=True)
X = rng.standard_normal((20, 8)).astype(dt)
S = rng.standard_normal((2, 1, 64)).astype(dt); A = rng.standard_normal((3, 1, 5)).astype(dt)
A /= np.linalg.norm(A, axis=2, keepdims=True)
"""

CALLS = {
    "omp": "import dictlearn; f = lambda: dictlearn.omp(X, D, n_nonzero_coefs=3, engine='numba')",
    "lasso": "import dictlearn; f = lambda: dictlearn.lasso(X, D, alpha=0.1, engine='numba')",
    "online": ("from dictlearn.learning import online_dictionary_learning as o\n"
               "f = lambda: o(X, 16, alpha=0.1, batch_size=10, max_iter=2, random_state=0,"
               " engine='numba')"),
    "conv_mp": ("from dictlearn.signal import csc_mp\n"
                "f = lambda: csc_mp(S, A, n_nonzero_coefs=4, engine='numba')"),
    "lgcd": ("from dictlearn.signal import csc_lgcd\n"
             "f = lambda: csc_lgcd(S, A, alpha=0.1, max_iter=5, engine='numba')"),
}

RUN = """
t = time.perf_counter(); f(); first = time.perf_counter() - t
t = time.perf_counter(); f(); second = time.perf_counter() - t
print(json.dumps([first, second]))
"""


def first_call(kernel: str, dtype: str, cache_dir: str) -> tuple[float, float, str]:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    code = SETUP.format(dtype=dtype) + CALLS[kernel] + RUN
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          check=True)
    lines = proc.stdout.strip().splitlines()
    first, second = json.loads(lines[-1])
    extra = "\n".join(lines[:-1]) + proc.stderr
    return first, second, extra.strip()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kernels", default=",".join(CALLS))
    p.add_argument("--dtypes", default="float64,float32")
    p.add_argument("--repeats", type=int, default=1)
    args = p.parse_args(argv)
    print(f"load average: {os.getloadavg()[0]:.2f}")
    print(f"{'kernel':8} {'dtype':8} {'cold s':>8} {'warm s':>8} {'after s':>8}  output")
    for kernel in args.kernels.split(","):
        for dtype in args.dtypes.split(","):
            cold, warm, after, extra = [], [], [], ""
            for _ in range(args.repeats):
                with tempfile.TemporaryDirectory() as cache:
                    c, a, extra_c = first_call(kernel, dtype, cache)
                    w, _, extra_w = first_call(kernel, dtype, cache)
                cold.append(c)
                warm.append(w)
                after.append(a)
                extra = extra or extra_c or extra_w
            print(f"{kernel:8} {dtype:8} {statistics.median(cold):8.2f} "
                  f"{statistics.median(warm):8.2f} {statistics.median(after):8.4f}  "
                  f"{extra[:60]!r}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
