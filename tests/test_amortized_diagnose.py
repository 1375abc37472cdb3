"""After fit: per-layer validation losses, the DepthWarning, the per-layer loss option, and
the small-input checks of the amortized estimators."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from dictlearn import LISTA, SparseAutoencoder
from dictlearn.amortized import DepthWarning
from dictlearn.amortized.diagnose import check_layers
from dictlearn.amortized.unrolled import unrolled_forward
from dictlearn.datasets import make_sparse_problem
from dictlearn.objectives import code_mse

pytestmark = pytest.mark.usefixtures("single_threaded_blas")


def test_check_layers_reports_worse_than_untrained_growth_and_nonfinite():
    assert check_layers([0.5, 0.3, 0.2], [0.6, 0.5, 0.4]) == []
    assert check_layers([0.5, 0.3, 0.32], [0.6, 0.5, 0.4]) == []  # within the 10 % margin
    (p,) = check_layers([0.5, 0.3, 0.45], [0.6, 0.5, 0.4])
    assert p.layer == 3 and p.grows_with_depth and p.worse_than_untrained
    (p,) = check_layers([0.7, 0.3], [0.6, 0.5])
    assert p.layer == 1 and p.worse_than_untrained and not p.grows_with_depth
    assert [p.layer for p in check_layers([0.5, math.nan, 0.2], [0.6, 0.5, 0.4])] == [2]


@pytest.fixture(scope="module")
def small():
    return make_sparse_problem(600, 16, 64, 2, snr_db=30, random_state=0)


def test_fit_records_layer_losses_and_warns_when_training_made_layers_worse(small):
    p = small
    with warnings.catch_warnings():
        warnings.simplefilter("error", DepthWarning)
        net = LISTA(p.dictionary, 6, variant="alista", alpha=0.1, max_epochs=5, random_state=0,
                    learning_rate=0.1).fit(p.X, p.codes)
    tr, un = net.layer_losses_["trained"], net.layer_losses_["untrained"]
    assert len(tr) == len(un) == 6 and all(t < u for t, u in zip(tr, un, strict=False))
    # the figures are those of the network on its validation rows (re-computed here)
    rows = np.random.default_rng(0).permutation(600)[:60]
    Zs = net.transform_layers(p.X[rows])
    assert np.allclose(tr, [code_mse(Z, p.codes[rows], xp=np)[0] for Z in Zs])
    # a learning rate far too large: the output ends worse than untrained; with the loss on
    # the last layer only, only the output is judged (the earlier layers owe nothing)
    with pytest.warns(DepthWarning, match=r"after training, layer 6: worse than untrained "
                      r".*Validation mse loss per layer: trained \[.*\], untrained \[.*"
                      r"learning_rate \(now 0.3") as rec:
        LISTA(p.dictionary, 6, variant="alista", alpha=0.1, max_epochs=5, random_state=0,
              learning_rate=0.3).fit(p.X, p.codes)
    assert "layer 1:" not in str(rec[0].message)
    # with the loss on every layer, every layer is judged
    with pytest.warns(DepthWarning, match=r"after training, layer 1: worse than untrained"):
        LISTA(p.dictionary, 6, variant="alista", alpha=0.1, max_epochs=5, random_state=0,
              learning_rate=0.3, layer_loss="all").fit(p.X, p.codes)


def test_layer_loss_all_is_the_mean_over_layers_with_its_gradient(small):
    p = small
    X, T = p.X[:20], p.codes[:20]
    net = LISTA(p.dictionary, 4, variant="cp", alpha=0.1, layer_loss="all").initialize(X)
    rng = np.random.default_rng(1)
    from dictlearn.amortized.variants import flatten, unflatten
    flat = {k: v * (1 + 0.1 * rng.standard_normal(v.shape)) for k, v in
            flatten(net.params_).items()}
    w = unflatten(net.params_, flat)
    val, g = net._loss_and_grads(w, X, T, "mse", 4, np)
    Zs, _ = unrolled_forward(X, net._layers(w), D=net.D_, xp=np)
    assert np.isclose(val, np.mean([code_mse(Z, T, xp=np)[0] for Z in Zs]))
    h = 1e-6
    for key in flat:
        U = rng.standard_normal(flat[key].shape)
        f = [net._loss_and_grads(unflatten(w, {key: flat[key] + s * h * U}), X, T, "mse", 4,
                                 np)[0] for s in (1, -1)]
        assert np.isclose(np.sum(g[key] * U), (f[0] - f[1]) / (2 * h), rtol=1e-5, atol=1e-9)


def test_layer_loss_all_trains_every_layer(small):
    p = small
    kw = dict(variant="cp", alpha=0.1, max_epochs=4, random_state=0)
    last = LISTA(p.dictionary, 5, **kw).fit(p.X, p.codes)
    every = LISTA(p.dictionary, 5, layer_loss="all", **kw).fit(p.X, p.codes)
    # the intermediate layers are better when the loss sees them
    assert every.layer_losses_["trained"][1] < last.layer_losses_["trained"][1]
    with pytest.raises(ValueError, match="layer_loss"):
        LISTA(p.dictionary, 2, layer_loss="first").fit(p.X, p.codes)


@pytest.mark.parametrize("make", [
    lambda D: LISTA(D, 2, max_epochs=1),
    lambda D: SparseAutoencoder(8, sparsity="topk", k=2, max_epochs=1),
])
def test_one_sample_fit_is_refused_unless_there_is_no_validation(make):
    p = make_sparse_problem(1, 8, 16, 2, random_state=0)
    with pytest.raises(ValueError, match=r"validation_fraction=0.1 needs at least 2 samples"):
        make(p.dictionary).fit(p.X, p.codes) if isinstance(make(p.dictionary), LISTA) else \
            make(p.dictionary).fit(p.X)
    est = make(p.dictionary).set_params(validation_fraction=0.0)
    est.fit(p.X, p.codes) if isinstance(est, LISTA) else est.fit(p.X)
    assert all(math.isnan(h["val_loss"]) for h in est.history_)


def test_lista_feature_count_errors_name_lista(small):
    p = small
    net = LISTA(p.dictionary, 2).initialize(p.X)
    for call in (lambda: net.transform(p.X[:, :5]), lambda: LISTA(p.dictionary, 2).fit(p.X[:, :5]),
                 lambda: net.inverse_transform(p.codes[:, :3])):
        with pytest.raises(ValueError, match="LISTA is expecting") as e:
            call()
        assert "SparseCoder" not in str(e.value)


def test_l1_alpha_saturates_under_adam_but_not_below_its_range():
    """The documented range of SparseAutoencoder's alpha: with Adam (scale-invariant steps),
    alpha = 1e3 and 1e12 give the same codes (to 1e-3); below ~1 a larger alpha gives sparser
    codes."""
    p = make_sparse_problem(500, 16, 32, 3, positive=True, random_state=0)

    def codes(alpha, opt="adam"):
        sae = SparseAutoencoder(32, sparsity="l1", alpha=alpha, max_epochs=6, random_state=0,
                                optimizer=opt).fit(p.X)
        return sae.transform(p.X)

    big, huge = codes(1e3), codes(1e12)
    assert np.mean((big != 0) != (huge != 0)) < 1e-3 and np.allclose(big, huge, atol=1e-3)
    l0 = [np.mean(np.sum(codes(a) != 0, axis=1)) for a in (0.0, 0.1, 1.0)]
    assert l0[0] > l0[1] > l0[2]


def test_layerwise_warm_start_copies_the_trained_previous_layer(small):
    p = small
    from dictlearn.amortized.variants import LayerWeights

    w = tuple(LayerWeights(gamma=np.array([g]), theta=np.array([t]))
              for g, t in ((0.9, 0.1), (0.5, 0.3), (0.5, 0.3)))
    warm = LISTA(p.dictionary, 3, variant="alista", layerwise=True, layerwise_init="previous")
    out = warm._start_layer(w, 2)
    assert out[1] is w[0] and out[0] is w[0] and out[2] is w[2]
    assert warm._start_layer(w, 1) == w
    cold = LISTA(p.dictionary, 3, variant="alista", layerwise=True)
    assert cold._start_layer(w, 2) == w
    net = LISTA(p.dictionary, 3, variant="alista", layerwise=True, layerwise_init="previous",
                max_epochs=1, random_state=0).fit(p.X, p.codes)
    assert len(net.layer_losses_["trained"]) == 3
    with pytest.raises(ValueError, match="layerwise_init"):
        LISTA(p.dictionary, 2, layerwise_init="next").fit(p.X, p.codes)
