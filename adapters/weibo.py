"""Weibo (微博) adapter: ``statuses/share`` for short posts, 头条文章 for long ones.

What Weibo is sent is what :meth:`WeiboAdapter.render` returns, nothing else:

* a short post (its text fits 140 汉字 with the link) is a status (``status``) with the cover
  as picture; a longer one is a 头条文章 (``proxy/article/publish``: ``title``, ``summary``,
  ``content``, the cover) whose card text is the same short status;
* the status carries a link on the app's 安全域名 (the account's ``safe_url``): the post's source
  URL only when it is already under that domain, else ``safe_url`` — a gov.cn or xinhuanet source
  outside the safe domain would make Weibo refuse the status (10017);
* ``statuses/share`` forbids ``#话题#``: the rendering turns each into plain text and says so;
* ``rip``, the acting user's real IP (documented as required on ``statuses/share`` and on 头条文章),
  is sent on every publishing call (``Publication.rip``, filled by the hub);
* the 头条 cover is an image URL: the picture is uploaded first (``statuses/upload_pic``, which
  answers its URLs), as are ``data:`` images of the article body.

Errors: ``/2/`` endpoints answer ``{"error_code", "error"}``; the 头条 endpoint answers
``{"code", "msg"}`` (10001 system error and 11001 too frequent are retried). Weibo's rate limits
(10022/10023/10024) are hourly windows: the dispatch waits for the next hour (``retry_after``).

The access token is the account's OAuth token: Weibo cannot refresh it without the account
holder, so an expired token (21327) fails with a message telling the admin to re-authorise;
``verify_credentials`` reports how long the token has left.

Reconciliation reads the account's own timeline and recognises the dispatch by its text
(links removed, since Weibo shortens them): Weibo refuses identical text anyway (20019).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import io
import ipaddress
import re
import time
from datetime import date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import requests
from PIL import Image, UnidentifiedImageError

from .base import (
    Adapter,
    CredentialField,
    Figures,
    ItemFigures,
    Lookup,
    MetricsRef,
    PlatformError,
    Publication,
    PublishResult,
    Rendering,
)
from .registry import register

STALE_TOKEN_CODES = {21314, 21315, 21316, 21317, 21319, 21327, 21332, 21501}
RETRYABLE_CODES = {10001, 10009}
#: Weibo's frequency limits are counted per hour (IP, user, user per API, posting): wait for the next hour.
HOURLY_CODES = {10022, 10023, 10024, 20016}
ERROR_MESSAGES = {
    10001: "微博平台系统错误，稍后自动重试",
    10009: "微博平台繁忙，稍后自动重试",
    10014: "微博应用没有调用该接口的权限（头条文章接口须由微博政务运营开通，见 docs/publishing.md）",
    10016: "微博拒绝了请求：缺少必填参数",
    10017: "微博拒绝了正文：须包含应用安全域名下的链接，且不能含 #话题#（请管理员核对账号的安全域名链接）",
    10022: "本 IP 本小时调用微博的次数已用完，下个整点后自动继续",
    10023: "微博账号本小时调用次数已用完，下个整点后自动继续",
    10024: "微博账号本小时调用该接口的次数已用完，下个整点后自动继续",
    20006: "配图超过 5 MB",
    20012: "微博正文超过 140 字",
    20016: "微博账号发布次数超出限制，下个整点后自动继续",
    20019: "微博上已有相同内容的微博",
    20101: "微博上找不到该条微博（可能已被删除）",
    21327: "微博授权已过期，请管理员重新授权并更新 access_token",
    21332: "微博访问令牌无效，请管理员重新授权并更新 access_token",
}
#: 头条文章 (``proxy/article/publish``) answers ``{"code", "msg"}``; success is 100000.
ARTICLE_OK = 100000
ARTICLE_RETRYABLE = {10001, 11001}
ARTICLE_MESSAGES = {
    10001: "微博头条文章接口系统错误，稍后自动重试",
    11001: "微博头条文章发布过于频繁，稍后自动重试",
    11002: "微博头条文章的关联微博发送失败",
    11003: "微博头条文章关联微博失败",
}
ARTICLE_PARAMS = {"title": "标题", "content": "正文", "cover": "封面图", "rip": "操作用户 IP（rip）",
                  "summary": "导语", "text": "关联微博文字", "access_token": "访问令牌"}
STATUS_MAX = 140
ARTICLE_TITLE_MAX = 32
ARTICLE_SUMMARY_MAX = 44
ARTICLE_CONTENT_MAX = 90_000
#: What a ``data:`` body image counts for in the article length once uploaded (a sinaimg URL).
UPLOADED_IMAGE_URL_LENGTH = 64
FIND_PAGES = 5
CALL_RETRIES = 3
BACKOFF = (0.3, 1.0, 2.0)
BEIJING = timezone(timedelta(hours=8))
_URL = re.compile(r"https?://[^\s<>\"']+")
_TAG = re.compile(r"<[^>]+>")
#: A Weibo topic: ``#`` text ``#`` on one line (what ``statuses/share`` refuses).
TOPIC = re.compile(r"#([^#\r\n]+)#")
_IMG_SRC = re.compile(r"""(<img\b[^>]*?\bsrc\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)
_DATA_IMG = re.compile(r"""(<img\b[^>]*?\bsrc\s*=\s*)(["'])(data:(image/[a-z0-9.+-]+);base64,([^"']*))\2""",
                       re.IGNORECASE)


def weibo_length(text: str) -> int:
    """Length the way Weibo counts it: a CJK character is 1, two ASCII characters are 1."""
    ascii_chars = sum(1 for ch in text if ord(ch) < 128)
    return (len(text) - ascii_chars) + (ascii_chars + 1) // 2


def plain_text(content: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(_TAG.sub(" ", content or ""))).strip()


def _norm(text: str) -> str:
    """Text without links and whitespace: how reconciliation recognises a dispatch's status."""
    return re.sub(r"\s+", "", _URL.sub("", text or ""))


def strip_topics(text: str) -> tuple[str, list[str]]:
    """``text`` with every ``#话题#`` turned into plain text (the marks removed), and the topics."""
    topics: list[str] = []

    def plain(m: re.Match[str]) -> str:
        topics.append(m.group(1))
        return m.group(1)

    while TOPIC.search(text):
        text = TOPIC.sub(plain, text)
    return text, topics


def _host(url: str) -> str:
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return ""
    return (parts.hostname or "").lower() if parts.scheme in ("http", "https") else ""


def under_domain(url: str, domain: str) -> bool:
    """Whether ``url`` is on ``domain`` or one of its subdomains."""
    host = _host(url)
    return bool(host and domain) and (host == domain or host.endswith("." + domain))


def seconds_to_next_hour(now: float | None = None) -> float:
    """Seconds until a minute past the next full hour (Weibo's rate windows are hourly)."""
    now = time.time() if now is None else now
    return 3600 - (now % 3600) + 60


def is_article(rendering: Rendering) -> bool:
    """Whether a Weibo rendering is a 头条文章 (else a plain status)."""
    return "content" in rendering.fields


_PICTURE_MAGIC = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"),
                  (b"GIF87a", "image/gif"), (b"GIF89a", "image/gif"))


def weibo_picture(data: bytes) -> tuple[bytes, str, bool]:
    """A picture as Weibo takes it (JPEG, PNG or GIF, under 5 MB): (bytes, mime, converted).

    Anything else readable (BMP, WebP, a larger photo) becomes a JPEG, scaled down until it fits;
    the same bytes give the same result, so the rendering and the send agree. Raises ``ValueError``
    for what is not a picture."""
    limit = WeiboAdapter.limits["picture_bytes"]
    mime = next((m for magic, m in _PICTURE_MAGIC if data.startswith(magic)), "")
    if mime and len(data) < limit:
        return data, mime, False
    try:
        with Image.open(io.BytesIO(data)) as src:
            img = src.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ValueError("not a picture") from exc
    while True:
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=88)
        if buf.tell() < limit or min(img.size) < 64:
            return buf.getvalue(), "image/jpeg", True
        img = img.resize((max(1, img.width * 3 // 4), max(1, img.height * 3 // 4)))


def body_images(content: str, images: dict[str, bytes] | None = None) -> list[tuple[str, bytes, str]]:
    """The images of an article body to upload: (the ``src`` as written, its bytes, its mime type) for
    each ``data:`` image and each image stored in the hub (``Publication.images``)."""
    out = []
    for m in _DATA_IMG.finditer(content or ""):
        try:
            data = base64.b64decode(m.group(5), validate=False)
        except (binascii.Error, ValueError):
            data = b""
        out.append((m.group(3), data, m.group(4).lower()))
    for m in _IMG_SRC.finditer(content or ""):
        src = m.group(3)
        if images and src in images and all(src != seen for seen, _, _ in out):
            out.append((src, images[src], ""))
    return out


@register
class WeiboAdapter(Adapter):
    platform = "weibo"
    label = "微博"
    default_api_base = "https://api.weibo.com"
    credential_fields = (
        CredentialField("app_key", "App Key", secret=False),
        CredentialField("app_secret", "App Secret"),
        CredentialField("access_token", "访问令牌（access_token，账号授权后获得）"),
        CredentialField("safe_url", "安全域名下的链接（微博正文须包含；原文链接不在安全域名下时使用此链接）",
                        secret=False, required=False),
        CredentialField("console_password", "微博登录密码", required=False),
    )
    limits = {"text": STATUS_MAX, "article_title": ARTICLE_TITLE_MAX, "article_summary": ARTICLE_SUMMARY_MAX,
              "article_content": ARTICLE_CONTENT_MAX, "picture_bytes": 5 * 1024 * 1024}
    rate_per_second = 20
    timeout = 15.0
    can_measure = True
    #: ``statuses/count.json`` takes at most 100 ids a call.
    COUNT_BATCH = 100

    @classmethod
    def validate(cls, title: str, content: str, summary: str, author: str,
                 variant: dict[str, Any] | None = None) -> list[str]:
        v = variant or {}
        problems = []
        text = v.get("text") or ""
        if text and weibo_length(text) > STATUS_MAX - 12:
            problems.append(f"微博正文（variants.weibo.text）不得超过 {STATUS_MAX - 12} 字（需留出链接位置）")
        head = v.get("title") or title
        if not head.strip():
            problems.append("微博标题不能为空")
        if not plain_text(content) and not text:
            problems.append("微博正文不能为空")
        return problems

    # -- rendering: exactly what Weibo is sent --------------------------------------------------
    @staticmethod
    def _link(source_url: str, safe_url: str) -> tuple[str, list[str], list[str]]:
        """(link for the status, warnings, problems): the source URL only if it is under the safe domain."""
        safe_url = (safe_url or "").strip()
        source_url = (source_url or "").strip()
        domain = _host(safe_url)
        if not domain:
            problem = ("账号的安全域名链接（safe_url）格式不正确，须为 http(s) 网址" if safe_url else
                       "账号未设置安全域名链接（safe_url）：微博正文必须包含应用安全域名下的链接，请管理员在账号凭据中设置")
            return "", [], [problem]
        if source_url and under_domain(source_url, domain):
            return source_url, [], []
        warnings = [f"原文链接不在微博应用的安全域名（{domain}）下，微博正文改用账号的安全域名链接 {safe_url}"] \
            if source_url else []
        return safe_url, warnings, []

    @classmethod
    def render(cls, pub: Publication, settings: dict[str, str] | None = None) -> Rendering:
        """The status (with its link) and, for a long post, the 头条文章's title, summary and content."""
        settings = settings or {}
        v = pub.variant or {}
        problems = list(cls.validate(pub.title, pub.content, pub.summary, pub.author, v))
        link, warnings, link_problems = cls._link(pub.source_url, settings.get("safe_url", ""))
        problems += link_problems
        title = v.get("title") or pub.title
        summary = v.get("summary") or pub.summary
        body = plain_text(pub.content)
        tail = " " + (link or "http://t.cn/A6xxxxxx")  # room for the link even when it is missing
        room = STATUS_MAX - weibo_length(tail)
        long_post = weibo_length(f"【{title}】{body}") > room
        lead = v.get("text") or f"【{title}】{summary or body}"
        if not long_post:
            lead, topics = strip_topics(lead)
            if topics:
                warnings.append("微博不允许在发布接口中使用 #话题#，已改为普通文字：" + "、".join(topics))
        if weibo_length(lead) > room:
            if v.get("text"):
                warnings.append(f"微博正文（variants.weibo.text）加上链接超过 {STATUS_MAX} 字，已截断")
            lead = lead[: 2 * room]
            while lead and weibo_length(lead + "…") > room:
                lead = lead[:-1]
            lead = lead.rstrip() + "…"
        fields = {"status": f"{lead} {link}" if link else lead}
        pictures = ["cover"] if pub.cover else []
        if pub.cover:
            try:
                if weibo_picture(pub.cover)[2]:
                    warnings.append("封面图不是 5 MB 以下的 JPEG、PNG 或 GIF，发送到微博时转为 JPEG")
            except ValueError:
                problems.append("封面图无法识别，微博不能发送，请更换封面")
        if not long_post:
            return Rendering(cls.platform, fields, pictures=pictures, warnings=warnings, problems=problems)
        if len(title) > ARTICLE_TITLE_MAX:
            problems.append(f"微博头条文章标题不得超过 {ARTICLE_TITLE_MAX} 字（现为 {len(title)} 字），"
                            "请在微博版本中填写短标题（variants.weibo.title）")
        if len(summary) > ARTICLE_SUMMARY_MAX:
            warnings.append(f"微博头条文章导语超过 {ARTICLE_SUMMARY_MAX} 字，已截断")
            summary = summary[:ARTICLE_SUMMARY_MAX]
        images = body_images(pub.content, pub.images)
        length = len(pub.content) - sum(len(url) - UPLOADED_IMAGE_URL_LENGTH for url, _, _ in images)
        if length > ARTICLE_CONTENT_MAX:
            problems.append(f"微博头条文章正文不得超过 {ARTICLE_CONTENT_MAX} 字符（现为 {length} 字符）")
        for _url, data, _mime in images:
            try:
                sent, _sent_mime, converted = weibo_picture(data)
            except ValueError:
                problems.append("微博头条文章正文中有无法识别的图片，请删除或重新插入")
                continue
            pictures.append("image:" + hashlib.sha256(sent).hexdigest())
            if converted:
                warnings.append("微博头条文章正文中的图片不是 5 MB 以下的 JPEG、PNG 或 GIF，发送时转为 JPEG")
        if not pub.cover:
            problems.append("微博头条文章必须有封面图")
        fields.update({"title": title, "summary": summary, "content": pub.content})
        return Rendering(cls.platform, fields, html_fields=("content",), pictures=pictures,
                         warnings=warnings, problems=problems)

    def compose(self, pub: Publication) -> tuple[str, bool]:
        """(status text, whether it goes out as a 头条文章), for the editor's preview: ``pub.link``
        stands in for the account's safe-domain link when the adapter has no credentials."""
        settings = self.settings()
        settings.setdefault("safe_url", pub.link)
        rendering = self.render(pub, settings)
        return rendering.fields["status"], is_article(rendering)

    # -- plumbing --------------------------------------------------------------------------
    def _token(self) -> str:
        token = self.credentials.get("access_token", "")
        if not token:
            raise PlatformError("账号缺少微博访问令牌，请管理员授权后设置 access_token", code="missing_credentials")
        return token

    @staticmethod
    def _rip(pub: Publication) -> str:
        rip = (pub.rip or "").strip()
        try:
            return str(ipaddress.ip_address(rip))
        except ValueError:
            raise PlatformError("微博要求上报操作用户的真实 IP（rip），但找不到审核或发布人的 IP 记录；"
                                "请由审核人在网页或接口中操作，或由运维设置 HUB_WEIBO_RIP（单位出口公网 IP）",
                                code="no_rip") from None

    def _call(self, method: str, path: str, *, mutating: bool, data: dict[str, Any] | None = None,
              params: dict[str, Any] | None = None, files: dict[str, Any] | None = None,
              list_ok: bool = False) -> Any:
        tries = 0
        while True:
            tries += 1
            self.before_call()
            q = dict(params or {})
            body = dict(data or {})
            if method == "GET":
                q["access_token"] = self._token()
            else:
                body["access_token"] = self._token()
            try:
                res = requests.request(method, self.api_base + path, params=q, data=body or None,
                                       files=files, timeout=self.timeout)
                err = self._answer_error(res, mutating, list_ok)
                if err is None:
                    return res.json()
            except requests.ConnectTimeout:
                err = PlatformError("无法连接微博平台（请求未发出），稍后自动重试", code="connect", retryable=True)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if "NewConnectionError" in repr(exc.args):
                    err = PlatformError("无法连接微博平台（请求未发出），稍后自动重试", code="connect",
                                        retryable=True)
                elif mutating:
                    err = PlatformError("请求已发出但未收到微博平台的答复，结果待核实", code="no_answer",
                                        ambiguous=True)
                else:
                    err = PlatformError("微博平台未响应查询请求", code="read", retryable=True)
            if err.retryable and tries <= CALL_RETRIES:
                time.sleep(BACKOFF[min(tries - 1, len(BACKOFF) - 1)])
                continue
            raise err

    @staticmethod
    def _answer_error(res: requests.Response, mutating: bool, list_ok: bool = False) -> PlatformError | None:
        try:
            body = res.json()
        except ValueError:
            if res.status_code >= 500 and mutating:
                return PlatformError("微博平台返回了异常的响应，结果待核实", code="http", ambiguous=True)
            return PlatformError(f"微博平台返回了异常的响应（HTTP {res.status_code}）", code="http",
                                 retryable=res.status_code >= 500)
        if list_ok and isinstance(body, list) and res.status_code < 400:  # statuses/count answers an array
            return None
        if not isinstance(body, dict):
            if mutating:
                return PlatformError("微博平台返回了无法识别的答复，结果待核实", code="answer", ambiguous=True)
            return PlatformError("微博平台返回了无法识别的答复", code="answer", retryable=True)
        if body.get("error_code"):
            try:
                code: Any = int(body["error_code"])
            except (TypeError, ValueError):
                code = str(body["error_code"])[:40]
            msg = ERROR_MESSAGES.get(code, f"微博平台拒绝了请求（错误码 {code}：{str(body.get('error'))[:200]}）")
            hourly = code in HOURLY_CODES
            return PlatformError(msg, code=code, retryable=code in RETRYABLE_CODES, quota=hourly,
                                 retry_after=seconds_to_next_hour() if hourly else None)
        if "code" in body and str(body.get("code")) != str(ARTICLE_OK):
            return WeiboAdapter._article_error(body)
        if res.status_code >= 400:
            return PlatformError(f"微博平台返回 HTTP {res.status_code}", code="http", retryable=res.status_code >= 500)
        return None

    @staticmethod
    def _article_error(body: dict[str, Any]) -> PlatformError:
        """A 头条文章 refusal, ``{"code", "msg"}``: 10001 and 11001 are retried; 10008 names the parameter."""
        try:
            code: Any = int(str(body.get("code")))
        except (TypeError, ValueError):
            code = str(body.get("code"))[:40]
        msg = str(body.get("msg") or "")[:200]
        if code == 10008:
            param = re.search(r"param\s+(\w+)", msg)
            what = ARTICLE_PARAMS.get(param.group(1), param.group(1)) if param else ""
            text = f"微博头条文章的{what or '参数'}不符合要求（10008：{msg}）"
        else:
            text = ARTICLE_MESSAGES.get(code) or ERROR_MESSAGES.get(code) or f"微博头条文章发布失败（{code}：{msg}）"
        hourly = code in HOURLY_CODES
        return PlatformError(text, code=code, retryable=code in ARTICLE_RETRYABLE, quota=hourly,
                             retry_after=seconds_to_next_hour() if hourly else None)

    # -- operations ------------------------------------------------------------------------
    def verify_credentials(self) -> tuple[bool, str]:
        try:
            info = self._call("POST", "/oauth2/get_token_info", mutating=False)
        except PlatformError as exc:
            if exc.code in STALE_TOKEN_CODES:
                return False, (f"{exc.message}（{exc.code}）。微博令牌不能由系统续期：请账号管理员用该政务微博账号"
                               "重新授权本应用，把新的 access_token 填入凭据。微博应用须由该政务账号自己创建"
                               "（授权人即应用所有者），令牌有效期才是 5 年；否则只有数天，需要频繁重新授权")
            return False, exc.message
        try:
            seconds = max(0, int(info.get("expire_in") or 0))
        except (TypeError, ValueError):
            seconds = 0
        days = seconds // 86400
        until = (datetime.now(BEIJING) + timedelta(seconds=seconds)).strftime("%Y-%m-%d")
        note = "" if self.settings().get("safe_url") else \
            "；但尚未设置安全域名链接（safe_url），微博将拒绝发布，请补充"
        if days < 30:
            return True, (f"凭据有效，但访问令牌将在 {days} 天内（{until}）过期：到期后发布会失败，"
                          "请账号管理员尽快重新授权并更新 access_token（由政务账号自己的微博应用授权，有效期 5 年）"
                          + note)
        return True, f"凭据有效：访问令牌还有 {days} 天过期（{until}），到期前须由账号管理员重新授权" + note

    def _upload_picture(self, data: bytes, rip: str) -> str:
        """Upload one picture (``statuses/upload_pic``) and return its URL on Weibo's image host."""
        data, mime, _converted = weibo_picture(data)
        ext = {"image/png": "png", "image/gif": "gif"}.get(mime, "jpg")
        res = self._call("POST", "/2/statuses/upload_pic.json", mutating=False, data={"rip": rip},
                         files={"pic": (f"picture.{ext}", data, mime)})
        url = res.get("original_pic") or res.get("bmiddle_pic") if isinstance(res, dict) else None
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise PlatformError("微博图片上传未返回图片地址", code="upload_pic", retryable=True)
        return url

    def publish(self, pub: Publication) -> PublishResult:
        rendering = self.render(pub, self.settings())
        if rendering.problems:
            raise PlatformError("；".join(rendering.problems), code="invalid_content")
        rip = self._rip(pub)
        fields = rendering.fields
        if is_article(rendering):
            # Pictures first (uploading one publishes nothing, so a retry may upload it again).
            cover = self._upload_picture(pub.cover, rip)
            content = fields["content"]
            uploaded: dict[str, str] = {}
            for data_url, blob, _mime in body_images(content, pub.images):
                if data_url not in uploaded:
                    uploaded[data_url] = self._upload_picture(blob, rip)
                    content = content.replace(data_url, uploaded[data_url])
            data: dict[str, Any] = {"title": fields["title"], "content": content, "text": fields["status"], "cover": cover,
                    "rip": rip}
            if fields.get("summary"):
                data["summary"] = fields["summary"]
            self.checkpoint("submitting")
            res = self._call("POST", "/proxy/article/publish.json", mutating=True, data=data)
            d = res.get("data") if isinstance(res.get("data"), dict) else {}
            mid = str(d.get("mid") or str(d.get("object_id") or "").rpartition(":")[2])
            if not mid:
                raise self._no_reference()
            url = d.get("url")
            return PublishResult("published", mid, mid, url if isinstance(url, str) and url else self.status_url(mid))
        files = None
        if pub.cover:
            pic, mime, _converted = weibo_picture(pub.cover)
            files = {"pic": ("cover." + mime.rpartition("/")[2].replace("jpeg", "jpg"), pic, mime)}
        self.checkpoint("submitting")
        res = self._call("POST", "/2/statuses/share.json", mutating=True,
                         data={"status": fields["status"], "rip": rip}, files=files)
        sid = str(res.get("idstr") or res.get("id") or "")
        if not sid:
            raise self._no_reference()
        return PublishResult("published", sid, sid, self.status_url(sid))

    @staticmethod
    def _no_reference() -> PlatformError:
        # Accepted, but with no id: reconciliation finds the status by its text, never a resend.
        return PlatformError("微博已受理发布但未返回微博编号，结果待核实", code="no_id", ambiguous=True)

    def status_url(self, sid: str) -> str:
        if self.api_base.startswith(("http://127.", "http://localhost", "http://[::1]")):
            return f"{self.api_base}/s/{sid}"  # the simulator serves its own pages
        return f"https://m.weibo.cn/status/{sid}"

    def metrics(self, refs: list[MetricsRef], day: date) -> Figures:
        """Current counts (Weibo keeps no history): ``GET /2/statuses/count.json?ids=`` (≤ 100 ids,
        ``[{"id", "reposts", "comments", "attitudes"}]``; no read count in the open API) and the
        account's ``followers_count`` from ``GET /2/users/show.json?uid=`` (uid from the token)."""
        out = Figures(as_of=datetime.now(BEIJING).date())
        info = self._call("POST", "/oauth2/get_token_info", mutating=False)
        uid = str(info.get("uid") or "") if isinstance(info, dict) else ""
        if uid:
            user = self._call("GET", "/2/users/show.json", mutating=False, params={"uid": uid})
            if isinstance(user, dict) and user.get("followers_count") is not None:
                out.followers = max(0, int(user["followers_count"]))
        wanted = [r for r in refs if r.platform_ref]
        for r in refs:
            if not r.platform_ref:
                out.missing[r.key] = "发布时微博未返回微博编号"
        for i in range(0, len(wanted), self.COUNT_BATCH):
            batch = wanted[i: i + self.COUNT_BATCH]
            rows = self._call("GET", "/2/statuses/count.json", mutating=False, list_ok=True,
                              params={"ids": ",".join(r.platform_ref for r in batch)})
            counts = {str(row.get("id")): row for row in rows if isinstance(row, dict)} \
                if isinstance(rows, list) else {}
            for r in batch:
                row = counts.get(r.platform_ref)
                if row is None:
                    out.missing[r.key] = "微博未返回该条微博的数据（可能已被删除）"
                    continue
                out.items[r.key] = ItemFigures(reads=None, shares=max(0, int(row.get("reposts") or 0)),
                                               comments=max(0, int(row.get("comments") or 0)),
                                               likes=max(0, int(row.get("attitudes") or 0)))
        return out

    def status(self, platform_ref: str) -> PublishResult:
        self._call("GET", "/2/statuses/show.json", mutating=False, params={"id": platform_ref})
        return PublishResult("published", platform_ref, platform_ref, self.status_url(platform_ref))

    def find(self, pub: Publication, *, since: float, draft_ref: str | None = None,
             platform_ref: str | None = None) -> Lookup:
        """Reconciliation for Weibo: the dispatch's text among the account's recent statuses."""
        if platform_ref:
            try:
                return Lookup(published=self.status(platform_ref))
            except PlatformError as exc:
                if exc.code == 20101:
                    return Lookup(failed="微博上的该条微博已被删除")
                raise
        want = _norm(self.render(pub, self.settings()).fields["status"])
        for page in range(1, FIND_PAGES + 1):
            res = self._call("GET", "/2/statuses/user_timeline.json", mutating=False,
                             params={"count": 100, "page": page})
            statuses = [st for st in res.get("statuses") or [] if isinstance(st, dict)]
            for st in statuses:
                if _norm(st.get("text", "")) == want:
                    sid = str(st.get("idstr") or st.get("id"))
                    url = (st.get("page_info") or {}).get("page_url") or self.status_url(sid)
                    return Lookup(published=PublishResult("published", sid, sid, url))
            oldest = min((self._created(st) for st in statuses), default=0.0)
            if len(statuses) < 100 or oldest < since - 3600:
                break
        return Lookup()

    @staticmethod
    def _created(st: dict[str, Any]) -> float:
        try:
            return datetime.strptime(st.get("created_at", ""), "%a %b %d %H:%M:%S %z %Y").timestamp()
        except ValueError:
            return 0.0

    def withdraw(self, platform_ref: str | None, article_id: str | None) -> bool:
        ref = platform_ref or article_id
        if not ref:
            raise PlatformError("该发布没有微博编号，无法撤回", code="no_ref")
        try:
            self._call("POST", "/2/statuses/destroy.json", mutating=True, data={"id": ref})
        except PlatformError as exc:
            if exc.code == 20101:  # target weibo does not exist
                return False
            raise
        return True
