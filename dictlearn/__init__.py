"""dictlearn: sparse coding and dictionary learning on any array backend."""

from . import datasets, learning, metrics
from ._loop import (
    ConvergenceWarning,
    DictlearnWarning,
    Info,
    NonFiniteWarning,
    Result,
    Status,
    TrainingDivergedWarning,
)
from .amortized import LISTA, SparseAutoencoder, compare_inference
from .anomaly import SparseOutlierDetector
from .coding import (
    METHODS,
    MethodSpec,
    fista,
    iht,
    ista,
    lasso,
    method_spec,
    omp,
    register_method,
    sparse_encode,
)
from .estimators import SparseCoder
from .learning import DictionaryLearning, dict_learning
from .objectives import lasso_duality_gap, lasso_objective, lipschitz_constant

__version__ = "0.1.0"

__all__ = ["LISTA", "METHODS", "ConvergenceWarning", "DictionaryLearning", "DictlearnWarning",
           "Info", "MethodSpec", "NonFiniteWarning", "Result", "SparseAutoencoder", "SparseCoder",
           "SparseOutlierDetector", "Status", "TrainingDivergedWarning", "__version__",
           "compare_inference", "datasets",
           "dict_learning", "fista", "iht", "ista", "lasso", "lasso_duality_gap",
           "lasso_objective", "learning", "lipschitz_constant", "method_spec", "metrics", "omp",
           "register_method", "sparse_encode"]
