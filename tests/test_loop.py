"""The one loop driver: Status sentences, the non-finite rule, Info, Progress, status warnings."""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest

from dictlearn import (
    LISTA,
    ConvergenceWarning,
    DictionaryLearning,
    DictlearnWarning,
    Info,
    NonFiniteWarning,
    Result,
    SparseCoder,
    Status,
    TrainingDivergedWarning,
)
from dictlearn._loop import Progress, finite, iterate, warn_status
from dictlearn.datasets import make_sparse_problem

pytestmark = pytest.mark.usefixtures("single_threaded_blas")

BAR = re.compile(r"\[[#.]{24}\] (iter|epoch) \d+/\d+")


@pytest.fixture(scope="module")
def prob():
    return make_sparse_problem(200, 8, 12, 2, random_state=0)


def test_every_status_explains_itself():
    for s in Status:
        assert isinstance(s.message, str) and len(s.message) > 20 and s.message.endswith(".")
        assert Status(s.value) is s
    assert {s for s in Status if s.failed} == {Status.nonfinite, Status.diverged}
    assert Status.converged.value == "converged"


def test_finite_rule_on_numbers_arrays_and_rows():
    assert finite(1.0) and not finite(math.nan) and not finite(math.inf) and finite(None)
    A = np.array([[1.0, 2.0], [np.inf, 0.0]])
    assert not finite(A, xp=np)
    assert finite(A, xp=np, axis=1).tolist() == [True, False]


def test_iterate_keeps_the_last_good_state_and_reports_each_ending():
    def step(x, it):
        y = x * 10.0
        return y, Info(it, y, objective=y)

    state, status, n, info = iterate(1.0, step, max_iter=500)
    assert status is Status.nonfinite and math.isfinite(state) and state > 1e307 and n == 309
    assert math.isinf(info.objective)
    state, status, n, _ = iterate(1.0, step, max_iter=500, failure=Status.diverged,
                                  stop=lambda i: i.objective >= 1e3)
    assert status is Status.converged and state == 1e3 and n == 3
    state, status, n, _ = iterate(1.0, step, max_iter=5, callback=lambda i: i.iteration == 2)
    assert status is Status.stopped and n == 2
    assert iterate(1.0, step, max_iter=4)[1:3] == (Status.max_iter_reached, 4)


def test_info_reads_as_coding_learning_and_training_info():
    info = Info(3, {"w": 1}, objective=0.5, history=[], val_loss=0.25,
                rows=np.arange(4))
    assert (info.epoch, info.params, info.train_loss, info.val_loss) == (3, {"w": 1}, 0.5, 0.25)
    assert info.n_active == 4 and info.history == []


def test_warn_status_warns_only_about_failures_unless_asked():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for s in (Status.converged, Status.stopped, Status.max_iter_reached):
            warn_status("X", s)
    with pytest.warns(ConvergenceWarning, match="max_iter_reached"):
        warn_status("X", Status.max_iter_reached, max_iter=True)
    with pytest.warns(TrainingDivergedWarning, match=r"X: status_ is diverged \(lr=1\)"):
        warn_status("X", Status.diverged, detail="lr=1")
    assert issubclass(NonFiniteWarning, DictlearnWarning)
    assert issubclass(TrainingDivergedWarning, DictlearnWarning)


def test_sparse_coder_warns_once_when_max_iter_is_reached(prob):
    coder = SparseCoder(prob.dictionary, alpha=0.01, max_iter=2, tol=1e-12)
    with pytest.warns(ConvergenceWarning) as rec:
        coder.fit(prob.X)
    assert coder.status_ is Status.max_iter_reached and len(rec) == 1
    with pytest.warns(ConvergenceWarning) as rec:
        coder.transform(prob.X)
    assert len(rec) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SparseCoder(prob.dictionary, alpha=0.01).fit(prob.X)


def test_dictionary_learning_status_after_fit_and_partial_fit(prob):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a used budget is not a failure: no warning
        est = DictionaryLearning(12, method="mod", max_iter=3, tol=0, random_state=0)
        assert est.fit(prob.X).status_ is Status.max_iter_reached
        assert est.result_.status is est.status_
        stop = DictionaryLearning(12, max_iter=20, batch_size=50, random_state=0,
                                  callback=lambda info: info.iteration == 2)
        assert stop.fit(prob.X).status_ is Status.stopped
        est = DictionaryLearning(12, batch_size=50, random_state=0).partial_fit(prob.X[:50])
    assert est.status_ is Status.max_iter_reached


@pytest.fixture
def nan_coding(monkeypatch):
    """The "fista" coding step made to return NaN codes (a coding failure no scaling fixes)."""
    import dataclasses

    from dictlearn.coding._registry import SPECS

    def nan_codes(X, dictionary, **options):
        Z = np.full((X.shape[0], dictionary.shape[0]), np.nan)
        return Result(Z, Status.nonfinite, 1)

    monkeypatch.setitem(SPECS, "fista", dataclasses.replace(SPECS["fista"], fn=nan_codes))


@pytest.mark.parametrize("method", ["mod", "online"])
def test_nonfinite_learning_ends_with_status_and_one_warning(prob, method, nan_coding):
    est = DictionaryLearning(12, method=method, coding_method="fista", alpha=0.1, max_iter=5,
                             random_state=0)
    with np.errstate(all="ignore"), pytest.warns(DictlearnWarning) as rec:
        est.fit(prob.X)
    assert est.status_ is Status.nonfinite
    assert len(rec) == 1 and issubclass(rec[0].category, NonFiniteWarning)
    assert "nonfinite" in str(rec[0].message)
    assert np.all(np.isfinite(est.components_))  # the last good dictionary is kept
    part = DictionaryLearning(12, method=method, coding_method="fista", alpha=0.1,
                              random_state=0)
    with np.errstate(all="ignore"), pytest.warns(NonFiniteWarning) as rec:
        part.partial_fit(prob.X)
    assert part.status_ is Status.nonfinite and len(rec) == 1
    assert np.all(np.isfinite(part.components_))


@pytest.mark.parametrize("method", ["mod", "online"])
def test_signals_whose_squares_overflow_are_learned_on_a_scaled_copy(prob, method):
    """Finite input whose squares overflow: learning runs on X / s (dictlearn/_scale.py)."""
    ref = DictionaryLearning(12, method=method, alpha=0.1 * 2.0 ** 100, max_iter=5,
                             random_state=0)
    est = DictionaryLearning(12, method=method, alpha=0.1 * 2.0 ** 1000, max_iter=5,
                             random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est.fit(prob.X * 2.0 ** 1000)
    assert est.status_ is not Status.nonfinite
    assert np.array_equal(est.components_, ref.fit(prob.X * 2.0 ** 100).components_)


def test_one_progress_display_for_learning_and_training(prob, capsys):
    DictionaryLearning(12, method="mod", max_iter=2, random_state=0, verbose=True).fit(prob.X)
    learn = capsys.readouterr()
    LISTA(prob.dictionary, 2, max_epochs=2, random_state=0, verbose=True).fit(prob.X,
                                                                            prob.codes)
    lista = capsys.readouterr()
    assert learn.out == "" and lista.out == ""
    assert BAR.search(learn.err) and "MOD" in learn.err and "2/2" in learn.err
    assert BAR.search(lista.err) and "LISTA" in lista.err and "epoch 2/2" in lista.err
    assert learn.err.endswith("\n") and lista.err.endswith("\n")


def test_progress_is_silent_unless_enabled(capsys):
    p = Progress(3, "quiet", False)
    p.update(1, 0.5)
    p.note("never shown")
    p.close()
    assert capsys.readouterr().err == ""
    p = Progress(3, "loud", True, unit="epoch", label="train")
    p.update(1, 0.5, 0.25)
    p.note("a note")
    p.close()
    err = capsys.readouterr().err
    assert "loud [########................] epoch 1/3  train 0.5  val 0.25" in err
    assert "[loud] a note\n" in err


class _Halving:
    """A toy per-row iteration for ``run_loop``: each step halves ``z``."""

    def __init__(self, z):
        self.z = z

    def take(self, rows):
        return _Halving(np.take(self.z, rows, axis=0))


def test_run_loop_criterion_may_defer_its_check():
    from dictlearn._loop import run_loop

    calls = {"real": 0, "blocks": 0}

    def criterion(s):
        calls["blocks"] += 1
        if calls["blocks"] % 3:  # two blocks of three are deferred
            return None
        calls["real"] += 1
        crit = np.max(np.abs(s.z), axis=1)
        return crit - 1e-3, crit

    z0 = np.array([[1.0, 2.0], [1e-2, 0.0]])
    res = run_loop(_Halving(z0.copy()), step=lambda s: _Halving(s.z / 2), criterion=criterion,
                   codes=lambda s: s.z, n_samples=2, max_iter=300, check_every=2, xp=np)
    assert res.status.value == "converged" and calls["real"] < calls["blocks"]
    # rows stop only at a real check (every third block of two steps)
    assert res.n_iter_per_sample.tolist() == [12, 6]
    assert np.all(np.max(np.abs(res.codes), axis=1) <= 1e-3)

    with pytest.raises(RuntimeError, match="max_iter"):
        run_loop(_Halving(z0.copy()), step=lambda s: _Halving(s.z / 2),
                 criterion=lambda s: None, codes=lambda s: s.z, n_samples=2, max_iter=4,
                 check_every=2, xp=np)
