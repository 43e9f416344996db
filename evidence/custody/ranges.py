"""HTTP Range for evidence retrieval (RFC 9110 §14): one byte range, parsed purely.

Multi-range requests are answered with the whole object (RFC 9110 allows ignoring
Range); a Range in another unit is ignored; a malformed or unsatisfiable byte range is
refused with 416 so a player learns at once that it asked for nothing that exists.
"""

from __future__ import annotations

import re

from backend.core.errors import ProblemError

_SPEC = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")


class RangeNotSatisfiable(ProblemError):
    status = 416
    slug = "range-not-satisfiable"
    title = "The requested range is not satisfiable"

    def __init__(self, detail: str, *, size: int) -> None:
        super().__init__(detail, size=size)
        self.size = size


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive (first, last) byte positions asked for, or None for the whole object."""
    if header is None or not header.strip():
        return None
    unit, sep, spec = header.strip().partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None
    if "," in spec:
        return None
    match = _SPEC.match(spec)
    if match is None or (not match.group(1) and not match.group(2)):
        raise RangeNotSatisfiable(f"malformed byte range {header!r}", size=size)
    first_text, last_text = match.groups()
    if not first_text:  # suffix range: the last N bytes
        suffix = int(last_text)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable(f"empty suffix range {header!r}", size=size)
        return max(0, size - suffix), size - 1
    first = int(first_text)
    last = int(last_text) if last_text else size - 1
    if last_text and last < first:
        raise RangeNotSatisfiable(f"range {header!r} ends before it starts", size=size)
    if first >= size:
        raise RangeNotSatisfiable(f"range {header!r} starts at or past the end ({size} bytes)", size=size)
    return first, min(last, size - 1)


def if_range_allows(if_range: str | None, etag: str) -> bool:
    """If-Range: honour Range only when the validator is our (strong) ETag.

    A date validator or a weak/other ETag means "send everything" (RFC 9110 §13.1.5).
    """
    if if_range is None:
        return True
    return if_range.strip() == etag


def content_range(first: int, last: int, size: int) -> str:
    return f"bytes {first}-{last}/{size}"
