"""Peak resident memory of ``sparse_encode`` on the standard problem at 100,000 signals: the
command behind the memory figures of docs/distributed.md ("Memory: row blocks").

The problem (256 unit-norm atoms of dimension 64, 5-sparse codes, 30 dB SNR, alpha = 0.1) is
made once and saved; each measurement runs in a fresh interpreter that loads ``X`` and ``D``,
imports everything, records its resident size (``base``), resets the kernel's high-water mark
(``/proc/self/clear_refs``), codes ``X`` and reports the peak resident size (``VmHWM``).
``peak - base`` is what coding added; ``X + Z`` is the size of the signals and codes.

    python docs/dev/scripts/encode_memory.py [--methods fista,ista,iht,omp,lasso]
        [--batch-sizes auto,none] [--n-samples 100000] [--max-iter 50]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

CHILD = """
import json, resource, sys, numpy as np, dictlearn
from dictlearn.coding import sparse_encode
X = np.load(sys.argv[1]); D = np.load(sys.argv[2])
method, batch, max_iter = sys.argv[3], sys.argv[4], int(sys.argv[5])
opts = ({{"n_nonzero_coefs": 5}} if method == "omp" else
        {{"n_nonzero_coefs": 5, "max_iter": max_iter}} if method == "iht" else
        {{"alpha": 0.1, "max_iter": max_iter}})
if batch != "default":
    opts["batch_size"] = None if batch == "none" else (batch if batch == "auto" else int(batch))
sparse_encode(X[:64], D, method=method, **opts)  # imports and compiles outside the figure
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * {page}
base = rss()
try:  # reset the peak (VmHWM): a forked child starts with its parent's high-water mark
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
except OSError:
    pass
Z = sparse_encode(X, D, method=method, **opts)
with open("/proc/self/status") as f:
    hwm = [int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:")]
peak = hwm[0] if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({{"base": base, "peak": peak, "xz": X.nbytes + Z.nbytes}}))
"""


def measure(x_path: str, d_path: str, method: str, batch: str, max_iter: int) -> dict:
    code = CHILD.format(page=os.sysconf("SC_PAGE_SIZE"))
    proc = subprocess.run([sys.executable, "-c", code, x_path, d_path, method, batch,
                           str(max_iter)], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    import numpy as np

    from dictlearn.datasets import make_sparse_problem

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--methods", default="fista,ista,iht,omp,lasso")
    p.add_argument("--batch-sizes", default="auto,none",
                   help="'auto', 'none' (one block), a number of rows, or 'default' (no option)")
    p.add_argument("--n-samples", type=int, default=100_000)
    p.add_argument("--max-iter", type=int, default=50)
    args = p.parse_args(argv)
    prob = make_sparse_problem(args.n_samples, 64, 256, 5, snr_db=30, random_state=0)
    mb = 2.0 ** 20
    print(f"load average: {os.getloadavg()[0]:.2f}; n_samples={args.n_samples}, "
          f"max_iter={args.max_iter}")
    print(f"{'method':7} {'batch':>8} {'X+Z MB':>8} {'base MB':>8} {'peak MB':>8} "
          f"{'added MB':>9} {'peak/(X+Z)':>11}")
    with tempfile.TemporaryDirectory() as tmp:
        x_path, d_path = os.path.join(tmp, "X.npy"), os.path.join(tmp, "D.npy")
        np.save(x_path, prob.X)
        np.save(d_path, prob.dictionary)
        del prob
        for method in args.methods.split(","):
            for batch in args.batch_sizes.split(","):
                r = measure(x_path, d_path, method, batch, args.max_iter)
                added = max(r["peak"] - r["base"], 0)
                print(f"{method:7} {batch:>8} {r['xz'] / mb:8.0f} {r['base'] / mb:8.0f} "
                      f"{r['peak'] / mb:8.0f} {added / mb:9.0f} {r['peak'] / r['xz']:11.2f}",
                      flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
