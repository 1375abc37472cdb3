"""Dictionary learning: the alternating driver, MOD, K-SVD, online learning and
Olshausen–Field, with atom constraints and a dead-atom policy."""

from ._coding import CodingStep
from ._driver import LearningInfo, LearningResult, LearningState, fit_dictionary
from .atoms import (
    check_atoms_constraint,
    dead_atom_mask,
    init_dictionary,
    project_atoms,
    resample_atoms,
)
from .ksvd import ksvd, ksvd_update
from .mod import mod, mod_update
from .online import bcd_update, online_dictionary_learning

__all__ = [
    "CodingStep",
    "LearningInfo",
    "LearningResult",
    "LearningState",
    "bcd_update",
    "check_atoms_constraint",
    "dead_atom_mask",
    "fit_dictionary",
    "init_dictionary",
    "ksvd",
    "ksvd_update",
    "mod",
    "mod_update",
    "online_dictionary_learning",
    "project_atoms",
    "resample_atoms",
]
