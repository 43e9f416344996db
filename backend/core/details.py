"""A problem's ``detail`` in the reader's language (issue 15, point 9).

Services keep raising ``ProblemError("case 8f… not found")`` in English; nothing at a raise site
changes. When the answer goes out in zh-CN, ``localised_detail`` looks the English detail up in
one catalogue (``backend/core/details_zh.py``, keyed by the template the service wrote, its
interpolated values numbered ``{0}``, ``{1}``, …), and answers the Chinese template with the
same values put in. A value that is itself a catalogued detail (``the action cannot start:
<detail>; <detail>``) or a state name (``archived``) is put in in Chinese too. A detail no
template matches (an object store's own error text) is prefixed with the Chinese title, so a
zh-CN answer always says in Chinese what went wrong.

Why a catalogue of templates and not message keys at every raise site: about 250 problems are
raised across every room, most with values in them; the template is the message key, so the
catalogue is complete exactly when every template of the source is in it, which
tests/unit/core/test_problem_details.py checks by reading the source.
"""

from __future__ import annotations

import re
from functools import cache

from backend.core.details_zh import DETAILS_ZH, VALUES_ZH
from backend.core.language import ZH_CN

_PLACEHOLDER = re.compile(r"\{(\d+)\}")
_CJK = re.compile("[\u4e00-\u9fff]")
_MAX_DEPTH = 3
# Tried before every other template: msgspec appends " - at `$.field`" to any of its messages.
_FIRST = ("{0} - at `{1}`",)


@cache
def _compiled() -> tuple[tuple[re.Pattern[str], str, bool], ...]:
    """Every template as an anchored pattern; the most literal text first, so ``case {0} not
    found`` wins over ``{0} not found`` and ``{0}: {1}`` is the last resort. A template without
    Chinese of its own (``{0}: {1}``, ``payload: {0}``) counts only when a value in it was translated."""
    entries = []
    for english, chinese in DETAILS_ZH.items():
        pieces = _PLACEHOLDER.split(english)
        pattern = "".join(re.escape(piece) if index % 2 == 0 else f"(?P<p{piece}>.*?)" for index, piece in enumerate(pieces))
        literal = "".join(pieces[::2])
        wordless = not _CJK.search(chinese)  # a wrapper: "{0}: {1}", "payload: {0}"
        rank = -1_000_000 if english in _FIRST else -len(literal)
        entries.append((rank, re.compile(pattern, re.DOTALL), chinese, wordless))
    entries.sort(key=lambda entry: entry[0])
    return tuple((pattern, chinese, wordless) for _, pattern, chinese, wordless in entries)


def _translate(text: str, depth: int) -> str | None:
    if text in VALUES_ZH:
        return VALUES_ZH[text]
    if depth > _MAX_DEPTH:
        return None
    for pattern, chinese, wordless in _compiled():
        match = pattern.fullmatch(text)
        if match is None:
            continue
        values = {name[1:]: _value(value, depth + 1) for name, value in match.groupdict().items()}
        if wordless and values == {name[1:]: value for name, value in match.groupdict().items()}:
            continue  # "{0}: {1}" around English it cannot read: not a translation
        return _fill(chinese, values)
    return None


def _fill(template: str, values: dict[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda found: values.get(found.group(1), found.group(0)), template)


def _value(text: str, depth: int) -> str:
    """An interpolated value: a catalogued detail, or several joined with '; ', in Chinese."""
    whole = _translate(text, depth) if text else None
    if whole is not None:
        return whole
    if "; " in text:
        parts = [_translate(part, depth) for part in text.split("; ")]
        if any(part is not None for part in parts):
            return "；".join(part or original for part, original in zip(parts, text.split("; "), strict=True))
    return text


def translate(detail: str) -> str | None:
    """The Chinese of ``detail``, or None when no template of the catalogue matches it."""
    return _translate(detail, 0)


def localised_detail(detail: str, language: str, *, title: str) -> str:
    """``detail`` for a reader of ``language``; ``title`` (already localised) heads a detail
    the catalogue does not know, so a zh-CN answer is never English only."""
    if language != ZH_CN or not detail:
        return detail
    translated = translate(detail)
    if translated is not None:
        return translated
    return f"{title}：{detail}"


__all__ = ["localised_detail", "translate"]
