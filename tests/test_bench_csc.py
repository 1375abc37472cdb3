"""``python -m dictlearn.bench csc --quick`` runs and prints its tables with the expected rows."""

from __future__ import annotations

import numpy as np

from dictlearn.bench import main
from dictlearn.bench.csc import make_sound_problem
from dictlearn.signal import CSC_METHODS, reconstruct


def test_sound_problem_is_the_planted_model():
    x, D, Z = make_sound_problem(0.1, 8000, 3, 16, snr_db=200.0, random_state=1)
    assert x.shape == (800,) and D.shape == (3, 16) and Z.shape == (3, 785)
    np.testing.assert_allclose(np.linalg.norm(D, axis=1), 1.0)
    np.testing.assert_allclose(x, reconstruct(Z, D)[0], atol=1e-8)


def test_quick_bench_prints_every_row(capsys):
    assert main(["csc", "--quick"]) == 0
    out = capsys.readouterr().out
    csc, cdl = out.split("CDL problem")
    for name in ("dictlearn fista", "dictlearn lgcd", "sporco ConvBPDN", "alphacsc lgcd"):
        assert name in csc
    if "admm" in CSC_METHODS:
        assert "dictlearn admm" in csc
    for col in ("time_s", "vs_fastest_peer", "rel_excess"):
        assert col in csc
    for name in ("dictlearn CDL", "sporco ConvBPDNDictLearn", "alphacsc learn_d_z_multi"):
        assert name in cdl
    # our rows reached the common target (no "did not reach" on them)
    for line in csc.splitlines():
        if line.strip().startswith("dictlearn"):
            assert "did not reach" not in line, line
