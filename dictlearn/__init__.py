"""dictlearn: sparse coding and dictionary learning on any array backend."""

from . import datasets, metrics
from ._loop import LoopState, Result, Status
from .amortized import LISTA, SparseAutoencoder, compare_inference
from .coding import METHODS, fista, ista, register_method, sparse_encode
from .estimators import SparseCoder
from .objectives import lasso_duality_gap, lasso_objective, lipschitz_constant

__version__ = "0.1.0"

__all__ = [
    "LISTA",
    "METHODS",
    "LoopState",
    "Result",
    "SparseAutoencoder",
    "SparseCoder",
    "Status",
    "__version__",
    "compare_inference",
    "datasets",
    "fista",
    "ista",
    "lasso_duality_gap",
    "lasso_objective",
    "lipschitz_constant",
    "metrics",
    "register_method",
    "sparse_encode",
]
