"""The learning examples run in CI-sized mode and save their figures."""

import pytest

from tests._helpers import load_script


def _load(name):
    return load_script(f"examples/{name}.py", f"example_{name}")


@pytest.mark.parametrize("name", ["olshausen_field", "ground_truth", "denoise"])
def test_example_runs_quick(name, tmp_path):
    out = tmp_path / f"{name}.png"
    res = _load(name).main(["--quick", "--out", str(out)])
    assert out.exists() and out.stat().st_size > 1000
    if name == "denoise":
        psnr = res["psnr"]
        assert psnr["learned dictionary (online)"] > psnr["noisy input"] + 2.0


def test_gabor_like_criterion_separates_gabors_from_noise():
    import numpy as np

    gabor_like = _load("olshausen_field").gabor_like
    yy, xx = np.mgrid[:12, :12] - 5.5
    rng = np.random.default_rng(0)
    gabors = [np.exp(-(xx**2 + yy**2) / (2 * 1.5**2))
              * np.cos(2 * np.pi * 0.25 * (np.cos(t) * xx + np.sin(t) * yy) + p)
              for t, p in zip(np.linspace(0, np.pi, 8, endpoint=False), rng.uniform(0, 6, 8),
                              strict=True)]
    noise = rng.standard_normal((40, 144))
    flat = np.ones((1, 144))  # all DC: not band-pass
    assert gabor_like(np.array([g.ravel() for g in gabors]), (12, 12)).all()
    assert gabor_like(noise, (12, 12)).mean() < 0.1
    assert not gabor_like(flat, (12, 12)).any()
