"""Dictionary learners: ground-truth recovery, monotone dictionary steps, constraints, the
dead-atom policy, backends and bad input."""

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dictlearn.datasets import make_sparse_problem
from dictlearn.learning import (
    bcd_update,
    check_atoms_constraint,
    ksvd,
    ksvd_update,
    mod,
    mod_update,
    online_dictionary_learning,
    resample_atoms,
)
from dictlearn.metrics import dictionary_recovery
from tests._helpers import asxp, tonp


@pytest.fixture(scope="module")
def truth():
    """Noise-free signals from a random 64×128 dictionary with 3-sparse codes."""
    return make_sparse_problem(4000, 64, 128, 3, random_state=0)


# ------------------------------------------------------------------ ground truth recovery


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_ksvd_recovers_dictionary(truth, seed):
    res = ksvd(truth.X, 128, n_nonzero_coefs=3, max_iter=40, random_state=seed)
    assert dictionary_recovery(res.dictionary, truth.dictionary) >= 0.95


@pytest.mark.slow
def test_approximate_ksvd_recovers_dictionary(truth):
    res = ksvd(truth.X, 128, n_nonzero_coefs=3, approximate=True, max_iter=60, tol=0,
               random_state=1)
    assert dictionary_recovery(res.dictionary, truth.dictionary) >= 0.95


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_mod_recovers_dictionary(truth, seed):
    res = mod(truth.X, 128, n_nonzero_coefs=3, max_iter=60, tol=0, random_state=seed)
    assert dictionary_recovery(res.dictionary, truth.dictionary) >= 0.95


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 2])
def test_online_recovers_dictionary(truth, seed):
    res = online_dictionary_learning(truth.X, 128, coding_method="omp", n_nonzero_coefs=3,
                                     forget_factor=30.0, max_iter=400, random_state=seed)
    assert dictionary_recovery(res.dictionary, truth.dictionary) >= 0.95


def test_recovery_fails_for_random_dictionary(truth):
    """The metric can fail: an untrained random dictionary matches (almost) nothing."""
    rng = np.random.default_rng(3)
    assert dictionary_recovery(rng.standard_normal((128, 64)), truth.dictionary) < 0.05


# ------------------------------------------------------------------ objective decreases


def test_ksvd_objective_decreases(truth):
    res = ksvd(truth.X[:1000], 128, n_nonzero_coefs=3, max_iter=8, tol=0, random_state=0)
    obj = [h["objective"] for h in res.history]
    assert obj[-1] < 0.5 * obj[0]
    # OMP is greedy, so allow a little slack per iteration, but no real increase
    assert all(b <= a * 1.02 for a, b in itertools.pairwise(obj))


def test_online_objective_decreases_within_noise(truth):
    res = online_dictionary_learning(truth.X, 128, alpha=0.05, max_iter=120, batch_size=128,
                                     coding_options={"tol": 1e-3}, random_state=0)
    obj = np.array([h["objective"] for h in res.history])
    assert obj[-10:].mean() < 0.6 * obj[:5].mean()


@given(n=st.integers(5, 40), k=st.integers(2, 12), m=st.integers(2, 10),
       seed=st.integers(0, 10_000), approximate=st.booleans())
def test_ksvd_sweep_never_increases_error(n, k, m, seed, approximate):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, m))
    D = rng.standard_normal((k, m))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    Z = rng.standard_normal((n, k)) * (rng.random((n, k)) < 0.4)
    D1, Z1 = ksvd_update(D, X, Z, approximate=approximate, xp=np)
    before = np.sum((X - Z @ D) ** 2)
    after = np.sum((X - Z1 @ D1) ** 2)
    assert after <= before * (1 + 1e-10) + 1e-12
    assert np.array_equal(Z1 != 0, (Z != 0) & (Z1 != 0))  # supports only shrink
    assert np.allclose(np.linalg.norm(D1, axis=1), 1.0)


@given(n=st.integers(5, 40), k=st.integers(2, 8), m=st.integers(2, 10),
       seed=st.integers(0, 10_000))
def test_mod_step_is_least_squares(n, k, m, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, m))
    D = rng.standard_normal((k, m))
    Z = rng.standard_normal((n, k))
    D1, Z1 = mod_update(D, X, Z, xp=np)
    D_ls = np.linalg.lstsq(Z, X, rcond=None)[0]
    assert np.sum((X - Z1 @ D1) ** 2) <= np.sum((X - Z @ D_ls) ** 2) * (1 + 1e-8) + 1e-10
    assert np.sum((X - Z1 @ D1) ** 2) <= np.sum((X - Z @ D) ** 2) + 1e-10
    assert np.allclose(np.linalg.norm(D1, axis=1), 1.0)


def _surrogate(D, A, B):
    return 0.5 * np.trace(D.T @ A @ D) - np.trace(D.T @ B)


@given(k=st.integers(2, 10), m=st.integers(2, 10), seed=st.integers(0, 10_000),
       constraint=st.sampled_from(["ball", "sphere"]), positive=st.booleans())
def test_bcd_decreases_surrogate_and_engines_agree(k, m, seed, constraint, positive):
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((30, k))
    X = rng.standard_normal((30, m))
    A, B = Z.T @ Z, Z.T @ X
    D = np.abs(rng.standard_normal((k, m))) if positive else rng.standard_normal((k, m))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    ref = bcd_update(D, A, B, constraint=constraint, positive=positive, engine="reference",
                     xp=np)
    fast = bcd_update(D, A, B, constraint=constraint, positive=positive, engine="numba", xp=np)
    np.testing.assert_allclose(fast, ref, rtol=1e-10, atol=1e-12)
    assert check_atoms_constraint(ref, constraint=constraint, positive=positive, xp=np)
    if constraint == "ball":  # BCD on a convex set never increases the surrogate
        assert _surrogate(ref, A, B) <= _surrogate(D, A, B) + 1e-9


# ------------------------------------------------------------------ constraints every update


@pytest.mark.parametrize("learner,kw", [
    (ksvd, {"n_nonzero_coefs": 3}),
    (ksvd, {"n_nonzero_coefs": 3, "approximate": True}),
    (mod, {"n_nonzero_coefs": 3}),
    (mod, {"coding_method": "fista", "alpha": 0.05, "constraint": "ball"}),
    (online_dictionary_learning, {"alpha": 0.05, "batch_size": 64}),
    (online_dictionary_learning, {"alpha": 0.05, "batch_size": 64, "constraint": "sphere"}),
    (online_dictionary_learning, {"alpha": 0.05, "batch_size": 64, "positive_dict": True,
                                  "positive_code": True}),
    (ksvd, {"coding_method": "fista", "alpha": 0.05, "positive_dict": True,
            "positive_code": True}),
    (mod, {"coding_method": "fista", "alpha": 0.05, "positive_dict": True,
           "positive_code": True}),
])
def test_constraints_hold_after_every_update(learner, kw):
    p = make_sparse_problem(300, 16, 24, 3, positive=kw.get("positive_dict", False),
                            random_state=1)
    X = np.abs(p.X) if kw.get("positive_dict") else p.X
    constraint = kw.get("constraint", "ball" if learner is online_dictionary_learning
                        else "sphere")
    seen = []

    def cb(info):
        seen.append(check_atoms_constraint(info.dictionary, constraint=constraint,
                                           positive=kw.get("positive_dict", False), xp=np))

    res = learner(X, 24, max_iter=6, random_state=0, callback=cb, **kw)
    assert len(seen) == res.n_iter == 6 and all(seen)
    if kw.get("positive_code") and res.codes is not None:
        assert np.all(res.codes >= 0)


# ------------------------------------------------------------------ dead atoms


def test_dead_atom_is_resampled_from_worst_signal_and_reported():
    rng = np.random.default_rng(0)
    D = np.eye(4)[:3] * 1.0  # atoms e0, e1, e2 in R^4
    X = np.vstack([rng.standard_normal((20, 3)) @ D, [[0.0, 0.0, 0.0, 5.0]]])
    Z = np.hstack([X[:, :3], np.zeros((21, 1))])
    D4 = np.vstack([D, [[0.0, 0.6, 0.8, 0.0]]])  # atom 3 is unused
    dead = np.array([False, False, False, True])
    D_new, n = resample_atoms(D4, X, Z, dead, random_state=0, xp=np)
    assert n == 1
    np.testing.assert_allclose(D_new[3], [0, 0, 0, 1.0])  # the worst residual, normalised
    np.testing.assert_array_equal(D_new[:3], D)


def test_learner_reports_resampled_atoms():
    p = make_sparse_problem(200, 8, 6, 2, random_state=0)
    init = np.vstack([p.dictionary[:5], p.dictionary[:1]])  # a duplicate atom
    res = mod(p.X, 6, n_nonzero_coefs=2, init=init, max_iter=3, random_state=0)
    assert res.history[0]["n_resampled"] >= 1
    assert res.state.n_resampled == sum(h["n_resampled"] for h in res.history)
    C = np.abs(res.dictionary @ res.dictionary.T) - np.eye(6)
    assert C.max() < 0.99


# ------------------------------------------------------------------ backends and dtypes


@pytest.mark.parametrize("learner,kw", [
    (ksvd, {"coding_method": "fista", "alpha": 0.05}),
    (ksvd, {"coding_method": "fista", "alpha": 0.05, "approximate": True}),
    (mod, {"coding_method": "fista", "alpha": 0.05}),
    (online_dictionary_learning, {"alpha": 0.05, "batch_size": 40, "engine": "reference",
                                  "coding_method": "fista"}),
])
def test_backends_agree_and_keep_dtype(xp, dtype_name, learner, kw):
    p = make_sparse_problem(120, 8, 10, 2, random_state=2)
    X = asxp(xp, p.X, dtype_name)
    # the same Array-API coding on both backends (on NumPy, "auto" would pick the numba FISTA,
    # whose codes agree with it only to the coding tolerance)
    kw = {**kw, "coding_options": {"engine": "reference"}}
    res = learner(X, 10, max_iter=3, random_state=0, **kw)
    assert type(res.dictionary) is type(X)
    assert res.dictionary.dtype == X.dtype
    ref = learner(p.X.astype(dtype_name), 10, max_iter=3, random_state=0, **kw)
    tol = 1e-8 if dtype_name == "float64" else 2e-3
    np.testing.assert_allclose(tonp(res.dictionary), ref.dictionary, atol=tol, rtol=tol)


def test_input_not_mutated():
    p = make_sparse_problem(100, 8, 10, 2, random_state=0)
    X = p.X.copy()
    X.flags.writeable = False
    init = p.dictionary.copy()
    init.flags.writeable = False
    ksvd(X, 10, coding_method="fista", alpha=0.05, init=init, max_iter=2)
    online_dictionary_learning(X, 10, alpha=0.05, init=init, batch_size=20, max_iter=3)
    np.testing.assert_array_equal(X, p.X)
    np.testing.assert_array_equal(init, p.dictionary)


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize("call,err,match", [
    (lambda X: ksvd(X, 0, n_nonzero_coefs=2), ValueError, "n_atoms"),
    (lambda X: mod(X, 10, n_nonzero_coefs=11), ValueError, "n_nonzero_coefs"),
    (lambda X: mod(X, 10), ValueError, "n_nonzero_coefs"),
    (lambda X: online_dictionary_learning(X, 10, alpha=-1.0), ValueError, "alpha"),
    (lambda X: online_dictionary_learning(X, 10, coding_method="nope"), ValueError,
     "coding_method"),
    (lambda X: online_dictionary_learning(X, 10, batch_size=0), ValueError, "batch_size"),
    (lambda X: online_dictionary_learning(X, 10, forget_factor=-2.0), ValueError,
     "forget_factor"),
    (lambda X: mod(X, 10, n_nonzero_coefs=2, constraint="cube"), ValueError, "constraint"),
    (lambda X: mod(X, 10, n_nonzero_coefs=2, dead_atoms="zombie"), ValueError, "dead_atoms"),
    (lambda X: mod(X, 10, n_nonzero_coefs=2, init=np.ones((3, 3))), ValueError, "init"),
    (lambda X: mod(X[:, :, None], 10, n_nonzero_coefs=2), ValueError, "2-D"),
    (lambda X: mod(np.where(X > 1, np.nan, X), 10, n_nonzero_coefs=2), ValueError, "NaN"),
    (lambda X: mod(np.zeros_like(X), 10, n_nonzero_coefs=2), ValueError, "all zeros"),
    (lambda X: mod(X, 10, n_nonzero_coefs=2, random_state="a"), TypeError, "random_state"),
])
def test_bad_input(call, err, match):
    X = make_sparse_problem(50, 8, 10, 2, random_state=0).X
    with pytest.raises(err, match=match):
        call(X)


@given(n=st.integers(1, 30), k=st.integers(1, 12), m=st.integers(1, 8),
       density=st.floats(0.0, 1.0), beta=st.floats(0.0, 1.0), seed=st.integers(0, 10_000))
def test_sparse_kernels_match_dense_reference(n, k, m, density, beta, seed):
    from dictlearn.kernels import call

    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, k)) * (rng.random((n, k)) < density)
    X, D = rng.standard_normal((n, m)), rng.standard_normal((k, m))
    A0, B0 = rng.standard_normal((k, k)), rng.standard_normal((k, m))
    A0c, B0c = A0.copy(), B0.copy()
    A, B = call("code_statistics", "numba", np, A0, B0, Z, X, beta=beta)
    np.testing.assert_allclose(A, beta * A0 + Z.T @ Z, atol=1e-12)
    np.testing.assert_allclose(B, beta * B0 + Z.T @ X, atol=1e-12)
    np.testing.assert_array_equal(A0, A0c)  # inputs untouched
    np.testing.assert_array_equal(B0, B0c)
    np.testing.assert_allclose(call("codes_times_dictionary", "numba", np, Z, D), Z @ D,
                               atol=1e-12)


# ------------------------------------------------------------------ registries


def test_coding_methods_carry_their_metadata():
    import dictlearn

    expect = {  # name: (penalty, greedy, iterative, numba kernel)
        "ista": ("l1", False, True, True), "fista": ("l1", False, True, True),
        "lasso": ("l1", False, False, True), "lasso_cd": ("l1", False, False, True),
        "omp": ("l0", True, False, True), "iht": ("l0", False, True, True),
        "cauchy": ("cauchy", False, True, False),
    }
    assert set(expect) <= set(dictlearn.METHODS)
    for name, (penalty, greedy, iterative, numba) in expect.items():
        spec = dictlearn.method_spec(name)
        assert spec.fn is dictlearn.METHODS[name]
        assert (spec.penalty, spec.greedy, spec.iterative) == (penalty, greedy, iterative)
        assert ("numba" in spec.backends) == numba and "array-api" in spec.backends
        assert spec.accepts("max_iter") and spec.accepts(spec.budget)
        assert not spec.accepts("n_nonzero_coefs" if penalty != "l0" else "alpha")
    assert dictlearn.method_spec("lasso_cd").name == "lasso"
    with pytest.raises(ValueError, match="method must be one of"):
        dictlearn.method_spec("lars")
    with pytest.raises(ValueError, match="penalty"):
        dictlearn.register_method("x", penalty="l2")


def test_learners_are_registered_with_their_defaults():
    from dictlearn.learning import LEARNERS, DictionaryLearning, UpdaterParams, learner_spec

    assert set(LEARNERS) == {"online", "olshausen_field", "mod", "ksvd"}
    table = {n: (s.coding_method, s.max_iter, s.alpha, s.constraint, s.minibatch)
             for n, s in LEARNERS.items()}
    assert table == {"online": ("lasso", 1000, 1.0, "ball", True),
                     "olshausen_field": ("cauchy", 2000, 0.022, "sphere", True),
                     "mod": ("omp", 50, 1.0, "sphere", False),
                     "ksvd": ("omp", 50, 1.0, "sphere", False)}
    for spec in LEARNERS.values():
        upd = spec.build(UpdaterParams(spec.constraint))
        assert isinstance(upd, spec.updater) and upd.minibatch == spec.minibatch
    upd = learner_spec("ksvd").build(UpdaterParams("ball", approximate=True, positive_dict=True))
    assert (upd.constraint, upd.approximate, upd.positive) == ("ball", True, True)
    with pytest.raises(ValueError, match="method must be one of"):
        DictionaryLearning(4, method="sgd").fit(np.eye(4))
