"""Accept-Language picks the problem title's language; zh-CN is the default for officers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.core.language import EN, ZH_CN, localised_title, preferred_language


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, ZH_CN),
        ("", ZH_CN),
        ("en", EN),
        ("en-US,en;q=0.9", EN),
        ("zh-CN,zh;q=0.9,en;q=0.8", ZH_CN),
        ("fr, en;q=0.5", EN),
        ("en;q=0.4, zh;q=0.8", ZH_CN),
        ("de", ZH_CN),
        ("en;q=0", ZH_CN),
    ],
)
def test_preferred_language(header, language):
    assert preferred_language(header) == language


@given(st.text(max_size=60))
def test_any_header_gives_a_supported_language(header):
    assert preferred_language(header) in {EN, ZH_CN}


def test_titles_fall_back_to_english_for_unknown_slugs():
    assert localised_title("certificate-suspended", "Certificate suspended", ZH_CN) == "执法证件已暂扣"
    assert localised_title("certificate-suspended", "Certificate suspended", EN) == "Certificate suspended"
    assert localised_title("no-such-slug", "Something", ZH_CN) == "Something"
