r"""The LISTA family: K unrolled proximal-gradient steps with learned weights.

Every layer is the shared step ``Z_{k+1} = η_{θ_k}(X W_k + Z_k S_k)`` from ``Z_0 = 0``; the
variants (``lista``, ``cp``, ``ss``, ``alista``, ``step``) differ only in what is learned, and
each is a small :class:`~dictlearn.amortized.variants.Variant` object in the table
:data:`~dictlearn.amortized.variants.VARIANTS` (its learned weights, their initialisation,
its layer and its gradients). Initialised from the dictionary (``W = Dᵀ/L``,
``S = I − D Dᵀ/L``, ``θ = α/L``, ``γ = 1/L``) the ``lista``, ``cp`` and ``step`` networks
compute exactly K iterations of ISTA; ALISTA starts from ``γ = 1`` and ``θ = α/L`` as in the
reference code of Liu et al. (its ``W̃`` has ``w̃_iᵀ d_i = 1``, so ``γ = 1`` is a unit step
along each atom).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from types import ModuleType
from typing import Any

import numpy as np

from .._base import BaseEstimator, TransformerMixin, keep_fit_on_error, store_params
from .._io import load_model, restore_trained, save_model, trained_meta, trained_params
from .._linalg import spectral_norm_sq
from .._loop import Status, warn_status
from .._validation import (
    as_array,
    check_array,
    check_choice,
    check_nonneg_scalar,
    check_positive_int,
)
from .._xp import check_random_state, get_namespace, to_host, to_namespace
from ..objectives import code_mse, lasso_loss, nmse
from ..prox import PROXES, get_prox
from ._common import check_training, split_rows, take_rows
from .alista import alista_lipschitz, alista_weight, warn_if_not_unit_norm
from .diagnose import warn_layers
from .optim import get_optimizer
from .train import train
from .unrolled import Layer, unrolled_forward, unrolled_vjp
from .variants import VARIANTS, LayerWeights, Shared, flatten, unflatten

__all__ = ["LISTA", "VARIANTS", "alista_lipschitz", "alista_weight"]

#: Training reads the batch losses and tests for divergence every this many steps (and at the
#: end of each epoch), not at every step: see :func:`~dictlearn.amortized.train.train`.
_CHECK_EVERY = 16

#: The maps a ``lista``/``cp``/``step`` layer may use: the row-wise proximal maps without
#: parameters of the one prox table.
_PROXES = tuple(n for n, m in PROXES.items() if m.is_prox and not m.needs and not m.batchwise)


class LISTA(TransformerMixin, BaseEstimator):
    """Learned ISTA and its variants, trained on codes or on the lasso objective.

    Parameters
    ----------
    dictionary : array of shape (n_atoms, n_features)
        The dictionary ``D`` (atoms as rows) the network is initialised from.
    n_layers : int, default=16
        Number of unrolled steps ``K``.
    variant : {"lista", "cp", "ss", "alista", "step"}, default="lista"
        See the module docstring.
    alpha : float, default=0.1
        l1 weight: sets the initial thresholds ``α/L`` and the unsupervised loss.
    prox : {"soft", "nonneg_soft", "hard"}, default="soft"
        The layers' map for ``lista``, ``cp`` and ``step`` (``ss`` and ``alista`` use the soft
        threshold with support selection).
    loss : {"auto", "mse", "nmse", "lasso"}, default="auto"
        ``"auto"``: code MSE when ``fit`` gets ``Z_target`` (supervised), the mean lasso
        objective otherwise (unsupervised, Ablin et al. 2019).
    optimizer : {"adam", "sgd"} or an optimiser object, default="adam"
    learning_rate : float, default=1e-3
    batch_size : int, default=64
    max_epochs : int, default=50
        Epochs (per stage with ``layerwise=True``).
    layer_loss : {"last", "all"}, default="last"
        Where the loss is measured: on the output of the last (trained) layer only, or the mean
        of the losses of every layer's output, for users who read intermediate layers
        (``transform(X, n_layers=k)``): the last-layer loss gives no guarantee on them.
    layerwise : bool, default=False
        Train in K stages, stage ``k`` fitting the loss at the output of layer ``k`` (the
        progressive protocol of Chen et al. 2018). With ``max_epochs >= 3`` each stage is
        split in thirds as in that paper: the new layer alone at ``learning_rate``, then all
        layers at 0.2 and 0.02 times it; each phase starts a fresh optimiser over only the
        weights it trains (as the reference code does), and ``n_iter_no_change`` applies per
        phase.
    layerwise_init : {"dictionary", "previous"}, default="dictionary"
        With ``layerwise=True``: stage ``k`` starts its new layer from the dictionary (as the
        reference code does) or from the trained layer ``k − 1`` (a warm start: a new layer
        need not travel from the initial step and threshold to the trained ones with Adam's
        bounded steps).
    support_fraction, support_max : float or "auto", default="auto"
        Support selection: layer ``k`` (from 1) trusts ``min(k·p, p_max)`` of each code's
        entries. Chen et al. (2018) use p = 1.2 %, p_max = 13 % for codes with 10 % nonzeros;
        ``"auto"`` scales these to the share ``s`` of nonzeros of ``Z_target``
        (``p = 0.12 s``, ``p_max = 1.3 s``; the paper's values without ``Z_target``). Trusting
        more entries than the codes have passes noise unshrunk: on 5-sparse codes of 256 atoms
        the paper's values make the error grow with depth after layer 6.
    validation_fraction, n_iter_no_change, tol, divergence_retries, verbose, callback
        Those of the training loop :func:`~dictlearn.amortized.train.train` (held-out share
        of rows, early stopping, restarts after divergence, progress line, per-epoch callback).
    random_state : None, int or Generator

    Attributes
    ----------
    support_fraction_, support_max_ : float
        The support-selection shares used (``"auto"`` resolved).
    params_ : tuple of LayerWeights
        The learned weights, one typed record per layer (``params_[k].W``, ``.S``,
        ``.theta``, ``.gamma``; ``None`` where the variant does not learn one).
    status_ : Status
        ``converged`` (early stopping), ``max_iter_reached``, ``stopped`` or ``diverged``.
    layer_losses_ : dict
        ``"trained"`` and ``"untrained"``: the validation loss (the training rows when there is
        no validation set) after each layer, of the trained network and of its initialisation.
        A :class:`~dictlearn.amortized.diagnose.DepthWarning` with these figures is raised when
        a trained layer is worse than untrained or than an earlier layer.
    history_ : list of dict
        ``epoch``, ``train_loss``, ``val_loss`` (and ``stage``) per epoch.
    n_epochs_ : int
    components_ : array of shape (n_atoms, n_features)
        The dictionary.

    Notes
    -----
    A layer is ``Z_{k+1} = η_{θ_k}(X W_k + Z_k S_k)``; the gradients are the hand-written
    vector-Jacobian products of :mod:`dictlearn.coding.step` and
    :mod:`dictlearn.prox`, chained by :mod:`dictlearn.amortized.unrolled`.

    References
    ----------
    Gregor & LeCun (2010), Learning fast approximations of sparse coding, ICML.
    Chen, Liu, Wang & Yin (2018), Theoretical linear convergence of unfolded ISTA and its
    practical weights and thresholds, NeurIPS.
    Liu, Chen, Wang & Yin (2019), ALISTA, ICLR.
    Ablin, Moreau, Massias & Gramfort (2019), Learning step sizes for unfolded sparse coding,
    NeurIPS.

    Examples
    --------
    >>> import numpy as np, dictlearn
    >>> from dictlearn.datasets import make_sparse_problem
    >>> p = make_sparse_problem(200, 16, 32, 2, random_state=0)
    >>> untrained = dictlearn.LISTA(p.dictionary, n_layers=4, alpha=0.05).initialize(p.X)
    >>> Z = untrained.transform(p.X)
    >>> ref = dictlearn.ista(p.X, p.dictionary, alpha=0.05, max_iter=4, tol=0).codes
    >>> bool(np.allclose(Z, ref))
    True
    >>> net = dictlearn.LISTA(p.dictionary, n_layers=4, alpha=0.05, max_epochs=20,
    ...                       random_state=0).fit(p.X, p.codes)
    >>> bool(dictlearn.metrics.nmse_db(net.transform(p.X), p.codes)
    ...      < dictlearn.metrics.nmse_db(Z, p.codes))
    True
    """

    def __init__(self, dictionary: Any, n_layers: int = 16, *, variant: str = "lista",
                 alpha: float = 0.1, prox: str = "soft", loss: str = "auto",
                 optimizer: Any = "adam", learning_rate: float = 1e-3, batch_size: int = 64,
                 max_epochs: int = 50, layer_loss: str = "last", layerwise: bool = False,
                 layerwise_init: str = "dictionary", validation_fraction: float = 0.1,
                 n_iter_no_change: int | None = 5, tol: float = 1e-4,
                 support_fraction: float | str = "auto", support_max: float | str = "auto",
                 divergence_retries: int = 0, random_state: Any = None, verbose: bool = False,
                 callback: Callable[..., Any] | None = None) -> None:
        store_params(self, locals())

    # ------------------------------------------------------------------ setup
    def _check_params(self) -> None:
        check_positive_int(self.n_layers, "n_layers")
        check_choice(self.variant, "variant", set(VARIANTS))
        check_choice(self.prox, "prox", set(_PROXES))
        check_choice(self.loss, "loss", {"auto", "mse", "nmse", "lasso"})
        check_choice(self.layer_loss, "layer_loss", {"last", "all"})
        check_choice(self.layerwise_init, "layerwise_init", {"dictionary", "previous"})
        check_nonneg_scalar(self.alpha, "alpha")
        for name in ("support_fraction", "support_max"):
            if getattr(self, name) != "auto":
                check_nonneg_scalar(getattr(self, name), name, upper=1)
        check_training(self.batch_size, self.max_epochs, self.n_iter_no_change, self.tol,
                       self.learning_rate)
        if self.divergence_retries:
            check_positive_int(self.divergence_retries, "divergence_retries")

    def _validate_X(self, X: Any) -> tuple[ModuleType, Any, Any]:
        """``X`` checked against the dictionary, and the dictionary moved next to ``X``."""
        D = check_array(self.dictionary, "dictionary", owner="LISTA", atoms=True)
        X = check_array(X, "X", owner="LISTA", n_features=int(D.shape[1]))
        xp = get_namespace(X)
        return xp, X, to_namespace(D, xp, X)

    @staticmethod
    def _codes(Z: Any, name: str, shape: tuple, xp: ModuleType, like: Any) -> Any:
        """Target codes (n_samples, n_atoms), moved next to ``like`` (host arrays: once)."""
        return check_array(to_namespace(as_array(Z, name), xp, like), name, like=like,
                           shape=shape)

    def _shared(self, D: Any, xp: ModuleType, *, L: float | None = None,
                W_tilde: Any = None) -> Shared:
        """What every layer shares; ``L`` and ALISTA's ``W̃`` are computed when not given."""
        if L is None:
            L = spectral_norm_sq(D, xp=xp)
        L_tilde = None
        if VARIANTS[self.variant].analytic_weight:
            warn_if_not_unit_norm(D)
            if W_tilde is None:
                W_tilde = to_namespace(alista_weight(D), xp, D)
            L_tilde = alista_lipschitz(D, W_tilde)
        fractions = tuple(min((k + 1) * self.support_fraction_, self.support_max_)
                          for k in range(self.n_layers))
        return Shared(D, float(L), float(self.alpha), get_prox(self.prox), fractions, W_tilde,
                      L_tilde)

    def _resolve_support(self, share: float | None) -> None:
        """``support_fraction_``, ``support_max_``: the given values, or with ``"auto"`` Chen
        et al.'s 1.2 % and 13 % scaled by ``share / 10 %`` (unscaled when ``share`` is None)."""
        scale = 1.0 if share is None else share / 0.1
        self.support_fraction_ = (min(1.0, 0.012 * scale) if self.support_fraction == "auto"
                                  else float(self.support_fraction))
        self.support_max_ = (min(1.0, 0.13 * scale) if self.support_max == "auto"
                             else float(self.support_max))

    def _set_network(self, shared: Shared, weights: tuple[LayerWeights, ...]) -> None:
        self.D_, self._net, self.params_ = shared.D, shared, weights

    def initialize(self, X: Any) -> LISTA:
        """Set the weights from the dictionary without training (K ISTA steps for ``lista``,
        ``cp`` and ``step``); ``X`` gives the array library, dtype and device."""
        self._check_params()
        xp, X, D = self._validate_X(X)
        self._resolve_support(None)
        shared = self._shared(D, xp)
        self._set_network(shared, self._init_weights(shared, xp))
        self.status_ = Status.max_iter_reached
        self.history_ = []
        self.n_epochs_ = 0
        return self

    def _init_weights(self, shared: Shared, xp: ModuleType) -> tuple[LayerWeights, ...]:
        return (VARIANTS[self.variant].init(shared, xp),) * self.n_layers

    # ------------------------------------------------------------------ network
    def _layers(self, weights: tuple[LayerWeights, ...], n: int | None = None,
                shared: Shared | None = None) -> list[Layer]:
        s = self._net if shared is None else shared
        xp = get_namespace(s.D)
        v = VARIANTS[self.variant]
        return [v.layer(weights[i], s, i, xp) for i in range(self.n_layers if n is None else n)]

    def _loss(self, supervised: bool) -> str:
        if self.loss == "auto":
            return "mse" if supervised else "lasso"
        if self.loss in ("mse", "nmse") and not supervised:
            raise ValueError(f"loss={self.loss!r} needs Z_target in fit(X, Z_target)")
        return self.loss

    def _loss_value_grad(self, kind, Zk, Xb, Tb, xp, host=True):
        if kind == "lasso":
            return lasso_loss(Xb, Zk, self.D_, float(self.alpha), xp=xp, host=host)
        if kind == "nmse":
            return nmse(Zk, Tb, xp=xp, host=host)
        return code_mse(Zk, Tb, xp=xp, host=host)

    def _phases(self) -> list[tuple[bool, float, int]]:
        """``(new layer only, learning-rate scale, epochs)`` of each phase of a stage."""
        if not (self.layerwise and self.max_epochs >= 3):
            return [(False, 1.0, self.max_epochs)]
        counts = [0, 0, 0]  # thirds of the stage's epochs
        for e in range(1, self.max_epochs + 1):
            counts[min(2, (e - 1) * 3 // self.max_epochs)] += 1
        return [(True, 1.0, counts[0]), (False, 0.2, counts[1]), (False, 0.02, counts[2])]

    def _layer_terms(self, kind, Zs, Xb, Tb, xp, *, value_only=False):
        """The loss (and the gradient per layer) of ``layer_loss``: the last layer's, or the
        mean over layers (``None`` gradients where the loss does not see a layer). The value
        is a float with ``value_only``, else a 0-d array (read on the host by the training
        loop every few steps)."""
        seen = range(len(Zs)) if self.layer_loss == "all" else [len(Zs) - 1]
        val, grads = 0.0, [None] * len(Zs)
        for k in seen:
            v, g = self._loss_value_grad(kind, Zs[k], Xb, Tb, xp, host=value_only)
            val = val + v / len(seen)
            grads[k] = g / len(seen) if len(seen) > 1 else g
        return val if value_only else (val, grads)

    def _loss_and_grads(self, weights, Xb, Tb, kind, n_layers, xp, last_only=False,
                        keys=None) -> tuple[float, dict[tuple[int, str], Any]]:
        """Loss at layer ``n_layers`` (or the mean over layers 1..``n_layers``) and its
        gradient, flat by ``(layer, name)``, for every weight (zeros beyond that layer, and
        before it with ``last_only``) or for ``keys``."""
        lays = self._layers(weights, n_layers)
        Zs, saved = unrolled_forward(Xb, lays, D=self.D_, xp=xp, tape=True)
        val, gs = self._layer_terms(kind, Zs, Xb, Tb, xp)
        first = n_layers - 1 if last_only else 0
        gl = unrolled_vjp(Xb, lays, Zs, saved, gs, D=self.D_, xp=xp, first=first)
        v = VARIANTS[self.variant]
        grads = flatten([v.grads(gl[i], weights[i], self._net, xp) for i in range(first,
                                                                                 n_layers)])
        grads = {(first + i, name): g for (i, name), g in grads.items()}
        flat = flatten(weights)
        return val, {k: grads[k] if k in grads else xp.zeros_like(flat[k])
                     for k in (flat if keys is None else keys)}

    # ------------------------------------------------------------------ fit
    @keep_fit_on_error
    def fit(self, X: Any, Z_target: Any = None, *, sampler: Callable[..., Any] | None = None,
            epoch_size: int | None = None) -> LISTA:
        """Train the network on signals ``X`` (and target codes ``Z_target`` if given).

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        Z_target : array of shape (n_samples, n_atoms), optional
            Supervised training on codes (e.g. the ground truth of a synthetic problem);
            without it the network minimises the lasso objective of its output.
        sampler : callable ``(n, rng) -> (X, Z)`` or ``(n, rng) -> X``, optional
            Train on fresh draws instead (a new mini-batch at every step, the infinite-data
            protocol of Chen et al. 2018; see
            :func:`dictlearn.datasets.sparse_problem_sampler`). ``X`` and ``Z_target`` are
            then the validation set, used whole (``validation_fraction`` is ignored).
        epoch_size : int, optional
            With ``sampler``: samples drawn per epoch (default ``len(X)``).

        Returns
        -------
        self
        """
        self._check_params()
        xp, X, D = self._validate_X(X)
        T = None if Z_target is None else self._codes(
            Z_target, "Z_target", (X.shape[0], D.shape[0]), xp, X)
        kind = self._loss(T is not None)
        self._resolve_support(None if T is None else float(xp.mean(xp.astype(T != 0, X.dtype))))
        shared = self._shared(D, xp)
        weights = self._init_weights(shared, xp)
        self._set_network(shared, weights)
        rng = check_random_state(self.random_state)
        if sampler is not None:
            if not callable(sampler):
                raise TypeError(f"sampler must be callable (n, rng) -> (X, Z); got {sampler!r}")
            n_epoch = int(X.shape[0]) if epoch_size is None else check_positive_int(
                epoch_size, "epoch_size")
            Xtr = Ttr = None
            Xva, Tva = X, T
        else:
            if epoch_size is not None:
                raise ValueError("epoch_size is only used with a sampler")
            tr, va = split_rows(X.shape[0], self.validation_fraction, rng)
            Xtr = take_rows(X, tr, xp)
            Ttr = None if T is None else take_rows(T, tr, xp)
            Xva = None if va is None else take_rows(X, va, xp)
            Tva = None if (va is None or T is None) else take_rows(T, va, xp)
            n_epoch = int(Xtr.shape[0])

        def batch(rows):
            if sampler is None:
                return (take_rows(Xtr, rows, xp),
                        None if Ttr is None else take_rows(Ttr, rows, xp))
            return self._draw(sampler, len(rows), rng, xp, X, T is not None)
        opt = get_optimizer(self.optimizer, self.learning_rate)
        stages = range(1, self.n_layers + 1) if self.layerwise else [self.n_layers]
        history: list[dict] = []
        status, epochs = Status.max_iter_reached, 0
        for stage in stages:
            weights = self._start_layer(weights, stage)
            offset = 0
            for new_only, scale, n_ep in self._phases():
                # the weights this phase trains (the optimiser sees only them, with a fresh
                # state, as in the reference code); the others are held fixed
                trained = flatten(weights, [stage - 1] if new_only else range(stage))

                def lg(p, rows, stage=stage, new_only=new_only, base=weights):
                    Xb, Tb = batch(rows)
                    return self._loss_and_grads(unflatten(base, p), Xb, Tb, kind, stage, xp,
                                                last_only=new_only, keys=p.keys())

                def vl(p, stage=stage, base=weights):
                    Zs, _ = unrolled_forward(Xva, self._layers(unflatten(base, p), stage),
                                             D=D, xp=xp)
                    return self._layer_terms(kind, Zs, Xva, Tva, xp, value_only=True)

                def cb(info, offset=offset, base=weights):
                    return self.callback(replace(info, iteration=offset + info.iteration,
                                                 state=unflatten(base, info.params)))

                res = train(
                    trained, lg, n_samples=n_epoch, optimizer=opt, xp=xp,
                    batch_size=self.batch_size, max_epochs=n_ep, rng=rng,
                    val_loss=None if Xva is None else vl,
                    n_iter_no_change=self.n_iter_no_change, tol=self.tol,
                    callback=None if self.callback is None else cb, verbose=self.verbose,
                    divergence_retries=self.divergence_retries, check_every=_CHECK_EVERY,
                    lr_schedule=None if scale == 1.0 else (lambda e, s=scale: s),
                    name=f"LISTA-{self.variant} layer {stage}/{self.n_layers}"
                    + (" (new layer)" if new_only else f" (lr x{scale:g})" if scale != 1 else ""),
                )
                weights = unflatten(weights, res.params)
                status = res.status
                epochs += res.n_epochs
                history.extend(dict(h, epoch=offset + h["epoch"], stage=stage)
                               for h in res.history)
                offset += res.n_epochs
                if status in (Status.diverged, Status.stopped):
                    break
            if status in (Status.diverged, Status.stopped):
                break
        self._set_network(shared, weights)
        self.status_, self.history_, self.n_epochs_ = status, history, epochs
        warn_status("LISTA", status, detail=f"learning_rate={self.learning_rate}")
        self._check_depth(kind, shared, *((Xva, Tva) if Xva is not None else (Xtr, Ttr)), xp)
        return self

    def _check_depth(self, kind, shared, Xc, Tc, xp) -> None:
        """``layer_losses_`` on the validation rows, and a DepthWarning if a trained layer is
        worse than untrained or than an earlier one."""
        def per_layer(weights):
            Zs, _ = unrolled_forward(Xc, self._layers(weights, shared=shared), D=shared.D, xp=xp)
            return [float(self._loss_value_grad(kind, Z, Xc, Tc, xp)[0]) for Z in Zs]

        self.layer_losses_ = {"trained": per_layer(self.params_),
                              "untrained": per_layer(self._init_weights(shared, xp))}
        advice = ("The loss sees only the last layer: pass layer_loss='all' if you read "
                  "intermediate layers" if self.layer_loss == "last" else "")
        advice = "; ".join(a for a in (
            advice, "train longer or with a smaller learning_rate "
            f"(now {self.learning_rate:g}, {self.n_epochs_} epochs, status "
            f"{self.status_.value})",
            "use layerwise=True" if not self.layerwise else "",
            f"with support selection (variant={self.variant!r}) a support_fraction matched "
            f"to the codes (now {self.support_fraction_:g} per layer, up to "
            f"{self.support_max_:g} of the entries)" if self.variant in ("ss", "alista") else "")
            if a) + "."
        # trained on the last layer's output alone, the earlier layers are free: only the
        # output is judged (layer-wise training and layer_loss="all" judge every layer)
        warn_layers(f"LISTA-{self.variant}", f"{kind} loss", self.layer_losses_["trained"],
                    self.layer_losses_["untrained"], advice=advice,
                    only_last=self.layer_loss == "last" and not self.layerwise, stacklevel=4)

    def _start_layer(self, weights: tuple[LayerWeights, ...],
                     stage: int) -> tuple[LayerWeights, ...]:
        """The weights at the start of layer-wise stage ``stage`` (from 1): with
        ``layerwise_init="previous"``, layer ``stage`` starts as a copy of layer
        ``stage − 1``."""
        if not (self.layerwise and self.layerwise_init == "previous" and stage > 1):
            return weights
        return (*weights[:stage - 1], weights[stage - 2], *weights[stage:])

    def _draw(self, sampler, n, rng, xp, like, supervised):
        """One fresh mini-batch from ``sampler``, checked and moved next to ``like``."""
        out = sampler(n, rng)
        Xb, Zb = (out[0], out[1]) if isinstance(out, tuple) else (out, None)
        Xb = check_array(to_namespace(as_array(Xb, "sampler's X"), xp, like), "sampler's X",
                         like=like, shape=(n, like.shape[1]), axes=None)
        if supervised:
            if Zb is None:
                raise ValueError("supervised training (Z_target given) needs a sampler that "
                                 "returns (X, Z)")
            Zb = self._codes(Zb, "sampler's Z", (n, self.D_.shape[0]), xp, like)
        return Xb, (Zb if supervised else None)

    # ------------------------------------------------------------------ inference
    def _check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise ValueError("this LISTA is not fitted yet: call fit(X) or initialize(X) first")

    def _network_in(self, xp: ModuleType, like: Any) -> tuple[Shared, tuple[LayerWeights, ...]]:
        """The network moved next to ``like`` (host arrays once; the estimator is unchanged)."""
        s = self._net

        def move(a):
            return None if a is None else to_namespace(a, xp, like)

        shared = replace(s, D=move(s.D), W_tilde=move(s.W_tilde))
        return shared, tuple(LayerWeights(**{n: move(v) for n, v in w.items()})
                             for w in self.params_)

    def transform_layers(self, X: Any, n_layers: int | None = None) -> list[Any]:
        """Codes after each of the first ``n_layers`` layers (one forward pass).

        Returns
        -------
        list of arrays of shape (n_samples, n_atoms)
        """
        self._check_fitted()
        X = check_array(X, "X", owner="LISTA", n_features=int(self.D_.shape[1]))
        xp = get_namespace(X)
        K = self.n_layers if n_layers is None else check_positive_int(
            n_layers, "n_layers", upper=self.n_layers, upper_name="the network's n_layers")
        shared, weights = self._network_in(xp, X)
        return unrolled_forward(X, self._layers(weights, K, shared), D=shared.D, xp=xp)[0]

    def transform(self, X: Any, n_layers: int | None = None) -> Any:
        """Codes of shape (n_samples, n_atoms) after ``n_layers`` (default: all) layers."""
        return self.transform_layers(X, n_layers)[-1]

    def inverse_transform(self, codes: Any) -> Any:
        """Signals ``Z D`` of shape (n_samples, n_features)."""
        self._check_fitted()
        Z = check_array(codes, "codes", n_features=int(self.D_.shape[0]), owner="LISTA")
        return Z @ to_namespace(self.D_, get_namespace(Z), Z)

    @property
    def components_(self) -> Any:
        return self.D_ if hasattr(self, "D_") else self.dictionary

    # ------------------------------------------------------------------ persistence
    def _schema(self, meta: dict[str, Any]) -> dict[str, tuple]:
        """Validate the parameters; the arrays a model file must hold, with their shapes: each
        learned weight stacked over the layers, the dictionary and ALISTA's ``W̃``."""
        self._check_params()
        Status(meta["status"])
        k, m, K = int(meta["n_atoms"]), int(meta["n_features"]), int(self.n_layers)
        shapes = {"W": (K, m, k), "S": (K, k, k), "theta": (K, 1), "gamma": (K, 1)}
        out = {name: shapes[name] for name in VARIANTS[self.variant].learned}
        out["dictionary"] = (k, m)
        if VARIANTS[self.variant].analytic_weight:
            out["W_tilde"] = (m, k)
        return out

    def save(self, file: Any) -> Any:
        """Write the trained network to an ``.npz`` file (read back with :meth:`load`).

        Each learned weight is stored stacked over the layers (``W`` of shape
        (n_layers, n_features, n_atoms), ``theta`` (n_layers, 1), …). Returns the path written
        (``.npz`` appended when missing), or ``file`` for a file object; see
        :func:`dictlearn._io.save_model`.
        """
        self._check_fitted()
        host = [{n: to_host(v) for n, v in w.items()} for w in self.params_]  # file: host
        arrays = {n: np.stack([w[n] for w in host]) for n in VARIANTS[self.variant].learned}
        arrays["dictionary"] = self.D_
        if self._net.W_tilde is not None:
            arrays["W_tilde"] = self._net.W_tilde
        k, m = (int(s) for s in self.D_.shape)
        meta = trained_meta(self, n_atoms=k, n_features=m, lipschitz=self._net.L,
                            support_fraction=self.support_fraction_,
                            support_max=self.support_max_)
        return save_model(file, "LISTA", trained_params(self, as_arrays=("dictionary",)), meta,
                          arrays)

    @classmethod
    def load(cls, file: Any) -> LISTA:
        """Read a network written by :meth:`save` (NumPy arrays, ``allow_pickle=False``)."""
        return load_model(file, cls, cls._schema, cls._restore)

    def _restore(self, meta: dict[str, Any], arrays: dict[str, Any]) -> LISTA:
        net = self
        D = net.dictionary = arrays.pop("dictionary")
        xp = get_namespace(D)
        net._resolve_support(None)  # files of format 2 before the shares were recorded
        net.support_fraction_ = float(meta.get("support_fraction", net.support_fraction_))
        net.support_max_ = float(meta.get("support_max", net.support_max_))
        shared = net._shared(D, xp, L=meta.get("lipschitz"), W_tilde=arrays.pop("W_tilde", None))
        weights = tuple(LayerWeights(**{n: a[i] for n, a in arrays.items()})
                        for i in range(net.n_layers))
        net._set_network(shared, weights)
        return restore_trained(net, meta)
