"""Iterative inference: the shared step, ISTA/FISTA, OMP, IHT, the exact lasso, and the registry
(with each method's metadata) behind ``sparse_encode``."""

from typing import TYPE_CHECKING

from .._lazy import attach

if TYPE_CHECKING:  # the exports, loaded on first use by `attach` (dictlearn._lazy)
    from ._registry import METHODS, SPECS, MethodSpec, MethodTable, method_spec, register_method
    from .encode import sparse_encode
    from .iht import iht
    from .lasso_cd import lasso
    from .omp import omp
    from .proximal_gradient import fista, ista, proximal_gradient, solve_proximal_gradient
    from .step import LeastSquares, proximal_step

__getattr__, __dir__ = attach(__name__, __file__)

__all__ = ["METHODS", "SPECS", "LeastSquares", "MethodSpec", "MethodTable", "fista", "iht", "ista",
           "lasso", "method_spec", "omp", "proximal_gradient", "proximal_step", "register_method",
           "solve_proximal_gradient", "sparse_encode"]
