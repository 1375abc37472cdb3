"""Ctrl-C (``KeyboardInterrupt``) or an error raised by a callback during ``fit`` leaves every
learner usable: with its last complete fit (never half-updated), or unfitted."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from dictlearn import LISTA, DictionaryLearning, SparseAutoencoder
from dictlearn.datasets import make_sparse_problem
from dictlearn.signal import ConvolutionalDictionaryLearning

_P = make_sparse_problem(60, 8, 10, 2, random_state=0)
_SIGNAL = np.sin(np.linspace(0.0, 40.0, 200)) + 0.1 * np.cos(np.linspace(0.0, 170.0, 200))


def _interrupt(exc):
    def callback(info):
        if info.iteration >= 2:
            raise exc("interrupted by the callback")
    return callback


def _learners():
    """(name, make(callback), data, fitted attribute, what it computes)."""
    out = []
    for method in ("mod", "ksvd", "online", "olshausen_field"):
        kw = {"n_nonzero_coefs": 2} if method == "ksvd" else {}
        out.append((method, lambda cb, method=method, kw=kw: DictionaryLearning(
            10, method=method, max_iter=4, batch_size=20, random_state=0, callback=cb, **kw),
            _P.X, "components_"))
    out.append(("cdl", lambda cb: ConvolutionalDictionaryLearning(
        2, 8, max_iter=4, random_state=0, callback=cb), _SIGNAL, "components_"))
    out.append(("sae", lambda cb: SparseAutoencoder(8, max_epochs=4, batch_size=20,
                                                    random_state=0, callback=cb),
                _P.X, "components_"))
    out.append(("lista", lambda cb: LISTA(_P.dictionary, 2, max_epochs=4, batch_size=20,
                                          random_state=0, callback=cb), _P.X, "params_"))
    return out


LEARNERS = _learners()


def _snapshot(value):
    if dataclasses.is_dataclass(value):
        return _snapshot(dataclasses.asdict(value))
    if isinstance(value, (list, tuple)):
        return [_snapshot(v) for v in value]
    if isinstance(value, dict):
        return {k: _snapshot(v) for k, v in value.items()}
    return np.array(value, copy=True)


def _codes(est, data):
    out = est.transform(data)
    return np.asarray(out)


@pytest.mark.parametrize("exc", [KeyboardInterrupt, RuntimeError], ids=["ctrl-c", "error"])
@pytest.mark.parametrize("name, make, data, attr", LEARNERS, ids=[row[0] for row in LEARNERS])
def test_an_interrupted_refit_keeps_the_last_complete_fit(name, make, data, attr, exc):
    est = make(None).fit(data)
    before, codes = _snapshot(getattr(est, attr)), _codes(est, data)
    est.set_params(callback=_interrupt(exc))
    with pytest.raises(exc):
        est.fit(data * 2.0)
    np.testing.assert_equal(_snapshot(getattr(est, attr)), before)
    np.testing.assert_array_equal(_codes(est, data), codes)  # still usable, same model


@pytest.mark.parametrize("name, make, data, attr", LEARNERS, ids=[row[0] for row in LEARNERS])
def test_an_interrupted_first_fit_leaves_the_estimator_unfitted(name, make, data, attr):
    est = make(_interrupt(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        est.fit(data)
    with pytest.raises(ValueError, match="not fitted"):
        est.transform(data)
