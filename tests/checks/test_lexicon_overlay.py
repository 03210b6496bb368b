"""The engine's database overlay: unit additions and disabled rules merged into the shared
automaton, selected per unit path at match time (review.checks)."""

from __future__ import annotations

from review.checks import Addition, Overlay, check_content
from review.checks.lexicon import get_lexicon

OV = Overlay(
    key="test-overlay-1", label="lex-test+3",
    additions=(Addition(5, "typo", "巴彦淖儿", "巴彦淖尔", reason="地名"),
               Addition(7, "ad", "买一赠一啊"),
               Addition(5, "domain", "example.org"),
               Addition(5, "source", "草原晨报"),
               Addition(7, "typo", "巴彦淖儿", "巴彦淖尔", reason="另一单位的同一词条"),
               Addition(5, "outdated", "旗畜牧局", "旗农牧和科技局", since="2019-03")),
    disables=((5, "typo.攻府"),),
)
TEXT = "巴彦淖儿市攻府发布买一赠一啊活动。"


def rules(text, **kw):
    return [(f.rule, f.text) for f in check_content(text, overlay=OV, **kw)]


def test_additions_apply_to_their_scopes_only():
    assert rules(TEXT) == [("typo.攻府", "攻府")]
    assert rules(TEXT, scopes=(5,)) == [("typo.巴彦淖儿", "巴彦淖儿")]  # 攻府 disabled for unit 5
    assert rules(TEXT, scopes=(7, 1)) == [("typo.巴彦淖儿", "巴彦淖儿"), ("typo.攻府", "攻府"),
                                          ("ad.买一赠一啊", "买一赠一啊")]
    assert check_content(TEXT) and rules("原旗畜牧局局长", scopes=(5,)) == []  # historical reference
    assert rules("旗畜牧局通知", scopes=(5,)) == [("outdated.旗畜牧局", "旗畜牧局")]


def test_additions_survive_evasion_like_shared_entries():
    assert rules("巴彥淖兒市", scopes=(5,)) == [("typo.巴彦淖儿", "巴彥淖兒")]  # traditional
    assert rules("巴彦 淖儿市", scopes=(5,)) == [("typo.巴彦淖儿", "巴彦 淖儿")]  # spaced


def test_domain_and_source_additions_extend_the_allow_lists():
    html = '<p>来源：草原晨报</p><p><a href="https://www.example.org/a">链接</a></p>'
    assert {r for r, _t in rules(html)} == {"link.source_unapproved", "link.external"}
    assert rules(html, scopes=(5,)) == []


def test_one_automaton_per_overlay_version():
    lex = get_lexicon(overlay=OV)
    assert lex is get_lexicon(overlay=OV)
    assert lex.label == "lex-test+3"
    assert get_lexicon() is not lex and get_lexicon().dropped == []
    other = Overlay(key="test-overlay-2", label="lex-test+4", additions=OV.additions[:1])
    assert get_lexicon(overlay=other) is not lex
    # The files-only lexicon is unaffected by any overlay.
    assert [f.rule for f in check_content("巴彦淖儿")] == []
