"""Start-up time of ``import dictlearn`` (docs/distributed.md, "Start-up").

Two measures, each the median of ``--repeats`` fresh interpreters, run alternately so that
load changes hit both alike:

* ``-X importtime``: the cumulative time of the ``dictlearn`` entry and of ``numpy`` inside it
  (0 when ``import dictlearn`` does not import NumPy);
* wall times of fresh interpreters: ``python -c "pass"`` (start-up and ``site``),
  ``import numpy``, ``import dictlearn``, and ``import dictlearn`` followed by the first use
  of ``dictlearn.sparse_encode`` (which imports NumPy and the coding modules), each reported
  minus the bare interpreter's and ``import dictlearn`` also minus ``import numpy``.

Run from the folder holding the ``dictlearn`` to measure (``python -c`` imports from the
current folder): ``python docs/dev/scripts/import_time.py [--repeats 9]``; prints JSON with
the load average before and after.
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


CASES = {"bare": "pass", "numpy": "import numpy", "dictlearn": "import dictlearn",
         "first_use": "import dictlearn; dictlearn.sparse_encode"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    it_total, it_numpy = [], []
    walls: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(args.repeats):
        total, numpy = importtime("dictlearn")
        it_total.append(total)
        it_numpy.append(numpy)
        for name, code in CASES.items():
            walls[name].append(wall(code))
    med = statistics.median

    def minus(a: str, b: str) -> float:
        return round(med(x - y for x, y in zip(walls[a], walls[b], strict=True)), 4)

    print(json.dumps({
        "repeats": args.repeats,
        "importtime_dictlearn_s": round(med(it_total), 4),
        "importtime_numpy_inside_s": round(med(it_numpy), 4),
        "wall_s": {name: round(med(v), 4) for name, v in walls.items()},
        "wall_numpy_minus_bare_s": minus("numpy", "bare"),
        "wall_dictlearn_minus_bare_s": minus("dictlearn", "bare"),
        "wall_dictlearn_minus_numpy_s": minus("dictlearn", "numpy"),
        "wall_first_use_minus_bare_s": minus("first_use", "bare"),
        "load_avg_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }, indent=1))


if __name__ == "__main__":
    main()
