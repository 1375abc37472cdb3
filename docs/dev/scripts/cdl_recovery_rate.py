"""Success rate of CDL planted recovery over seeds (batch fit and online partial_fit).

The planted problem of tests/test_cdl.py: K=3 atoms of L=32 (a Gabor, a Gaussian derivative,
a spike pattern), noise 0.01. Batch: 6 signals x 1000 samples, 7 events each, max_iter=30.
Online: one 6000-sample recording, 42 events, window=500, 5 passes of partial_fit over
1000-sample pieces (30 steps). Seed s drives both the data and random_state.
Success: every planted atom has a learned atom with max |normalised xcorr| over shifts >= 0.95.

Run from a worktree root:
    PYTHONPATH=. python docs/dev/scripts/cdl_recovery_rate.py \
        [n_seeds] [batch|online|both] [init] [rs_offset]
init: "default" (the estimator's default; the code before branch cdl2 has no "events"), or
"events" / "chunk" / "random"; rs_offset: random_state = seed + rs_offset (decoupled starts).

Measured (2-core shared machine):
  main c8818f1 (before):   batch 10/20, online  4/20
  cdl2 (after, default):   batch 20/20, online 20/20   (batch ~7 s, online ~60 s for 20 seeds)
  cdl2, rs_offset=1000:    batch 20/20 (also 40/40), online 20/20
  cdl2 before the last two rules (init windows no two alike, duplicates at 0.95):
    init=chunk: batch 14/20, online 7/20; init=random: batch 15/20
"""
import sys
import time

import numpy as np

sys.path.insert(0, ".")
from dictlearn.signal import ConvolutionalDictionaryLearning
from tests.test_cdl import L, best_match, planted_atoms, planted_signals

FAST = {"tol": 1e-3}


def scores(est, D):
    learned = np.asarray(est.components_)[:, 0, :]
    return [max(best_match(learned[j], D[k])[0] for j in range(learned.shape[0]))
            for k in range(D.shape[0])]


INIT = {}
OFFSET = 0


def batch(seed):
    D = planted_atoms()
    X, _ = planted_signals(D, 6, 1000, 7, seed=seed)
    est = ConvolutionalDictionaryLearning(3, L, max_iter=30, random_state=seed + OFFSET,
                                          coding_options=FAST, **INIT).fit(X)
    return scores(est, D), est.n_iter_


def online(seed):
    D = planted_atoms()
    X, _ = planted_signals(D, 1, 6000, 42, seed=seed)
    est = ConvolutionalDictionaryLearning(3, L, window=500, random_state=seed + OFFSET,
                                          coding_options=FAST, **INIT)
    for _ in range(5):
        for s in range(0, 6000, 1000):
            est.partial_fit(X[0, :, s:s + 1000])
    return scores(est, D), est.n_iter_


if __name__ == "__main__":
    n_seeds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    which = sys.argv[2] if len(sys.argv) > 2 else "both"
    if len(sys.argv) > 3 and sys.argv[3] != "default":
        INIT["init"] = sys.argv[3]
    OFFSET = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    for name, fn in (("batch", batch), ("online", online)):
        if which not in (name, "both"):
            continue
        ok, t0 = 0, time.perf_counter()
        for seed in range(n_seeds):
            sc, it = fn(seed)
            good = min(sc) >= 0.95
            ok += good
            print(f"{name} seed {seed:2d}: {'ok ' if good else 'BAD'} "
                  f"{' '.join(f'{s:.3f}' for s in sc)} iters {it}", flush=True)
        print(f"{name}: {ok}/{n_seeds} recovered ({time.perf_counter() - t0:.1f} s)", flush=True)
