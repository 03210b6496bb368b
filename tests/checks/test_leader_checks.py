"""Leader checks (issue 6): generated name variants and titles held only in the past."""

from __future__ import annotations

from pathlib import Path

import pytest

from review.checks import check_content, has_blocking
from review.checks.lexicon import get_lexicon, lexicon_rows, name_variants

NOTICES = Path(__file__).resolve().parents[1] / "data" / "notices"


def leader(text: str, **kw) -> list[tuple[str, str, str, str | None]]:
    fs = [f for f in check_content(text, **kw) if f.category == "leader"]
    for f in fs:
        assert text[f.start : f.end] == f.text
    return [(f.rule, f.severity, f.text, f.suggestion) for f in fs]


def test_variants_are_generated_from_the_leaders_table():
    v = name_variants(["李强", "何立峰", "王沪宁"])
    assert v["李强"]["李墙"][0] == "同音字"
    assert v["何立峰"]["何立锋"][0] == "同音字"
    assert v["王沪宁"]["王沪宇"] == ("形近字", "宇")  # from similar_shapes.tsv
    # Bounded candidate set: a handful per character, never the name itself.
    assert all(len(x) <= 3 * 15 for x in v.values())
    assert "李强" not in v["李强"]
    names = {row["name"] for row in lexicon_rows("leaders.tsv")}
    lex = get_lexicon()
    assert lex.dropped == []
    # None of the generated variants is itself a leader's name.
    assert not names & set().union(*(set(x) for x in name_variants(names).values()))


def test_homophone_variant_next_to_title():
    # 墙/强 are not in the hand-written table: generated at build time.
    assert leader("国务院总理李墙出席会议") == [
        ("leader.name.李强", "block", "国务院总理李墙", "国务院总理李强")]
    assert leader("国务院副总理何立风出席") == [
        ("leader.name.何立峰", "block", "国务院副总理何立风", "国务院副总理何立峰")]
    # A short honorific after the name: warn only (a person with that ordinary name may be meant).
    assert leader("刘国衷副总理指出") == [("leader.name.刘国中", "warn", "刘国衷副总理", "刘国中副总理")]


def test_stroke_similar_variant_next_to_title():
    assert leader("全国政协主席王沪宇出席") == [
        ("leader.name.王沪宁", "block", "全国政协主席王沪宇", "全国政协主席王沪宁")]
    assert leader("国务院副总理张国请强调")[0][:3] == ("leader.name.张国清", "block", "国务院副总理张国请")


def test_traditional_spelling_of_a_variant():
    assert leader("國務院總理李墻出席")[0][:2] == ("leader.name.李强", "block")


def test_hand_written_table_still_applies():
    assert leader("习近萍同志") == [("leader.name.习近平", "warn", "习近萍", "习近平")]
    assert leader("总书记习近萍强调")[0][:2] == ("leader.name.习近平", "block")


@pytest.mark.parametrize("text", [
    "国务院总理李强出席会议",
    "全国政协主席王沪宁出席",
    "国务院副总理何立峰、张国清、刘国中出席",
    "中央纪委书记李希主持会议",
])
def test_correct_names_not_flagged(text):
    assert leader(text) == []


@pytest.mark.parametrize("text", [
    "李墙同志在社区工作",  # a generated variant alone is an ordinary name: never flagged
    "围墙边的何立风景区",
    "学习进平台的课程",
    "总理强调要抓好落实",
    "河立峰下的村庄",
    "主席台就座的有",
    "一片汪洋主席台被淹",
])
def test_ordinary_words_with_variant_characters_not_flagged(text):
    assert leader(text) == []


def test_past_title_used_as_current():
    assert leader("国务院副总理韩正出席会议。") == [
        ("leader.past.韩正.国务院副总理", "warn", "国务院副总理韩正", "国家副主席韩正")]
    fs = check_content("中央纪委书记赵乐际出席会议。")
    assert [(f.rule, f.severity, f.suggestion) for f in fs] == [
        ("leader.past.赵乐际.中央纪委书记", "warn", "全国人大常委会委员长赵乐际")]
    assert "职务可能已变更" in fs[0].message and not has_blocking(fs)
    # No current title: no suggestion, the message names the end date.
    [(rule, sev, _t, sug)] = leader("李克强总理指出")
    assert (rule, sev, sug) == ("leader.past.李克强.总理", "warn", None)


@pytest.mark.parametrize("text", [
    "2019年，国务院副总理韩正出席会议。",
    "2023年1月，国务院副总理韩正出席会议。",
    "时任国务院副总理韩正出席会议。",
    "原国务院副总理韩正出席会议。",
    "前国务院总理李克强出席会议。",
    "2020年中央纪委书记赵乐际在全会上指出",
    "国务院副总理韩正（2018年）在会上指出",
])
def test_historical_mention_not_flagged(text):
    assert leader(text) == []


def test_year_after_end_date_is_not_historical():
    assert leader("2024年5月，国务院副总理韩正出席会议。")[0][0] == "leader.past.韩正.国务院副总理"
    # A year in another sentence does not make this one historical.
    assert leader("2019年的会议已结束。国务院副总理韩正出席会议。")[0][0] == "leader.past.韩正.国务院副总理"


def test_offsets_map_to_original_html():
    html = "<p>会上，国务院总理<b>李</b>墙作报告。</p><p>国务院副总理&nbsp;韩正出席。</p>"
    fs = [f for f in check_content(html) if f.category == "leader"]
    assert [(f.rule, html[f.start : f.end]) for f in fs] == [
        ("leader.name.李强", "国务院总理<b>李</b>墙"),
        ("leader.past.韩正.国务院副总理", "国务院副总理&nbsp;韩正"),
    ]
    text = "会上，国务院总理李 墙作报告"
    [f] = [f for f in check_content(text) if f.category == "leader"]
    assert (f.start, f.end, f.text) == (3, 11, "国务院总理李 墙")


def test_real_notices_raise_no_leader_finding():
    for path in sorted(NOTICES.glob("0*")):
        fs = check_content(path.read_text(encoding="utf-8"))
        assert not has_blocking(fs), path.name
        assert [f for f in fs if f.category == "leader"] == [], path.name
