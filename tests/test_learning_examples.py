"""The learning examples run in CI-sized mode and save their figures."""

import importlib.util
import os

import pytest


def _load(name):
    path = os.path.join(os.path.dirname(__file__), "..", "examples", f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"example_{name}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("name", ["olshausen_field", "ground_truth", "denoise"])
def test_example_runs_quick(name, tmp_path):
    out = tmp_path / f"{name}.png"
    res = _load(name).main(["--quick", "--out", str(out)])
    assert out.exists() and out.stat().st_size > 1000
    if name == "denoise":
        psnr = res["psnr"]
        assert psnr["learned dictionary (online)"] > psnr["noisy input"] + 2.0
