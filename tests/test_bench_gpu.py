"""``python -m dictlearn.bench gpu``: a clear refusal without CuPy or a GPU, and the whole
benchmark logic run on array-api-strict's second device (``--backend strict``)."""

from __future__ import annotations

import pytest

from dictlearn._xp import has_module
from dictlearn.bench import COMMANDS, main
from dictlearn.bench.gpu import backend

TINY = ["--batches", "40,80", "--n-train", "120", "--steps", "2", "--batch", "32",
        "--epochs", "1", "--layers", "2", "--repeat", "1", "--threads", "1", "--n-atoms", "16",
        "--n-features", "8", "--n-nonzero", "2"]


def _cupy_gpu() -> bool:
    if not has_module("cupy"):
        return False
    import cupy

    try:
        return int(cupy.cuda.runtime.getDeviceCount()) > 0
    except Exception:
        return False


def test_registered_in_the_one_bench_entry():
    assert COMMANDS["gpu"][0] == "dictlearn.bench.gpu"


@pytest.mark.skipif(_cupy_gpu(), reason="a GPU is present: the refusal cannot be observed")
def test_without_cupy_or_gpu_it_fails_with_a_clear_message(capsys):
    assert main(["gpu"]) == 2
    err = capsys.readouterr().err
    assert "bench gpu needs" in err and "GPU" in err and "--backend strict" in err
    with pytest.raises(RuntimeError, match="needs"):
        backend("cupy")


def test_bad_workload_is_refused(capsys):
    assert main(["gpu", "--backend", "strict", "--workloads", "lasso,nope"]) == 2
    assert "nope" in capsys.readouterr().err


def test_strict_backend_runs_every_workload(capsys):
    pytest.importorskip("array_api_strict")
    assert main(["gpu", "--backend", "strict", *TINY]) == 0
    out = capsys.readouterr().out
    assert "array-api-strict device1" in out
    rows = {}
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[0] in ("lasso", "omp", "online", "lista"):
            rows.setdefault(parts[0], []).append(parts)
    assert len(rows["lasso"]) == 2 and len(rows["omp"]) == 2
    assert len(rows["online"]) == 1 and len(rows["lista"]) == 1
    for parts in rows["lasso"]:
        ours_q, cpu_q = float(parts[-2]), float(parts[-1])
        if has_module("spams"):  # FISTA to its gap tolerance against LARS: the same objective
            assert ours_q == pytest.approx(cpu_q, rel=1e-3)
        assert float(parts[2]) > 0
    lista = rows["lista"][0]
    # the same training on the device and on NumPy: the same network, the same objective
    assert float(lista[-2]) == pytest.approx(float(lista[-1]), rel=1e-6)
