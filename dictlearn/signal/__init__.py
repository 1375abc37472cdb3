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
from .frames import FrameCodes, FrameDecomposition
from .framing import FrameLayout, check_cola, cola_hops, frame, get_frame_window, overlap_add
from .io import SAMPLE_FORMATS, read_wav, resample, write_wav

__all__ = ["CSC_METHODS", "ConvOperator", "csc_encode", "csc_fista", "csc_method_spec",
           "csc_objective", "reconstruct", "register_csc_method"]
__all__ += ["SAMPLE_FORMATS", "FrameCodes", "FrameDecomposition", "FrameLayout", "check_cola",
            "cola_hops", "frame", "get_frame_window", "overlap_add", "read_wav", "resample",
            "write_wav"]
