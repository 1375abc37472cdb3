"""``python -m dictlearn.bench learn``: online dictionary learning side by side.

The problem: 8×8 patches of the photographs shipped with matplotlib / scikit-learn
(:func:`dictlearn.datasets.natural_images`), each patch's mean removed and every pixel divided
by its standard deviation over the set (scikit-learn's dictionary-learning examples);
50,000 training patches, 10,000 held-out patches, 256 atoms, ``alpha = 1.0`` for the objective
``½‖x − zD‖² + α‖z‖₁``, mini-batches of 256.

Contenders (each in this process, on the same data):

- ``dictlearn online``: :func:`dictlearn.learning.online_dictionary_learning` with its default
  settings and the exact lasso coder (``"lasso"``; ``--coding-method`` takes any registered
  method); ``--forget-factor ρ`` or ``minibatch`` and ``--no-epoch-window`` change its forgetting;
- ``sklearn minibatch``: ``MiniBatchDictionaryLearning`` (``fit_algorithm="lars"``), one
  ``partial_fit`` call per mini-batch so that the step count is exact;
- ``spams trainDL``: SPAMS' online learner (``mode=2``, the same objective; ``modeD=0``).

Every learned dictionary is scored by the same coder on the held-out patches (SPAMS' LARS
``lasso`` when installed, else ``dictlearn.sparse_encode`` to a tight duality gap): the mean
objective. Our learner runs twice: ``--steps`` mini-batches like SPAMS, then again (same
seed) with up to ``--our-max-steps`` mini-batches, scored every ``--snapshot-every`` steps by
the callback (scoring time not counted) and stopped at the first snapshot that reaches SPAMS'
held-out objective: the time-to-target row. ``--repeat r``: SPAMS and our fixed-step run are
timed ``r`` times each and the median time is reported (the time-to-target run once).

``--planted``: the planted-dictionary problem instead (that of ``examples/ground_truth.py``):
4,000 noise-free signals, 3-sparse N(0, 1) codes on a 64×128 unit-norm Gaussian dictionary,
``alpha = 0.1``, mini-batches of 256, 1,000 steps (unless ``--n-train``, ``--n-atoms``,
``--alpha``, ``--steps`` say otherwise), SPAMS ``trainDL`` with its defaults and ours with the
library's, both from the same random signals: the fraction of true atoms recovered
(:func:`dictlearn.metrics.dictionary_recovery`, |cos| > 0.99) at equal steps, and the step and
time at which ours first reaches SPAMS' final fraction (checked every ``--snapshot-every``
steps, checking time not counted), from the median of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from .._report import format_table
from .._xp import has_module
from ..coding import method_spec
from ..objectives import sample_objective
from . import add_options

__all__ = ["add_arguments", "load_patches", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_options(p, n_train=50_000, n_test=10_000, patch=8, n_atoms=256, alpha=1.0, batch=256,
                steps=(400, "mini-batch steps (ours and SPAMS)"),
                sklearn_steps=(103, "mini-batch steps for scikit-learn (0 skips it)"))
    p.add_argument("--coding-method", default="lasso",
                   help="our coding step (a dictlearn.METHODS name)")
    p.add_argument("--coding-options", default="",
                   help="e.g. 'max_iter=200,tol=1e-4' passed to our coding step")
    p.add_argument("--forget-factor", default=None,
                   help="our rho in beta_t = (1 - 1/t)^rho, or 'minibatch' (Mairal et al. 3.4); "
                        "default: the library's (rho = 5)")
    p.add_argument("--no-epoch-window", action="store_true",
                   help="keep the statistics of every epoch (the paper's rule)")
    p.add_argument("--planted", action="store_true",
                   help="planted-dictionary recovery instead of image patches")
    add_options(p, n_passes=(1, "our BCD sweeps per mini-batch"), snapshot_every=10)
    p.add_argument("--our-max-steps", type=int, default=None,
                   help="steps allowed to reach SPAMS' objective (default 2 x --steps)")
    add_options(p, threads=(2, "SPAMS numThreads"),
                repeat=(1, "timed runs of SPAMS and of our fixed-step run (median time)"))
    p.add_argument("--quick", action="store_true", help="tiny sizes (seconds)")
    add_options(p, seed=0)


def load_patches(n_train: int, n_test: int, patch: int, seed: int):
    """Training and held-out standardized patches (float64), from the shipped photographs."""
    from ..datasets import image_patches, natural_images

    P = image_patches(natural_images(), patch, n_train + n_test, normalize="standardize",
                      random_state=seed)
    return P[:n_train], P[n_train:]


def _parse_opts(text: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in filter(None, (t.strip() for t in text.split(","))):
        k, v = item.split("=")
        out[k.strip()] = float(v) if any(c in v for c in ".e") else int(v)
    return out


def heldout_objective(D: np.ndarray, X: np.ndarray, alpha: float) -> float:
    """Mean lasso objective of ``X`` on ``D`` with one accurate coder for every contender."""
    D = np.asarray(D, dtype=np.float64)
    if has_module("spams"):
        import spams

        Z = spams.lasso(np.asfortranarray(X.T), D=np.asfortranarray(D.T), lambda1=alpha,
                        mode=2, numThreads=-1)
        Z = np.asarray(Z.todense()).T
    else:
        from ..coding import sparse_encode

        Z = sparse_encode(X, D, method="fista", alpha=alpha, tol=1e-8, max_iter=5000)
    return float(np.mean(sample_objective(X, D, Z, alpha=alpha, xp=np)))


def _ours(X, args, opts, target=None, X_test=None):
    """Run our learner; with a ``target`` objective, score snapshots on ``X_test`` (time not
    counted) and stop at the first one that reaches it."""
    from ..learning import online_dictionary_learning

    snaps: list[tuple[int, float, float]] = []
    t0 = time.perf_counter()
    paused = [0.0]
    max_steps = args.steps if target is None else args.our_max_steps

    def cb(info):
        if info.iteration % args.snapshot_every == 0 and X_test is not None:
            t = time.perf_counter()
            obj = heldout_objective(np.asarray(info.dictionary), X_test, args.alpha)
            snaps.append((info.iteration, t - t0 - paused[0], obj))
            paused[0] += time.perf_counter() - t
            return target is not None and obj <= target
        return False

    res = online_dictionary_learning(
        X, args.n_atoms, alpha=args.alpha, coding_method=args.coding_method,
        coding_options=opts, batch_size=args.batch, max_iter=max_steps, **_forgetting(args),
        n_passes=args.n_passes, random_state=args.seed, callback=cb)
    total = time.perf_counter() - t0 - paused[0]
    return res.dictionary, total, snaps, res.n_iter


def _forgetting(args) -> dict[str, Any]:
    ff = args.forget_factor
    ff = None if ff is None else (ff if ff == "minibatch" else float(ff))
    return {"forget_factor": ff, "epoch_window": not args.no_epoch_window}


def _forgetting_text(args) -> str:
    ff = args.forget_factor
    rule = ("default (rho=5)" if ff is None else "mini-batch rule" if ff == "minibatch"
            else f"rho={float(ff):g}")
    return rule + (", no epoch window" if args.no_epoch_window else ", epoch window")


def _planted(args, opts) -> int:
    """Recovery of a planted dictionary at equal steps, ours against SPAMS' ``trainDL``."""
    from ..datasets import make_sparse_problem
    from ..learning import online_dictionary_learning
    from ..metrics import dictionary_recovery

    p = make_sparse_problem(args.n_train, 64, args.n_atoms, 3, random_state=args.seed)
    X, truth = p.X, p.dictionary
    print(f"planted problem: {X.shape[0]} noise-free 3-sparse signals, 64x{args.n_atoms} "
          f"dictionary, alpha={args.alpha:g}, batch {args.batch}, {args.steps} steps; our "
          f"coding step {args.coding_method} {opts or ''}, forgetting {_forgetting_text(args)}")
    rng = np.random.default_rng(args.seed + 1)
    D0 = X[rng.choice(X.shape[0], args.n_atoms, replace=False)]
    D0 = D0 / np.linalg.norm(D0, axis=1, keepdims=True)
    rows, spams_rec, spams_t = [], None, None
    if has_module("spams"):
        import spams

        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            D = spams.trainDL(np.asfortranarray(X.T), D=np.asfortranarray(D0.T),
                              lambda1=args.alpha, mode=2, iter=args.steps, batchsize=args.batch,
                              numThreads=args.threads, verbose=False)
            times.append(time.perf_counter() - t0)
        spams_t = float(np.median(times))
        spams_rec = dictionary_recovery(np.asarray(D).T, truth)
        rows.append({"method": "spams trainDL (defaults)", "steps": args.steps,
                     "time_s": spams_t, "recovery": spams_rec})
    else:
        print("  (skipping spams trainDL: spams is not installed)")
    _warmup(X, args, opts)
    runs = []
    for _ in range(args.repeat):
        snaps: list[tuple[int, float, float]] = []
        paused, t0 = [0.0], time.perf_counter()

        def cb(info, snaps=snaps, paused=paused, t0=t0):
            if info.iteration % args.snapshot_every == 0:
                t = time.perf_counter()
                rec = dictionary_recovery(np.asarray(info.dictionary), truth)
                snaps.append((info.iteration, t - t0 - paused[0], rec))
                paused[0] += time.perf_counter() - t

        res = online_dictionary_learning(
            X, args.n_atoms, alpha=args.alpha, coding_method=args.coding_method,
            coding_options=opts, batch_size=args.batch, max_iter=args.steps, init=D0,
            **_forgetting(args), n_passes=args.n_passes, random_state=args.seed, callback=cb)
        runs.append((time.perf_counter() - t0 - paused[0], snaps, res))
    t_ours, snaps, res = sorted(runs, key=lambda r: r[0])[len(runs) // 2]  # the median run
    rows.append({"method": f"dictlearn online ({_forgetting_text(args)})", "steps": res.n_iter,
                 "time_s": t_ours, "recovery": dictionary_recovery(res.dictionary, truth)})
    reach = next((s for s in snaps if spams_rec is not None and s[2] >= spams_rec), None)
    if reach is not None:
        rows.append({"method": "dictlearn online to SPAMS' recovery", "steps": reach[0],
                     "time_s": reach[1], "recovery": reach[2]})
    for r in rows:
        r["vs_spams_time"] = r["time_s"] / spams_t if spams_t else float("nan")
    print(format_table(rows, ["method", "steps", "time_s", "vs_spams_time", "recovery"]))
    print("our recovery curve (step, seconds, fraction): "
          + ", ".join(f"({i}, {t_:.1f}, {r:.3f})" for i, t_, r in snaps[4::5]))
    return 0


def _sklearn(X, args):
    from sklearn.decomposition import MiniBatchDictionaryLearning

    est = MiniBatchDictionaryLearning(
        n_components=args.n_atoms, alpha=args.alpha, batch_size=args.batch,
        fit_algorithm="lars", transform_algorithm="lasso_lars", random_state=args.seed)
    rng = np.random.default_rng(args.seed)
    order = np.concatenate([rng.permutation(X.shape[0])
                            for _ in range(args.sklearn_steps * args.batch // X.shape[0] + 1)])
    t0 = time.perf_counter()
    for i in range(args.sklearn_steps):  # one mini-batch step per call
        est.partial_fit(X[order[i * args.batch:(i + 1) * args.batch]])
    return est.components_, time.perf_counter() - t0, int(est.n_steps_)


def _spams(X, args):
    import spams

    rng = np.random.default_rng(args.seed)
    D0 = X[rng.choice(X.shape[0], args.n_atoms, replace=False)].T
    D0 = np.asfortranarray(D0 / np.maximum(np.linalg.norm(D0, axis=0), 1e-12))
    Xf = np.asfortranarray(X.T)
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        D = spams.trainDL(Xf, D=D0, lambda1=args.alpha, mode=2, modeD=0, iter=args.steps,
                          batchsize=args.batch, numThreads=args.threads, verbose=False)
        times.append(time.perf_counter() - t0)
    return np.asarray(D).T, float(np.median(times))


def _warmup(X, args, opts) -> None:
    """Compile the numba kernels (BCD, coder) before anything is timed."""
    from ..learning import online_dictionary_learning

    online_dictionary_learning(X[:64], min(args.n_atoms, 8), alpha=args.alpha,
                               coding_method=args.coding_method, coding_options=opts,
                               batch_size=32, max_iter=2, random_state=0)


#: The planted problem's sizes where the options keep the image problem's defaults.
PLANTED = {"n_train": (50_000, 4000), "n_atoms": (256, 128), "alpha": (1.0, 0.1),
           "steps": (400, 1000)}


def run(args: argparse.Namespace) -> int:
    opts = _parse_opts(args.coding_options)
    method_spec(args.coding_method)  # an unknown name raises here, before any work
    if args.planted:
        for name, (image, planted) in PLANTED.items():
            if getattr(args, name) == image:
                setattr(args, name, planted)
        if args.quick:
            args.n_train, args.n_atoms, args.steps = 1000, 32, 60
        return _planted(args, opts)
    if args.quick:
        args.n_train, args.n_test, args.n_atoms, args.steps = 3000, 500, 32, 40
        args.sklearn_steps, args.snapshot_every = min(args.sklearn_steps, 20), 10
        args.our_max_steps = 80
    Xtr, Xte = load_patches(args.n_train, args.n_test, args.patch, args.seed)
    coder = args.coding_method
    print(f"problem: {Xtr.shape[0]} training / {Xte.shape[0]} held-out {args.patch}x"
          f"{args.patch} standardized patches, {args.n_atoms} atoms, alpha={args.alpha:g}, "
          f"batch {args.batch}; our coding step: {coder} {opts or ''}, forgetting "
          f"{_forgetting_text(args)}")
    _warmup(Xtr, args, opts)
    rows = []
    spams_obj = spams_t = None
    if has_module("spams"):
        D, t = _spams(Xtr, args)
        spams_obj, spams_t = heldout_objective(D, Xte, args.alpha), t
        rows.append({"method": "spams trainDL", "steps": args.steps, "time_s": t,
                     "heldout_objective": spams_obj})
    else:
        print("  (skipping spams trainDL: spams is not installed)")
    if args.our_max_steps is None:
        args.our_max_steps = 2 * args.steps
    runs = [_ours(Xtr, args, opts, X_test=Xte) for _ in range(args.repeat)]
    D, t, snaps, n_it = sorted(runs, key=lambda r: r[1])[len(runs) // 2]  # the median run
    ours_obj = heldout_objective(D, Xte, args.alpha)
    rows.append({"method": f"dictlearn online ({coder})", "steps": n_it, "time_s": t,
                 "heldout_objective": ours_obj})
    if spams_obj is not None:
        D, t, snaps2, n_it = _ours(Xtr, args, opts, target=spams_obj, X_test=Xte)
        if snaps2 and snaps2[-1][2] <= spams_obj:
            it, ts, obj = snaps2[-1]
            rows.append({"method": f"dictlearn online ({coder}) to SPAMS' objective",
                         "steps": it, "time_s": ts, "heldout_objective": obj})
            reach = f"after {it} steps, {ts:.2f}s"
        else:
            reach = None
    if args.sklearn_steps > 0 and has_module("sklearn"):
        D, t, steps = _sklearn(Xtr, args)
        rows.append({"method": "sklearn minibatch", "steps": steps, "time_s": t,
                     "heldout_objective": heldout_objective(D, Xte, args.alpha)})
    for r in rows:
        r["vs_spams_time"] = r["time_s"] / spams_t if spams_t else float("nan")
        r["obj_vs_spams"] = ((r["heldout_objective"] - spams_obj) / spams_obj
                             if spams_obj else float("nan"))
    print(format_table(rows, ["method", "steps", "time_s", "vs_spams_time",
                              "heldout_objective", "obj_vs_spams"]))
    if spams_obj is not None:
        if reach:
            print(f"dictlearn reached SPAMS' held-out objective {reach} (SPAMS: {spams_t:.2f}s "
                  f"for {args.steps} steps)")
        else:
            print(f"dictlearn did not reach SPAMS' held-out objective in {args.our_max_steps} "
                  f"steps (checked every {args.snapshot_every} steps)")
    print("our held-out curve (step, seconds, objective): "
          + ", ".join(f"({i}, {t_:.1f}, {o:.4f})" for i, t_, o in snaps[::2]))
    print("time_s: learning only (held-out scoring excluded); obj_vs_spams: relative excess.")
    return 0
