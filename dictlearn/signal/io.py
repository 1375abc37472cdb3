r"""Audio in and out with NumPy and SciPy only: WAV files and resampling.

Sample formats (:data:`SAMPLE_FORMATS`): 8-bit unsigned PCM (``"uint8"``), 16/24/32-bit signed
PCM (``"int16"``, ``"int24"``, ``"int32"``) and 32-bit IEEE float (``"float32"``), mono or
multichannel (plain ``WAVE_FORMAT_PCM`` / ``WAVE_FORMAT_IEEE_FLOAT`` headers; the
``WAVE_FORMAT_EXTENSIBLE`` header is read too).

Scaling of a :math:`b`-bit integer code :math:`q` (for ``uint8``, :math:`q = u - 128`) to a
sample in :math:`[-1, 1]`: positive full scale is :math:`2^{b-1} - 1`, negative full scale is
:math:`2^{b-1}`,

.. math:: x = q / (2^{b-1} - 1) \ (q > 0), \qquad x = q / 2^{b-1} \ (q \le 0),

and writing inverts it, rounding to the nearest code:
:math:`q = \operatorname{rint}(x (2^{b-1} - 1))` for :math:`x > 0`,
:math:`q = \operatorname{rint}(x\, 2^{b-1})` for :math:`x \le 0`. So :math:`\pm 1` and 0 are
exact, every code reads back into :math:`[-1, 1]`, and a write–read round trip is off by at
most half a code step (:math:`1/(2(2^{b-1}-1))`); the two halves' steps differ by one part in
:math:`2^{b-1}` (0.8% for 8 bits, 3e-5 for 16 bits). ``float32`` is stored as given (a
float32 array round-trips exactly).

Nothing is clipped silently: :func:`write_wav` refuses samples outside :math:`[-1, 1]` unless
``clip=True``. Writing is atomic: the file is written to a temporary file in the same folder
and renamed, so an error never leaves a half-written file. The reader parses the RIFF chunks
itself (SciPy's reader only warns on a truncated file and returns 24-bit samples justified
differently across versions) and names what is wrong with a file.
"""

from __future__ import annotations

import numbers
import os
import struct
import tempfile
from fractions import Fraction
from typing import Any

import numpy as np

from .._validation import as_array
from .._xp import to_host

__all__ = ["SAMPLE_FORMATS", "read_wav", "resample", "write_wav"]

#: Sample format → (WAVE format tag, bits per sample).
SAMPLE_FORMATS: dict[str, tuple[int, int]] = {
    "uint8": (1, 8), "int16": (1, 16), "int24": (1, 24), "int32": (1, 32), "float32": (3, 32)}

_PCM, _FLOAT, _EXTENSIBLE = 0x0001, 0x0003, 0xFFFE
_TAG_NAMES = {0x0002: "Microsoft ADPCM", 0x0006: "A-law", 0x0007: "mu-law",
              0x0011: "IMA ADPCM", 0x0031: "GSM 6.10", 0x0050: "MPEG", 0x0055: "MPEG Layer 3",
              0x0092: "Dolby AC-3", 0x00FF: "AAC", 0x1610: "HE-AAC", 0xF1AC: "FLAC"}
_SUPPORTED = "8-bit unsigned, 16/24/32-bit signed PCM or 32-bit float"


def _full_scale(bits: int) -> tuple[int, int]:
    """(positive, negative) full scale of a ``bits``-bit code: (2^(b-1) - 1, 2^(b-1))."""
    return (1 << (bits - 1)) - 1, 1 << (bits - 1)


# --------------------------------------------------------------------------- reading
def _parse(raw: bytes, name: str) -> tuple[str, int, int, int, int]:
    """``(sample_format, n_channels, sample_rate, data_offset, data_size)`` of a WAV file."""
    if len(raw) < 12 or raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        if raw[:4] in (b"RIFX", b"RF64"):
            raise ValueError(f"{name}: {raw[:4].decode()} WAV files (big-endian or 64-bit "
                             "sizes) are not supported; convert it to a RIFF WAV")
        what = "is empty" if not raw else f"starts with {raw[:12]!r}"
        raise ValueError(f"{name} is not a WAV file (no RIFF/WAVE header: it {what})")
    fmt, data, pos = None, None, 12
    while pos + 8 <= len(raw) and (fmt is None or data is None):
        cid, size = raw[pos:pos + 4], struct.unpack("<I", raw[pos + 4:pos + 8])[0]
        body = pos + 8
        if cid == b"fmt ":
            if size < 16 or body + size > len(raw):
                raise ValueError(f"{name} is truncated or damaged: its 'fmt ' chunk has "
                                 f"{min(size, len(raw) - body)} of at least 16 bytes")
            fmt = struct.unpack("<HHIIHH", raw[body:body + 16])
            if fmt[0] == _EXTENSIBLE and size >= 40:
                fmt = (struct.unpack("<H", raw[body + 24:body + 26])[0], *fmt[1:])
        elif cid == b"data":
            data = (body, size)
        pos = body + size + (size & 1)
    if fmt is None:
        raise ValueError(f"{name} is truncated or damaged: it has no 'fmt ' chunk")
    if data is None:
        raise ValueError(f"{name} is truncated or damaged: it has no 'data' chunk")
    tag, channels, rate, _, block_align, bits = fmt
    if tag == _FLOAT and bits == 64:
        raise ValueError(f"{name} holds 64-bit float samples, an unsupported sample format "
                         f"(supported: {_SUPPORTED})")
    if tag not in (_PCM, _FLOAT):
        kind = _TAG_NAMES.get(tag, "unknown")
        raise ValueError(f"{name} uses the compressed or unknown WAVE format {kind!r} (format "
                         f"tag 0x{tag:04X}), which is not supported (supported: {_SUPPORTED})")
    found = [k for k, v in SAMPLE_FORMATS.items() if v == (tag, bits)]
    if not found:
        kind = "PCM" if tag == _PCM else "float"
        raise ValueError(f"{name} holds {bits}-bit {kind} samples, an unsupported sample "
                         f"format (supported: {_SUPPORTED})")
    if channels < 1 or block_align != channels * bits // 8 or rate < 1:
        raise ValueError(f"{name} is damaged: its header says {channels} channel(s), "
                         f"{bits} bits, block align {block_align}, rate {rate}")
    offset, size = data
    if offset + size > len(raw) or size % block_align:
        raise ValueError(f"{name} is truncated: its 'data' chunk declares {size} bytes of "
                         f"samples, but {len(raw) - offset} are present (in blocks of "
                         f"{block_align} bytes)")
    return found[0], channels, rate, offset, size


def _decode(buf: bytes, sample_format: str, channels: int) -> np.ndarray:
    """Samples (n_channels, n_times) float64 from the interleaved bytes."""
    if sample_format == "float32":
        x = np.frombuffer(buf, dtype="<f4").astype(np.float64)
    else:
        bits = SAMPLE_FORMATS[sample_format][1]
        if sample_format == "int24":
            b = np.frombuffer(buf, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
            q = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
            q = np.where(q >= 1 << 23, q - (1 << 24), q)
        elif sample_format == "uint8":
            q = np.frombuffer(buf, dtype=np.uint8).astype(np.int64) - 128
        else:
            q = np.frombuffer(buf, dtype=f"<i{bits // 8}")
        pos, neg = _full_scale(bits)
        q = q.astype(np.float64)
        x = np.where(q > 0, q / pos, q / neg)
    return np.ascontiguousarray(x.reshape(-1, channels).T)


def read_wav(file: Any) -> tuple[np.ndarray, int]:
    """Read a WAV file: samples scaled to [-1, 1] and the sample rate.

    Parameters
    ----------
    file : str, path or binary file object

    Returns
    -------
    data : numpy.ndarray of shape (n_channels, n_times), float64
        Integer formats in [-1, 1] (module docstring); float32 files as stored.
    sample_rate : int

    Raises
    ------
    FileNotFoundError
        A missing path.
    ValueError
        Naming the file: not a WAV file, truncated or damaged, an unsupported sample format
        (64-bit float, compressed formats, other bit depths), NaN or infinity in a float file.

    Examples
    --------
    >>> import io, numpy as np
    >>> buf = io.BytesIO()
    >>> _ = write_wav(buf, np.array([[0.5, -1.0], [0.0, 1.0]]), 8000)
    >>> _ = buf.seek(0)
    >>> data, rate = read_wav(buf)
    >>> data.shape, rate, bool(np.abs(data[0, 0] - 0.5) <= 0.5 / 32767)
    ((2, 2), 8000, True)
    """
    if hasattr(file, "read"):
        name = repr(getattr(file, "name", f"<{type(file).__name__}>"))
        raw = file.read()
        if not isinstance(raw, (bytes, bytearray)):
            raise TypeError(f"{name} must be opened in binary mode ('rb')")
    else:
        path = os.fspath(file)
        name = repr(path)
        if not os.path.exists(path):
            raise FileNotFoundError(f"no such WAV file: {path!r}")
        with open(path, "rb") as fh:
            raw = fh.read()
    raw = bytes(raw)
    sample_format, channels, rate, offset, size = _parse(raw, name)
    data = _decode(raw[offset:offset + size], sample_format, channels)
    if not np.all(np.isfinite(data)):
        raise ValueError(f"{name} contains NaN or infinity samples")
    return data, int(rate)


# --------------------------------------------------------------------------- writing
def _check_data(data: Any, clip: bool) -> np.ndarray:
    """``data`` as a host float64 (n_channels, n_times) array in [-1, 1]."""
    a = as_array(data, "data")
    a = to_host(a)  # the one explicit move to the host
    if a.dtype.kind != "f":
        hint = (" (integer codes: divide by the format's full scale first, e.g. data / 32768)"
                if a.dtype.kind in "iu" else "")
        raise TypeError(f"data must be a real floating-point array of samples in [-1, 1]; "
                        f"got dtype {a.dtype}{hint}")
    if a.ndim not in (1, 2):
        raise ValueError(f"data must have shape (n_times,) or (n_channels, n_times); got "
                         f"{a.ndim}-D with shape {a.shape}")
    x = a.reshape(1, -1) if a.ndim == 1 else a
    if x.shape[1] == 0 or x.shape[0] == 0:
        raise ValueError(f"data must not be empty; got shape {a.shape}")
    if x.shape[0] > x.shape[1]:
        raise ValueError(f"data has shape {a.shape}: more channels than samples; pass "
                         "(n_channels, n_times), e.g. data.T")
    if x.shape[0] > 0xFFFF:
        raise ValueError(f"a WAV file holds at most 65535 channels; got {x.shape[0]}")
    if not np.all(np.isfinite(x)):
        raise ValueError("data contains NaN or infinity")
    peak = float(np.max(np.abs(x)))
    if peak > 1.0:
        if not clip:
            c, t = np.unravel_index(int(np.argmax(np.abs(x))), x.shape)
            raise ValueError(f"data has samples outside [-1, 1] (|x| = {peak:.6g} at channel "
                             f"{c}, sample {t}); scale it (e.g. data / np.abs(data).max()) or "
                             "pass clip=True to clip")
        x = np.clip(x, -1.0, 1.0)
    return x


def _encode(x: np.ndarray, sample_format: str) -> bytes:
    """Interleaved little-endian sample bytes of ``x`` (n_channels, n_times)."""
    inter = np.ascontiguousarray(x.T)
    if sample_format == "float32":
        return inter.astype("<f4").tobytes()
    bits = SAMPLE_FORMATS[sample_format][1]
    pos, neg = _full_scale(bits)
    v = inter.astype(np.float64)
    q = np.where(v > 0, np.rint(v * pos), np.rint(v * neg)).astype(np.int64)
    if sample_format == "uint8":
        return (q + 128).astype(np.uint8).tobytes()
    if sample_format == "int24":
        return q.astype("<i4").view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
    return q.astype(f"<i{bits // 8}").tobytes()


def _wav_bytes(x: np.ndarray, sample_rate: int, sample_format: str) -> bytes:
    tag, bits = SAMPLE_FORMATS[sample_format]
    channels, n_times = x.shape
    block = channels * bits // 8
    samples = _encode(x, sample_format)
    fmt = struct.pack("<HHIIHH", tag, channels, sample_rate, sample_rate * block, block, bits)
    chunks = [b"fmt ", struct.pack("<I", len(fmt) + (2 if tag == _FLOAT else 0)), fmt]
    if tag == _FLOAT:  # non-PCM: cbSize = 0 and a 'fact' chunk (sample frames)
        chunks += [struct.pack("<H", 0), b"fact", struct.pack("<II", 4, n_times)]
    chunks += [b"data", struct.pack("<I", len(samples)), samples,
               b"\x00" if len(samples) & 1 else b""]
    body = b"WAVE" + b"".join(chunks)
    if len(body) > 0xFFFFFFFF:
        raise ValueError(f"{n_times} samples x {channels} channels in {sample_format} exceed "
                         "the 4 GiB size limit of a WAV file")
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_wav(file: Any, data: Any, sample_rate: int, *, sample_format: str = "int16",
              clip: bool = False) -> Any:
    """Write samples in [-1, 1] to a WAV file, atomically.

    Parameters
    ----------
    file : str, path or binary file object
        A path is written through a temporary file in its folder, then renamed; a file object
        gets the whole file in one ``write``.
    data : array of shape (n_times,) or (n_channels, n_times)
        Floating-point samples in [-1, 1] (any array library; copied to the host).
    sample_rate : int
        Samples per second.
    sample_format : {"uint8", "int16", "int24", "int32", "float32"}, default="int16"
        Rounded to the nearest code with full scale 2^(b-1) - 1 (positive) and 2^(b-1)
        (negative) (module docstring); float32 stored as given.
    clip : bool, default=False
        Clip samples outside [-1, 1] (else they raise ``ValueError``).

    Returns
    -------
    str or file object
        The path written, or ``file``.

    Raises
    ------
    TypeError
        Non-floating data, a non-integer sample rate.
    ValueError
        Unsupported sample format, a wrong shape, empty data, NaN/infinity, samples outside
        [-1, 1] without ``clip``.

    Examples
    --------
    >>> import io, numpy as np
    >>> buf = io.BytesIO()
    >>> _ = write_wav(buf, np.zeros(4, dtype=np.float32), 16000, sample_format="int24")
    >>> len(buf.getvalue())  # 44-byte header + 4 samples of 3 bytes
    56
    """
    if sample_format not in SAMPLE_FORMATS:
        raise ValueError(f"sample_format {sample_format!r} is not supported; choose one of "
                         f"{list(SAMPLE_FORMATS)}")
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, numbers.Integral):
        raise TypeError(f"sample_rate must be an int; got {type(sample_rate).__name__}")
    if not 1 <= int(sample_rate) <= 0xFFFFFFFF:
        raise ValueError(f"sample_rate must be in [1, 2**32 - 1]; got {sample_rate}")
    if not isinstance(clip, (bool, np.bool_)):
        raise TypeError(f"clip must be a bool; got {type(clip).__name__}")
    raw = _wav_bytes(_check_data(data, bool(clip)), int(sample_rate), sample_format)
    if hasattr(file, "write"):
        file.write(raw)
        return file
    path = os.fspath(file)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".wav", dir=folder)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a file gets the usual mode
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


# --------------------------------------------------------------------------- resampling
def resample(x: Any, orig_rate: int, target_rate: int, *, axis: int = -1) -> np.ndarray:
    """Resample along ``axis`` from ``orig_rate`` to ``target_rate`` with
    :func:`scipy.signal.resample_poly` (polyphase FIR, Kaiser window).

    The factor is the reduced fraction ``up/down = target_rate/orig_rate``; the output has
    ``ceil(n_times * up / down)`` samples. float32 stays float32, other dtypes become float64;
    the work is on the host (NumPy in, NumPy out).

    Examples
    --------
    >>> import numpy as np
    >>> resample(np.zeros((2, 441), dtype=np.float32), 44100, 16000).shape
    (2, 160)
    """
    for name, r in (("orig_rate", orig_rate), ("target_rate", target_rate)):
        if isinstance(r, bool) or not isinstance(r, numbers.Integral):
            raise TypeError(f"{name} must be an int; got {type(r).__name__}")
        if r < 1:
            raise ValueError(f"{name} must be >= 1; got {r}")
    a = to_host(as_array(x, "x"))
    if a.dtype.kind not in "fiu":
        raise TypeError(f"x must be a real array; got dtype {a.dtype}")
    if a.ndim == 0 or a.size == 0:
        raise ValueError(f"x must be a non-empty signal; got shape {a.shape}")
    a = a.astype(np.float32 if a.dtype == np.float32 else np.float64, copy=False)
    if not np.all(np.isfinite(a)):
        raise ValueError("x contains NaN or infinity")
    ratio = Fraction(int(target_rate), int(orig_rate))
    if ratio == 1:
        return a.copy()
    from scipy.signal import resample_poly

    out = resample_poly(a, ratio.numerator, ratio.denominator, axis=axis)
    return out.astype(a.dtype, copy=False)

