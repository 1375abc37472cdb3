"""The quick-start of docs/amortized.md runs, and prints the figures the page documents.

The page's table after the quick-start (marked ``quickstart-figures``) lists code and
reconstruction NMSE per method and step count; this test runs the block as written and
checks each figure to :data:`TOL_DB` (training is seeded: the figures move only with
floating-point rounding of another BLAS or machine).
"""

from __future__ import annotations

import itertools
import math
import re
import warnings
from pathlib import Path

import pytest

from tests.test_docs_quickstarts import _blocks

TOL_DB = 0.5
PAGE = Path(__file__).resolve().parents[1] / "docs" / "amortized.md"


def _documented() -> list[tuple[str, int, float, float]]:
    text = PAGE.read_text(encoding="utf-8")
    section = text.split("<!-- quickstart-figures", 1)[1].split("\n\n", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and re.fullmatch(r"\d+", cells[1]):
            rows.append((cells[0], int(cells[1]), float(cells[2].replace("−", "-")),
                         float(cells[3].replace("−", "-"))))
    return rows


def test_documented_figures_table_is_found():
    rows = _documented()
    assert len(rows) >= 5 and {"ista", "fista", "lista-alista"} <= {r[0] for r in rows}


def test_quickstart_runs_and_gives_the_documented_figures(tmp_path, monkeypatch,
                                                          single_threaded_blas):
    from dictlearn.amortized import DepthWarning

    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error", DepthWarning)
        exec(compile(_blocks("docs/amortized.md")[0], "docs/amortized.md[0]", "exec"), ns)
    table = ns["table"]
    alista = [r["nmse_db"] for r in table.select("lista-alista")]
    assert all(b < a for a, b in itertools.pairwise(alista))  # falls at every layer
    assert alista[-1] < table.select("fista")[-1]["nmse_db"] - 10.0
    for method, steps, code, recon in _documented():
        (row,) = [r for r in table.select(method) if r["steps"] == steps]
        if math.isnan(code):
            assert math.isnan(row["nmse_db"])
        else:
            assert row["nmse_db"] == pytest.approx(code, abs=TOL_DB), (method, steps)
        assert row["recon_nmse_db"] == pytest.approx(recon, abs=TOL_DB), (method, steps)
