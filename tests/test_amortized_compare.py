"""compare_inference, the plotting helpers and the ``bench amortized`` command."""

from __future__ import annotations

import math

import numpy as np
import pytest

import dictlearn
from dictlearn import LISTA, SparseAutoencoder, compare_inference
from dictlearn.datasets import make_sparse_problem
from dictlearn.metrics import nmse_db

pytestmark = pytest.mark.usefixtures("single_threaded_blas")


@pytest.fixture(scope="module")
def fitted():
    p = make_sparse_problem(900, 16, 32, 2, random_state=0)
    tr, te = slice(0, 800), slice(800, None)
    net = LISTA(p.dictionary, 4, variant="cp", alpha=0.05, max_epochs=5, random_state=0)
    net.fit(p.X[tr], p.codes[tr])
    sae = SparseAutoencoder(32, sparsity="topk", k=2, max_epochs=3, random_state=0)
    sae.fit(p.X[tr])
    return p, te, net, sae


def test_table_rows_match_the_methods_run_directly(fitted):
    p, te, net, sae = fitted
    X, Z = p.X[te], p.codes[te]
    t = compare_inference(X, p.dictionary, ["ista", "fista", "omp", net, ("ae", sae)],
                          alpha=0.05, Z_true=Z, iterations=4)
    names = t.methods()
    assert names[:2] == ["ista", "fista"] and "lista-cp" in names and "ae" in names
    assert ("omp" in names) == ("omp" in dictlearn.METHODS)
    assert [r["steps"] for r in t.select("ista")] == [1, 2, 3, 4]
    for r in t.select("ista"):
        ref = dictlearn.ista(X, p.dictionary, alpha=0.05, max_iter=r["steps"], tol=0).codes
        assert r["nmse_db"] == pytest.approx(nmse_db(ref, Z))
        obj = float(np.mean(dictlearn.lasso_objective(X, p.dictionary, ref, alpha=0.05)))
        assert r["objective"] == pytest.approx(obj)
    for r in t.select("lista-cp"):
        assert r["nmse_db"] == pytest.approx(nmse_db(net.transform(X, n_layers=r["steps"]), Z))
        assert 0.0 <= r["support_f1"] <= 1.0 and r["time_per_sample_s"] > 0
    (ae,) = t.select("ae")
    assert math.isnan(ae["nmse_db"]) and ae["l0"] <= 2.0
    assert "lista-cp" in t.to_string()


def test_compare_refuses_bad_input(fitted):
    p = fitted[0]
    with pytest.raises(ValueError, match="unknown method"):
        compare_inference(p.X, p.dictionary, ["lars"])
    with pytest.raises(TypeError, match="methods entries"):
        compare_inference(p.X, p.dictionary, [3])
    with pytest.raises(ValueError, match="share n_features"):
        compare_inference(p.X[:, :5], p.dictionary, ["ista"])
    with pytest.raises(ValueError, match="Z_true must have shape"):
        compare_inference(p.X, p.dictionary, ["ista"], Z_true=p.codes[:3])


def test_plots(fitted):
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg")
    import matplotlib.pyplot as plt

    from dictlearn.plotting import plot_atoms, plot_nmse_vs_steps, plot_nmse_vs_time

    p, te, net, sae = fitted
    t = compare_inference(p.X[te], p.dictionary, ["ista", net, sae], Z_true=p.codes[te],
                          iterations=3)
    fig, axes = plt.subplots(1, 3)
    assert len(plot_nmse_vs_steps(t, ax=axes[0]).lines) == 3
    assert len(plot_nmse_vs_time(t, ax=axes[1]).lines) == 3
    assert axes[1].get_xscale() == "log"
    plot_atoms(sae.components_, (4, 4), ax=axes[2])
    with pytest.raises(ValueError, match="entries"):
        plot_atoms(sae.components_, (3, 3))
    plt.close(fig)


def test_bench_amortized_command(capsys):
    from dictlearn.bench import main

    rc = main(["amortized", "--n-train", "300", "--n-test", "50", "--n-features", "16",
               "--n-atoms", "32", "--n-nonzero", "2", "--layers", "3", "--epochs", "2",
               "--variants", "cp", "alista", "--sae-k", "2", "--repeat", "1"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "lista-alista" in out and "sae-topk" in out and "fista" in out


def test_any_registered_method_is_compared_by_its_metadata(fitted):
    p, te = fitted[0], fitted[1]
    X, Z = p.X[te], p.codes[te]
    t = compare_inference(X, p.dictionary, ["iht", "omp", "lasso"], alpha=0.05, Z_true=Z,
                          iterations=[2, 5], n_nonzero_coefs=3)
    assert [r["steps"] for r in t.select("iht")] == [2, 5]  # iterative: each count
    assert [r["steps"] for r in t.select("omp")] == [3]  # greedy: at its sparsity
    (exact,) = t.select("lasso")  # neither: once, to convergence
    ref = dictlearn.lasso(X, p.dictionary, alpha=0.05)
    assert exact["steps"] == ref.n_iter
    assert exact["nmse_db"] == pytest.approx(nmse_db(ref.codes, Z))
    assert all(r["l0"] <= 3 for r in t.select("iht") + t.select("omp"))
