"""Upload-Metadata → the capture declaration (R-REC-5: the device hash is declared first)."""

from __future__ import annotations

import uuid

import pytest

from evidence.uploads.errors import InvalidUploadMetadata
from evidence.uploads.schemas import declaration_from_metadata

SHA = "AB" * 32


def pairs(**values: str) -> dict[str, bytes]:
    base = {
        "filename": "clip.mp4",
        "filetype": "video/mp4",
        "sha256": SHA,
        "case_id": str(uuid.uuid4()),
        "captured_at": "2026-05-01T09:30:00+08:00",
        "device_id": "phone-1",
    }
    base.update(values)
    return {k: v.encode() for k, v in base.items() if v != "<drop>"}


@pytest.mark.requirement("R-REC-5")
def test_a_full_declaration_is_typed_and_the_hash_normalised():
    action = uuid.uuid4()
    declaration = declaration_from_metadata(pairs(action_id=str(action), lat="31.2", lon="121.5", accuracy_m="8"))
    assert declaration.sha256 == SHA.lower()
    assert declaration.kind == "video"
    assert declaration.action_id == action
    capture = declaration.capture()
    assert (capture.lat, capture.lon, capture.accuracy_m, capture.kind) == (31.2, 121.5, 8.0, "video")


@pytest.mark.requirement("R-REC-5")
@pytest.mark.parametrize("missing", ["sha256", "case_id", "filetype", "captured_at", "device_id", "filename"])
def test_a_missing_required_key_is_named(missing):
    with pytest.raises(InvalidUploadMetadata) as caught:
        declaration_from_metadata(pairs(**{missing: "<drop>"}))
    assert caught.value.field == missing


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("sha256", "abc"),
        ("case_id", "not-a-uuid"),
        ("lat", "91"),
        ("lon", "east"),
        ("captured_at", "yesterday"),
        ("filetype", "video"),
    ],
)
def test_a_malformed_value_is_named(key, value):
    extra = {"lon": "121"} if key == "lat" else {"lat": "31"} if key == "lon" else {}
    with pytest.raises(InvalidUploadMetadata) as caught:
        declaration_from_metadata(pairs(**{key: value}, **extra))
    assert caught.value.field == key


def test_captured_at_needs_an_offset():
    with pytest.raises(InvalidUploadMetadata) as caught:
        declaration_from_metadata(pairs(captured_at="2026-05-01T09:30:00"))
    assert caught.value.field == "captured_at"


def test_lat_without_lon_is_refused():
    with pytest.raises(InvalidUploadMetadata) as caught:
        declaration_from_metadata(pairs(lat="31.2"))
    assert caught.value.field == "lon"


def test_keys_stock_clients_add_are_ignored():
    declaration = declaration_from_metadata({**pairs(), "name": b"clip.mp4", "type": b"video/mp4", "relativePath": b""})
    assert declaration.filename == "clip.mp4"


@pytest.mark.parametrize(("filetype", "kind"), [("image/jpeg", "photo"), ("audio/aac", "audio"), ("application/pdf", "document")])
def test_kind_follows_the_declared_type(filetype, kind):
    assert declaration_from_metadata(pairs(filetype=filetype)).kind == kind
