"""Start-up: ``import dictlearn`` loads no heavy dependency and no dictlearn module but the lazy
loader, the lazy namespaces (:mod:`dictlearn._lazy`) still export every name of ``__all__``,
and the lazy registries list every built-in name and resolve each one on lookup."""

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
# what `import dictlearn` may load besides the standard library: nothing else of dictlearn
STARTUP_MODULES = ["dictlearn", "dictlearn._lazy"]
PACKAGES = ["dictlearn", "dictlearn.learning", "dictlearn.amortized", "dictlearn.coding"]


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


def test_import_dictlearn_loads_only_the_lazy_loader():
    """Not even NumPy: every dictlearn module is off the import path of ``import dictlearn``
    (the time left is the interpreter's; docs/distributed.md, "Start-up")."""
    out = _fresh("import sys, json, dictlearn; print(json.dumps(["
                 "sorted(m for m in sys.modules if m.split('.')[0] == 'dictlearn'),"
                 "'numpy' in sys.modules]))")
    loaded, numpy = out["value"]
    assert loaded == STARTUP_MODULES
    assert numpy is False


def test_registries_list_and_refuse_names_without_importing_providers():
    code = """
import json, sys, dictlearn
from dictlearn.learning import LEARNERS, learner_spec
names = [sorted(dictlearn.METHODS), sorted(dictlearn.coding.SPECS), list(LEARNERS),
         "omp" in dictlearn.METHODS, "nope" in dictlearn.METHODS, len(LEARNERS)]
errors = []
for check in (lambda: dictlearn.method_spec("nope"), lambda: learner_spec("nope"),
              lambda: dictlearn.method_spec(3)):
    try:
        check()
    except ValueError as e:
        errors.append(str(e))
providers = [m for m in ("dictlearn.coding.omp", "dictlearn.coding.iht",
                         "dictlearn.coding.lasso_cd", "dictlearn.coding.proximal_gradient",
                         "dictlearn.learning.mod", "dictlearn.learning.ksvd",
                         "dictlearn.learning.online", "dictlearn.learning.olshausen_field")
             if m in sys.modules]
print(json.dumps([names, errors, providers]))
"""
    names, errors, providers = _fresh(code)["value"]
    methods = ["cauchy", "fista", "iht", "ista", "lasso", "lasso_cd", "omp"]
    assert names == [methods, methods, ["ksvd", "mod", "olshausen_field", "online"],
                     True, False, 4]
    assert errors[0] == f"method must be one of {methods}; got 'nope'"
    assert errors[1] == ("method must be one of ['ksvd', 'mod', 'olshausen_field', 'online']; "
                         "got 'nope'")
    assert errors[2].endswith("got 3")
    assert providers == []


def test_every_registered_name_resolves_and_providers_are_complete():
    """Each provided name imports its module and resolves to what that module registered; and
    importing every dictlearn module registers no built-in name the providers do not list
    (else it would be missing from a listing until its module happened to be imported)."""
    code = """
import importlib, json, pkgutil, dictlearn
from dictlearn.coding import METHODS, SPECS
from dictlearn.learning import LEARNERS
provided = [sorted(METHODS.providers), sorted(LEARNERS.providers)]
bad = []
for name in list(METHODS):
    target = METHODS.providers.get(name)
    fn, spec = METHODS[name], SPECS[name]
    if not callable(fn) or spec.fn is not fn or name not in (spec.name, *spec.aliases):
        bad.append(name)
    if target and getattr(importlib.import_module(target.split(":")[0]),
                          target.split(":")[1]) is not fn:
        bad.append(name + " (target)")
for name in list(LEARNERS):
    spec = LEARNERS[name]
    module, attr = LEARNERS.providers[name].split(":")
    if spec.name != name or getattr(importlib.import_module(module), attr) is not spec.updater:
        bad.append(name)
for pkg in ("dictlearn.coding", "dictlearn.learning"):
    for info in pkgutil.iter_modules(importlib.import_module(pkg).__path__):
        importlib.import_module(pkg + "." + info.name)
registered = [sorted(k for k in METHODS._values), sorted(LEARNERS._values)]
print(json.dumps([provided, registered, bad]))
"""
    provided, registered, bad = _fresh(code)["value"]
    assert bad == []
    assert registered == provided


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
