"""The quick-starts of README.md and docs/*.md run, and give a sensible answer.

Each ``python`` block is executed as written (in a temporary directory); a check per block then
asserts on what it computed. The amortized page's block (LISTA and an autoencoder trained on
5,000 signals) is left to ``examples/`` and ``bench amortized``, which run the same calls.
"""

from __future__ import annotations

import importlib.util
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _blocks(page: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", (ROOT / page).read_text(encoding="utf-8"), re.S)


def _objective(ns, Z, alpha=0.1):
    import dictlearn

    return float(np.mean(dictlearn.lasso_objective(ns["X"], ns["D"], Z, alpha=alpha)))


def _check_readme(ns):
    assert ns["res"].status.value == "converged"
    # FISTA to its tolerance and the exact solver reach the same lasso objective
    exact = ns["dictlearn"].sparse_encode(ns["X"], ns["D"], method="lasso", alpha=0.1)
    assert _objective(ns, ns["res"].codes) == pytest.approx(_objective(ns, exact), rel=1e-5)
    assert np.all(np.count_nonzero(ns["Z"], axis=1) <= 5)  # OMP, 5 atoms
    assert ns["dl"].components_.shape == (128, 64)
    net = ns["lista"]  # trained LISTA beats its starting point, 8 steps of ISTA
    ista8 = ns["dictlearn"].ista(ns["X"], ns["D"], alpha=0.1, max_iter=8, tol=0).codes
    assert _objective(ns, net.transform(ns["X"])) < _objective(ns, ista8)


def _check_index(ns):
    assert ns["res"].status.value == "converged"
    assert ns["dictlearn"].metrics.nmse_db(ns["res"].codes, ns["p"].codes) < -15


def _check_learning(ns):
    from dictlearn.metrics import dictionary_recovery

    assert ns["res"].dictionary.shape == (128, 32) and ns["res"].n_iter >= 1
    assert dictionary_recovery(ns["res"].dictionary, ns["p"].dictionary) > 0.8
    assert ns["est"].components_.shape == (128, 32) and ns["est"].status_ is not None
    assert ns["est"].n_iter_ == 401  # 400 steps of fit, one partial_fit after load


def _check_solvers(ns):
    assert np.all(np.count_nonzero(ns["res"].codes, axis=1) <= 5)  # IHT, 5 atoms
    assert ns["res"].codes.shape == ns["Z"].shape


def _check_signal_decompose(ns):
    s = ns["d"].summary
    assert s["n_atoms"] == 8 and s["sample_rate"] == 8000 and s["seconds"] == 2.0
    assert 0 < s["nonzero_fraction"] < 0.2


def _check_signal_solvers(ns):
    from dictlearn.signal import csc_objective

    p = ns["p"]  # the lasso methods agree; MP used its budget
    objectives = [float(csc_objective(p.X, p.atoms, ns["csc_encode"](
        p.X, p.atoms, method=m, alpha=0.05, tol=1e-9, max_iter=5000), alpha=0.05)[0].sum())
        for m in ("fista", "admm", "lgcd")]
    assert max(objectives) <= min(objectives) * (1 + 1e-6)
    assert int(np.count_nonzero(ns["Z"][0])) >= 1


def max_shift_correlation(d, true):
    """Largest normalised cross-correlation over shifts (either sign) of two atoms."""
    d, true = np.ravel(d), np.ravel(true)
    c = np.correlate(np.pad(d, len(true)), true, mode="valid")
    return float(np.max(np.abs(c)) / (np.linalg.norm(d) * np.linalg.norm(true)))


def _check_signal_learning(ns):
    cdl, p = ns["cdl"], ns["p"]
    assert ns["Z"].shape == (6, 3, 969) and cdl.components_.shape == (3, 1, 32)
    for true in p.atoms:  # every planted atom is learned (up to a shift and the sign)
        assert max(max_shift_correlation(d, true) for d in cdl.components_) > 0.95


def _check_anomaly(ns):
    # sevens against the other digits (measured AUC 0.96, 98% of them flagged)
    assert ns["auc"] > 0.9 and ns["flagged"] > 0.3
    assert set(np.unique(ns["det"].predict(ns["test"]))) == {-1, 1}


def _check_api_model_files(ns):
    back = ns["back"]  # the loaded coder has the saved parameters and dictionary
    assert back.get_params()["alpha"] == 0.1
    np.testing.assert_array_equal(back.dictionary, np.eye(3))


def _check_index_devices(ns):
    dev = ns["dev"]
    assert ns["est"].components_.device == dev and ns["Z"].device == dev
    assert ns["Z"].shape == (200, 32)


def _check_distributed(ns):
    assert type(ns["Z"]).__name__ == "Array" and ns["codes"].shape == (2000, 64)
    p = ns["p"]
    ref = ns["dictlearn"].sparse_encode(p.X, p.dictionary, alpha=0.1)
    np.testing.assert_allclose(ns["codes"], ref, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ns["dl"].components_, ns["same"].components_, rtol=0, atol=1e-8)


CASES = [("README.md", 0, _check_readme), ("docs/index.md", 0, _check_index),
         ("docs/index.md", 1, _check_index_devices),
         ("docs/learning.md", 0, _check_learning), ("docs/solvers.md", 0, _check_solvers),
         ("docs/signal.md", 0, _check_signal_decompose),
         ("docs/signal.md", 1, _check_signal_solvers),
         ("docs/signal.md", 2, _check_signal_learning),
         ("docs/signal.md", 3, lambda ns: None), ("docs/anomaly.md", 0, _check_anomaly),
         ("docs/api.md", 0, _check_api_model_files)]
if importlib.util.find_spec("distributed") is not None:  # the dask extra
    CASES.append(("docs/distributed.md", 0, _check_distributed))


@pytest.mark.parametrize(("page", "index", "check"), CASES,
                         ids=[f"{c[0]}[{c[1]}]" for c in CASES])
def test_quickstart_runs_and_is_sensible(page, index, check, tmp_path, monkeypatch,
                                         single_threaded_blas):
    from dictlearn.amortized import DepthWarning

    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    with warnings.catch_warnings():  # a quick-start whose training got worse is a bug
        warnings.simplefilter("error", DepthWarning)
        exec(compile(_blocks(page)[index], f"{page}[{index}]", "exec"), ns)
    check(ns)
