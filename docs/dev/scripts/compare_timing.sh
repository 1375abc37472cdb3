#!/bin/bash
# Fixed-work timings of two checkouts, alternated three times, one thread each:
#   bash docs/dev/scripts/compare_timing.sh OLD_CHECKOUT NEW_CHECKOUT OUT_DIR
# Each run writes OUT_DIR/{old,new}_{1,2,3}.json (medians in seconds, see fixed_work_timing.py).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 NUMBA_NUM_THREADS=1
mkdir -p "$3"
for round in 1 2 3; do
  for tag in old new; do
    dir=$1; [ "$tag" = new ] && dir=$2
    (cd "$dir" && python -W ignore "$here/fixed_work_timing.py" > "$3/${tag}_${round}.json")
  done
done
python - "$3" <<'PY'
import json, pathlib, statistics, sys
d = pathlib.Path(sys.argv[1])
runs = {t: [json.loads((d / f"{t}_{r}.json").read_text()) for r in (1, 2, 3)] for t in ("old", "new")}
print("old:", runs["old"][0]["dictlearn"], " new:", runs["new"][0]["dictlearn"])
print("measure | old (s) | new (s) | new/old")
for k in [k for k in runs["old"][0] if k != "dictlearn"]:
    o = statistics.median(r[k] for r in runs["old"]); n = statistics.median(r[k] for r in runs["new"])
    print(f"{k} | {o:.4f} | {n:.4f} | {n / o:.3f}")
PY
