"""The gallery (docs/dev/scripts/gallery.py) covers every example, and its build runs: the
example saves its figure without being asked, and the page shows the figure, the command and
the printed numbers. Every example's ``--quick`` run is also tested with assertions on its
numbers (tests/test_*_examples.py, tests/test_network_features.py)."""

from __future__ import annotations

import pytest

from tests._helpers import ROOT, load_script


def _gallery():
    return load_script("docs/dev/scripts/gallery.py")


def test_every_example_is_in_the_gallery():
    names = [e.name for e in _gallery().ENTRIES]
    assert len(names) == len(set(names))
    assert sorted(names) == sorted(p.stem for p in (ROOT / "examples").glob("*.py"))


def test_committed_page_lists_every_entry():
    g = _gallery()
    text = (ROOT / "docs" / "gallery.md").read_text()
    for e in g.ENTRIES:
        assert " ".join(g.command(e, False)) in text
        assert (ROOT / "docs" / "img" / f"gallery_{e.name}.png").exists()


def test_quick_build_writes_the_page(tmp_path):
    g = _gallery()
    g.main(["--quick", "--only", "sae_topk_vs_soft", "--docs", str(tmp_path / "docs"),
            "--workdir", str(tmp_path)])
    text = (tmp_path / "docs" / "gallery.md").read_text()
    assert "PYTHONPATH=. python examples/sae_topk_vs_soft.py --quick" in text
    assert "](img/gallery_sae_topk_vs_soft.png)" in text
    assert "relative error" in text  # the numbers the example printed
    assert (tmp_path / "docs" / "img" / "gallery_sae_topk_vs_soft.png").stat().st_size > 5000
    with pytest.raises(SystemExit):
        g.main(["--only", "no_such_example", "--docs", str(tmp_path)])


def test_only_updates_its_sections_and_keeps_the_others():
    g = _gallery()
    text = (ROOT / "docs" / "gallery.md").read_text()
    e = g.ENTRIES[1]
    out = g.update(text, [e], [{"cmd": "CMD", "stdout": "OUT", "seconds": 1.0,
                                "image": "img/x.png"}])
    assert out.count("\n## ") == text.count("\n## ")
    assert "CMD" in out and "OUT" in out
    for other in g.ENTRIES:
        if other is not e:
            assert f"## {other.title}" in out
    assert out.split(f"## {g.ENTRIES[0].title}")[1].split("\n## ")[0] == \
        text.split(f"## {g.ENTRIES[0].title}")[1].split("\n## ")[0]
