"""The one model-file format of every estimator, and its loader.

A model file is an ``.npz`` archive of plain NumPy arrays, read with ``allow_pickle=False``:

- ``__format__``: the string ``"dictlearn-model"``;
- ``__version__``: the format version (int), :data:`VERSION`;
- ``__class__``: the estimator's class name;
- ``params``: its hyper-parameters as a JSON string;
- ``meta``: fitted scalars (iterations, status, history, …) as a JSON string;
- the named arrays of the fitted model (a dictionary, weights, statistics).

Loading checks that the file is readable, is a dictlearn model of this version (version 1
layouts are refused, naming their version) and class, that the class accepts the parameters,
and that exactly the expected arrays are there, real and finite, with the expected shapes. Each
failure is a ``ValueError`` naming the file (and the array); a missing file is a
``FileNotFoundError``.

Examples
--------
>>> import io, numpy as np
>>> from dictlearn import DictionaryLearning
>>> X = np.random.default_rng(0).standard_normal((40, 4))
>>> est = DictionaryLearning(3, alpha=0.1, batch_size=20, max_iter=2, random_state=0).fit(X)
>>> buf = io.BytesIO()
>>> _ = est.save(buf); _ = buf.seek(0)
>>> bool(np.array_equal(DictionaryLearning.load(buf).components_, est.components_))
True
"""

from __future__ import annotations

import contextlib
import json
import os
import zipfile
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np

from ._loop import Status
from ._xp import to_host

__all__ = ["FORMAT", "VERSION", "FixedArrayModel", "load_model", "restore_trained", "save_model",
           "trained_meta"]

#: The ``__format__`` entry of every model file.
FORMAT = "dictlearn-model"
#: The format version this dictlearn writes and reads.
VERSION = 2

_HEADER = ("__format__", "__version__", "__class__", "params", "meta")
_READ_ERRORS = (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError, zlib.error,
                UnicodeDecodeError)


def _json(value: Any, what: str, cls_name: str) -> np.ndarray:
    def plain(v: Any) -> Any:
        if isinstance(v, np.generic):
            return v.item()
        raise TypeError(f"{type(v).__name__} is not JSON-serialisable")

    try:
        return np.array(json.dumps(value, default=plain))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"cannot save {cls_name}: {what} hold a value that is not saved "
                        f"({exc}); callbacks, generators and optimiser objects are not saved") \
            from exc


def save_model(file: Any, cls_name: str, params: dict[str, Any], meta: dict[str, Any],
               arrays: dict[str, Any]) -> Any:
    """Write a model file; arrays of any library are copied to the host.

    Parameters
    ----------
    file : str, path or file object
        ``.npz`` is appended to a path without it.
    cls_name : str
    params, meta : dict
        JSON-compatible values.
    arrays : dict of str to array

    Returns
    -------
    str or file object
        The path written, or ``file`` when it is a file object.
    """
    clash = set(arrays) & set(_HEADER)
    if clash:
        raise ValueError(f"array names {sorted(clash)} are reserved for the file header")
    out = {"__format__": np.array(FORMAT), "__version__": np.array(VERSION, dtype=np.int64),
           "__class__": np.array(cls_name), "params": _json(params, "its parameters", cls_name),
           "meta": _json(meta, "its fitted attributes", cls_name)}
    # saving a file is host output: the one explicit device-to-host copy of each array
    out.update({k: to_host(v) for k, v in arrays.items()})
    if hasattr(file, "write"):
        np.savez(file, **out)
        return file
    path = os.fspath(file)
    if not path.endswith(".npz"):
        path += ".npz"
    with open(path, "wb") as fh:
        np.savez(fh, **out)
    return path


def _source(file: Any) -> tuple[str, Any]:
    """``(name for messages, path or file object)``; a path gets ``.npz`` when that exists."""
    if hasattr(file, "read"):
        return repr(getattr(file, "name", f"<{type(file).__name__}>")), file
    path = os.fspath(file)
    if not os.path.exists(path) and os.path.exists(path + ".npz"):
        path += ".npz"
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such model file: {path!r}")
    return repr(path), path


def _read(file: Any, cls_name: str) -> tuple[str, dict[str, np.ndarray]]:
    name, src = _source(file)
    try:
        with contextlib.ExitStack() as stack:
            fh = stack.enter_context(open(src, "rb")) if isinstance(src, str) else src
            loaded = np.load(fh, allow_pickle=False)
            if not isinstance(loaded, np.lib.npyio.NpzFile):
                raise ValueError(f"{name} is not a dictlearn {cls_name} file: it is a .npy "
                                 "array, not a dictlearn model file (.npz)")
            with loaded as f:
                entries = {k: f[k] for k in f.files}
    except _READ_ERRORS as exc:
        if str(exc).startswith(name):
            raise
        raise ValueError(f"{name} is not a readable dictlearn {cls_name} file (damaged or not "
                         f"a dictlearn model file: {exc})") from exc
    return name, entries


def _scalar(entries: dict[str, np.ndarray], key: str, kind: str, name: str) -> Any:
    a = entries.pop(key)
    if a.ndim != 0 or a.dtype.kind not in kind:
        raise ValueError(f"{name} is damaged: its {key} entry is not a {kind!r} scalar")
    return a[()].item()


def _header(name: str, entries: dict[str, np.ndarray], cls_name: str) -> tuple[dict, dict]:
    if "__format__" not in entries:
        raise ValueError(f"{name} is not a dictlearn {cls_name} file: it is not a dictlearn "
                         f"model (no '__format__' entry; found {sorted(entries)[:6]})")
    fmt = entries.pop("__format__")
    fmt = fmt[()] if fmt.ndim == 0 else "an array"
    if fmt != FORMAT:
        if isinstance(fmt, np.integer) or fmt == "dictlearn.DictionaryLearning":
            old = int(fmt) if isinstance(fmt, np.integer) else int(entries["__version__"])
            raise ValueError(f"{name} has format version {old} (a layout of an older "
                             f"dictlearn); this dictlearn reads version {VERSION} only: fit "
                             "and save the model again")
        raise ValueError(f"{name} is not a dictlearn {cls_name} file: it is not a dictlearn "
                         f"model (format {str(fmt)[:40]!r})")
    missing = [k for k in _HEADER[1:] if k not in entries]
    if missing:
        raise ValueError(f"{name} is damaged: missing entries {missing}")
    version = _scalar(entries, "__version__", "iu", name)
    if version != VERSION:
        hint = "upgrade dictlearn" if version > VERSION else "fit and save the model again"
        raise ValueError(f"{name} has format version {version}; this dictlearn reads version "
                         f"{VERSION} ({hint})")
    found = _scalar(entries, "__class__", "U", name)
    if found != cls_name:
        raise ValueError(f"{name} holds a {found}, not a {cls_name}")
    out = []
    for key in ("params", "meta"):
        try:
            value = json.loads(_scalar(entries, key, "U", name))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{name} is damaged: its {key} entry is not valid JSON ({exc})") \
                from None
        if not isinstance(value, dict):
            raise ValueError(f"{name} is damaged: its {key} entry is not a JSON object")
        out.append(value)
    return out[0], out[1]


def _check_arrays(name: str, arrays: dict[str, np.ndarray],
                  schema: dict[str, tuple[int | None, ...]]) -> None:
    missing = sorted(set(schema) - set(arrays))
    if missing:
        raise ValueError(f"{name} is damaged: missing entries {missing}")
    extra = sorted(set(arrays) - set(schema))
    if extra:
        raise ValueError(f"{name} is damaged: unexpected entries {extra}")
    for key, want in schema.items():
        a = arrays[key]
        if a.dtype.kind not in "fiub":
            raise ValueError(f"{name} is damaged: array {key!r} has dtype {a.dtype}, not a "
                             "real number type")
        if a.ndim != len(want) or any(w is not None and s != w
                                      for s, w in zip(a.shape, want, strict=True)):
            raise ValueError(f"{name} is damaged: array {key!r} has shape {a.shape}, expected "
                             f"{tuple(want)}")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} is damaged: array {key!r} contains NaN or infinity")


def load_model(file: Any, cls: type, schema: Callable[[Any, dict[str, Any]], dict[str, tuple]],
               restore: Callable[[Any, dict[str, Any], dict[str, np.ndarray]], Any]) -> Any:
    """Read a model file of class ``cls`` written by :func:`save_model`, check it, and
    rebuild the estimator.

    The one loader of every estimator: readable, header, parameters, fitted scalars, arrays
    (names, real dtype, shapes, finite), then ``restore``; every failure is a ``ValueError``
    that names the file once.

    Parameters
    ----------
    file : str, path or file object
        A path without ``.npz`` finds ``path.npz`` when ``path`` does not exist.
    cls : type
        The estimator class; ``cls(**params)`` rebuilds the estimator.
    schema : callable
        ``schema(estimator, meta)`` checks the parameters and fitted scalars (raising
        ``ValueError``, ``TypeError`` or ``KeyError``) and returns ``{array name: expected
        shape}`` (``None`` for any length).
    restore : callable
        ``restore(estimator, meta, arrays)`` sets the fitted attributes from the checked
        scalars and arrays (host NumPy) and returns the estimator; its ``ValueError``,
        ``TypeError`` and ``KeyError`` are reported as a damaged file too.

    Returns
    -------
    estimator
        ``restore``'s result.

    Raises
    ------
    FileNotFoundError, ValueError
        See the module's docstring.
    """
    cls_name = cls.__name__
    name, entries = _read(file, cls_name)
    params, meta = _header(name, entries, cls_name)
    try:
        est = cls(**params)
        shapes = schema(est, meta)
    except (TypeError, ValueError, KeyError) as exc:
        raise ValueError(f"{name} holds parameters or fitted attributes that a {cls_name} "
                         f"refuses: {_reason(exc)}") from exc
    _check_arrays(name, entries, shapes)
    try:
        return restore(est, meta, entries)
    except (TypeError, ValueError, KeyError) as exc:
        raise ValueError(f"{name} is damaged: its fitted attributes do not make a "
                         f"{cls_name}: {_reason(exc)}") from exc


def _reason(exc: BaseException) -> str:
    """A short reason: a ``KeyError`` names the missing entry."""
    if isinstance(exc, KeyError):
        return f"missing entry {exc.args[0]!r}"
    return str(exc)


class FixedArrayModel:
    """``save``/``load`` of an estimator whose model is one array parameter (the fixed
    dictionary of :class:`~dictlearn.SparseCoder`, the atoms of a convolutional coder).

    The array is saved as the entry named like the parameter, its shape in ``meta``, the other
    parameters in ``params``; nothing is fitted. A subclass names the parameter in
    ``_model_array``, checks its other parameters in ``_check_params()`` and the array in
    ``_checked_array()`` (returning it), which saving and loading both call.
    """

    _model_array = "dictionary"

    def _check_params(self) -> None:
        raise NotImplementedError

    def _checked_array(self) -> Any:
        raise NotImplementedError

    def save(self, file: Any) -> Any:
        """Write the parameters and the array (``.npz``, no pickle; see
        :func:`dictlearn._io.save_model`). Returns the path written (``.npz`` appended when
        missing), or ``file`` for a file object."""
        self._check_params()
        A = to_host(self._checked_array())
        params = {**self.get_params(), self._model_array: None}  # type: ignore[attr-defined]
        return save_model(file, type(self).__name__, params, {"shape": list(A.shape)},
                          {self._model_array: A})

    @classmethod
    def load(cls, file: Any) -> Any:
        """Read an estimator written by :meth:`save` (its array as host NumPy)."""
        return load_model(file, cls, cls._fixed_schema, cls._fixed_restore)

    def _fixed_schema(self, meta: dict[str, Any]) -> dict[str, tuple]:
        self._check_params()
        shape = meta["shape"]
        if not (isinstance(shape, list) and shape
                and all(isinstance(s, int) and s > 0 for s in shape)):
            raise ValueError(f"its shape {shape!r} is not a list of positive ints")
        return {self._model_array: tuple(shape)}

    def _fixed_restore(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> Any:
        setattr(self, self._model_array, arrays[self._model_array])
        self._checked_array()
        return self


def trained_params(est: Any, *, as_arrays: tuple[str, ...] = ()) -> dict[str, Any]:
    """A trained network's hyper-parameters for its file: callbacks and generators are not
    saved, an optimiser object is saved as ``"adam"``, and the parameters in ``as_arrays``
    (saved as arrays) as ``None``."""
    out = {k: v for k, v in est.get_params().items()
           if k not in ("callback", "optimizer", "random_state")}
    out.update(dict.fromkeys(as_arrays))
    out["optimizer"] = est.optimizer if isinstance(est.optimizer, str) else "adam"
    return out


def trained_meta(est: Any, **extra: Any) -> dict[str, Any]:
    """The fitted scalars of a trained network (``status_``, ``n_epochs_``) plus ``extra``."""
    return {"status": est.status_.value, "n_epochs": int(est.n_epochs_), **extra}


def restore_trained(est: Any, meta: dict[str, Any]) -> Any:
    """Set ``status_``, ``n_epochs_`` and an empty ``history_`` from :func:`trained_meta`'s
    record (``Status`` refuses an unknown status with a ``ValueError``)."""
    est.status_, est.n_epochs_, est.history_ = Status(meta["status"]), meta["n_epochs"], []
    return est
