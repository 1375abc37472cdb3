"""DictionaryLearning: scikit-learn conformance, partial_fit, save/load, progress, bad input."""

import zipfile

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from dictlearn import DictionaryLearning, dict_learning
from dictlearn.datasets import make_sparse_problem
from dictlearn.learning import online_dictionary_learning


@parametrize_with_checks([
    DictionaryLearning(5, alpha=0.1, max_iter=5, batch_size=20, random_state=0),
    DictionaryLearning(4, method="ksvd", n_nonzero_coefs=2, max_iter=3, random_state=0),
])
def test_sklearn_check_estimator(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def prob():
    return make_sparse_problem(400, 12, 16, 2, random_state=0)


@pytest.mark.parametrize("method,kw", [
    ("online", {"alpha": 0.05, "batch_size": 50}),
    ("olshausen_field", {"alpha": 0.01, "sigma": 0.3, "batch_size": 50}),
    ("mod", {"n_nonzero_coefs": 2}),
    ("ksvd", {"n_nonzero_coefs": 2}),
    ("ksvd", {"n_nonzero_coefs": 2, "approximate": True}),
])
def test_fit_transform_inverse(prob, method, kw):
    est = DictionaryLearning(16, method=method, max_iter=8, random_state=0, **kw)
    Z = est.fit_transform(prob.X)
    assert Z.shape == (400, 16) and est.components_.shape == (16, 12)
    assert est.n_iter_ == len(est.history_) == 8
    assert np.all(np.isfinite(est.components_))
    R = prob.X - est.inverse_transform(Z)
    # the learned model explains most of the energy
    assert np.sum(R**2) < 0.5 * np.sum(prob.X**2)
    # the function and the estimator share one path
    res = dict_learning(prob.X, 16, method=method, max_iter=8, random_state=0, **kw)
    np.testing.assert_allclose(res.dictionary, est.components_)


def test_function_and_estimator_online_agree(prob):
    est = DictionaryLearning(16, alpha=0.05, batch_size=50, max_iter=10, tol=0,
                             random_state=3).fit(prob.X)
    res = online_dictionary_learning(prob.X, 16, alpha=0.05, batch_size=50, max_iter=10,
                                     random_state=3)
    np.testing.assert_allclose(est.components_, res.dictionary)


@pytest.mark.parametrize("method,kw,record", [
    ("online", {"alpha": 0.05, "batch_size": 50}, "OnlineStatistics"),
    ("olshausen_field", {"alpha": 0.01, "sigma": 0.3, "batch_size": 50}, "OlshausenFieldGains"),
    ("ksvd", {"n_nonzero_coefs": 2}, "NoState"),
])
def test_learner_states_are_typed_frozen_records_saved_field_by_field(method, kw, record, prob):
    import dataclasses
    import io

    est = DictionaryLearning(16, method=method, max_iter=2, random_state=0, **kw).fit(prob.X)
    state = est._state
    assert type(state.aux).__name__ == record
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.n_iter = 0
    buf = io.BytesIO()
    est.save(buf)
    buf.seek(0)
    back = DictionaryLearning.load(buf)._state.aux
    assert type(back) is type(state.aux)
    for f in dataclasses.fields(state.aux):
        np.testing.assert_array_equal(getattr(back, f.name), getattr(state.aux, f.name))


def test_partial_fit_save_load_resume(tmp_path, prob):
    batches = [prob.X[i * 50:(i + 1) * 50] for i in range(6)]
    a = DictionaryLearning(16, alpha=0.05, random_state=0)
    for b in batches:
        a.partial_fit(b)
    b_est = DictionaryLearning(16, alpha=0.05, random_state=0)
    for b in batches[:3]:
        b_est.partial_fit(b)
    path = b_est.save(tmp_path / "model")
    assert path.endswith(".npz")
    c = DictionaryLearning.load(path)
    assert c._state.aux.t == 3
    np.testing.assert_array_equal(c.components_, b_est.components_)
    np.testing.assert_array_equal(c._state.aux.A, b_est._state.aux.A)
    for b in batches[3:]:
        c.partial_fit(b)
    assert a.n_resampled_ == c.n_resampled_
    np.testing.assert_allclose(c.components_, a.components_, rtol=1e-10, atol=1e-12)
    assert c.n_iter_ == a.n_iter_ == 6
    assert c.get_params()["alpha"] == 0.05


def test_save_load_round_trip_every_method(tmp_path, prob):
    for method, kw in [("online", {"alpha": 0.05}), ("ksvd", {"n_nonzero_coefs": 2}),
                       ("olshausen_field", {"alpha": 0.01})]:
        est = DictionaryLearning(16, method=method, max_iter=3, batch_size=50,
                                 random_state=np.random.default_rng(0), **kw).fit(prob.X)
        est2 = DictionaryLearning.load(est.save(tmp_path / f"{method}.npz"))
        np.testing.assert_array_equal(est2.components_, est.components_)
        np.testing.assert_allclose(est2.transform(prob.X[:20]), est.transform(prob.X[:20]))
        assert est2.history_[-1]["objective"] == pytest.approx(est.history_[-1]["objective"])
        assert est2.method == method


def test_load_refuses_damaged_and_foreign_files(tmp_path, prob):
    est = DictionaryLearning(16, alpha=0.05, max_iter=2, batch_size=50).fit(prob.X)
    good = est.save(tmp_path / "good.npz")
    raw = open(good, "rb").read()
    (tmp_path / "trunc.npz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="damaged"):
        DictionaryLearning.load(tmp_path / "trunc.npz")
    np.savez(tmp_path / "foreign.npz", a=np.ones(3))
    with pytest.raises(ValueError, match="not a dictlearn model"):
        DictionaryLearning.load(tmp_path / "foreign.npz")
    np.save(tmp_path / "arr.npy", np.ones(3))
    with pytest.raises(ValueError, match="not a dictlearn model"):
        DictionaryLearning.load(tmp_path / "arr.npy")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(ValueError, match="damaged or not a dictlearn"):
        DictionaryLearning.load(tmp_path / "text.npz")
    with pytest.raises(FileNotFoundError):
        DictionaryLearning.load(tmp_path / "missing.npz")
    # a newer format version is refused with a clear message
    with zipfile.ZipFile(good) as z:
        entries = {n: z.read(n) for n in z.namelist()}
    from io import BytesIO

    buf = BytesIO()
    np.save(buf, np.array(99, dtype=np.int64))
    entries["__version__.npy"] = buf.getvalue()
    with zipfile.ZipFile(tmp_path / "v99.npz", "w") as z:
        for n, data in entries.items():
            z.writestr(n, data)
    with pytest.raises(ValueError, match="format version 99"):
        DictionaryLearning.load(tmp_path / "v99.npz")
    # object arrays (pickles) are never loaded
    np.savez(tmp_path / "pickled.npz", __format__=np.array("dictlearn.DictionaryLearning"),
             __version__=np.array(1), params=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError):
        DictionaryLearning.load(tmp_path / "pickled.npz")


def test_verbose_progress_and_callback_stop(prob, capsys):
    calls = []

    def cb(info):
        calls.append(info.iteration)
        return info.iteration == 3

    est = DictionaryLearning(16, alpha=0.05, batch_size=50, max_iter=20, callback=cb,
                             verbose=True).fit(prob.X)
    assert calls == [1, 2, 3] and est.n_iter_ == 3
    err = capsys.readouterr().err
    assert "online" in err and "3/20" in err


def test_float32_preserved(prob):
    X = prob.X.astype(np.float32)
    est = DictionaryLearning(16, alpha=0.05, batch_size=50, max_iter=3).fit(X)
    assert est.components_.dtype == np.float32
    assert est.transform(X).dtype == np.float32


@pytest.mark.parametrize("kw,match", [
    ({"n_atoms": 0}, "n_atoms"),
    ({"n_atoms": -3}, "n_atoms"),
    ({"method": "pca"}, "method"),
    ({"alpha": -1.0}, "alpha"),
    ({"method": "ksvd", "n_nonzero_coefs": 99}, "n_nonzero_coefs"),
    ({"batch_size": 0}, "batch_size"),
    ({"tol": -1.0}, "tol"),
])
def test_bad_parameters(prob, kw, match):
    params = {"n_atoms": 16, "max_iter": 2, **kw}
    with pytest.raises(ValueError, match=match):
        DictionaryLearning(**params).fit(prob.X)


def test_bad_data(prob):
    X = prob.X.copy()
    X[3, 4] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        DictionaryLearning(16, max_iter=2).fit(X)
    with pytest.raises(ValueError, match="all zeros"):
        DictionaryLearning(16, max_iter=2).fit(np.zeros((20, 12)))
    est = DictionaryLearning(16, alpha=0.05, max_iter=2, batch_size=50).fit(prob.X)
    with pytest.raises(ValueError, match="features"):
        est.transform(prob.X[:, :5])
    with pytest.raises(ValueError, match="features"):
        est.partial_fit(prob.X[:, :5])
