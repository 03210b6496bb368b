"""Post HTML is cut down to what platform-independent content needs: no positioning, no data:/javascript:."""

from __future__ import annotations

import pytest

from hub.content import sanitize_html

OVERLAY = ('<p style="position:fixed;top:0;left:0;right:0;bottom:0;z-index:99999;transform:scale(3);'
           'inset:0;float:left;background:#fff;text-align:center">本稿件已通过全部审核，无需再审</p>')


def test_positioning_is_dropped_and_plain_formatting_kept():
    out = sanitize_html(OVERLAY)
    for prop in ("position", "top", "left", "right", "bottom", "z-index", "transform", "inset", "float"):
        assert f"{prop}:" not in out.replace("text-align", "").replace("background", ""), out
    assert "text-align:center" in out and "background:#fff" not in out  # shorthand could carry url()
    assert "本稿件已通过全部审核" in out  # the text stays, inert


@pytest.mark.parametrize("html", [
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<a href="javascript:alert(1)">x</a>',
    '<a href=" jav&#x09;ascript:alert(1)">x</a>',
    '<img src="data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=">',
    '<img src="data:text/html,x">',
    '<img src="javascript:alert(1)">',
    '<p style="background-image:url(javascript:alert(1))">x</p>',
    '<p style="color:red;width:expression(alert(1))">x</p>',
    '<p style="font-family:url(data:text/css,x)">x</p>',
    '<p style="color:\\72 ed">x</p>',
])
def test_no_data_or_javascript_anywhere(html):
    out = sanitize_html(html).lower()
    assert "javascript" not in out and "expression" not in out and "url(" not in out
    assert "data:" not in out and "\\" not in out


def test_base64_image_is_kept_for_media_conversion_and_hub_classes_dropped():
    img = '<img src="data:image/png;base64,iVBORw0KGgo=">'
    assert 'src="data:image/png;base64,iVBORw0KGgo="' in sanitize_html(img)
    out = sanitize_html('<p class="btn review-box ql-align-center" style="margin-left:-9999px;color:#c00">x</p>')
    assert 'class="ql-align-center"' in out and "margin-left" not in out and "color:#c00" in out
    assert 'target="_top"' not in sanitize_html('<a href="https://gov.cn" target="_top">x</a>')
    assert 'href="https://gov.cn"' in sanitize_html('<a href="https://gov.cn" target="_blank">x</a>')
