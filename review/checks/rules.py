"""Regex-based checks: personal data, secrecy marks, maps, links and repost sources.

They read the prepared view (see ``text.py``) and return raw findings as
tuples in *view* coordinates, or in raw coordinates for HTML attributes;
``__init__`` turns them into :class:`Finding` objects.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from .lexicon import char_class, fold
from .text import View

D = "[0-9０-９]"
_NOT_ALNUM_BEFORE = r"(?<![0-9０-９A-Za-zＡ-Ｚａ-ｚ])"
_NOT_ALNUM_AFTER = r"(?![0-9０-９A-Za-zＡ-Ｚａ-ｚ])"


@dataclass
class Raw:
    """A finding before conversion; ``view`` tells whether offsets are view or raw offsets."""

    rule: str
    category: str
    severity: str
    start: int
    end: int
    suggestion: str | None
    message: str
    view: bool = True


Spots = list[tuple[int, int]]


def windows(spots: Spots, before: int, after: int, n: int) -> list[tuple[int, int]]:
    """Merged text windows around trigger-word hits (regexes only run there)."""
    out: list[tuple[int, int]] = []
    for s, e in sorted(spots):
        a, b = max(0, s - before), min(n, e + after)
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


# --------------------------------------------------------------------------
# pii

_ID_RX = re.compile(_NOT_ALNUM_BEFORE + D + "{17}[0-9０-９XxＸｘ]" + _NOT_ALNUM_AFTER)
_MOBILE_RX = re.compile(
    r"(?<![0-9０-９A-Za-zＡ-Ｚａ-ｚ\-－])[1１][3-9３-９]" + D + r"(?:" + D + "{8}|[- ]" + D + "{4}[- ]" + D + "{4})"
    + _NOT_ALNUM_AFTER
)
_CARD_RX = re.compile(
    _NOT_ALNUM_BEFORE + "(?:" + D + "{16,19}|" + D + "{4}(?:[ -]" + D + "{4}){3}(?:[ -]?" + D + "{1,3})?)"
    + _NOT_ALNUM_AFTER
)
_CARD_CONTEXT = re.compile("|".join(char_class(w) for w in ("卡号", "银行卡", "借记卡", "信用卡", "账号", "帐号", "储蓄卡")))
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_PROVINCES = {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
              53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83, 91}


def _digits(s: str) -> str:
    return "".join(c for c in fold(s) if c.isdigit() or c in "Xx").upper()


def valid_resident_id(num: str) -> bool:
    """18-digit resident identity number: region, real birth date, ISO 7064 check digit."""
    if len(num) != 18 or not num[:17].isdigit():
        return False
    if int(num[:2]) not in _PROVINCES:
        return False
    try:
        born = _dt.date(int(num[6:10]), int(num[10:12]), int(num[12:14]))
    except ValueError:
        return False
    if born.year < 1890 or born > _dt.date.today():
        return False
    total = sum(int(d) * w for d, w in zip(num[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == num[17].upper()


def luhn_ok(num: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(num)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def known_card_prefix(num: str) -> bool:
    """Issuer prefixes of cards common in China (UnionPay, Visa, Mastercard, JCB, old domestic debit)."""
    if num.startswith(("62", "60", "81", "94", "95")):
        return True
    if num.startswith("4") or num.startswith(("51", "52", "53", "54", "55")):
        return len(num) in (16, 19)
    if num.startswith("35") and 3528 <= int(num[:4]) <= 3589:
        return len(num) in (16, 19)
    if 2221 <= int(num[:4]) <= 2720:
        return len(num) == 16
    return False


_DIGIT_RUN = re.compile(r"[0-9０-９][0-9０-９ \-]{9,}[0-9０-９XxＸｘ]")


def check_pii(view: View) -> list[Raw]:
    text = view.text
    spots = [m.span() for m in _DIGIT_RUN.finditer(text)]
    if not spots:
        return []
    out: list[Raw] = []
    for a, b in windows(spots, 0, 2, len(text)):
        out.extend(_pii_window(text, a, b))
    return out


def _pii_window(text: str, a: int, b: int) -> list[Raw]:
    out: list[Raw] = []
    taken: list[tuple[int, int]] = []
    for m in _ID_RX.finditer(text, a, b):
        num = _digits(m.group(0))
        if valid_resident_id(num):
            out.append(Raw("pii.id_card", "pii", "block", m.start(), m.end(), num[:6] + "********" + num[-4:],
                           "疑似公民身份号码（校验位与出生日期均有效）：属于个人信息，公开发布前应删除或脱敏处理。"))
            taken.append(m.span())
    for m in _CARD_RX.finditer(text, a, b):
        if any(s <= m.start() < e for s, e in taken):
            continue
        num = _digits(m.group(0))
        if not (16 <= len(num) <= 19) or not known_card_prefix(num) or not luhn_ok(num):
            continue
        ctx = text[max(0, m.start() - 12) : m.start()]
        sev = "block" if _CARD_CONTEXT.search(ctx) else "warn"
        out.append(Raw("pii.bank_card", "pii", sev, m.start(), m.end(), num[:4] + "*" * (len(num) - 8) + num[-4:],
                       "疑似银行卡号（通过 Luhn 校验）：属于个人信息，公开发布前应删除或脱敏处理。"))
        taken.append(m.span())
    for m in _MOBILE_RX.finditer(text, a, b):
        if any(s <= m.start() < e for s, e in taken):
            continue
        num = _digits(m.group(0))
        if len(num) != 11:
            continue
        out.append(Raw("pii.mobile", "pii", "warn", m.start(), m.end(), num[:3] + "****" + num[-4:],
                       "疑似个人手机号码：如非公开的办公联系方式，请脱敏处理（如 138****0000）。"))
    return out


# --------------------------------------------------------------------------
# secret

_CLASS = char_class("绝密") + "|" + char_class("机密") + "|" + char_class("秘密")
_SECRET_STAR = re.compile(
    "(?:" + char_class("密级") + r"\s*[:：]?\s*)?(?:" + _CLASS + r")\s*[★☆*＊]\s*(?:" + D + r"{1,3}\s*(?:"
    + char_class("个月") + "|" + char_class("年") + "|" + char_class("月") + "|" + char_class("日") + ")|"
    + char_class("长期") + ")?"
)
_SECRET_LEVEL = re.compile(char_class("密级") + r"\s*[:：]\s*(?:" + _CLASS + "|" + char_class("内部") + ")")
_CLASS_GRADE = re.compile("(?:" + _CLASS + ")" + char_class("级") + "(?!" + char_class("别") + ")")
_INTERNAL = "(?:" + char_class("内部资料") + "|" + char_class("内部文件") + "|" + char_class("内部材料") + ")"
_KEEP = ("(?:" + "|".join(char_class(w) for w in ("注意保密", "请勿外传", "不得外传", "严禁外传", "禁止外传",
                                                    "请勿转发", "不得转发", "妥善保管")) + ")")
_SECRET_PAIR = re.compile(_INTERNAL + r"[\s，,、。.;；:：!！\-—]{0,4}" + _KEEP)
_SECRET_SOFT = re.compile(_KEEP + "|" + _INTERNAL + "(?!" + char_class("性") + ")|"
                          + char_class("仅供内部") + "|" + char_class("内部参考"))


def check_secret(view: View, spots: Spots) -> list[Raw]:
    text = view.text
    out: list[Raw] = []
    for a, b in windows(spots, 16, 24, len(text)):
        out.extend(_secret_window(text, a, b))
    return out


def _secret_window(text: str, a: int, b: int) -> list[Raw]:
    out: list[Raw] = []
    for m in _SECRET_STAR.finditer(text, a, b):
        out.append(Raw("secret.mark", "secret", "block", m.start(), m.end(), None,
                       "出现国家秘密标志（密级★保密期限）：涉密信息严禁在政务新媒体发布，请立即删除并报告保密部门。"))
    for m in _SECRET_LEVEL.finditer(text, a, b):
        out.append(Raw("secret.level", "secret", "block", m.start(), m.end(), None,
                       "出现密级标注：涉密或内部信息不得公开发布，请核实后删除。"))
    for m in _SECRET_PAIR.finditer(text, a, b):
        out.append(Raw("secret.internal", "secret", "block", m.start(), m.end(), None,
                       "出现“内部资料/内部文件”及保密提示：内部材料不得公开发布，请核实后删除。"))
    for m in _CLASS_GRADE.finditer(text, a, b):
        out.append(Raw("secret.grade", "secret", "warn", m.start(), m.end(), None,
                       "出现密级用语：请确认内容不涉及国家秘密（如为保密知识宣传可忽略）。"))
    for m in _SECRET_SOFT.finditer(text, a, b):
        out.append(Raw("secret.hint", "secret", "warn", m.start(), m.end(), None,
                       "出现内部或保密提示用语：请确认该内容可以公开发布。"))
    return out


# --------------------------------------------------------------------------
# map

_PROV = "京津沪渝冀晋蒙辽吉黑苏浙皖闽赣鲁豫鄂湘粤桂琼川蜀贵黔云滇藏陕秦甘陇青宁新港澳台"
_REVIEW_NO = re.compile(
    r"(?:(?:GS|ＧＳ)[" + _PROV + r"]?|[" + _PROV + r"](?:S|Ｓ))\s*[（(〔\[]\s*" + D + r"{4}\s*[）)〕\]]\s*" + D
    + r"{1,6}|" + char_class("审图号"), re.I,
)
_MAP_WORD = "(?:" + "|".join(char_class(w) for w in ("地图", "区划图", "区位图", "位置图", "地形图", "交通图")) + ")"
_ANNOUNCE_BEFORE = "(?:" + "|".join(char_class(w) for w in ("附图", "附件", "见下图", "如下图", "见附图", "下图为",
                                                            "下图是", "详见图")) + r"|附\s*[:：]|图\s*" + D + r"*\s*[:：])"
_MAP_ANNOUNCE = re.compile(
    _ANNOUNCE_BEFORE + r"[^。\n！？!?；;]{0,30}?" + _MAP_WORD
    + "|" + _MAP_WORD + r"[^。\n！？!?；;]{0,10}?(?:" + "|".join(char_class(w) for w in ("如下", "见下图", "附后",
                                                                                     "见附件", "见附图")) + ")"
    + "|" + char_class("示意图") + r"[^。\n！？!?；;]{0,20}?" + _MAP_WORD
    + "|" + _MAP_WORD + r"[^。\n！？!?；;]{0,20}?" + char_class("示意图")
)
_MAP_FILE = re.compile(r"(?:^|[^a-z])(?:map|maps|ditu|dt)(?:[^a-z]|$)")
_MAP_ALT = re.compile(_MAP_WORD + "|" + r"\bmap\b", re.I)
MAP_WINDOW = 400


def _has_review_no(text: str, start: int, end: int) -> bool:
    return _REVIEW_NO.search(text, max(0, start - MAP_WINDOW), min(len(text), end + MAP_WINDOW)) is not None


def check_map(view: View, spots: Spots) -> list[Raw]:
    text = view.text
    out: list[Raw] = []
    msg = ("地图须经审核并标注审图号（如 GS(2023)1234号、蒙S(2023)015号）：此处展示或提及地图，"
           "附近未找到审图号。请使用标准地图并标注审图号。")
    found = [m for a, b in windows(spots, 45, 35, len(text)) for m in _MAP_ANNOUNCE.finditer(text, a, b)]
    for m in found:
        if not _has_review_no(text, m.start(), m.end()):
            out.append(Raw("map.no_review_number", "map", "block", m.start(), m.end(), None, msg))
    for el in view.elements:
        if el.tag != "img":
            continue
        src = el.attrs.get("src", ("", 0, 0))[0]
        alt = " ".join(el.attrs.get(k, ("", 0, 0))[0] for k in ("alt", "title"))
        name = src.rsplit("/", 1)[-1].split("?")[0].lower()
        is_map = bool(_MAP_ALT.search(alt)) or (not src.startswith("data:") and bool(_MAP_FILE.search(name)))
        if not is_map or _REVIEW_NO.search(alt):
            continue
        if not _has_review_no(text, el.view_pos, el.view_pos):
            out.append(Raw("map.image_no_review_number", "map", "block", el.start, el.end, None, msg, view=False))
    return out


# --------------------------------------------------------------------------
# link

URL_RX = re.compile(
    r"(?:(?:https?|ftp)://|www\.)[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+", re.I,
)
_SAFE_SCHEMES = ("mailto:", "tel:", "sms:")
_CTRL = re.compile(r"[\x00-\x20\x7f]+")


def host_allowed(host: str, allowed: Iterable[str]) -> bool:
    host = host.lower().rstrip(".")
    for d in ("gov.cn", *allowed):
        d = d.lower().strip().lstrip("*").lstrip(".").rstrip(".")
        if d and (host == d or host.endswith("." + d)):
            return True
    return False


def _classify(url: str, allowed: tuple[str, ...], tag: str) -> tuple[str, str, str] | None:
    """(rule, severity, message) for a URL that needs attention, else None."""
    u = _CTRL.sub("", url).strip()
    low = u.lower()
    if low.startswith(("javascript:", "vbscript:")):
        return ("link.javascript", "block", "链接含有脚本（javascript:），存在安全风险，必须删除。")
    if low.startswith("data:"):
        if tag == "img" and low.startswith("data:image/"):
            return None
        return ("link.data_url", "warn", "链接为 data: 内嵌数据，请确认其内容。")
    if low.startswith(_SAFE_SCHEMES) or not low:
        return None
    if low.startswith("www."):
        u = "http://" + u
        low = u.lower()
    if low.startswith("//"):
        u = "http:" + u
        low = u.lower()
    if "://" not in low[:12]:
        return None  # relative link inside the site
    try:
        host = urlsplit(u).hostname or ""
    except ValueError:
        host = ""
    if not host:
        return ("link.malformed", "warn", "链接地址格式异常，请核实。")
    if host_allowed(host, allowed):
        return None
    return ("link.external", "warn",
            f"外部链接（{host}）不在允许的域名名单内（政府网站 *.gov.cn 及本单位配置的域名），请核实链接的安全性和权威性。")


_JS_TEXT = re.compile(r"(?i)javascript:[^\s<>\"']*")


def check_links(view: View, allowed: tuple[str, ...], spots: Spots) -> list[Raw]:
    out: list[Raw] = []
    for el in view.elements:
        for attr in ("href", "src", "poster"):
            if attr not in el.attrs:
                continue
            value, s, e = el.attrs[attr]
            c = _classify(value, allowed, el.tag)
            if c:
                out.append(Raw(c[0], "link", c[1], s, e, None, c[2], view=False))
    text = view.text
    covered = -1
    for s, _e in sorted(spots):
        if s < covered:
            continue
        m = URL_RX.match(text, s)
        if m:
            covered = m.end()
            url = m.group(0).rstrip(".,;:!?)]'")
            c = _classify(url, allowed, "")
            if c:
                out.append(Raw(c[0], "link", c[1], m.start(), m.start() + len(url), None, c[2]))
            continue
        m = _JS_TEXT.match(text, s)
        if m:
            covered = m.end()
            out.append(Raw("link.javascript", "link", "block", m.start(), m.end(), None,
                           "正文含有脚本链接（javascript:），存在安全风险，必须删除。"))
    return out


# --------------------------------------------------------------------------
# repost sources

_SRC_AFTER = re.compile(r"\s*[:：]?\s*(?P<src>[^\s\n，。；;|｜,、)）】」》<]{1,40})")
_SRC_AFTER_COLON = re.compile(r"\s*[:：]\s*(?P<src>[^\s\n，。；;|｜,、)）】」》<]{1,40})")
_NET_AFTER = ("于网络", "网络", "于互联网", "自网络")
_PREFIX_BAD = ("资金", "经费", "收入", "病毒", "感染", "传染", "污染", "货", "数据", "水", "电", "能源", "生活", "经济",
               "案件", "线索", "人员", "原料", "收益", "款项", "资料", "价格", "奖金", "补贴", "财政", "税", "主要",
               "重要", "稳定", "唯一", "生计", "信号", "光")
_OFFICIAL_SUFFIX = re.compile(
    "(?:人民政府|政府|办公厅|办公室|委员会|管委会|局|厅|部|委|院|署|法院|检察院|融媒体中心|日报|晚报|广播电视台|电视台|"
    "新闻网|政府网|通讯社|新闻社|杂志|学习强国|发布|在线|网信办|宣传部|总站|支队|大队|中心)$"
)
_UNKNOWN = ("网络", "网上", "网友", "互联网", "自媒体", "朋友圈", "微信群", "抖音", "快手", "微博网友", "公众号", "未知", "不详")


def source_ok(name: str, approved: tuple[str, ...]) -> bool | None:
    """True approved, False not approved, None unknown/anonymous source. ``approved`` must be folded."""
    n = fold(name).strip("“”\"'《》[]【】 ")
    if not n:
        return None
    if n.startswith(_UNKNOWN):
        return None
    for a in approved:
        if a and (n.startswith(a) or a in n):
            return True
    if n.lower().endswith(".gov.cn") or _OFFICIAL_SUFFIX.search(n):
        return True
    return False


def check_sources(view: View, approved: tuple[str, ...], spots: Spots) -> list[Raw]:
    """A repost must name an approved source: 来源：X / 转载自X / 转自X / 摘自X."""
    text = view.text
    out: list[Raw] = []
    folded = tuple(a for a in (fold(x).strip() for x in approved) if a)
    verdicts: dict[str, bool | None] = {}
    unknown_msg = "转载来源不明确（如“网络”“网友”）：转载须注明具体的、国家规定范围内的稿源单位。"
    for s, e in sorted(spots):
        kw = fold(text[s:e])
        after = fold(text[e : e + 4])
        if kw in ("来源", "源自", "来自网络") and (kw == "来自网络" or after.startswith(_NET_AFTER)):
            end = e if kw == "来自网络" else e + next(len(x) for x in _NET_AFTER if after.startswith(x))
            out.append(Raw("link.source_unknown", "link", "warn", s, end, None, unknown_msg))
            continue
        if kw == "来源":
            if fold(text[max(0, s - 4) : s]).endswith(_PREFIX_BAD):
                continue
            m = _SRC_AFTER_COLON.match(text, e)
        elif kw == "转载":
            m = _SRC_AFTER.match(text, e + 1) if after[:1] in ("自", "于") else None
        elif kw in ("转自", "摘自"):
            m = _SRC_AFTER.match(text, e)
        else:
            m = None
        if m is None:
            continue
        name = m.group("src")
        if name not in verdicts:
            verdicts[name] = source_ok(name, folded)
        ok = verdicts[name]
        if ok:
            continue
        if ok is None:
            out.append(Raw("link.source_unknown", "link", "warn", s, m.end(), None, unknown_msg))
        else:
            out.append(Raw("link.source_unapproved", "link", "warn", m.start("src"), m.end("src"), None,
                           f"转载来源“{name}”不在许可的稿源单位名单内：请核实是否为国家规定范围内的稿源单位。"))
    return out
