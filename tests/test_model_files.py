"""One model-file format for every estimator: round trips, file objects, suffixes, and a table
of damaged files refused with a clear ``ValueError`` naming the file, for every class."""

from __future__ import annotations

import gc
import io
import json
import warnings

import numpy as np
import pytest

from dictlearn import LISTA, DictionaryLearning, SparseAutoencoder, SparseCoder
from dictlearn.datasets import make_sparse_problem
from dictlearn.signal import (
    ConvolutionalDictionaryLearning,
    ConvolutionalSparseCoder,
    FrameDecomposition,
)

_P = make_sparse_problem(60, 6, 8, 2, random_state=0)
_SIGNAL = np.sin(np.linspace(0.0, 40.0, 200)) + 0.1 * np.cos(np.linspace(0.0, 170.0, 200))


def _fit(cls):
    if cls is DictionaryLearning:
        return DictionaryLearning(8, alpha=0.05, batch_size=20, max_iter=2,
                                  random_state=0).fit(_P.X)
    if cls is LISTA:
        return LISTA(_P.dictionary, 2).initialize(_P.X)
    if cls is SparseCoder:
        return SparseCoder(_P.dictionary, alpha=0.05)
    if cls is ConvolutionalSparseCoder:
        return ConvolutionalSparseCoder(np.array([[1.0, 2.0, 1.0], [1.0, -1.0, 0.5]]),
                                        alpha=0.05, sample_rate=100.0)
    if cls is FrameDecomposition:
        return FrameDecomposition(16, n_atoms=4, n_nonzero_coefs=2, max_iter=3,
                                  random_state=0).fit(_SIGNAL)
    if cls is ConvolutionalDictionaryLearning:
        return ConvolutionalDictionaryLearning(2, 8, max_iter=2, random_state=0).fit(_SIGNAL)
    return SparseAutoencoder(8, max_epochs=1, batch_size=20, random_state=0).fit(_P.X)


def _codes(est):
    """What the model computes on fixed data (for round trips)."""
    data = _P.X if isinstance(est, (DictionaryLearning, LISTA, SparseAutoencoder,
                                    SparseCoder)) else _SIGNAL
    out = est.transform(data)
    return out.codes if hasattr(out, "codes") else out


#: per class: an array of the model, a parameter and an invalid value for it
_CASES = {
    DictionaryLearning: ("components_", "method", "pca"),
    LISTA: ("W", "variant", "fancy"),
    SparseAutoencoder: ("D", "sparsity", "nope"),
    SparseCoder: ("dictionary", "method", "nope"),
    ConvolutionalSparseCoder: ("atoms", "method", "nope"),
    FrameDecomposition: ("components_", "learner", "nope"),
    ConvolutionalDictionaryLearning: ("components_", "method", "nope"),
}
CLASSES = list(_CASES)


@pytest.fixture(scope="module", params=CLASSES, ids=lambda c: c.__name__)
def saved(request, tmp_path_factory):
    cls = request.param
    path = _fit(cls).save(tmp_path_factory.mktemp(cls.__name__) / "good")
    return cls, path


def _entries(path):
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def _rewrite(path, out, change):
    entries = _entries(path)
    change(entries)
    with open(out, "wb") as fh:
        np.savez(fh, **entries)
    return out


def _json_set(key, name, value):
    def change(e):
        d = json.loads(str(e[key]))
        d[name] = value
        e[key] = np.array(json.dumps(d))
    return change


def _set(key, value):
    def change(e):
        e[key] = value
    return change


def _with_nan(name):
    def change(e):
        a = np.array(e[name], dtype=float)
        a.flat[0] = np.nan
        e[name] = a
    return change


def _npy_bytes():
    buf = io.BytesIO()
    np.save(buf, np.ones(3))
    return buf.getvalue()


def _bytes(out, data):
    out.write_bytes(data)
    return out


# (id, make the damaged file from (cls, good path, output path), exception, message fragment)
DAMAGES = [
    ("npy", lambda c, g, o: _bytes(o, _npy_bytes()), ValueError,
     "is a .npy array, not a dictlearn model"),
    ("not-zip", lambda c, g, o: _bytes(o, b"hello"), ValueError,
     "not a readable dictlearn {cls} file"),
    ("truncated", lambda c, g, o: _bytes(o, open(g, "rb").read()[:300]), ValueError,
     "not a readable dictlearn {cls} file"),
    ("foreign", lambda c, g, o: (np.savez(o, a=np.ones(3)), o)[1], ValueError,
     "not a dictlearn {cls} file: it is not a dictlearn model"),
    ("bad-json", lambda c, g, o: _rewrite(g, o, _set("params", np.array("{oops"))),
     ValueError, "params entry is not valid JSON"),
    ("json-not-object", lambda c, g, o: _rewrite(g, o, _set("meta", np.array("[1]"))),
     ValueError, "meta entry is not a JSON object"),
    ("pickled-params", lambda c, g, o: _rewrite(
        g, o, _set("params", np.array([{"a": 1}], dtype=object))), ValueError,
     "not a readable dictlearn {cls} file"),
    ("nan-weight", lambda c, g, o: _rewrite(g, o, _with_nan(_CASES[c][0])), ValueError,
     "array '{array}' contains NaN or infinity"),
    ("wrong-shape", lambda c, g, o: _rewrite(g, o, _set(_CASES[c][0], np.ones((2, 2)))),
     ValueError, "array '{array}' has shape (2, 2), expected"),
    ("string-array", lambda c, g, o: _rewrite(g, o, _set(_CASES[c][0], np.array("x"))),
     ValueError, "array '{array}' has dtype"),
    ("missing-array", lambda c, g, o: _rewrite(g, o, lambda e: e.pop(_CASES[c][0])),
     ValueError, "is damaged: missing entries ['{array}']"),
    ("extra-array", lambda c, g, o: _rewrite(g, o, _set("extra", np.ones(2))), ValueError,
     "is damaged: unexpected entries ['extra']"),
    ("missing-header", lambda c, g, o: _rewrite(g, o, lambda e: e.pop("meta")), ValueError,
     "is damaged: missing entries ['meta']"),
    ("bad-parameter", lambda c, g, o: _rewrite(g, o, _json_set("params", _CASES[c][1],
                                                               _CASES[c][2])),
     ValueError, "holds parameters or fitted attributes that a {cls} refuses"),
    ("unknown-parameter", lambda c, g, o: _rewrite(g, o, _json_set("params", "nope", 1)),
     ValueError, "holds parameters or fitted attributes that a {cls} refuses"),
    ("missing-meta", lambda c, g, o: _rewrite(g, o, _set("meta", np.array("{}"))),
     ValueError, "holds parameters or fitted attributes that a {cls} refuses"),
    ("other-class", lambda c, g, o: _rewrite(g, o, _set("__class__", np.array("Other"))),
     ValueError, "holds a Other, not a {cls}"),
    ("other-format", lambda c, g, o: _rewrite(g, o, _set("__format__", np.array("x"))),
     ValueError, "it is not a dictlearn model (format 'x')"),
    ("newer-version", lambda c, g, o: _rewrite(g, o, _set("__version__", np.array(99))),
     ValueError, "format version 99; this dictlearn reads version 2"),
    ("old-amortized-layout", lambda c, g, o: (np.savez(
        o, __format__=np.array(1), __class__=np.array(c.__name__), __params__=np.array("{}")),
        o)[1], ValueError, "has format version 1"),
    ("old-learning-layout", lambda c, g, o: (np.savez(
        o, __format__=np.array("dictlearn.DictionaryLearning"), __version__=np.array(1)), o)[1],
     ValueError, "has format version 1"),
]


@pytest.mark.parametrize("damage, err, fragment", [pytest.param(d, e, f, id=i)
                                                    for i, d, e, f in DAMAGES])
def test_damaged_files_are_refused_naming_the_file(saved, tmp_path, damage, err, fragment):
    cls, good = saved
    path = damage(cls, good, tmp_path / "bad.npz")
    fragment = fragment.format(cls=cls.__name__, array=_CASES[cls][0])
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always", ResourceWarning)
        with pytest.raises(err) as info:
            cls.load(path)
        gc.collect()
    msg = str(info.value)
    assert fragment in msg
    assert msg.count(str(path)) == 1  # the file is named, once
    assert not [w for w in seen if issubclass(w.category, ResourceWarning)]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_missing_file(cls, tmp_path):
    with pytest.raises(FileNotFoundError, match="no such model file"):
        cls.load(tmp_path / "nothing")


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_suffix_rule_and_round_trip(cls, tmp_path):
    est = _fit(cls)
    path = est.save(tmp_path / "m")
    assert path == str(tmp_path / "m.npz")
    assert est.save(tmp_path / "n.npz") == str(tmp_path / "n.npz")
    back = cls.load(tmp_path / "m")  # finds m.npz
    np.testing.assert_array_equal(_codes(back), _codes(est))
    assert back.get_params().keys() == est.get_params().keys()
    # every fitted class keeps why its fit stopped (the coders have nothing fitted)
    assert getattr(back, "status_", None) is getattr(est, "status_", None)


@pytest.mark.parametrize("cls", [c for c in CLASSES if c not in (SparseCoder,
                                                                 ConvolutionalSparseCoder)],
                         ids=lambda c: c.__name__)
def test_an_unknown_status_is_refused(cls, tmp_path):
    path = _fit(cls).save(tmp_path / "m")
    key = "status" if cls in (LISTA, SparseAutoencoder) else "status_"
    bad = _rewrite(path, tmp_path / "bad.npz", _json_set("meta", key, "happy"))
    with pytest.raises(ValueError, match=r"bad\.npz"):
        cls.load(bad)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_file_objects(cls):
    est = _fit(cls)
    buf = io.BytesIO()
    assert est.save(buf) is buf
    buf.seek(0)
    back = cls.load(buf)
    np.testing.assert_array_equal(_codes(back), _codes(est))
    with pytest.raises(ValueError, match=r"<BytesIO>.*not a readable dictlearn"):
        cls.load(io.BytesIO(b"hello"))


def test_every_class_writes_the_same_header(tmp_path):
    for cls in CLASSES:
        e = _entries(_fit(cls).save(tmp_path / cls.__name__))
        assert str(e["__format__"]) == "dictlearn-model"
        assert int(e["__version__"]) == 2 and str(e["__class__"]) == cls.__name__
        assert isinstance(json.loads(str(e["params"])), dict)
        assert isinstance(json.loads(str(e["meta"])), dict)


def test_damage_found_while_restoring_names_the_file(tmp_path):
    path = _fit(DictionaryLearning).save(tmp_path / "m")

    def drop(e):
        meta = json.loads(str(e["meta"]))
        del meta["n_iter_"]
        e["meta"] = np.array(json.dumps(meta))

    bad = _rewrite(path, tmp_path / "bad.npz", drop)
    with pytest.raises(ValueError, match=r"bad\.npz' is damaged: .* missing entry 'n_iter_'"):
        DictionaryLearning.load(bad)


@pytest.mark.parametrize("cls", [SparseCoder, ConvolutionalSparseCoder], ids=lambda c: c.__name__)
def test_a_coder_file_with_a_zero_atom_is_refused(cls, tmp_path):
    name = _CASES[cls][0]
    path = _fit(cls).save(tmp_path / "m")

    def zero_row(e):
        a = np.array(e[name])
        a[0] = 0.0
        e[name] = a

    bad = _rewrite(path, tmp_path / "bad.npz", zero_row)
    with pytest.raises(ValueError, match=r"bad\.npz' is damaged: .*zero-norm atoms"):
        cls.load(bad)


def test_a_learner_file_with_a_bad_scale_is_refused(tmp_path):
    path = _fit(DictionaryLearning).save(tmp_path / "m")
    bad = _rewrite(path, tmp_path / "bad.npz", _json_set("meta", "scale", 3.0))
    with pytest.raises(ValueError, match=r"bad\.npz' is damaged: .*scale 3.0 is not a power"):
        DictionaryLearning.load(bad)
