"""``python -m dictlearn.bench csc``: convolutional sparse coding and dictionary learning against
SPORCO and alphacsc, on the same problem, to the same objective.

**The problem.** A synthetic sound (no speech ships with SciPy or matplotlib): ``--seconds`` of
mono audio at ``--sample-rate`` Hz made of ``--n-atoms`` events of ``--atom-length`` samples
(:func:`dictlearn.signal.sound_atoms`: a third each plucked strings, clicks and chirps,
unit-norm), ``--events-per-second`` per atom on average, each of a random atom at a random
shift with a random sign and an amplitude in [1, 2] (:func:`dictlearn.signal.make_csc_problem`),
plus white noise at ``--snr-db``. The atoms are the planted ones;
``α = --alpha-frac × α_max`` (``α_max = ‖𝒟ᵀx‖∞``).

**Same problem for everyone.** Our model is ``x = Σ_k d_k ∗ z_k`` with the full convolution of
``z_k`` of length ``n_times − L + 1`` (alphacsc's convention, alphacsc solves it as is). SPORCO's
ConvBPDN convolves circularly over the signal length with ``z_k`` of length ``n_times``; its
coefficients at the last ``L − 1`` shifts (those that wrap around) are pushed to zero with the
option ``L1Weight`` (weight 1 on the valid shifts, ``WRAP_WEIGHT = 10`` on those; a weight of
1e6 pins them exactly but stalls its ADMM), and on codes that vanish there the circular and the
full convolutions coincide. Every solver's codes are then scored by
:func:`dictlearn.signal.csc_objective` (SPORCO's sparse variable ``Y`` restricted to the valid
shifts; a row notes it if a dropped wrap-around code was nonzero). SPORCO runs with the
settings of its own examples (``rho = 50 α + 0.5``, relaxation 1.8) but a fixed ``rho`` (its
adaptive ``rho`` made the objective oscillate: 4e-5 above the best after 400 iterations, 6e-2
after 1600 on the ``--quick`` problem), one FFTW thread and ``FFTW_ESTIMATE`` plans.

**Same objective.** The best objective ``F*`` is the lowest of a long, tight LGCD run (duality
gap ``1e-6`` of the objective, so within 1e-6 of the optimum) and every run below. Each
solver's tolerance goes through a ladder (loose to tight; SPORCO's ADMM seldom meets its
residual tolerance, so its ladder is one of iteration counts) until its objective is within
``--rel`` (1e-4) of ``F*``; that setting is then timed, median of ``--repeat`` runs. Ratios
are to the fastest peer (SPORCO or alphacsc) that reached the target. Our methods are every
``"l1"`` iterative method of ``CSC_METHODS`` (fista, lgcd, admm when present).

**CDL.** Time for a learner to reach the same final objective: every learner's learned atoms
are scored by re-encoding the signal on them with a tight LGCD (``min_z F(D, z)``); a ladder
of iteration counts (``--cdl-iters``) gives the first count whose score is within ``--cdl-rel``
of the best score of any learner, which is then timed. Ours is
``dictlearn.signal.ConvolutionalDictionaryLearning`` when present, against alphacsc's
``learn_d_z_multi`` (``rank1=False``; with ``solver_z="l-bfgs"``, its default and non-negative
codes, because its ``"lgcd"`` fails on warm starts under NumPy 2: "setting an array element
with a sequence" in ``_init_beta``) and SPORCO's ``ConvBPDNDictLearn``. A learner that fails
gets a row saying so.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import numpy as np

from .._report import format_table, median_time
from .._xp import has_module
from . import add_options

__all__ = ["add_arguments", "make_sound_problem", "run"]

#: Half-decade steps near the usual targets: a coarse ladder charges a solver for the
#: precision its next rung over-delivers.
TOL_LADDER = (1e-1, 5e-2, 2e-2, 1e-2, 5e-3, 2e-3, 1e-3, 5e-4, 2e-4, 1e-4, 1e-5, 1e-6, 1e-7,
              1e-8)
#: SPORCO's ADMM rarely meets its residual tolerances here: its ladder is one of iterations.
ITER_LADDER = (25, 50, 100, 200, 400, 800, 1600)
PEERS = ("sporco ConvBPDN", "alphacsc lgcd")
#: SPORCO's l1 weight on the shifts that wrap around (a larger one stalls its ADMM).
WRAP_WEIGHT = 10.0


def make_sound_problem(seconds: float, sample_rate: int, n_atoms: int, atom_length: int, *,
                       events_per_second: float = 2.0, snr_db: float = 20.0,
                       random_state: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(x, atoms, codes)``: the planted sound of the module docstring (mono, float64):
    :func:`~dictlearn.signal.make_csc_problem` on :func:`~dictlearn.signal.sound_atoms`."""
    from ..signal import make_csc_problem, sound_atoms

    rng = np.random.default_rng(random_state)
    D = sound_atoms(n_atoms, atom_length, sample_rate, random_state=rng)
    T = round(seconds * sample_rate)
    n_events = n_atoms * max(1, round(events_per_second * seconds))
    p = make_csc_problem(1, T, atoms=D,
                         n_events=min(n_events, T - atom_length + 1),
                         separation=1, snr_db=snr_db, random_state=rng)
    return p.X[0, 0], D[:, 0], p.codes[0]


# --- the coders: fn(x, D, alpha, tol, positive) -> codes (n_atoms, n_times_valid) ---------

def _ours(method: str) -> Callable[..., np.ndarray]:
    def fn(x, D, alpha, tol, positive):
        from ..signal import csc_encode

        return csc_encode(x, D, method=method, alpha=alpha, tol=tol, max_iter=100_000,
                          positive=positive)
    return fn


def _sporco(x, D, alpha, n_iter, positive):
    import sporco.fft
    from sporco.admm import cbpdn

    sporco.fft.pyfftw_threads = 1  # threads cost more than they give on 2 shared cores
    sporco.fft.pyfftw_planner_effort = "FFTW_ESTIMATE"  # FFTW_MEASURE plans for seconds
    T, (K, L) = x.shape[0], D.shape
    w = np.ones((T, 1, 1, 1))
    w[T - L + 1:] = WRAP_WEIGHT
    opt = cbpdn.ConvBPDN.Options({"Verbose": False, "MaxMainIter": int(n_iter),
                                  "RelStopTol": 1e-12,
                                  "rho": 50 * alpha + 0.5, "AutoRho": {"Enabled": False},
                                  "RelaxParam": 1.8, "L1Weight": w,
                                  "NonNegCoef": bool(positive)})
    solver = cbpdn.ConvBPDN(np.ascontiguousarray(D.T), x, alpha, opt, dimK=0, dimN=1)
    solver.solve()
    Y = np.asarray(solver.Y).reshape(T, K).T
    return Y[:, :T - L + 1], float(np.max(np.abs(Y[:, T - L + 1:]), initial=0.0))


def _alphacsc(x, D, alpha, tol, positive):
    from alphacsc.update_z_multi import update_z_multi

    z, _, _ = update_z_multi(x[None, None, :], D[:, None, :], alpha, solver="lgcd",
                             solver_kwargs={"tol": tol, "max_iter": 1_000_000},
                             positive=bool(positive))
    return z[0]


def _coders(only: list[str] | None = None
            ) -> list[tuple[str, Callable[..., Any] | None, tuple, str]]:
    """``(name, coder or None, ladder, note)``: ours from the registry, then the peers."""
    from ..signal import CSC_METHODS, csc_method_spec

    rows: list[tuple[str, Callable[..., Any] | None, tuple, str]] = []
    seen = set()
    for name in CSC_METHODS:
        spec = csc_method_spec(name)
        if (spec.penalty == "l1" and spec.iterative and spec.name not in seen
                and (only is None or spec.name in only)):
            seen.add(spec.name)
            rows.append((f"dictlearn {spec.name}", _ours(spec.name), TOL_LADDER, ""))
    for name, fn, ladder, module in (("sporco ConvBPDN", _sporco, ITER_LADDER, "sporco"),
                                     ("alphacsc lgcd", _alphacsc, TOL_LADDER, "alphacsc")):
        if only is not None and module not in only:
            continue
        ok = has_module(module)
        rows.append((name, fn if ok else None, ladder,
                     "" if ok else f"{module} is not installed"))
    return rows


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_options(p, seconds=(1.0, "signal length (s)"), sample_rate=8000, n_atoms=8,
                atom_length=32, events_per_second=2.0, snr_db=20.0,
                alpha_frac=(0.1, "alpha as a fraction of alpha_max"),
                rel=(1e-4, "relative objective gap to the best that counts as reached"),
                repeat=(3, "timed runs per method (median)"), seed=0)
    p.add_argument("--positive", action="store_true", help="non-negative activations")
    p.add_argument("--no-cdl", action="store_true", help="skip the dictionary-learning part")
    p.add_argument("--only", nargs="+", metavar="NAME",
                   help="CSC rows to run: our method names (fista, lgcd, admm) and peers "
                        "(sporco, alphacsc); default all (on long signals SPORCO's and FISTA's "
                        "rows take minutes)")
    add_options(p, cdl_seconds=(1.0, "CDL: signal length (s)"), cdl_atoms=8,
                cdl_atom_length=64, cdl_rel=(1e-2, "CDL: relative objective gap to the best"))
    p.add_argument("--cdl-iters", type=int, nargs="+", default=[5, 10, 20],
                   help="CDL: the ladder of alternations")
    p.add_argument("--quick", action="store_true", help="tiny sizes (for tests)")


def _quick(args: argparse.Namespace) -> None:
    args.seconds, args.sample_rate, args.n_atoms, args.atom_length = 0.25, 8000, 4, 32
    args.repeat, args.cdl_seconds, args.cdl_atoms, args.cdl_atom_length = 1, 0.25, 3, 32
    args.cdl_iters = [2, 4]


def _objective(x, D, alpha, positive):
    from ..signal import csc_objective

    return lambda z: float(csc_objective(x, D, np.asarray(z, dtype=np.float64), alpha=alpha,
                                         positive=positive)[0][0])


def run(args: argparse.Namespace) -> int:
    if args.quick:
        _quick(args)
    from ..signal import ConvOperator, csc_lgcd

    x, D, _ = make_sound_problem(args.seconds, args.sample_rate, args.n_atoms, args.atom_length,
                                 events_per_second=args.events_per_second, snr_db=args.snr_db,
                                 random_state=args.seed)
    op = ConvOperator.build(D[:, None, :], x.shape[0], xp=np)
    alpha = args.alpha_frac * float(op.alpha_max(x[None, None, :], positive=args.positive)[0])
    F = _objective(x, D, alpha, args.positive)
    print(f"CSC problem: synthetic sound, {args.seconds:g} s at {args.sample_rate} Hz mono, "
          f"{args.n_atoms} atoms of {args.atom_length} samples, alpha = {args.alpha_frac:g} "
          f"alpha_max = {alpha:.4g}, positive={args.positive}, target: objective within "
          f"{args.rel:g} of the best, median of {args.repeat}")
    best = F(csc_lgcd(x, D, alpha=alpha, positive=args.positive, tol=1e-6, max_iter=100_000,
                      check_every=50).codes)
    found = []
    for name, fn, ladder, note in _coders(args.only):
        if fn is None:
            found.append({"method": name, "note": note})
            continue
        found.append(_ladder(name, fn, ladder, x, D, alpha, args, F, best * (1 + args.rel)))
    best = min([best] + [r["objective"] for r in found if "objective" in r])
    target = best * (1 + args.rel)
    rows = [_time_row(r, x, D, alpha, args, F, target) for r in found]
    _ratios(rows)
    cols = ["method", "setting", "time_s", "vs_fastest_peer", "vs_sporco", "vs_alphacsc",
            "rel_excess", "nnz", "note"]
    print(format_table(rows, cols))
    print(f"best objective {best:.10g}; setting: the loosest tol (SPORCO: the fewest "
          "iterations) of the ladder reaching it; "
          "vs_*: time ratio (below 1 is faster); rel_excess: (F - best) / best.")
    if not args.no_cdl:
        _run_cdl(args)
    return 0


def _codes(out: Any) -> tuple[np.ndarray, float]:
    """A coder's codes and the largest code it dropped (SPORCO's wrap-around shifts)."""
    return out if isinstance(out, tuple) else (out, 0.0)


def _ladder(name: str, fn: Callable[..., Any], ladder: tuple, x, D, alpha, args, F,
            target: float) -> dict[str, Any]:
    """Run ``fn`` over the ladder until it reaches ``target``; the final target may be lower
    if a run beats the tight LGCD run."""
    runs = []
    for tol in ladder:
        z, _ = _codes(fn(x, D, alpha, tol, args.positive))
        runs.append((tol, F(z)))
        if runs[-1][1] <= target:
            break
    return {"method": name, "fn": fn, "runs": runs, "objective": min(f for _, f in runs)}


def _time_row(r: dict[str, Any], x, D, alpha, args, F, target) -> dict[str, Any]:
    if "fn" not in r:
        return r
    ok = [tol for tol, f in r["runs"] if f <= target]
    tol = ok[0] if ok else r["runs"][-1][0]
    t, out = median_time(lambda: r["fn"](x, D, alpha, tol, args.positive),
                         repeat=args.repeat, warmup=1)
    z, dropped = _codes(out)
    f = F(z)
    best = target / (1 + args.rel)
    note = "" if ok else "did not reach the target"
    if dropped:
        note += f" dropped wrap-around codes up to {dropped:.2g}"
    return {"method": r["method"], "setting": tol, "time_s": t, "rel_excess": (f - best) / best,
            "nnz": int(np.count_nonzero(z)), "reached": bool(ok) and f <= target,
            "note": note.strip()}


def _ratios(rows: list[dict[str, Any]]) -> None:
    peer = {r["method"]: r["time_s"] for r in rows
            if r["method"] in PEERS and r.get("reached")}
    fastest = min(peer.values()) if peer else None
    for r in rows:
        if "time_s" not in r:
            continue
        r["vs_fastest_peer"] = r["time_s"] / fastest if fastest else float("nan")
        r["vs_sporco"] = r["time_s"] / peer.get("sporco ConvBPDN", float("nan"))
        r["vs_alphacsc"] = r["time_s"] / peer.get("alphacsc lgcd", float("nan"))


# --- CDL ---------------------------------------------------------------------------------------

def _learn_ours(x, K, L, alpha, n_iter, seed):
    from .. import signal

    est = signal.ConvolutionalDictionaryLearning(n_atoms=K, atom_length=L, alpha=alpha,
                                                 max_iter=n_iter, random_state=seed)
    return np.asarray(est.fit(x[None, :]).components_).reshape(K, L)


def _learn_alphacsc(x, K, L, alpha, n_iter, seed):
    from alphacsc import learn_d_z_multi

    out = learn_d_z_multi(x[None, None, :], K, L, reg=alpha, n_iter=n_iter, rank1=False,
                          solver_z="l-bfgs", lmbd_max="fixed", raise_on_increase=False,
                          verbose=0, random_state=seed)
    return np.asarray(out[2]).reshape(K, L)  # (pobj, times, D_hat, z_hat, reg)


def _learn_sporco(x, K, L, alpha, n_iter, seed):
    from sporco.dictlrn import cbpdndl

    D0 = np.random.default_rng(seed).standard_normal((L, K))
    opt = cbpdndl.ConvBPDNDictLearn.Options({"Verbose": False, "MaxMainIter": n_iter,
                                             "CBPDN": {"rho": 50 * alpha + 0.5},
                                             "CCMOD": {"ZeroMean": True}})
    learner = cbpdndl.ConvBPDNDictLearn(D0, x, alpha, opt, dimK=0, dimN=1)
    return np.asarray(learner.solve()).reshape(L, K).T


def _run_cdl(args: argparse.Namespace) -> None:
    from .. import signal
    from ..signal import ConvOperator, csc_lgcd

    x, _, _ = make_sound_problem(args.cdl_seconds, args.sample_rate, args.cdl_atoms,
                                 args.cdl_atom_length, events_per_second=args.events_per_second,
                                 snr_db=args.snr_db, random_state=args.seed + 1)
    K, L = args.cdl_atoms, args.cdl_atom_length
    x = x / np.std(x)
    probe = np.random.default_rng(0).standard_normal((K, L))
    probe /= np.linalg.norm(probe, axis=1, keepdims=True)
    alpha = args.alpha_frac * float(
        ConvOperator.build(probe[:, None, :], x.shape[0], xp=np).alpha_max(x[None, None, :])[0])
    print(f"\nCDL problem: synthetic sound, {args.cdl_seconds:g} s at {args.sample_rate} Hz, "
          f"{K} atoms of {L} samples, alpha = {alpha:.4g}; score = min_z F(D, z) by LGCD; "
          f"target: within {args.cdl_rel:g} of the best score")

    def score(Dl):
        Dl = Dl / np.maximum(np.linalg.norm(Dl, axis=1, keepdims=True), 1e-300)
        z = csc_lgcd(x, Dl, alpha=alpha, tol=1e-6, max_iter=20_000).codes
        return _objective(x, Dl, alpha, False)(z)

    learners = [("dictlearn CDL", _learn_ours,
                 "" if hasattr(signal, "ConvolutionalDictionaryLearning") else
                 "ConvolutionalDictionaryLearning is not in this build"),
                ("sporco ConvBPDNDictLearn", _learn_sporco,
                 "" if has_module("sporco") else "sporco is not installed"),
                ("alphacsc learn_d_z_multi", _learn_alphacsc,
                 "" if has_module("alphacsc") else "alphacsc is not installed")]
    found = []
    for name, fn, note in learners:
        if note:
            found.append({"method": name, "note": note})
            continue
        runs = []
        try:
            for it in args.cdl_iters:
                Dl = fn(x, K, L, alpha, it, args.seed)
                runs.append((it, score(Dl)))
        except Exception as exc:  # a peer's failure is reported, not raised
            found.append({"method": name, "note": f"failed: {type(exc).__name__}: {exc}"[:80]})
            continue
        found.append({"method": name, "fn": fn, "runs": runs})
    scores = [s for r in found for _, s in r.get("runs", [])]
    if not scores:
        print(format_table(found, ["method", "note"]))
        return
    target = min(scores) * (1 + args.cdl_rel)
    rows = []
    for r in found:
        if "runs" not in r:
            rows.append(r)
            continue
        ok = [(it, s) for it, s in r["runs"] if s <= target]
        it, s = ok[0] if ok else r["runs"][-1]
        t, _ = median_time(lambda f=r["fn"], n=it: f(x, K, L, alpha, n, args.seed),
                           repeat=args.repeat)
        rows.append({"method": r["method"], "n_iter": it, "time_s": t,
                     "rel_excess": (s - min(scores)) / min(scores), "reached": bool(ok),
                     "note": "" if ok else "did not reach the target"})
    peer = [r["time_s"] for r in rows if r.get("reached") and not r["method"].startswith("dict")]
    for r in rows:
        if "time_s" in r:
            r["vs_fastest_peer"] = r["time_s"] / min(peer) if peer else float("nan")
    print(format_table(rows, ["method", "n_iter", "time_s", "vs_fastest_peer", "rel_excess",
                              "note"]))
    print("n_iter: the first of the ladder whose score reaches the target; rel_excess: "
          "(score - best) / best.")
