"""Problem titles and details in zh-CN (default) and en from one catalogue (issue 15, point 9).

The catalogue (backend/core/details_zh.py) is keyed by the English template a service writes;
tests/problem_sites.py reads every problem the source builds, so a new ``raise`` without its
Chinese fails here, naming the file and line.
"""

from __future__ import annotations

import re

import pytest

from backend.core.details import localised_detail, translate
from backend.core.details_zh import DETAILS_ZH
from backend.core.http.problems import _HTTP_SLUGS, problem_document
from backend.core.language import EN, TITLES_ZH, ZH_CN
from tests.problem_sites import sites

CJK = re.compile("[\u4e00-\u9fff]")
PLACEHOLDER = re.compile(r"\{(\d+)\}")


def test_every_problem_detail_of_the_source_has_its_chinese() -> None:
    english = [site for site in sites() if site.template and not CJK.search(site.template)]  # (demo data is Chinese)
    missing = sorted({f"{site.where}: {site.template!r}" for site in english if site.template not in DETAILS_ZH})
    assert missing == [], "add these templates to backend/core/details_zh.py:\n" + "\n".join(missing)


@pytest.mark.parametrize("english", sorted(DETAILS_ZH))
def test_a_chinese_template_carries_the_same_values_and_is_chinese(english: str) -> None:
    chinese = DETAILS_ZH[english]
    assert set(PLACEHOLDER.findall(chinese)) == set(PLACEHOLDER.findall(english))
    # Chinese words, or a wrapper ("{0}: {1}") that counts only around a value it translated.
    assert CJK.search(chinese) or translate(english.replace("{0}", "x")) is None, chinese


def test_the_framework_answers_have_chinese_titles() -> None:
    # Problems Litestar raises (404 of an unknown path, 405, 412 …) and the catch-all ones.
    slugs = {slug for slug, _ in _HTTP_SLUGS.values()} | {"internal-error", "validation-error", "http-error"}
    assert sorted(slug for slug in slugs if slug not in TITLES_ZH) == []


@pytest.mark.parametrize(
    ("english", "chinese"),
    [
        ("case 3f2a not found", "未找到案件 3f2a"),
        ("certificate GZ-1 is suspended", None),  # no template: headed by the title instead
        (
            "the action cannot start: 1 of 2 valid check-ins; no recusal declaration for this action",
            "执法行动尚不能开始：有效签到 1 人，需要 2 人；尚未就本次执法行动作出回避声明",
        ),
        ("data: Object contains unknown field `x`", "data：对象含有未知字段 `x`"),
        ("Expected `str` of length >= 1 - at `$.domains[0]`", "应为长度不少于 1 的 `str`（位置 `$.domains[0]`）"),
        ("cannot start while the action is in_progress", "执法行动当前为 进行中，不能 开始"),
        ("S3 error NoSuchBucket: gone", None),  # "{0}: {1}" around English is no translation
    ],
)
def test_details_by_template(english: str, chinese: str | None) -> None:
    assert translate(english) == chinese


def test_a_zh_cn_answer_is_chinese_and_an_en_answer_english() -> None:
    zh = problem_document(404, "not-found", "Not found", "case 3f2a not found", language=ZH_CN, field="case_id")
    assert (zh["title"], zh["detail"], zh["field"]) == ("未找到", "未找到案件 3f2a", "case_id")
    en = problem_document(404, "not-found", "Not found", "case 3f2a not found", language=EN)
    assert (en["title"], en["detail"]) == ("Not found", "case 3f2a not found")


def test_an_unknown_detail_is_headed_by_the_chinese_title() -> None:
    assert localised_detail("bucket x is missing", ZH_CN, title="证据存储暂不可用") == "证据存储暂不可用：bucket x is missing"
    assert localised_detail("bucket x is missing", EN, title="Object store unavailable") == "bucket x is missing"


def test_listed_conditions_are_localised_too() -> None:
    missing = [{"code": "recusal_declaration", "detail": "no recusal declaration for this action"}]
    zh = problem_document(409, "action-start-blocked", "Blocked", "the action cannot start: x", language=ZH_CN, missing=missing)
    assert zh["missing"][0]["detail"] == "尚未就本次执法行动作出回避声明"
    assert missing[0]["detail"] == "no recusal declaration for this action"  # the caller's list is untouched
