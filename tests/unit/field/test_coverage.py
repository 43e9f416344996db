"""Video coverage (R-REC-4) as pure logic: union of audio+video segments vs [start, end]."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.field.coverage import Segment, gap_explained, merge, video_coverage

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def seg(a: float, b: float, *, audio: bool = True, video: bool = True) -> Segment:
    return Segment(start=at(a), end=at(b), has_audio=audio, has_video=video)


segments_st = st.lists(
    st.builds(
        lambda a, d, au, vi: seg(a, a + d, audio=au, video=vi),
        st.integers(-100, 1100),
        st.integers(0, 400),
        st.booleans(),
        st.booleans(),
    ),
    max_size=12,
)


@pytest.mark.requirement("R-REC-4")
def test_full_recording_has_no_gap():
    result = video_coverage(segments=[seg(-5, 1005)], start=at(0), end=at(1000), tolerance_s=5)
    assert result.complete
    assert result.covered == ((at(0), at(1000)),)


@pytest.mark.requirement("R-REC-4")
def test_thirty_second_gap_between_two_phones_is_reported():
    result = video_coverage(segments=[seg(0, 300), seg(330, 600)], start=at(0), end=at(600), tolerance_s=5)
    assert result.gaps == ((at(300), at(330)),)


@pytest.mark.requirement("R-REC-4")
def test_gap_within_tolerance_is_not_an_av_gap():
    result = video_coverage(segments=[seg(0, 300), seg(305, 600)], start=at(0), end=at(600), tolerance_s=5)
    assert result.complete
    assert result.uncovered == ((at(300), at(305)),)


@pytest.mark.requirement("R-REC-4")
def test_overlapping_phones_cover_each_other():
    result = video_coverage(segments=[seg(0, 400), seg(200, 600)], start=at(0), end=at(600), tolerance_s=0)
    assert result.complete


@pytest.mark.requirement("R-REC-4")
def test_video_without_audio_does_not_count():
    result = video_coverage(segments=[seg(0, 600, audio=False), seg(0, 100)], start=at(0), end=at(600), tolerance_s=5)
    assert result.gaps == ((at(100), at(600)),)


def test_missing_start_and_end_are_gaps():
    result = video_coverage(segments=[seg(60, 120)], start=at(0), end=at(200), tolerance_s=5)
    assert result.gaps == ((at(0), at(60)), (at(120), at(200)))


def test_end_before_start_is_refused():
    with pytest.raises(ValueError, match="before"):
        video_coverage(segments=[], start=at(10), end=at(0), tolerance_s=5)


def test_reason_must_contain_the_whole_gap():
    gap = (at(300), at(330))
    assert gap_explained(gap, [(at(290), at(340))])
    assert not gap_explained(gap, [(at(310), at(340))])
    assert not gap_explained(gap, [])


@given(segments_st, st.integers(0, 30))
def test_covered_and_uncovered_partition_the_interval(segments, tolerance):
    result = video_coverage(segments=segments, start=at(0), end=at(1000), tolerance_s=tolerance)
    pieces = sorted(result.covered + result.uncovered)
    assert sum((e - s).total_seconds() for s, e in pieces) == pytest.approx(1000)
    for (_, e1), (s2, _) in itertools.pairwise(pieces):
        assert e1 == s2


@given(segments_st, st.integers(0, 30))
def test_gaps_are_long_uncovered_stretches_without_any_av_segment(segments, tolerance):
    result = video_coverage(segments=segments, start=at(0), end=at(1000), tolerance_s=tolerance)
    assert set(result.gaps) <= set(result.uncovered)
    for s, e in result.gaps:
        assert (e - s).total_seconds() > tolerance
        for segment in segments:
            if segment.has_audio and segment.has_video:
                assert min(segment.end, e) <= max(segment.start, s)  # no overlap of positive length
    for s, e in set(result.uncovered) - set(result.gaps):
        assert (e - s).total_seconds() <= tolerance


@given(segments_st, st.randoms())
def test_order_of_segments_does_not_matter(segments, rnd):
    shuffled = list(segments)
    rnd.shuffle(shuffled)
    a = video_coverage(segments=segments, start=at(0), end=at(1000), tolerance_s=5)
    b = video_coverage(segments=shuffled, start=at(0), end=at(1000), tolerance_s=5)
    assert a == b


@given(st.lists(st.tuples(st.integers(0, 100), st.integers(0, 50)), max_size=10))
def test_merge_is_sorted_and_disjoint(raw):
    spans = [(at(a), at(a + d)) for a, d in raw]
    merged = merge(spans)
    for (_, e1), (s2, _) in itertools.pairwise(merged):
        assert e1 < s2
    covered = sum((e - s).total_seconds() for s, e in merged)
    assert covered <= sum((e - s).total_seconds() for s, e in spans) or not spans
