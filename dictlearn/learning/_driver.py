r"""The alternating driver shared by every dictionary learner.

One iteration is one *alternation* on a batch ``X_b`` (all signals for the batch methods, a
mini-batch for the online ones):

1. **coding step** ``Z_b = sparse_encode(X_b, D, method=...)`` (:class:`CodingStep`);
2. **dictionary step** ``D ← update(D, X_b, Z_b)`` (the learner: MOD, K-SVD, online BCD,
   Olshausen–Field gradient), followed by the projection on the atom constraint set;
3. **dead-atom policy**: atoms that no signal uses (or of zero norm) are resampled from the
   worst-reconstructed signals of the batch (:func:`~dictlearn.learning.atoms.resample_atoms`)
   and counted in the history;
4. bookkeeping: the objective of the batch (after coding, before the update), history, the
   callback (return True to stop), a progress line when ``verbose``, and the stopping rule.

Stopping: batch learners stop when the objective changes by less than ``tol`` relative between
two iterations; mini-batch learners compare the mean objective of two consecutive passes over
the data (epochs).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from .._loop import Info, Progress, Result, finite, iterate
from .._scale import Scale
from .._validation import check_array, check_choice, check_nonneg_scalar, check_positive_int
from .._xp import blas_one_thread, check_random_state, get_namespace, is_numpy
from ._coding import CodingStep, make_coder
from .atoms import dead_atom_mask, init_dictionary, project_atoms, resample_atoms

__all__ = ["LearningState", "NoState", "Updater", "alternation_value", "epoch_stop",
           "finish_step", "fit_dictionary", "learn", "learning_scale", "learning_step",
           "next_batch", "split_record", "start_state", "unscale_history"]

DEAD_ATOM_POLICIES = ("resample", "keep")


@dataclass(frozen=True)
class NoState:
    """The state of a learner that keeps none between iterations (MOD, K-SVD)."""


def split_record(record: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A learner's state record as ``(arrays, scalars)``: its fields by name."""
    values = {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
    arrays = {k: v for k, v in values.items() if hasattr(v, "shape")}
    return arrays, {k: v for k, v in values.items() if k not in arrays}


class Updater:
    """The dictionary step of a learner (subclassed by MOD, K-SVD, online, Olshausen–Field).

    A learner that keeps a state between iterations (sufficient statistics, gains) declares a
    frozen dataclass for it next to its updater and returns it from :meth:`init_state`; the
    other methods take that record and return a new one (never change it in place). Its
    fields are arrays or JSON scalars: the saved models list them from the record.

    Attributes
    ----------
    name : str
    minibatch : bool
        True for learners that see one mini-batch per iteration.
    constraint : {"sphere", "ball"}
    positive : bool
        Non-negative atoms.
    coherence_every : int or None
        Look for duplicated atoms every this many iterations (None: every iteration for
        batch learners, every 10th for mini-batch learners).
    """

    name = "updater"
    minibatch = False
    coherence_every: int | None = None
    constraint = "sphere"
    positive = False

    def init_state(self, D: Any, *, xp: ModuleType) -> Any:
        """The learner's own state record for a starting ``D`` (:class:`NoState` here)."""
        return NoState()

    def update(self, D: Any, X: Any, Z: Any, aux: Any, *, xp: ModuleType):
        """Return ``(D, Z, aux, usage)``: the new dictionary (on the constraint set), the codes
        (updated by K-SVD, else ``Z``), the new state record and a per-atom usage (n_atoms,)
        whose zeros mark unused atoms (None: count the codes' non-zeros)."""
        raise NotImplementedError

    def project(self, D: Any, aux: Any, *, xp: ModuleType) -> Any:
        """Project ``D`` on the constraint set (``aux`` is None before :meth:`init_state`;
        Olshausen–Field overrides with its gains)."""
        return project_atoms(D, constraint=self.constraint, positive=self.positive, xp=xp)

    def on_resample(self, aux: Any, dead: Any, *, xp: ModuleType) -> Any:
        """Forget what the state knew about resampled atoms (boolean mask ``dead``)."""
        return aux

    def scaled(self, sc: Scale) -> Updater:
        """The dictionary step of the signals ``X / s`` (:mod:`dictlearn._scale`): constants
        in data units rescaled by their law (Olshausen–Field's ``var_goal`` and
        ``learning_rate``); ``self`` for a step without such constants."""
        return self

    def for_data(self, n_samples: int) -> Updater:
        """The updater for a run over a data set of ``n_samples`` signals (the online
        learner's epoch window); ``self`` here."""
        return self

    # The atoms' geometry: rows of ``D`` here; a learner whose atoms are not rows
    # (convolutional atoms (n_atoms, n_channels, atom_length)) overrides these four.
    def dictionary_shape(self, n_atoms: int, n_features: int) -> tuple[int, ...]:
        """The dictionary's shape for signals of ``n_features`` (``X``'s columns)."""
        return (n_atoms, n_features)

    def initial_dictionary(self, X: Any, n_atoms: int, *, init: Any, rng: np.random.Generator,
                           xp: ModuleType) -> Any:
        """The starting dictionary (:func:`~dictlearn.learning.atoms.init_dictionary`)."""
        return init_dictionary(X, n_atoms, init=init, constraint=self.constraint,
                               positive=self.positive, random_state=rng, xp=xp)

    def dead_mask(self, D: Any, *, max_coherence: float | None, xp: ModuleType) -> Any:
        """Zero-norm atoms, and duplicates when ``max_coherence`` is given
        (:func:`~dictlearn.learning.atoms.dead_atom_mask`)."""
        return dead_atom_mask(D, xp=xp, max_coherence=max_coherence)

    def resample(self, D: Any, X: Any, Z: Any, dead: Any, *, rng: np.random.Generator,
                 xp: ModuleType) -> tuple[Any, int]:
        """Replace the ``dead`` atoms from the worst-reconstructed signals
        (:func:`~dictlearn.learning.atoms.resample_atoms`)."""
        return resample_atoms(D, X, Z, dead, constraint=self.constraint,
                              positive=self.positive, random_state=rng, xp=xp)


@dataclass(frozen=True)
class LearningState:
    """Everything needed to resume learning (``partial_fit``, saved models).

    Frozen: every alternation returns a new state (``dataclasses.replace``). The one exception
    is ``history``: an append-only list shared by the states of a run (each alternation
    appends its record), so that a run's history is not copied at every iteration.

    Attributes
    ----------
    dictionary : array of shape (n_atoms, n_features)
    aux : record
        The learner's own state, the record its :meth:`Updater.init_state` returns
        (:class:`~dictlearn.learning.online.OnlineStatistics`,
        :class:`~dictlearn.learning.olshausen_field.OlshausenFieldGains` or
        :class:`NoState`).
    n_iter, n_samples_seen, n_resampled : int
    history : list of dict
    scale : float
        The power of two the signals are divided by while learning
        (:mod:`dictlearn._scale`): the statistics in ``aux`` are in those units;
        resuming divides new signals by it too.
    """

    dictionary: Any
    aux: Any = field(default_factory=NoState)
    n_iter: int = 0
    n_samples_seen: int = 0
    n_resampled: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    scale: float = 1.0


def start_state(X: Any, n_atoms: int, *, updater: Updater, init: Any,
                rng: np.random.Generator, xp: ModuleType) -> LearningState:
    """The state learning starts from: the initial dictionary, projected, and the learner's
    initial record."""
    D = updater.initial_dictionary(X, n_atoms, init=init, rng=rng, xp=xp)
    D = updater.project(D, None, xp=xp)  # (again: the results depend on it to the last bit)
    aux = updater.init_state(D, xp=xp)
    return LearningState(updater.project(D, aux, xp=xp), aux)


def learning_step(state: LearningState, X: Any, *, updater: Updater, coder: CodingStep,
                  xp: ModuleType, dead_atoms: str = "resample",
                  rng: np.random.Generator | None = None, init_codes: Any = None,
                  max_coherence: float | None = 0.99) -> tuple[LearningState, Any, float]:
    """One alternation on the batch ``X``: coding step, dictionary step, dead-atom policy.

    Returns the new state (a new object; arrays are never updated in place), the codes of
    ``X`` and the batch's mean objective before the dictionary step. With the "resample"
    policy, unused atoms and atoms within ``max_coherence`` (|cosine|) of an atom of lower
    index are replaced (duplicates are looked for every iteration for batch learners, every
    10th for mini-batch learners).
    """
    t0 = time.perf_counter()
    D = state.dictionary
    Z, objs = coder.encode_with_objective(X, D, xp=xp, init=init_codes)
    obj = float(xp.mean(objs))
    D_new, Z, aux, usage = updater.update(D, X, Z, state.aux, xp=xp)
    if usage is None:
        usage = xp.sum(xp.astype(Z != 0, X.dtype), axis=0)
    new = finish_step(state, D_new, aux, usage, obj, updater=updater,
                      n_samples=int(X.shape[0]), rows=lambda k: (X, Z), xp=xp,
                      dead_atoms=dead_atoms, rng=rng, max_coherence=max_coherence, t0=t0)
    return new, Z, obj


def finish_step(state: LearningState, D_new: Any, aux: Any, usage: Any, obj: float, *,
                updater: Updater, n_samples: int, rows: Callable[[int], tuple[Any, Any]],
                xp: ModuleType, dead_atoms: str = "resample",
                rng: np.random.Generator | None = None, max_coherence: float | None = 0.99,
                t0: float | None = None) -> LearningState:
    """The end of an alternation after the dictionary step (in memory, or with the codes on
    Dask workers, :mod:`dictlearn.distributed`): the dead-atom policy and the history record.

    ``rows(k)`` gives the signals and codes that the ``k`` replaced atoms are resampled from
    (the batch; the ``k`` worst-coded rows gathered from the workers), called only when an
    atom is replaced.
    """
    every = updater.coherence_every or (10 if updater.minibatch else 1)  # k x k: not free
    coh = max_coherence if (state.n_iter + 1) % every == 0 else None
    dead = updater.dead_mask(D_new, max_coherence=coh, xp=xp) | (usage <= 0)
    # "keep": unused atoms stay, zero-norm ones cannot be coded on and are resampled
    replace = dead if dead_atoms == "resample" else updater.dead_mask(D_new, max_coherence=None,
                                                                       xp=xp)
    n_res = 0
    if bool(xp.any(replace)):
        Xr, Zr = rows(int(xp.sum(xp.astype(replace, xp.int64))))
        D_new, n_res = updater.resample(D_new, Xr, Zr, replace, rng=rng, xp=xp)
        aux = updater.on_resample(aux, replace, xp=xp)
        D_new = updater.project(D_new, aux, xp=xp)
    record = {
        "iteration": state.n_iter + 1,
        "objective": obj,
        "n_resampled": n_res,
        "n_unused": int(xp.sum(xp.astype(dead, xp.int64))),
        "n_samples_seen": state.n_samples_seen + n_samples,
        "time_s": time.perf_counter() - (time.perf_counter() if t0 is None else t0),
    }
    state.history.append(record)  # the history list is shared along a run (append-only)
    return dataclasses.replace(state, dictionary=D_new, aux=aux, n_iter=state.n_iter + 1,
                               n_samples_seen=state.n_samples_seen + n_samples,
                               n_resampled=state.n_resampled + n_res)


def next_batch(run: dict[str, Any], n: int, batch_size: int,
               rng: np.random.Generator) -> np.ndarray:
    """The next mini-batch's row indices: consecutive slices of random permutations of the
    ``n`` rows (a new permutation when the current one runs out); ``run["order"]`` holds
    what is left."""
    if run["order"].size < batch_size:
        run["order"] = np.concatenate([run["order"], rng.permutation(n)])
    idx, run["order"] = run["order"][:batch_size], run["order"][batch_size:]
    return idx


def epoch_stop(run: dict[str, Any], *, tol: float, exact: float,
               steps_per_epoch: int) -> Callable[[Info], bool]:
    """The learners' stopping rule: an exact fit (objective ≤ ``exact``), or a relative change
    of the mean objective over an epoch (``steps_per_epoch`` mini-batches; one alternation
    for batch learners) below ``tol``. ``run`` keeps ``"objs"`` and ``"prev"``."""

    def stop(info: Info) -> bool:
        obj = info.objective
        if obj <= exact:
            return True  # an exact fit
        run["objs"].append(obj)
        if len(run["objs"]) < steps_per_epoch:
            return False
        cur = sum(run["objs"]) / len(run["objs"])  # the mean over an epoch (mini-batch)
        run["objs"], prev, run["prev"] = [], run["prev"], cur
        return tol > 0 and abs(prev - cur) <= tol * abs(cur)

    return stop


def fit_dictionary(X: Any, n_atoms: int, *, updater: Updater, coder: CodingStep, init: Any = "data",
                   max_iter: int = 100, tol: float = 1e-4, batch_size: int = 256,
                   random_state: Any = None, callback: Callable[[Info], Any] | None = None,
                   verbose: bool = False, dead_atoms: str = "resample",
                   state: LearningState | None = None) -> Result:
    """Alternate coding and dictionary steps until ``tol``, ``max_iter`` or the callback.

    The alternations run on :func:`dictlearn._loop.iterate`: an alternation whose objective or
    dictionary is not finite ends learning with ``Status.nonfinite`` and the last good state.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    n_atoms : int
    updater : Updater
        The dictionary step.
    coder : CodingStep
        The coding step.
    init : {"data", "random"} or array of shape (n_atoms, n_features)
        Starting dictionary (ignored when ``state`` is given).
    max_iter : int
        Iterations (alternations); one mini-batch each for the mini-batch learners. A budget:
        using it up is ``Status.max_iter_reached``, not a failure.
    tol : float
        Relative change of the objective (per iteration for batch learners, per epoch for
        mini-batch learners) below which learning stops; 0 runs all ``max_iter`` iterations.
    batch_size : int
        Mini-batch size (mini-batch learners only).
    random_state : None, int or Generator
        Initial dictionary, mini-batch order and resampled atoms.
    callback : callable, optional
        ``callback(Info)`` after every iteration (``info.iteration``, ``info.dictionary``,
        ``info.objective``, ``info.history``); return True to stop.
    verbose : bool
        Show the progress line on stderr.
    dead_atoms : {"resample", "keep"}
        Dead-atom policy (zero-norm atoms are always resampled).
    state : LearningState, optional
        Resume from this state (continues its history and statistics).

    Returns
    -------
    Result
        ``dictionary``, ``codes`` (batch learners), ``n_iter``, ``status``, ``history`` and
        ``state`` (to resume).
    """
    X = check_array(X, "X", owner="fit_dictionary", allow_all_zero=False)
    xp = get_namespace(X)
    n_atoms = check_positive_int(n_atoms, "n_atoms")
    max_iter = check_positive_int(max_iter, "max_iter")
    batch_size = check_positive_int(batch_size, "batch_size")
    check_choice(dead_atoms, "dead_atoms", set(DEAD_ATOM_POLICIES))
    tol = check_nonneg_scalar(tol, "tol")
    rng = check_random_state(random_state)
    n, m = X.shape
    updater = updater.for_data(n)
    device = getattr(X, "device", None)
    sc = learning_scale(X, state, coder, xp=xp)
    X = sc.down(X)
    if sc.scaled:
        coder, updater = coder.scaled(sc), updater.scaled(sc)
    if state is None:
        state = start_state(X, n_atoms, updater=updater, init=init, rng=rng, xp=xp)
        state = dataclasses.replace(state, scale=sc.s)
    elif tuple(state.dictionary.shape) != updater.dictionary_shape(n_atoms, m):
        raise ValueError(
            f"the saved state's dictionary has shape {tuple(state.dictionary.shape)}; "
            f"expected {updater.dictionary_shape(n_atoms, m)}"
        )
    n_before = state.n_iter
    minibatch = updater.minibatch and n > batch_size
    steps_per_epoch = max(1, math.ceil(n / batch_size)) if updater.minibatch else 1
    exact = 1e3 * float(xp.finfo(X.dtype).eps) ** 2 * float(xp.mean(xp.sum(X * X, axis=1)))
    run = {"order": np.empty(0, dtype=np.int64), "Z": None, "objs": [], "prev": math.inf}

    def step(st: LearningState, it: int) -> tuple[LearningState, Info]:
        if minibatch:
            idx = next_batch(run, n, batch_size, rng)
            Xb = xp.take(X, xp.asarray(idx, device=device), axis=0)
        else:
            Xb = X
        st, Z, obj = learning_step(st, Xb, updater=updater, coder=coder, xp=xp,
                                   dead_atoms=dead_atoms, rng=rng, init_codes=run["Z"])
        value = alternation_value(st, obj, xp=xp)
        if not updater.minibatch and math.isfinite(value):
            run["Z"] = Z  # warm start of the next coding step
        return st, Info(st.n_iter, st, value, st.history)

    stop = epoch_stop(run, tol=tol, exact=exact, steps_per_epoch=steps_per_epoch)
    # a mini-batch step's products are small: BLAS on one thread, numba's kernels parallel
    with blas_one_thread() if minibatch and is_numpy(xp) else contextlib.nullcontext():
        state, status, _, _ = iterate(state, step, max_iter=max_iter, stop=stop,
                                      callback=callback,
                                      progress=Progress(max_iter, updater.name, verbose), xp=xp)
    codes = None if updater.minibatch else sc.up(run["Z"])
    unscale_history(state.history[-state.n_iter + n_before:] if state.n_iter > n_before
                    else [], sc)
    return Result(codes, status, state.n_iter, history=state.history, state=state)


def learning_scale(X: Any, state: LearningState | None, coder: Any, *,
                   xp: ModuleType) -> Scale:
    """The scale learning divides the signals by (:mod:`dictlearn._scale`): that of
    ``X`` for a new run, the state's for a resumed one, 1 for a coding step that does not say
    how its parameters scale (no ``scaled`` method)."""
    if not hasattr(coder, "scaled"):
        return Scale(1.0, xp)
    return Scale.of(X, xp) if state is None else Scale(float(state.scale), xp)


def unscale_history(records: list[dict[str, Any]], sc: Scale) -> None:
    """Put the objectives of ``records`` (learned on ``X / s``) back in ``X``'s units."""
    for record in records if sc.scaled else ():
        record["objective"] = float(sc.up(record["objective"], 2))


def alternation_value(state: LearningState, obj: float, *, xp: ModuleType) -> float:
    """The objective of an alternation, NaN when its dictionary is not finite (the value that
    the non-finite rule checks, in ``fit_dictionary`` and ``partial_fit`` alike)."""
    return obj if finite(state.dictionary, xp=xp) else math.nan


def learn(X: Any, n_atoms: int, updater: Updater, *, default_coding: str,
          coding_method: str | None, alpha: float | None, n_nonzero_coefs: int | None,
          positive_code: bool, coding_options: dict[str, Any] | None, **fit: Any) -> Result:
    """The body of the public learners (:func:`~dictlearn.learning.mod`, …): their coding
    step (:func:`~dictlearn.learning._coding.make_coder`, ``default_coding`` when
    ``coding_method`` is None), then :func:`fit_dictionary` with ``updater`` and ``fit``."""
    coder = make_coder(coding_method, default=default_coding, alpha=alpha,
                       n_nonzero_coefs=n_nonzero_coefs, positive_code=positive_code,
                       coding_options=coding_options, n_atoms=n_atoms)
    return fit_dictionary(X, n_atoms, updater=updater, coder=coder, **fit)
