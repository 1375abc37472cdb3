"""WAV in and out (every sample format, mono and multichannel, bad files) and resampling."""

from __future__ import annotations

import io
import os
import struct

import numpy as np
import pytest
from scipy.io import wavfile

from dictlearn.signal import SAMPLE_FORMATS, read_wav, resample, write_wav

BITS = {"uint8": 8, "int16": 16, "int24": 24, "int32": 32}


def _bytes(data, rate=8000, **kw):
    buf = io.BytesIO()
    write_wav(buf, data, rate, **kw)
    return buf.getvalue()


def _header(tag, channels, rate, bits, n_bytes, data=b""):
    """A plain RIFF/WAVE file with the given 'fmt ' fields."""
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, bits)
    body = (b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data"
            + struct.pack("<I", n_bytes) + data)
    return b"RIFF" + struct.pack("<I", len(body)) + body


# --------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("sample_format", list(SAMPLE_FORMATS))
@pytest.mark.parametrize("shape", [(500,), (1, 300), (3, 400)])
def test_round_trip_every_format(tmp_path, sample_format, shape):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, shape)
    x.flat[:3] = [1.0, -1.0, 0.0]
    if sample_format == "float32":
        x = x.astype(np.float32)
    x0 = x.copy()
    path = write_wav(tmp_path / "a.wav", x, 22050, sample_format=sample_format)
    assert os.listdir(tmp_path) == ["a.wav"]  # no temporary file left
    y, rate = read_wav(path)
    assert rate == 22050 and y.dtype == np.float64
    assert y.shape == (x.shape if x.ndim == 2 else (1, *x.shape))
    y = y.reshape(x.shape)
    assert np.array_equal(x, x0)
    if sample_format == "float32":
        assert np.array_equal(y, x)  # exact
        return
    pos = 2.0 ** (BITS[sample_format] - 1) - 1
    assert np.max(np.abs(y - x)) <= 0.5 / pos + 1e-15  # half a code step
    assert y.flat[0] == 1.0 and y.flat[1] == -1.0 and y.flat[2] == 0.0
    assert y.min() >= -1.0 and y.max() <= 1.0


@pytest.mark.parametrize("sample_format", list(BITS))
def test_codes_and_scipy_agree(sample_format):
    """SciPy reads our files (24-bit: as int32, left- or right-justified by version) and the
    codes are the documented rounding; we read SciPy's files to the documented scaling."""
    bits = BITS[sample_format]
    pos, neg = 2 ** (bits - 1) - 1, 2 ** (bits - 1)
    x = np.array([[1.0, -1.0, 0.5, -0.5, 0.25 / pos, 0.75 / pos, 0.0]])
    rate, d = wavfile.read(io.BytesIO(_bytes(x, sample_format=sample_format)))
    codes = d.astype(np.int64).ravel()
    if sample_format == "uint8":
        codes = codes - 128
    if sample_format == "int24" and np.abs(codes).max() >= 2 ** 23:
        codes = codes >> 8
    want = [pos, -neg, round(0.5 * pos), -neg // 2, 0, 1, 0]
    assert codes.tolist() == want and rate == 8000
    # the other way: SciPy writes codes, we read them scaled
    if sample_format != "int24":
        dtype = {"uint8": np.uint8, "int16": np.int16, "int32": np.int32}[sample_format]
        raw = np.array(want, dtype=np.int64) + (128 if sample_format == "uint8" else 0)
        buf = io.BytesIO()
        wavfile.write(buf, 16000, raw.astype(dtype))
        y, r = read_wav(io.BytesIO(buf.getvalue()))
        assert r == 16000
        assert np.allclose(y[0], [1.0, -1.0, round(0.5 * pos) / pos, -0.5, 0, 1 / pos, 0],
                           rtol=0, atol=1e-15)


def test_float32_scipy_interop_and_multichannel_order():
    x = np.array([[0.1, 0.2, 0.3], [-0.4, -0.5, 1.5]], dtype=np.float32)
    buf = io.BytesIO()
    wavfile.write(buf, 8000, x.T)  # SciPy: (n_times, n_channels)
    y, _ = read_wav(io.BytesIO(buf.getvalue()))
    assert np.array_equal(y, x.astype(np.float64))  # floats as stored, even beyond 1
    _, d = wavfile.read(io.BytesIO(_bytes(x[:, :2], sample_format="float32")))
    assert d.dtype == np.float32 and np.array_equal(d.T, x[:, :2])


def test_clip_only_when_asked(tmp_path):
    x = np.array([0.5, 1.2, -1.5])
    with pytest.raises(ValueError, match=r"outside \[-1, 1\].*1\.5.*sample 2.*clip=True"):
        write_wav(tmp_path / "c.wav", x, 8000)
    assert not os.listdir(tmp_path)
    y, _ = read_wav(write_wav(tmp_path / "c.wav", x, 8000, clip=True))
    assert y[0].tolist()[1:] == [1.0, -1.0]


# --------------------------------------------------------------------------- atomic write
def test_written_file_has_the_usual_mode(tmp_path):
    (tmp_path / "plain").write_bytes(b"")
    write_wav(tmp_path / "a.wav", np.zeros(4), 8000)
    assert os.stat(tmp_path / "a.wav").st_mode == os.stat(tmp_path / "plain").st_mode


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "out.wav"
    write_wav(path, np.zeros(10), 8000)
    before = path.read_bytes()

    def boom(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError, match="disk full"):
        write_wav(path, np.full(10, 0.5), 8000)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["out.wav"]


# --------------------------------------------------------------------------- bad files
def test_not_a_wav_and_missing(tmp_path):
    p = tmp_path / "text.wav"
    p.write_text("hello, this is not a sound")
    with pytest.raises(ValueError, match=r"text\.wav' is not a WAV file"):
        read_wav(p)
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(ValueError, match=r"not a WAV file.*empty"):
        read_wav(tmp_path / "empty.wav")
    with pytest.raises(FileNotFoundError, match="no such WAV file"):
        read_wav(tmp_path / "missing.wav")
    with pytest.raises(ValueError, match="RIFX"):
        read_wav(io.BytesIO(b"RIFX" + _bytes(np.zeros(4))[4:]))


def test_truncated_files(tmp_path):
    raw = _bytes(np.random.default_rng(0).uniform(-1, 1, (2, 50)), sample_format="int24")
    for cut in (len(raw) - 1, len(raw) - 6, 50, 44, 40, 30, 20, 13):
        p = tmp_path / f"cut{cut}.wav"
        p.write_bytes(raw[:cut])
        with pytest.raises(ValueError, match=rf"cut{cut}\.wav' is truncated"):
            read_wav(p)
    with pytest.raises(ValueError, match="not a WAV"):
        read_wav(io.BytesIO(raw[:8]))


@pytest.mark.parametrize("raw, match", [
    (_header(6, 1, 8000, 8, 4, b"\0" * 4), "'A-law'.*0x0006"),
    (_header(7, 1, 8000, 8, 4, b"\0" * 4), "'mu-law'"),
    (_header(0x55, 1, 8000, 16, 4, b"\0" * 4), "'MPEG Layer 3'"),
    (_header(3, 1, 8000, 64, 8, b"\0" * 8), "64-bit float"),
    (_header(1, 1, 8000, 12, 0), "12-bit PCM"),
    (_header(3, 1, 8000, 16, 2, b"\0\0"), "16-bit float"),
])
def test_unsupported_formats(raw, match):
    with pytest.raises(ValueError, match=match):
        read_wav(io.BytesIO(raw))


def test_float64_written_by_scipy_is_refused_by_name(tmp_path):
    p = tmp_path / "f64.wav"
    wavfile.write(p, 8000, np.zeros(8))
    with pytest.raises(ValueError, match=r"f64\.wav' holds 64-bit float samples"):
        read_wav(p)


def test_nonfinite_float_file_refused():
    raw = _header(3, 1, 8000, 32, 8, np.array([0.0, np.nan], dtype="<f4").tobytes())
    with pytest.raises(ValueError, match="NaN or infinity"):
        read_wav(io.BytesIO(raw))


# --------------------------------------------------------------------------- bad data
@pytest.mark.parametrize("data, kw, exc, match", [
    (np.zeros(4, dtype=np.int16), {}, TypeError, "floating-point.*int16.*32768"),
    (np.zeros(4, dtype=bool), {}, TypeError, "floating-point"),
    (np.zeros(4, dtype=complex), {}, TypeError, "floating-point"),
    (np.zeros((2, 2, 2)), {}, ValueError, "3-D"),
    (np.zeros(0), {}, ValueError, "empty"),
    (np.zeros((100, 2)), {}, ValueError, "more channels than samples.*data.T"),
    (np.array([0.0, np.nan]), {}, ValueError, "NaN"),
    (np.zeros(4), {"sample_format": "float64"}, ValueError, "'float64' is not supported"),
    (np.zeros(4), {"sample_format": "int8"}, ValueError, "choose one of"),
    (np.zeros(4), {"clip": 1}, TypeError, "clip must be a bool"),
])
def test_bad_data(tmp_path, data, kw, exc, match):
    with pytest.raises(exc, match=match):
        write_wav(tmp_path / "x.wav", data, 8000, **kw)
    assert not os.listdir(tmp_path)


def test_bad_sample_rate():
    with pytest.raises(TypeError, match="sample_rate must be an int"):
        _bytes(np.zeros(4), rate=8000.0)
    with pytest.raises(ValueError, match="sample_rate must be in"):
        _bytes(np.zeros(4), rate=0)


# --------------------------------------------------------------------------- resampling
@pytest.mark.parametrize("orig, target", [(44100, 16000), (16000, 48000), (8000, 11025),
                                          (48000, 8000), (22050, 22050)])
def test_resample_length(orig, target):
    from fractions import Fraction

    r = Fraction(target, orig)
    for n in (1, 7, 1000, 4411):
        y = resample(np.zeros((2, n)), orig, target)
        assert y.shape == (2, -(-n * r.numerator // r.denominator))


def _peak_hz(x, rate):
    """Frequency of the spectral peak, refined by parabolic interpolation of the log
    magnitude (Hann window)."""
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size), 8 * x.size))
    k = int(np.argmax(spec))
    a, b, c = np.log(spec[k - 1:k + 2])
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * rate / (8 * x.size)


@pytest.mark.parametrize("orig, target", [(44100, 16000), (16000, 44100), (8000, 48000)])
def test_resample_keeps_a_sines_frequency_and_amplitude(orig, target):
    f = 1234.5
    t = np.arange(orig) / orig  # one second
    y = resample(np.sin(2 * np.pi * f * t), orig, target)
    assert abs(_peak_hz(y, target) - f) < 0.1  # a 1 s sine: far below the 1 Hz bin width
    mid = y[target // 10: -target // 10]  # away from the filter's edge transients
    assert abs(np.sqrt(2 * np.mean(mid ** 2)) - 1.0) < 0.01


def test_resample_dtypes_and_bad_input():
    x32 = np.ones(100, dtype=np.float32)
    assert resample(x32, 8000, 16000).dtype == np.float32
    assert resample(x32.astype(np.float64), 8000, 16000).dtype == np.float64
    assert resample(np.ones(100, dtype=np.int16), 8000, 16000).dtype == np.float64
    same = resample(x32, 8000, 8000)
    assert same is not x32 and np.array_equal(same, x32)
    with pytest.raises(TypeError, match="orig_rate must be an int"):
        resample(x32, 8000.0, 16000)
    with pytest.raises(ValueError, match="target_rate must be >= 1"):
        resample(x32, 8000, 0)
    with pytest.raises(ValueError, match="NaN"):
        resample(np.array([1.0, np.inf]), 8000, 16000)
    with pytest.raises(ValueError, match="non-empty"):
        resample(np.zeros(0), 8000, 16000)
    with pytest.raises(TypeError, match="real array"):
        resample(np.zeros(4, dtype=complex), 8000, 16000)
