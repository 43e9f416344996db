"""Range parsing against a reference model: the bytes a range selects equal the slice."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evidence.custody.ranges import RangeNotSatisfiable, content_range, if_range_allows, parse_range


def select(data: bytes, header: str | None) -> bytes:
    parsed = parse_range(header, len(data))
    if parsed is None:
        return data
    first, last = parsed
    return data[first : last + 1]


@given(size=st.integers(1, 10_000), first=st.integers(0, 12_000), length=st.integers(0, 12_000))
def test_closed_ranges_select_the_slice(size: int, first: int, length: int) -> None:
    data = bytes(i % 251 for i in range(size))
    header = f"bytes={first}-{first + length}"
    if first >= size:
        with pytest.raises(RangeNotSatisfiable):
            parse_range(header, size)
    else:
        assert select(data, header) == data[first : first + length + 1]


@given(size=st.integers(1, 10_000), first=st.integers(0, 9_999))
def test_open_ended_range_runs_to_the_end(size: int, first: int) -> None:
    data = bytes(i % 251 for i in range(size))
    if first < size:
        assert select(data, f"bytes={first}-") == data[first:]


@given(size=st.integers(1, 10_000), suffix=st.integers(1, 20_000))
def test_suffix_range_is_the_last_bytes(size: int, suffix: int) -> None:
    data = bytes(i % 251 for i in range(size))
    assert select(data, f"bytes=-{suffix}") == data[-suffix:]


@pytest.mark.parametrize("header", ["bytes=5-2", "bytes=-0", "bytes=-", "bytes=a-b", "bytes=100-", "bytes=100-200", "bytes= x"])
def test_invalid_or_unsatisfiable_ranges_are_416(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable) as caught:
        parse_range(header, 100)
    assert caught.value.status == 416
    assert caught.value.size == 100


@pytest.mark.parametrize("header", [None, "", "items=0-5", "bytes=0-1,5-6"])
def test_absent_foreign_unit_and_multi_range_mean_whole_object(header: str | None) -> None:
    assert parse_range(header, 100) is None


def test_if_range_and_content_range() -> None:
    assert if_range_allows(None, '"abc"')
    assert if_range_allows('"abc"', '"abc"')
    assert not if_range_allows('W/"abc"', '"abc"')
    assert not if_range_allows("Wed, 21 Oct 2015 07:28:00 GMT", '"abc"')
    assert content_range(0, 9, 100) == "bytes 0-9/100"
