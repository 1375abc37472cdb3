"""The package's layering: nothing in the library imports ``dictlearn.bench``, and no module
imports a private name or private module of another subpackage.

The shared ground floor (``dictlearn._xp``, ``_validation``, ``_loop``, ``_linalg``,
``_report``, ``_base`` (the estimator base classes), ``_io`` (the model-file format), ``_scale``
(the scaling rule of the coding methods and learners), ``_lazy`` (the packages' lazy
namespaces)) is importable from everywhere.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import dictlearn

ROOT = Path(dictlearn.__file__).parent
GROUND_FLOOR = {"_xp", "_validation", "_loop", "_linalg", "_report", "_base", "_io", "_scale",
                "_lazy"}
BENCH_ALLOWED = {"dictlearn.__main__"}


def _private(part: str) -> bool:
    return part.startswith("_") and not part.startswith("__")


def _module_name(path: Path) -> str:
    parts = ("dictlearn", *path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _imports(path: Path):
    """``(line, target module, names)`` for every import in ``path`` (relative ones
    resolved); ``names`` is empty for ``import x``."""
    module = _module_name(path)
    package = module if _is_package(path) else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, ()
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = tuple(a.name for a in node.names)
            # ``from . import x`` may import a submodule x
            yield node.lineno, target, names


def _subpackage(module: str) -> str | None:
    """``"learning"`` for ``dictlearn.learning.x``; None for top-level modules."""
    parts = module.split(".")
    if len(parts) < 2 or parts[0] != "dictlearn":
        return None
    return parts[1] if (ROOT / parts[1]).is_dir() else None


def _violations(path: Path) -> list[str]:
    module = _module_name(path)
    own = _subpackage(module)
    out = []
    for line, target, names in _imports(path):
        if not (target == "dictlearn" or target.startswith("dictlearn.")):
            continue
        where = f"{path.relative_to(ROOT.parent)}:{line}"
        full = [target] if not names else [target, *(f"{target}.{n}" for n in names)]
        if own != "bench" and module not in BENCH_ALLOWED and any(
                t == "dictlearn.bench" or t.startswith("dictlearn.bench.") for t in full):
            out.append(f"{where} imports dictlearn.bench ({target})")
        for t in full:  # one report per import statement
            parts = t.split(".")
            theirs = _subpackage(t)
            if theirs is None:  # top level: only the ground floor's private modules
                if len(parts) > 1 and _private(parts[1]) and parts[1] not in GROUND_FLOOR:
                    out.append(f"{where} imports the private {t}")
                    break
            elif theirs != own and any(_private(p) for p in parts[2:]):
                out.append(f"{where} imports the private {t} of dictlearn.{theirs}")
                break
    return out


def _library_files() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if "__pycache__" not in p.parts)


def test_the_checker_sees_what_it_should(tmp_path, monkeypatch):
    pkg = tmp_path / "dictlearn"
    (pkg / "learning").mkdir(parents=True)
    (pkg / "coding").mkdir()
    (pkg / "bench").mkdir()
    bad = pkg / "learning" / "bad.py"
    bad.write_text("from ..coding._registry import METHODS\n"
                   "from ..coding import _private_helper\n"
                   "from dictlearn.bench import main\n"
                   "import dictlearn.coding._step\n"
                   "from .._secret import x\n"
                   "from .._xp import get_namespace\n"
                   "from ._driver import Updater\n"
                   "from ..coding import METHODS\n")
    monkeypatch.setattr(f"{__name__}.ROOT", pkg)
    found = _violations(bad)
    assert len(found) == 5, found
    assert any("dictlearn.coding._registry" in v for v in found)
    assert any("_private_helper" in v for v in found)
    assert any("dictlearn.bench" in v for v in found)
    assert any("dictlearn.coding._step" in v for v in found)
    assert any("dictlearn._secret" in v for v in found)


@pytest.mark.parametrize("path", _library_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_bench_and_no_private_imports_across_subpackages(path):
    assert _violations(path) == []
