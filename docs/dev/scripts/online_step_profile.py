"""Where one step of online dictionary learning spends its time, against SPAMS' ``trainDL``.

    cd CHECKOUT && python docs/dev/scripts/online_step_profile.py [--image] [--repeat 3]

Runs :func:`dictlearn.learning.online_dictionary_learning` with its defaults on the bench's
problem (``python -m dictlearn.bench learn --planted``: 4,000 noise-free 3-sparse signals on a
64×128 planted dictionary, alpha 0.1, batches of 256, 1,000 steps; ``--image``: the bench's
8×8 standardized patches, 256 atoms, alpha 1, 400 steps) with timers wrapped around the parts
of a step, and prints the median over ``--repeat`` runs of the time per step of each part (the
process's CPU time, which a loaded machine disturbs less than the wall clock; ``--wall`` for
the wall clock):

- ``coding``: the whole coding step with the batch's objective (the history's ``objective``;
  ``CodingStep.encode_with_objective``), split into the lasso kernel's set-up (``X Dᵀ``, the
  Gram matrix ``D Dᵀ``, buffers), its per-sample solve (``_lasso_batch``, which also gives
  each sample's objective) and the rest (validation, scaling, conversions);
- ``objective``: the objective's own pass over the codes, part of ``coding`` (none with the
  lasso, whose kernel returns it);
- ``statistics``: ``A ← βA + ZᵀZ, B ← βB + ZᵀX`` and the epoch window;
- ``bcd``: the block-coordinate dictionary update (blocks of atoms, BLAS products);
- ``finish``: dead atoms (usage, coherence every 10th step), history record;
- ``driver``: what is left (mini-batch selection, the loop, the finiteness check).

SPAMS' ``trainDL`` (same signals, same start, ``numThreads=1``) is timed whole, per step, and
its coding step is approximated by ``spams.lasso`` on one mini-batch (``mode=2``, the same
objective) on our learned dictionary.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict

sys.path.insert(0, os.getcwd())  # the checkout under test, not an installed copy

import numpy as np

import dictlearn.kernels.lasso_cd_numba as lcn
import dictlearn.learning._driver as drv
import dictlearn.learning.online as onl
from dictlearn.learning import online_dictionary_learning
from dictlearn.learning._coding import CodingStep

T: dict[str, float] = defaultdict(float)

#: The process's CPU time (every thread): on a loaded machine it counts the work, not the
#: waits for a core (``--wall``: the wall clock instead).
CLOCK = time.process_time


def timed(name, fn):
    def wrapper(*a, **k):
        t0 = CLOCK()
        try:
            return fn(*a, **k)
        finally:
            T[name] += CLOCK() - t0
    return wrapper


def install() -> None:
    """Wrap the parts of a step (module globals and methods) with timers."""
    CodingStep.objective = timed("objective", CodingStep.objective)
    if hasattr(CodingStep, "encode_with_objective"):  # the coding step and its objective
        CodingStep.encode_with_objective = timed("coding", CodingStep.encode_with_objective)
    else:  # the code before: the objective after the coding step
        CodingStep.encode = timed("coding", CodingStep.encode)
    from dictlearn import kernels

    lcn._lasso_batch = timed("coding.solve", lcn._lasso_batch)
    kernels.KERNELS[("lasso_cd_gram", "numba")] = timed("coding.kernel", lcn.lasso_cd_gram)
    onl.OnlineUpdate.update = timed("update", onl.OnlineUpdate.update)
    onl.bcd_update = timed("bcd", onl.bcd_update)
    drv.finish_step = timed("finish", drv.finish_step)
    drv.learning_step = timed("step", drv.learning_step)


def problem(image: bool, seed: int = 0):
    if image:
        from dictlearn.bench.learn import load_patches

        X, _ = load_patches(50_000, 10, 8, seed)
        rng = np.random.default_rng(seed)
        D0 = X[rng.choice(X.shape[0], 256, replace=False)]
        return X, D0 / np.maximum(np.linalg.norm(D0, axis=1, keepdims=True), 1e-12), 1.0, 400
    from dictlearn.datasets import make_sparse_problem

    X = make_sparse_problem(4000, 64, 128, 3, random_state=seed).X
    rng = np.random.default_rng(seed + 1)
    D0 = X[rng.choice(X.shape[0], 128, replace=False)]
    return X, D0 / np.linalg.norm(D0, axis=1, keepdims=True), 0.1, 1000


def run_ours(X, D0, alpha, steps):
    T.clear()
    t0 = CLOCK()
    res = online_dictionary_learning(X, D0.shape[0], alpha=alpha, batch_size=256,
                                     max_iter=steps, init=D0, random_state=0)
    total = CLOCK() - t0
    parts = dict(T)
    parts["total"] = total
    return parts, res.dictionary


def run_spams(X, D0, alpha, steps):
    import spams

    t0 = CLOCK()
    spams.trainDL(np.asfortranarray(X.T), D=np.asfortranarray(D0.T), lambda1=alpha, mode=2,
                  iter=steps, batchsize=256, numThreads=1, verbose=False)
    return CLOCK() - t0


def spams_coding(X, D, alpha, reps=50):
    import spams

    rng = np.random.default_rng(3)
    Xt = np.asfortranarray(X[rng.choice(X.shape[0], 256, replace=False)].T)
    Dt = np.asfortranarray(D.T)
    ts = []
    for _ in range(reps):
        t0 = CLOCK()
        spams.lasso(Xt, D=Dt, lambda1=alpha, mode=2, numThreads=1)
        ts.append(CLOCK() - t0)
    return float(np.median(ts))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--image", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--wall", action="store_true", help="wall-clock time, not CPU time")
    args = ap.parse_args()
    if args.wall:
        global CLOCK
        CLOCK = time.perf_counter
    X, D0, alpha, steps = problem(args.image)
    online_dictionary_learning(X[:512], 8, alpha=alpha, batch_size=64, max_iter=3,
                               random_state=0)  # numba cache load / compile
    install()
    runs, D = [], None
    for _ in range(args.repeat):
        parts, D = run_ours(X, D0, alpha, steps)
        runs.append(parts)
    med = {k: float(np.median([r.get(k, 0.0) for r in runs])) * 1e3 / steps
           for k in runs[0]}
    have_spams = True
    try:
        sp = float(np.median([run_spams(X, D0, alpha, steps) for _ in range(args.repeat)]))
        sp_code = spams_coding(X, D, alpha)
    except ImportError:
        have_spams, sp, sp_code = False, float("nan"), float("nan")
    nested = hasattr(CodingStep, "encode_with_objective")  # the objective inside "coding"
    obj = med.get("objective", 0.0)
    coding = med.get("coding", 0.0) + (0.0 if nested else obj)
    stats = med.get("update", 0.0) - med.get("bcd", 0.0)
    named = coding + med.get("update", 0.0) + med.get("finish", 0.0)
    rows = [
        ("coding and its objective (whole)", coding),
        ("  lasso kernel: X D^T, Gram, buffers",
         med.get("coding.kernel", 0.0) - med.get("coding.solve", 0.0)),
        ("  lasso kernel: per-sample solve", med.get("coding.solve", 0.0)),
        ("  objective's own pass", obj),
        ("  validation, scaling, conversions", coding - med.get("coding.kernel", 0.0) - obj),
        ("statistics A, B", stats),
        ("BCD dictionary update", med.get("bcd", 0.0)),
        ("dead atoms, history", med.get("finish", 0.0)),
        ("driver (batches, loop)", med["total"] - named),
        ("total per step", med["total"]),
    ]
    print(f"{'planted 64x128' if not args.image else 'image patches 64x256'}, {steps} steps, "
          f"median of {args.repeat}, {'wall' if args.wall else 'CPU'} time; "
          f"load {os.getloadavg()[0]:.2f}")
    print(f"{'part':38s} {'ms/step':>9s} {'share':>7s}")
    for name, v in rows:
        print(f"{name:38s} {v:9.3f} {v / med['total']:7.1%}")
    if have_spams:
        print(f"{'SPAMS trainDL, per step':38s} {sp * 1e3 / steps:9.3f}   ours/SPAMS "
              f"{med['total'] * steps / 1e3 / sp:.2f}")
        print(f"{'SPAMS lasso on one batch (its coding)':38s} {sp_code * 1e3:9.3f}")


if __name__ == "__main__":
    main()
