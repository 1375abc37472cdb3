r"""Sparse autoencoders whose encoder is one shared proximal step from ``Z = 0``.

Encoder ``Z = η_θ((X − b) W)`` — the shared step with ``B = (X − b) W`` and no ``Z S`` term —
and linear decoder ``X̂ = Z D + b``: the decoder ``D`` (n_atoms, n_features) is a dictionary
(atoms as rows) that every iterative solver accepts, and a tied encoder (``W = Dᵀ``) with a
top-k map is one step of iterative hard thresholding.

=========  ===================  ==============================================================
sparsity   map ``η``            training objective (besides ``(1/2n)Σ‖x − x̂‖²``)
=========  ===================  ==============================================================
l1         ReLU ``max(v−θ,0)``  ``(λ/n)Σ|z|`` (``alpha``)
kl         sigmoid ``σ(v−θ)``   ``β Σ_j KL(ρ‖ρ̂_j)``, running ``ρ̂`` (Ng's notes)
topk       k largest of ``v−θ`` none; ``k`` annealed down (Makhzani & Frey 2013)
wta        ReLU, then lifetime  none; each unit keeps its top ``wta_fraction`` of the batch
           winner-take-all      (Makhzani & Frey 2015)
lifetime   ReLU                 ``λ Σ_j (mean_i z_ij)² / mean_i z_ij²`` (Treves–Rolls)
=========  ===================  ==============================================================
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from .._base import BaseEstimator, TransformerMixin, store_params
from .._io import load_model, restore_trained, save_model, trained_meta, trained_params
from .._loop import Status, warn_status
from .._validation import check_array, check_choice, check_nonneg_scalar, check_positive_int
from .._xp import check_random_state, get_namespace, to_namespace, weighted_choice
from ..coding.step import step_forward
from ..objectives import kl_penalty, l1_penalty, lifetime_penalty, reconstruction_loss
from ..prox import ProxMap, get_prox, project_unit_sphere_rows
from ._common import check_training, split_rows, take_rows
from .optim import get_optimizer
from .train import train

__all__ = ["SPARSITIES", "SparseAutoencoder"]

SPARSITIES = ("l1", "kl", "topk", "wta", "lifetime")


class SparseAutoencoder(TransformerMixin, BaseEstimator):
    """Sparse autoencoder with a one-step encoder and a dictionary decoder.

    Parameters
    ----------
    n_atoms : int
        Number of latent units (dictionary atoms); ``2·n_features`` is overcomplete.
    sparsity : {"l1", "kl", "topk", "wta", "lifetime"}, default="l1"
        See the module docstring.
    alpha : float, default=0.1
        Weight of the L1 or lifetime penalty. Its useful range is set by the reconstruction
        gradient ``(X̂ − X) Dᵀ``: with Adam (scale-invariant steps), once ``alpha`` outweighs
        it for every unit the updates no longer depend on ``alpha`` and the codes stop
        changing (``alpha`` = 10³ and 10¹² give the same codes to 10⁻³). For signals of norm
        about 1, that happens near ``alpha ≈ 1``; use ``optimizer="sgd"`` or rescale ``X`` to
        go further.
    k : int, optional
        Active units per sample for ``topk`` (required there; ``k <= n_atoms``).
    k_start : int, optional
        First ``k`` of the annealing schedule (default ``min(n_atoms, max(4k, n_atoms/10))``);
        ``k`` decreases linearly to its target over the first half of the epochs.
    test_k_multiplier : float, default=1.0
        ``transform`` keeps ``round(m·k)`` units (Makhzani & Frey use ``m > 1`` for features).
    rho : float in (0, 1), default=0.05
        Target mean activation for ``kl``.
    beta : float, default=3.0
        Weight of the KL penalty.
    kl_momentum : float in [0, 1), default=0.9
        Running average of ``ρ̂`` across batches.
    wta_fraction : float in (0, 1], default=0.05
        Lifetime sparsity for ``wta``: the share of the batch each unit keeps.
    tied : bool, default=False
        Encoder ``W = Dᵀ``.
    unit_norm_decoder : bool, default=False
        Keep decoder rows at unit norm, removing the gradient component parallel to each row
        before the step (Gao et al. 2024).
    dead_latents : {None, "resample", "auxk"}, default=None
        ``resample``: at each epoch, units that did not fire during the previous one are
        re-initialised on badly reconstructed samples; ``auxk``: the auxiliary loss of
        Gao et al. (2024) — the ``aux_k`` largest dead units reconstruct the residual.
    aux_k : int, optional
        Units of the auxiliary loss (default ``2k`` for ``topk``, else ``n_atoms // 8``).
    aux_weight : float, default=1/32
    dead_after : int, default=1000
        Samples without firing after which a unit counts as dead (``auxk``).
    weight_decay : float, default=0.0
        ``(λ/2)(‖W‖² + ‖D‖²)``.
    optimizer, learning_rate, batch_size, max_epochs, validation_fraction, n_iter_no_change,
    tol, random_state, verbose, callback
        As for :class:`~dictlearn.LISTA`.

    Attributes
    ----------
    components_ : array of shape (n_atoms, n_features)
        The decoder rows: a dictionary for :func:`dictlearn.sparse_encode`.
    params_ : dict of arrays
        ``W`` (absent when tied), ``theta`` (per-unit threshold, minus the encoder bias),
        ``D``, ``b`` (the decoder bias, subtracted before encoding).
    status_, history_, n_epochs_
        As for :class:`~dictlearn.LISTA`.

    References
    ----------
    Ng, Sparse autoencoder, CS294A lecture notes (2011).
    Makhzani & Frey (2013), k-Sparse autoencoders, ICLR 2014.
    Makhzani & Frey (2015), Winner-take-all autoencoders, NeurIPS.
    Gao et al. (2024), Scaling and evaluating sparse autoencoders, arXiv:2406.04093.

    Examples
    --------
    >>> import numpy as np, dictlearn
    >>> from dictlearn.datasets import make_sparse_problem
    >>> p = make_sparse_problem(500, 16, 32, 3, positive=True, random_state=0)
    >>> sae = dictlearn.SparseAutoencoder(32, sparsity="topk", k=3, max_epochs=5,
    ...                                   random_state=0).fit(p.X)
    >>> Z = sae.transform(p.X)
    >>> int((Z != 0).sum(axis=1).max()) <= 3, sae.components_.shape
    (True, (32, 16))
    """

    def __init__(self, n_atoms: int, *, sparsity: str = "l1", alpha: float = 0.1,
                 k: int | None = None, k_start: int | None = None, test_k_multiplier: float = 1.0,
                 rho: float = 0.05, beta: float = 3.0, kl_momentum: float = 0.9,
                 wta_fraction: float = 0.05, tied: bool = False, unit_norm_decoder: bool = False,
                 dead_latents: str | None = None, aux_k: int | None = None,
                 aux_weight: float = 1.0 / 32.0, dead_after: int = 1000, weight_decay: float = 0.0,
                 optimizer: Any = "adam", learning_rate: float = 1e-3, batch_size: int = 64,
                 max_epochs: int = 50, validation_fraction: float = 0.1,
                 n_iter_no_change: int | None = 5, tol: float = 1e-4, random_state: Any = None,
                 verbose: bool = False, callback: Callable[..., Any] | None = None) -> None:
        store_params(self, locals())

    # ------------------------------------------------------------------ checks
    def _check_params(self) -> None:
        n = check_positive_int(self.n_atoms, "n_atoms")
        check_choice(self.sparsity, "sparsity", set(SPARSITIES))
        check_choice(self.dead_latents, "dead_latents", {None, "resample", "auxk"})
        for name in ("alpha", "beta", "weight_decay", "aux_weight"):
            check_nonneg_scalar(getattr(self, name), name)
        if self.sparsity == "topk":
            if self.k is None:
                raise ValueError("sparsity='topk' needs k (active units per sample); got None")
            check_positive_int(self.k, "k", upper=n, upper_name="n_atoms")
            if self.k_start is not None:
                check_positive_int(self.k_start, "k_start", upper=n, upper_name="n_atoms")
            m = check_nonneg_scalar(self.test_k_multiplier, "test_k_multiplier",
                                    allow_zero=False)
            if round(m * self.k) > n:
                raise ValueError(f"test_k_multiplier·k = {round(m * self.k)} must be <= n_atoms "
                                 f"({n})")
        rho = self.rho
        if isinstance(rho, bool) or not isinstance(rho, (int, float)) or not 0.0 < rho < 1.0:
            raise ValueError(f"rho must be a target activation rate in (0, 1); got {rho!r}")
        check_nonneg_scalar(self.kl_momentum, "kl_momentum", upper=1, open_upper=True)
        check_nonneg_scalar(self.wta_fraction, "wta_fraction", allow_zero=False, upper=1)
        if self.aux_k is not None:
            check_positive_int(self.aux_k, "aux_k", upper=n, upper_name="n_atoms")
        check_positive_int(self.dead_after, "dead_after")
        check_training(self.batch_size, self.max_epochs, self.n_iter_no_change, self.tol,
                       self.learning_rate)

    def _k_start(self) -> int:
        if self.k_start is not None:
            return int(self.k_start)
        return min(self.n_atoms, max(4 * self.k, self.n_atoms // 10))

    def _act(self, training: bool, k: int | None = None) -> ProxMap:
        s = self.sparsity
        if s == "kl":
            return get_prox("sigmoid")
        if s == "topk":
            if k is None:  # test time: test_k_multiplier x k
                k = max(1, round(self.test_k_multiplier * self.k))
            return get_prox("topk", k=k, positive=True)
        if s == "wta" and training:
            return get_prox("wta", fraction=float(self.wta_fraction))
        return get_prox("nonneg_soft")

    def _aux_k(self) -> int:
        if self.aux_k is not None:
            return int(self.aux_k)
        return min(self.n_atoms, 2 * self.k) if self.sparsity == "topk" else \
            max(1, self.n_atoms // 8)

    # ------------------------------------------------------------------ model
    def _init_params(self, X: Any, xp: ModuleType, rng: np.random.Generator) -> dict[str, Any]:
        m, k = int(X.shape[1]), int(self.n_atoms)
        W = rng.standard_normal((m, k)) / np.sqrt(m)
        D = W.T.copy()
        D /= np.linalg.norm(D, axis=1, keepdims=True)
        out = {"theta": np.zeros(k), "D": D}
        if not self.tied:
            out["W"] = D.T.copy() / np.sqrt(max(1.0, k / m))
        # the host draws move to X's device once; the bias starts at the mean, where X is
        return {**{n: to_namespace(v, xp, X) for n, v in out.items()},
                "b": xp.mean(X, axis=0)}

    def _W(self, p: dict[str, Any], xp: ModuleType) -> Any:
        return xp.matrix_transpose(p["D"]) if self.tied else p["W"]

    def _encode(self, p, X, act, xp):
        Xc = X - p["b"]
        Z, V = step_forward(Xc @ self._W(p, xp), None, None, p["theta"], act, xp=xp)
        return Z, V, Xc

    def _objective(self, p, X, act, xp, *, kl_state=None, dead=None, grads=True, residual=None):
        """Loss and gradients of one batch (the auxiliary loss treats the main residual
        ``X − X̂`` as a constant target, or uses ``residual`` when given)."""
        Z, V, Xc = self._encode(p, X, act, xp)
        Xh = Z @ p["D"] + p["b"]
        loss, gXh = reconstruction_loss(X, Xh, xp=xp)
        s = self.sparsity
        gZ_pen = None
        if s == "l1":
            v, gZ_pen = l1_penalty(Z, float(self.alpha), xp=xp)
        elif s == "lifetime":
            v, gZ_pen = lifetime_penalty(Z, float(self.alpha), xp=xp)
        elif s == "kl":
            rh = None if kl_state is None else kl_state.get("rho_hat")
            v, gZ_pen, r = kl_penalty(Z, float(self.rho), float(self.beta), xp=xp,
                                      rho_hat=rh, momentum=float(self.kl_momentum))
            if kl_state is not None:
                kl_state["rho_hat"] = r
        else:
            v = 0.0
        loss += v
        wd = float(self.weight_decay)
        if wd:
            Wm = self._W(p, xp)
            loss += 0.5 * wd * (float(xp.sum(p["D"] * p["D"])) +
                                (0.0 if self.tied else float(xp.sum(Wm * Wm))))
        aux = None
        if dead is not None and bool(xp.any(dead)):
            E = X - Xh if residual is None else residual  # a constant target
            Va = xp.where(dead[None, :], V - p["theta"], xp.zeros_like(V) - 1.0)
            Za = get_prox("topk", k=self._aux_k(), positive=True)(Va, 0.0, xp=xp)
            Ea = Za @ p["D"]
            va, gEa = reconstruction_loss(E, Ea, xp=xp)
            loss += float(self.aux_weight) * va
            aux = (Za, float(self.aux_weight) * gEa)
        if not grads:
            return loss, None, Z
        t = xp.matrix_transpose
        gD = t(Z) @ gXh
        gb = xp.sum(gXh, axis=0)
        gZ = gXh @ t(p["D"])
        if gZ_pen is not None:
            gZ = gZ + gZ_pen
        gV, gT = act.vjp(V, p["theta"], Z, gZ, xp=xp)
        if aux is not None:
            Za, gEa = aux
            gD = gD + t(Za) @ gEa
            gVa = xp.where(Za > 0, gEa @ t(p["D"]), xp.zeros_like(V))
            gV, gT = gV + gVa, gT - gVa
        Wm = self._W(p, xp)
        gW = t(Xc) @ gV
        gb = gb - xp.sum(gV @ t(Wm), axis=0)
        g = {"theta": xp.sum(gT, axis=0), "b": gb}
        if self.tied:
            gD = gD + t(gW)
        else:
            g["W"] = gW + wd * Wm
        g["D"] = gD + wd * p["D"]
        if self.unit_norm_decoder:  # remove the component that changes the rows' norms
            g["D"] = g["D"] - xp.sum(g["D"] * p["D"], axis=1, keepdims=True) * p["D"]
        return loss, g, Z

    # ------------------------------------------------------------------ fit
    def fit(self, X: Any, y: Any = None) -> SparseAutoencoder:
        """Train on signals ``X`` of shape (n_samples, n_features); returns ``self``."""
        self._check_params()
        X = check_array(X, "X", owner="SparseAutoencoder")
        xp = get_namespace(X)
        scale_note = _input_scale_note(X, xp)
        rng = check_random_state(self.random_state)
        params = self._init_params(X, xp, rng)
        tr, va = split_rows(X.shape[0], self.validation_fraction, rng)
        Xtr = take_rows(X, tr, xp)
        Xva = None if va is None else take_rows(X, va, xp)
        n_tr = int(Xtr.shape[0])
        k_now = {"k": self._k_start() if self.sparsity == "topk" else None}
        kl_state: dict[str, Any] = {}
        dev = getattr(X, "device", None)
        since = {"n": xp.zeros((self.n_atoms,), dtype=X.dtype, device=dev)}
        fired = {"any": xp.zeros((self.n_atoms,), dtype=xp.bool, device=dev)}
        half = max(1, self.max_epochs // 2)

        def on_epoch(epoch, p):
            if self.sparsity == "topk":
                frac = min(1.0, (epoch - 1) / half)
                k_now["k"] = round(self._k_start() + frac * (self.k - self._k_start()))
            new = None
            if self.dead_latents == "resample" and epoch > 1:
                new = self._resample(p, Xtr, ~fired["any"], xp, rng)
            fired["any"] = xp.zeros_like(fired["any"])
            return new

        def lg(p, rows):
            Xb = take_rows(Xtr, rows, xp)
            dead = None
            if self.dead_latents == "auxk":
                dead = since["n"] >= self.dead_after
            loss, g, Z = self._objective(p, Xb, self._act(True, k_now["k"]), xp,
                                         kl_state=kl_state, dead=dead)
            act = xp.any(Z > 0, axis=0) if self.sparsity != "kl" else xp.any(Z > 0.5, axis=0)
            since["n"] = xp.where(act, xp.zeros_like(since["n"]), since["n"] + len(rows))
            fired["any"] = fired["any"] | act
            return loss, g

        def vl(p):
            return self._objective(p, Xva, self._act(False), xp, grads=False)[0]

        def post(p, g):
            if not self.unit_norm_decoder:
                return p
            return {**p, "D": project_unit_sphere_rows(p["D"], xp=xp)}

        res = train(
            params, lg, n_samples=n_tr, optimizer=get_optimizer(self.optimizer,
                                                                self.learning_rate),
            xp=xp, batch_size=self.batch_size, max_epochs=self.max_epochs, rng=rng,
            val_loss=None if Xva is None else vl, n_iter_no_change=self.n_iter_no_change,
            tol=self.tol, post_update=post, on_epoch=on_epoch, callback=self.callback,
            verbose=self.verbose, name=f"SparseAutoencoder-{self.sparsity}",
        )
        self.params_, self.status_ = res.params, res.status
        self.history_, self.n_epochs_ = res.history, res.n_epochs
        self.n_features_in_ = int(X.shape[1])
        self.rho_hat_ = kl_state.get("rho_hat")
        warn_status("SparseAutoencoder", res.status, detail=f"learning_rate={self.learning_rate}"
                    + (scale_note if res.status is Status.diverged else ""))
        return self

    def _resample(self, p, Xtr, dead, xp, rng):
        """Re-initialise dead units on the worst-reconstructed training samples."""
        n_dead = int(xp.sum(xp.astype(dead, xp.int32)))
        if n_dead == 0:
            return None
        m = min(int(Xtr.shape[0]), 4096)
        rows = rng.choice(int(Xtr.shape[0]), size=m, replace=False)
        Xs = take_rows(Xtr, rows, xp)
        Z = self._encode(p, Xs, self._act(False), xp)[0]
        err = xp.sum((Xs - Z @ p["D"] - p["b"]) ** 2, axis=1)
        w = xp.astype(err, xp.float64) ** 2
        if float(xp.sum(w)) > 0:
            pick = weighted_choice(rng, w, n_dead, replace=n_dead > m, xp=xp)
        else:
            pick = rng.choice(m, size=n_dead, replace=n_dead > m)
        R = take_rows(Xs, pick, xp) - p["b"]
        R = R / xp.maximum(xp.linalg.vector_norm(R, axis=1, keepdims=True), 1e-12)
        # dead unit number q (in index order) takes row q of R: a scatter by rank, on device
        rank = xp.cumulative_sum(xp.astype(dead, xp.int64)) - 1
        R_at = xp.take(R, xp.where(dead, rank, 0), axis=0)  # (n_atoms, n_features)
        q = dict(p)
        q["D"] = xp.where(dead[:, None], R_at, p["D"])
        q["theta"] = xp.where(dead, xp.zeros_like(p["theta"]), p["theta"])
        if not self.tied:
            W = p["W"]
            # Bricken et al. (2023) use 0.2 x the mean alive norm with a ReLU; under top-k
            # competition so small a unit never wins, so the mean alive norm is used.
            n_alive = int(W.shape[1]) - n_dead
            norms = xp.linalg.vector_norm(W, axis=0)
            scale = (float(xp.sum(xp.where(dead, 0.0, norms))) / n_alive if n_alive else 1.0)
            q["W"] = xp.where(dead[None, :], xp.matrix_transpose(R_at) * scale, W)
        return q

    # ------------------------------------------------------------------ inference
    def _check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise ValueError("this SparseAutoencoder is not fitted yet: call fit(X) first")

    def _p(self, xp, like):
        return {k: to_namespace(v, xp, like) for k, v in self.params_.items()}

    def transform(self, X: Any) -> Any:
        """Codes of shape (n_samples, n_atoms): the encoder at test time (``wta`` units are
        plain ReLUs there, as in Makhzani & Frey 2015)."""
        self._check_fitted()
        X = check_array(X, "X", owner="SparseAutoencoder", n_features=self.n_features_in_)
        xp = get_namespace(X)
        return self._encode(self._p(xp, X), X, self._act(False), xp)[0]

    def inverse_transform(self, codes: Any) -> Any:
        """Signals ``Z D + b`` of shape (n_samples, n_features)."""
        self._check_fitted()
        codes = check_array(codes, "codes")
        if codes.shape[1] != self.n_atoms:
            raise ValueError(f"codes must have shape (n_samples, n_atoms={self.n_atoms}); got "
                             f"{tuple(codes.shape)}")
        p = self._p(get_namespace(codes), codes)
        return codes @ p["D"] + p["b"]

    @property
    def components_(self) -> Any:
        self._check_fitted()
        return self.params_["D"]

    # ------------------------------------------------------------------ persistence
    def _schema(self, meta: dict[str, Any]) -> dict[str, tuple]:
        """Validate the parameters; the arrays a model file must hold, with their shapes."""
        self._check_params()
        Status(meta["status"])
        k, m = int(self.n_atoms), int(meta["n_features_in"])
        out = {"theta": (k,), "D": (k, m), "b": (m,)}
        if not self.tied:
            out["W"] = (m, k)
        return out

    def save(self, file: Any) -> Any:
        """Write the trained model to an ``.npz`` file (read back with :meth:`load`).

        Returns the path written (``.npz`` appended when missing), or ``file`` for a file
        object; see :func:`dictlearn._io.save_model`.
        """
        self._check_fitted()
        meta = trained_meta(self, n_features_in=int(self.n_features_in_))
        return save_model(file, "SparseAutoencoder", trained_params(self), meta,
                          dict(self.params_))

    @classmethod
    def load(cls, file: Any) -> SparseAutoencoder:
        """Read a model written by :meth:`save` (NumPy arrays, ``allow_pickle=False``)."""
        return load_model(file, cls, cls._schema, cls._restore)

    def _restore(self, meta: dict[str, Any], arrays: dict[str, Any]) -> SparseAutoencoder:
        sae = self
        sae.params_, sae.n_features_in_ = arrays, int(meta["n_features_in"])
        return restore_trained(sae, meta)


def _input_scale_note(X: Any, xp: Any) -> str:
    """The input-scale cause of a diverged training, for its warning ("" when ``X``'s scale is
    near 1). Refuses (``ValueError``) an ``X`` beyond the fourth root of the dtype's range
    (the loss and the optimiser's squared gradients would overflow or underflow)."""
    m = float(xp.max(xp.abs(X)))
    fi = xp.finfo(X.dtype)
    # the loss is quadratic in X and Adam squares its gradients: fourth roots, with a margin
    lo, hi = float(fi.smallest_normal) ** 0.25 * 2.0 ** 8, float(fi.max) ** 0.25 / 2.0 ** 8
    if not lo <= m <= hi:
        raise ValueError(f"X has max |X| = {m:.3g}: the training loss and the optimiser's "
                         f"squared gradients are not representable in {X.dtype} (train on X "
                         "of max |X| in "
                         f"[{lo:.1e}, {hi:.1e}]; standardise X, e.g. X / X.std())")
    if 1e-3 <= m <= 1e3:
        return ""
    return (f"; X has max |X| = {m:.3g}, far from 1: the optimiser moves the biases by about "
            "learning_rate per step in X's units, so training depends on the scale of X; "
            "standardise X (e.g. X / X.std())")
