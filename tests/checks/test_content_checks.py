"""Tests for review.checks (issue 6): one section per finding category."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from review.checks import LEXICON_VERSION, Finding, check_content, has_blocking
from review.checks.lexicon import get_lexicon, lexicon_rows
from review.checks.rules import luhn_ok, valid_resident_id

NOTICES = Path(__file__).resolve().parents[1] / "data" / "notices"

VALID_ID = "150102199003071237"
VALID_ID_X = "11010519491231002X"
CARD = "6222021234567890128"


def cats(text: str, **kw) -> set[str]:
    return {f.category for f in check_content(text, **kw)}


# --------------------------------------------------------------------------- API


def test_finding_shape_and_order():
    fs = check_content("开展扫黑险恶专项斗争，市攻府召开会议。")
    assert [f.rule for f in fs] == ["typo.扫黑险恶", "typo.攻府"]
    d = fs[0].to_dict()
    assert set(d) == {"rule", "category", "severity", "start", "end", "text", "suggestion", "message"}
    assert d["suggestion"] == "扫黑除恶" and d["severity"] == "block" and d["category"] == "typo"
    assert has_blocking(fs) and not has_blocking([])
    assert fs == sorted(fs, key=lambda f: f.start)
    assert LEXICON_VERSION.startswith("lex-") and len(LEXICON_VERSION) == 16
    assert check_content("") == []


def test_offsets_count_code_points():
    text = "😀𠀀攻府"
    (f,) = check_content(text)
    assert (f.start, f.end) == (2, 4) and text[f.start : f.end] == "攻府"


def test_lexicon_is_sound():
    lex = get_lexicon()
    assert lex.dropped == []
    typo = list(lexicon_rows("typo.tsv"))
    assert len(typo) >= 300
    assert all(r["reason"] and r["right"] and r["wrong"] != r["right"] for r in typo)
    assert get_lexicon() is lex  # built once per version


# --------------------------------------------------------------------------- typo


def test_typo_positive(rules_of):
    assert rules_of("中华人民共合国") == [("typo.共合国", "block", "共合国")]
    assert ("typo.扫黑险恶", "block", "扫黑险恶") in rules_of("深入开展扫黑险恶专项斗争")
    assert rules_of("要踔励奋发、笃行不殆") == [("typo.踔励奋发", "block", "踔励奋发"), ("typo.笃行不殆", "block", "笃行不殆")]


@pytest.mark.parametrize("text", [
    "中华人民共和国政府",
    "马克思注意到资本的本质",  # contains 马克思注意 (wrong form of 马克思主义)
    "新建农家俱乐部一处",  # contains 家俱
    "形式注意事项如下",
    "本项目采用最低价中标",  # contains 最低价 (ad)
    "国务院副总理丁薛祥出席",  # contains 总理丁薛祥 (a wrong combination)
    "时任国务院副总理韩正",
    "学习近乎停滞的问题",  # contains 习近乎 (a leader-name variant)
    "大家竟争先恐后地报名",
    "内部资料性出版物管理办法",
])
def test_correct_expressions_containing_wrong_characters_are_not_flagged(text):
    assert check_content(text) == []


# --------------------------------------------------------------------------- evasion


@pytest.mark.parametrize("text,span", [
    ("市攻 府召开会议", "攻 府"),
    ("市攻\u200b府召开会议", "攻\u200b府"),
    ("市攻*府召开会议", "攻*府"),
    ("市攻·府召开会议", "攻·府"),
    ("市攻\u3000府召开会议", "攻\u3000府"),
    ("中華人民共合國", "共合國"),
    ("開展掃黑險惡專項鬥爭", "掃黑險惡"),
    ("扫，黑，险，恶", "扫，黑，险，恶"),
    ("扫 黑 险 恶", "扫 黑 险 恶"),
])
def test_evasion_variants(text, span):
    fs = [f for f in check_content(text) if f.category == "typo"]
    assert len(fs) == 1 and fs[0].text == span and text[fs[0].start : fs[0].end] == span


def test_full_width_and_sentence_punctuation():
    assert {f.rule for f in check_content("手机：１３８１２３４５６７８")} == {"pii.mobile"}
    # Ordinary punctuation between two words is not evasion: 学习党史，教育群众.
    assert check_content("学习党史，教育群众") == []


# --------------------------------------------------------------------------- HTML


def test_html_offsets_point_into_raw_html():
    html = ('<p style="x">市<b>攻</b>府召开会议</p><p>中&#x534E;人民&#20849;合国</p>'
            '<p>开展 &nbsp;扫黑险恶</p>')
    fs = check_content(html)
    assert all(html[f.start : f.end] == f.text for f in fs)
    texts = [f.text for f in fs]
    assert texts == ["攻</b>府", "&#20849;合国", "扫黑险恶"]
    for f in fs:
        # a finding starts and ends on text, never inside a tag
        assert html[f.start] != "<" and html[f.end - 1] != ">"


def test_html_block_tags_separate_words():
    assert check_content("<p>攻</p><p>府</p>") == []
    assert check_content("<p>攻</p><p>府</p>", is_html=False) == []


def test_html_attributes_are_not_text():
    assert check_content('<p title="攻府">正常</p>') == []
    assert check_content("<p>a</p>", is_html=None) == []


def test_plain_text_with_angle_brackets():
    fs = check_content("1<2 且 3>2，市攻府")
    assert [f.text for f in fs] == ["攻府"]


# --------------------------------------------------------------------------- outdated


def test_outdated(rules_of):
    assert rules_of("深入开展党史教育") == [("outdated.党史教育", "warn", "党史教育")]
    assert rules_of("由国土资源部负责") == [("outdated.国土资源部", "warn", "国土资源部")]
    assert rules_of("原国土资源部印发的文件") == []
    assert rules_of("深入开展党史学习教育") == []
    assert rules_of("农业部门要加强指导") == []
    f = check_content("国家工商总局")[0]
    assert f.suggestion == "国家市场监督管理总局" and "2018" in f.message


# --------------------------------------------------------------------------- leader


def test_leader_wrong_title_blocks(rules_of):
    assert rules_of("国务院总理赵乐际出席") == [("leader.title.赵乐际.国务院总理", "block", "国务院总理赵乐际")]
    assert rules_of("国家主席李强") == [("leader.title.李强.国家主席", "block", "国家主席李强")]


@pytest.mark.parametrize("text", [
    "中共中央总书记、国家主席、中央军委主席习近平",
    "国务院总理李强主持召开国务院常务会议",
    "全国人大常委会委员长赵乐际",
    "全国政协主席王沪宁",
    "习近平总书记强调",
    "李强总理指出",
    "时任国务院总理李克强",
    "区政协副主席李强",  # a local official who shares the name
    "李熙同志任副县长",  # a two-character name one character off is an ordinary name
])
def test_leader_correct_combinations(text):
    assert [f for f in check_content(text) if f.category == "leader"] == []


def test_leader_name_one_character_off(rules_of):
    assert rules_of("习近萍同志") == [("leader.name.习近平", "warn", "习近萍")]
    assert rules_of("总书记习近萍强调") == [("leader.name.习近平", "block", "总书记习近萍")]
    f = check_content("丁雪祥副总理")[0]
    assert f.severity == "block" and f.suggestion == "丁薛祥副总理"


def test_leader_order(rules_of):
    assert rules_of("习近平、李强、赵乐际、王沪宁出席") == []
    fs = check_content("习近平、赵乐际、李强出席")
    assert [(f.rule, f.severity) for f in fs] == [("leader.order", "warn")]
    assert fs[0].suggestion == "习近平、李强、赵乐际"


# --------------------------------------------------------------------------- sensitive


def test_sensitive_warns_never_blocks():
    fs = check_content("震惊！紧急扩散，不转不是中国人")
    assert fs and {f.category for f in fs} == {"sensitive"} and not has_blocking(fs)
    assert "网络信息内容生态治理规定" in fs[0].message
    assert check_content("各级人民政府要依法行政，国务院办公厅印发通知") == []


# --------------------------------------------------------------------------- pii


def test_resident_id_validation():
    assert valid_resident_id(VALID_ID) and valid_resident_id(VALID_ID_X)
    assert not valid_resident_id(VALID_ID[:-1] + "8")  # wrong check digit
    assert not valid_resident_id("150102199002301234")  # 30 February
    assert not valid_resident_id("990102199003071237")  # no such region


def test_pii_id_card(rules_of):
    fs = check_content(f"身份证号：{VALID_ID}。")
    assert [(f.rule, f.severity, f.text, f.suggestion) for f in fs] == [
        ("pii.id_card", "block", VALID_ID, "150102********1237")]
    assert rules_of(f"号码{VALID_ID_X.lower()}")[0][0] == "pii.id_card"
    assert rules_of("身份证号：150102199003071238") == []  # invalid checksum
    assert rules_of(f"订单号A{VALID_ID}") == []  # part of a longer code
    assert rules_of(f"编号{VALID_ID}5") == []  # part of a longer digit run


def test_pii_mobile_and_landline(rules_of):
    fs = check_content("联系人：张三，13812345678")
    assert [(f.rule, f.severity, f.suggestion) for f in fs] == [("pii.mobile", "warn", "138****5678")]
    assert rules_of("电话 138-1234-5678")[0][0] == "pii.mobile"
    for office in ("联系电话：0471-6945120", "电话：(0471)6945120", "010-12345678", "0471-4825566转8012",
                   "热线12345、12333", "编号201813812345678", "4001381234"):
        assert rules_of(office) == [], office


def test_pii_bank_card(rules_of):
    assert luhn_ok(CARD) and not luhn_ok(CARD[:-1] + "9")
    fs = check_content(f"银行卡号：{CARD}")
    assert [(f.rule, f.severity, f.suggestion) for f in fs] == [("pii.bank_card", "block", "6222***********0128")]
    assert rules_of("卡号 6222 0212 3456 7890 128")[0][:2] == ("pii.bank_card", "block")
    assert rules_of(f"金额{CARD[:-1]}9") == []  # Luhn fails
    assert rules_of("项目编号1500002023000012340") == []  # not a card prefix


# --------------------------------------------------------------------------- secret


@pytest.mark.parametrize("text", ["机密★1年", "绝密★长期", "秘密★", "秘密 ★ 6个月", "密级：机密", "內部資料，注意保密",
                                  "内部文件 请勿外传", "機密★1年"])
def test_secret_blocks(text):
    fs = check_content(f"本文件{text}，请妥善处理")
    assert any(f.category == "secret" and f.severity == "block" for f in fs), fs


@pytest.mark.parametrize("text", ["学习《中华人民共和国保守国家秘密法》", "保护商业秘密", "内部资料性出版物",
                                  "严禁泄露国家秘密", "机密文件要专柜存放"])
def test_secret_negatives(text):
    assert not has_blocking(check_content(text))


# --------------------------------------------------------------------------- map


def test_map_without_review_number_blocks(rules_of):
    assert rules_of("附图：呼和浩特市行政区划图")[0][:2] == ("map.no_review_number", "block")
    assert rules_of("项目位置见下图地图所示")[0][0] == "map.no_review_number"
    html = '<p>项目位置如下：</p><p><img src="/u/a.png" alt="项目区位地图"></p>'
    fs = check_content(html)
    assert [(f.rule, f.text) for f in fs] == [("map.image_no_review_number", '<img src="/u/a.png" alt="项目区位地图">')]
    assert check_content('<img src="/u/city_map.jpg">')[0].rule == "map.image_no_review_number"


@pytest.mark.parametrize("number", ["GS(2023)1234号", "蒙S(2023)015号", "GS京(2022)1234号", "ＧＳ（２０２３）１２３４号",
                                    "审图号：GS（2019）1822号"])
def test_map_with_review_number_passes(number):
    assert check_content(f"附图：呼和浩特市行政区划图 {number}") == []
    html = f'<p><img src="/u/map.jpg" alt="行政区划图"></p><p>{number}</p>'
    assert check_content(html) == []


def test_map_words_that_are_not_maps():
    assert check_content("可使用手机地图导航前往办事大厅") == []
    assert check_content('<img src="/u/sitemap.png" alt="网站导航">') == []


# --------------------------------------------------------------------------- link and source


def test_links():
    html = ('<a href="javascript:alert(1)">x</a><a href="https://www.gov.cn/zhengce/">政策</a>'
            '<a href="http://example.com/a?b=1&amp;c=2">e</a><a href="/local/page.html">l</a>'
            '<a href="mailto:office@nmg.gov.cn">m</a><img src="https://evilgov.cn/x.png">'
            '<a href="https://www.gov.cn.evil.com/">y</a>')
    fs = check_content(html)
    got = [(f.rule, f.severity, f.text) for f in fs]
    assert got == [
        ("link.javascript", "block", "javascript:alert(1)"),
        ("link.external", "warn", "http://example.com/a?b=1&amp;c=2"),
        ("link.external", "warn", "https://evilgov.cn/x.png"),
        ("link.external", "warn", "https://www.gov.cn.evil.com/"),
    ]
    assert all(html[f.start : f.end] == f.text for f in fs)
    assert check_content(html, allowed_domains=["example.com", "evilgov.cn", "evil.com"])[0].rule == "link.javascript"


def test_bare_urls():
    assert [f.text for f in check_content("详见 http://example.com/a。")] == ["http://example.com/a"]
    assert check_content("详见 https://www.nmg.gov.cn/zwgk/ 和 www.ccgp.gov.cn") == []
    assert [f.rule for f in check_content("访问 www.example.com")] == ["link.external"]


def test_repost_sources(rules_of):
    assert rules_of("来源：新华社") == []
    assert rules_of("本文转载自人民日报客户端") == []
    assert rules_of("来源：呼和浩特市人民政府办公室") == []
    assert rules_of("资金来源：财政拨款") == []
    assert rules_of("来源：某某自媒体")[0][:2] == ("link.source_unapproved", "warn")
    assert rules_of("来源：某某自媒体", approved_sources=["某某自媒体"]) == []
    assert rules_of("图片来源于网络")[0][0] == "link.source_unknown"
    assert rules_of("来源：网络")[0][0] == "link.source_unknown"


# --------------------------------------------------------------------------- ad


def test_ad(rules_of):
    got = rules_of("本店全网最低，限时抢购，扫码领取优惠，诚招代理加盟")
    assert {r[0] for r in got} == {"ad.全网最低", "ad.限时抢购", "ad.扫码领取优惠", "ad.诚招代理", "ad.代理加盟"}
    assert all(r[1] == "warn" for r in got)
    assert rules_of("本项目不采用最低价中标，最高级人民法院") == []


# --------------------------------------------------------------------------- real notices


NOTICE_FILES = sorted(p for p in NOTICES.iterdir() if p.suffix in (".txt", ".html"))


def test_enough_notices():
    assert len(NOTICE_FILES) >= 5


@pytest.mark.parametrize("path", NOTICE_FILES, ids=lambda p: p.name)
def test_notices_raise_no_block_finding(path):
    text = path.read_text(encoding="utf-8")
    fs = check_content(text)
    assert not has_blocking(fs), [f.to_dict() for f in fs if f.severity == "block"]


# --------------------------------------------------------------------------- properties


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["攻", "府", " ", "\u200b", "<b>", "</b>", "<p>", "&amp;", "&#x653B;", "共合国", "a",
                                 "1", "3", "8", "机密★", "http://x.com/", "<a href='http://e.com'>", "附图", "地图",
                                 "𠀀", "。", "，", "扫", "黑", "险", "恶"]), max_size=40))
def test_offsets_always_slice_the_original(parts):
    text = "".join(parts)
    for is_html in (None, True, False):
        for f in check_content(text, is_html=is_html):
            assert isinstance(f, Finding)
            assert 0 <= f.start < f.end <= len(text)
            assert text[f.start : f.end] == f.text
