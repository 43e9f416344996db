"""Pure logic of the evidence area: type sniffing, EXIF/ISO 6709 parsing, hashing, skew."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evidence import media
from evidence.capture import skew_flag
from evidence.hashing import SizeLimitError, StreamDigest, content_key, limit_size, normalise_sha256, rechunk
from evidence.schemas import CaptureDeclaration

CHINA = timezone(timedelta(hours=8))


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\xff\xd8\xff\xe1\x00\x10Exif", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00", "image/heic"),
        (b"\x00\x00\x00\x18ftypmif1\x00\x00", "image/heic"),
        (b"\x00\x00\x00\x20ftypisom\x00\x00", "video/mp4"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00", "video/quicktime"),
        (b"\x00\x00\x00\x08wide\x00\x00", "video/quicktime"),
        (b"\x00\x00\x00\x20ftypM4A \x00\x00", "audio/mp4"),
        (b"\xff\xf1\x50\x80", "audio/aac"),
        (b"#!AMR\n\x3c", "audio/amr"),
        (b"#!AMR-WB\n", "audio/amr-wb"),
        (b"ID3\x04\x00", "audio/mpeg"),
        (b"\xff\xfb\x90\x64", "audio/mpeg"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "audio/wav"),
        (b"%PDF-1.7\n", "application/pdf"),
        (b"MZ\x90\x00", None),
        (b"<html>", None),
        (b"", None),
    ],
)
def test_sniff_by_magic_bytes(head: bytes, expected: str | None) -> None:
    assert media.sniff(head) == expected


def test_allowed_types_per_kind() -> None:
    jpeg = b"\xff\xd8\xff\xe0"
    mp4 = b"\x00\x00\x00\x20ftypisom\x00\x00"
    assert media.allowed_type("photo", jpeg) == "image/jpeg"
    assert media.allowed_type("video", jpeg) is None
    assert media.allowed_type("document", jpeg) is None
    assert media.allowed_type("video", mp4) == "video/mp4"
    assert media.allowed_type("audio", mp4) == "audio/mp4"  # voice memos use generic MP4 brands
    assert media.allowed_type("photo", mp4) is None
    assert media.allowed_type("document", b"%PDF-1.4") == "application/pdf"


@given(st.binary(max_size=64))
def test_sniff_never_fails_and_answers_only_known_types(head: bytes) -> None:
    found = media.sniff(head)
    assert found is None or any(found in allowed for allowed in media.ALLOWED_TYPES.values())


def test_exif_datetime_with_and_without_offset() -> None:
    assert media.parse_exif_datetime("2026:11:26 10:00:00", "+08:00", UTC) == datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
    assert media.parse_exif_datetime("2026:11:26 10:00:00", None, CHINA) == datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
    assert media.parse_exif_datetime("2026:11:26 10:00:00", "-0530", UTC) == datetime(2026, 11, 26, 15, 30, tzinfo=UTC)
    assert media.parse_exif_datetime("0000:00:00 00:00:00", None, UTC) is None
    assert media.parse_exif_datetime("garbage", None, UTC) is None


@given(st.text(max_size=40), st.one_of(st.none(), st.text(max_size=10)))
def test_exif_datetime_parser_never_raises(value: str, offset: str | None) -> None:
    result = media.parse_exif_datetime(value, offset, UTC)
    assert result is None or result.tzinfo is not None


def test_gps_from_exif_rationals_and_references() -> None:
    gps = {1: "S", 2: (35.0, 36.0, 36.0), 3: "W", 4: (111.0, 13.0, 30.0), 5: 1, 6: 12.5}
    point = media.gps_from_exif(gps)
    assert point is not None
    assert point.lat == pytest.approx(-35.61)
    assert point.lon == pytest.approx(-111.225)
    assert point.altitude_m == -12.5
    assert media.gps_from_exif({1: "N"}) is None
    assert media.gps_from_exif({2: (95.0, 0.0, 0.0), 4: (0.0, 0.0, 0.0)}) is None


def test_iso6709_and_creation_time() -> None:
    point = media.parse_iso6709("+35.6100+111.2200+010.000/")
    assert point is not None
    assert (point.lat, point.lon, point.altitude_m) == (35.61, 111.22, 10.0)
    assert media.parse_iso6709("nowhere") is None
    assert media.parse_iso6709("+95.0+10.0/") is None
    assert media.parse_creation_time("2026-11-26T02:00:00.000000Z") == datetime(2026, 11, 26, 2, tzinfo=UTC)
    assert media.parse_creation_time("2026-11-26 02:00:00") == datetime(2026, 11, 26, 2, tzinfo=UTC)
    assert media.parse_creation_time("yesterday") is None


@given(st.lists(st.binary(max_size=300), max_size=20), st.integers(min_value=1, max_value=500))
async def test_rechunk_preserves_bytes_and_block_size(parts: list[bytes], size: int) -> None:
    async def source() -> AsyncIterator[bytes]:
        for part in parts:
            yield part

    blocks = [b async for b in rechunk(source(), size)]
    assert b"".join(blocks) == b"".join(parts)
    assert all(len(b) == size for b in blocks[:-1])


async def test_limit_size_raises_past_the_limit() -> None:
    async def source() -> AsyncIterator[bytes]:
        yield b"x" * 60
        yield b"x" * 60

    with pytest.raises(SizeLimitError):
        _ = [b async for b in limit_size(source(), 100)]
    assert [len(b) async for b in limit_size(source(), 120)] == [60, 60]


@given(st.lists(st.binary(max_size=100), max_size=10))
def test_stream_digest_equals_one_shot_sha256(parts: list[bytes]) -> None:
    digest = StreamDigest()
    for part in parts:
        digest.update(part)
    assert digest.hexdigest == hashlib.sha256(b"".join(parts)).hexdigest()
    assert digest.size == sum(map(len, parts))


def test_content_key_and_normalisation() -> None:
    hex_ = "ab" * 32
    assert content_key(hex_) == f"sha256/{hex_}"
    assert normalise_sha256(hex_.upper()) == hex_
    with pytest.raises(ValueError, match="SHA-256"):
        content_key("../etc/passwd")
    with pytest.raises(ValueError, match="hexadecimal"):
        normalise_sha256("xyz")


def _declared(captured_at: datetime, sent_at: datetime | None = None) -> CaptureDeclaration:
    return CaptureDeclaration(sha256="a" * 64, kind="photo", captured_at=captured_at, device_id="d", device_sent_at=sent_at)


def test_skew_flag_rules() -> None:
    now = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
    # Captured long ago, uploaded now with a correct clock: not skew.
    assert skew_flag(declared=_declared(now - timedelta(hours=5), now), received_at=now, media_time=None, tolerance_s=120) == (
        0.0,
        False,
    )
    # Device clock 200 s fast when sending.
    assert skew_flag(
        declared=_declared(now - timedelta(hours=1), now + timedelta(seconds=200)),
        received_at=now,
        media_time=None,
        tolerance_s=120,
    ) == (200.0, True)
    # A capture "in the future" is impossible.
    assert skew_flag(declared=_declared(now + timedelta(minutes=5)), received_at=now, media_time=None, tolerance_s=120)[1] is True
    # The file's own clock disagrees with the device's capture time.
    declared = _declared(now - timedelta(hours=1))
    assert skew_flag(declared=declared, received_at=now, media_time=now - timedelta(minutes=50), tolerance_s=120)[1] is True
    assert skew_flag(declared=declared, received_at=now, media_time=now - timedelta(minutes=59), tolerance_s=120) == (None, False)
