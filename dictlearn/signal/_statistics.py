r"""The sufficient statistics of convolutional dictionary learning and the data term they give.

For activations ``z`` (n, K, T_v) and signals ``x`` (n, C, T), alphacsc's ``compute_ztz`` and
``compute_ztX``:

.. math:: [z^\top z]_{k,k'}[\tau] = \sum_n\sum_t z_{n,k}[t]\, z_{n,k'}[t+\tau],\quad
          [z^\top x]_{k,c}[l] = \sum_n\sum_t z_{n,k}[t]\, x_{n,c}[t+l],

with :math:`|\tau| < L` and :math:`0 \le l < L`; their size does not depend on the signals'
length. The data term in the atoms is then
:math:`\tfrac12\|x - \sum_k d_k * z_k\|^2 = \tfrac12\|x\|^2 + \tfrac12\langle D, \mathcal{H}D\rangle
- \langle D, z^\top x\rangle` with
:math:`(\mathcal{H}D)_{k,c}[l] = \sum_{k',l'} [z^\top z]_{k,k'}[l-l']\, d_{k',c}[l']`.

Shifting an atom in time by ``s`` samples and its activations back by ``s`` (the same model,
see :func:`dictlearn.signal._atoms.centring_shifts`) shifts the statistics:
``ztX'_k[l] = ztX_k[l + s_k]`` and ``ztz'_{k,k'}[τ] = ztz_{k,k'}[τ + s_k − s_k']``
(:func:`shift_statistics`).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

from ._conv import fft_length

__all__ = ["DataTerm", "code_statistics", "shift_coherence", "shift_statistics", "shift_time"]


def code_statistics(Z: Any, X: Any, atom_length: int, *, xp: ModuleType) -> tuple[Any, Any]:
    """``ztz`` (K, K, 2L−1) and ``ztX`` (K, C, L): the correlations of the activations with
    themselves and with the signals, summed over signals (alphacsc's ``compute_ztz``,
    ``compute_ztX``), by FFT.

    Parameters
    ----------
    Z : array of shape (n_signals, n_atoms, n_times_valid)
    X : array of shape (n_signals, n_channels, n_times)
    atom_length : int

    Examples
    --------
    >>> import numpy as np
    >>> Z = np.zeros((1, 1, 4)); Z[0, 0, 1] = 2.0
    >>> ztz, ztX = code_statistics(Z, np.arange(5.0).reshape(1, 1, 5), 2, xp=np)
    >>> np.round(ztz, 12) + 0.0, np.round(ztX, 12) + 0.0
    (array([[[0., 4., 0.]]]), array([[[2., 4.]]]))
    """
    L = int(atom_length)
    T = int(X.shape[2])
    nfft = fft_length(T)
    Zh = xp.fft.rfft(Z, n=nfft, axis=-1)  # (n, K, F)
    Xh = xp.fft.rfft(X, n=nfft, axis=-1)  # (n, C, F)
    ZhH = xp.conj(xp.permute_dims(Zh, (2, 1, 0)))  # (F, K, n)
    G = xp.fft.irfft(xp.permute_dims(ZhH @ xp.permute_dims(Zh, (2, 0, 1)), (1, 2, 0)),
                     n=nfft, axis=-1)  # (K, K, nfft): lag τ at τ mod nfft
    ztz = xp.concat([G[..., nfft - L + 1:], G[..., :L]], axis=-1)
    B = xp.fft.irfft(xp.permute_dims(ZhH @ xp.permute_dims(Xh, (2, 0, 1)), (1, 2, 0)),
                     n=nfft, axis=-1)
    return ztz, B[..., :L]


def shift_coherence(D: Any, *, xp: ModuleType) -> Any:
    """``|⟨d_i, S_τ d_j⟩| / (‖d_i‖‖d_j‖)`` maximised over the shifts ``τ``: (K, K), by FFT
    (1 on the diagonal; zero-norm atoms give 0).

    Examples
    --------
    >>> import numpy as np
    >>> D = np.array([[[1.0, 2.0, 0.0, 0.0]], [[0.0, 0.0, 1.0, 2.0]], [[1.0, -1.0, 0, 0]]])
    >>> np.round(shift_coherence(D, xp=np), 3)
    array([[1.   , 1.   , 0.632],
           [1.   , 1.   , 0.632],
           [0.632, 0.632, 1.   ]])
    """
    L = int(D.shape[2])
    nfft = fft_length(2 * L - 1)
    Dh = xp.fft.rfft(D, n=nfft, axis=-1)  # (K, C, F)
    P = xp.conj(xp.permute_dims(Dh, (2, 0, 1))) @ xp.permute_dims(Dh, (2, 1, 0))
    corr = xp.max(xp.abs(xp.fft.irfft(xp.permute_dims(P, (1, 2, 0)), n=nfft, axis=-1)),
                  axis=-1)
    norms = xp.sqrt(xp.sum(D * D, axis=(1, 2)))
    denom = norms[:, None] * norms[None, :]
    return xp.where(denom > 0, corr / xp.where(denom > 0, denom, 1.0), 0.0)


def shift_time(A: Any, s: int, *, xp: ModuleType) -> Any:
    """``A'[..., l] = A[..., l + s]`` along the last axis, zero where ``l + s`` is outside.

    Examples
    --------
    >>> import numpy as np
    >>> shift_time(np.arange(1.0, 5.0), 1, xp=np), shift_time(np.arange(1.0, 5.0), -2, xp=np)
    (array([2., 3., 4., 0.]), array([0., 0., 1., 2.]))
    """
    s, n = int(s), int(A.shape[-1])
    if s == 0:
        return A
    if abs(s) >= n:
        return xp.zeros_like(A)
    pad = xp.zeros((*A.shape[:-1], abs(s)), dtype=A.dtype,
                   device=getattr(A, "device", None))
    if s > 0:
        return xp.concat([A[..., s:], pad], axis=-1)
    return xp.concat([pad, A[..., :n + s]], axis=-1)


def shift_statistics(ztz: Any, ztX: Any, shifts: list[int], *,
                     xp: ModuleType) -> tuple[Any, Any]:
    """The statistics after atom ``k`` moved by ``shifts[k]`` (``d'_k[l] = d_k[l + s_k]``)
    and its activations back (``z'_k[t] = z_k[t − s_k]``): ``ztX'_k[l] = ztX_k[l + s_k]``,
    ``ztz'_{k,k'}[τ] = ztz_{k,k'}[τ + s_k − s_k']``; lags that the statistics did not hold
    are zero.

    Examples
    --------
    >>> import numpy as np
    >>> ztz = np.arange(1.0, 4.0).reshape(1, 1, 3); ztX = np.array([[[1.0, 2.0]]])
    >>> shift_statistics(ztz, ztX, [1], xp=np)
    (array([[[1., 2., 3.]]]), array([[[2., 0.]]]))
    """
    K = len(shifts)
    ztX = xp.stack([shift_time(ztX[k, ...], shifts[k], xp=xp) for k in range(K)])
    ztz = xp.stack([xp.stack([shift_time(ztz[k, j, :], shifts[k] - shifts[j], xp=xp)
                              for j in range(K)]) for k in range(K)])
    return ztz, ztX


@dataclass(frozen=True)
class DataTerm:
    """``f(D) = ½⟨D, 𝓗D⟩ − ⟨D, ztX⟩``: the data term in the atoms (up to ``½‖x‖²``), from
    the statistics; :meth:`hess` applies ``𝓗`` by FFT."""

    ztz_hat: Any  # (F, K, K)
    ztX: Any  # (K, C, L)
    nfft: int
    L: int
    xp: ModuleType

    @classmethod
    def build(cls, ztz: Any, ztX: Any, *, xp: ModuleType) -> DataTerm:
        L = int(ztX.shape[2])
        nfft = fft_length(3 * L - 2)
        zh = xp.fft.rfft(ztz, n=nfft, axis=-1)
        return cls(xp.permute_dims(zh, (2, 0, 1)), ztX, nfft, L, xp)

    def hess(self, D: Any) -> Any:
        """``(𝓗D)_{k,c}[l] = Σ_{k',l'} ztz_{k,k'}[l − l'] d_{k',c}[l']``."""
        xp, L = self.xp, self.L
        Dh = xp.permute_dims(xp.fft.rfft(D, n=self.nfft, axis=-1), (2, 0, 1))  # (F, K, C)
        out = xp.fft.irfft(xp.permute_dims(self.ztz_hat @ Dh, (1, 2, 0)), n=self.nfft, axis=-1)
        return out[..., L - 1:2 * L - 1]

    def value_grad(self, D: Any) -> tuple[float, Any]:
        """``(f(D), ∇f(D) = 𝓗D − ztX)``."""
        HD = self.hess(D)
        xp = self.xp
        return float(xp.sum(D * (0.5 * HD - self.ztX))), HD - self.ztX
