"""``sparse_encode``: one entry point over the registry of coding methods."""

from __future__ import annotations

from typing import Any

from ..distributed import is_dask_array
from ._blocks import encode_blocks
from ._registry import method_spec

__all__ = ["sparse_encode"]


def sparse_encode(X: Any, dictionary: Any, *, method: str = "fista", return_result: bool = False,
                  batch_size: int | str | None = "auto", **options: Any) -> Any:
    r"""Sparse codes of the rows of ``X`` on the atoms (rows) of ``dictionary``.

    For the lasso methods (``"ista"``, ``"fista"`` and the exact solvers) each row ``z`` of the
    result minimises :math:`\tfrac12\|x - zD\|_2^2 + \alpha\|z\|_1` — the same objective as
    scikit-learn's ``sparse_encode(X, D, algorithm="lasso_lars", alpha=alpha)`` and SPAMS'
    ``lasso(lambda1=alpha)``.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        Or a Dask array chunked by rows: the codes are then a lazy Dask array, each chunk
        coded on its worker (:mod:`dictlearn.distributed`).
    dictionary : array of shape (n_atoms, n_features)
    method : str, default="fista"
        A name in :data:`dictlearn.METHODS` (``"ista"``, ``"fista"``, ``"lasso"``, ``"omp"``,
        ``"iht"``, ``"cauchy"`` and those registered later; see :func:`dictlearn.method_spec`).
    return_result : bool, default=False
        Return the method's :class:`~dictlearn.Result` (status, iterations) instead of codes.
    batch_size : int, "auto" or None, default="auto"
        Code ``X`` in blocks of this many rows (:mod:`dictlearn.coding._blocks`); the codes
        are those of one call (to the last bit of a BLAS product). ``"auto"``: blocks whose
        codes take 8 MiB (4,096 rows for 256 float64 atoms), so that the peak memory is ``X``
        + ``Z`` plus one block's working set, whatever ``n_samples``: at most about 14
        arrays of a block's codes (≤ 112 MiB for 256 float64 atoms; measured in
        docs/distributed.md, "Memory: row blocks"); ``None``: one block. A call with ``callback`` or
        ``record_history`` is one block. With ``return_result=True`` the blocks' results are
        joined: per-sample arrays stacked, the largest ``n_iter`` and the worst status.
    **options
        Passed to the method: ``alpha``, ``positive``, ``init``, ``max_iter``, ``tol``, … An
        option the method does not take raises ``TypeError``.

    Returns
    -------
    codes : array of shape (n_samples, n_atoms)
        In the caller's array library, on its device, float32 for float32 inputs.

    Examples
    --------
    >>> import numpy as np, dictlearn
    >>> D = np.eye(3); X = np.array([[1.0, -0.05, 0.3]])
    >>> np.round(dictlearn.sparse_encode(X, D, alpha=0.1), 6)
    array([[0.9, 0. , 0.2]])
    """
    if is_dask_array(X):  # a lazy Dask array of codes (dictlearn.distributed)
        if return_result:
            raise TypeError("return_result=True needs X in memory; with a Dask array X, "
                            "sparse_encode returns the lazy codes")
        from ..distributed import encode

        return encode(X, dictionary, method=method, batch_size=batch_size, **options)
    result = encode_blocks(method_spec(method).fn, X, dictionary, batch_size, options)
    return result if return_result else result.codes
