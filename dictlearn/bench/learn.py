"""``python -m dictlearn.bench learn``: online dictionary learning side by side.

The problem: 8×8 patches of the photographs shipped with matplotlib / scikit-learn
(:func:`dictlearn.datasets.natural_images`), each patch's mean removed and every pixel divided
by its standard deviation over the set (scikit-learn's dictionary-learning examples);
50,000 training patches, 10,000 held-out patches, 256 atoms, ``alpha = 1.0`` for the objective
``½‖x − zD‖² + α‖z‖₁``, mini-batches of 256.

Contenders (each in this process, on the same data):

- ``dictlearn online``: :func:`dictlearn.learning.online_dictionary_learning` with the exact
  lasso coder (``"lasso"``; ``--coding-method`` takes any registered method) and forgetting factor
  ``ρ = 5`` (``--forget-factor``; a negative value selects the paper's mini-batch rule);
- ``sklearn minibatch``: ``MiniBatchDictionaryLearning`` (``fit_algorithm="lars"``), one
  ``partial_fit`` call per mini-batch so that the step count is exact;
- ``spams trainDL``: SPAMS' online learner (``mode=2``, the same objective; ``modeD=0``).

Every learned dictionary is scored by the same coder on the held-out patches (SPAMS' LARS
``lasso`` when installed, else ``dictlearn.sparse_encode`` to a tight duality gap): the mean
objective. Our learner runs twice: ``--steps`` mini-batches like SPAMS, then again (same
seed) with up to ``--our-max-steps`` mini-batches, scored every ``--snapshot-every`` steps by
the callback (scoring time not counted) and stopped at the first snapshot that reaches SPAMS'
held-out objective: the time-to-target row.
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
    add_options(p, forget_factor=(5.0, "our rho in beta_t = (1 - 1/t)^rho (default 5, the best "
                                       "measured on these patches); a negative value selects "
                                       "the mini-batch rule of Mairal et al. 3.4, the "
                                       "library's default"),
                n_passes=(1, "our BCD sweeps per mini-batch"),
                snapshot_every=10)
    p.add_argument("--our-max-steps", type=int, default=None,
                   help="steps allowed to reach SPAMS' objective (default 2 x --steps)")
    add_options(p, threads=(2, "SPAMS numThreads"))
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
        coding_options=opts, batch_size=args.batch, max_iter=max_steps,
        forget_factor=args.forget_factor, n_passes=args.n_passes, random_state=args.seed,
        callback=cb)
    total = time.perf_counter() - t0 - paused[0]
    return res.dictionary, total, snaps, res.n_iter


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
    t0 = time.perf_counter()
    D = spams.trainDL(Xf, D=D0, lambda1=args.alpha, mode=2, modeD=0, iter=args.steps,
                      batchsize=args.batch, numThreads=args.threads, verbose=False)
    return np.asarray(D).T, time.perf_counter() - t0


def _warmup(X, args, opts) -> None:
    """Compile the numba kernels (BCD, coder) before anything is timed."""
    from ..learning import online_dictionary_learning

    online_dictionary_learning(X[:64], min(args.n_atoms, 8), alpha=args.alpha,
                               coding_method=args.coding_method, coding_options=opts,
                               batch_size=32, max_iter=2, random_state=0)


def run(args: argparse.Namespace) -> int:
    if args.forget_factor is not None and args.forget_factor < 0:
        args.forget_factor = None
    if args.quick:
        args.n_train, args.n_test, args.n_atoms, args.steps = 3000, 500, 32, 40
        args.sklearn_steps, args.snapshot_every = min(args.sklearn_steps, 20), 10
        args.our_max_steps = 80
    Xtr, Xte = load_patches(args.n_train, args.n_test, args.patch, args.seed)
    opts = _parse_opts(args.coding_options)
    method_spec(args.coding_method)  # an unknown name raises here, before any work
    coder = args.coding_method
    print(f"problem: {Xtr.shape[0]} training / {Xte.shape[0]} held-out {args.patch}x"
          f"{args.patch} standardized patches, {args.n_atoms} atoms, alpha={args.alpha:g}, "
          f"batch {args.batch}; our coding step: {coder} {opts or ''}, forgetting "
          f"{'mini-batch rule' if args.forget_factor is None else f'rho={args.forget_factor:g}'}")
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
    D, t, snaps, n_it = _ours(Xtr, args, opts, X_test=Xte)
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
