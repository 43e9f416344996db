"""finalize_capture / receive_direct on both stores: hashing, dedup, types, metadata, records, ledger."""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from PIL import Image

from backend.core.errors import NotFound
from backend.core.settings import Settings
from backend.ledger.tables import LedgerRow
from evidence import capture, holds, records
from evidence.errors import DisallowedMediaType, HashMismatch, StoreUnavailableError, UploadTooLarge
from evidence.schemas import CaptureContext
from evidence.store import FilesystemStore, ObjectStore, S3Store, open_store
from evidence.tables import EvidenceItem
from tests.integration.evidence import media_factory
from tests.integration.evidence.helpers import CHINA, chunks_of, declare, read_all


async def ledger_events(subject_id: str | None = None) -> list[str]:
    query = LedgerRow.select(LedgerRow.event, LedgerRow.subject_id).order_by(LedgerRow.seq)
    rows = await query
    return [r["event"] for r in rows if subject_id is None or r["subject_id"] == subject_id]


async def staged_keys(store: ObjectStore) -> list[str]:
    """Everything left in the staging area: objects and pending multipart uploads."""
    pending = [u.key for u in await store.list_incomplete_multipart()]
    if isinstance(store, FilesystemStore):
        folder = store.root / "data" / "staging"
        return pending + [str(p) for p in folder.rglob("*") if p.is_file()] if folder.exists() else pending
    assert isinstance(store, S3Store)
    return pending + [o.object_name for o in store.client.list_objects(store.staging_bucket, recursive=True)]


async def upload(store: Any, store_settings: Any, context: Any, data: Any, kind: Any = "photo", **declared_fields: Any) -> Any:
    return await capture.receive_direct(
        store=store,
        chunks=chunks_of(data),
        declared=declare(data, kind, **declared_fields),
        context=context,
        settings=store_settings,
    )


@pytest.mark.requirement("R-REC-5", "R-REC-7")
async def test_photo_becomes_content_addressed_evidence_with_record_and_ledger(
    store: ObjectStore, store_settings: Settings, context: CaptureContext
) -> None:
    data = media_factory.jpeg()
    result = await upload(store, store_settings, context, data, lat=35.61, lon=111.22, accuracy_m=8.5, filename="IMG_1.jpg")
    evidence = result.evidence
    sha = hashlib.sha256(data).hexdigest()
    assert result.duplicate is False
    assert result.created is True
    assert evidence.object_key == f"sha256/{sha}"
    assert evidence.status == "verified"
    assert (evidence.kind, evidence.media_type, evidence.size) == ("photo", "image/jpeg", len(data))
    assert (evidence.case_id, evidence.action_id, evidence.uploader_id) == (
        context.case_id,
        context.action_id,
        context.officer_id,
    )
    assert evidence.certificate_snapshot_id == context.certificate_snapshot_id
    assert (evidence.lat, evidence.lon, evidence.accuracy_m) == (35.61, 111.22, 8.5)
    assert await read_all(store, evidence.object_key) == data  # the original, byte for byte
    rows = await EvidenceItem.select().where(EvidenceItem.id == evidence.id)
    assert len(rows) == 1
    assert rows[0]["sha256"] == sha
    assert await ledger_events(str(evidence.id)) == [
        "evidence.received",
        "evidence.verified",
        "evidence.attached",
        "evidence.metadata_extracted",
    ]


async def test_photo_metadata_exif_gps_and_upright_thumbnail(
    store: ObjectStore, store_settings: Settings, context: CaptureContext
) -> None:
    data = media_factory.jpeg(taken="2026:11:26 10:00:00", offset="+08:00", gps=(35.6123, 111.2234), orientation=6, size=(64, 48))
    evidence = (await upload(store, store_settings, context, data)).evidence
    assert await staged_keys(store) == []  # staged bytes are gone once the evidence is final
    assert evidence.media_captured_at == datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
    assert evidence.media_location is not None
    assert (round(evidence.media_location.lat, 4), round(evidence.media_location.lon, 4)) == (35.6123, 111.2234)
    assert (evidence.width, evidence.height) == (64, 48)
    assert evidence.metadata["orientation"] == 6
    assert evidence.metadata["make"] == "Huawei"
    assert evidence.thumbnail_key is not None
    assert evidence.thumbnail_key != evidence.object_key
    thumb = await read_all(store, evidence.thumbnail_key)
    assert hashlib.sha256(thumb).hexdigest() == evidence.thumbnail_sha256
    with Image.open(io.BytesIO(thumb)) as image:
        assert image.height > image.width  # orientation 6 = rotated: the thumbnail stands upright


async def test_video_metadata_from_container(store: ObjectStore, store_settings: Settings, context: CaptureContext) -> None:
    data = media_factory.mp4(seconds=2, creation_time="2026-11-26T02:00:00.000000Z", location="+35.6100+111.2200/")
    evidence = (await upload(store, store_settings, context, data, kind="video")).evidence
    assert evidence.media_type == "video/mp4"
    assert evidence.duration_s == pytest.approx(2.0, abs=0.1)
    assert (evidence.has_video, evidence.has_audio) == (True, True)
    assert evidence.media_captured_at == datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
    assert evidence.media_location is not None
    assert evidence.media_location.lat == pytest.approx(35.61)
    assert evidence.metadata["video_codec"] == "h264"
    assert evidence.thumbnail_key is not None  # poster frame


async def test_audio_in_mp4_container(store: ObjectStore, store_settings: Settings, context: CaptureContext) -> None:
    data = media_factory.mp4(video=False)
    evidence = (await upload(store, store_settings, context, data, kind="audio")).evidence
    assert evidence.media_type == "audio/mp4"
    assert (evidence.has_audio, evidence.has_video) == (True, False)
    assert evidence.thumbnail_key is None


@pytest.mark.requirement("R-REC-5")
async def test_hash_mismatch_rejects_and_leaves_nothing(
    store: ObjectStore, store_settings: Settings, context: CaptureContext
) -> None:
    data = media_factory.jpeg(color="green")
    wrong = declare(b"something else", "photo")
    with pytest.raises(HashMismatch) as caught:
        await capture.receive_direct(
            store=store, chunks=chunks_of(data), declared=wrong, context=context, settings=store_settings
        )
    assert caught.value.status == 422
    assert await staged_keys(store) == []
    assert caught.value.extra["received_sha256"] == hashlib.sha256(data).hexdigest()
    assert await store.stat("sha256/" + hashlib.sha256(data).hexdigest()) is None
    assert await EvidenceItem.count() == 0
    assert await ledger_events() == ["evidence.rejected"]
    assert await staged_keys(store) == []


async def test_disallowed_type_is_refused_from_the_bytes(
    store: ObjectStore, store_settings: Settings, context: CaptureContext
) -> None:
    pdf = media_factory.pdf()
    with pytest.raises(DisallowedMediaType) as caught:
        await upload(store, store_settings, context, pdf, kind="photo", filename="photo.jpg")
    assert caught.value.status == 415
    assert await store.stat("sha256/" + hashlib.sha256(pdf).hexdigest()) is None
    assert await EvidenceItem.count() == 0
    assert await ledger_events() == ["evidence.rejected"]
    # The same bytes declared as a document are fine.
    evidence = (await upload(store, store_settings, context, pdf, kind="document")).evidence
    assert evidence.media_type == "application/pdf"


async def test_oversize_direct_upload_is_refused_while_streaming(
    store: ObjectStore, store_settings: Settings, context: CaptureContext
) -> None:
    small = msgspec.structs.replace(store_settings, direct_upload_limit=2048)
    data = media_factory.jpeg(size=(400, 400)) + b"\0" * 4096
    with pytest.raises(UploadTooLarge) as caught:
        await capture.receive_direct(
            store=store, chunks=chunks_of(data, 1024), declared=declare(data), context=context, settings=small
        )
    assert caught.value.status == 413
    assert await EvidenceItem.count() == 0
    assert await store.stat("sha256/" + hashlib.sha256(data).hexdigest()) is None
    assert await staged_keys(store) == []


async def test_client_disconnect_mid_body_leaves_nothing(
    store: ObjectStore, store_settings: Settings, context: CaptureContext
) -> None:
    data = media_factory.jpeg() * 50

    class Gone(Exception):
        pass

    async def vanishing() -> AsyncIterator[bytes]:
        yield data[:1000]
        raise Gone

    with pytest.raises(Gone):
        await capture.receive_direct(
            store=store, chunks=vanishing(), declared=declare(data), context=context, settings=store_settings
        )
    assert await EvidenceItem.count() == 0
    assert await ledger_events() == []
    assert await staged_keys(store) == []


@pytest.mark.requirement("R-REC-5")
async def test_identical_bytes_are_stored_once_and_answered_duplicate(
    store: ObjectStore, store_settings: Settings, context: CaptureContext
) -> None:
    data = media_factory.jpeg(color="yellow")
    first = await upload(store, store_settings, context, data)
    retry = await upload(store, store_settings, context, data)
    assert retry.duplicate is True
    assert retry.created is False
    assert retry.evidence.id == first.evidence.id  # a phone retry: still one record
    other_action = msgspec.structs.replace(context, action_id=uuid.uuid4())
    again = await upload(store, store_settings, other_action, data)
    assert again.duplicate is True
    assert again.created is True  # the capture belongs to another action: noted
    assert again.evidence.object_key == first.evidence.object_key
    assert again.evidence.duplicate_of == first.evidence.id
    assert await EvidenceItem.count() == 2


@pytest.mark.requirement("R-REC-6")
async def test_finalised_evidence_gets_retention_and_legal_hold(
    store: ObjectStore, store_settings: Settings, context: CaptureContext
) -> None:
    evidence = (await upload(store, store_settings, context, media_factory.png())).evidence
    info = await store.stat(evidence.object_key)
    assert info is not None
    assert info.retain_until is not None
    expected = evidence.received_at + timedelta(days=store_settings.evidence_retention_days)
    assert abs((info.retain_until - expected).total_seconds()) < 2
    held = await holds.set_legal_hold(
        store=store,
        agency_id=context.agency_id,
        evidence_id=evidence.id,
        actor_id=context.officer_id,
        on=True,
        reason="court order",
    )
    assert held.id == evidence.id
    info = await store.stat(evidence.object_key)
    assert info is not None
    assert info.legal_hold is True
    assert (await ledger_events(str(evidence.id)))[-1] == "evidence.held"


async def test_clock_skew_is_flagged_not_trusted(store: ObjectStore, store_settings: Settings, context: CaptureContext) -> None:
    now = datetime.now(UTC)
    ok = await upload(
        store, store_settings, context, media_factory.png((5, 5)), captured_at=now.astimezone(CHINA), device_sent_at=now
    )
    assert ok.evidence.clock_skew_flagged is False
    assert ok.evidence.clock_skew_s is not None
    assert abs(ok.evidence.clock_skew_s) < 60
    skewed = await upload(
        store,
        store_settings,
        context,
        media_factory.png((6, 6)),
        captured_at=now - timedelta(minutes=10),
        device_sent_at=now + timedelta(seconds=store_settings.clock_skew_tolerance_s + 60),
    )
    assert skewed.evidence.clock_skew_flagged is True
    assert abs((skewed.evidence.device_captured_at - (now - timedelta(minutes=10))).total_seconds()) < 0.01  # kept as claimed
    # The photo says 10:00 +08:00 but the phone claims a capture a day later: flagged.
    photo = media_factory.jpeg(taken="2026:11:26 10:00:00", offset="+08:00", color="black")
    late = await upload(store, store_settings, context, photo, captured_at=datetime(2026, 11, 27, 10, 0, tzinfo=CHINA))
    assert late.evidence.clock_skew_flagged is True
    assert late.evidence.metadata["media_device_skew_s"] == -86400


async def test_list_for_action_and_agency_scoping(
    store: ObjectStore, store_settings: Settings, context: CaptureContext, make_person: Any
) -> None:
    video = (await upload(store, store_settings, context, media_factory.mp4(seconds=1), kind="video")).evidence
    photo = (await upload(store, store_settings, context, media_factory.png((7, 7)))).evidence
    action_id = context.action_id
    assert action_id is not None
    listed = await records.list_for_action(agency_id=context.agency_id, action_id=action_id)
    assert {e.id for e in listed} == {video.id, photo.id}
    by_id = {e.id: e for e in listed}
    assert by_id[video.id].has_video
    assert by_id[video.id].has_audio
    assert by_id[video.id].media_started_at == video.media_captured_at
    assert by_id[video.id].duration_s == pytest.approx(1.0, abs=0.1)
    stranger = await make_person()
    assert await records.list_for_action(agency_id=stranger.agency.id, action_id=action_id) == []
    with pytest.raises(NotFound):
        await records.get_evidence(agency_id=stranger.agency.id, evidence_id=video.id)
    assert (await records.get_evidence(agency_id=context.agency_id, evidence_id=video.id)).id == video.id


async def test_s3_failure_mid_stream_leaves_nothing_and_answers_503(s3_settings: Settings, context: CaptureContext) -> None:
    from urllib.parse import urlparse

    from tests.integration.evidence.flaky_proxy import FlakyProxy

    upstream = urlparse(s3_settings.store_url)
    real = open_store(s3_settings)
    await real.check()  # buckets exist before the outage
    proxy = FlakyProxy((upstream.hostname or "127.0.0.1", upstream.port or 80), budget=7 * 1024 * 1024, refuse=12)
    flaky = open_store(msgspec.structs.replace(s3_settings, store_url=proxy.endpoint, s3_part_size=5 * 1024 * 1024))
    data = media_factory.jpeg() + bytes(range(256)) * (12 * 4096)  # ~12 MiB: multipart, cut in part 2
    try:
        with pytest.raises(StoreUnavailableError) as caught:
            await capture.receive_direct(
                store=flaky, chunks=chunks_of(data), declared=declare(data), context=context, settings=s3_settings
            )
        assert caught.value.status == 503
        assert proxy.cuts == 1  # the S3 connection really broke mid-body
    finally:
        proxy.close()
        await flaky.close()
    assert await EvidenceItem.count() == 0
    assert await real.stat("sha256/" + hashlib.sha256(data).hexdigest()) is None
    assert await staged_keys(real) == []
    await real.close()


def content_versions(store: S3Store, key: str) -> list[Any]:
    """Every version (and delete marker) the S3 server holds at ``key``, read with the minio client."""
    return [o for o in store.client.list_objects(store.bucket, prefix=key, include_version=True) if o.object_name == key]


@pytest.mark.requirement("R-REC-5", "R-REC-6")
async def test_s3_mismatch_leaves_no_version_at_the_content_key(s3_settings: Settings, context: CaptureContext) -> None:
    """The body streams into a multipart upload at the declared key; a wrong hash aborts it."""
    store = open_store(msgspec.structs.replace(s3_settings, s3_part_size=5 * 1024 * 1024))
    assert isinstance(store, S3Store)
    data = media_factory.jpeg(color="purple") + bytes(range(256)) * (50 * 1024)  # ~12.5 MiB: three parts
    declared = declare(data[:-1], "photo")  # the phone's hash covers other bytes
    key = "sha256/" + declared.sha256
    try:
        with pytest.raises(HashMismatch):
            await capture.receive_direct(
                store=store, chunks=chunks_of(data, 256 * 1024), declared=declared, context=context, settings=s3_settings
            )
        assert content_versions(store, key) == []
        assert content_versions(store, "sha256/" + hashlib.sha256(data).hexdigest()) == []
        assert await staged_keys(store) == []  # no staged object, no pending multipart in either bucket
    finally:
        await store.close()


@pytest.mark.requirement("R-REC-5", "R-REC-6")
async def test_s3_duplicate_creates_no_second_version(s3_settings: Settings, context: CaptureContext) -> None:
    store = open_store(s3_settings)
    assert isinstance(store, S3Store)
    data = media_factory.jpeg(color="orange")
    key = "sha256/" + hashlib.sha256(data).hexdigest()
    try:
        first = await upload(store, s3_settings, context, data)
        version = content_versions(store, key)
        assert len(version) == 1
        other_action = msgspec.structs.replace(context, action_id=uuid.uuid4())
        again = await upload(store, s3_settings, other_action, data)
        assert again.duplicate is True
        assert again.evidence.object_key == first.evidence.object_key == key
        assert [v.version_id for v in content_versions(store, key)] == [version[0].version_id]
        assert await staged_keys(store) == []
        # A duplicate whose bytes differ from its declaration is still refused.
        with pytest.raises(HashMismatch):
            await capture.receive_direct(
                store=store,
                chunks=chunks_of(data + b"x"),
                declared=declare(data),
                context=other_action,
                settings=s3_settings,
            )
        assert [v.version_id for v in content_versions(store, key)] == [version[0].version_id]
    finally:
        await store.close()


async def test_direct_upload_to_files_writes_one_file_and_leaves_no_temporaries(
    settings: Settings, context: CaptureContext
) -> None:
    store = open_store(settings)
    assert isinstance(store, FilesystemStore)
    data = media_factory.jpeg(color="navy") + bytes(range(256)) * (40 * 1024)  # ~10 MiB: two parts
    result = await upload(store, settings, context, data)
    path = store.root / "data" / result.evidence.object_key
    assert path.read_bytes() == data
    assert list((store.root / "multipart").iterdir()) == []
    assert list((store.root / "tmp").iterdir()) == []
    assert await staged_keys(store) == []
