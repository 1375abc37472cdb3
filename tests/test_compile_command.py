"""``python -m dictlearn compile``: the numba kernels compiled (or loaded from numba's cache)
ahead of their first use, one line per kernel and dtype."""

from __future__ import annotations

import pytest

from dictlearn.__main__ import main
from dictlearn.kernels.warmup import WARMUPS, warm_up


def test_every_numba_kernel_has_a_warm_up():
    """A new numba kernel without a warm-up call fails here."""
    from dictlearn.kernels import KERNELS

    numba = {name for name, engine in KERNELS if engine == "numba"}
    covered = {"omp": {"omp_gram"}, "lasso": {"lasso_cd_gram"}, "fista": {"fista_l1"},
               "iht": {"iht_l0"}, "online": {"online_bcd", "code_statistics",
                                              "codes_times_dictionary", "sample_objective"},
               "conv_mp": {"conv_mp"}, "lgcd": {"lgcd_passes"}, "adam": {"adam_step"}}
    assert set(covered) == set(WARMUPS)
    assert set().union(*covered.values()) == numba


def test_warm_up_runs_and_reports(capsys):
    pytest.importorskip("numba")
    seen = []
    times = warm_up(["adam"], ["float32"], report=lambda *a: seen.append(a))
    assert list(times) == [("adam", "float32")] and times["adam", "float32"] > 0
    assert seen[0][:2] == ("adam", "float32")
    assert main(["compile", "--kernels", "adam", "--dtypes", "float64"]) == 0
    out = capsys.readouterr().out
    assert "adam     float64" in out and out.rstrip().endswith(" s")


@pytest.mark.parametrize("kwargs, match", [
    ({"kernels": ["nope"]}, r"kernels must be among .*'omp'.*got \['nope'\]"),
    ({"dtypes": ["float16"]}, r"dtypes must be among \['float32', 'float64'\]; got \['float16'\]"),
])
def test_bad_names_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        warm_up(**kwargs)


def test_disabled_numba_is_refused(monkeypatch):
    monkeypatch.setenv("DICTLEARN_DISABLE_NUMBA", "1")
    with pytest.raises(ValueError, match=r"numba is not installed .*DICTLEARN_DISABLE_NUMBA"):
        warm_up(["omp"])
