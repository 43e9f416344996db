"""Accept-Language picks the problem title's language; zh-CN is the default for officers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.core.errors import ProblemError
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


def _problem_classes() -> list[type[ProblemError]]:
    import backend.app  # noqa: F401 - the app imports every room, so every problem class exists

    found: list[type[ProblemError]] = []
    pending: list[type[ProblemError]] = [ProblemError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def test_every_problem_has_a_chinese_title() -> None:
    # Officers read Chinese: no zh-CN answer may carry an English title (issue 15, defect 15).
    untranslated = sorted({cls.slug for cls in _problem_classes() if localised_title(cls.slug, cls.title, ZH_CN) == cls.title})
    assert untranslated == []
