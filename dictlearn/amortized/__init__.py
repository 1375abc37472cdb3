"""Amortized inference: the LISTA family and sparse autoencoders on the shared proximal step.

Training is written in array-API code: the backward pass of K unrolled steps
(:mod:`.unrolled`, on the step of :mod:`dictlearn.coding.step` and the maps of
:mod:`dictlearn.prox`), the losses and penalties of :mod:`dictlearn.objectives`, optimisers
(:mod:`.optim`) and one mini-batch loop (:mod:`.train`). The LISTA variants are a table of
small objects (:mod:`.variants`).
"""

from typing import TYPE_CHECKING

from .._lazy import attach

if TYPE_CHECKING:  # the exports, loaded on first use by `attach` (dictlearn._lazy)
    from .autoencoder import SparseAutoencoder
    from .compare import ComparisonTable, compare_inference
    from .diagnose import DepthWarning
    from .lista import LISTA, alista_lipschitz, alista_weight
    from .optim import SGD, Adam, AdamState, SGDState
    from .train import train
    from .variants import VARIANTS, LayerWeights, Variant

__getattr__, __dir__ = attach(__name__, __file__)

__all__ = ["LISTA", "SGD", "VARIANTS", "Adam", "AdamState", "ComparisonTable", "DepthWarning",
           "LayerWeights", "SGDState", "SparseAutoencoder", "Variant", "alista_lipschitz",
           "alista_weight", "compare_inference", "train"]
