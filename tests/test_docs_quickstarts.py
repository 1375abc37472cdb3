"""The quick-starts of README.md and docs/*.md run, and give a sensible answer.

Each ``python`` block is executed as written (in a temporary directory); a check per block then
asserts on what it computed. The amortized page's block (LISTA and an autoencoder trained on
5,000 signals) is left to ``examples/`` and ``bench amortized``, which run the same calls.
"""

from __future__ import annotations

import re
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


CASES = [("README.md", 0, _check_readme), ("docs/index.md", 0, _check_index),
         ("docs/learning.md", 0, _check_learning), ("docs/solvers.md", 0, _check_solvers)]


@pytest.mark.parametrize(("page", "index", "check"), CASES, ids=[c[0] for c in CASES])
def test_quickstart_runs_and_is_sensible(page, index, check, tmp_path, monkeypatch,
                                         single_threaded_blas):
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    exec(compile(_blocks(page)[index], f"{page}[{index}]", "exec"), ns)
    check(ns)
