"""The registry of dictionary learners behind :class:`~dictlearn.DictionaryLearning`.

A learner is an :class:`~dictlearn.learning._driver.Updater` class registered with its
defaults by ``@register_learner("name", ...)``; the estimator and :func:`dict_learning` look
the name up here and never branch on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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


#: Name → :class:`LearnerSpec`.
LEARNERS: dict[str, LearnerSpec] = {}


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
    try:
        return LEARNERS[name]
    except (KeyError, TypeError):
        raise ValueError(f"method must be one of {sorted(LEARNERS)}; got {name!r}") from None
