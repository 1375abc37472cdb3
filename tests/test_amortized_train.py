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


@pytest.mark.parametrize("first", [True, False])
def test_adam_step_twins_give_the_same_bits(first):
    """The one-pass numba Adam step is the reference's operations in the same order: the same
    bits in float32 and float64, zeros and the first step (no moments) included."""
    pytest.importorskip("numba")
    from dictlearn.kernels import call

    rng = np.random.default_rng(0)
    for dt in (np.float32, np.float64):
        p, g, m, v = (rng.standard_normal((30, 20)).astype(dt) for _ in range(4))
        g[0, :3] = 0.0
        v = np.abs(v)
        v[0, :3] = 0.0
        args = (p, g, None, None) if first else (p, g, m, v)
        copies = [None if a is None else a.copy() for a in args]
        ref = call("adam_step", "reference", np, *args, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8)
        got = call("adam_step", "numba", np, *args, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8)
        for a, b in zip(ref, got, strict=True):
            assert a.dtype == b.dtype == dt and np.array_equal(a, b)
        assert all(c is None or np.array_equal(c, a) for c, a in zip(copies, args, strict=True))


@pytest.mark.parametrize("variant", ["lista", "cp", "ss", "alista", "step"])
def test_training_stays_in_float32(variant):
    """float32 end to end: the loss, every gradient, the optimiser's moments and the trained
    weights keep the dtype of the data (no silent upcast)."""
    p = make_sparse_problem(80, 10, 20, None, sparsity=0.2, random_state=0, dtype=np.float32)
    net = LISTA(p.dictionary, 3, variant=variant, alpha=0.05).initialize(p.X)
    val, g = net._loss_and_grads(net.params_, p.X, p.codes, "mse", 3, np)
    assert val.dtype == np.float32 and all(v.dtype == np.float32 for v in g.values())
    opt = Adam(1e-3)
    flat = flatten(net.params_)
    state = opt.update(flat, g, opt.init(flat))[1]
    assert all(v.dtype == np.float32 for d in (state.mu, state.nu) for v in d.values())
    fitted = LISTA(p.dictionary, 3, variant=variant, alpha=0.05, max_epochs=2,
                   random_state=0).fit(p.X, p.codes)
    assert all(v.dtype == np.float32 for v in flatten(fitted.params_).values())


def test_checks_every_few_steps_change_nothing_but_when_divergence_is_seen():
    """Reading the losses every ``check_every`` steps (no host sync per step) gives the same
    weights and history as every step, and a divergence inside a window still returns finite
    weights (those of the last passing check)."""
    rng = np.random.default_rng(2)
    A = rng.standard_normal((100, 4))
    b = A @ rng.standard_normal(4)
    kw = dict(n_samples=100, xp=np, max_epochs=5, batch_size=10, n_iter_no_change=None)
    runs = [train({"w": np.zeros(4)}, _quadratic(A, b), optimizer=Adam(0.05),
                  rng=np.random.default_rng(0), check_every=c, **kw) for c in (1, 3, 16)]
    for r in runs[1:]:
        assert np.array_equal(r.params["w"], runs[0].params["w"])
        assert r.history == runs[0].history and r.n_steps == runs[0].n_steps == 50
    bad = train({"w": np.zeros(4)}, _quadratic(A * 10, b), optimizer=SGD(10.0, momentum=0.0),
                rng=np.random.default_rng(0), check_every=4, **kw)
    assert bad.status == Status.diverged and np.all(np.isfinite(bad.params["w"]))
    with pytest.raises(ValueError, match="check_every"):
        train({"w": np.zeros(4)}, _quadratic(A, b), optimizer=Adam(0.05),
              rng=np.random.default_rng(0), check_every=0, **kw)
