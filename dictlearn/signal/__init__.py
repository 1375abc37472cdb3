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
from .data import CSCProblem, Sound, eeg_sample, make_csc_problem, make_sound
from .decompose import Decomposition, decompose, write_decomposition
from .estimators import ConvolutionalDictionaryLearning, ConvolutionalSparseCoder
from .learning import learn_conv_dictionary

__all__ = [
    "CSC_METHODS", "CSCProblem", "ConvOperator", "ConvolutionalDictionaryLearning",
    "ConvolutionalSparseCoder", "Decomposition", "Sound", "csc_encode", "csc_fista",
    "csc_method_spec", "csc_objective", "decompose", "eeg_sample", "learn_conv_dictionary",
    "make_csc_problem", "make_sound", "reconstruct", "register_csc_method",
    "write_decomposition",
]
