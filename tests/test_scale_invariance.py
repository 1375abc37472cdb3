"""Scale invariance (dictlearn/_scale.py): results for ``c·X`` are ``c`` times the results
for ``X`` over the floating range, for every coding method and learner; where the codes are not
representable, a clear ``ValueError``."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dictlearn
from dictlearn import DictionaryLearning
from dictlearn._scale import SAFE_EXPONENT, Scale
from dictlearn.datasets import make_sparse_problem

_P = make_sparse_problem(12, 10, 15, 3, random_state=0)

#: method -> options at c = 1 and how each option scales with c (its power)
CODING = {
    "ista": ({"alpha": 0.1, "tol": 1e-12, "max_iter": 5000}, {"alpha": 1}),
    "fista": ({"alpha": 0.1, "tol": 1e-12}, {"alpha": 1}),
    "lasso": ({"alpha": 0.1, "tol": 1e-12}, {"alpha": 1}),
    "iht": ({"n_nonzero_coefs": 3}, {}),
    "omp": ({"n_nonzero_coefs": 3}, {}),
    "cauchy": ({"alpha": 0.05, "sigma": 0.3, "tol": 1e-12, "max_iter": 5000},
               {"alpha": 2, "sigma": 1}),
}
_EXPONENT = st.floats(-150.0, 150.0)  # c = 10**e


def _scaled(opts, powers, c):
    return {k: v * c ** powers[k] if k in powers else v for k, v in opts.items()}


def test_every_registered_method_is_covered():
    assert set(CODING) | {"lasso_cd"} == set(dictlearn.METHODS)


@pytest.mark.parametrize("method", list(CODING))
@settings(deadline=None, max_examples=12)
@given(e=_EXPONENT)
def test_coding_is_scale_invariant(method, e):
    opts, powers = CODING[method]
    c = 10.0 ** e
    ref = dictlearn.sparse_encode(_P.X, _P.dictionary, method=method, **opts)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warnings either
        got = dictlearn.sparse_encode(_P.X * c, _P.dictionary, method=method,
                                      **_scaled(opts, powers, c))
    np.testing.assert_allclose(got / c, ref, rtol=1e-7, atol=1e-7 * np.abs(ref).max())


@pytest.mark.parametrize("method", ["fista", "iht", "omp"])
def test_powers_of_two_are_exact(method):
    opts, powers = CODING[method]
    ref = dictlearn.sparse_encode(_P.X, _P.dictionary, method=method, **opts)
    for k in (-1000, -400, 400, 1000):
        c = 2.0 ** k
        got = dictlearn.sparse_encode(_P.X * c, _P.dictionary, method=method,
                                      **_scaled(opts, powers, c))
        np.testing.assert_array_equal(got / c, ref)


def test_the_issue_cases_no_longer_return_zeros():
    X, D = _P.X, _P.dictionary
    for res in (dictlearn.fista(X * 1e300, D, alpha=1e299), dictlearn.ista(X * 1e300, D,
                                                                          alpha=1e299),
                dictlearn.iht(X * 1e300, D, n_nonzero_coefs=3),
                dictlearn.iht(X * 1e-200, D, n_nonzero_coefs=3),
                dictlearn.fista(X * 1e-200, D, alpha=1e-201)):
        assert res.status is dictlearn.Status.converged
        assert np.count_nonzero(res.codes) > 0
    assert dictlearn.lasso(X * 1e300, D, alpha=1e299).status is dictlearn.Status.converged


_X1 = np.sin(np.linspace(0.0, 40.0, 120)) + 0.2 * np.cos(np.linspace(0.0, 170.0, 120))
_ATOMS = np.array([[1.0, 2.0, 1.0], [1.0, -1.0, 0.5]])
#: convolutional method -> options at c = 1, how they scale, and the agreement reached (the
#: lasso methods are compared by objective: with more unknowns than samples their solution
#: need not be unique)
CSC = {
    "fista": ({"alpha": 0.05, "tol": 1e-12, "max_iter": 3000}, {"alpha": 1}, 1e-7),
    "admm": ({"alpha": 0.05, "tol": 1e-10}, {"alpha": 1}, 1e-7),
    "lgcd": ({"alpha": 0.05, "tol": 1e-9, "max_iter": 20000}, {"alpha": 1}, 1e-7),
    "mp": ({"n_nonzero_coefs": 6}, {}, 1e-12),
    "omp": ({"n_nonzero_coefs": 6}, {}, 1e-12),
}


_CSC_REF: dict = {}


def test_every_convolutional_method_is_covered():
    from dictlearn.signal import CSC_METHODS

    assert set(CSC) | {"cbpdn"} == set(CSC_METHODS)


@pytest.mark.parametrize("method", list(CSC))
@settings(deadline=None, max_examples=6)
@given(e=_EXPONENT)
def test_convolutional_coding_is_scale_invariant(method, e):
    from dictlearn.signal import csc_encode

    opts, powers, rtol = CSC[method]
    c = 10.0 ** e
    if method not in _CSC_REF:
        _CSC_REF[method] = csc_encode(_X1, _ATOMS, method=method, **opts)
    ref = _CSC_REF[method]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = csc_encode(_X1 * c, _ATOMS, method=method, **_scaled(opts, powers, c))
    if "alpha" in opts:
        from dictlearn.signal import csc_objective

        def objective(Z):
            return csc_objective(_X1, _ATOMS, Z, alpha=opts["alpha"])[0]

        np.testing.assert_allclose(objective(got / c), objective(ref), rtol=rtol)
    else:
        np.testing.assert_allclose(got / c, ref, rtol=rtol, atol=rtol * np.abs(ref).max())


def test_unrepresentable_codes_raise():
    # codes ~ 1e-300 / 1e30 underflow: refused, not zeros
    with pytest.raises(ValueError, match="not representable in float64: they underflow"):
        dictlearn.fista(_P.X * 1e-300, _P.dictionary * 1e30, alpha=1e-320)
    with pytest.raises(ValueError, match="not representable in float64: they overflow"):
        dictlearn.omp(_P.X * 1e300, _P.dictionary * 1e-30, n_nonzero_coefs=3)


@settings(deadline=None, max_examples=30)
@given(m=st.floats(5e-324, 1.7e308))
def test_the_scale_is_one_in_the_safe_range_else_a_power_of_two_into_one_two(m):
    s = Scale.of(np.array([[m, -m / 3]]), np).s
    if 2.0 ** -SAFE_EXPONENT <= m <= 2.0 ** SAFE_EXPONENT:
        assert s == 1.0
    else:
        assert np.frexp(s)[0] == 0.5 and 1.0 <= m / s < 2.0
    assert Scale.of(np.zeros((1, 1)), np).s == 1.0


#: learner -> parameters at c = 1 and how they scale with c
LEARNERS = {
    "mod": ({"alpha": 0.1}, {"alpha": 1}),
    "ksvd": ({"n_nonzero_coefs": 2}, {}),
    "online": ({"alpha": 0.1}, {"alpha": 1}),
    "olshausen_field": ({"alpha": 0.022, "sigma": 0.316, "var_goal": 0.1, "learning_rate": 1.0},
                        {"alpha": 2, "sigma": 1, "var_goal": 2, "learning_rate": -2}),
}
_L = make_sparse_problem(60, 8, 10, 2, random_state=0)


def _learn(method, c):
    opts, powers = LEARNERS[method]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        return DictionaryLearning(10, method=method, max_iter=4, batch_size=20, random_state=0,
                                  **_scaled(opts, powers, c)).fit(_L.X * c)


def test_every_learner_is_covered():
    assert set(LEARNERS) == set(dictlearn.learning.LEARNERS)


@pytest.mark.parametrize("method", list(LEARNERS))
@settings(deadline=None, max_examples=5)
@given(k=st.integers(-498, 498).filter(lambda k: abs(k) > SAFE_EXPONENT + 2))
def test_learners_give_one_dictionary_over_the_extreme_range(method, k):
    """Outside the safe range every learner learns on ``X / s``, the same problem for every
    power of two: the same dictionary bit for bit (those with constants in data units too)."""
    ref = _learn(method, 2.0 ** 200)
    est = _learn(method, 2.0 ** k)
    np.testing.assert_array_equal(est.components_, ref.components_)
    norms = np.linalg.norm(est.components_, axis=1)
    assert np.all(np.isfinite(norms)) and norms.max() < 10  # no atoms of norm 1e17


@pytest.mark.parametrize("method", list(LEARNERS))
@settings(deadline=None, max_examples=5)
@given(e=_EXPONENT)
def test_learners_are_scale_invariant(method, e):
    """MOD, K-SVD, online learning (its start is unit atoms, its BCD step and unit-ball
    projection homogeneous) and Olshausen–Field (its constants in data units scaled by their
    law) are scale-invariant algorithms: any ``c`` gives the dictionary of ``X``."""
    c = 10.0 ** e
    ref, est = _learn(method, 1.0), _learn(method, c)
    np.testing.assert_allclose(est.components_, ref.components_, atol=5e-3)
    Z = est.transform(_L.X * c) / c
    np.testing.assert_allclose(Z, ref.transform(_L.X), atol=5e-3 * np.abs(Z).max())


def test_autoencoder_names_the_input_scale():
    """Training depends on the scale of X (the biases move by about learning_rate per step):
    a diverged training at a tiny scale says so, and an X whose loss is not representable is
    refused up front."""
    with pytest.warns(dictlearn.TrainingDivergedWarning,
                      match=r"X has max \|X\| = \S+e-08, far from 1"):
        est = dictlearn.SparseAutoencoder(8, max_epochs=3, batch_size=20,
                                          random_state=0).fit(_L.X * 1e-8)
    assert est.status_ is dictlearn.Status.diverged
    for c in (1e-300, 1e300):
        with pytest.raises(ValueError, match="not representable in float64"):
            dictlearn.SparseAutoencoder(8).fit(_L.X * c)


@pytest.mark.parametrize("method", ["online", "olshausen_field"])
def test_partial_fit_keeps_the_scale_of_its_first_batch(method, tmp_path):
    """``partial_fit`` divides every batch by the scale of the first (kept in the state and
    the model file): the same dictionary for signals of 2^±300, and through save/load."""
    opts, powers = LEARNERS[method]

    def run(c, path=None):
        est = DictionaryLearning(10, method=method, random_state=0, **_scaled(opts, powers, c))
        for i in range(3):
            if i == 2 and path is not None:
                est = DictionaryLearning.load(est.save(path))
            est.partial_fit(_L.X[20 * i:20 * i + 20] * c)
        return est

    ref = run(2.0 ** 300)
    e = np.frexp(np.abs(_L.X[:20]).max())[1] - 1  # the first batch's max |X| is in [2^e, 2^e+1)
    assert ref._state.scale == 2.0 ** (300 + e)
    for c, path in ((2.0 ** -300, None), (2.0 ** -300, tmp_path / "m")):
        est = run(c, path)
        np.testing.assert_array_equal(est.components_, ref.components_)
        objective = [h["objective"] for h in est.history_]
        np.testing.assert_allclose(np.array(objective) / c ** 2,
                                   [h["objective"] / 2.0 ** 600 for h in ref.history_])


@pytest.mark.parametrize("device", ["CPU_DEVICE", "device1"])
def test_scaling_stays_in_the_callers_namespace_and_device(device):
    """array-api-strict on both its devices: codes of 2^700·X on the caller's device, exactly
    2^700 times those of X; convolutional codes too."""
    xs = pytest.importorskip("array_api_strict")
    from dictlearn._xp import device_of
    from dictlearn.signal import csc_encode

    dev, cpu = xs.Device(device), xs.Device("CPU_DEVICE")
    c = 2.0 ** 700
    X, Dx = xs.asarray(_P.X * c, device=dev), xs.asarray(_P.dictionary, device=dev)
    for method, opts, powers in (("fista", *CODING["fista"]), ("omp", *CODING["omp"])):
        Z = dictlearn.sparse_encode(X, Dx, method=method, **_scaled(opts, powers, c))
        assert device_of(Z) == dev
        ref = dictlearn.sparse_encode(xs.asarray(_P.X, device=dev), Dx, method=method, **opts)
        np.testing.assert_array_equal(np.asarray(Z.to_device(cpu)) / c,
                                      np.asarray(ref.to_device(cpu)))
    atoms = xs.asarray(_ATOMS, device=dev)
    z = csc_encode(xs.asarray(_X1 * c, device=dev), atoms, method="mp", n_nonzero_coefs=6)
    assert device_of(z) == dev
    ref = csc_encode(xs.asarray(_X1, device=dev), atoms, method="mp", n_nonzero_coefs=6)
    np.testing.assert_array_equal(np.asarray(z.to_device(cpu)) / c, np.asarray(ref.to_device(cpu)))


_CDL_X = np.random.default_rng(0).standard_normal((3, 1, 120))


def _cdl(c, path=None):
    from dictlearn.signal import ConvolutionalDictionaryLearning

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        est = ConvolutionalDictionaryLearning(3, 12, max_iter=3, random_state=0).fit(_CDL_X * c)
        online = ConvolutionalDictionaryLearning(3, 12, batch_size=2, random_state=0)
        online.partial_fit(_CDL_X[:2] * c)
        if path is not None:
            online = ConvolutionalDictionaryLearning.load(online.save(path))
        online.partial_fit(_CDL_X[1:] * c)
    return est, online


@settings(deadline=None, max_examples=5)
@given(e=_EXPONENT)
def test_convolutional_learning_is_scale_invariant(e):
    """CDL (batch ``fit`` and ``partial_fit``) learns on ``X / s``: ``c·X`` gives the atoms of
    ``X``, ``alpha_`` times ``c`` and the objective times ``c²``, over the floating range."""
    c = 10.0 ** e
    for ref, est in zip(_cdl(1.0), _cdl(c), strict=True):
        np.testing.assert_allclose(est.components_, ref.components_, atol=1e-9)
        assert est.alpha_ == pytest.approx(c * ref.alpha_, rel=1e-12)
        np.testing.assert_allclose([h["objective"] / c / c for h in est.history_],
                                   [h["objective"] for h in ref.history_], rtol=1e-9)


def test_convolutional_learning_keeps_its_scale_through_save_and_load(tmp_path):
    """The scale is in the model file: ``partial_fit`` after ``load`` continues on ``X / s``."""
    c = 2.0 ** 400
    ref, got = _cdl(1.0)[1], _cdl(c, tmp_path / "m")[1]
    assert got._state.scale > 2.0 ** 300
    np.testing.assert_array_equal(got.components_, ref.components_)
    assert got.alpha_ == c * ref.alpha_
