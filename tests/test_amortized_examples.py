"""The amortized-inference examples run in their quick (CI) mode and show what they claim."""

from __future__ import annotations

import pytest

from tests._helpers import load_script

pytestmark = pytest.mark.usefixtures("single_threaded_blas")


def _load(name):
    return load_script(f"examples/{name}.py")


def test_lista_chen2018_quick(tmp_path):
    out = _load("lista_chen2018").run(["--quick", "--out", str(tmp_path)])
    c = out["curves"]
    assert c["lista-alista"][-1] < c["fista"][-1] - 5.0
    assert c["lista-cp"][-1] < c["ista"][-1] - 2.0
    # every layer improves on the last, ALISTA at a steady rate (measured: -2.5 dB per layer
    # over layers 4-6, against ISTA's -0.3)
    assert all(b < a for a, b in zip(c["lista-alista"], c["lista-alista"][1:], strict=False))
    assert out["slopes_db_per_layer"]["lista-alista"] < -1.5
    assert (tmp_path / "results.json").exists()


def test_lista_chen2018_reference_schedule_stops_phases_on_a_stall(tmp_path):
    """The reference code's phases, scaled down: each phase runs checks of 10 steps until 2
    checks bring no improvement of the validation loss, at most 5 checks: between 3 and 5
    checks per phase, 18 phases (6 layers), not the fixed budget's one epoch per phase."""
    out = _load("lista_chen2018").run(
        ["--quick", "--reference-schedule", "--check-steps", "10", "--patience", "2",
         "--max-checks", "5", "--variants", "alista", "--out", str(tmp_path)])
    assert 18 * 3 <= out["epochs"]["alista"] <= 18 * 5
    assert out["curves"]["lista-alista"][-1] < out["curves"]["fista"][-1]


def test_sae_digits_quick(tmp_path):
    fig = tmp_path / "sae_digits.png"
    out = _load("sae_digits").run([*["--quick"], "--out", str(fig)])
    assert fig.stat().st_size > 5000  # the figure is written by default
    dense, sparse = out[0.0], out[0.05]
    assert sparse["mean_l0"] < 0.7 * dense["mean_l0"]


def test_sae_kl_vs_l1_quick(tmp_path):
    fig = tmp_path / "sae_kl_vs_l1.png"
    out = _load("sae_kl_vs_l1").run([*["--quick", "--rho", "0.05"], "--out", str(fig)])
    assert fig.stat().st_size > 5000  # the figure is written by default
    assert abs(out["kl"] - 0.05) < 0.2 * 0.05
    rates = list(out["l1"].values())
    assert rates[0] > rates[-1]  # the L1 rate moves with lambda


def test_sae_overcomplete_quick(tmp_path):
    fig = tmp_path / "sae_overcomplete.png"
    out = _load("sae_overcomplete").run([*["--quick"], "--out", str(fig)])
    assert fig.stat().st_size > 5000  # the figure is written by default
    assert out[128]["rel_error"] < out[64]["rel_error"]


def test_sae_topk_vs_soft_quick(tmp_path):
    fig = tmp_path / "sae_topk_vs_soft.png"
    out = _load("sae_topk_vs_soft").run([*["--quick"], "--out", str(fig)])
    assert fig.stat().st_size > 5000  # the figure is written by default
    assert out["topk"]["l0_std"] == pytest.approx(0.0)
    assert out["topk"]["l0_mean"] == pytest.approx(round(out["soft"]["l0_mean"]))
