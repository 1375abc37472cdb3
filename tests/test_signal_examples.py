"""The signal examples run in CI-sized mode, save their figures and report sensible numbers."""

import pytest

from tests._helpers import load_script


def _load(name):
    return load_script(f"examples/{name}.py", f"example_{name}")


@pytest.mark.parametrize("name", ["signal_sound", "signal_eeg", "signal_frames_vs_conv"])
def test_signal_example_runs_quick(name, tmp_path):
    out = tmp_path / f"{name}.png"
    res = _load(name).main(["--quick", "--out", str(out)])
    assert out.exists() and out.stat().st_size > 5000
    if name == "signal_sound":
        assert res["summary"]["snr_db"] > 8.0  # measured 11.5 dB
        # the strongest activations mark event starts far above chance (measured 63% vs 29%)
        assert res["events_found"] > res["chance"] + 0.15
    elif name == "signal_eeg":
        assert res["snr_db"] > 2.0 and res["nnz"] > 0  # measured 6.5 dB (full run)
    else:
        by = {}
        for model, nnz, snr in res["rows"]:
            by.setdefault(model, []).append((nnz, snr))
        # at about the same density the shift-invariant model fits the sound better
        conv = max(s for n, s in by["convolutional (mp)"] if n < 1000)
        frames = max(s for n, s in by["frames (OMP)"] if n < 1000)
        assert conv > frames + 3.0  # measured 12.6 vs 3.9 dB
