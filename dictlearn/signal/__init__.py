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
from .data import CSCProblem, Sound, eeg_sample, make_csc_problem, make_sound, sound_atoms
from .decompose import Decomposition, decompose, write_decomposition
from .estimators import ConvolutionalDictionaryLearning, ConvolutionalSparseCoder
from .frames import FrameCodes, FrameDecomposition
from .framing import FrameLayout, check_cola, cola_hops, frame, get_frame_window, overlap_add
from .greedy import csc_mp, csc_omp
from .io import SAMPLE_FORMATS, read_wav, resample, write_wav
from .learning import learn_conv_dictionary
from .lgcd import csc_lgcd

__all__ = [
    "CSC_METHODS",
    "SAMPLE_FORMATS",
    "CSCProblem",
    "ConvOperator",
    "ConvolutionalDictionaryLearning",
    "ConvolutionalSparseCoder",
    "Decomposition",
    "FrameCodes",
    "FrameDecomposition",
    "FrameLayout",
    "Sound",
    "check_cola",
    "cola_hops",
    "csc_admm",
    "csc_encode",
    "csc_fista",
    "csc_lgcd",
    "csc_method_spec",
    "csc_mp",
    "csc_objective",
    "csc_omp",
    "decompose",
    "eeg_sample",
    "frame",
    "get_frame_window",
    "learn_conv_dictionary",
    "make_csc_problem",
    "make_sound",
    "overlap_add",
    "read_wav",
    "reconstruct",
    "register_csc_method",
    "resample",
    "sound_atoms",
    "write_decomposition",
    "write_wav",
]
