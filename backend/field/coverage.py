"""Enforced video coverage (R-REC-4), as pure functions.

"Whole process" means: the union of segments carrying both audio and video, from all the
action's officers' devices, covers [start, end] with no uncovered stretch longer than the
tolerance. Overlapping phones are fine (the union counts, not each phone).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

Span = tuple[datetime, datetime]


@dataclass(frozen=True)
class Segment:
    """One uploaded recording, on the server's clock."""

    start: datetime
    end: datetime
    has_audio: bool
    has_video: bool


@dataclass(frozen=True)
class Coverage:
    covered: tuple[Span, ...]
    # Every uncovered stretch of [start, end], longest first is not implied: in time order.
    uncovered: tuple[Span, ...]
    # The uncovered stretches longer than the tolerance: the `av_gap`s that block closing.
    gaps: tuple[Span, ...]

    @property
    def complete(self) -> bool:
        return not self.gaps


def merge(spans: Iterable[Span]) -> list[Span]:
    """Union of closed intervals, in time order; touching intervals join."""
    merged: list[Span] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _clip(spans: Sequence[Span], start: datetime, end: datetime) -> list[Span]:
    clipped = [(max(s, start), min(e, end)) for s, e in spans]
    return [(s, e) for s, e in clipped if e > s]


def _complement(covered: Sequence[Span], start: datetime, end: datetime) -> list[Span]:
    holes: list[Span] = []
    cursor = start
    for s, e in covered:
        if s > cursor:
            holes.append((cursor, s))
        cursor = max(cursor, e)
    if end > cursor:
        holes.append((cursor, end))
    return holes


def video_coverage(*, segments: Iterable[Segment], start: datetime, end: datetime, tolerance_s: float) -> Coverage:
    """Coverage of [start, end] by audio+video segments; gaps are holes longer than tolerance_s."""
    if end < start:
        raise ValueError("end is before start")
    usable = [(seg.start, seg.end) for seg in segments if seg.has_audio and seg.has_video]
    covered = _clip(merge(usable), start, end)
    uncovered = _complement(covered, start, end)
    tolerance = timedelta(seconds=tolerance_s)
    gaps = tuple(hole for hole in uncovered if hole[1] - hole[0] > tolerance)
    return Coverage(covered=tuple(covered), uncovered=tuple(uncovered), gaps=gaps)


def gap_explained(gap: Span, reasons: Iterable[Span]) -> bool:
    """A recorded reason covers a gap when its interval contains the whole gap."""
    return any(r_start <= gap[0] and gap[1] <= r_end for r_start, r_end in reasons)
