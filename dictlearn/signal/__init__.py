"""Signals and audio: convolutional (shift-invariant) sparse coding and dictionary learning,
framing with exact overlap-add, and WAV in/out."""

from ._conv import ConvOperator
from .admm import csc_admm
from .coding import (
    CSC_METHODS,
    csc_encode,
    csc_fista,
    csc_method_spec,
    csc_objective,
    reconstruct,
    register_csc_method,
)
from .greedy import csc_mp, csc_omp

__all__ = ["CSC_METHODS", "ConvOperator", "csc_admm", "csc_encode", "csc_fista",
           "csc_method_spec", "csc_mp", "csc_objective", "csc_omp", "reconstruct",
           "register_csc_method"]
