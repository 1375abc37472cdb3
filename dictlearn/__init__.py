"""dictlearn: sparse coding and dictionary learning on any array backend.

The names below load on first use (:mod:`dictlearn._lazy`): ``import dictlearn`` imports
neither scikit-learn, matplotlib, numba nor scipy.
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

# The modules that register coding methods and learners are imported now (NumPy only, no
# scikit-learn): the registries (METHODS, LEARNERS) are complete once dictlearn is imported.
from . import coding as _coding  # noqa: E402,F401
from .learning import ksvd as _ksvd  # noqa: E402,F401
from .learning import mod as _mod  # noqa: E402,F401
from .learning import olshausen_field as _olshausen_field  # noqa: E402,F401
from .learning import online as _online  # noqa: E402,F401

__version__ = "0.1.0"

__all__ = ["LISTA", "METHODS", "ConvergenceWarning", "DictionaryLearning", "DictlearnWarning",
           "Info", "MethodSpec", "NonFiniteWarning", "Result", "SparseAutoencoder", "SparseCoder",
           "SparseOutlierDetector", "Status", "TrainingDivergedWarning", "__version__",
           "compare_inference", "datasets",
           "dict_learning", "fista", "iht", "ista", "lasso", "lasso_duality_gap",
           "lasso_objective", "learning", "lipschitz_constant", "method_spec", "metrics", "omp",
           "register_method", "sparse_encode"]
