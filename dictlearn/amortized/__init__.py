"""Amortized inference: the LISTA family and sparse autoencoders on the shared proximal step.

Training is written in array-API code: the backward pass of K unrolled steps
(:mod:`.unrolled`, on the step of :mod:`dictlearn.coding.step` and the maps of
:mod:`dictlearn.prox`), the losses and penalties of :mod:`dictlearn.objectives`, optimisers
(:mod:`.optim`) and one mini-batch loop (:mod:`.train`).
"""

from .autoencoder import SparseAutoencoder
from .compare import ComparisonTable, compare_inference
from .lista import LISTA, alista_weight
from .optim import SGD, Adam, AdamState, SGDState
from .train import train

__all__ = [
    "LISTA",
    "SGD",
    "Adam",
    "AdamState",
    "ComparisonTable",
    "SGDState",
    "SparseAutoencoder",
    "alista_weight",
    "compare_inference",
    "train",
]
