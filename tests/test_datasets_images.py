"""Natural images, whitening and patches: shapes, the filter's spectrum, bad input."""

import numpy as np
import pytest

from dictlearn.datasets import image_patches, natural_images, whiten_image


def test_natural_images_are_real_photographs():
    imgs = natural_images()
    assert len(imgs) >= 1
    for im in imgs:
        assert im.ndim == 2 and min(im.shape) >= 64
        assert 0.0 <= im.min() and im.max() <= 1.0 and im.std() > 0.05
    rgb = natural_images(gray=False)
    assert rgb[0].ndim == 3 and rgb[0].shape[-1] == 3


def test_whitening_flattens_the_spectrum_of_natural_images():
    im = natural_images()[0]
    w = whiten_image(im, cutoff=0.4)
    assert w.var() == pytest.approx(0.1)

    def radial_power(a, lo, hi):
        P = np.abs(np.fft.fft2(a - a.mean())) ** 2
        f = np.hypot(np.fft.fftfreq(a.shape[0])[:, None], np.fft.fftfreq(a.shape[1])[None, :])
        sel = (f >= lo) & (f < hi)
        return P[sel].mean()

    # 1/f amplitude: low frequencies dominate the raw image by orders of magnitude;
    # after whitening the mid band is within a few times the low band
    raw = radial_power(im, 0.02, 0.05) / radial_power(im, 0.15, 0.25)
    white = radial_power(w, 0.02, 0.05) / radial_power(w, 0.15, 0.25)
    assert raw > 30 and white < raw / 20
    # the low-pass part removes the highest frequencies (beyond f0)
    assert radial_power(w, 0.45, 0.5) < 0.5 * radial_power(w, 0.15, 0.25)


def test_patches_shapes_and_normalizations():
    im = np.random.default_rng(0).random((30, 40))
    P = image_patches([im, im.T], (4, 6), 500, random_state=0)
    assert P.shape == (500, 24)
    Pn = image_patches(im, 5, 300, normalize="patch", random_state=0)
    np.testing.assert_allclose(np.linalg.norm(Pn, axis=1), 1.0)
    np.testing.assert_allclose(Pn.mean(axis=1), 0.0, atol=1e-12)
    Ps = image_patches(im, 5, 300, normalize="standardize", random_state=0)
    np.testing.assert_allclose(Ps.std(axis=0), 1.0)
    # patches are real windows of the image
    P1 = image_patches(im, 3, 50, random_state=1)
    win = np.lib.stride_tricks.sliding_window_view(im, (3, 3)).reshape(-1, 9)
    assert all(np.any(np.all(np.isclose(win, row), axis=1)) for row in P1)
    # reproducible
    np.testing.assert_array_equal(image_patches(im, 3, 20, random_state=5),
                                  image_patches(im, 3, 20, random_state=5))
    assert image_patches(im, 3, 20, dtype=np.float32).dtype == np.float32


def test_flat_patches_are_redrawn_for_unit_norm():
    im = np.zeros((40, 40))
    im[:, 20:] = np.random.default_rng(0).random((40, 20))  # left half flat
    P = image_patches(im, 4, 400, normalize="patch", random_state=0)
    assert np.all(np.isfinite(P))
    np.testing.assert_allclose(np.linalg.norm(P, axis=1), 1.0)


@pytest.mark.parametrize("call,err,match", [
    (lambda im: image_patches(im, 50, 10), ValueError, "larger than"),
    (lambda im: image_patches(np.ones((20, 20)), 4, 10), ValueError, "constant"),
    (lambda im: image_patches(np.where(im > 0.5, np.nan, im), 4, 10), ValueError, "NaN"),
    (lambda im: image_patches(im, 0, 10), ValueError, "patch_size"),
    (lambda im: image_patches(im, 4, 0), ValueError, "n_patches"),
    (lambda im: image_patches(im, 4, 10, normalize="max"), ValueError, "normalize"),
    (lambda im: image_patches([], 4, 10), ValueError, "non-empty"),
    (lambda im: image_patches(im.astype(complex), 4, 10), TypeError, "real"),
    (lambda im: whiten_image(np.ones((16, 16))), ValueError, "constant"),
    (lambda im: whiten_image(im, cutoff=0), ValueError, "cutoff"),
    (lambda im: image_patches(np.ones((20, 20)), 4, 10, whiten=True), ValueError,
     "constant"),
])
def test_bad_input(call, err, match):
    im = np.random.default_rng(0).random((20, 20))
    with pytest.raises(err, match=match):
        call(im)
