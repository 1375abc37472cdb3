"""ADMM on ``c·X`` with ``c·α`` for c from 1 to 1e8: status, iterations and the objective's
excess over a tight LGCD solve. The problem is the same at every c, so the iterations should
be too.

Run: PYTHONPATH=. OPENBLAS_NUM_THREADS=1 python docs/dev/scripts/admm_scale.py
"""

import numpy as np

from dictlearn.signal import csc_encode, csc_objective, make_csc_problem

p = make_csc_problem(1, 400, 3, 16, n_events=5, random_state=0)
x, D = p.X[0], p.atoms
for c in (1.0, 1e2, 1e4, 1e6, 1e8):
    r = csc_encode(c * x, D, method="admm", alpha=0.05 * c, tol=1e-8, max_iter=3000,
                   return_result=True)
    ref = csc_encode(c * x, D, method="lgcd", alpha=0.05 * c, tol=1e-10, max_iter=100000)
    F = csc_objective(c * x, D, r.codes, alpha=0.05 * c)[0]
    Fr = csc_objective(c * x, D, ref, alpha=0.05 * c)[0]
    print(f"c={c:g}: {r.status.value}, {int(np.max(r.n_iter_per_sample))} iterations, "
          f"relative excess {float(np.ravel((F - Fr) / Fr)[0]):.2g}")
