"""Defaults the regulation fixes, proven where the code reads them (issue 14, found #17)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backend.core.settings import Settings
from backend.field.action_schemas import MANDATORY_AV_KINDS
from backend.field.coverage import Segment, video_coverage

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _two_phones(hole_s: float) -> list[Segment]:
    first_end = T0 + timedelta(seconds=300)
    return [
        Segment(start=T0, end=first_end, has_audio=True, has_video=True),
        Segment(start=first_end + timedelta(seconds=hole_s), end=T0 + timedelta(seconds=900), has_audio=True, has_video=True),
    ]


@pytest.mark.requirement("R-REC-4")
def test_the_default_gap_threshold_is_five_seconds():
    # The coverage report reads the tolerance from settings (backend/field/gaps.py): with the
    # defaults, a 5 s hole is tolerated and anything longer is an av_gap.
    tolerance = Settings().av_gap_tolerance_s
    end = T0 + timedelta(seconds=900)
    assert video_coverage(segments=_two_phones(5), start=T0, end=end, tolerance_s=tolerance).complete
    late = video_coverage(segments=_two_phones(5.5), start=T0, end=end, tolerance_s=tolerance)
    assert [(b - a).total_seconds() for a, b in late.gaps] == [5.5]


@pytest.mark.requirement("R-REC-2")
def test_the_three_fixed_kinds_need_whole_process_audio_video():
    assert {"seal_up", "impound", "forced_demolition"} <= MANDATORY_AV_KINDS
