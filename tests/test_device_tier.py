"""The device tier: the whole public API on array-api-strict's second device.

``array_api_strict.Device("device1")`` refuses host conversion and mixing devices, as CuPy
does. Every public name of ``dictlearn`` and of its public subpackages and modules is either

- run here on ``device1`` with small inputs (:data:`CASES`): every array it returns must be on
  ``device1`` and equal, within a tolerance, to the NumPy result with the same ``random_state``;
- run on ``device1`` inputs with host output *by design* (:data:`HOST_OUTPUT`: files, figures,
  SciPy-only resampling), each listed in ``docs/index.md`` ("Devices");
- exercised on ``device1`` inside another case (:data:`COVERED_BY`), or
- not an array function at all (:data:`NOT_ARRAY`: constants, registries, warnings, result and
  parameter containers).

:func:`test_every_public_name_has_a_device_case` fails for a new public name in none of these.
"""

from __future__ import annotations

import dataclasses
import importlib
import io
import math
import warnings

import numpy as np
import pytest

xs = pytest.importorskip("array_api_strict")

import dictlearn as dl  # noqa: E402
from dictlearn import amortized, coding, learning, metrics, objectives, prox, signal  # noqa: E402
from dictlearn.datasets import make_sparse_problem  # noqa: E402

DEV = xs.Device("device1")
CPU = xs.Device("CPU_DEVICE")

#: Modules whose ``__all__`` the tier covers.
MODULES = ("dictlearn", "dictlearn.coding", "dictlearn.learning", "dictlearn.amortized",
           "dictlearn.signal", "dictlearn.metrics", "dictlearn.datasets", "dictlearn.prox",
           "dictlearn.objectives", "dictlearn.anomaly", "dictlearn.estimators",
           "dictlearn.plotting", "dictlearn.kernels")

P = make_sparse_problem(40, 8, 12, 2, random_state=0)
X0, D0, Z0 = P.X, P.dictionary, P.codes
CSC = signal.make_csc_problem(2, 120, 2, 9, n_events=3, random_state=0)
FAST = {"max_iter": 2, "random_state": 0}


def _np(a):
    return a


def _dev(a):
    return xs.asarray(a, device=DEV)


def _lista(put, xp, **kw):
    return dl.LISTA(put(D0), 3, max_epochs=2, random_state=0, **kw).fit(put(X0), put(Z0))


def _sae(put, sparsity, dead=None):
    kw = {"k": 3} if sparsity == "topk" else {}
    return dl.SparseAutoencoder(12, sparsity=sparsity, dead_latents=dead, max_epochs=3,
                                batch_size=16, random_state=0, **kw).fit(put(X0))


def _sae_resampled(put):
    """24 top-1 units on 40 signals: some never fire, and are resampled (on the device, by
    ``weighted_choice``) after the first epoch."""
    sae = dl.SparseAutoencoder(24, sparsity="topk", k=1, dead_latents="resample", max_epochs=3,
                               batch_size=16, random_state=0).fit(put(X0))
    return sae.transform(put(X0)), sae.components_


def _dl(put, method):
    # online: FISTA codes here (its default, the lasso by coordinate descent, runs on device1
    # in the online_dictionary_learning and dict_learning cases; its sweeps are slow there)
    kw = {"alpha": 0.3, "coding_method": "fista"} if method == "online" else {}
    est = dl.DictionaryLearning(12, method=method, max_iter=2, random_state=0, **kw)
    est.fit(put(X0))
    Z = est.transform(put(X0))
    part = dl.DictionaryLearning(12, method=method, random_state=0, **kw).partial_fit(put(X0))
    # a model file is host NumPy; the loaded model codes device1 signals on device1
    return (est.components_, Z, est.inverse_transform(Z), part.components_,
            _saved(est).transform(put(X0)))


def _saved(est):
    buf = io.BytesIO()
    est.save(buf)
    buf.seek(0)
    return type(est).load(buf)


def _frames(put):
    x = put(CSC.X[0, 0])
    fd = dl.signal.FrameDecomposition(16, n_atoms=6, n_nonzero_coefs=2, max_iter=3,
                                      random_state=0).fit(x)
    codes = fd.transform(x)
    return fd.components_, codes.codes, fd.inverse_transform(codes)


def _cdl(put):
    est = signal.ConvolutionalDictionaryLearning(2, 9, max_iter=2, random_state=0)
    est.fit(put(CSC.X))
    Z = est.transform(put(CSC.X))
    return est.components_, Z, est.inverse_transform(Z)


def _detector(put):
    det = dl.SparseOutlierDetector(dl.SparseCoder(put(D0), method="omp", n_nonzero_coefs=2))
    det.fit(put(X0))
    return det.score_samples(put(X0)), det.predict(put(X0)), det.decision_function(put(X0))


def _compare(put):
    net = _lista(put, None)
    sae = _sae(put, "l1")
    t = dl.compare_inference(put(X0), put(D0), ["ista", "fista", "omp", net, sae],
                             Z_true=put(Z0), iterations=[1, 3], repeat=1, batch_sizes=[50])
    keys = ("nmse_db", "recon_nmse_db", "objective", "l0", "support_f1")
    return [[r[k] for k in keys] for r in t.rows]


#: name → ``case(put, xp)``; ``put`` places a NumPy array on the backend under test.
CASES = {
    # ----------------------------------------------------------------- coding
    "sparse_encode": lambda p, xp: dl.sparse_encode(p(X0), p(D0), method="fista", alpha=0.1,
                                                    max_iter=20),
    "fista": lambda p, xp: dl.fista(p(X0), p(D0), alpha=0.1, max_iter=20).codes,
    "ista": lambda p, xp: dl.ista(p(X0), p(D0), alpha=0.1, max_iter=20).codes,
    "lasso": lambda p, xp: dl.lasso(p(X0), p(D0), alpha=0.1).codes,
    "omp": lambda p, xp: dl.omp(p(X0), p(D0), n_nonzero_coefs=2).codes,
    "iht": lambda p, xp: dl.iht(p(X0), p(D0), n_nonzero_coefs=2, max_iter=20).codes,
    "proximal_gradient": lambda p, xp: coding.proximal_gradient(p(X0), p(D0), alpha=0.1,
                                                                max_iter=20).codes,
    "proximal_step": lambda p, xp: coding.proximal_step(
        p(X0 @ D0.T), p(Z0), p(np.eye(12) - D0 @ D0.T / 4), 0.05, prox.soft_threshold, xp=xp),
    "SparseCoder": lambda p, xp: dl.SparseCoder(p(D0), method="omp",
                                                n_nonzero_coefs=2).fit_transform(p(X0)),
    "lasso_duality_gap": lambda p, xp: dl.lasso_duality_gap(p(X0), p(D0), p(Z0), alpha=0.1),
    "lasso_objective": lambda p, xp: dl.lasso_objective(p(X0), p(D0), p(Z0), alpha=0.1),
    "lipschitz_constant": lambda p, xp: dl.lipschitz_constant(p(D0)),
    # ----------------------------------------------------------------- learning
    "DictionaryLearning": lambda p, xp: [_dl(p, m) for m in
                                         ("online", "mod", "ksvd", "olshausen_field")],
    "dict_learning": lambda p, xp: dl.dict_learning(p(X0[:16]), 12, alpha=0.3,
                                                    **FAST).dictionary,
    "mod": lambda p, xp: learning.mod(p(X0), 12, n_nonzero_coefs=2, **FAST).dictionary,
    "ksvd": lambda p, xp: learning.ksvd(p(X0), 12, n_nonzero_coefs=2, **FAST).dictionary,
    "online_dictionary_learning": lambda p, xp: learning.online_dictionary_learning(
        p(X0), 12, alpha=0.3, batch_size=16, **FAST).dictionary,
    "olshausen_field": lambda p, xp: learning.olshausen_field(
        p(X0), 12, batch_size=16, **FAST).dictionary,
    "init_dictionary": lambda p, xp: learning.init_dictionary(p(X0), 12, random_state=0, xp=xp),
    "resample_atoms": lambda p, xp: learning.resample_atoms(
        p(D0), p(X0), p(Z0 * 0.5), p(np.arange(12) % 3 == 0), random_state=0, xp=xp),
    "dead_atom_mask": lambda p, xp: learning.dead_atom_mask(p(D0), p(Z0), xp=xp,
                                                            max_coherence=0.5),
    "project_atoms": lambda p, xp: learning.project_atoms(p(X0[:12]), positive=True, xp=xp),
    "check_atoms_constraint": lambda p, xp: learning.check_atoms_constraint(p(D0), xp=xp),
    "mod_update": lambda p, xp: learning.mod_update(p(D0), p(X0), p(Z0), xp=xp),
    "ksvd_update": lambda p, xp: learning.ksvd_update(p(D0), p(X0), p(Z0), xp=xp),
    "bcd_update": lambda p, xp: learning.bcd_update(p(D0), p(Z0.T @ Z0 + np.eye(12)),
                                                    p(Z0.T @ X0), xp=xp),
    "cauchy_encode": lambda p, xp: learning.cauchy_encode(p(X0), p(D0), max_iter=20).codes,
    # ----------------------------------------------------------------- amortized
    "LISTA": lambda p, xp: [(lambda n: (n.transform(p(X0)), n.inverse_transform(p(Z0)),
                                        _saved(n).transform(p(X0))))(
        _lista(p, xp, variant=v)) for v in ("lista", "cp", "ss", "alista", "step")],
    "SparseAutoencoder": lambda p, xp: [(lambda s: (s.transform(p(X0)), s.components_,
                                                    _saved(s).transform(p(X0))))(
        _sae(p, sp, dead)) for sp in ("l1", "kl", "topk", "wta", "lifetime")
        for dead in (None, "resample", "auxk")] + [_sae_resampled(p)],
    "compare_inference": lambda p, xp: _compare(p),
    "alista_weight": lambda p, xp: amortized.alista_weight(p(D0)),
    "alista_lipschitz": lambda p, xp: amortized.alista_lipschitz(p(D0)),
    # ----------------------------------------------------------------- anomaly, metrics
    "SparseOutlierDetector": lambda p, xp: _detector(p),
    "code_statistics": lambda p, xp: dl.anomaly.code_statistics(
        p(X0), p(Z0), p(Z0 @ D0), p(np.full(12, 0.2)), floor=1e-12),
    "babel": lambda p, xp: metrics.babel(p(D0), 3),
    "dead_atoms": lambda p, xp: metrics.dead_atoms(p(Z0)),
    "dictionary_recovery": lambda p, xp: metrics.dictionary_recovery(p(D0[::-1]), p(D0)),
    "l0_norm": lambda p, xp: metrics.l0_norm(p(Z0)),
    "mutual_coherence": lambda p, xp: metrics.mutual_coherence(p(D0)),
    "nmse_db": lambda p, xp: metrics.nmse_db(p(Z0 * 1.1), p(Z0)),
    "support_recovery": lambda p, xp: metrics.support_recovery(p(Z0), p(Z0)),
    # ----------------------------------------------------------------- datasets
    "make_sparse_problem": lambda p, xp: dataclasses.astuple(
        make_sparse_problem(10, dictionary=p(D0), snr_db=20, random_state=1)),
    "make_csc_problem": lambda p, xp: dataclasses.astuple(signal.make_csc_problem(
        2, 60, atoms=p(CSC.atoms), n_events=2, snr_db=20, random_state=1)),
    "sparse_problem_sampler": lambda p, xp: dl.datasets.sparse_problem_sampler(
        p(D0), n_nonzero_coefs=2)(5, np.random.default_rng(0)),
    # ----------------------------------------------------------------- objectives
    "cauchy_penalty": lambda p, xp: objectives.cauchy_penalty(p(Z0), 0.1, xp=xp),
    "cauchy_prior_grad": lambda p, xp: objectives.cauchy_prior_grad(p(Z0), 0.3, xp=xp),
    "code_mse": lambda p, xp: objectives.code_mse(p(Z0 * 0.9), p(Z0), xp=xp),
    "gap_direct": lambda p, xp: objectives.gap_direct(p(X0), p(D0), p(Z0), 0.1, False, xp),
    "gap_gram": lambda p, xp: objectives.gap_gram(
        p(np.sum(X0 * X0, axis=1)), p(X0 @ D0.T), p(D0 @ D0.T), p(Z0), 0.1, False, xp),
    "gap_residual": lambda p, xp: objectives.gap_residual(
        p(X0), p(X0 - Z0 @ D0), p((X0 - Z0 @ D0) @ D0.T), p(Z0), 0.1, False, xp),
    "kl_penalty": lambda p, xp: objectives.kl_penalty(p(np.abs(Z0) / 4), 0.05, 1.0, xp=xp),
    "l1_penalty": lambda p, xp: objectives.l1_penalty(p(Z0), 0.1, xp=xp),
    "lasso_loss": lambda p, xp: objectives.lasso_loss(p(X0), p(Z0), p(D0), 0.1, xp=xp),
    "lifetime_penalty": lambda p, xp: objectives.lifetime_penalty(p(Z0), 0.1, xp=xp),
    "nmse": lambda p, xp: objectives.nmse(p(Z0 * 0.9), p(Z0), xp=xp),
    "reconstruction_loss": lambda p, xp: objectives.reconstruction_loss(p(X0), p(Z0 @ D0),
                                                                        xp=xp),
    "sample_objective": lambda p, xp: objectives.sample_objective(p(X0), p(D0), p(Z0),
                                                                  alpha=0.1, xp=xp),
    # ----------------------------------------------------------------- prox
    "get_prox": lambda p, xp: prox.get_prox("topk", k=2)(p(Z0), 0.1),
    "hard_threshold": lambda p, xp: prox.hard_threshold(p(Z0), 0.5),
    "nonneg_soft_threshold": lambda p, xp: prox.nonneg_soft_threshold(p(Z0), 0.5),
    "project_nonneg": lambda p, xp: prox.project_nonneg(p(Z0)),
    "project_unit_ball_rows": lambda p, xp: prox.project_unit_ball_rows(p(X0)),
    "project_unit_sphere_rows": lambda p, xp: prox.project_unit_sphere_rows(p(X0)),
    "sigmoid": lambda p, xp: prox.sigmoid(p(Z0), 0.1),
    "soft_threshold": lambda p, xp: prox.soft_threshold(p(Z0), 0.5),
    "support_selection_mask": lambda p, xp: prox.support_selection_mask(p(Z0), 0.1, 0.2),
    "support_selection_soft": lambda p, xp: prox.support_selection_soft(p(Z0), 0.1, 0.2),
    "top_k": lambda p, xp: prox.top_k(p(Z0), 2),
    "top_k_mask": lambda p, xp: prox.top_k_mask(p(Z0), 2),
    "winner_take_all_lifetime": lambda p, xp: prox.winner_take_all_lifetime(p(Z0), 0.1, 0.2),
    # ----------------------------------------------------------------- signal
    "ConvolutionalDictionaryLearning": lambda p, xp: _cdl(p),
    "ConvolutionalSparseCoder": lambda p, xp: signal.ConvolutionalSparseCoder(
        p(CSC.atoms), alpha=0.1, max_iter=20).transform(p(CSC.X)),
    "FrameDecomposition": lambda p, xp: _frames(p),
    "csc_admm": lambda p, xp: signal.csc_admm(p(CSC.X), p(CSC.atoms), max_iter=10).codes,
    "csc_encode": lambda p, xp: signal.csc_encode(p(CSC.X), p(CSC.atoms), max_iter=10),
    "csc_fista": lambda p, xp: signal.csc_fista(p(CSC.X), p(CSC.atoms), max_iter=10).codes,
    "csc_lgcd": lambda p, xp: signal.csc_lgcd(p(CSC.X), p(CSC.atoms), max_iter=5).codes,
    "csc_mp": lambda p, xp: signal.csc_mp(p(CSC.X), p(CSC.atoms), n_nonzero_coefs=3).codes,
    "csc_omp": lambda p, xp: signal.csc_omp(p(CSC.X), p(CSC.atoms), n_nonzero_coefs=3).codes,
    "csc_objective": lambda p, xp: signal.csc_objective(p(CSC.X), p(CSC.atoms), p(CSC.codes),
                                                        alpha=0.1),
    "reconstruct": lambda p, xp: signal.reconstruct(p(CSC.codes), p(CSC.atoms)),
    "learn_conv_dictionary": lambda p, xp: signal.learn_conv_dictionary(
        p(CSC.X), 2, 9, max_iter=2, random_state=0).dictionary,
    "frame": lambda p, xp: signal.frame(p(CSC.X[0, 0]), 16, 8)[0],
    "overlap_add": lambda p, xp: (lambda f: signal.overlap_add(*f))(
        signal.frame(p(CSC.X[0, 0]), 16, 8)),
}

#: Names whose output is host NumPy by design (files, figures, SciPy-only signal work); they
#: take ``device1`` inputs through the one explicit copy ``dictlearn._xp.to_host``.
HOST_OUTPUT = {
    "write_wav": lambda p, xp: np.frombuffer(signal.write_wav(
        io.BytesIO(), p(CSC.X[0, 0] / 10), 8000).getvalue(), dtype=np.uint8),
    "resample": lambda p, xp: signal.resample(p(CSC.X[0, 0]), 2, 3),
    "decompose": lambda p, xp: signal.decompose(p(CSC.X[0, 0]), 1000, n_atoms=2,
                                                atom_length_s=0.009, max_iter=2,
                                                random_state=0).reconstruction,
    "plot_atoms": lambda p, xp: _plot(lambda: dl.plotting.plot_atoms(p(D0), (2, 4))),
    "plot_conv_atoms": lambda p, xp: _plot(lambda: dl.plotting.plot_conv_atoms(p(CSC.atoms))),
    "gabor_r2": lambda p, xp: dl.metrics.gabor_r2(p(D0[:3, :]), (2, 4)),
    "gabor_fraction": lambda p, xp: np.asarray(dl.metrics.gabor_fraction(p(D0[:3, :]), (2, 4),
                                                                        threshold=0.0)),
}

#: Names exercised on ``device1`` inside the named case.
COVERED_BY = {
    "Adam": "LISTA", "SGD": "LISTA", "AdamState": "LISTA", "SGDState": "LISTA",
    "LayerWeights": "LISTA", "train": "SparseAutoencoder", "ComparisonTable": "compare_inference",
    "fit_dictionary": "DictionaryLearning", "learning_step": "DictionaryLearning",
    "start_state": "DictionaryLearning", "alternation_value": "DictionaryLearning",
    "unscale_history": "DictionaryLearning", "finish_step": "DictionaryLearning",
    "next_batch": "DictionaryLearning", "epoch_stop": "DictionaryLearning",
    "CodingStep": "DictionaryLearning", "Updater": "DictionaryLearning",
    "LearningState": "DictionaryLearning", "NoState": "DictionaryLearning",
    "OnlineStatistics": "DictionaryLearning", "OlshausenFieldGains": "DictionaryLearning",
    "UpdaterParams": "DictionaryLearning", "solve_proximal_gradient": "proximal_gradient",
    "LeastSquares": "proximal_gradient", "ConvOperator": "csc_fista", "FrameCodes":
    "FrameDecomposition", "FrameLayout": "frame", "Decomposition": "decompose",
    "write_decomposition": "decompose", "plot_activations": "decompose",
    "ProxMap": "get_prox", "call": "omp", "get_kernel": "omp", "resolve_engine": "omp",
    "compiled_for_loop": "fista",
    "learning": "DictionaryLearning", "metrics": "mutual_coherence",
    "datasets": "make_sparse_problem",
}

#: Names that take no arrays: constants, registries, warnings, containers, file readers and
#: generators of host data from a seed.
NOT_ARRAY = {
    "__version__", "METHODS", "SPECS", "MethodSpec", "MethodTable", "method_spec",
    "register_method", "ConvergenceWarning", "DictlearnWarning", "NonFiniteWarning",
    "TrainingDivergedWarning", "DepthWarning", "Info", "Result", "Status", "LEARNERS",
    "LearnerSpec", "learner_spec", "register_learner", "VARIANTS", "Variant", "CSC_METHODS",
    "SAMPLE_FORMATS", "csc_method_spec", "register_csc_method", "CSCProblem", "Sound",
    "SparseProblem", "PROXES", "STATISTICS", "ENGINES", "KERNELS", "available_kernels",
    "register_kernel", "read_wav", "eeg_sample", "make_sound",
    "sound_atoms", "random_dictionary", "natural_images", "image_patches", "whiten_image",
    "check_cola", "cola_hops", "get_frame_window", "new_figure", "save_figure",
    "plot_nmse_vs_steps", "plot_nmse_vs_time",
}

def _plot(make):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    fig = make()
    import matplotlib.pyplot as plt

    plt.close("all")
    return fig is not None


def _public_names():
    names = set()
    for m in MODULES:
        names |= set(importlib.import_module(m).__all__)
    return names


def test_every_public_name_has_a_device_case():
    listed = [set(CASES), set(HOST_OUTPUT), set(COVERED_BY), NOT_ARRAY]
    missing = _public_names() - set().union(*listed)
    assert not missing, f"public names without a device case in tests/test_device_tier.py: " \
                        f"{sorted(missing)}"
    for i, a in enumerate(listed):
        for b in listed[i + 1:]:
            assert not a & b, sorted(a & b)
    assert set(COVERED_BY.values()) <= set(CASES) | set(HOST_OUTPUT)


def _leaves(o):
    """Array and number leaves of a result, in a fixed order."""
    if hasattr(o, "__array_namespace__"):
        yield o
    elif isinstance(o, (bool, int, float, np.floating, np.integer, np.bool_)):
        yield o
    elif isinstance(o, dict):
        for k in sorted(o, key=str):
            yield from _leaves(o[k])
    elif isinstance(o, (list, tuple)):
        for v in o:
            yield from _leaves(v)
    elif dataclasses.is_dataclass(o):
        for f in dataclasses.fields(o):
            yield from _leaves(getattr(o, f.name))


def _host(a):
    return np.asarray(a.to_device(CPU)) if isinstance(a, xs._array_object.Array) else a


@pytest.fixture(autouse=True)
def _reference_engine(monkeypatch):
    """NumPy on the Array-API reference path, the one every other backend takes (numba
    kernels only run on NumPy inputs; their agreement with it is tested in test_kernels.py):
    the device results must then match the NumPy ones to rounding."""
    monkeypatch.setenv("DICTLEARN_DISABLE_NUMBA", "1")


def _run(table, name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = list(_leaves(table[name](_np, np)))
        out = list(_leaves(table[name](_dev, xs)))
    assert len(out) == len(ref) and ref, name
    return ref, out


def _close(name, ref, out):
    for i, (r, o) in enumerate(zip(ref, out, strict=True)):
        if isinstance(r, (float, np.floating)) and math.isnan(r):
            assert math.isnan(float(o)), (name, i)
            continue
        r, o = np.asarray(r, dtype=np.float64), np.asarray(_host(o), dtype=np.float64)
        assert o.shape == r.shape, (name, i)
        scale = max(1.0, float(np.max(np.abs(r), initial=0.0)))
        np.testing.assert_allclose(o, r, rtol=1e-6, atol=1e-7 * scale, err_msg=f"{name}[{i}]")


@pytest.mark.parametrize("name", sorted(CASES))
def test_public_name_runs_on_device1_and_matches_numpy(name):
    ref, out = _run(CASES, name)
    for i, o in enumerate(out):
        if hasattr(o, "__array_namespace__"):
            assert isinstance(o, xs._array_object.Array) and o.device == DEV, (name, i)
    _close(name, ref, out)


@pytest.mark.parametrize("name", sorted(HOST_OUTPUT))
def test_host_output_names_take_device1_inputs(name):
    ref, out = _run(HOST_OUTPUT, name)
    _close(name, ref, out)


def test_a_model_fitted_on_one_device_follows_the_data_to_another():
    """Fitted on the CPU device, applied on device1 (and back): the weights move to the data."""
    cpu_X = xs.asarray(X0, device=CPU)
    net = dl.LISTA(xs.asarray(D0, device=CPU), 2, max_epochs=1, random_state=0).fit(cpu_X)
    sae = dl.SparseAutoencoder(12, max_epochs=2, random_state=0).fit(cpu_X)
    for model in (net, sae):
        out = model.transform(_dev(X0))
        assert out.device == DEV
        np.testing.assert_allclose(_host(out), _host(model.transform(cpu_X)), atol=1e-12)
