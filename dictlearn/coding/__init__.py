"""Iterative inference: the shared step, ISTA/FISTA and the registry behind ``sparse_encode``."""

from ._registry import METHODS, register_method
from .encode import sparse_encode
from .iht import iht
from .lasso_cd import lasso
from .omp import omp
from .proximal_gradient import fista, ista, proximal_gradient
from .step import LeastSquares, proximal_step

__all__ = [
    "METHODS",
    "LeastSquares",
    "fista",
    "iht",
    "ista",
    "lasso",
    "omp",
    "proximal_gradient",
    "proximal_step",
    "register_method",
    "sparse_encode",
]
