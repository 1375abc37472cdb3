"""dictlearn: sparse coding and dictionary learning on any array backend.

The names below load on first use (:mod:`dictlearn._lazy`): ``import dictlearn`` imports
no other dictlearn module than :mod:`dictlearn._lazy`, and neither NumPy, scikit-learn,
matplotlib, numba nor scipy. The registries (``METHODS``, ``LEARNERS``) list every built-in
name and import a method's or learner's module when it is first looked up.
"""

from typing import TYPE_CHECKING

from ._lazy import attach

if TYPE_CHECKING:  # the one list of exports: read by `attach` below, type checkers and the docs
    from . import amortized as amortized
    from . import anomaly as anomaly
    from . import coding as coding
    from . import datasets, learning, metrics
    from . import objectives as objectives
    from . import prox as prox
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

__getattr__, __dir__ = attach(__name__, __file__)

__version__ = "0.1.0"

__all__ = ["LISTA", "METHODS", "ConvergenceWarning", "DictionaryLearning", "DictlearnWarning",
           "Info", "MethodSpec", "NonFiniteWarning", "Result", "SparseAutoencoder", "SparseCoder",
           "SparseOutlierDetector", "Status", "TrainingDivergedWarning", "__version__",
           "compare_inference", "datasets",
           "dict_learning", "fista", "iht", "ista", "lasso", "lasso_duality_gap",
           "lasso_objective", "learning", "lipschitz_constant", "method_spec", "metrics", "omp",
           "register_method", "sparse_encode"]
