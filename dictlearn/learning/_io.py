"""Saving and loading learned dictionaries as ``.npz`` files (no pickle).

Layout of a file (every entry a plain NumPy array, read with ``allow_pickle=False``):

- ``__format__``: the string ``"dictlearn.DictionaryLearning"``;
- ``__version__``: the format version (int), :data:`FORMAT_VERSION`;
- ``params``: the estimator's parameters as a JSON string;
- ``meta``: fitted scalars and the history as a JSON string;
- ``components_``: the dictionary;
- ``aux__<name>``: the learner's arrays needed to resume (``A``, ``B``, gains, …).
"""

from __future__ import annotations

import json
import os
import zipfile
from typing import Any

import numpy as np

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "read_model", "write_model"]

FORMAT_NAME = "dictlearn.DictionaryLearning"
FORMAT_VERSION = 1


def _json(value: Any, what: str) -> str:
    try:
        return json.dumps(value, allow_nan=True)
    except TypeError as exc:
        raise TypeError(f"cannot save {what}: {exc} (only JSON-compatible values are saved)") \
            from exc


def write_model(path: str | os.PathLike, *, params: dict[str, Any], meta: dict[str, Any],
                components: np.ndarray, aux: dict[str, Any]) -> str:
    """Write a model file; returns the path written (``.npz`` is appended if missing)."""
    path = os.fspath(path)
    if not path.endswith(".npz"):
        path = path + ".npz"
    arrays: dict[str, Any] = {
        "__format__": np.array(FORMAT_NAME),
        "__version__": np.array(FORMAT_VERSION, dtype=np.int64),
        "params": np.array(_json(params, "the parameters")),
        "meta": np.array(_json(meta, "the fitted attributes")),
        "components_": np.asarray(components),
    }
    scalars = {}
    for name, value in aux.items():
        if isinstance(value, (int, float, np.integer, np.floating)):
            scalars[name] = float(value) if isinstance(value, (float, np.floating)) \
                else int(value)
        else:
            arrays[f"aux__{name}"] = np.asarray(value)
    arrays["aux_scalars"] = np.array(_json(scalars, "the learner state"))
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
    return path


def read_model(path: str | os.PathLike) -> dict[str, Any]:
    """Read a model file written by :func:`write_model`.

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    ValueError
        When the file is not a dictlearn model (a foreign ``.npz`` or another format), is
        damaged (truncated, not a zip archive, unreadable entries), or has an unsupported
        format version.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such model file: {path!r}")
    try:
        loaded = np.load(path, allow_pickle=False)
        if not hasattr(loaded, "files"):
            raise ValueError(f"{path!r} is a .npy array, not a dictlearn model file (.npz)")
        with loaded as f:
            files = set(f.files)
            if "__format__" not in files or "__version__" not in files:
                raise ValueError(
                    f"{path!r} is not a dictlearn model file (no '__format__'/'__version__' "
                    f"entries; found {sorted(files)[:6]})"
                )
            fmt = str(f["__format__"][()])
            if fmt != FORMAT_NAME:
                raise ValueError(f"{path!r} holds a {fmt!r}, not a {FORMAT_NAME!r}")
            version = int(f["__version__"][()])
            if version > FORMAT_VERSION or version < 1:
                raise ValueError(
                    f"{path!r} has format version {version}; this dictlearn reads versions "
                    f"1 to {FORMAT_VERSION} (upgrade dictlearn to read newer files)"
                )
            missing = {"params", "meta", "components_", "aux_scalars"} - files
            if missing:
                raise ValueError(f"{path!r} is damaged: missing entries {sorted(missing)}")
            out = {
                "version": version,
                "params": json.loads(str(f["params"][()])),
                "meta": json.loads(str(f["meta"][()])),
                "components": np.array(f["components_"]),
                "aux": {k[len("aux__"):]: np.array(f[k]) for k in files
                        if k.startswith("aux__")},
            }
            out["aux"].update(json.loads(str(f["aux_scalars"][()])))
    except (zipfile.BadZipFile, EOFError, OSError, json.JSONDecodeError, KeyError) as exc:
        raise ValueError(f"{path!r} is damaged or not a dictlearn model file: {exc}") from exc
    except ValueError as exc:
        if "dictlearn" in str(exc):
            raise
        raise ValueError(f"{path!r} is damaged or not a dictlearn model file: {exc}") from exc
    comp = out["components"]
    if comp.ndim != 2 or not np.all(np.isfinite(comp)):
        raise ValueError(f"{path!r} is damaged: components_ must be a finite 2-D array")
    return out
