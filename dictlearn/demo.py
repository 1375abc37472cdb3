"""The README's demonstration: synthetic sparse signals encoded side by side."""

from __future__ import annotations

import numpy as np

from ._report import format_table, median_time
from ._xp import has_module
from .coding import sparse_encode
from .datasets import make_sparse_problem
from .metrics import nmse_db, support_recovery
from .objectives import lasso_objective


def run_demo(n_samples: int = 2000, seed: int = 0, alpha: float = 0.1) -> int:
    """Encode a 5-sparse, 30 dB problem with ISTA, FISTA, the exact lasso solver and
    scikit-learn; print a table (our solvers are timed after one warm-up call, which
    compiles their numba kernels on the first run in a new environment)."""
    p = make_sparse_problem(n_samples, 64, 256, 5, snr_db=30, random_state=seed)
    print(f"{n_samples} signals of dimension 64, 5-sparse on 256 unit-norm Gaussian atoms, "
          f"30 dB SNR; lasso with alpha={alpha}")
    coders = {
        "dictlearn ista": lambda: sparse_encode(p.X, p.dictionary, method="ista", alpha=alpha,
                                                max_iter=5000),
        "dictlearn fista": lambda: sparse_encode(p.X, p.dictionary, method="fista",
                                                 alpha=alpha),
        "dictlearn lasso (exact)": lambda: sparse_encode(p.X, p.dictionary, method="lasso",
                                                         alpha=alpha),
    }
    if has_module("sklearn"):
        from sklearn.decomposition import sparse_encode as sk_encode

        for algo in ("lasso_lars", "lasso_cd"):
            coders[f"sklearn {algo}"] = lambda a=algo: sk_encode(
                p.X, p.dictionary, algorithm=a, alpha=alpha, max_iter=10000)
    else:
        print("(scikit-learn not installed: pip install scikit-learn to compare)")
    rows = []
    for name, fn in coders.items():
        # one untimed warm-up for our numba-compiled solvers (the exact lasso, FISTA and ISTA
        # kernels): their first call in a new environment compiles them (cached on disk
        # after it; `python -m dictlearn compile`), and compilation is not their speed
        t, Z = median_time(fn, repeat=1, warmup=1 if name.startswith("dictlearn") else 0)
        Z = np.asarray(Z)
        sup = support_recovery(Z, p.codes, atol=1e-8)
        rows.append({
            "method": name,
            "time_s": t,
            "mean_objective": float(np.mean(lasso_objective(p.X, p.dictionary, Z, alpha=alpha))),
            "nmse_db": nmse_db(Z, p.codes),
            "support_precision": sup["precision"],
            "support_recall": sup["recall"],
        })
    print(format_table(rows, list(rows[0])))
    return 0
