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
    if name == "olshausen_field":
        r2 = res["gabor_r2"]  # the library's Gabor fit ran on every atom
        assert r2.shape == (64,) and ((r2 >= 0) & (r2 <= 1)).all()  # a complete 8x8 basis
    if name == "denoise":
        psnr = res["psnr"]
        assert psnr["learned dictionary (online)"] > psnr["noisy input"] + 2.0
