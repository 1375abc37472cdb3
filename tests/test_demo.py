"""The README's first command, ``python -m dictlearn demo``: every solver reaches the same lasso
objective and support on the demonstration problem (a small run)."""

from __future__ import annotations

from dictlearn.__main__ import main


def test_demo_solvers_agree(capsys):
    assert main(["demo", "--n-samples", "200"]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.startswith(("dictlearn",
                                                                           "sklearn"))
            or line.lstrip().startswith(("dictlearn", "sklearn"))]
    names = {" ".join(r[:-5]) for r in rows}
    assert {"dictlearn ista", "dictlearn fista", "dictlearn lasso (exact)"} <= names
    objectives = {r[-4] for r in rows}  # printed to 4 decimals: one value for every solver
    assert len(objectives) == 1 and float(objectives.pop()) > 0
    assert all(float(r[-2]) > 0.8 and float(r[-1]) > 0.8 for r in rows)  # support recovered
