"""tus header grammar: Upload-Metadata, Upload-Checksum, Tus-Resumable, lengths and offsets."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evidence.uploads import protocol
from evidence.uploads.errors import (
    ChecksumAlgorithmUnsupported,
    InvalidTusHeader,
    InvalidUploadMetadata,
    TusVersionUnsupported,
)

# Keys: printable ASCII without space and comma (the protocol's rule).
keys = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, blacklist_characters=","), min_size=1, max_size=20)
metadata = st.dictionaries(keys, st.binary(max_size=64), max_size=10)


@given(metadata)
def test_metadata_round_trips(values):
    assert protocol.parse_upload_metadata(protocol.encode_upload_metadata(values)) == values


@given(metadata, st.sampled_from([" ", "  "]))
def test_metadata_tolerates_blanks_around_pairs(values, pad):
    encoded = protocol.encode_upload_metadata(values)
    padded = ",".join(pad + pair for pair in encoded.split(",")) if encoded else encoded
    assert protocol.parse_upload_metadata(padded) == values


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("filename a2V5,filename b3RoZXI=", "filename"),  # duplicate key
        ("filename not*base64", "filename"),
        ("filename a2V5 extra", "Upload-Metadata"),  # three tokens in one pair
        ("filé a2V5", "filé"),  # non-ASCII key
        (",", "Upload-Metadata"),  # empty pair
    ],
)
def test_malformed_metadata_names_the_field(header, field):
    with pytest.raises(InvalidUploadMetadata) as caught:
        protocol.parse_upload_metadata(header)
    assert caught.value.field == field


def test_metadata_absent_or_blank_is_empty():
    assert protocol.parse_upload_metadata(None) == {}
    assert protocol.parse_upload_metadata("   ") == {}


def test_metadata_has_a_size_cap():
    with pytest.raises(InvalidUploadMetadata):
        protocol.parse_upload_metadata("k " + "A" * 9000)


@given(st.sampled_from(sorted(protocol.CHECKSUM_ALGORITHMS)), st.binary(max_size=4096))
def test_checksum_header_parses_and_verifies(algorithm, chunk):
    digest = hashlib.new(algorithm, chunk).digest()
    parsed = protocol.parse_upload_checksum(f"{algorithm} {base64.b64encode(digest).decode()}")
    assert parsed == (algorithm, digest)
    check = protocol.ChunkChecksum(*parsed)
    check.update(chunk)
    assert check.matches()
    check.update(b"x")
    assert not check.matches()


@pytest.mark.parametrize("header", ["crc32 AAAAAA==", "sha512 " + base64.b64encode(b"x" * 64).decode(), "blake2b AAAA"])
def test_unknown_checksum_algorithm_is_its_own_problem(header):
    with pytest.raises(ChecksumAlgorithmUnsupported) as caught:
        protocol.parse_upload_checksum(header)
    assert caught.value.status == 400


@pytest.mark.parametrize(
    "header", ["sha1", "sha1 ", "sha1 not-base64!", "sha1 " + base64.b64encode(b"short").decode(), "sha1 a b"]
)
def test_malformed_checksum_is_400(header):
    with pytest.raises(InvalidTusHeader):
        protocol.parse_upload_checksum(header)


def test_no_checksum_header_means_no_check():
    assert protocol.parse_upload_checksum(None) is None


@pytest.mark.parametrize("value", [None, "", "0.2.2", "1.0", "1.0.0.0"])
def test_tus_resumable_must_be_1_0_0(value):
    with pytest.raises(TusVersionUnsupported) as caught:
        protocol.check_tus_resumable(value)
    assert caught.value.status == 412


def test_tus_resumable_1_0_0_passes():
    protocol.check_tus_resumable("1.0.0")


@given(st.integers(min_value=0, max_value=2**62))
def test_non_negative_integers_parse(value):
    assert protocol.parse_non_negative(str(value), header="Upload-Offset") == value


@given(st.text(max_size=20).filter(lambda s: not s.strip().isdigit() or not s.strip().isascii()))
def test_anything_else_is_a_400_naming_the_header(text):
    with pytest.raises(InvalidTusHeader) as caught:
        protocol.parse_non_negative(text, header="Upload-Length")
    assert caught.value.field == "Upload-Length"


@pytest.mark.parametrize("text", ["-1", "+5", "1e3", "0x10", "１２"])
def test_signed_or_exotic_numbers_are_refused(text):
    with pytest.raises(InvalidTusHeader):
        protocol.parse_non_negative(text, header="Upload-Offset")


def test_upload_expires_is_an_rfc_9110_date():
    assert protocol.http_date(datetime(2026, 5, 1, 8, 0, tzinfo=UTC)) == "Fri, 01 May 2026 08:00:00 GMT"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("application/offset+octet-stream", True),
        ("Application/Offset+Octet-Stream; x=1", True),
        ("application/octet-stream", False),
        (None, False),
    ],
)
def test_offset_stream_content_type(value, expected):
    assert protocol.is_offset_stream(value) is expected
