"""The registry of dictionary learners behind :class:`~dictlearn.DictionaryLearning`.

A learner is an :class:`~dictlearn.learning._driver.Updater` class registered with its
defaults by ``@register_learner("name", ...)``; the estimator and :func:`dict_learning` look
the name up here and never branch on it. The built-in learners' modules are imported on the
first lookup of their name (a lazy :class:`~dictlearn._lazy.Registry`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .._lazy import Registry

__all__ = ["LEARNERS", "LearnerSpec", "UpdaterParams", "learner_spec", "register_learner"]


@dataclass(frozen=True)
class UpdaterParams:
    """The estimator parameters a learner's dictionary step may use (defaults resolved)."""

    constraint: str
    positive_dict: bool = False
    positive_code: bool = False
    forget_factor: float | None = None
    approximate: bool = False
    learning_rate: float = 1.0
    var_goal: float = 0.1


@dataclass(frozen=True)
class LearnerSpec:
    """A registered learner and its defaults.

    Attributes
    ----------
    name : str
        The ``method=`` of :class:`~dictlearn.DictionaryLearning`.
    updater : type
        Its :class:`~dictlearn.learning._driver.Updater` class.
    build : callable
        ``build(UpdaterParams) -> Updater``.
    coding_method : str
        Default coding step (a :data:`dictlearn.METHODS` name).
    max_iter : int
        Default iterations (mini-batch steps or sweeps).
    alpha : float
        Default penalty weight of the coding step.
    constraint : {"sphere", "ball"}
        Default atom set.
    """

    name: str
    updater: type
    build: Callable[[UpdaterParams], Any]
    coding_method: str
    max_iter: int
    alpha: float
    constraint: str

    @property
    def minibatch(self) -> bool:
        """Whether one iteration sees one mini-batch (else the whole data set)."""
        return bool(self.updater.minibatch)


#: Name → :class:`LearnerSpec` (a lazy mapping: listing it imports no learner).
LEARNERS: Registry[LearnerSpec] = Registry("learner")

# The built-in learners and the classes that register them (imported on first lookup);
# tests/test_startup.py checks that importing every provider registers exactly these names.
for _name, _target in {"mod": "dictlearn.learning.mod:MODUpdate",
                       "ksvd": "dictlearn.learning.ksvd:KSVDUpdate",
                       "online": "dictlearn.learning.online:OnlineUpdate",
                       "olshausen_field": "dictlearn.learning.olshausen_field:"
                                          "OlshausenFieldUpdate"}.items():
    LEARNERS.provide(_name, _target)


def register_learner(name: str, *, build: Callable[[UpdaterParams], Any], coding_method: str,
                     max_iter: int, alpha: float, constraint: str) -> Callable[[type], type]:
    """Class decorator registering an Updater class as the learner ``name``."""

    def deco(cls: type) -> type:
        LEARNERS[name] = LearnerSpec(name, cls, build, coding_method, int(max_iter),
                                     float(alpha), constraint)
        return cls

    return deco


def learner_spec(name: Any) -> LearnerSpec:
    """The :class:`LearnerSpec` of ``name``; ``ValueError`` listing the known learners."""
    if not isinstance(name, str) or name not in LEARNERS:
        raise ValueError(f"method must be one of {LEARNERS.names()}; got {name!r}")
    return LEARNERS[name]
