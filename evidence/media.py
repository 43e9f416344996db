"""What the bytes are and what they say: type sniffing, EXIF/container metadata, thumbnails.

Pure, blocking functions over a seekable binary file (run them in a worker thread). They
read headers and at most one decoded frame; originals are never re-saved (re-saving a
JPEG drops its EXIF). Derived images are new objects (SWGDE), never a replacement.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from fractions import Fraction
from typing import IO, Any

import av
import pillow_heif
from PIL import ExifTags, Image, ImageOps

from evidence.schemas import EvidenceKind, GeoPoint, MediaInfo

pillow_heif.register_heif_opener()

THUMBNAIL_SIZE = (320, 320)
SNIFF_BYTES = 64

# R-REC-5 / issue: only these types per kind; the file name and the client's header are ignored.
ALLOWED_TYPES: dict[str, frozenset[str]] = {
    "photo": frozenset({"image/jpeg", "image/png", "image/heic"}),
    "video": frozenset({"video/mp4", "video/quicktime"}),
    "audio": frozenset({"audio/mp4", "audio/aac", "audio/amr", "audio/amr-wb", "audio/mpeg", "audio/wav"}),
    "document": frozenset({"application/pdf"}),
}

_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
_AUDIO_MP4_BRANDS = {b"M4A ", b"M4B ", b"F4A "}
_QT_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}


def sniff(head: bytes) -> str | None:
    """The media type of a file from its first bytes, or None when unknown."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"#!AMR-WB\n"):
        return "audio/amr-wb"
    if head.startswith(b"#!AMR\n"):
        return "audio/amr"
    if len(head) >= 12 and head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "audio/wav"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return _sniff_ftyp(head[8:12])
    if len(head) >= 8 and head[4:8] in _QT_ATOMS:
        return "video/quicktime"
    if head.startswith(b"ID3"):
        return "audio/mpeg"
    if len(head) >= 2 and head[0] == 0xFF:
        if head[1] & 0xF6 == 0xF0:  # ADTS sync word, layer 00
            return "audio/aac"
        if head[1] & 0xE0 == 0xE0 and head[1] & 0x06 != 0:  # MPEG audio frame sync, layer ≠ reserved
            return "audio/mpeg"
    return None


def _sniff_ftyp(brand: bytes) -> str:
    if brand in _HEIF_BRANDS:
        return "image/heic"
    if brand in _AUDIO_MP4_BRANDS:
        return "audio/mp4"
    if brand == b"qt  ":
        return "video/quicktime"
    return "video/mp4"


def allowed_type(kind: EvidenceKind, head: bytes) -> str | None:
    """The sniffed type when it is allowed for ``kind``, else None.

    An MP4 container declared as audio is accepted as ``audio/mp4`` (phones write voice
    memos with generic MP4 brands); probing later confirms it carries no video.
    """
    found = sniff(head)
    if found is None:
        return None
    if kind == "audio" and found == "video/mp4":
        return "audio/mp4"
    return found if found in ALLOWED_TYPES[kind] else None


# --- photos -------------------------------------------------------------------------------

_EXIF_DATE = re.compile(r"^(\d{4}):(\d{2}):(\d{2}) (\d{2}):(\d{2}):(\d{2})")
_OFFSET = re.compile(r"^([+-])(\d{2}):?(\d{2})$")


def parse_exif_datetime(value: str, offset: str | None, assume_tz: tzinfo) -> datetime | None:
    """EXIF ``YYYY:MM:DD HH:MM:SS`` with optional ``OffsetTimeOriginal``; else ``assume_tz``."""
    match = _EXIF_DATE.match(value.strip())
    if not match:
        return None
    try:
        year, month, day, hour, minute, second = (int(g) for g in match.groups())
        naive = datetime(year, month, day, hour, minute, second)  # zone attached below
    except ValueError:
        return None
    tz = assume_tz
    if offset and (m := _OFFSET.match(offset.strip())):
        sign = -1 if m.group(1) == "-" else 1
        tz = timezone(sign * timedelta(hours=int(m.group(2)), minutes=int(m.group(3))))
    return naive.replace(tzinfo=tz).astimezone(UTC)


def _rational(value: Any) -> float:
    return float(Fraction(value.numerator, value.denominator)) if hasattr(value, "numerator") else float(value)


def gps_from_exif(gps: dict[int, Any]) -> GeoPoint | None:
    """Decimal degrees from the EXIF GPSInfo IFD (refs N/S, E/W; altitude ref 1 = below sea)."""
    try:
        lat_dms, lon_dms = gps[2], gps[4]
        lat = sum(_rational(v) / 60**i for i, v in enumerate(lat_dms))
        lon = sum(_rational(v) / 60**i for i, v in enumerate(lon_dms))
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    if str(gps.get(1, "N")).upper().startswith("S"):
        lat = -lat
    if str(gps.get(3, "E")).upper().startswith("W"):
        lon = -lon
    altitude = None
    with contextlib.suppress(KeyError, TypeError, ValueError, ZeroDivisionError):
        altitude = _rational(gps[6]) * (-1 if gps.get(5) in (1, b"\x01") else 1)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return GeoPoint(lat=round(lat, 7), lon=round(lon, 7), altitude_m=altitude)


def photo_info(fh: IO[bytes], *, assume_tz: tzinfo) -> MediaInfo:
    with Image.open(fh) as image:
        exif = image.getexif()
        sub = exif.get_ifd(ExifTags.IFD.Exif)
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        original = sub.get(0x9003) or exif.get(0x0132)  # DateTimeOriginal, else DateTime
        taken = parse_exif_datetime(str(original), sub.get(0x9011), assume_tz) if original else None
        return MediaInfo(
            media_captured_at=taken,
            width=image.width,
            height=image.height,
            orientation=int(exif.get(0x0112, 1)),
            has_video=False,
            location=gps_from_exif(dict(gps)) if gps else None,
            make=_text(exif.get(0x010F)),
            model=_text(exif.get(0x0110)),
        )


def photo_thumbnail(fh: IO[bytes]) -> bytes:
    """A small JPEG, orientation-corrected; the original stays untouched."""
    with Image.open(fh) as image:
        image.draft("RGB", THUMBNAIL_SIZE)  # JPEG: decode at reduced scale, bounded memory
        upright = ImageOps.exif_transpose(image)
        upright.thumbnail(THUMBNAIL_SIZE)
        return _jpeg(upright)


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, format="JPEG", quality=80)
    return out.getvalue()


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip("\x00 ").strip()
    return text[:100] or None


# --- audio and video ----------------------------------------------------------------------

_ISO6709 = re.compile(r"^([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)?")


def parse_iso6709(value: str) -> GeoPoint | None:
    """``+31.2304+121.4737+010.000/`` (QuickTime/MP4 location tags)."""
    match = _ISO6709.match(value.strip())
    if not match:
        return None
    lat, lon = float(match.group(1)), float(match.group(2))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    alt = float(match.group(3)) if match.group(3) else None
    return GeoPoint(lat=lat, lon=lon, altitude_m=alt)


def parse_creation_time(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


_LOCATION_TAGS = ("location", "com.apple.quicktime.location.ISO6709", "location-eng")
_TIME_TAGS = ("creation_time", "com.apple.quicktime.creationdate", "date")


def av_info(fh: IO[bytes]) -> MediaInfo:
    """Duration, codecs, resolution, creation time and location: container headers only."""
    with av.open(fh, mode="r") as container:
        tags = {k.lower(): v for k, v in container.metadata.items()}
        video = container.streams.video[0] if container.streams.video else None
        audio = container.streams.audio[0] if container.streams.audio else None
        for stream in (video, audio):
            if stream is not None:
                for key, value in stream.metadata.items():
                    tags.setdefault(key.lower(), value)
        duration = container.duration / av.time_base if container.duration else None
        if duration is None and video is not None and video.duration and video.time_base:
            duration = float(video.duration * video.time_base)
        created = next((t for k in _TIME_TAGS if (v := tags.get(k.lower())) and (t := parse_creation_time(v))), None)
        location = next((g for k in _LOCATION_TAGS if (v := tags.get(k.lower())) and (g := parse_iso6709(v))), None)
        return MediaInfo(
            media_captured_at=created,
            duration_s=round(duration, 3) if duration is not None else None,
            width=video.codec_context.width if video is not None else None,
            height=video.codec_context.height if video is not None else None,
            video_codec=video.codec_context.name if video is not None else None,
            audio_codec=audio.codec_context.name if audio is not None else None,
            has_video=video is not None,
            has_audio=audio is not None,
            location=location,
        )


def video_poster(fh: IO[bytes]) -> bytes | None:
    """The first decodable frame as a small JPEG, rotated upright (display matrix)."""
    with av.open(fh, mode="r") as container:
        if not container.streams.video:
            return None
        for frame in container.decode(video=0):
            image: Image.Image = frame.to_image()  # type: ignore[no-untyped-call]
            rotation = int(getattr(frame, "rotation", 0) or 0)
            if rotation:
                image = image.rotate(rotation, expand=True)
            image.thumbnail(THUMBNAIL_SIZE)
            return _jpeg(image)
    return None


# --- one entry point ----------------------------------------------------------------------


def describe(media_type: str, opener: Callable[[], IO[bytes]], *, assume_tz: tzinfo) -> tuple[MediaInfo, bytes | None]:
    """Metadata and a thumbnail/poster for a stored file; failures become ``MediaInfo.error``."""
    try:
        if media_type.startswith("image/"):
            with opener() as fh:
                info = photo_info(fh, assume_tz=assume_tz)
            with opener() as fh:
                return info, photo_thumbnail(fh)
        if media_type.startswith(("video/", "audio/")):
            with opener() as fh:
                info = av_info(fh)
            if not info.has_video:
                return info, None
            with opener() as fh:
                return info, video_poster(fh)
    except Exception as exc:  # noqa: BLE001 - a damaged file is still evidence; record why
        return MediaInfo(error=f"{type(exc).__name__}: {exc}"[:300]), None
    return MediaInfo(), None
