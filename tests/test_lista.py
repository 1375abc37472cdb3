"""The LISTA family: initialisation = ISTA, training beats ISTA/FISTA, persistence, bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import dictlearn
from dictlearn import LISTA, Status, TrainingDivergedWarning
from dictlearn.amortized import alista_weight
from dictlearn.amortized.variants import flatten, unflatten
from dictlearn.datasets import make_sparse_problem, random_dictionary
from dictlearn.metrics import nmse_db
from tests._helpers import asxp, tonp

pytestmark = pytest.mark.usefixtures("single_threaded_blas")


@given(seed=st.integers(0, 2**31 - 1), K=st.integers(1, 6), n_atoms=st.integers(4, 24),
       variant=st.sampled_from(["lista", "cp", "step"]), alpha=st.floats(0.0, 0.5))
def test_untrained_network_is_K_iterations_of_ista(seed, K, n_atoms, variant, alpha):
    p = make_sparse_problem(7, 10, n_atoms, 2, random_state=seed)
    net = LISTA(p.dictionary, K, variant=variant, alpha=alpha).initialize(p.X)
    layers = net.transform_layers(p.X)
    for k, Zk in enumerate(layers, start=1):
        ref = dictlearn.ista(p.X, p.dictionary, alpha=alpha, max_iter=k, tol=0).codes
        assert np.allclose(Zk, ref, rtol=1e-10, atol=1e-12)
    # the first layer from Z = 0 is prox(X W)
    L = dictlearn.lipschitz_constant(p.dictionary)
    B = p.X @ p.dictionary.T / L
    first = np.sign(B) * np.maximum(np.abs(B) - alpha / L, 0)
    assert np.allclose(layers[0], first, rtol=1e-12, atol=1e-14)


def test_untrained_network_on_array_api_strict_and_float32(xp, dtype_name):
    p = make_sparse_problem(6, 8, 16, 2, random_state=1)
    X, D = asxp(xp, p.X, dtype_name), asxp(xp, p.dictionary, dtype_name)
    for variant in ("lista", "cp", "step"):
        Z = LISTA(D, 5, variant=variant, alpha=0.1).initialize(X).transform(X)
        assert Z.dtype == X.dtype and type(Z) is type(X)
        ref = dictlearn.ista(X, D, alpha=0.1, max_iter=5, tol=0).codes
        tol = 1e-4 if dtype_name == "float32" else 1e-10
        assert np.allclose(tonp(Z), tonp(ref), rtol=tol, atol=tol)


@pytest.fixture(scope="module")
def problem():
    p = make_sparse_problem(2400, 30, 60, None, sparsity=0.1, random_state=0)
    return p, slice(0, 2000), slice(2000, None)


@pytest.mark.parametrize("variant", ["lista", "cp", "ss", "alista"])
def test_trained_lista_beats_ista_and_fista_on_held_out_data(problem, variant):
    p, tr, te = problem
    K, a = 5, 0.05
    D = p.dictionary
    ista = nmse_db(dictlearn.ista(p.X[te], D, alpha=a, max_iter=K, tol=0).codes, p.codes[te])
    fista = nmse_db(dictlearn.fista(p.X[te], D, alpha=a, max_iter=K, tol=0).codes, p.codes[te])
    net = LISTA(D, K, variant=variant, alpha=a, max_epochs=25, random_state=0)
    net.fit(p.X[tr], p.codes[tr])
    got = nmse_db(net.transform(p.X[te]), p.codes[te])
    # measured (15 epochs): lista -7.8 dB, cp -7.0, ss -8.8, alista -10.4 against ISTA -2.6 and
    # FISTA -3.0 dB at K = 5; 25 epochs (this test): -8.4, -7.9, -9.8, -11.7
    assert got < min(ista, fista) - 3.0, (variant, got, ista, fista)
    assert net.status_ in (Status.converged, Status.max_iter_reached)
    assert len(net.history_) == net.n_epochs_


def test_step_lista_unsupervised_lowers_the_lasso_objective(problem):
    p, tr, te = problem
    K, a = 5, 0.1
    D = p.dictionary
    net = LISTA(D, K, variant="step", alpha=a, max_epochs=15, learning_rate=1e-3,
                random_state=0).fit(p.X[tr])
    Zi = dictlearn.ista(p.X[te], D, alpha=a, max_iter=K, tol=0).codes
    ours = float(np.mean(dictlearn.lasso_objective(p.X[te], D, net.transform(p.X[te]), alpha=a)))
    ref = float(np.mean(dictlearn.lasso_objective(p.X[te], D, Zi, alpha=a)))
    assert ours < ref * 0.97
    # the learned steps exceed 1/L: the network moves faster than ISTA
    L = dictlearn.lipschitz_constant(D)
    assert max(float(net.params_[i].gamma[0]) for i in range(K)) > 1.0 / L


def test_layerwise_training_and_callback(problem):
    p, tr, _ = problem
    seen = []
    net = LISTA(p.dictionary, 3, variant="cp", alpha=0.05, max_epochs=2, layerwise=True,
                callback=lambda info: seen.append(info.epoch) and False, random_state=0)
    net.fit(p.X[tr][:500], p.codes[tr][:500])
    assert sorted({h["stage"] for h in net.history_}) == [1, 2, 3]
    assert len(seen) == 6
    stop = LISTA(p.dictionary, 3, variant="cp", max_epochs=10, callback=lambda info: True)
    assert stop.fit(p.X[:300], p.codes[:300]).status_ == Status.stopped


def test_alista_weight_is_the_constrained_minimiser():
    D = random_dictionary(20, 10, random_state=0)
    Wt = alista_weight(D)
    assert np.allclose(np.sum(D.T * Wt, axis=0), 1.0)
    base = np.sum((Wt.T @ D.T) ** 2)
    rng = np.random.default_rng(0)
    for _ in range(5):  # any feasible perturbation (keeping w_i·a_i = 1) increases ‖W̃ᵀA‖
        P = rng.standard_normal(Wt.shape) * 1e-2
        P -= D.T * (np.sum(D.T * P, axis=0) / np.sum(D.T * D.T, axis=0))
        assert np.sum(((Wt + P).T @ D.T) ** 2) > base


@pytest.mark.parametrize("variant", ["lista", "cp", "ss", "alista", "step"])
def test_save_load_round_trip(tmp_path, variant):
    p = make_sparse_problem(200, 12, 24, 2, random_state=3)
    net = LISTA(p.dictionary, 3, variant=variant, max_epochs=2, random_state=0)
    net.fit(p.X, None if variant == "step" else p.codes)
    path = tmp_path / "net.npz"
    net.save(path)
    back = LISTA.load(path)
    assert back.variant == variant and back.n_layers == 3 and back.status_ == net.status_
    assert np.array_equal(back.transform(p.X), net.transform(p.X))


def test_load_refuses_wrong_or_damaged_files(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="not a readable dictlearn LISTA"):
        LISTA.load(bad)
    other = tmp_path / "other.npz"
    np.savez(other, a=np.zeros(2))
    with pytest.raises(ValueError, match="not a dictlearn LISTA file"):
        LISTA.load(other)
    p = make_sparse_problem(50, 6, 8, 1, random_state=0)
    net = LISTA(p.dictionary, 2).initialize(p.X)
    good = tmp_path / "good.npz"
    net.save(good)
    with np.load(good) as f:
        data = {k: f[k] for k in f.files if k != "W"}
    np.savez(tmp_path / "cut.npz", **data)
    with pytest.raises(ValueError, match="damaged"):
        LISTA.load(tmp_path / "cut.npz")


def test_bad_input_is_refused_with_clear_errors():
    p = make_sparse_problem(40, 6, 8, 1, random_state=0)
    D = p.dictionary
    with pytest.raises(ValueError, match="n_layers must be >= 1"):
        LISTA(D, 0).fit(p.X, p.codes)
    with pytest.raises(ValueError, match="variant must be one of"):
        LISTA(D, variant="fancy").fit(p.X, p.codes)
    with pytest.raises(ValueError, match="dictionary must be a 2-D"):
        LISTA(D[0]).fit(p.X)
    with pytest.raises(ValueError, match="features"):
        LISTA(D[:, :5]).fit(p.X)
    Xn = p.X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(ValueError, match="X contains NaN"):
        LISTA(D).fit(Xn)
    with pytest.raises(ValueError, match="Z_target must have shape"):
        LISTA(D).fit(p.X, p.codes[:, :3])
    with pytest.raises(ValueError, match="needs Z_target"):
        LISTA(D, loss="mse").fit(p.X)
    with pytest.raises(ValueError, match="not fitted"):
        LISTA(D).transform(p.X)
    with pytest.raises(ValueError, match="n_layers must be <="):
        LISTA(D, 2).initialize(p.X).transform(p.X, n_layers=3)


def test_diverging_learning_rate_stops_with_last_good_weights():
    p = make_sparse_problem(300, 10, 20, 2, random_state=0)
    net = LISTA(p.dictionary, 4, variant="lista", optimizer="sgd", learning_rate=1e3,
                max_epochs=5, random_state=0)
    with pytest.warns(TrainingDivergedWarning, match="diverged"):
        net.fit(p.X, p.codes)
    assert net.status_ == Status.diverged
    assert all(np.all(np.isfinite(v)) for v in flatten(net.params_).values())
    assert np.all(np.isfinite(net.transform(p.X)))


def test_inputs_are_not_modified_and_float32_stays_float32():
    p = make_sparse_problem(120, 8, 16, 2, random_state=0)
    X, D, Z = (a.astype(np.float32) for a in (p.X, p.dictionary, p.codes))
    for a in (X, D, Z):
        a.setflags(write=False)
    X0, D0 = X.copy(), D.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net = LISTA(D, 3, max_epochs=2, random_state=0).fit(X, Z)
    out = net.transform(X)
    assert out.dtype == np.float32
    assert all(v.dtype == np.float32 for v in flatten(net.params_).values())
    assert np.array_equal(X, X0) and np.array_equal(D, D0)


def test_fit_on_array_api_strict():
    xps = pytest.importorskip("array_api_strict")
    p = make_sparse_problem(150, 8, 16, 2, random_state=0)
    X, D, Z = (asxp(xps, a) for a in (p.X, p.dictionary, p.codes))
    for variant in ("lista", "ss", "alista", "step"):
        ref = LISTA(p.dictionary, 3, variant=variant, max_epochs=2, random_state=0)
        ref.fit(p.X, None if variant == "step" else p.codes)
        net = LISTA(D, 3, variant=variant, max_epochs=2, random_state=0)
        net.fit(X, None if variant == "step" else Z)
        out = net.transform(X)
        assert type(out) is type(X)
        assert np.allclose(tonp(out), ref.transform(p.X), atol=1e-10)


@given(seed=st.integers(0, 2**31 - 1), variant=st.sampled_from(["lista", "cp", "ss", "alista",
                                                                  "step"]),
       loss=st.sampled_from(["mse", "nmse", "lasso"]), n_layers=st.integers(1, 3))
def test_variant_weight_gradients_match_finite_differences(seed, variant, loss, n_layers):
    from hypothesis import assume

    from dictlearn._xp import get_namespace

    xnp = get_namespace(np.zeros(1))
    rng = np.random.default_rng(seed)
    p = make_sparse_problem(6, 5, 10, 2, random_state=seed)
    net = LISTA(p.dictionary, 3, variant=variant, alpha=0.1, support_fraction=0.2)
    net.initialize(p.X)
    flat = {k: v * (1 + 0.2 * rng.standard_normal(v.shape))
            for k, v in flatten(net.params_).items()}
    params = unflatten(net.params_, flat)
    for lay, V in zip(net._layers(params), _pre(net, params, p.X), strict=True):
        a = np.abs(V)
        assume(np.min(np.abs(a - np.asarray(lay.theta))) > 1e-4)
        s = np.sort(a, axis=1)
        assume(np.min(np.diff(s, axis=1)) > 1e-4)
    _, g = net._loss_and_grads(params, p.X, p.codes, loss, n_layers, xnp)
    h = 1e-6
    for name in flat:
        U = rng.standard_normal(flat[name].shape)
        f = [net._loss_and_grads(unflatten(params, {name: flat[name] + s * h * U}), p.X,
                                 p.codes, loss, n_layers, xnp)[0] for s in (1, -1)]
        assert np.isclose(np.sum(g[name] * U), (f[0] - f[1]) / (2 * h), rtol=1e-5, atol=1e-8), name


def _pre(net, params, X):
    from dictlearn._xp import get_namespace
    from dictlearn.amortized.unrolled import unrolled_forward

    return unrolled_forward(X, net._layers(params), D=net.D_, xp=get_namespace(X))[1]


def test_layerwise_stages_train_the_new_layer_alone_first():
    p = make_sparse_problem(400, 10, 20, 2, random_state=0)
    snaps = []
    net = LISTA(p.dictionary, 2, variant="cp", max_epochs=3, layerwise=True,
                n_iter_no_change=None, random_state=0,
                callback=lambda info: snaps.append({k: v.copy()
                                                     for k, v in flatten(info.params).items()}))
    net.fit(p.X, p.codes)
    assert len(snaps) == 6
    end_stage1, stage2_epoch1, stage2_epoch2 = snaps[2], snaps[3], snaps[4]
    assert np.array_equal(stage2_epoch1[0, "W"], end_stage1[0, "W"])  # layer 1 frozen
    assert not np.array_equal(stage2_epoch1[1, "W"], end_stage1[1, "W"])  # layer 2 trained
    assert not np.array_equal(stage2_epoch2[0, "W"], stage2_epoch1[0, "W"])  # then all layers
    assert net._phases() == [(True, 1.0, 1), (False, 0.2, 1), (False, 0.02, 1)]  # lr x1, .2, .02


def test_fit_on_fresh_samples_beats_a_fixed_small_training_set():
    """The papers' infinite-data protocol: a fresh batch every step; X is the validation set."""
    from dictlearn.datasets import sparse_problem_sampler

    p = make_sparse_problem(1300, 30, 60, None, sparsity=0.1, random_state=3)
    D = p.dictionary
    Xva, Zva, Xte, Zte = p.X[:300], p.codes[:300], p.X[300:], p.codes[300:]
    draw = sparse_problem_sampler(D, n_nonzero_coefs=None, sparsity=0.1)
    kw = dict(variant="lista", alpha=0.05, max_epochs=20, n_iter_no_change=None,
              random_state=0)
    fixed = LISTA(D, 4, **kw).fit(p.X[:300], p.codes[:300])  # 300 rows -> overfits
    fresh = LISTA(D, 4, **kw).fit(Xva, Zva, sampler=draw, epoch_size=1200)
    again = LISTA(D, 4, **kw).fit(Xva, Zva, sampler=draw, epoch_size=1200)
    f, g = (nmse_db(n.transform(Xte), Zte) for n in (fixed, fresh))
    assert g < f - 1.0, (g, f)
    assert np.array_equal(fresh.transform(Xte), again.transform(Xte))  # random_state rules
    assert len(fresh.history_) == 20 and all(np.isfinite(h["val_loss"]) for h in fresh.history_)


def test_sampler_bad_input_is_refused():
    from dictlearn.datasets import sparse_problem_sampler

    p = make_sparse_problem(50, 8, 16, 2, random_state=0)
    D = p.dictionary
    net = LISTA(D, 2, max_epochs=1)
    with pytest.raises(ValueError, match="epoch_size is only used with a sampler"):
        net.fit(p.X, p.codes, epoch_size=10)
    with pytest.raises(TypeError, match="sampler must be callable"):
        net.fit(p.X, p.codes, sampler=3)
    with pytest.raises(ValueError, match=r"shape \(50, 8\); got \(50, 5\)"):
        net.fit(p.X, p.codes, sampler=lambda n, rng: (np.zeros((n, 5)), np.zeros((n, 16))))
    with pytest.raises(ValueError, match="NaN or infinity"):
        net.fit(p.X, p.codes, sampler=lambda n, rng: (np.full((n, 8), np.nan),
                                                      np.zeros((n, 16))))
    with pytest.raises(ValueError, match="returns \\(X, Z\\)"):
        net.fit(p.X, p.codes, sampler=lambda n, rng: rng.standard_normal((n, 8)))
    with pytest.raises(ValueError, match="epoch_size must be"):
        net.fit(p.X, p.codes, sampler=sparse_problem_sampler(D), epoch_size=0)
    with pytest.raises(TypeError, match="does not take 'random_state'"):
        sparse_problem_sampler(D, random_state=0)
    # unsupervised: a sampler may return X alone
    LISTA(D, 2, variant="step", max_epochs=1).fit(
        p.X, sampler=lambda n, rng: rng.standard_normal((n, 8)), epoch_size=64)


@pytest.mark.parametrize("variant", ["lista", "cp", "ss", "alista"])
def test_new_layer_phase_gradients_skip_the_earlier_layers_exactly(variant):
    """Training the new layer alone stops the backward pass at that layer: its gradient is the
    full gradient's, every other weight's is zero."""
    p = make_sparse_problem(40, 10, 20, None, sparsity=0.2, random_state=2)
    net = LISTA(p.dictionary, 4, variant=variant, alpha=0.05).initialize(p.X)
    full = net._loss_and_grads(net.params_, p.X, p.codes, "mse", 3, np)
    last = net._loss_and_grads(net.params_, p.X, p.codes, "mse", 3, np, last_only=True)
    assert full[0] == last[0]
    for name, g in last[1].items():
        if name[0] == 2:
            np.testing.assert_allclose(g, full[1][name], rtol=1e-12, atol=1e-15)
        else:
            assert not np.any(g), name
        if name[0] < 2 and name != (0, "S"):  # S0 multiplies Z_0 = 0
            assert np.any(full[1][name]), name  # the full pass does reach them


@pytest.mark.parametrize("variant", ["lista", "cp", "ss", "step"])
def test_fit_and_transform_stay_on_the_inputs_device(variant):
    """array-api-strict's second device refuses host copies, as CuPy does: the variants whose
    weights all come from the dictionary train and infer there (ALISTA's analytic W̃ is still
    computed on the host)."""
    xs = pytest.importorskip("array_api_strict")
    p = make_sparse_problem(120, 8, 16, 2, random_state=0)
    d = xs.Device("device1")
    X, D, Z = (xs.asarray(a, device=d) for a in (p.X, p.dictionary, p.codes))
    net = LISTA(D, 3, variant=variant, max_epochs=2, random_state=0)
    out = net.fit(X, None if variant == "step" else Z).transform(X)
    assert out.device == d and out.shape == (120, 16)
    ref = LISTA(p.dictionary, 3, variant=variant, max_epochs=2, random_state=0)
    ref.fit(p.X, None if variant == "step" else p.codes)
    assert np.allclose(np.asarray(xs.asarray(out, device=xs.Device("CPU_DEVICE"))),
                       ref.transform(p.X), atol=1e-10)
