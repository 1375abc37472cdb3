"""Dictionary learning: the alternating driver, MOD, K-SVD, online learning and
Olshausen–Field, with atom constraints and a dead-atom policy."""

from typing import TYPE_CHECKING

from .._lazy import attach

if TYPE_CHECKING:  # the exports, loaded on first use by `attach` (dictlearn._lazy)
    from ._coding import CodingStep
    from ._driver import (
        LearningState,
        NoState,
        Updater,
        alternation_value,
        epoch_stop,
        finish_step,
        fit_dictionary,
        learning_step,
        next_batch,
        start_state,
        unscale_history,
    )
    from ._registry import LEARNERS, LearnerSpec, UpdaterParams, learner_spec, register_learner
    from .atoms import (
        check_atoms_constraint,
        dead_atom_mask,
        init_dictionary,
        project_atoms,
        resample_atoms,
    )
    from .estimator import DictionaryLearning, dict_learning
    from .ksvd import ksvd, ksvd_update
    from .mod import mod, mod_update
    from .olshausen_field import OlshausenFieldGains, cauchy_encode, olshausen_field
    from .online import OnlineStatistics, bcd_update, online_dictionary_learning

__getattr__, __dir__ = attach(__name__, __file__)

__all__ = ["LEARNERS", "CodingStep", "DictionaryLearning", "LearnerSpec", "LearningState",
           "NoState", "OlshausenFieldGains", "OnlineStatistics", "UpdaterParams", "bcd_update",
           "cauchy_encode", "check_atoms_constraint", "dead_atom_mask", "dict_learning",
           "fit_dictionary", "init_dictionary", "ksvd", "ksvd_update", "learner_spec",
           "learning_step", "mod", "mod_update", "olshausen_field", "online_dictionary_learning",
           "project_atoms", "register_learner", "resample_atoms"]
# the driver's extension points, for learners outside this subpackage (dictlearn.signal)
__all__ += ["Updater", "alternation_value", "start_state", "unscale_history"]
# and the pieces of an alternation that dictlearn.distributed runs with the codes on workers
__all__ += ["epoch_stop", "finish_step", "next_batch"]
