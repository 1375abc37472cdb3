"""Framing and overlap-add (exact inverse for COLA pairs), and the frame-based decomposition."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dictlearn.signal import (
    FrameCodes,
    FrameDecomposition,
    FrameLayout,
    check_cola,
    cola_hops,
    frame,
    get_frame_window,
    overlap_add,
)
from tests._helpers import tonp

# (window, synthesis): COLA at every hop cola_hops lists for it
WINDOWS = [(None, "ola"), ("hann", "ola"), ("hamming", "ola"), ("blackman", "ola"),
           ("sqrt_hann", "wola"), ("hann", "wola")]


def _host(a):
    """Any array (array-api-strict on any device included) as NumPy."""
    try:
        return tonp(a)
    except (TypeError, ValueError, RuntimeError):
        import array_api_strict as xs

        return tonp(xs.asarray(a, device=xs.Device("CPU_DEVICE")))


# --------------------------------------------------------------------------- round trip
@settings(deadline=None)
@given(st.data())
def test_round_trip_exact_for_cola_pairs(data):
    window, synthesis = data.draw(st.sampled_from(WINDOWS), label="window")
    L = data.draw(st.integers(2, 48), label="frame_length")
    hops = cola_hops(window, L, synthesis=synthesis)
    if not hops:  # e.g. hann at L/2 with wola needs L divisible by 3 or 4
        hops = [1] if check_cola(window, L, 1, synthesis=synthesis) else []
    if not hops:
        return
    H = data.draw(st.sampled_from(hops), label="hop")
    C = data.draw(st.integers(1, 3), label="n_channels")
    T = data.draw(st.integers(L, L + 60), label="n_times")
    one_d = C == 1 and data.draw(st.booleans(), label="1-D")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16), label="seed"))
    x = rng.standard_normal(T if one_d else (C, T)) * 10.0 ** rng.uniform(-3, 3)
    x0 = x.copy()
    F, layout = frame(x, L, H, window=window, synthesis=synthesis)
    assert F.shape == (layout.n_frames, C * L)
    y = overlap_add(F, layout)
    assert y.shape == x.shape and y.dtype == x.dtype
    assert np.max(np.abs(y - x)) <= 1e-12 * np.max(np.abs(x))
    assert np.array_equal(x, x0)  # input untouched


def test_frames_are_the_windowed_padded_segments():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 37))
    L, H = 8, 2
    F, layout = frame(x, L, H, window="hann")
    w = get_frame_window("hann", L)[0]
    before, after = layout.pads[0]
    assert before == L - H  # sample 0 is where all L/H frames covering it exist
    padded = np.concatenate([np.zeros((2, before)), x, np.zeros((2, after))], axis=1)
    assert (layout.n_frames - 1) * H + L == padded.shape[1]
    assert layout.n_frames * H >= before + 37  # the last sample is fully covered too
    for m in (0, 3, layout.n_frames - 1):
        want = (padded[:, m * H:m * H + L] * w).reshape(-1)  # channels concatenated
        assert np.array_equal(F[m], want)


@pytest.mark.parametrize("pad", [True, False])
def test_hop_not_dividing_the_frame_length(pad):
    """A window array that is COLA at a hop not dividing L (R = ceil(L/H) = 3 blocks, the
    last partial): frames are the direct slices, and the round trip is exact."""
    w = np.array([1.0, 1.0, 1.0, 1.0, 0.0])  # sums to 2 at hop 2
    assert check_cola(w, 5, 2) == 2.0
    x = np.random.default_rng(6).standard_normal((2, 30))
    F, layout = frame(x, 5, 2, window=w, pad=pad)
    before, after = layout.pads[0]
    padded = np.concatenate([np.zeros((2, before)), x, np.zeros((2, after))], axis=1)
    assert layout.n_frames == (17 if pad else 1 + (30 - 5) // 2)
    for m in range(layout.n_frames):
        assert np.array_equal(F[m], (padded[:, 2 * m:2 * m + 5] * w).reshape(-1))
    y = overlap_add(F, layout)
    keep = slice(0, 30) if pad else slice(0, 2 * 12 + 4)  # the last frame's w[4] = 0
    assert np.max(np.abs(y[:, keep] - x[:, keep])) <= 1e-12


def test_every_kept_sample_gets_the_full_cola_weight():
    """Overlap-add without the division: frames of ones sum to C on every kept sample."""
    for window, L, H, C in [("hann", 16, 8, 1.0), ("hann", 16, 4, 2.0), (None, 9, 3, 3.0)]:
        F, layout = frame(np.ones(50), L, H, window=window)
        assert check_cola(window, L, H) == pytest.approx(C, rel=1e-12)
        assert layout.scale == pytest.approx(C, rel=1e-12)
        # 2 * x: overlap-add is linear in the frames
        assert np.allclose(overlap_add(2 * F, layout), 2.0, rtol=0, atol=1e-12)


def test_ola_of_untouched_frames_is_identity_also_without_padding():
    rng = np.random.default_rng(1)
    x = rng.standard_normal(103)
    F, layout = frame(x, 16, 8, window="hann", pad=False)
    assert layout.pads == ((0, 0),) and layout.n_frames == 1 + (103 - 16) // 8
    y = overlap_add(F, layout)
    covered = (layout.n_frames - 1) * 8 + 16
    # sample 0 has zero weight (hann[0] = 0); samples past the last frame are not covered
    assert y[0] == 0 and np.all(y[covered:] == 0)
    assert np.max(np.abs(y[1:covered] - x[1:covered])) <= 1e-12 * np.abs(x).max()


def test_overlap_add_averages_modified_frames():
    """A frame changed in one sample moves the output by the change over the weight, only
    there: OLA/C is an average of the frames, never an amplification."""
    x = np.zeros(64)
    F, layout = frame(x, 16, 4, window="hann")  # C = 2
    G = np.array(F)
    G[5, 8] = 1.0  # peak of the window
    y = overlap_add(G, layout)
    t = 5 * 4 + 8 - layout.pads[0][0]
    assert y[t] == pytest.approx(0.5) and np.count_nonzero(y) == 1


def test_list_of_signals_of_different_lengths():
    rng = np.random.default_rng(2)
    xs = [rng.standard_normal((2, n)) for n in (40, 17, 93)]
    F, layout = frame(xs, 12, 4, window="hann")
    assert layout.is_list and layout.lengths == (40, 17, 93)
    assert layout.offsets[0] == 0 and len(layout.offsets) == 4
    assert F.shape == (layout.offsets[-1], 24)
    for i, a in enumerate(xs):  # each signal's frames are its own framing
        Fi, _ = frame(a, 12, 4, window="hann")
        assert np.array_equal(F[layout.offsets[i]:layout.offsets[i + 1]], Fi)
    ys = overlap_add(F, layout)
    assert isinstance(ys, list) and [y.shape for y in ys] == [a.shape for a in xs]
    assert max(np.abs(y - a).max() for y, a in zip(ys, xs, strict=True)) <= 1e-12


def test_array_api_on_device_and_float32(xp, dtype_name):
    rng = np.random.default_rng(3)
    host = rng.standard_normal((3, 70)).astype(dtype_name)
    kw = {}
    if xp is not np:
        kw["device"] = xp.Device("device1")
    x = xp.asarray(host, **kw)
    F, layout = frame(x, 10, 5, window="hann")
    y = overlap_add(F, layout)
    assert F.dtype == x.dtype and y.dtype == x.dtype and y.shape == x.shape
    if kw:
        assert F.device == kw["device"] and y.device == kw["device"]
    ref, _ = frame(host.astype(np.float64), 10, 5, window="hann")
    tol = 1e-12 if dtype_name == "float64" else 1e-6
    assert np.max(np.abs(_host(F) - ref)) <= tol
    assert np.max(np.abs(_host(y) - host)) <= tol * np.abs(host).max()


# --------------------------------------------------------------------------- COLA
def test_non_cola_pair_names_the_pair_and_hops_that_work():
    with pytest.raises(ValueError) as exc:
        frame(np.ones(100), 32, 12, window="hann")
    msg = str(exc.value)
    assert "'hann'" in msg and "frame_length=32" in msg and "hop=12" in msg
    assert "[16, 8, 4, 2, 1]" in msg
    for h in (16, 8, 4, 2, 1):
        check_cola("hann", 32, h)
    with pytest.raises(ValueError, match=r"hop=8.*synthesis='ola'"):
        check_cola("sqrt_hann", 16, 8)  # sqrt windows need weighted synthesis
    with pytest.raises(ValueError, match=r"rectangular.*hop=3.*\[10, 5, 2, 1\]"):
        check_cola(None, 10, 3)
    with pytest.raises(ValueError, match="the given window array"):
        check_cola(np.array([1.0, 2.0, 3.0, 4.0]), 4, 2)


def test_cola_constants_match_theory():
    assert check_cola("hann", 64, 32) == pytest.approx(1.0, rel=1e-14)
    assert check_cola("hann", 64, 16) == pytest.approx(2.0, rel=1e-14)
    assert check_cola("hamming", 64, 32) == pytest.approx(1.08, rel=1e-14)
    assert check_cola("sqrt_hann", 64, 32, synthesis="wola") == pytest.approx(1.0, rel=1e-14)
    assert check_cola(None, 64, 16) == 4.0


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("x, match", [
    (np.array([1.0, np.nan, 2.0, 3.0]), "NaN or infinity"),
    (np.array([[1.0, 2.0, np.inf, 3.0]]), "NaN or infinity"),
    (np.zeros(0), "empty"),
    (np.ones(1), "1 sample"),
    (np.ones((2, 1)), "1 sample"),
    (np.ones((2, 3, 4)), "1-D or 2-D"),
    ([], "empty list"),
    ([np.ones(10), np.ones((2, 10))], "same n_channels"),
    ([np.ones((2, 10)), np.ones((3, 10))], "same n_channels"),
])
def test_bad_signals(x, match):
    with pytest.raises(ValueError, match=match):
        frame(x, 2, 1)


def test_bad_parameters():
    x = np.ones(20)
    with pytest.raises(ValueError, match=r"frame_length=32 is longer than x, which has "
                                         r"n_times=20"):
        frame(x, 32, 16)
    with pytest.raises(ValueError, match=r"longer than x\[1\]"):
        frame([np.ones(40), np.ones(20)], 32, 16)
    with pytest.raises(ValueError, match="hop must be <= frame_length"):
        frame(x, 4, 5)
    with pytest.raises(ValueError, match="hop must be >= 1"):
        frame(x, 4, 0)
    with pytest.raises(TypeError, match="frame_length must be an int"):
        frame(x, 4.0, 2)
    with pytest.raises(TypeError, match="real numeric dtype"):
        frame(np.ones(8, dtype=complex), 4, 2)
    with pytest.raises(TypeError, match="real numeric dtype"):
        frame(np.array(["a", "b", "c"]), 2, 1)
    with pytest.raises(ValueError, match="not a window scipy"):
        frame(x, 4, 2, window="nonsense")
    with pytest.raises(ValueError, match="length frame_length=4"):
        frame(x, 4, 2, window=np.ones(5))
    with pytest.raises(ValueError, match="synthesis must be one of"):
        frame(x, 4, 2, synthesis="both")
    F, layout = frame(x, 4, 2)
    with pytest.raises(ValueError, match="layout holds"):
        overlap_add(F[:-1], layout)
    with pytest.raises(ValueError, match="features"):
        overlap_add(F[:, :3], layout)
    with pytest.raises(TypeError, match="FrameLayout"):
        overlap_add(F, {"hop": 2})


def test_layout_is_frozen_and_comparable():
    _, a = frame(np.ones(30), 8, 4, window="hann")
    _, b = frame(np.zeros(30), 8, 4, window="hann")
    assert isinstance(a, FrameLayout) and a == b
    with pytest.raises(AttributeError):
        a.hop = 2
    assert not a.window.flags.writeable


# --------------------------------------------------------------------------- decomposition
def _snr_db(x, x_hat):
    x, x_hat = np.asarray(x, dtype=np.float64), np.asarray(x_hat, dtype=np.float64)
    return 10 * np.log10(np.sum(x ** 2) / np.sum((x - x_hat) ** 2))


def _sines(n=4096, rate=8000, noise_db=None, seed=0, dc=0.0):
    """Three unit-amplitude sinusoids off the frame bins (+ white noise at ``noise_db``)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / rate
    clean = sum(np.sin(2 * np.pi * f * t + p) for f, p in
                zip((331.0, 917.0, 1543.0), rng.uniform(0, 2 * np.pi, 3), strict=True))
    if noise_db is None:
        return clean + dc
    noise = rng.standard_normal(n)
    noise *= np.sqrt(np.mean(clean ** 2) / np.mean(noise ** 2) / 10 ** (noise_db / 10))
    return clean + dc, clean + noise + dc


def test_exact_codes_give_back_the_signal():
    """With a complete orthonormal dictionary and every coefficient kept, inverse_transform
    undoes mean, gain and padding exactly, for every combination and for lists."""
    rng = np.random.default_rng(4)
    x = [rng.standard_normal((2, 150)) + 3.0, 0.01 * rng.standard_normal((2, 97)) - 1.0]
    for remove_mean in (True, False):
        for normalize in (True, False):
            est = FrameDecomposition(16, hop=8, n_atoms=32, n_nonzero_coefs=32,
                                     remove_mean=remove_mean, normalize=normalize,
                                     max_iter=2, random_state=0).fit(x)
            est.components_ = np.linalg.qr(rng.standard_normal((32, 32)))[0]
            fc = est.transform(x)
            assert isinstance(fc, FrameCodes) and fc.means.shape == (fc.codes.shape[0], 2)
            y = est.inverse_transform(fc)
            assert max(np.abs(a - b).max() for a, b in zip(x, y, strict=True)) < 1e-10


def test_mean_and_gain_are_taken_out():
    """A constant signal's interior frames are all mean (codes 0); with normalize every
    non-silent coded frame has unit norm before coding."""
    x = np.full(200, 0.7)
    est = FrameDecomposition(16, hop=8, n_atoms=8, n_nonzero_coefs=2, normalize=True,
                             max_iter=2, random_state=0)
    est.fit(np.random.default_rng(0).standard_normal(200))
    U, layout, means, gains = est._frames(x)
    interior = slice(1, layout.n_frames - 2)  # frames without padded zeros
    assert np.allclose(means[interior], 0.7, atol=1e-12)
    assert np.all(gains[interior] == 1.0)  # nothing left: silent after the mean, gain 1
    assert np.allclose(U[interior], 0.0, atol=1e-12)
    y = est.inverse_transform(est.transform(x))
    # samples that only interior frames cover (frames 1 .. n-3 span samples 8 .. 8*(n-3)):
    # zero codes there, the mean alone gives them back
    assert np.max(np.abs(y[8:8 * (layout.n_frames - 3)] - 0.7)) < 1e-12
    U, _, _, gains = est._frames(np.random.default_rng(1).standard_normal(200))
    assert np.allclose(np.linalg.norm(U, axis=1), 1.0) and np.all(gains > 0)


def test_learned_decomposition_reaches_the_noise_floor():
    """Frames of three stationary sinusoids (plus a DC offset) lie in a 6-dimensional subspace
    (a windowed sinusoid is a combination of a windowed cosine and sine; the windowed DC is
    taken out by the mean removal). With 20 dB of white noise:

    - against the noisy input the SNR must exceed the input SNR (20 dB): a residual larger
      than the noise would mean a part of the signal subspace was missed;
    - against the clean signal the error is the noise the 6-atom codes keep (a fixed
      6-dimensional projection keeps 6/64 of it, an adaptive choice of 6 of 16 atoms more),
      so the output is cleaner than the input: SNR above 20 dB, bound 23 dB.

    Measured (``seed`` 0, 1, 2; the code below with that seed): 21.9, 21.7, 21.6 dB against
    the noisy input; 25.7, 25.4, 25.2 dB against the clean signal."""
    clean, noisy = _sines(noise_db=20.0, dc=0.25)
    est = FrameDecomposition(64, n_atoms=16, n_nonzero_coefs=6, max_iter=200,
                             random_state=0).fit(noisy)
    x_hat = est.inverse_transform(est.transform(noisy))
    assert x_hat.shape == noisy.shape
    assert _snr_db(noisy, x_hat) > 20.0
    assert _snr_db(clean, x_hat) > 23.0


@pytest.mark.parametrize("learner, method, options", [
    ("mod", "omp", {"n_nonzero_coefs": 4}),
    ("ksvd", "omp", {"n_nonzero_coefs": 4}),
    ("online", "fista", {"alpha": 0.05, "normalize": True}),
])
def test_any_learner_and_coding_method(learner, method, options):
    clean = _sines(n=2048)
    est = FrameDecomposition(32, n_atoms=16, learner=learner, method=method, max_iter=5,
                             random_state=0, **options).fit(clean)
    assert est.components_.shape == (16, 32) and est.learner_.method == learner
    fc = est.transform(clean)
    assert fc.codes.shape == (fc.layout.n_frames, 16)
    assert _snr_db(clean, est.inverse_transform(fc)) > 10.0


def test_defaults_are_sparse_and_about_ten_passes():
    x = _sines(n=8192)
    est = FrameDecomposition(64, n_atoms=16, random_state=0).fit(x)  # hop 32: 257 frames
    fc = est.transform(x)
    assert fc.codes.shape[0] == 257
    assert est.n_iter_ == max(10, -(-10 * 257 // 256))  # ~10 passes of batch_size 256
    assert np.max(np.count_nonzero(fc.codes, axis=1)) <= 16 // 8
    est = FrameDecomposition(64, n_atoms=16, learner="mod", max_iter=None, tol=0.0,
                             random_state=0).fit(x[:1024])
    assert est.n_iter_ == 50  # the learner's own default


def test_float32_kept_and_random_state_reproducible():
    x = _sines(n=2048).astype(np.float32)
    a = FrameDecomposition(32, n_atoms=8, n_nonzero_coefs=3, max_iter=20, random_state=3)
    b = FrameDecomposition(32, n_atoms=8, n_nonzero_coefs=3, max_iter=20, random_state=3)
    a.fit(x)
    b.fit(x)
    assert a.components_.dtype == np.float32
    assert np.array_equal(a.components_, b.components_)
    fc = a.transform(x)
    assert fc.codes.dtype == np.float32 and fc.means.dtype == np.float32
    y = a.inverse_transform(fc)
    assert y.dtype == np.float32 and y.shape == x.shape
    c = FrameDecomposition(32, n_atoms=8, n_nonzero_coefs=3, max_iter=20, random_state=4)
    assert not np.array_equal(c.fit(x).components_, a.components_)


def test_decomposition_on_array_api_strict():
    """array-api-strict's default device (the learners' data initialisation reads samples on
    the host, so the second device is for framing only)."""
    xs = pytest.importorskip("array_api_strict")
    host = np.random.default_rng(5).standard_normal((2, 300))
    x = xs.asarray(host)
    d = x.device
    est = FrameDecomposition(16, n_atoms=8, n_nonzero_coefs=3, max_iter=5, random_state=0)
    fc = est.fit(x).transform(x)
    y = est.inverse_transform(fc)
    assert fc.codes.device == d and y.device == d and y.shape == (2, 300)
    ref = FrameDecomposition(16, n_atoms=8, n_nonzero_coefs=3, max_iter=5, random_state=0)
    ref.fit(host)
    assert np.allclose(_host(est.components_), ref.components_, atol=1e-10)


def test_save_load_round_trip(tmp_path):
    x = _sines(n=2048)
    est = FrameDecomposition(32, hop=8, n_atoms=8, n_nonzero_coefs=3, max_iter=10,
                             sample_rate=8000, random_state=0).fit(x)
    path = est.save(tmp_path / "frames")
    assert str(path).endswith(".npz")
    back = FrameDecomposition.load(path)
    assert back.get_params() == est.get_params() and back.sample_rate == 8000
    assert np.array_equal(back.components_, est.components_)
    assert np.array_equal(back.transform(x).codes, est.transform(x).codes)
    # a window given as an array is saved as an array
    w = get_frame_window("hann", 32)[0] * 2
    est2 = FrameDecomposition(32, window=w, n_atoms=8, n_nonzero_coefs=3, max_iter=3,
                              random_state=0).fit(x)
    back2 = FrameDecomposition.load(est2.save(tmp_path / "w.npz"))
    assert np.array_equal(back2.window, w)
    assert np.array_equal(back2.transform(x).codes, est2.transform(x).codes)
    from dictlearn import DictionaryLearning

    with pytest.raises(ValueError, match="not a DictionaryLearning"):
        DictionaryLearning.load(path)


def test_decomposition_bad_input():
    x = _sines(n=1024)
    est = FrameDecomposition(32, n_atoms=8, n_nonzero_coefs=3, max_iter=3, random_state=0)
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        est.transform(x)
    est.fit(x)
    with pytest.raises(ValueError, match=r"2 channel.*fitted on 1"):
        est.transform(np.stack([x, x]))
    with pytest.raises(TypeError, match="FrameCodes"):
        est.inverse_transform(np.zeros((3, 8)))
    with pytest.raises(ValueError, match="not COLA"):
        FrameDecomposition(32, hop=12, max_iter=3).fit(x)
    with pytest.raises(ValueError, match="method must be one of"):
        FrameDecomposition(32, learner="nope", n_nonzero_coefs=3, max_iter=3).fit(x)
    with pytest.raises(ValueError, match="coding_method must be one of"):
        FrameDecomposition(32, method="nope", max_iter=3).fit(x)
    with pytest.raises(ValueError, match="longer than x"):
        FrameDecomposition(2048, max_iter=3).fit(x)
    with pytest.raises(TypeError, match="sample_rate must be an int"):
        FrameDecomposition(32, sample_rate=8000.5).fit(x)
    with pytest.raises(ValueError, match="NaN"):
        est.transform(np.where(np.arange(1024) == 5, np.nan, x))


def test_frame_decomposition_on_array_api_strict():
    """Fit, code and resynthesise on array-api-strict's default device: the same numbers as
    NumPy, the caller's array type back. (Its second device waits on the learners running
    there, issue 9.)"""
    xs = pytest.importorskip("array_api_strict")
    host = np.random.default_rng(5).standard_normal(600)
    x = xs.asarray(host)
    kw = {"n_atoms": 8, "n_nonzero_coefs": 3, "max_iter": 5, "random_state": 0}
    a = FrameDecomposition(32, **kw).fit(host)
    b = FrameDecomposition(32, **kw).fit(x)
    np.testing.assert_allclose(tonp(b.components_), np.asarray(a.components_), atol=1e-10)
    y = b.inverse_transform(b.transform(x))
    assert isinstance(y, type(x))
    np.testing.assert_allclose(tonp(y), a.inverse_transform(a.transform(host)), atol=1e-10)
