"""The Gabor-fit measure of dictlearn.metrics: 100% of noisy synthetic Gabors, 0% of white
noise, bad input."""

import numpy as np
import pytest

from dictlearn.metrics import gabor_fraction, gabor_r2


def random_gabors(n, size, rng, noise=0.1):
    """``n`` random Gabors (position, orientation, frequency, envelope, phase) of
    ``size``×``size`` with white noise of ``noise`` times their standard deviation."""
    yy, xx = np.mgrid[:size, :size].astype(float)
    out = []
    for _ in range(n):
        x0, y0 = rng.uniform(0.3 * size, 0.7 * size, 2)
        th, ph = rng.uniform(0, np.pi), rng.uniform(0, 2 * np.pi)
        f = rng.uniform(0.08, 0.35)
        sx, sy = rng.uniform(1.2, 0.25 * size, 2)
        xr = (xx - x0) * np.cos(th) + (yy - y0) * np.sin(th)
        yr = -(xx - x0) * np.sin(th) + (yy - y0) * np.cos(th)
        g = np.exp(-0.5 * (xr**2 / sx**2 + yr**2 / sy**2)) * np.cos(2 * np.pi * f * xr + ph)
        g = g.ravel()
        out.append(g + noise * g.std() * rng.standard_normal(g.size))
    return np.array(out)


def test_noisy_gabors_all_fit():
    rng = np.random.default_rng(0)
    G = random_gabors(24, 12, rng)
    r2 = gabor_r2(G)
    assert gabor_fraction(G) == 1.0
    assert np.all(r2 > 0.9)  # noise of 10% of the std: R² ≈ 0.99


def test_white_noise_never_fits():
    W = np.random.default_rng(1).standard_normal((12, 144))
    r2 = gabor_r2(W)
    assert gabor_fraction(W) == 0.0
    assert r2.max() < 0.4


def test_rectangular_patches_and_scale_invariance():
    rng = np.random.default_rng(2)
    G = random_gabors(3, 12, rng)[:, :120]  # 10×12 crops (still Gabors)
    r2 = gabor_r2(G, (10, 12))
    np.testing.assert_allclose(gabor_r2(7.0 * G, (10, 12)), r2, atol=1e-6)
    assert np.all(r2 > 0.9)


def test_constant_atom_scores_zero():
    assert gabor_r2(np.ones((1, 16)))[0] == 0.0


@pytest.mark.parametrize("atoms,shape,match", [
    (np.ones(16), None, "2-D"),
    (np.ones((2, 15)), None, "square"),
    (np.ones((2, 16)), (3, 5), "patch_shape"),
    (np.full((2, 16), np.nan), None, "finite"),
])
def test_bad_input(atoms, shape, match):
    with pytest.raises(ValueError, match=match):
        gabor_r2(atoms, shape)


def test_offset_and_truncated_gabors_fit():
    """A Gabor on a constant background (R² is taken about the mean, so the model has an
    intercept) and one cut off by the patch's border both fit."""
    yy, xx = np.mgrid[:12, :12].astype(float)

    def gabor(x0, y0, th, sx, sy, f, ph):
        xr = (xx - x0) * np.cos(th) + (yy - y0) * np.sin(th)
        yr = -(xx - x0) * np.sin(th) + (yy - y0) * np.cos(th)
        return np.exp(-0.5 * (xr**2 / sx**2 + yr**2 / sy**2)) * np.cos(2 * np.pi * f * xr + ph)

    g = gabor(6, 5, 0.3, 2, 3, 0.2, 0.0)
    atoms = np.stack([g + 0.2, g + 0.5, gabor(1, 5, 1.0, 2, 4, 0.1, 1.0)]).reshape(3, -1)
    assert np.all(gabor_r2(atoms) > 0.99)
