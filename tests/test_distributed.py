"""Dask: lazy coding of row-chunked arrays and dictionary learning across a local cluster of two
workers (127.0.0.1), compared with the in-memory results on the same data and seed."""

from __future__ import annotations

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import dictlearn  # noqa: E402
from dictlearn.datasets import make_sparse_problem  # noqa: E402


def test_bench_dask_runs(capsys):  # before the module's cluster: the bench starts its own
    from dictlearn.bench import main

    assert main(["dask", "--n-samples", "300", "--n-atoms", "16", "--repeat", "1",
                 "--mod-iter", "1", "--workers", "1", "--chunks", "2"]) == 0
    out = capsys.readouterr().out
    assert "numpy (in memory)" in out and "dask, 1 worker" in out


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                       protocol="tcp", host="127.0.0.1",
                                       dashboard_address=None)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="module")
def problem():
    return make_sparse_problem(600, 16, 24, 3, snr_db=30, random_state=5)


def _lazy(X, rows=150):
    return da.from_array(X, chunks=(rows, X.shape[1]))


@pytest.mark.parametrize(("method", "opts"), [("fista", {"alpha": 0.1}),
                                              ("omp", {"n_nonzero_coefs": 3})])
def test_sparse_encode_is_lazy_and_equal(client, problem, method, opts):
    X, D = problem.X, problem.dictionary
    Z = dictlearn.sparse_encode(_lazy(X), D, method=method, **opts)
    assert isinstance(Z, da.Array) and Z.chunks == ((150,) * 4, (24,))
    ref = dictlearn.sparse_encode(X, D, method=method, **opts)
    np.testing.assert_allclose(Z.compute(), ref, rtol=0, atol=1e-12)


def test_dictionary_sent_once(client, problem):
    Z = dictlearn.sparse_encode(_lazy(X := problem.X), problem.dictionary, alpha=0.1)
    graph = dict(Z.__dask_graph__())
    big = [k for k, v in graph.items() if isinstance(v, np.ndarray)
           and v.shape == problem.dictionary.shape]
    assert len(big) <= 1  # one key holds D, whatever the number of chunks
    assert Z.compute().shape == (X.shape[0], 24)


def test_float32_kept(client, problem):
    X = problem.X.astype(np.float32)
    Z = dictlearn.sparse_encode(_lazy(X), problem.dictionary.astype(np.float32), alpha=0.1)
    assert Z.dtype == np.float32 and Z.compute().dtype == np.float32


def test_return_result_refused(problem):
    with pytest.raises(TypeError, match="return_result=True needs X in memory"):
        dictlearn.sparse_encode(_lazy(problem.X), problem.dictionary, alpha=0.1,
                                return_result=True)


def test_estimators_transform_lazily(client, problem):
    X, D = problem.X, problem.dictionary
    coder = dictlearn.SparseCoder(D, method="omp", n_nonzero_coefs=3)
    Z = coder.transform(_lazy(X))
    assert isinstance(Z, da.Array)
    np.testing.assert_array_equal(Z.compute(), coder.transform(X))
    dl = dictlearn.DictionaryLearning(24, method="mod", max_iter=2, random_state=0).fit(X)
    Zl = dl.transform(_lazy(X))
    assert isinstance(Zl, da.Array)
    np.testing.assert_allclose(Zl.compute(), dl.transform(X), rtol=0, atol=1e-12)


@pytest.mark.parametrize("method", ["mod", "ksvd"])
def test_batch_learners_equal_in_memory(client, problem, method):
    X = problem.X
    kw = {"method": method, "max_iter": 4, "random_state": 0, "tol": 0.0}
    mem = dictlearn.DictionaryLearning(24, **kw).fit(X)
    dsk = dictlearn.DictionaryLearning(24, **kw).fit(_lazy(X))
    assert dsk.n_iter_ == mem.n_iter_ == 4
    np.testing.assert_allclose(dsk.components_, mem.components_, rtol=0, atol=1e-8)
    objs = [h["objective"] for h in dsk.history_]
    np.testing.assert_allclose(objs, [h["objective"] for h in mem.history_], rtol=1e-10)
    assert objs[-1] < objs[0]


@pytest.mark.parametrize("n", [None, 200])  # 200 rows: 12 batches of 64 span 3.8 epochs
def test_online_objective_within_one_percent(client, problem, n):
    """Online learning on Dask takes the same batches and steps as in memory, the epoch
    window of its statistics (``OnlineUpdate.for_data``) included."""
    X = problem.X[:n]
    kw = {"method": "online", "max_iter": 12, "batch_size": 64, "alpha": 0.1,
          "random_state": 0}
    mem = dictlearn.DictionaryLearning(24, **kw).fit(X)
    dsk = dictlearn.DictionaryLearning(24, **kw).fit(_lazy(X))

    def objective(model):
        Z = model.transform(X)
        return float(np.mean(dictlearn.lasso_objective(X, model.components_, Z, alpha=0.1)))

    assert abs(objective(dsk) - objective(mem)) <= 0.01 * objective(mem)
    np.testing.assert_allclose(dsk.components_, mem.components_, rtol=0, atol=1e-6)


def _gathered_arrays(value):
    if isinstance(value, np.ndarray):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return [a for v in value for a in _gathered_arrays(v)]
    return []


@pytest.mark.parametrize("options", [  # the non-negative fit: 11 round trips per atom, 1 sweep
    {"max_iter": 2}, {"max_iter": 2, "approximate": True},
    {"max_iter": 1, "positive_dict": True, "positive_code": True}])
def test_ksvd_never_gathers_the_data_on_the_client(client, monkeypatch, options):
    """Every result that comes back from the workers (``Client.gather``) during a K-SVD fit is
    recorded: none holds more than a tenth of ``X``'s rows, nor a quarter of ``X``'s or
    ``Z``'s bytes; and the fit still equals the in-memory one (exact K-SVD: the Gram
    reductions; approximate: ``Eᵀg``; non-negative: both, and the alternations)."""
    X = make_sparse_problem(400, 10, 12, 2, snr_db=30, random_state=3).X
    sizes = []
    real = distributed.Client.gather

    def gather(self, futures, *args, **kwargs):
        out = real(self, futures, *args, **kwargs)
        if not kwargs.get("asynchronous") and not getattr(self, "asynchronous", False):
            arrays = _gathered_arrays(out)
            sizes.append((sum(a.nbytes for a in arrays),
                          max((a.shape[0] for a in arrays if a.ndim == 2), default=0)))
        return out

    monkeypatch.setattr(distributed.Client, "gather", gather)
    kw = {"method": "ksvd", "random_state": 0, "tol": 0.0, **options}
    dsk = dictlearn.DictionaryLearning(12, **kw).fit(_lazy(X, 100))
    Z_bytes = X.shape[0] * 12 * X.itemsize
    assert max(b for b, _ in sizes) < min(X.nbytes, Z_bytes) / 4
    assert max(r for _, r in sizes) <= X.shape[0] // 10
    assert len(sizes) > 12 * kw["max_iter"]  # a reduction per atom and sweep was recorded
    mem = dictlearn.DictionaryLearning(12, **kw).fit(X)
    np.testing.assert_allclose(dsk.components_, mem.components_, rtol=0, atol=1e-8)


@pytest.mark.parametrize("method", ["mod", "ksvd"])
def test_dead_atoms_resampled_as_in_memory(client, method):
    rng = np.random.default_rng(1)  # signals near a plane: most of 30 atoms duplicate others
    X = rng.standard_normal((200, 2)) @ rng.standard_normal((2, 8))
    X += 0.01 * rng.standard_normal((200, 8))
    kw = {"method": method, "max_iter": 3, "random_state": 2, "n_nonzero_coefs": 1,
          "tol": 0.0}
    mem = dictlearn.DictionaryLearning(30, **kw).fit(X)
    dsk = dictlearn.DictionaryLearning(30, **kw).fit(_lazy(X, 64))
    assert mem.n_resampled_ > 0 and dsk.n_resampled_ == mem.n_resampled_
    np.testing.assert_allclose(dsk.components_, mem.components_, rtol=0, atol=1e-8)


def test_unsupported_learner(problem):
    with pytest.raises(ValueError, match="fit on a Dask array supports method in"):
        dictlearn.DictionaryLearning(8, method="olshausen_field").fit(_lazy(problem.X))
