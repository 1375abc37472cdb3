"""Median wall time of identical calls (fixed work) in the checkout that is the current directory.

    cd CHECKOUT && python PATH/TO/fixed_work_timing.py     (prints JSON)


Standard problem (256 atoms x 64 features, 10,000 signals, 5-sparse, 30 dB, alpha 0.1,
float64). ISTA/FISTA run a fixed 20 iterations (tol=0) so that both trees do the same work.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.getcwd())  # the checkout under test, not an installed copy

import numpy as np

import dictlearn
from dictlearn.datasets import make_sparse_problem

p = make_sparse_problem(10000, 64, 256, 5, snr_db=30, random_state=0)
X, D = p.X, p.dictionary
small = make_sparse_problem(2000, 64, 256, 5, snr_db=30, random_state=1)


def med(fn, r):
    fn()  # warm-up (numba cache load)
    ts = []
    for _ in range(r):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


out = {
    "fista_20it": med(lambda: dictlearn.fista(X, D, alpha=0.1, max_iter=20, tol=0.0), 5),
    "ista_20it": med(lambda: dictlearn.ista(X, D, alpha=0.1, max_iter=20, tol=0.0), 5),
    "lasso_exact": med(lambda: dictlearn.lasso(X, D, alpha=0.1), 7),
    "omp_k5": med(lambda: dictlearn.omp(X, D, n_nonzero_coefs=5), 7),
    "online_fit_50steps": med(lambda: dictlearn.DictionaryLearning(
        256, alpha=0.1, batch_size=256, max_iter=50, tol=0, random_state=0).fit(X), 3),
    "mod_fit_10it": med(lambda: dictlearn.DictionaryLearning(
        256, method="mod", n_nonzero_coefs=5, max_iter=10, tol=0, random_state=0).fit(
        small.X), 3),
    "lista_cp_8layers_3epochs": med(lambda: dictlearn.LISTA(
        D, 8, variant="cp", alpha=0.1, max_epochs=3, n_iter_no_change=None,
        random_state=0).fit(small.X, small.codes), 3),
}
out["dictlearn"] = os.path.dirname(dictlearn.__file__)
json.dump(out, sys.stdout)
