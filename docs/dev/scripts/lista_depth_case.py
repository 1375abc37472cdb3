"""The case where the test error grew with depth and the validation loss did not show it.

    OPENBLAS_NUM_THREADS=1 python docs/dev/scripts/lista_depth_case.py

``python -m dictlearn.bench amortized --n-train 5000 --n-test 1000 --layers 8 --epochs 50
--repeat 1 --variants alista --sae-k 0 --support-fraction 0.012 --support-max 0.13`` trains
ALISTA with the papers' support selection on 5-sparse codes of 256 atoms: its test NMSE grows
after layer 6 while the validation loss per layer (``layer_losses_``) falls, so no
``DepthWarning``. This script trains the same network and looks at the per-signal errors of the
validation rows (the 500 rows ``fit`` held out) and of the 1,000 test signals: the NMSE per layer,
the median per-signal NMSE, the share of the error in the worst 1 % of the signals and the
largest errors (squared code error per signal).
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from dictlearn import LISTA
from dictlearn._xp import check_random_state
from dictlearn.amortized._common import split_rows
from dictlearn.datasets import make_sparse_problem


def main() -> None:
    prob = make_sparse_problem(6000, 64, 256, 5, snr_db=30.0, random_state=0)
    X, Z, D = prob.X, prob.codes, prob.dictionary
    Xtr, Ztr, Xte, Zte = X[:5000], Z[:5000], X[5000:], Z[5000:]
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net = LISTA(D, 8, variant="alista", alpha=0.1, max_epochs=50, learning_rate=1e-3,
                    batch_size=64, random_state=0, support_fraction=0.012,
                    support_max=0.13).fit(Xtr, Ztr)
    print(f"fit: {time.perf_counter() - t0:.0f} s, {net.status_.value}, {net.n_epochs_} epochs, "
          f"warnings: {[type(w.message).__name__ for w in caught]}")
    print("validation loss per layer (layer_losses_):",
          " ".join(f"{v:.3g}" for v in net.layer_losses_["trained"]))
    _, va = split_rows(5000, 0.1, check_random_state(0))  # fit's split (its first draw)
    for name, (Xs, Zs) in {"validation": (Xtr[va], Ztr[va]), "test": (Xte, Zte)}.items():
        E = np.array([np.sum((Zk - Zs) ** 2, axis=1) for Zk in net.transform_layers(Xs)])
        total = 10 * np.log10(E.sum(axis=1) / np.sum(Zs ** 2))
        median = 10 * np.log10(np.median(E / np.sum(Zs ** 2, axis=1), axis=1))
        last = np.sort(E[-1])[::-1]
        worst = int(np.argmax(E[-1]))
        print(f"{name} ({len(Zs)} signals)")
        print("  NMSE (dB) per layer:           ", " ".join(f"{v:.2f}" for v in total))
        print("  median per-signal NMSE (dB):   ", " ".join(f"{v:.2f}" for v in median))
        print(f"  share of the layer-8 error in the worst 1 %: "
              f"{last[:max(1, len(last) // 100)].sum() / last.sum():.3f}; largest errors "
              + " ".join(f"{v:.3g}" for v in last[:5]))
        print("  worst signal's error per layer:", " ".join(f"{v:.3g}" for v in E[:, worst]))


if __name__ == "__main__":
    main()
