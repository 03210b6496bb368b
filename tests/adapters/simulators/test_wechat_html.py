"""What WeChat keeps of article HTML (adapters/simulators/wechat_html.py), edge cases.

The main behaviour is tested through the simulator's HTTP API in test_wechat_simulator.py.
"""

from __future__ import annotations

import pytest

from adapters.simulators.wechat_html import wechat_content

HOSTED = "http://mmbiz.qpic.cn/mmbiz_png/abc/0"


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ('<p title="a &amp; b">x&nbsp;&#36;</p>', '<p title="a &amp; b">x&nbsp;&#36;</p>'),  # untouched
        (f'<IMG SRC="https://www.example.gov.cn/a.jpg"><img src="{HOSTED}">', f'<img src="{HOSTED}">'),
        ('<img src="http://mmbiz.qpic.cn.example.com/x.jpg">', ""),  # a look-alike host
        ('<img src="//mmbiz.qpic.cn/mmbiz_jpg/x/0">', '<img src="//mmbiz.qpic.cn/mmbiz_jpg/x/0">'),
        ('<img alt="no source">', ""),
        (f'<img src="{HOSTED}" onerror="alert(1)" srcset="a.jpg 2x"/>', f'<img src="{HOSTED}" />'),
        ("<p>a</p><script>if (1 < 2) { x() }</script><p>b</p>", "<p>a</p><p>b</p>"),
        ("<p>a</p><iframe><iframe></iframe><p>in</p></iframe><p>b</p>", "<p>a</p><p>b</p>"),
        ("<svg><script>x()</script></svg>", "<svg></svg>"),
        ('<object data="x.swf"><embed src="x.swf"></object><link rel="stylesheet" href="x.css">', ""),
        ('<div style="BACKGROUND: URL(\'a;b.png\') no-repeat; color: red">d</div>',
         '<div style="color: red">d</div>'),
        ('<div style="background-image:url(x.png)">d</div>', "<div>d</div>"),
        ("<style>.a{background:url(x.png);color:red}</style>", "<style>.a{color:red}</style>"),
        ('<a href="https://weixin.qq.com.example.com/">x</a>', "<a>x</a>"),
        ('<a href="JaVaScRiPt:alert(1)">x</a><a href="#top">t</a>', '<a>x</a><a href="#top">t</a>'),
        ('<a href="https://mp.weixin.qq.com/s/x">w</a>', '<a href="https://mp.weixin.qq.com/s/x">w</a>'),
        ("<p>a<!-- note --></p>", "<p>a</p>"),
        ("&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;script&gt;alert(1)&lt;/script&gt;"),
    ],
)
def test_wechat_content(given: str, kept: str) -> None:
    assert wechat_content(given) == kept
