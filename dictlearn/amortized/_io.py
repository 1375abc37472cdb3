"""Saving and loading trained amortized models as ``.npz`` files (``allow_pickle=False``).

A file holds ``__format__`` (the format version), ``__class__`` (the estimator's name),
``__params__`` (its hyper-parameters as JSON) and the named arrays of the trained weights.
"""

from __future__ import annotations

import json
import os
import zipfile
from typing import Any

import numpy as np

from .._xp import to_numpy

__all__ = ["FORMAT_VERSION", "load_npz", "save_npz"]

FORMAT_VERSION = 1


def save_npz(path: str | os.PathLike, cls_name: str, params: dict[str, Any],
             arrays: dict[str, Any]) -> None:
    """Write ``arrays`` (any array library; copied to the host) with the header."""
    try:
        blob = json.dumps(params)
    except TypeError as exc:
        raise TypeError(f"cannot save {cls_name}: a hyper-parameter is not JSON-serialisable "
                        f"({exc}); callbacks and optimiser objects are not saved") from exc
    out = {k: np.asarray(to_numpy(v)) for k, v in arrays.items()}
    out["__format__"] = np.asarray(FORMAT_VERSION)
    out["__class__"] = np.asarray(cls_name)
    out["__params__"] = np.asarray(blob)
    with open(path, "wb") as fh:
        np.savez(fh, **out)


def load_npz(path: str | os.PathLike, cls_name: str,
             required: tuple[str, ...] = ()) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read a file written by :func:`save_npz`; clear ``ValueError`` on a wrong or damaged one."""
    try:
        with np.load(path, allow_pickle=False) as f:
            data = {k: f[k] for k in f.files}
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise ValueError(f"{path!s} is not a readable dictlearn {cls_name} file: {exc}") from exc
    for key in ("__format__", "__class__", "__params__"):
        if key not in data:
            raise ValueError(f"{path!s} is not a dictlearn {cls_name} file (no {key} entry)")
    version = int(data.pop("__format__"))
    if version != FORMAT_VERSION:
        raise ValueError(f"{path!s} has format version {version}; this dictlearn reads "
                         f"version {FORMAT_VERSION}")
    found = str(data.pop("__class__"))
    if found != cls_name:
        raise ValueError(f"{path!s} holds a {found}, not a {cls_name}")
    params = json.loads(str(data.pop("__params__")))
    missing = [k for k in required if k not in data]
    if missing:
        raise ValueError(f"{path!s} is damaged: missing arrays {missing}")
    return params, data
