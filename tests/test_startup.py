"""Start-up: ``import dictlearn`` loads no heavy optional dependency, and the lazy namespaces
(:mod:`dictlearn._lazy`) still export every name of ``__all__``."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import dictlearn
from dictlearn._lazy import lazy_names

ROOT = Path(dictlearn.__file__).parent
HEAVY = ("sklearn", "matplotlib", "numba", "scipy", "dask")
PACKAGES = ["dictlearn", "dictlearn.learning", "dictlearn.amortized"]


def _fresh(code: str) -> dict:
    """Run ``code`` (which prints a JSON value) in a fresh interpreter under ``-X importtime``;
    return the value and the import time of ``dictlearn`` in microseconds."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True,
                          text=True, check=True, cwd=ROOT.parent, timeout=120)
    total = [int(line.split("|")[1]) for line in proc.stderr.splitlines()
             if line.startswith("import time:") and line.rstrip().endswith("| dictlearn")]
    return {"value": json.loads(proc.stdout), "import_us": total[0]}


def test_import_dictlearn_loads_no_heavy_dependency():
    out = _fresh(f"import sys, json, dictlearn; print(json.dumps("
                 f"[m for m in {HEAVY!r} if m in sys.modules]))")
    assert out["value"] == [], f"import dictlearn imported {out['value']}"
    print(f"import dictlearn: {out['import_us'] / 1e3:.1f} ms")


def test_coding_functions_load_without_scikit_learn():
    code = ("import sys, json, numpy as np, dictlearn\n"
            "Z = dictlearn.sparse_encode(np.ones((2, 3)), np.eye(3), method='fista', alpha=0.1)\n"
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    loaded = _fresh(code)["value"]
    assert "sklearn" not in loaded and "matplotlib" not in loaded


def test_estimator_loads_its_base_on_first_use():
    code = ("import sys, json, dictlearn\n"
            "before = 'sklearn' in sys.modules\n"
            "from dictlearn import DictionaryLearning\n"
            "print(json.dumps([before, DictionaryLearning.__module__]))")
    before, module = _fresh(code)["value"]
    assert before is False and module == "dictlearn.learning.estimator"


@pytest.mark.parametrize("name", PACKAGES)
def test_lazy_namespace_exports_all(name):
    pkg = importlib.import_module(name)
    table = lazy_names(Path(pkg.__file__).read_text(encoding="utf-8"))
    listed = set(pkg.__all__) - {"__version__"}
    assert listed <= set(table), f"{name}.__all__ names no lazy import: {listed - set(table)}"
    assert listed <= set(dir(pkg))
    for export in pkg.__all__:
        assert getattr(pkg, export) is not None
    with pytest.raises(AttributeError, match="no_such_name"):
        pkg.no_such_name  # noqa: B018


def test_lazy_names_reads_only_type_checking_imports():
    src = ("import os\nfrom .a import b\nif TYPE_CHECKING:\n    from . import c as c\n"
           "    from .d import e, f as g\n")
    assert lazy_names(src) == {"c": (".c", None), "e": (".d", "e"), "g": (".d", "f")}


def test_registries_complete_after_import():
    code = ("import json, dictlearn\n"
            "from dictlearn.learning import LEARNERS\n"
            "print(json.dumps([sorted(dictlearn.METHODS), sorted(LEARNERS)]))")
    methods, learners = _fresh(code)["value"]
    assert {"cauchy", "fista", "ista", "iht", "lasso", "omp"} <= set(methods)
    assert {"mod", "ksvd", "online", "olshausen_field"} <= set(learners)


def test_exports_named_like_their_submodule_stay_the_exported_object():
    """``dictlearn.amortized.train`` is a function and a submodule of the same name (so are
    ``learning.mod``, ``coding.omp``, ...): importing every submodule first must not replace a
    lazily exported function by its module (a fresh interpreter, so the order is the worst)."""
    code = """
import importlib, pkgutil, types
pkgs = ["dictlearn.learning", "dictlearn.amortized", "dictlearn.signal", "dictlearn.coding"]
for pkg in pkgs:
    for info in pkgutil.iter_modules(importlib.import_module(pkg).__path__):
        importlib.import_module(pkg + "." + info.name)
bad = []
for pkg in pkgs:
    m = importlib.import_module(pkg)
    for name in m.__all__:
        obj = getattr(m, name)
        if isinstance(obj, types.ModuleType) and obj.__name__ == pkg + "." + name:
            bad.append(pkg + "." + name)
print(bad)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"
