"""Start-up time of ``import dictlearn`` (docs/distributed.md, "Start-up").

Two measures, each the median of ``--repeats`` fresh interpreters, run alternately so that
load changes hit both alike:

* ``-X importtime``: the cumulative time of the ``dictlearn`` entry (it includes NumPy, which
  ``dictlearn`` imports first) and the same for ``numpy`` alone inside it;
* wall time of ``python -c "import dictlearn"`` minus ``python -c "import numpy"``
  (interpreter start-up and ``site`` cancel out).

Run: ``python docs/dev/scripts/import_time.py [--repeats 9]``; prints JSON with the load.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def importtime(module: str) -> tuple[float, float]:
    """(cumulative s of ``module``, cumulative s of numpy) from one ``-X importtime`` run."""
    err = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"],
                         capture_output=True, text=True, check=True).stderr
    cum = {}
    for line in err.splitlines():
        if line.startswith("import time:") and "|" in line:
            parts = line.split("|")
            name = parts[2].strip()
            if name in ("numpy", module) and parts[1].strip().isdigit():
                cum.setdefault(name, int(parts[1]) / 1e6)
    return cum[module], cum.get("numpy", 0.0)


def wall(code: str) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    it_total, it_numpy, w_dl, w_np = [], [], [], []
    for _ in range(args.repeats):
        total, numpy = importtime("dictlearn")
        it_total.append(total)
        it_numpy.append(numpy)
        w_np.append(wall("import numpy"))
        w_dl.append(wall("import dictlearn"))
    med = statistics.median
    own = [t - n for t, n in zip(it_total, it_numpy, strict=True)]
    wall_own = [d - n for d, n in zip(w_dl, w_np, strict=True)]
    print(json.dumps({
        "repeats": args.repeats,
        "importtime_dictlearn_s": round(med(it_total), 4),
        "importtime_numpy_s": round(med(it_numpy), 4),
        "importtime_dictlearn_own_s": round(med(own), 4),
        "wall_import_numpy_s": round(med(w_np), 4),
        "wall_import_dictlearn_s": round(med(w_dl), 4),
        "wall_dictlearn_minus_numpy_s": round(med(wall_own), 4),
        "load_avg_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }, indent=1))


if __name__ == "__main__":
    main()
