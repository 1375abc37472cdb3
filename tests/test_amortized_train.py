"""Optimisers and the mini-batch training loop."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dictlearn import LISTA, Status
from dictlearn.amortized import SGD, Adam, train
from dictlearn.amortized.variants import flatten
from dictlearn.datasets import make_sparse_problem

pytestmark = pytest.mark.usefixtures("single_threaded_blas")


def _quadratic(A, b):
    """Least squares ½‖A w − b‖²/n over row batches."""

    def lg(p, rows):
        R = A[rows] @ p["w"] - b[rows]
        return 0.5 * float(R @ R) / len(rows), {"w": A[rows].T @ R / len(rows)}

    return lg


@pytest.mark.parametrize("opt", [SGD(learning_rate=0.05, momentum=0.9),
                                 SGD(learning_rate=0.05, momentum=0.9, nesterov=True),
                                 Adam(learning_rate=0.05)])
def test_optimisers_solve_least_squares_and_are_pure(opt):
    rng = np.random.default_rng(0)
    A = rng.standard_normal((400, 5))
    w_true = rng.standard_normal(5)
    b = A @ w_true
    p0 = {"w": np.zeros(5)}
    res = train(p0, _quadratic(A, b), n_samples=400, optimizer=opt, xp=np, batch_size=400,
                max_epochs=400, rng=np.random.default_rng(0), n_iter_no_change=None)
    assert np.allclose(res.params["w"], w_true, atol=1e-3)
    assert np.array_equal(p0["w"], np.zeros(5))  # the initial parameters were not modified
    assert res.status == Status.max_iter_reached and res.n_epochs == 400


def test_optimiser_parameters_are_checked():
    with pytest.raises(ValueError, match="learning_rate"):
        SGD(learning_rate=0.0)
    with pytest.raises(ValueError, match="momentum"):
        SGD(momentum=1.0)
    with pytest.raises(ValueError, match="beta2"):
        Adam(beta2=1.0)


def test_early_stopping_keeps_the_best_weights():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((200, 3))
    b = A @ rng.standard_normal(3)
    vals = []

    def val(p):  # a validation loss that gets worse after epoch 3
        v = [3.0, 2.0, 1.0, 5.0, 6.0, 7.0, 8.0][min(len(vals), 6)]
        vals.append((v, p["w"].copy()))
        return v

    res = train({"w": np.zeros(3)}, _quadratic(A, b), n_samples=200, optimizer=Adam(0.01),
                xp=np, max_epochs=50, rng=np.random.default_rng(0), val_loss=val,
                n_iter_no_change=3)
    assert res.status == Status.converged and res.n_epochs == 6
    assert np.array_equal(res.params["w"], vals[2][1])


def test_divergence_returns_last_finite_weights():
    rng = np.random.default_rng(2)
    A = rng.standard_normal((100, 4)) * 10
    b = A @ rng.standard_normal(4)
    res = train({"w": np.zeros(4)}, _quadratic(A, b), n_samples=100,
                optimizer=SGD(learning_rate=10.0, momentum=0.0), xp=np, max_epochs=100,
                rng=np.random.default_rng(0), batch_size=10)
    assert res.status == Status.diverged
    assert np.all(np.isfinite(res.params["w"]))
    assert math.isnan(res.history[-1]["train_loss"])


def test_same_random_state_same_network_and_verbose_progress(capsys):
    p = make_sparse_problem(300, 10, 20, 2, random_state=0)
    a = LISTA(p.dictionary, 3, max_epochs=3, random_state=7, verbose=True).fit(p.X, p.codes)
    err = capsys.readouterr().err
    assert "epoch 1/3" in err and "val" in err
    b = LISTA(p.dictionary, 3, max_epochs=3, random_state=7).fit(p.X, p.codes)
    c = LISTA(p.dictionary, 3, max_epochs=3, random_state=8).fit(p.X, p.codes)
    fa, fb, fc = (flatten(n.params_) for n in (a, b, c))
    assert all(np.array_equal(fa[k], fb[k]) for k in fa)
    assert not all(np.array_equal(fa[k], fc[k]) for k in fa)


def test_divergence_retries_back_off_the_learning_rate():
    rng = np.random.default_rng(2)
    A = rng.standard_normal((100, 4))
    w = rng.standard_normal(4)
    b = A @ w
    opt = SGD(learning_rate=3.0, momentum=0.0)  # diverges; 3/2^3 = 0.375 converges
    give_up = train({"w": np.zeros(4)}, _quadratic(A, b), n_samples=100, optimizer=opt, xp=np,
                    max_epochs=200, rng=np.random.default_rng(0), batch_size=100,
                    n_iter_no_change=None)
    assert give_up.status == Status.diverged
    res = train({"w": np.zeros(4)}, _quadratic(A, b), n_samples=100, optimizer=opt, xp=np,
                max_epochs=200, rng=np.random.default_rng(0), batch_size=100,
                divergence_retries=5, n_iter_no_change=None)
    assert res.status == Status.max_iter_reached
    assert np.allclose(res.params["w"], w, atol=1e-6)
