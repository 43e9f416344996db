"""Real media files for tests: JPEG with EXIF/GPS, PNG, MP4 (PyAV + numpy), WAV, PDF."""

from __future__ import annotations

import io
import math
import struct
from fractions import Fraction

import av
import numpy as np
from PIL import ExifTags, Image
from PIL.TiffImagePlugin import IFDRational


def _dms(value: float) -> tuple[IFDRational, IFDRational, IFDRational]:
    value = abs(value)
    degrees = int(value)
    minutes_full = (value - degrees) * 60
    minutes = int(minutes_full)
    seconds = Fraction((minutes_full - minutes) * 60).limit_denominator(10000)
    return IFDRational(degrees, 1), IFDRational(minutes, 1), IFDRational(seconds.numerator, seconds.denominator)


def jpeg(
    *,
    taken: str | None = "2026:11:26 10:00:00",
    offset: str | None = "+08:00",
    gps: tuple[float, float] | None = (35.6123, 111.2234),
    orientation: int = 6,
    size: tuple[int, int] = (64, 48),
    color: str = "red",
) -> bytes:
    image = Image.new("RGB", size, color)
    exif = Image.Exif()
    exif[0x010F] = "Huawei"
    exif[0x0110] = "P60"
    exif[0x0112] = orientation
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    if taken:
        sub[0x9003] = taken
    if offset:
        sub[0x9011] = offset
    if gps:
        info = exif.get_ifd(ExifTags.IFD.GPSInfo)
        info[1] = "N" if gps[0] >= 0 else "S"
        info[2] = _dms(gps[0])
        info[3] = "E" if gps[1] >= 0 else "W"
        info[4] = _dms(gps[1])
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def png(size: tuple[int, int] = (20, 10)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "blue").save(out, format="PNG")
    return out.getvalue()


def mp4(
    *,
    seconds: float = 2.0,
    creation_time: str | None = "2026-11-26T02:00:00.000000Z",
    location: str | None = "+35.6100+111.2200/",
    audio: bool = True,
    video: bool = True,
    size: tuple[int, int] = (64, 48),
    fmt: str = "mp4",
) -> bytes:
    out = io.BytesIO()
    fps = 10
    with av.open(out, mode="w", format=fmt) as container:
        if creation_time:
            container.metadata["creation_time"] = creation_time
        if location:
            container.metadata["location"] = location
        vstream = container.add_stream("libx264", rate=fps) if video else None
        if vstream is not None:
            vstream.width, vstream.height = size
            vstream.pix_fmt = "yuv420p"
        astream = container.add_stream("aac", rate=8000, layout="mono") if audio else None
        if vstream is not None:
            for i in range(int(seconds * fps)):
                pixels = np.full((size[1], size[0], 3), (i * 10) % 255, dtype=np.uint8)
                frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
                frame.pts = i
                for packet in vstream.encode(frame):
                    container.mux(packet)
            for packet in vstream.encode():
                container.mux(packet)
        if astream is not None:
            samples = 1024
            for i in range(int(seconds * 8000 / samples)):
                wave = np.sin(np.arange(samples, dtype=np.float32) * 2 * math.pi * 440 / 8000).reshape(1, samples)
                aframe = av.AudioFrame.from_ndarray(wave.astype(np.float32), format="fltp", layout="mono")
                aframe.sample_rate = 8000
                aframe.pts = i * samples
                for packet in astream.encode(aframe):
                    container.mux(packet)
            for packet in astream.encode():
                container.mux(packet)
    return out.getvalue()


def wav(seconds: float = 0.5, rate: int = 8000) -> bytes:
    frames = int(seconds * rate)
    data = b"\x00\x00" * frames
    header = b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE"
    fmt = b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
    return header + fmt + b"data" + struct.pack("<I", len(data)) + data


def pdf() -> bytes:
    return b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
