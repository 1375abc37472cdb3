"""Signals and audio: convolutional (shift-invariant) sparse coding and dictionary learning,
framing with exact overlap-add, and WAV in/out."""

from ._conv import ConvOperator
from .coding import (
    CSC_METHODS,
    csc_encode,
    csc_fista,
    csc_method_spec,
    csc_objective,
    reconstruct,
    register_csc_method,
)
from .lgcd import csc_lgcd

__all__ = ["CSC_METHODS", "ConvOperator", "csc_encode", "csc_fista", "csc_lgcd", "csc_method_spec",
           "csc_objective", "reconstruct", "register_csc_method"]
