r"""The convolution operator of shift-invariant sparse coding, by FFT, on any array library.

Signals ``X`` have shape (n_signals, n_channels, n_times), atoms ``D`` shape
(n_atoms, n_channels, atom_length) and activations ``Z`` shape (n_signals, n_atoms,
n_times_valid) with ``n_times_valid = n_times − atom_length + 1`` (alphacsc's convention):

.. math:: (\mathcal{D} z)_c = \sum_k d_{k,c} * z_k ,\qquad
          (\mathcal{D}^\top r)_k[t] = \sum_c \sum_{l} r_c[t + l]\, d_{k,c}[l] ,

a full convolution (length ``n_times``) and its adjoint, a correlation restricted to the
valid shifts. Both are products in the frequency domain on an FFT grid of length
``≥ n_times``, on which no circular wrap-around reaches the kept samples. The sparse coding
problem ``½‖x − 𝒟z‖² + α‖z‖₁`` is then a lasso with the operator ``𝒟``, and every lasso
fact holds with ``D`` replaced by ``𝒟`` (THEORY.md): :class:`ConvLeastSquares` is that
lasso's smooth term for the one proximal-gradient loop
(:func:`dictlearn.coding.solve_proximal_gradient`), its gap the one of
:func:`dictlearn.objectives.gap_residual`.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

from ..objectives import gap_residual

__all__ = ["ConvLeastSquares", "ConvOperator", "fft_length"]


def fft_length(n: int) -> int:
    """The smallest ``2^a 3^b 5^c ≥ n`` (a fast FFT length).

    Examples
    --------
    >>> fft_length(97), fft_length(128), fft_length(1000)
    (100, 128, 1000)
    """
    best = 1 << max(int(n) - 1, 0).bit_length()
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            p = p35
            while p < n:
                p *= 2
            best = min(best, p)
            p35 *= 3
        p5 *= 5
    return best


@dataclass(frozen=True)
class ConvOperator:
    """``Z ↦ Σ_k d_k ∗ z_k`` and its adjoint for fixed atoms and signal length.

    Build it with :meth:`build`; ``D_hat`` holds the atoms' real FFT on the grid ``nfft``.
    """

    atoms: Any  # (K, C, L)
    n_times: int
    nfft: int
    D_hat: Any  # (K, C, nfft // 2 + 1), complex
    xp: ModuleType

    @classmethod
    def build(cls, atoms: Any, n_times: int, *, xp: ModuleType) -> ConvOperator:
        nfft = fft_length(int(n_times))
        return cls(atoms, int(n_times), nfft, xp.fft.rfft(atoms, n=nfft, axis=-1), xp)

    @property
    def n_atoms(self) -> int:
        return int(self.atoms.shape[0])

    @property
    def n_channels(self) -> int:
        return int(self.atoms.shape[1])

    @property
    def atom_length(self) -> int:
        return int(self.atoms.shape[2])

    @property
    def n_times_valid(self) -> int:
        return self.n_times - self.atom_length + 1

    def apply(self, Z: Any) -> Any:
        """``Σ_k d_k ∗ z_k``: (n, K, n_times_valid) → (n, C, n_times)."""
        xp = self.xp
        Zh = xp.fft.rfft(Z, n=self.nfft, axis=-1)
        Xh = xp.sum(Zh[:, :, None, :] * self.D_hat[None, ...], axis=1)
        return xp.fft.irfft(Xh, n=self.nfft, axis=-1)[..., :self.n_times]

    def adjoint(self, R: Any) -> Any:
        """``(𝒟ᵀr)_k[t] = Σ_c Σ_l r_c[t+l] d_{k,c}[l]``: (n, C, n_times) → (n, K, n_valid)."""
        xp = self.xp
        Rh = xp.fft.rfft(R, n=self.nfft, axis=-1)
        Ch = xp.sum(Rh[:, None, :, :] * xp.conj(self.D_hat)[None, ...], axis=2)
        return xp.fft.irfft(Ch, n=self.nfft, axis=-1)[..., :self.n_times_valid]

    def atoms_adjoint(self, R: Any, Z: Any) -> Any:
        """``G[k, c, l] = Σ_n Σ_t r_{n,c}[t + l] z_{n,k}[t]``: the adjoint of ``D ↦ 𝒟z`` at
        ``R`` (so ``−G`` is the gradient of ``½‖x − 𝒟z‖²`` in the atoms), shape (K, C, L)."""
        xp = self.xp
        Rh = xp.fft.rfft(R, n=self.nfft, axis=-1)  # (n, C, F)
        Zh = xp.fft.rfft(Z, n=self.nfft, axis=-1)  # (n, K, F)
        Gh = xp.sum(Rh[:, None, :, :] * xp.conj(Zh)[:, :, None, :], axis=0)
        return xp.fft.irfft(Gh, n=self.nfft, axis=-1)[..., :self.atom_length]

    def lipschitz(self) -> float:
        """A bound on ``‖𝒟‖₂²``: ``max_ω Σ_{k,c} |d̂_{k,c}(ω)|²``, exact for one channel
        (the trace of each frequency's C×C block bounds its largest eigenvalue otherwise)."""
        xp = self.xp
        power = xp.sum(xp.real(self.D_hat * xp.conj(self.D_hat)), axis=(0, 1))
        return float(xp.max(power))

    def alpha_max(self, X: Any, *, positive: bool = False) -> Any:
        """Per signal, the smallest ``α`` with ``z = 0`` optimal: ``‖𝒟ᵀx‖∞`` (largest
        positive correlation when ``positive``)."""
        xp = self.xp
        C = xp.reshape(self.adjoint(X), (X.shape[0], -1))
        return xp.max(C, axis=1) if positive else xp.max(xp.abs(C), axis=1)


@dataclass(frozen=True)
class ConvLeastSquares:
    """``½‖X − 𝒟Z‖²`` per signal with step ``1/L``, codes flattened to (n, K·n_times_valid)
    so that the proximal-gradient loop of :mod:`dictlearn.coding` runs on it unchanged."""

    op: ConvOperator
    L: float
    X: Any  # (n, C, T)
    xx: Any  # ‖x‖², (n,)
    xp: ModuleType

    @classmethod
    def build(cls, X: Any, op: ConvOperator, L: float | None = None) -> ConvLeastSquares:
        xp = op.xp
        L = op.lipschitz() if L is None else float(L)
        return cls(op, L, X, xp.sum(xp.reshape(X * X, (X.shape[0], -1)), axis=1), xp)

    @property
    def code_shape(self) -> tuple[int, int]:
        return (self.op.n_atoms, self.op.n_times_valid)

    def unflatten(self, Z: Any) -> Any:
        return self.xp.reshape(Z, (Z.shape[0], *self.code_shape))

    def flatten(self, Z: Any) -> Any:
        return self.xp.reshape(Z, (Z.shape[0], -1))

    def residual(self, Z: Any) -> Any:
        """``X − 𝒟Z`` for flattened codes, shape (n, C, n_times)."""
        return self.X - self.op.apply(self.unflatten(Z))

    def forward(self, Z: Any) -> Any:
        """The gradient step ``Z + 𝒟ᵀ(X − 𝒟Z)/L`` (flattened codes)."""
        return Z + self.flatten(self.op.adjoint(self.residual(Z))) / self.L

    def take(self, rows: Any) -> ConvLeastSquares:
        xp = self.xp
        return ConvLeastSquares(self.op, self.L, xp.take(self.X, rows, axis=0),
                                xp.take(self.xx, rows, axis=0), xp)

    def objective_and_gap(self, Z: Any, alpha: float, positive: bool):
        """Per-signal lasso objective, duality gap and the gap's rounding floor."""
        xp = self.xp
        R = self.residual(Z)
        C = self.flatten(self.op.adjoint(R))
        F, gap = gap_residual(self.flatten(self.X), self.flatten(R), C, Z, alpha, positive, xp)
        eps = float(xp.finfo(Z.dtype).eps)
        # The FFT's rounding grows like log(nfft): a few more epsilons than the dense gap's.
        return F, gap, 50 * eps * self.xx
