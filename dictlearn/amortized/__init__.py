"""Amortized inference: the LISTA family and sparse autoencoders on the shared proximal step.

Training is written in array-API code: the backward passes (:mod:`.backward`), losses and
penalties (:mod:`.losses`), optimisers (:mod:`.optim`) and one mini-batch loop (:mod:`.train`).
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
