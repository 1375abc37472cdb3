"""SparseOutlierDetector: scikit-learn's outlier-detector contract, and each statistic finds the
anomaly it is meant to find."""

from __future__ import annotations

import numpy as np
import pytest

from dictlearn import DictionaryLearning, SparseAutoencoder, SparseCoder
from dictlearn.anomaly import STATISTICS, SparseOutlierDetector, code_statistics

sklearn = pytest.importorskip("sklearn")
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

pytestmark = pytest.mark.usefixtures("single_threaded_blas")


@parametrize_with_checks([
    SparseOutlierDetector(random_state=0),
    SparseOutlierDetector(DictionaryLearning(alpha=0.1, max_iter=5, batch_size=20),
                          random_state=0),
    SparseOutlierDetector(SparseAutoencoder(4, sparsity="topk", k=1, max_epochs=3),
                          weights={"residual": 1.0, "rarity": 0.5}, random_state=0),
])
def test_sklearn_check_estimator(estimator, check):
    check(estimator)


def _planted(rng, n=400, n_features=20, n_atoms=32):
    """Normal signals use 3 of atoms 0..15 with N(0, 1) weights; the atoms 16..31 exist in the
    dictionary but normal data never use them."""
    D = rng.standard_normal((n_atoms, n_features))
    D /= np.linalg.norm(D, axis=1, keepdims=True)

    def draw(m, atoms, scale=1.0):
        Z = np.zeros((m, n_atoms))
        for i in range(m):
            Z[i, rng.choice(atoms, 3, replace=False)] = scale * rng.standard_normal(3)
        return Z @ D

    return D, draw


def _auc(det, normal, odd, weights):
    det.set_params(weights=weights)
    s = -np.concatenate([det.score_samples(normal), det.score_samples(odd)])
    return roc_auc_score(np.r_[np.zeros(len(normal)), np.ones(len(odd))], s)


def test_each_statistic_detects_its_anomaly():
    rng = np.random.default_rng(0)
    D, draw = _planted(rng)
    common = np.arange(16)
    det = SparseOutlierDetector(SparseCoder(D, method="omp", n_nonzero_coefs=3)).fit(
        draw(400, common))
    normal = draw(200, common)
    rare_atoms = draw(100, np.arange(16, 32))  # in the span, exactly 3-sparse: only rarity
    off_span = draw(100, common) + 0.3 * rng.standard_normal((100, 20))
    assert _auc(det, normal, rare_atoms, {"rarity": 1.0}) > 0.95
    assert _auc(det, normal, rare_atoms, {"residual": 1.0}) < 0.7  # OMP fits them too
    assert _auc(det, normal, off_span, {"residual": 1.0}) > 0.95
    big = draw(100, common, scale=4.0)
    assert _auc(det, normal, big, {"l1": 1.0}) > 0.9
    # the default rule (all four, equal weights) finds both kinds of anomaly
    assert _auc(det, normal, np.vstack([rare_atoms, off_span]), None) > 0.9


def test_lasso_code_size_detects_off_span_signals():
    rng = np.random.default_rng(1)
    D, draw = _planted(rng)
    det = SparseOutlierDetector(SparseCoder(D, alpha=0.05)).fit(draw(300, np.arange(16)))
    normal = draw(200, np.arange(16))
    odd = draw(100, np.arange(16)) + 0.3 * rng.standard_normal((100, 20))
    # a lasso code of an off-span signal spreads over many atoms
    assert _auc(det, normal, odd, {"l0": 1.0}) > 0.9


def test_contamination_sets_the_share_of_training_outliers():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((300, 6))
    for c in (0.05, 0.2):
        det = SparseOutlierDetector(DictionaryLearning(6, alpha=0.1, max_iter=20, batch_size=50),
                                    contamination=c, random_state=0)
        y = det.fit_predict(X)
        assert set(np.unique(y)) == {-1, 1} and y.dtype.kind == "i"
        assert abs(np.mean(y == -1) - c) <= 2 / 300
        np.testing.assert_allclose(det.decision_function(X),
                                   det.score_samples(X) - det.offset_)


def test_weights_after_fit_equal_a_refit():
    """The centres and scales do not depend on the weights: set_params(weights) on a fitted
    detector scores as a detector fitted with those weights."""
    rng = np.random.default_rng(3)
    X, Y = rng.standard_normal((120, 5)), rng.standard_normal((30, 5))
    w = {"residual": 2.0, "l1": 0.5}
    a = SparseOutlierDetector(random_state=0).fit(X).set_params(weights=w)
    b = SparseOutlierDetector(weights=w, random_state=0).fit(X)
    np.testing.assert_allclose(a.score_samples(Y), b.score_samples(Y), rtol=1e-12)
    assert set(a.center_) == set(STATISTICS) == set(a.scale_)
    assert all(s > 0 for s in a.scale_.values())


@pytest.mark.parametrize("kw, match", [
    ({"contamination": 0.0}, r"contamination must be in \(0, 0.5\]; got 0.0"),
    ({"contamination": 0.7}, r"contamination must be in \(0, 0.5\]"),
    ({"contamination": "auto"}, r"contamination must be in \(0, 0.5\]; got 'auto'"),
    ({"weights": {"residual": -1.0}}, "weights must be finite, >= 0"),
    ({"weights": {"l2": 1.0}}, r"weights has unknown keys \['l2'\]"),
    ({"weights": {"l0": 0.0}}, "not all 0"),
])
def test_bad_parameters_name_themselves(kw, match):
    with pytest.raises(ValueError, match=match):
        SparseOutlierDetector(**kw).fit(np.random.default_rng(0).standard_normal((20, 3)))


def test_bad_coder_and_unfitted():
    with pytest.raises(TypeError, match="coder must have fit and transform methods"):
        SparseOutlierDetector(object()).fit(np.ones((5, 2)))
    with pytest.raises(TypeError, match="weights must be a dict"):
        SparseOutlierDetector(weights=[1.0]).fit(np.ones((5, 2)))
    with pytest.raises(NotFittedError, match="not fitted yet"):
        SparseOutlierDetector().score_samples(np.ones((5, 2)))
    det = SparseOutlierDetector(random_state=0).fit(np.random.default_rng(0).normal(size=(30, 4)))
    with pytest.raises(ValueError, match="X has 3 features, but SparseOutlierDetector is "
                                         "expecting 4 features"):
        det.predict(np.ones((2, 3)))


def test_float32_kept_and_inputs_unchanged():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((80, 6)).astype(np.float32)
    X0 = X.copy()
    D = rng.standard_normal((8, 6))
    det = SparseOutlierDetector(SparseCoder(D, alpha=0.1, tol=1e-4)).fit(X)
    s = det.score_samples(X)
    assert s.dtype == np.float32 and det.predict(X).shape == (80,)
    np.testing.assert_array_equal(X, X0)


def test_array_api_strict_on_its_second_device():
    xs = pytest.importorskip("array_api_strict")
    rng = np.random.default_rng(5)
    D = rng.standard_normal((10, 6))
    X, Y = rng.standard_normal((40, 6)), rng.standard_normal((10, 6))
    ref = SparseOutlierDetector(SparseCoder(D, method="omp", n_nonzero_coefs=2)).fit(X)
    dev = xs.Device("device1")
    Xs, Ys = xs.asarray(X, device=dev), xs.asarray(Y, device=dev)
    det = SparseOutlierDetector(SparseCoder(D, method="omp", n_nonzero_coefs=2)).fit(Xs)
    s, y = det.score_samples(Ys), det.predict(Ys)
    assert s.device == dev and y.device == dev
    cpu = xs.Device("CPU_DEVICE")
    np.testing.assert_allclose(np.asarray(xs.asarray(s, device=cpu)), ref.score_samples(Y),
                               rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(np.asarray(xs.asarray(y, device=cpu)), ref.predict(Y))
    assert det.offset_ == pytest.approx(ref.offset_)


def test_code_statistics_by_hand():
    X = np.array([[1.0, 2.0], [0.0, 0.0]])
    Z = np.array([[1.0, -2.0, 0.0], [0.0, 0.0, 0.0]])
    X_hat = np.array([[1.0, 0.0], [0.0, 0.0]])
    p = np.array([0.5, 0.25, 0.1])
    s = code_statistics(X, Z, X_hat, p, floor=1e-12)
    np.testing.assert_allclose(s["residual"], np.log([4.0 / 2 + 1e-12, 1e-12]))
    np.testing.assert_allclose(s["l0"], [2, 0])
    np.testing.assert_allclose(s["l1"], [3, 0])
    nll = -np.log([0.5 * 0.25 * 0.9, 0.5 * 0.75 * 0.9])
    np.testing.assert_allclose(s["rarity"], nll)


def _lista_step(D):
    from dictlearn import LISTA

    return LISTA(D, 3, variant="step", alpha=0.05, max_epochs=2, random_state=0)


def _sklearn_minibatch(D):
    from sklearn.decomposition import MiniBatchDictionaryLearning

    return MiniBatchDictionaryLearning(16, alpha=0.05, max_iter=1, batch_size=100,
                                       random_state=0)


@pytest.mark.parametrize("make", [_lista_step, _sklearn_minibatch], ids=["LISTA", "sklearn"])
def test_other_coders_find_off_span_signals(make):
    """Any estimator with fit/transform (and inverse_transform or components_) is a coder."""
    rng = np.random.default_rng(6)
    D, draw = _planted(rng)
    det = SparseOutlierDetector(make(D), random_state=0).fit(draw(300, np.arange(16)))
    normal = draw(100, np.arange(16))
    odd = draw(50, np.arange(16)) + 0.5 * rng.standard_normal((50, 20))
    assert np.all(np.isfinite(det.score_samples(normal)))
    assert _auc(det, normal, odd, {"residual": 1.0}) > 0.9
