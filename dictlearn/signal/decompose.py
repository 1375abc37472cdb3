r"""Decompose a recording into shift-invariant atoms: what ``dictlearn decompose`` runs.

:func:`decompose` takes a signal (n_channels, n_times) and its sample rate and returns a
:class:`Decomposition`: the atoms (learned on the recording, or given), the activations as
sparse events ``(atom, time, amplitude)``, the reconstruction and the residual, and a summary.
:func:`write_decomposition` writes it to a folder, all files or none.

How it works, on the library's public pieces only:

1. **Preparation.** Each channel's mean is removed (and added back to the reconstruction);
   the signal is divided by its RMS so that ``alpha`` means the same for a quiet and a loud
   recording.
2. **Atoms.** Learned by :class:`~dictlearn.signal.ConvolutionalDictionaryLearning` on the
   loudest windows of the recording (at most ``train_seconds`` of them), or the frame
   dictionary of :class:`~dictlearn.signal.FrameDecomposition` for ``method="frames"``.
3. **Coding.** The recording is coded block by block, left to right: each block's
   activations are found by :func:`~dictlearn.signal.csc_encode` on the block's signal minus
   what the previous blocks' atoms already explain (their tails reach into it), so memory
   stays bounded for a minute of 48 kHz audio and a progress line can follow the blocks.
   The penalty is ``alpha`` times the largest useful one, ``α_max = ‖𝒟ᵀx‖∞``, of the
   recording; ``nnz_per_second`` instead fixes the density: matching pursuit stops at that
   many atoms per second, the lasso methods choose their ``alpha`` by bisection on the
   loudest block.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.linalg

from .._loop import Progress
from .._validation import check_array, check_choice, check_nonneg_scalar, check_positive_int
from .._xp import to_host
from ..kernels.conv_mp import cross_correlation_table, support_gram
from ._conv import ConvOperator
from .coding import csc_encode, reconstruct

__all__ = ["DECOMPOSE_METHODS", "Decomposition", "debias", "decompose", "write_decomposition"]

#: ``method`` → (CSC method for coding, penalty kind).
DECOMPOSE_METHODS = {"cbpdn": ("lgcd", "l1"), "fista": ("fista", "l1"), "lgcd": ("lgcd", "l1"),
                     "mp": ("mp", "l0"), "omp": ("omp", "l0"), "frames": ("frames", "frames")}


@dataclass
class Decomposition:
    """A recording decomposed as ``x ≈ Σ_k d_k ∗ z_k``.

    Attributes
    ----------
    atoms : ndarray of shape (n_atoms, n_channels, atom_length)
        Unit-norm atoms (frame atoms for ``method="frames"``).
    events : dict of ndarray
        The nonzero activations: ``atom``, ``time`` (sample index of the atom's start) and
        ``amplitude`` (in the signal's units), sorted by time.
    reconstruction, residual : ndarray of shape (n_channels, n_times)
        ``reconstruction + residual`` is the input.
    sample_rate : int
    model : estimator or None
        The fitted :class:`~dictlearn.signal.ConvolutionalDictionaryLearning` or
        :class:`~dictlearn.signal.FrameDecomposition` (its ``save`` writes a file that
        ``dictionary=`` / ``--dictionary`` reuses).
    summary : dict
        ``snr_db``, ``nonzero_fraction`` (nonzero activations / (n_atoms · n_times)),
        ``nnz_per_second``, ``n_atoms``, ``atom_length_s``, ``sample_rate``, ``seconds``,
        ``n_channels``, ``method``, ``alpha`` (fraction of α_max), ``time_s``.
    """

    atoms: np.ndarray
    events: dict[str, np.ndarray]
    reconstruction: np.ndarray
    residual: np.ndarray
    sample_rate: int
    summary: dict[str, Any] = field(default_factory=dict)
    model: Any = field(default=None, repr=False)

    def activations(self) -> np.ndarray:
        """The dense activations, shape (n_atoms, n_times − atom_length + 1)."""
        K, _, L = self.atoms.shape
        Z = np.zeros((K, self.reconstruction.shape[1] - L + 1))
        np.add.at(Z, (self.events["atom"], self.events["time"]), self.events["amplitude"])
        return Z


def snr_db(x: np.ndarray, residual: np.ndarray) -> float:
    """``10 log10(‖x‖² / ‖x − x̂‖²)`` (inf for an exact reconstruction)."""
    num, den = float(np.sum(x * x)), float(np.sum(residual * residual))
    if den == 0.0:
        return math.inf
    return 10.0 * math.log10(max(num, np.finfo(float).tiny) / den)


def _on_host(a: Any) -> Any:
    """Array-API arrays (any library, any device) as host NumPy; anything else as it is."""
    return to_host(a) if hasattr(a, "__array_namespace__") and not isinstance(a, np.ndarray) \
        else a


def _training_windows(x: np.ndarray, length: int, train_seconds: float, sample_rate: int,
                      ) -> np.ndarray:
    """The loudest non-overlapping windows of ``length`` samples, at most ``train_seconds``
    in all, as (n_windows, n_channels, length)."""
    C, T = x.shape
    if T <= length:
        return x[None]
    n = T // length
    energy = np.sum(x[:, :n * length].reshape(C, n, length) ** 2, axis=(0, 2))
    keep = max(1, min(n, int(train_seconds * sample_rate) // length))
    best = np.sort(np.argsort(energy)[::-1][:keep])
    return np.stack([x[:, i * length:(i + 1) * length] for i in best])


def _events(Z: np.ndarray, offset: int) -> tuple[np.ndarray, ...]:
    k, t = np.nonzero(Z)
    return k, t + offset, Z[k, t]


def _block_length(atom_length: int, sample_rate: int) -> int:
    return max(16 * atom_length, int(sample_rate))  # about a second, at least 16 atoms


def _code_blocks(x: np.ndarray, atoms: np.ndarray, code_block, *, block: int,
                 progress: Progress) -> tuple[list, np.ndarray]:
    """Code ``x`` block by block; ``code_block(signal) -> Z`` (n_atoms, n_valid)."""
    _C, T = x.shape
    L = atoms.shape[2]
    n_valid = T - L + 1
    recon = np.zeros_like(x)
    events = []
    starts = list(range(0, n_valid, block))
    for i, s in enumerate(starts):
        e = min(s + block, n_valid)
        seg = x[:, s:e + L - 1] - recon[:, s:e + L - 1]
        Z = np.asarray(code_block(seg))
        recon[:, s:e + L - 1] += np.asarray(reconstruct(Z, atoms))
        events.append(_events(Z, s))
        progress.update(i + 1)
    return events, recon


def debias(seg: np.ndarray, atoms: np.ndarray, Z: np.ndarray, *,
           table: np.ndarray | None = None) -> np.ndarray:
    r"""Least-squares amplitudes on the lasso's support.

    The l1 penalty shrinks every amplitude by about ``α``; refitting on the support ``S``
    (the shifted atoms :math:`S_{t_i} d_{k_i}` with :math:`z_{k_i}[t_i] \ne 0`) removes that
    bias and keeps the sparsity. The refit solves the normal equations
    :math:`G_{SS}\,\gamma = b_S` exactly, with :math:`G_{SS}` the Gram matrix of the support
    read from the atoms' cross-correlation table
    (:func:`~dictlearn.kernels.conv_mp.support_gram`) and :math:`b_i = \langle x, S_{t_i}
    d_{k_i}\rangle` gathered from the signal: the cost grows with the support, not with the
    signal's length. A Cholesky factor of :math:`G_{SS}` plus a ridge of ``1e-10`` of its mean
    diagonal (for shifted atoms that are numerically dependent) solves it; should the result
    not lower the squared residual, the lasso's amplitudes are kept.

    Parameters
    ----------
    seg : ndarray of shape (n_channels, n_times)
    atoms : ndarray of shape (n_atoms, n_channels, atom_length)
    Z : ndarray of shape (n_atoms, n_times - atom_length + 1)
    table : ndarray, optional
        :func:`~dictlearn.kernels.conv_mp.cross_correlation_table` of ``atoms`` (computed
        when not given).

    Returns
    -------
    ndarray
        The refit codes, zero off the support of ``Z``.

    Examples
    --------
    >>> import numpy as np
    >>> d = np.array([[[1.0, 2.0, 1.0]]]) / np.sqrt(6)
    >>> x = np.zeros((1, 12)); x[0, 2:5] = 3 * d[0, 0]; x[0, 6:9] = -d[0, 0]
    >>> Z = np.zeros((1, 10)); Z[0, 2], Z[0, 6] = 2.5, -0.5  # shrunk amplitudes
    >>> np.round(debias(x, d, Z)[0, [2, 6]], 12) + 0.0
    array([ 3., -1.])
    """
    k, t = np.nonzero(Z)
    if k.size == 0:
        return Z
    L = atoms.shape[2]
    G = cross_correlation_table(atoms, xp=np) if table is None else table
    gram = support_gram(G, k, t, L)
    windows = np.lib.stride_tricks.sliding_window_view(seg, L, axis=-1)  # (C, T_v, L)
    b = np.empty(k.size, dtype=np.float64)
    for s in range(0, k.size, 4096):  # bounded memory: 4096 windows at a time
        sl = slice(s, s + 4096)
        b[sl] = np.einsum("icl,cil->i", atoms[k[sl]], windows[:, t[sl]])
    ridge = 1e-10 * float(np.mean(np.diag(gram)))
    try:
        factor = scipy.linalg.cho_factor(gram + ridge * np.eye(k.size), check_finite=False)
        gamma = scipy.linalg.cho_solve(factor, b, check_finite=False)
    except np.linalg.LinAlgError:
        gamma = scipy.linalg.lstsq(gram, b, check_finite=False)[0]
    old = Z[k, t]

    def energy(g):  # ‖x − Σ g_i S_{t_i} d_{k_i}‖² − ‖x‖²
        return float(g @ gram @ g - 2 * g @ b)
    if not (np.all(np.isfinite(gamma)) and energy(gamma) <= energy(old)):
        return Z
    out = np.zeros_like(Z)
    out[k, t] = gamma
    return out


def _learn_atoms(x: np.ndarray, sample_rate: int, *, n_atoms: int, atom_length: int,
                 alpha: float, method: str, train_seconds: float, max_iter: int,
                 random_state: Any, verbose: bool) -> Any:
    from .estimators import ConvolutionalDictionaryLearning

    windows = _training_windows(x, max(8 * atom_length, min(x.shape[1], sample_rate // 2)),
                                train_seconds, sample_rate)
    model = ConvolutionalDictionaryLearning(
        n_atoms=n_atoms, atom_length=atom_length, alpha_scale=alpha, max_iter=max_iter,
        method=method, coding_options={"tol": 1e-3, "max_iter": 100},
        init="chunk",  # uniform windows: 12.5 dB on tests/test_decompose.py's sound, 8.9 "events"
        random_state=random_state, verbose=verbose, sample_rate=sample_rate)
    return model.fit(windows)


def _alpha_for_density(seg: np.ndarray, atoms: np.ndarray, method: str, amax: float,
                       target: int) -> float:
    """The fraction of ``amax`` whose codes of ``seg`` have about ``target`` nonzeros
    (bisection on a log scale, warm-started)."""
    lo, hi = 1e-4, 1.0
    Z = None
    for _ in range(10):
        mid = math.sqrt(lo * hi)
        Z = csc_encode(seg, atoms, method=method, alpha=mid * amax, init=Z, tol=1e-4)
        nnz = int(np.count_nonzero(Z))
        if nnz > target:
            lo = mid
        else:
            hi = mid
    return math.sqrt(lo * hi)


def decompose(x: Any, sample_rate: int, *, n_atoms: int = 16, atom_length_s: float = 0.02,
              method: str = "cbpdn", alpha: float | None = None,
              nnz_per_second: float | None = None, dictionary: Any = None,
              train_seconds: float = 8.0, max_iter: int = 30, refit: bool = True,
              random_state: Any = 0, verbose: bool = False) -> Decomposition:
    r"""Decompose a signal into shift-invariant atoms and sparse activations.

    Parameters
    ----------
    x : array of shape (n_times,) or (n_channels, n_times)
        The recording (e.g. from :func:`~dictlearn.signal.read_wav`). ``decompose`` is host
        work (its results are events, NumPy arrays and files): an array of another library
        or on another device is copied to host NumPy once, explicitly.
    sample_rate : int
        Samples per second.
    n_atoms : int, default=16
        Atoms to learn (ignored when ``atoms`` is given).
    atom_length_s : float, default=0.02
        Atom duration in seconds (ignored when ``atoms`` is given).
    method : {"cbpdn", "fista", "lgcd", "mp", "omp", "frames"}, default="cbpdn"
        Coding: the convolutional lasso (``"cbpdn"``: ADMM, ``"fista"``, ``"lgcd"``), greedy
        convolutional matching pursuit (``"mp"``, ``"omp"``), or frame-based coding
        (``"frames"``: overlapping frames coded on a learned frame dictionary).
    alpha : float in (0, 1), optional
        The lasso penalty as a fraction of ``α_max`` (default 0.1 for the lasso methods).
    nnz_per_second : float, optional
        Nonzero activations per second instead of ``alpha``. Without it the greedy methods
        stop when the residual's energy is 1% of the signal's (20 dB), and ``"frames"`` uses
        4 nonzeros per frame.
    dictionary : array or fitted estimator, optional
        Atoms to use instead of learning them: an array of shape (n_atoms, atom_length) or
        (n_atoms, n_channels, atom_length), a fitted
        :class:`~dictlearn.signal.ConvolutionalDictionaryLearning`, or (``method="frames"``)
        a fitted :class:`~dictlearn.signal.FrameDecomposition`.
    train_seconds : float, default=8.0
        At most this much of the recording (its loudest windows) trains the atoms.
    max_iter : int, default=30
        Dictionary-learning iterations.
    refit : bool, default=True
        Lasso methods: refit the amplitudes on the support by least squares
        (:func:`debias`), which removes the l1 shrinkage (a few dB of SNR at equal sparsity).
    random_state : int, Generator or None, default=0
    verbose : bool, default=False
        Progress lines on stderr.

    Returns
    -------
    Decomposition

    Examples
    --------
    >>> import numpy as np
    >>> from dictlearn.signal import decompose
    >>> rng = np.random.default_rng(0)
    >>> t = np.arange(160) / 8000
    >>> click = np.sin(2 * np.pi * 1000 * t) * np.hanning(160)
    >>> x = np.zeros(8000)
    >>> for s in rng.choice(7800, 12, replace=False):
    ...     x[s:s + 160] += rng.uniform(0.5, 1.0) * click
    >>> d = decompose(x, 8000, n_atoms=2, atom_length_s=0.02, max_iter=10)
    >>> d.summary["snr_db"] > 10, d.reconstruction.shape
    (True, (1, 8000))
    """
    t0 = time.perf_counter()
    check_choice(method, "method", set(DECOMPOSE_METHODS))
    sample_rate = check_positive_int(sample_rate, "sample_rate")
    # host work (the events, the files): an array of another library or device is copied to
    # host NumPy once, explicitly; the results are NumPy
    x = np.asarray(check_array(np.asarray(_on_host(x), dtype=np.float64), "x", ndim=(1, 2),
                               axes=None))
    x2 = x[None] if x.ndim == 1 else x
    C, T = x2.shape
    mean = np.mean(x2, axis=1, keepdims=True)
    rms = float(np.sqrt(np.mean((x2 - mean) ** 2)))
    if rms == 0.0:
        raise ValueError("x is constant (silence): there is nothing to decompose")
    y = (x2 - mean) / rms
    if alpha is not None:
        alpha = check_nonneg_scalar(alpha, "alpha", allow_zero=False, upper=1.0,
                                    open_upper=True)
    if nnz_per_second is not None:
        nnz_per_second = check_nonneg_scalar(nnz_per_second, "nnz_per_second",
                                             allow_zero=False)
    coder, kind = DECOMPOSE_METHODS[method]
    if kind == "frames":
        return _decompose_frames(x2, y, mean, rms, sample_rate, n_atoms=n_atoms,
                                 atom_length_s=atom_length_s, nnz_per_second=nnz_per_second,
                                 model=dictionary, random_state=random_state,
                                 verbose=verbose, t0=t0)
    model = None
    if dictionary is None:
        n_atoms = check_positive_int(n_atoms, "n_atoms")
        L = round(check_nonneg_scalar(atom_length_s, "atom_length_s", allow_zero=False)
                      * sample_rate)
        if not 2 <= L <= T:
            raise ValueError(f"atom_length_s={atom_length_s} is {L} samples at {sample_rate} "
                             f"Hz; it must be between 2 samples and the signal ({T} samples)")
        model = _learn_atoms(y, sample_rate, n_atoms=n_atoms, atom_length=L,
                             alpha=0.1 if alpha is None else alpha,
                             method=coder if kind == "l1" else DECOMPOSE_METHODS["cbpdn"][0],
                             train_seconds=train_seconds, max_iter=max_iter,
                             random_state=random_state, verbose=verbose)
        D = np.asarray(model.components_, dtype=np.float64)
    else:
        atoms = _on_host(getattr(dictionary, "components_", dictionary))
        D = np.asarray(check_array(np.asarray(atoms, dtype=np.float64), "dictionary",
                                   ndim=(2, 3), atoms=True, axes=None))
        D = D[:, None, :] if D.ndim == 2 else D
        D = D / np.linalg.norm(D.reshape(D.shape[0], -1), axis=1)[:, None, None]
        if D.shape[1] != C:
            raise ValueError(f"the dictionary's atoms have {D.shape[1]} channel(s) but x has "
                             f"{C}")
        if D.shape[2] > T:
            raise ValueError(f"the dictionary's atoms ({D.shape[2]} samples) are longer than x "
                             f"({T} samples)")
    _K, _, L = D.shape
    block = _block_length(L, sample_rate)
    n_blocks = -(-(T - L + 1) // block)
    progress = Progress(n_blocks, "decompose", verbose, unit="block")
    if kind == "l0":
        per_block = None if nnz_per_second is None else max(
            1, round(nnz_per_second * block / sample_rate))

        def code_block(seg):
            if per_block is None:
                return csc_encode(seg, D, method=coder, tol=0.01)
            return csc_encode(seg, D, method=coder, n_nonzero_coefs=per_block)
        alpha_used = None
    else:
        amax = _alpha_max(y, D, block)
        if nnz_per_second is not None:
            loud = _training_windows(y, min(T, block + L - 1), 0, sample_rate)[0]
            target = max(1, round(nnz_per_second * loud.shape[1] / sample_rate))
            alpha_used = _alpha_for_density(loud, D, coder, amax, target)
        else:
            alpha_used = 0.1 if alpha is None else alpha

        table = cross_correlation_table(D, xp=np) if refit else None

        def code_block(seg):
            Z = csc_encode(seg, D, method=coder, alpha=alpha_used * amax, tol=1e-3,
                           max_iter=200)
            return debias(seg, D, np.asarray(Z), table=table) if refit else Z
    events, recon = _code_blocks(y, D, code_block, block=block, progress=progress)
    progress.close()
    atom, tt, amp = (np.concatenate([e[j] for e in events]) for j in range(3))
    order = np.argsort(tt, kind="stable")
    reconstruction = recon * rms + mean
    return _finish(x2, reconstruction, D, {"atom": atom[order], "time": tt[order],
                                           "amplitude": amp[order] * rms},
                   sample_rate, method, alpha_used, t0, model)


def _alpha_max(y: np.ndarray, D: np.ndarray, block: int) -> float:
    """``‖𝒟ᵀy‖∞`` computed block by block (bounded memory)."""
    L = D.shape[2]
    n_valid = y.shape[1] - L + 1
    best = 0.0
    for s in range(0, n_valid, block):
        seg = y[:, s:min(s + block, n_valid) + L - 1]
        op = ConvOperator.build(D, seg.shape[1], xp=np)
        best = max(best, float(op.alpha_max(seg[None])[0]))
    return best


def _finish(x, reconstruction, D, events, sample_rate, method, alpha, t0, model
            ) -> Decomposition:
    residual = x - reconstruction
    C, T = x.shape
    K, _, L = D.shape
    nnz = int(events["atom"].shape[0])
    summary = {
        "snr_db": round(snr_db(x - np.mean(x, axis=1, keepdims=True), residual), 3),
        "nonzero_fraction": nnz / (K * (T - L + 1)),
        "nnz": nnz,
        "nnz_per_second": nnz / (T / sample_rate),
        "n_atoms": K,
        "atom_length_s": L / sample_rate,
        "sample_rate": sample_rate,
        "seconds": T / sample_rate,
        "n_channels": C,
        "method": method,
        "alpha": alpha,
        "time_s": round(time.perf_counter() - t0, 3),
    }
    return Decomposition(D, events, reconstruction, residual, sample_rate, summary, model)


def _decompose_frames(x, y, mean, rms, sample_rate, *, n_atoms, atom_length_s, nnz_per_second,
                      model, random_state, verbose, t0) -> Decomposition:
    from .frames import FrameDecomposition

    if model is None:
        L = max(2, round(atom_length_s * sample_rate))
        hop = L // 2
        nnz = 4 if nnz_per_second is None else max(1, round(nnz_per_second * hop / sample_rate))
        model = FrameDecomposition(frame_length=L, hop=hop, n_atoms=n_atoms, method="omp",
                                   n_nonzero_coefs=min(nnz, n_atoms),
                                   random_state=random_state, verbose=verbose)
        model.fit(y)
    elif not isinstance(model, FrameDecomposition):
        raise TypeError("method='frames' takes a fitted FrameDecomposition as dictionary; got "
                        f"{type(model).__name__}")
    L, hop, n_atoms = model.frame_length, model.hop, model.components_.shape[0]
    codes = model.transform(y)
    recon = np.asarray(model.inverse_transform(codes)).reshape(y.shape) * rms + mean
    Z = np.asarray(codes.codes)
    f, k = np.nonzero(Z)
    events = {"atom": k, "time": f * hop, "amplitude": Z[f, k] * rms}
    D = np.asarray(model.components_).reshape(n_atoms, x.shape[0], L)
    return _finish(x, recon, D, events, sample_rate, "frames", None, t0, model)


def write_decomposition(result: Decomposition, out_dir: str | os.PathLike, *,
                        sample_format: str = "float32", signal: Any = None,
                        model: Any = None) -> list[Path]:
    """Write ``reconstruction.wav``, ``residual.wav``, ``atoms.png``, ``activations.png`` and
    ``summary.json`` (and ``dictionary.npz`` when ``model`` is given: the fitted dictionary,
    for ``dictionary=`` / ``--dictionary``) into ``out_dir``: all rendered in a temporary
    folder first, then moved, so that a failure leaves nothing half-written.

    Returns
    -------
    list of Path
        The files written.
    """
    from ..plotting import plot_activations, plot_conv_atoms
    from .io import write_wav

    out = Path(out_dir).absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    names = ["reconstruction.wav", "residual.wav", "atoms.png", "activations.png",
             "summary.json"]
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}-partial-") as tmp:
        tmp = Path(tmp)
        write_wav(tmp / names[0], result.reconstruction, result.sample_rate,
                  sample_format=sample_format, clip=True)
        write_wav(tmp / names[1], result.residual, result.sample_rate,
                  sample_format=sample_format, clip=True)
        fig = plot_conv_atoms(result.atoms, sample_rate=result.sample_rate)
        fig.savefig(tmp / names[2], dpi=110, bbox_inches="tight")
        fig = plot_activations(result, signal=signal)
        fig.savefig(tmp / names[3], dpi=110, bbox_inches="tight")
        (tmp / names[4]).write_text(json.dumps(result.summary, indent=2) + "\n")
        if model is not None:
            names.append("dictionary.npz")
            model.save(tmp / names[-1])
        out.mkdir(exist_ok=True)
        for name in names:
            os.replace(tmp / name, out / name)
    return [out / n for n in names]
