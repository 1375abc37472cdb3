r"""Signals with known structure: planted convolutional problems, a synthetic sound, and the
EEG recording matplotlib ships.

Random numbers are drawn on the host with NumPy's Generator from ``random_state``; nothing is
downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import as_array, check_nonneg_scalar, check_positive_int
from .._xp import check_random_state, device_of, get_namespace

__all__ = ["CSCProblem", "Sound", "eeg_sample", "make_csc_problem", "make_sound",
           "sound_atoms"]


@dataclass(frozen=True)
class CSCProblem:
    """Signals ``x = Σ_k d_k ∗ z_k + noise`` with their ground truth.

    Attributes
    ----------
    X : ndarray of shape (n_signals, n_channels, n_times)
    atoms : ndarray of shape (n_atoms, n_channels, atom_length)
        Unit-norm atoms.
    codes : ndarray of shape (n_signals, n_atoms, n_times − atom_length + 1)
        The planted activations.
    noise_std : float
    """

    X: np.ndarray
    atoms: np.ndarray
    codes: np.ndarray
    noise_std: float


def _smooth_atoms(n_atoms: int, n_channels: int, length: int, rng: np.random.Generator
                  ) -> np.ndarray:
    """Windowed sinusoids of distinct frequencies and phases, one spatial pattern per atom."""
    t = np.arange(length) / length
    freqs = np.linspace(1.0, max(2.0, length / 6), n_atoms) * rng.uniform(0.9, 1.1, n_atoms)
    wave = np.sin(2 * np.pi * freqs[:, None] * t + rng.uniform(0, 2 * np.pi, (n_atoms, 1)))
    wave *= np.hanning(length + 2)[1:-1]
    space = rng.standard_normal((n_atoms, n_channels))
    D = space[:, :, None] * wave[:, None, :]
    return D / np.linalg.norm(D.reshape(n_atoms, -1), axis=1)[:, None, None]


def sound_atoms(n_atoms: int, atom_length: int, sample_rate: int, *,
                random_state: Any = None) -> np.ndarray:
    """Unit-norm atoms that sound like events, a third each: plucked strings (four
    harmonics of a random fundamental in 100–800 Hz, exponentially decaying), clicks (a
    decaying noise burst) and chirps (a Hann-windowed linear sweep between two random
    frequencies in 200–2000 Hz). The atoms of ``python -m dictlearn.bench csc``'s planted
    problem (with :func:`make_csc_problem`).

    Examples
    --------
    >>> D = sound_atoms(3, 64, 8000, random_state=0)
    >>> D.shape, bool(np.allclose(np.linalg.norm(D[:, 0], axis=1), 1.0))
    ((3, 1, 64), True)
    """
    rng = check_random_state(random_state)
    n_atoms = check_positive_int(n_atoms, "n_atoms")
    length = check_positive_int(atom_length, "atom_length")
    t = np.arange(length) / check_positive_int(sample_rate, "sample_rate")
    D = np.empty((n_atoms, length))
    for k in range(n_atoms):
        kind = k % 3
        if kind == 0:  # plucked string: harmonics of f0 with a decay
            f0 = rng.uniform(100, 800)
            D[k] = sum(np.sin(2 * np.pi * h * f0 * t + rng.uniform(0, 2 * np.pi)) / h
                       for h in range(1, 5)) * np.exp(-t * rng.uniform(20, 80) * 16000 / length)
        elif kind == 1:  # click: a decaying noise burst
            D[k] = rng.standard_normal(length) * np.exp(-np.arange(length) / (0.05 * length))
        else:  # chirp under a Hann window
            f1, f2 = rng.uniform(200, 2000, size=2)
            D[k] = np.sin(2 * np.pi * (f1 * t + (f2 - f1) * t ** 2 / (2 * t[-1]))) * \
                np.hanning(length)
    return (D / np.linalg.norm(D, axis=1, keepdims=True))[:, None, :]


def make_csc_problem(n_signals: int = 1, n_times: int = 1000, n_atoms: int = 3,
                     atom_length: int = 32, *, n_channels: int = 1, n_events: int = 5,
                     separation: int | None = None, snr_db: float | None = 30.0,
                     atoms: Any = None, random_state: Any = None) -> CSCProblem:
    """Planted shift-invariant signals: ``n_events`` activations per signal at random shifts,
    at least ``separation`` samples apart (default ``atom_length``: the regime where
    recovery can be tested, THEORY.md), amplitudes ±U(1, 2), each of a random atom. The
    atoms are smooth windowed sinusoids, or ``atoms`` (n_atoms, [n_channels,] atom_length)
    when given: their shape then sets ``n_atoms``, ``n_channels`` and ``atom_length``.

    Examples
    --------
    >>> p = make_csc_problem(2, 400, 3, 20, n_events=4, random_state=0)
    >>> p.X.shape, p.atoms.shape, p.codes.shape, int((p.codes != 0).sum())
    ((2, 1, 400), (3, 1, 20), (2, 3, 381), 8)
    """
    rng = check_random_state(random_state)
    n_signals = check_positive_int(n_signals, "n_signals")
    n_events = check_positive_int(n_events, "n_events")
    if atoms is not None:  # the given atoms fix the number of atoms and their length
        atoms = as_array(atoms, "atoms")
        xa = get_namespace(atoms)
        atoms = xa.astype(atoms, xa.float64, copy=True)  # on their device: X is formed there
        atoms = atoms[:, None, :] if atoms.ndim == 2 else atoms
        n_atoms, atom_length = atoms.shape[0], atoms.shape[-1]
    L = check_positive_int(atom_length, "atom_length")
    sep = L if separation is None else check_positive_int(separation, "separation")
    T = check_positive_int(n_times, "n_times")
    n_valid = T - L + 1
    if n_valid < 1 or n_events > 1 + (n_valid - 1) // sep:
        raise ValueError(f"{n_events} events at least {sep} samples apart do not fit in "
                         f"{n_valid} valid shifts (n_times={T}, atom_length={L})")
    D = _smooth_atoms(check_positive_int(n_atoms, "n_atoms"),
                      check_positive_int(n_channels, "n_channels"), L, rng) \
        if atoms is None else atoms
    K = D.shape[0]
    Z = np.zeros((n_signals, K, n_valid))
    for i in range(n_signals):
        # n_events gaps of >= sep: spread the slack at random
        slack = n_valid - 1 - (n_events - 1) * sep
        cuts = np.sort(rng.integers(0, slack + 1, n_events))
        shifts = cuts + np.arange(n_events) * sep
        Z[i, rng.integers(0, K, n_events), shifts] = (
            rng.choice([-1.0, 1.0], n_events) * rng.uniform(1.0, 2.0, n_events))
    from .coding import reconstruct

    # the draws never depend on the atoms' values: made on the host, moved once to their device
    xp = get_namespace(D)
    Z = xp.asarray(Z, device=device_of(D))
    X = reconstruct(Z, D)
    std = 0.0
    if snr_db is not None:
        power = float(xp.mean(X ** 2))
        std = float(np.sqrt(power / 10 ** (check_nonneg_scalar(snr_db, "snr_db") / 10)))
        X = X + std * xp.asarray(rng.standard_normal(tuple(X.shape)), device=device_of(D))
    return CSCProblem(X, D, Z, std)


@dataclass(frozen=True)
class Sound:
    """A synthetic recording and what made it.

    Attributes
    ----------
    x : ndarray of shape (n_times,)
        Samples in [-1, 1].
    sample_rate : int
    events : list of dict
        One per event: ``kind`` ("pluck", "click" or "chirp"), ``start`` (seconds) and its
        parameters.
    """

    x: np.ndarray
    sample_rate: int
    events: list[dict]


def make_sound(seconds: float = 3.0, sample_rate: int = 16000, *, n_plucks: int = 6,
               n_clicks: int = 10, n_chirps: int = 3, noise_db: float = -40.0,
               random_state: Any = None) -> Sound:
    r"""Plucked strings, clicks and chirps at random times: a sound made of a few kinds of
    events, the test case of shift-invariant decomposition.

    - pluck: Karplus–Strong string (a noise burst in a delay line of one period, averaged
      and damped each period) at a note of the A minor pentatonic scale, 0.4 s;
    - click: a 3 ms burst of decaying noise;
    - chirp: a Hann-windowed linear sweep of 0.15 s between two random frequencies.

    Normalised to a peak of 0.9, plus white noise ``noise_db`` below the peak.

    Examples
    --------
    >>> s = make_sound(1.0, 8000, random_state=0)
    >>> s.x.shape, s.sample_rate, float(abs(s.x).max()) <= 1.0
    ((8000,), 8000, True)
    """
    rng = check_random_state(random_state)
    rate = check_positive_int(sample_rate, "sample_rate")
    T = round(check_nonneg_scalar(seconds, "seconds", allow_zero=False) * rate)
    x = np.zeros(T)
    events: list[dict] = []

    def add(wave: np.ndarray, kind: str, **params: Any) -> None:
        start = int(rng.integers(0, max(1, T - wave.size)))
        seg = wave[:T - start]
        x[start:start + seg.size] += seg
        events.append({"kind": kind, "start": start / rate, **params})

    notes = 220.0 * 2 ** (np.array([0, 3, 5, 7, 10, 12]) / 12)
    for _ in range(n_plucks):
        f0 = float(rng.choice(notes))
        period = max(2, round(rate / f0))
        n = int(0.4 * rate)
        buf = rng.uniform(-1, 1, period)
        out = np.empty(n)
        for i in range(n):  # Karplus–Strong: average two samples of the delay line, damp
            out[i] = buf[i % period]
            buf[i % period] = 0.996 * 0.5 * (buf[i % period] + buf[(i + 1) % period])
        add(rng.uniform(0.5, 1.0) * out, "pluck", frequency=f0)
    for _ in range(n_clicks):
        n = max(2, int(0.003 * rate))
        click = rng.standard_normal(n) * np.exp(-np.arange(n) / (n / 4))
        add(rng.uniform(0.3, 0.8) * click / np.max(np.abs(click)), "click")
    for _ in range(n_chirps):
        n = int(0.15 * rate)
        f1, f2 = rng.uniform(300, min(4000, rate / 2.5), 2)
        t = np.arange(n) / rate
        phase = 2 * np.pi * (f1 * t + 0.5 * (f2 - f1) / t[-1] * t ** 2)
        add(rng.uniform(0.3, 0.7) * np.sin(phase) * np.hanning(n), "chirp", f_start=f1,
            f_end=f2)
    x *= 0.9 / max(float(np.max(np.abs(x))), 1e-12)
    x += 0.9 * 10 ** (noise_db / 20) * rng.standard_normal(T)
    np.clip(x, -1.0, 1.0, out=x)
    events.sort(key=lambda e: e["start"])
    return Sound(x, rate, events)


def eeg_sample() -> tuple[np.ndarray, int]:
    """The four-channel EEG recording shipped with matplotlib (``eeg.dat``, used in its
    "MRI with EEG" example): 800 samples per channel over 10 s.

    Returns
    -------
    x : ndarray of shape (4, 800), float64
    sample_rate : int
        80 (Hz).

    Examples
    --------
    >>> x, rate = eeg_sample()
    >>> x.shape, rate
    ((4, 800), 80)
    """
    from matplotlib import cbook

    with cbook.get_sample_data("eeg.dat") as f:
        data = np.frombuffer(f.read(), dtype="<f8")
    return data.reshape(800, 4).T.copy(), 80
