"""Convolutional dictionary learning and the two convolutional estimators."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dictlearn import Status
from dictlearn.signal import (
    ConvolutionalDictionaryLearning,
    ConvolutionalSparseCoder,
    ConvOperator,
    csc_objective,
    learn_conv_dictionary,
)
from dictlearn.signal._atoms import (
    centring_shifts,
    energy_windows,
    replacement_windows,
    shift_atoms,
    shift_codes,
)
from dictlearn.signal._statistics import DataTerm, shift_statistics
from dictlearn.signal.learning import (
    ConvDictionaryUpdate,
    code_statistics,
    shift_coherence,
    update_atoms,
)
from tests._helpers import asxp, tonp

L = 32
FAST = {"tol": 1e-3}  # the coding step's tolerance while learning


def planted_atoms(n_channels: int = 1) -> np.ndarray:
    """Three unit-norm atoms: a Gabor, a Gaussian derivative and a spike pattern."""
    t = np.arange(L)
    gabor = np.hanning(L) * np.sin(2 * np.pi * 4 * t / L)
    deriv = np.exp(-0.5 * ((t - L / 2) / (L / 8)) ** 2) * (t - L / 2) / (L / 8)
    spikes = np.zeros(L)
    spikes[10:14] = [1.0, -2.0, 2.0, -1.0]
    D = np.stack([gabor, deriv, spikes])
    return D / np.linalg.norm(D, axis=1, keepdims=True)


def planted_signals(D: np.ndarray, n_signals: int, n_times: int, n_events: int, seed: int,
                    noise: float = 0.01, u: np.ndarray | None = None):
    """Events at well-separated shifts (≥ 2 atom lengths apart); ``u`` (K, C) spreads each
    atom over channels (rank-1 atoms u_k v_kᵀ)."""
    rng = np.random.default_rng(seed)
    K = D.shape[0]
    C = 1 if u is None else u.shape[1]
    X = np.zeros((n_signals, C, n_times))
    events = []
    slots = np.arange(0, n_times - L + 1, 2 * L)
    for n in range(n_signals):
        for s in rng.choice(slots, size=n_events, replace=False):
            k = int(rng.integers(K))
            amp = rng.uniform(1.0, 3.0) * rng.choice([-1.0, 1.0])
            atom = D[k][None, :] if u is None else np.outer(u[k], D[k])
            X[n, :, s:s + L] += amp * atom
            events.append((n, k, int(s)))
    return X + noise * rng.standard_normal(X.shape), events


def best_match(learned: np.ndarray, true: np.ndarray) -> tuple[float, int]:
    """Max |normalised cross-correlation| over shifts, and the shift δ with
    learned[l] ≈ ±true[l + δ]."""
    c = np.correlate(np.pad(true, (L - 1, L - 1)), learned, mode="valid")
    i = int(np.argmax(np.abs(c)))
    return float(np.abs(c[i]) / np.linalg.norm(learned) / np.linalg.norm(true)), i - (L - 1)


@pytest.fixture(scope="module")
def batch_fit():
    D = planted_atoms()
    X, events = planted_signals(D, 6, 1000, 7, seed=1)
    est = ConvolutionalDictionaryLearning(3, L, max_iter=30, random_state=0,
                                          coding_options=FAST).fit(X)
    return D, X, events, est


def test_batch_recovers_every_atom_and_the_positions(batch_fit):
    D, X, events, est = batch_fit
    learned = np.asarray(est.components_)[:, 0, :]
    assert est.components_.shape == (3, 1, L)
    match = {}
    for k in range(3):
        scores = [best_match(learned[j], D[k]) for j in range(3)]
        j = int(np.argmax([s for s, _ in scores]))
        assert scores[j][0] >= 0.95, (k, scores)
        match[k] = (j, scores[j][1])
    assert len({j for j, _ in match.values()}) == 3  # one learned atom per planted atom
    Z = np.asarray(est.transform(X))
    n_valid = Z.shape[2]
    for n, k, s in events:
        j, delta = match[k]
        if not 0 <= s + delta < n_valid:
            continue  # the learned atom's shift puts this edge event outside the code domain
        lo, hi = max(s + delta - L // 2, 0), s + delta + L // 2
        peak = lo + int(np.argmax(np.abs(Z[n, j, lo:hi])))
        assert abs(peak - (s + delta)) <= 1, (n, k, s, peak)


def test_batch_objective_decreases(batch_fit):
    _, X, _, est = batch_fit
    obj = np.array([h["objective"] for h in est.history_])
    assert obj[-1] <= obj[0]  # the windows on events start near the optimum
    assert np.all(np.diff(obj) <= 1e-6 * obj[:-1])
    assert est.status_ in (Status.converged, Status.max_iter_reached)
    assert np.all(np.linalg.norm(np.asarray(est.components_), axis=(1, 2)) <= 1 + 1e-12)
    # from a poor start (Gaussian atoms) learning goes far, and still never up
    poor = ConvolutionalDictionaryLearning(3, L, init="random", max_iter=30, random_state=0,
                                           coding_options=FAST).fit(X)
    obj = np.array([h["objective"] for h in poor.history_])
    assert obj[-1] < 0.7 * obj[0]
    assert np.all(np.diff(obj) <= 1e-6 * obj[:-1])


def recovered(components: np.ndarray, D: np.ndarray) -> list[float]:
    """Per planted atom, the best match over the learned atoms and shifts."""
    W = np.asarray(components)[:, 0, :]
    return [max(best_match(w, d)[0] for w in W) for d in D]


def test_batch_recovery_does_not_depend_on_the_seed():
    """Five data sets and starts (none of them the fixture's): all atoms, every time."""
    D = planted_atoms()
    for seed in range(10, 15):
        X, _ = planted_signals(D, 6, 1000, 7, seed=seed)
        est = ConvolutionalDictionaryLearning(3, L, max_iter=30, random_state=seed,
                                              coding_options=FAST).fit(X)
        assert min(recovered(est.components_, D)) >= 0.95, seed


def test_online_recovery_does_not_depend_on_the_seed():
    """Five recordings, two passes of ``partial_fit`` over windows: all atoms, every time."""
    D = planted_atoms()
    for seed in range(10, 15):
        X, _ = planted_signals(D, 1, 6000, 42, seed=seed)
        est = ConvolutionalDictionaryLearning(3, L, window=500, random_state=seed,
                                              coding_options=FAST)
        for _ in range(2):
            for s in range(0, 6000, 1000):
                est.partial_fit(X[0, :, s:s + 1000])
        assert min(recovered(est.components_, D)) >= 0.95, seed


def test_statistics_give_the_data_term_and_its_gradient():
    rng = np.random.default_rng(0)
    n, K, C, T, Ls = 3, 2, 2, 40, 5
    X = rng.standard_normal((n, C, T))
    Z = rng.standard_normal((n, K, T - Ls + 1)) * (rng.random((n, K, T - Ls + 1)) < 0.2)
    D = rng.standard_normal((K, C, Ls))
    ztz, ztX = code_statistics(Z, X, Ls, xp=np)
    # brute force ztz
    for k in range(K):
        for kk in range(K):
            for tau in range(-Ls + 1, Ls):
                ref = sum(Z[i, k, t] * Z[i, kk, t + tau] for i in range(n)
                          for t in range(T - Ls + 1) if 0 <= t + tau < T - Ls + 1)
                assert np.isclose(ztz[k, kk, tau + Ls - 1], ref)
    op = ConvOperator.build(D, T, xp=np)
    R = X - op.apply(Z)
    q = DataTerm.build(ztz, ztX, xp=np)
    f, grad = q.value_grad(D)
    assert np.isclose(f, 0.5 * np.sum(R ** 2) - 0.5 * np.sum(X ** 2))
    assert np.allclose(grad, -op.atoms_adjoint(R, Z))


def test_dictionary_step_does_not_increase_the_data_term():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((2, 3, 60))
    Z = rng.standard_normal((2, 4, 53)) * (rng.random((2, 4, 53)) < 0.1)
    ztz, ztX = code_statistics(Z, X, 8, xp=np)
    D0 = rng.standard_normal((4, 3, 8))
    D0 /= np.linalg.norm(D0, axis=(1, 2), keepdims=True)
    for rank1 in (False, True):
        start = D0 if not rank1 else update_atoms(D0, ztz * 0, ztX * 0, rank1=True, xp=np)
        D = update_atoms(start, ztz, ztX, rank1=rank1, xp=np)
        assert np.all(np.linalg.norm(D, axis=(1, 2)) <= 1 + 1e-12)
        r0 = np.sum((X - ConvOperator.build(start, 60, xp=np).apply(Z)) ** 2)
        r1 = np.sum((X - ConvOperator.build(D, 60, xp=np).apply(Z)) ** 2)
        assert r1 < r0
        if rank1:
            assert np.all(np.linalg.svd(D, compute_uv=False)[:, 1] < 1e-10)


def test_online_partial_fit_over_windows_recovers_the_atoms():
    D = planted_atoms()
    X, _ = planted_signals(D, 1, 6000, 42, seed=3)
    est = ConvolutionalDictionaryLearning(3, L, window=500, random_state=1, coding_options=FAST)
    for _ in range(5):
        for s in range(0, 6000, 1000):  # two windows of 500 samples per call
            est.partial_fit(X[0, :, s:s + 1000])
    learned = np.asarray(est.components_)[:, 0, :]
    for k in range(3):
        assert max(best_match(learned[j], D[k])[0] for j in range(3)) >= 0.95
    assert est.n_iter_ == 30 and est._state.aux.t == 30
    assert est.history_[-1]["n_samples_seen"] == 60


def test_rank1_recovers_spatial_and_temporal_patterns():
    D = planted_atoms()
    rng = np.random.default_rng(5)
    u = rng.standard_normal((3, 4))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    X, _ = planted_signals(D, 4, 1000, 7, seed=2, u=u)
    est = ConvolutionalDictionaryLearning(3, L, rank1=True, max_iter=30, random_state=0,
                                          coding_options=FAST).fit(X)
    W = np.asarray(est.components_)
    assert W.shape == (3, 4, L)
    U, S, Vh = np.linalg.svd(W)
    assert np.all(S[:, 1] <= 1e-10 * S[:, 0])  # every atom is rank 1
    assert np.allclose(np.linalg.norm(U[:, :, 0], axis=1), 1.0)
    for k in range(3):
        scores = [best_match(Vh[j, 0], D[k])[0] for j in range(3)]
        j = int(np.argmax(scores))
        assert scores[j] >= 0.95
        assert abs(U[j, :, 0] @ u[k]) >= 0.95


def test_save_load_round_trip_and_damage(tmp_path, batch_fit):
    _, X, _, _ = batch_fit
    est = ConvolutionalDictionaryLearning(3, L, max_iter=2, random_state=0, sample_rate=250.0,
                                          coding_options=FAST).fit(X[:2])
    path = est.save(tmp_path / "cdl")
    back = ConvolutionalDictionaryLearning.load(path)
    assert back.sample_rate == 250.0 and back.alpha_ == est.alpha_
    assert np.array_equal(back.components_, est.components_)
    assert np.allclose(back.transform(X[:2]), est.transform(X[:2]))
    back.partial_fit(X[2])  # resumes from the saved statistics
    assert back.n_iter_ == est.n_iter_ + 1
    raw = open(path, "rb").read()
    bad = tmp_path / "bad.npz"
    bad.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="not a readable dictlearn"):
        ConvolutionalDictionaryLearning.load(bad)
    # an entry of the wrong shape
    buf = io.BytesIO()
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(buf, "w") as zout:
        for name in zin.namelist():
            data = zin.read(name)
            if name == "aux__ztX.npy":
                b2 = io.BytesIO()
                np.save(b2, np.zeros((3, 1, L + 1)))
                data = b2.getvalue()
            zout.writestr(name, data)
    buf.seek(0)
    with pytest.raises(ValueError, match="aux__ztX"):
        ConvolutionalDictionaryLearning.load(buf)


def test_float32_and_reproducible():
    D = planted_atoms()
    X, _ = planted_signals(D, 2, 300, 3, seed=4)
    X32 = X.astype(np.float32)
    a = ConvolutionalDictionaryLearning(3, 16, max_iter=3, random_state=7).fit(X32)
    b = ConvolutionalDictionaryLearning(3, 16, max_iter=3, random_state=7).fit(X32)
    assert a.components_.dtype == np.float32
    assert a.transform(X32).dtype == np.float32
    assert np.array_equal(a.components_, b.components_)
    assert a.history_[0]["objective"] == b.history_[0]["objective"]
    X_copy = X32.copy()
    ConvolutionalDictionaryLearning(3, 16, max_iter=2, random_state=7).fit(X32)
    assert np.array_equal(X32, X_copy)  # inputs never mutated


def test_learning_runs_on_array_api_strict(xp):
    D = planted_atoms()
    X, _ = planted_signals(D, 2, 300, 3, seed=4)
    res = learn_conv_dictionary(asxp(xp, X), 3, 16, max_iter=3, random_state=0,
                                coding_options=FAST)
    ref = learn_conv_dictionary(X, 3, 16, max_iter=3, random_state=0, coding_options=FAST)
    assert np.allclose(tonp(res.dictionary), ref.dictionary, atol=1e-8)
    assert np.allclose(tonp(res.codes), ref.codes, atol=1e-8)


def test_transform_on_array_api_strict_second_device(batch_fit):
    xs = pytest.importorskip("array_api_strict")
    _, X, _, est = batch_fit
    dev = xs.Device("device1")
    Xd = xs.asarray(X[:2], device=dev)
    Z = est.transform(Xd)
    assert Z.device == dev
    ref = est.transform(X[:2])
    host = np.asarray(xs.asarray(Z, device=xs.Device("CPU_DEVICE")))
    assert np.allclose(host, ref, atol=1e-10)
    back = est.inverse_transform(Z)
    assert back.device == dev and back.shape == Xd.shape
    coder = ConvolutionalSparseCoder(est.components_, alpha=est.alpha_)
    assert coder.transform(Xd).device == dev


def test_sparse_coder_positions_lists_and_rates():
    D = planted_atoms()
    X, events = planted_signals(D, 2, 500, 4, seed=6, noise=0.0)
    coder = ConvolutionalSparseCoder(D, alpha=0.01, sample_rate=1000.0).fit()
    assert coder.components_.shape == (3, 1, L)
    Z = coder.transform(X)
    for n, k, s in events:
        lo = max(s - L // 2, 0)
        assert abs(lo + int(np.argmax(np.abs(Z[n, k, lo:s + L // 2]))) - s) <= 1
    F, gap = csc_objective(X, D[:, None, :], Z, alpha=0.01)
    assert np.all(gap <= 1e-5 * F)
    assert np.allclose(coder.inverse_transform(Z), X, atol=0.05)
    parts = coder.transform([X[0, :, :300], X[1, :, :400]])
    assert [p.shape for p in parts] == [(3, 300 - L + 1), (3, 400 - L + 1)]
    assert [r.shape for r in coder.inverse_transform(parts)] == [(1, 300), (1, 400)]
    with pytest.raises(ValueError, match="learned at 1000 Hz and the data are 8000 Hz"):
        coder.transform(X, sample_rate=8000)


def test_fit_on_a_list_of_signals_of_different_lengths():
    D = planted_atoms()
    X, _ = planted_signals(D, 2, 600, 4, seed=8)
    est = ConvolutionalDictionaryLearning(3, L, max_iter=2, random_state=0,
                                          coding_options=FAST)
    est.fit([X[0], X[1, :, :450]])
    assert est.history_[-1]["n_samples_seen"] == 2 * 3  # windows of 450 samples: 2 + 1
    out = est.transform([X[0], X[1, :, :450]])
    assert out[0].shape == (3, 600 - L + 1) and out[1].shape == (3, 450 - L + 1)


def test_centring_moves_atoms_and_codes_together():
    """An off-centre atom moved to the middle with its codes moved back: the same signals
    (nothing leaves the windows here), and the statistics move as shift_statistics says."""
    rng = np.random.default_rng(0)
    n, K, C, T, Ls = 2, 2, 2, 90, 12
    D = np.zeros((K, C, Ls))
    D[0, :, 1:4] = rng.standard_normal((C, 3))  # energy at the left edge
    D[1, :, 8:11] = rng.standard_normal((C, 3))  # right of the middle
    Z = np.zeros((n, K, T - Ls + 1))
    Z[:, :, 20:60:7] = rng.standard_normal((n, K, 6))
    shifts = centring_shifts(D, xp=np)
    assert shifts[0] < 0 < shifts[1]
    Ds, Zs = shift_atoms(D, shifts, xp=np), shift_codes(Z, shifts, xp=np)
    assert centring_shifts(Ds, xp=np) == [0, 0]
    op, ops = ConvOperator.build(D, T, xp=np), ConvOperator.build(Ds, T, xp=np)
    assert np.allclose(ops.apply(Zs), op.apply(Z), atol=1e-12)
    X = rng.standard_normal((n, C, T))
    ztz, ztX = code_statistics(Z, X, Ls, xp=np)
    ztz_s, ztX_s = code_statistics(Zs, X, Ls, xp=np)
    mz, mx = shift_statistics(ztz, ztX, shifts, xp=np)
    for k in range(K):  # the lags that both hold agree
        lo, hi = max(0, -shifts[k]), Ls - max(0, shifts[k])
        assert np.allclose(mx[k, :, lo:hi], ztX_s[k, :, lo:hi])
    assert np.allclose(mz[0, 0], ztz_s[0, 0]) and np.allclose(mz[1, 1], ztz_s[1, 1])
    d = shifts[0] - shifts[1]
    assert np.allclose(mz[0, 1, max(0, -d):2 * Ls - 1 - max(0, d)],
                       ztz_s[0, 1, max(0, -d):2 * Ls - 1 - max(0, d)])


def test_initial_windows_hold_whole_events_and_replacements_new_ones():
    D = planted_atoms()
    X, _ = planted_signals(D, 3, 600, 4, seed=11, noise=0.0)
    *found, extra = energy_windows(X, 4, L, rng=np.random.default_rng(0), xp=np)
    W = np.stack(found)
    # each window holds one planted event whole (a match of 1 up to a shift), one per atom
    best = [[best_match(w[0], d)[0] for d in D] for w in W]
    assert sorted(int(np.argmax(b)) for b in best) == [0, 1, 2]
    assert all(max(b) > 0.999 for b in best)
    assert centring_shifts(W, xp=np, min_shift=2) == [0] * 3
    assert extra is None  # no fourth kind of event: the atom starts from noise
    # the largest residual is an event of atom 0: skipped while atom 0 is live
    R = X.copy()
    known = [D[0][None, :]]
    (w,) = replacement_windows(X, R, known, 1, L, xp=np)
    assert best_match(w[0], D[0])[0] < 0.9
    assert max(best_match(w[0], d)[0] for d in D[1:]) > 0.999
    assert replacement_windows(X, 0 * X, known, 1, L, xp=np) == [None]


def test_dead_atom_resampled_from_the_worst_window():
    upd = ConvDictionaryUpdate(1, 8)
    X = np.zeros((2, 1, 100))
    X[1, 0, 40:48] = np.arange(1.0, 9.0)
    D = np.ones((2, 1, 8)) / np.sqrt(8)
    Z = np.zeros((2, 2 * 93))
    D_new, n = upd.resample(D, X.reshape(2, 100), Z, np.array([True, False]),
                            rng=np.random.default_rng(0), xp=np)
    assert n == 1 and np.array_equal(D_new[1], D[1])
    assert np.allclose(D_new[0, 0], np.arange(1.0, 9.0) / np.linalg.norm(np.arange(1.0, 9.0)))
    # shifted duplicates count as dead
    Dd = np.zeros((2, 1, 8))
    Dd[0, 0, 1:4] = [1, 2, 1]
    Dd[1, 0, 4:7] = [1, 2, 1]
    assert np.allclose(shift_coherence(Dd, xp=np), 1.0)
    assert upd.dead_mask(Dd, max_coherence=0.99, xp=np).tolist() == [False, True]


def test_unused_atoms_are_counted_in_the_history():
    D = planted_atoms()
    X, _ = planted_signals(D, 2, 400, 4, seed=9)
    init = np.concatenate([D[:, None, :], np.tile([1.0, -1.0], L // 2)[None, None, :]])
    est = ConvolutionalDictionaryLearning(4, L, init=init, alpha_scale=0.3, max_iter=3,
                                          random_state=0, coding_options=FAST).fit(X)
    assert est.history_[0]["n_resampled"] >= 1 and est.n_resampled_ >= 1


def test_callback_and_progress(capsys):
    D = planted_atoms()
    X, _ = planted_signals(D, 2, 300, 3, seed=4)
    seen = []
    est = ConvolutionalDictionaryLearning(
        3, 16, max_iter=5, random_state=0, verbose=True, coding_options=FAST,
        callback=lambda info: seen.append(info.dictionary.shape) or len(seen) == 2).fit(X)
    assert est.status_ is Status.stopped and seen == [(3, 1, 16)] * 2
    assert "cdl" in capsys.readouterr().err


@pytest.mark.parametrize("make, match", [
    (lambda X: ConvolutionalDictionaryLearning(2, 500).fit(X), "atom_length"),
    (lambda X: ConvolutionalDictionaryLearning(0, 8).fit(X), "n_atoms"),
    (lambda X: ConvolutionalDictionaryLearning(2, 8).fit(np.where(X > 1, np.nan, X)), "NaN"),
    (lambda X: ConvolutionalDictionaryLearning(2, 8).fit(np.zeros_like(X)), "all zeros"),
    (lambda X: ConvolutionalSparseCoder(np.ones((2, 500))).transform(X[0, 0]), "longer"),
])
def test_bad_input(make, match):
    X = np.random.default_rng(0).standard_normal((2, 1, 200))
    X[0, 0, 5] = 3.0
    with pytest.raises(ValueError, match=match):
        make(X)


def test_bad_input_after_fit():
    X = np.random.default_rng(0).standard_normal((2, 2, 200))
    est = ConvolutionalDictionaryLearning(2, 8, max_iter=1, sample_rate=16000,
                                          random_state=0).fit(X)
    with pytest.raises(ValueError, match="3 channel"):
        est.transform(np.ones((3, 200)))
    with pytest.raises(ValueError, match="learned at 16000 Hz and the data are 8000 Hz"):
        est.transform(X, sample_rate=8000)
    assert est.transform(X, sample_rate=16000).shape == (2, 2, 193)


@settings(deadline=None, max_examples=8)
@given(length=st.integers(2, 12), channels=st.integers(1, 3), rank1=st.booleans(),
       seed=st.integers(0, 2**16))
def test_short_learning_keeps_its_invariants(length, channels, rank1, seed):
    X = np.random.default_rng(seed).standard_normal((2, channels, 60))
    res = learn_conv_dictionary(X, 3, length, rank1=rank1, max_iter=3, tol=0,
                                random_state=seed, coding_options=FAST)
    D = np.asarray(res.dictionary)
    assert D.shape == (3, channels, length) and np.all(np.isfinite(D))
    assert np.all(np.linalg.norm(D, axis=(1, 2)) <= 1 + 1e-12)
    if rank1 and channels > 1:
        assert np.all(np.linalg.svd(D, compute_uv=False)[:, 1] <= 1e-8)
    obj = [h["objective"] for h in res.history]
    assert np.all(np.isfinite(obj)) and obj[-1] <= obj[0] * (1 + 1e-3)
