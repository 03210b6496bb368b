"""Masking of the question for the public page: phone numbers, resident ID numbers and names.

Done once, when the message arrives (the sender's name is known in plain text only then); the
masked text is stored as ``public_text``."""

from __future__ import annotations

import re

_ID = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8})(\d{3}[0-9Xx])(?![0-9A-Za-z])|(?<!\d)(\d{6})(\d{6})(\d{3})(?!\d)")
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})[- ]?(\d{3,4})(\d{4})(?!\d)")
_CJK = "\u4e00-\u9fff"
# "我叫张三", "本人李四", "姓名：王五", "联系人赵六": the 2-3 characters after the cue.
_NAME_CUE = re.compile(rf"(我叫|我的名字是|本人叫|本人是|本人|姓名[:：是为]?|联系人[:：]?|名叫)\s*([{_CJK}])([{_CJK}]{{1,2}})")


def mask(text: str, names: tuple[str, ...] = ()) -> str:
    """``text`` with ID numbers, phone numbers and names masked (the first character of a name kept)."""
    out = _ID.sub(lambda m: (m.group(1) + "*" * 8 + "***" + m.group(3)[-1]) if m.group(1)
                  else (m.group(4) + "*" * 6 + m.group(6)), text)
    out = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", out)
    out = _LANDLINE.sub(lambda m: f"{m.group(1)}-****{m.group(3)}", out)
    for name in sorted({n.strip() for n in names if n and len(n.strip()) >= 2}, key=len, reverse=True):
        out = out.replace(name, name[0] + "*" * (len(name) - 1))
    return _NAME_CUE.sub(lambda m: m.group(1) + m.group(2) + "*" * len(m.group(3)), out)


def mask_phone(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    return digits[:3] + "****" + digits[-4:] if len(digits) >= 7 else "****"
