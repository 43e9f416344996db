"""The benchmark's own logic: statistics, bulk ledger entries, bench files, the table.

No timings are asserted (performance is reported by ``make bench``, never tested).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.ledger import chain
from backend.ledger.verify import check_row
from bench import files
from bench.harness import Row, Stat, percentile, ratio_stat
from bench.ledger import Spec, _entries
from bench.report import render
from evidence import media


@given(st.lists(st.floats(min_value=0.001, max_value=1e6), min_size=1, max_size=30))
def test_stat_bounds_and_percentiles(values: list[float]) -> None:
    stat = Stat.of(values)
    assert stat.low <= stat.median <= stat.high
    assert stat.spread_pct >= 0
    assert min(values) <= percentile(values, 50) <= max(values)
    assert percentile(values, 0) == min(values)
    assert percentile(values, 100) == max(values)


def test_ratio_pairs_each_repeat_with_its_own_baseline() -> None:
    ratio = ratio_stat([10.0, 20.0, 30.0], [20.0, 20.0, 20.0])
    assert ratio.samples == [0.5, 1.0, 1.5]
    assert ratio.median == 1.0
    assert ratio_stat([2.0], [4.0], higher_is_better=False).median == 2.0
    with pytest.raises(ValueError, match=r"shorter|longer"):
        ratio_stat([1.0, 2.0], [1.0])


def test_bulk_ledger_entries_verify_with_the_ledger_rules() -> None:
    """The bench writes its million entries with the ledger's own encoding: verify accepts them."""
    spec = Spec(actor_id=uuid.uuid4(), agency_id=uuid.uuid4(), case_id=uuid.uuid4(), case_every=2)
    bodies: list[bytes] = []
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = list(_entries(spec, count=40, head_seq=7, head_hash="ab" * 32, start=start, bodies=bodies))
    prev = "ab" * 32
    for expected_seq, row in enumerate(rows, start=8):
        assert check_row(row, expected_seq=expected_seq, prev_hash=prev) is None
        prev = row.entry_hash
    assert len(bodies) == 40
    assert sum(row.case_id == spec.case_id for row in rows) == 20
    # The raw-hashlib baseline hashes exactly the bytes the chain covers.
    assert chain.chain_hash("ab" * 32, chain.body_hash(json.loads(bodies[0]))) == rows[0].entry_hash


def test_a_changed_bulk_entry_is_caught() -> None:
    spec = Spec(actor_id=uuid.uuid4(), agency_id=uuid.uuid4())
    row = next(_entries(spec, count=1, head_seq=0, head_hash=chain.GENESIS_HASH, start=datetime.now(UTC), bodies=None))
    row = msgspec.structs.replace(row, subject_id="tampered")
    assert check_row(row, expected_seq=1, prev_hash=chain.GENESIS_HASH) is not None


def test_bench_file_is_a_video_and_each_repeat_is_new_content(tmp_path: Path) -> None:
    path = files.make_file(tmp_path / "f.mp4", 3 * 1024 * 1024 + 5)
    assert path.stat().st_size == 3 * 1024 * 1024 + 5
    assert media.allowed_type("video", path.read_bytes()[: media.SNIFF_BYTES]) == "video/mp4"
    first, _ = files.renew(path)
    second, _ = files.renew(path)
    assert first != second
    assert files.sha256_file(path)[0] == second
    assert b"".join(files.read_blocks(path, 1024 * 1024)) == path.read_bytes()


def test_table_shows_figures_and_skips() -> None:
    rows = [
        Row(
            case="tus upload",
            config="pg+s3",
            metric="throughput",
            unit="MB/s",
            ours=Stat.of([80.0]),
            baseline=Stat.of([100.0]),
            ratio=ratio_stat([80.0], [100.0]),
            target="≥ 0.85×",
            met=False,
            rss_growth_mb=12.0,
        ),
        Row(case="tus peer", config="s3", metric="throughput", unit="MB/s", skipped="node is not installed"),
    ]
    text = render(rows, {"cpu_count": 2, "versions": {}, "repeats": 1, "smoke": True})
    assert "0.80×" in text
    assert "✘" in text
    assert "skipped" in text
    assert "node is not installed" in text
    assert "12 MB" in text
