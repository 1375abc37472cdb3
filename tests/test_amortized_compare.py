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


def test_every_method_appears_in_the_plots_and_the_bench_figure_keeps_its_labels(fitted,
                                                                                  tmp_path):
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg")
    import matplotlib.pyplot as plt

    from dictlearn.bench import main
    from dictlearn.plotting import plot_nmse_vs_steps, plot_nmse_vs_time

    p, te, net, sae = fitted
    t = compare_inference(p.X[te], p.dictionary, ["ista", net, sae], Z_true=p.codes[te],
                          iterations=3, repeat=1)
    for plot in (plot_nmse_vs_steps, plot_nmse_vs_time):
        ax = plot(t)
        labels = [x.get_text() for x in ax.get_legend().get_texts()]
        assert labels[:2] == ["ista", "lista-cp"] and labels[2].startswith("sae-topk (no code")
        plt.close(ax.figure)
    out = tmp_path / "fig.png"
    assert main(["amortized", "--n-train", "200", "--n-test", "40", "--n-features", "16",
                 "--n-atoms", "32", "--n-nonzero", "2", "--layers", "2", "--epochs", "1",
                 "--variants", "cp", "--sae-k", "2", "--repeat", "1", "--plot", str(out)]) == 0
    img = plt.imread(out)
    # saved with bbox_inches="tight": the x-labels sit inside the image, whose bottom rows
    # are therefore not all background (a cut label left the figure's lower margin empty)
    assert img.shape[0] > 100 and np.any(img[-int(0.06 * img.shape[0]):, :, :3] < 0.5)


class _SlowFirstCall(LISTA):
    """A LISTA whose first transform costs 0.3 s (as a numba compilation would)."""

    def transform(self, X, n_layers=None):
        import time

        if not getattr(self, "_warm", False):
            time.sleep(0.3)
            self._warm = True
        return super().transform(X, n_layers)


def test_timing_excludes_the_first_call_and_grows_with_the_steps(fitted):
    from dictlearn.amortized.compare import AMORTIZED

    p, te = fitted[0], fitted[1]
    X = p.X[te]
    slow = _SlowFirstCall(p.dictionary, 2, variant="cp").initialize(X)
    AMORTIZED[_SlowFirstCall] = AMORTIZED[LISTA]
    try:
        t = compare_inference(X, p.dictionary, [slow], iterations=2, repeat=1)
    finally:
        del AMORTIZED[_SlowFirstCall]
    assert max(r["time_per_sample_s"] for r in t.rows) * X.shape[0] < 0.1
    big = make_sparse_problem(400, 64, 256, 5, random_state=0)
    t = compare_inference(big.X, big.dictionary, ["ista"], Z_true=big.codes,
                          iterations=[1, 8, 32], repeat=3)
    times = [r["time_per_sample_s"] for r in t.select("ista")]
    assert times[0] < times[1] < times[2]


def test_improving_column_and_timings_at_batch_sizes(fitted):
    p, te, net, _ = fitted
    X, Z = p.X[te], p.codes[te]
    t = compare_inference(X, p.dictionary, ["ista", "lasso", net], alpha=0.05, Z_true=Z,
                          iterations=4, repeat=1, batch_sizes=[1, 7, 250])
    assert [r["improving"] for r in t.select("ista")] == ["", "yes", "yes", "yes"]
    assert [r["improving"] for r in t.select("lasso")] == [""]
    huge = compare_inference(X, p.dictionary, ["ista"], alpha=1e3, iterations=3, repeat=1)
    assert [r["improving"] for r in huge.select("ista")] == ["", "no", "no"]  # all zero codes
    assert [(r["method"], r["batch_size"]) for r in t.timings] == [
        (m, b) for m in ("ista", "lasso", "lista-cp") for b in (1, 7, 250)]
    for r in t.timings:
        last = max(t.select(r["method"]), key=lambda q: q["steps"])
        assert r["steps"] == last["steps"] and r["nmse_db"] == last["nmse_db"]
        assert r["time_per_sample_s"] > 0
    assert "batch_size" in t.timings_string()
    with pytest.raises(ValueError, match="batch_sizes"):
        compare_inference(X, p.dictionary, ["ista"], iterations=1, batch_sizes=[0])
