"""CuPy on an NVIDIA GPU: coding, online learning, LISTA training and the autoencoder stay on
the GPU and agree with NumPy. Skipped, with the reason, without CuPy or a GPU."""

from __future__ import annotations

import numpy as np
import pytest

cupy = pytest.importorskip("cupy", reason="CuPy is not installed (pip install 'dictlearn[cupy]')")
try:
    _N_GPU = int(cupy.cuda.runtime.getDeviceCount())
except Exception as exc:  # pragma: no cover - depends on the machine
    pytest.skip(f"CuPy finds no CUDA device ({exc})", allow_module_level=True)
if _N_GPU == 0:  # pragma: no cover
    pytest.skip("CuPy finds no CUDA device", allow_module_level=True)

import dictlearn as dl  # noqa: E402
from dictlearn.datasets import make_sparse_problem  # noqa: E402
from dictlearn.learning import online_dictionary_learning  # noqa: E402

P = make_sparse_problem(300, 16, 32, 3, snr_db=30, random_state=0)


def _gpu(a):
    return cupy.asarray(a)


def _host(a):
    assert isinstance(a, cupy.ndarray), type(a)
    return cupy.asnumpy(a)


@pytest.mark.parametrize("method, opts", [("fista", {"alpha": 0.1}), ("lasso", {"alpha": 0.1}),
                                          ("omp", {"n_nonzero_coefs": 3})])
def test_encode_on_the_gpu_matches_numpy(method, opts):
    Z = dl.sparse_encode(_gpu(P.X), _gpu(P.dictionary), method=method, **opts)
    ref = dl.sparse_encode(P.X, P.dictionary, method=method, **opts)
    np.testing.assert_allclose(_host(Z), ref, atol=1e-4)


def test_float32_stays_float32_on_the_gpu():
    X, D = _gpu(P.X.astype(np.float32)), _gpu(P.dictionary.astype(np.float32))
    assert dl.fista(X, D, alpha=0.1).codes.dtype == cupy.float32


def test_online_learning_on_the_gpu():
    kw = {"alpha": 0.1, "coding_method": "fista", "batch_size": 64, "max_iter": 5,
          "random_state": 0}
    D = online_dictionary_learning(_gpu(P.X), 32, **kw).dictionary
    ref = online_dictionary_learning(P.X, 32, **kw).dictionary
    np.testing.assert_allclose(_host(D), ref, atol=1e-5)


def test_lista_training_on_the_gpu():
    net = dl.LISTA(_gpu(P.dictionary), 4, max_epochs=2, random_state=0)
    net.fit(_gpu(P.X), _gpu(P.codes))
    ref = dl.LISTA(P.dictionary, 4, max_epochs=2, random_state=0).fit(P.X, P.codes)
    np.testing.assert_allclose(_host(net.transform(_gpu(P.X))), ref.transform(P.X), atol=1e-6)


@pytest.mark.parametrize("sparsity", ["l1", "topk"])
def test_autoencoder_on_the_gpu(sparsity):
    kw = {"k": 3} if sparsity == "topk" else {}
    sae = dl.SparseAutoencoder(32, sparsity=sparsity, max_epochs=3, random_state=0, **kw)
    Z = sae.fit(_gpu(P.X)).transform(_gpu(P.X))
    ref = dl.SparseAutoencoder(32, sparsity=sparsity, max_epochs=3, random_state=0, **kw)
    np.testing.assert_allclose(_host(Z), ref.fit(P.X).transform(P.X), atol=1e-6)


def test_bench_gpu_runs_on_the_gpu(capsys):
    from dictlearn.bench import main

    assert main(["gpu", "--batches", "200", "--n-train", "300", "--steps", "2", "--batch",
                 "64", "--epochs", "1", "--layers", "2", "--repeat", "1"]) == 0
    assert "CuPy" in capsys.readouterr().out
