"""Synthetic sparse-coding problems with known ground truth.

Random numbers are drawn on the host with NumPy's Generator from ``random_state``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._validation import check_nonneg_scalar, check_positive_int
from ._xp import check_random_state, device_of, get_namespace

__all__ = ["SparseProblem", "image_patches", "make_sparse_problem", "natural_images",
           "random_dictionary", "sparse_problem_sampler", "whiten_image"]


@dataclass(frozen=True)
class SparseProblem:
    """A synthetic problem ``X = Z D + noise`` with its ground truth.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features)
    dictionary : ndarray of shape (n_atoms, n_features)
    codes : ndarray of shape (n_samples, n_atoms)
        The true sparse codes.
    noise_std : float
        Standard deviation of the added Gaussian noise (0 when noiseless).
    """

    X: np.ndarray
    dictionary: np.ndarray
    codes: np.ndarray
    noise_std: float


def random_dictionary(n_atoms: int, n_features: int, *, random_state: Any = None,
                      dtype: Any = np.float64) -> np.ndarray:
    """Gaussian dictionary with unit-norm rows (atoms), shape (n_atoms, n_features).

    Examples
    --------
    >>> D = random_dictionary(8, 4, random_state=0)
    >>> D.shape, bool(np.allclose(np.linalg.norm(D, axis=1), 1.0))
    ((8, 4), True)
    """
    n_atoms = check_positive_int(n_atoms, "n_atoms")
    n_features = check_positive_int(n_features, "n_features")
    rng = check_random_state(random_state)
    D = rng.standard_normal((n_atoms, n_features))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    return D.astype(dtype, copy=False)


def make_sparse_problem(n_samples: int = 1000, n_features: int = 64, n_atoms: int = 256,
                        n_nonzero_coefs: int | None = 5, *, dictionary: Any = None,
                        sparsity: float | None = None, code_distribution: str = "gaussian",
                        positive: bool = False, snr_db: float | None = None,
                        noise_scale: str = "global", dtype: Any = np.float64,
                        random_state: Any = None) -> SparseProblem:
    """Signals ``X = Z D + E`` from a known dictionary and sparse codes.

    Parameters
    ----------
    n_samples, n_features, n_atoms : int
        Sizes; ``n_features`` and ``n_atoms`` are taken from ``dictionary`` when given.
    n_nonzero_coefs : int or None, default=5
        Exactly this many nonzeros per code, on a uniformly drawn support.
    dictionary : array of shape (n_atoms, n_features), optional
        Use this dictionary instead of a unit-norm Gaussian one.
    sparsity : float in (0, 1], optional
        Bernoulli(``sparsity``) supports instead of exactly ``n_nonzero_coefs`` (the protocol of
        Chen et al. 2018: Bernoulli(0.1) × Gaussian).
    code_distribution : {"gaussian", "rademacher", "uniform"}
        Values on the support: N(0, 1), ±1, or ±U[1, 2] (bounded away from 0).
    positive : bool
        Non-negative code values (absolute values of the draws).
    snr_db : float, optional
        Add white Gaussian noise with std ``std(ZD)·10^(−snr_db/20)``; noiseless if None.
    noise_scale : {"global", "per_sample"}, default="global"
        ``std(ZD)`` over all signals, or per signal (each row at exactly ``snr_db``: the
        reference code of Chen et al. 2018).
    dtype : float32 or float64
    random_state : None, int or Generator

    Returns
    -------
    SparseProblem

    Examples
    --------
    >>> p = make_sparse_problem(10, 16, 32, 3, snr_db=30, random_state=0)
    >>> p.X.shape, p.codes.shape, int((p.codes != 0).sum(axis=1).max())
    ((10, 16), (10, 32), 3)
    """
    rng = check_random_state(random_state)
    n_samples = check_positive_int(n_samples, "n_samples")
    if dictionary is None:
        D = random_dictionary(n_atoms, n_features, random_state=rng)
    else:
        D = _float64_copy(dictionary)
        if D.ndim != 2:
            raise ValueError("dictionary must be 2-D (n_atoms, n_features); got shape "
                             f"{tuple(D.shape)}")
    # the draws below never depend on D's values: they are made on the host and moved once to
    # D's device, where X = Z D is formed (a dictionary on a GPU gives signals on that GPU)
    xp, dev = get_namespace(D), device_of(D)
    n_atoms = D.shape[0]
    if sparsity is not None:
        p = check_nonneg_scalar(sparsity, "sparsity", allow_zero=False, upper=1)
        support = rng.random((n_samples, n_atoms)) < p
    else:
        k = check_positive_int(n_nonzero_coefs, "n_nonzero_coefs", upper=n_atoms,
                               upper_name="n_atoms")
        order = np.argsort(rng.random((n_samples, n_atoms)), axis=1)[:, :k]
        support = np.zeros((n_samples, n_atoms), dtype=bool)
        np.put_along_axis(support, order, True, axis=1)
    if code_distribution == "gaussian":
        vals = rng.standard_normal((n_samples, n_atoms))
    elif code_distribution == "rademacher":
        vals = rng.choice([-1.0, 1.0], size=(n_samples, n_atoms))
    elif code_distribution == "uniform":
        vals = rng.uniform(1.0, 2.0, (n_samples, n_atoms)) * rng.choice([-1.0, 1.0],
                                                                        (n_samples, n_atoms))
    else:
        raise ValueError(
            "code_distribution must be 'gaussian', 'rademacher' or 'uniform'; "
            f"got {code_distribution!r}"
        )
    if positive:
        vals = np.abs(vals)
    Z = xp.asarray(np.where(support, vals, 0.0), device=dev)
    clean = Z @ D
    noise_std = 0.0
    X = clean
    if noise_scale not in ("global", "per_sample"):
        raise ValueError(f"noise_scale must be 'global' or 'per_sample'; got {noise_scale!r}")
    if snr_db is not None:
        factor = 10.0 ** (-float(snr_db) / 20.0)
        noise = xp.asarray(rng.standard_normal(tuple(clean.shape)), device=dev)
        if noise_scale == "global":
            noise_std = float(xp.std(clean) * factor)
            X = clean + noise_std * noise
        else:
            row_std = xp.std(clean, axis=1, keepdims=True) * factor
            noise_std = float(xp.sqrt(xp.mean(row_std**2)))
            X = clean + row_std * noise
    dt = getattr(xp, np.dtype(dtype).name)
    return SparseProblem(xp.astype(X, dt), xp.astype(D, dt), xp.astype(Z, dt), noise_std)


def _float64_copy(a: Any) -> Any:
    """A float64 copy of an array of any library (on its device), or of a nested list."""
    if not hasattr(a, "__array_namespace__") or isinstance(a, np.ndarray):
        return np.array(a, dtype=np.float64)
    xp = get_namespace(a)
    return xp.astype(a, xp.float64, copy=True)


def sparse_problem_sampler(dictionary: Any, **kwargs: Any) -> Any:
    """A callable ``(n_samples, rng) -> (X, Z)`` drawing fresh signals from one dictionary.

    Training on fresh draws at every step is the "infinite data" protocol of the LISTA papers
    (pass it as ``LISTA.fit(..., sampler=...)``). ``kwargs`` are those of
    :func:`make_sparse_problem` (``n_nonzero_coefs``, ``sparsity``, ``code_distribution``,
    ``positive``, ``snr_db``, ``noise_scale``, ``dtype``); they are checked once, here.

    Examples
    --------
    >>> import numpy as np
    >>> D = random_dictionary(32, 16, random_state=0)
    >>> draw = sparse_problem_sampler(D, n_nonzero_coefs=None, sparsity=0.1)
    >>> X, Z = draw(5, np.random.default_rng(0))
    >>> X.shape, Z.shape, bool(np.allclose(X, Z @ D))
    ((5, 16), (5, 32), True)
    """
    D = _float64_copy(dictionary)
    for bad in ("n_samples", "dictionary", "random_state", "n_features", "n_atoms"):
        if bad in kwargs:
            raise TypeError(f"sparse_problem_sampler does not take {bad!r}")
    make_sparse_problem(1, dictionary=D, random_state=0, **kwargs)  # validate once

    def draw(n_samples: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        p = make_sparse_problem(n_samples, dictionary=D, random_state=rng, **kwargs)
        return p.X, p.codes

    return draw


# --------------------------------------------------------------------------- natural images


def natural_images(*, gray: bool = True) -> list[np.ndarray]:
    """Real photographs shipped with installed packages (never downloaded).

    Collected from matplotlib's sample data (``grace_hopper.jpg``) and, when scikit-learn is
    installed, its sample images (``china.jpg``, ``flower.jpg``).

    Parameters
    ----------
    gray : bool, default=True
        Convert to luminance (ITU-R 601 weights); otherwise keep the RGB channels.

    Returns
    -------
    list of ndarray
        float64 images in [0, 1], each (height, width) or (height, width, 3).

    Raises
    ------
    ImportError
        When neither matplotlib nor scikit-learn provides a photograph.

    Examples
    --------
    >>> imgs = natural_images()
    >>> len(imgs) >= 1 and all(im.ndim == 2 for im in imgs)
    True
    """
    images: list[np.ndarray] = []
    try:
        import matplotlib.cbook as cbook
        import matplotlib.image as mpimg

        with cbook.get_sample_data("grace_hopper.jpg") as fh:
            images.append(np.asarray(mpimg.imread(fh, format="jpg")))
    except (ImportError, OSError, ValueError):
        pass
    try:
        from sklearn.datasets import load_sample_images

        images.extend(np.asarray(im) for im in load_sample_images().images)
    except (ImportError, OSError, ValueError):
        pass
    if not images:
        raise ImportError(
            "natural_images needs matplotlib (sample data) or scikit-learn (sample images): "
            "pip install matplotlib scikit-learn"
        )
    out = []
    for im in images:
        im = im.astype(np.float64)
        if im.max() > 1.0:
            im = im / 255.0
        if im.ndim == 3:
            im = im[..., :3]
            if gray:
                im = im @ np.array([0.299, 0.587, 0.114])
        out.append(im)
    return out


def whiten_image(image: Any, *, cutoff: float = 0.4, variance: float | None = 0.1) -> np.ndarray:
    r"""Whiten an image with the filter of Olshausen & Field (1996, 1997).

    The amplitude spectrum of natural images falls as :math:`1/f`; the filter

    .. math:: R(f) = f\, e^{-(f/f_0)^4}

    flattens it (the ramp ``f``) and rolls off the highest frequencies, where noise and
    aliasing dominate (the low-pass ``exp(-(f/f₀)⁴)``). Frequencies are in cycles per pixel;
    ``cutoff = f₀ = 0.4`` cycles/pixel is the ``f_0 = 0.4·N`` cycles/picture of Olshausen's
    code (200 cycles/picture on the paper's 512×512 images, i.e. 0.8 of the Nyquist
    frequency). The filtered image is then scaled to the given ``variance`` (0.1 in the
    paper's ``IMAGES.mat``).

    Parameters
    ----------
    image : array of shape (height, width)
    cutoff : float, default=0.4
        f₀ in cycles/pixel (Nyquist is 0.5).
    variance : float or None, default=0.1
        Variance of the result; None keeps the filter's scale.

    Returns
    -------
    ndarray of shape (height, width)

    Examples
    --------
    >>> im = np.random.default_rng(0).standard_normal((32, 32)).cumsum(0).cumsum(1)
    >>> w = whiten_image(im)
    >>> w.shape, round(float(w.var()), 6), abs(float(w.mean())) < 1e-12
    ((32, 32), 0.1, True)
    """
    im = np.asarray(image, dtype=np.float64)
    if im.ndim != 2:
        raise ValueError(f"image must be 2-D (height, width); got shape {im.shape}")
    if not np.all(np.isfinite(im)):
        raise ValueError("image contains NaN or infinity")
    cutoff = check_nonneg_scalar(cutoff, "cutoff", allow_zero=False)
    fy = np.fft.fftfreq(im.shape[0])[:, None]
    fx = np.fft.fftfreq(im.shape[1])[None, :]
    rho = np.sqrt(fx * fx + fy * fy)
    filt = rho * np.exp(-((rho / cutoff) ** 4))
    out = np.real(np.fft.ifft2(np.fft.fft2(im) * filt))
    if variance is not None:
        v = float(out.var())
        if v <= np.finfo(np.float64).eps * max(1.0, float(np.abs(im).max())) ** 2:
            raise ValueError("image is constant (zero variance): it cannot be whitened")
        out = out * np.sqrt(check_nonneg_scalar(variance, "variance", allow_zero=False) / v)
    return out


def _as_image_list(images: Any) -> list[np.ndarray]:
    if isinstance(images, np.ndarray) and images.ndim == 2:
        images = [images]
    elif isinstance(images, np.ndarray) and images.ndim == 3 and images.shape[-1] not in (3, 4):
        images = list(images)  # a stack of gray images
    elif isinstance(images, np.ndarray):
        images = [images]
    if not isinstance(images, (list, tuple)) or len(images) == 0:
        raise ValueError("images must be a 2-D array or a non-empty list of 2-D arrays")
    out = []
    for i, im in enumerate(images):
        im = np.asarray(im)
        if im.dtype == object or not np.issubdtype(im.dtype, np.number) \
                or np.issubdtype(im.dtype, np.complexfloating):
            raise TypeError(f"images[{i}] must be a real numeric array; got dtype {im.dtype}")
        im = im.astype(np.float64)
        if im.ndim == 3 and im.shape[-1] in (3, 4):
            im = im[..., :3] @ np.array([0.299, 0.587, 0.114])
        if im.ndim != 2:
            raise ValueError(f"images[{i}] must be 2-D (or RGB); got shape {im.shape}")
        if not np.all(np.isfinite(im)):
            raise ValueError(f"images[{i}] contains NaN or infinity")
        if float(im.max() - im.min()) == 0.0:
            raise ValueError(
                f"images[{i}] is constant (zero variance): it has no patch to learn from"
            )
        out.append(im)
    return out


def image_patches(images: Any, patch_size: int | tuple[int, int], n_patches: int, *,
                  whiten: bool = False, cutoff: float = 0.4, normalize: str | None = None,
                  dtype: Any = np.float64, random_state: Any = None) -> np.ndarray:
    r"""Random square (or rectangular) patches of images, as rows of a signal matrix.

    Parameters
    ----------
    images : array (height, width) or (n, height, width), or list of 2-D / RGB arrays
        RGB images are converted to luminance.
    patch_size : int or (int, int)
    n_patches : int
        Patches drawn uniformly over all positions of all images.
    whiten : bool, default=False
        Whiten each image first with :func:`whiten_image` (the 1/f whitening and low-pass
        filter of Olshausen & Field; image variance 0.1).
    cutoff : float, default=0.4
        f₀ of the whitening filter in cycles/pixel.
    normalize : {None, "center", "patch", "standardize"}, default=None
        ``"center"`` removes each patch's mean; ``"patch"`` removes it and scales each patch
        to unit l2 norm (SPAMS' convention); ``"standardize"`` removes each patch's mean and
        divides every pixel by its standard deviation over the set (scikit-learn's
        dictionary-learning examples). Patches with zero variance are redrawn for
        ``"patch"`` (they have no direction); a clear error is raised when too few remain.
    dtype : float32 or float64
    random_state : None, int or Generator

    Returns
    -------
    ndarray of shape (n_patches, patch_height * patch_width)
        Row-major flattened patches.

    Examples
    --------
    >>> im = np.random.default_rng(0).random((20, 30))
    >>> P = image_patches(im, 8, 100, normalize="patch", random_state=0)
    >>> P.shape, bool(np.allclose(np.linalg.norm(P, axis=1), 1.0))
    ((100, 64), True)
    """
    from ._validation import check_choice

    rng = check_random_state(random_state)
    if isinstance(patch_size, (tuple, list)):
        if len(patch_size) != 2:
            raise ValueError(f"patch_size must be an int or (height, width); got {patch_size}")
        ph = check_positive_int(patch_size[0], "patch_size[0]")
        pw = check_positive_int(patch_size[1], "patch_size[1]")
    else:
        ph = pw = check_positive_int(patch_size, "patch_size")
    n_patches = check_positive_int(n_patches, "n_patches")
    if normalize is not None:
        check_choice(normalize, "normalize", {"center", "patch", "standardize"})
    ims = _as_image_list(images)
    for i, im in enumerate(ims):
        if im.shape[0] < ph or im.shape[1] < pw:
            raise ValueError(
                f"patch_size {(ph, pw)} is larger than images[{i}] of shape {im.shape}"
            )
    if whiten:
        ims = [whiten_image(im, cutoff=cutoff) for im in ims]
    counts = np.array([(im.shape[0] - ph + 1) * (im.shape[1] - pw + 1) for im in ims])
    probs = counts / counts.sum()
    scale = max(float(np.abs(im).max()) for im in ims)
    flat_tol = 1e-10 * max(scale, 1e-300) ** 2

    def draw(k: int) -> np.ndarray:
        which = rng.choice(len(ims), size=k, p=probs)
        out = np.empty((k, ph * pw))
        for idx in range(len(ims)):
            sel = np.flatnonzero(which == idx)
            if sel.size == 0:
                continue
            im = ims[idx]
            r = rng.integers(0, im.shape[0] - ph + 1, size=sel.size)
            c = rng.integers(0, im.shape[1] - pw + 1, size=sel.size)
            win = np.lib.stride_tricks.sliding_window_view(im, (ph, pw))
            out[sel] = win[r, c].reshape(sel.size, -1)
        return out

    P = draw(n_patches)
    if normalize == "patch":
        for _ in range(20):
            flat = P.var(axis=1) <= flat_tol
            if not flat.any():
                break
            P[flat] = draw(int(flat.sum()))
        else:
            raise ValueError(
                "too many zero-variance (flat) patches: the images are (nearly) constant "
                f"at the scale of {ph}x{pw} patches"
            )
    if normalize in ("center", "patch", "standardize"):
        P = P - P.mean(axis=1, keepdims=True)
    if normalize == "patch":
        P = P / np.linalg.norm(P, axis=1, keepdims=True)
    elif normalize == "standardize":
        std = P.std(axis=0)
        if np.any(std <= np.sqrt(flat_tol)):
            raise ValueError("a pixel position has zero variance over the patches: "
                             "the images are (nearly) constant")
        P = P / std
    if not np.any(P):
        raise ValueError("all patches are zero: the images are constant at this patch size")
    return P.astype(dtype)
