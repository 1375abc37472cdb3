"""Reproduce the LISTA / LISTA-CP / LISTA-CPSS / ALISTA protocol of Chen et al. (2018) and
Liu et al. (2019) with dictlearn's array-API training code.

The protocol: a 250 x 500 Gaussian matrix with entries N(0, 1/m) and unit-norm columns (our
atoms are its columns, so ``D`` is 500 x 250 with unit-norm rows), codes Bernoulli(0.1) x N(0, 1),
noiseless or with noise at 40 dB SNR (per signal, as in the reference code), K = 16 layers, and
the NMSE in dB of the codes over a held-out test set, layer by layer.

Training follows the reference code of the papers: fresh mini-batches of 64 at every step
(``LISTA.fit(..., sampler=...)``), a fixed validation set of 1,000 signals, thresholds
initialised to ``λ/L`` with ``λ = 0.4``, support selection ``p = 1.2 %`` per layer up to
``p_max = 13 %``, Adam at 5e-4, and the progressive schedule ``LISTA(layerwise=True)``: stage k
trains the new layer alone, then all k layers at 0.2x and 0.02x the rate, on the code MSE at
layer k. The papers end each phase when the validation loss stalls (thousands of steps on a
GPU); here every phase has a fixed number of steps (``--steps-per-phase``) so that the whole run
fits a budget on 2 CPU cores. The variants train in parallel worker processes, one BLAS thread
each (``--jobs``), in float32 like the reference code.

Usage::

    python examples/lista_chen2018.py                 # noiseless, budgeted for 2 cores, 30 min
    python examples/lista_chen2018.py --snr 40        # the 40 dB setting
    python examples/lista_chen2018.py --quick         # scaled down, under a minute (CI)
    python examples/lista_chen2018.py --reference-schedule   # the reference code's phases
        # (each until 4 checks of 1,000 steps bring no improvement: >= 240,000 steps, hours)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

import numpy as np

import dictlearn
from dictlearn.datasets import make_sparse_problem, sparse_problem_sampler
from dictlearn.metrics import nmse_db


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="scaled-down run for CI (< 1 minute)")
    p.add_argument("--snr", default="inf", help="'inf' (noiseless) or an SNR in dB, e.g. 40")
    p.add_argument("--variants", nargs="*", default=None,
                   help="among lista, cp, ss, alista (default: all four)")
    p.add_argument("--layers", type=int, default=None)
    p.add_argument("--steps-per-phase", nargs="*", default=None,
                   help="optimiser steps in each of a stage's three phases: one number for "
                   "every variant, or VARIANT=N pairs (default: lista=500 cp=800 ss=800 "
                   "alista=300)")
    p.add_argument("--n-val", type=int, default=1000)
    p.add_argument("--n-test", type=int, default=1000)
    p.add_argument("--alpha", type=float, default=0.1,
                   help="lasso weight of the ISTA/FISTA/lasso baselines")
    p.add_argument("--lam", type=float, default=0.4,
                   help="the networks' initial thresholds are lam / L (reference code: 0.4)")
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--jobs", type=int, default=2, help="variants trained in parallel")
    p.add_argument("--float64", action="store_true", help="train in float64 (default float32)")
    p.add_argument("--reference-schedule", action="store_true",
                   help="end each phase as the reference code does, when the validation loss "
                   "has not improved for --patience checks of --check-steps steps each (at most "
                   "--max-checks per phase), instead of --steps-per-phase")
    p.add_argument("--check-steps", type=int, default=1000)
    p.add_argument("--patience", type=int, default=4)
    p.add_argument("--max-checks", type=int, default=200)
    p.add_argument("--warm-start", action="store_true",
                   help="start each new layer from the trained previous one "
                   "(LISTA(layerwise_init='previous'); the reference code starts it afresh)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=os.path.join("examples", "out", "lista_chen2018"),
                   help="folder for results.json and nmse.png")
    a = p.parse_args(argv)
    if a.quick:
        a.m, a.n = 64, 128
        a.layers = a.layers or 6
        a.steps = _steps(a.steps_per_phase, {"lista": 100, "cp": 100, "ss": 100, "alista": 100})
        a.n_val, a.n_test = min(a.n_val, 300), min(a.n_test, 500)
        a.variants = a.variants or ["cp", "alista"]
        a.jobs = 1
    else:
        a.m, a.n = 250, 500
        a.layers = a.layers or 16
        # ALISTA learns 32 scalars; the others 16 weight matrices: the 2-core, 30-minute
        # budget goes where it buys the most
        a.steps = _steps(a.steps_per_phase, {"lista": 500, "cp": 800, "ss": 800, "alista": 300})
        a.variants = a.variants or ["lista", "cp", "ss", "alista"]
    bad = sorted(set(a.variants) - {"lista", "cp", "ss", "alista"})
    if bad:
        raise SystemExit(f"--variants: unknown {bad}; choose among lista, cp, ss, alista")
    return a


# relative cost of one training step (docs/dev/scripts/lista_step_timing.py, float32, one
# thread), to start the longest first
_COST = {"lista": 2.0, "ss": 0.95, "cp": 0.9, "alista": 0.62}


def _steps(given, default: dict) -> dict:
    if not given:
        return dict(default)
    if len(given) == 1 and "=" not in given[0]:
        return {v: int(given[0]) for v in default}
    out = dict(default)
    for item in given:
        name, _, n = item.partition("=")
        if name not in default or not n.isdigit() or int(n) < 1:
            raise SystemExit(f"--steps-per-phase: expected N or VARIANT=N with VARIANT in "
                             f"{sorted(default)}; got {item!r}")
        out[name] = int(n)
    return out


def _train_one(job: dict) -> dict:
    """Train one variant (runs in a worker process with one BLAS thread)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        threadpool_limits = None
    limiter = threadpool_limits(1) if (threadpool_limits and job["single_thread"]) else None
    try:
        a = job["args"]
        dt = np.float64 if a["float64"] else np.float32
        D, Xva, Zva, Xte = (np.asarray(job[k], dtype=dt) for k in ("D", "Xva", "Zva", "Xte"))
        draw = sparse_problem_sampler(D, n_nonzero_coefs=None, sparsity=0.1,
                                      snr_db=job["snr"], noise_scale="per_sample", dtype=dt)
        if a["reference_schedule"]:  # a phase: epochs of check_steps, until a stall
            steps, epochs, patience = a["check_steps"], 3 * a["max_checks"], a["patience"]
        else:  # a phase: one epoch of the fixed budget
            steps, epochs, patience = a["steps"][job["variant"]], 3, None
        net = dictlearn.LISTA(D, a["layers"], variant=job["variant"], alpha=a["lam"],
                              learning_rate=a["lr"], batch_size=a["batch_size"],
                              max_epochs=epochs, layerwise=True, n_iter_no_change=patience,
                              support_fraction=0.012, support_max=0.13,
                              layerwise_init="previous" if a["warm_start"] else "dictionary",
                              divergence_retries=3, random_state=job["seed"])
        t0 = time.perf_counter()
        net.fit(Xva, Zva, sampler=draw, epoch_size=steps * a["batch_size"])
        seconds = time.perf_counter() - t0
        layers = [np.asarray(Z, dtype=np.float64) for Z in net.transform_layers(Xte)]
        return {"variant": job["variant"], "seconds": seconds, "status": net.status_.value,
                "codes": layers, "steps": steps * net.n_epochs_, "epochs": net.n_epochs_}
    finally:
        if limiter is not None:
            limiter.unregister()


def run(argv=None) -> dict:
    a = parse(argv)
    snr = None if str(a.snr).lower() in ("inf", "none") else float(a.snr)
    K = a.layers
    prob = make_sparse_problem(a.n_val + a.n_test, a.m, a.n, None, sparsity=0.1, snr_db=snr,
                               noise_scale="per_sample", random_state=a.seed)
    D = prob.dictionary
    Xva, Zva = prob.X[:a.n_val], prob.codes[:a.n_val]
    Xte, Zte = prob.X[a.n_val:], prob.codes[a.n_val:]
    print(f"problem: m={a.m}, n={a.n}, Bernoulli(0.1) x N(0,1) codes, SNR={a.snr}, K={K}; "
          f"fresh batches of {a.batch_size}; steps per phase (3 phases per stage, {K} stages): "
          + ", ".join(f"{v} {a.steps[v]}" for v in a.variants)
          + f"; {a.n_val} validation / {a.n_test} test signals", flush=True)
    curves: dict[str, list[float]] = {}
    for name in ("ista", "fista"):
        curves[name] = [nmse_db(dictlearn.sparse_encode(Xte, D, method=name, alpha=a.alpha,
                                                        max_iter=k, tol=0.0), Zte)
                        for k in range(1, K + 1)]
    lasso = dictlearn.sparse_encode(Xte, D, method="lasso", alpha=a.alpha)
    curves["lasso (converged)"] = [nmse_db(lasso, Zte)] * K
    jobs = [{"variant": v, "args": vars(a), "snr": snr, "seed": a.seed + 1 + i, "D": D,
             "Xva": Xva, "Zva": Zva, "Xte": Xte, "single_thread": a.jobs > 1}
            for i, v in enumerate(a.variants)]
    jobs.sort(key=lambda j: -_COST.get(j["variant"], 1.0) * a.steps[j["variant"]])
    t0 = time.perf_counter()
    if a.jobs > 1:
        with ProcessPoolExecutor(max_workers=a.jobs) as pool:
            results = list(pool.map(_train_one, jobs))
    else:
        results = [_train_one(j) for j in jobs]
    wall = time.perf_counter() - t0
    timing, epochs = {}, {}
    results.sort(key=lambda r: a.variants.index(r["variant"]))
    for r in results:
        v = r["variant"]
        timing[v], epochs[v] = r["seconds"], r["epochs"]
        curves[f"lista-{v}"] = [nmse_db(Z, Zte) for Z in r["codes"]]
        print(f"  lista-{v}: trained in {r['seconds']:.0f} s, {r['steps']} steps "
              f"({r['status']}); "
              f"NMSE at layer {K}: {curves[f'lista-{v}'][-1]:.2f} dB", flush=True)
    print(f"training wall time: {wall:.0f} s with {a.jobs} parallel job(s)")
    names = list(curves)
    print("\nNMSE (dB) on the test set, per layer / iteration:")
    print("layer " + " ".join(f"{n[:16]:>16s}" for n in names))
    for k in range(K):
        print(f"{k + 1:5d} " + " ".join(f"{curves[n][k]:16.2f}" for n in names))
    # the papers' claims that can be checked without their plots: linear convergence (a
    # constant gain in dB per layer) and ALISTA matching LISTA-CPSS layer by layer
    slopes = {}
    first = min(4, K)
    for n in names:
        if n.startswith("lista-") and K - first >= 2:
            slopes[n] = float(np.polyfit(np.arange(first, K + 1), curves[n][first - 1:], 1)[0])
    if slopes:
        print(f"\nmean gain per layer over layers {first}-{K} (dB): "
              + ", ".join(f"{n} {v:.2f}" for n, v in slopes.items()))
    if "lista-alista" in curves and "lista-ss" in curves:
        gap = [x - y for x, y in zip(curves["lista-alista"], curves["lista-ss"], strict=True)]
        print("ALISTA minus LISTA-CPSS per layer (dB): " + " ".join(f"{g:.1f}" for g in gap))
    out = {"args": dict(vars(a)), "curves": curves, "train_s": timing, "epochs": epochs,
           "wall_s": wall,
           "slopes_db_per_layer": slopes}
    if a.out:
        os.makedirs(a.out, exist_ok=True)
        with open(os.path.join(a.out, "results.json"), "w") as fh:
            json.dump(out, fh, indent=1, default=lambda x: None if not math.isfinite(x) else x)
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            fig, ax = plt.subplots(figsize=(6, 4))
            for n in names:
                ax.plot(range(1, K + 1), curves[n], "--" if n in ("ista", "fista") else "-",
                        label=n)
            ax.set_xlabel("layer / iteration")
            ax.set_ylabel("NMSE (dB)")
            ax.legend(fontsize="small")
            ax.grid(True, alpha=0.3)
            fig.tight_layout()
            fig.savefig(os.path.join(a.out, "nmse.png"), dpi=120)
        except ImportError:
            pass
    return out


if __name__ == "__main__":
    run()
