"""Weibo (微博) adapter: ``statuses/share`` for short posts, 头条文章 for long ones.

A short post (its text fits 140 汉字 with the link) goes out as a status with the cover as
picture; a longer one as a 头条文章 (``proxy/article/publish``) whose card text is the same
short text. Weibo requires the text to carry a link on the app's 安全域名: the post's
source URL, or the account's ``safe_url`` credential.

The access token is the account's OAuth token: Weibo cannot refresh it without the account
holder, so an expired token (21327) fails with a message telling the admin to re-authorise;
``verify_credentials`` reports how many days the token has left.

Reconciliation reads the account's own timeline and recognises the dispatch by its text
(links removed, since Weibo shortens them): Weibo refuses identical text anyway (20019).
"""

from __future__ import annotations

import html
import re
import time
from datetime import datetime
from typing import Any

import requests

from .base import Adapter, CredentialField, Lookup, PlatformError, Publication, PublishResult
from .registry import register

STALE_TOKEN_CODES = {21314, 21315, 21316, 21317, 21319, 21327, 21332, 21501}
RETRYABLE_CODES = {10001, 10009, 10022, 10024}
QUOTA_CODES = {10023, 20016}
ERROR_MESSAGES = {
    10001: "微博平台系统错误，稍后自动重试",
    10009: "微博平台繁忙，稍后自动重试",
    10017: "微博正文必须包含应用安全域名下的链接（请设置原文链接或账号的安全域名链接）",
    10022: "调用过于频繁，稍后自动重试",
    10023: "微博账号本时段调用次数已用完，稍后自动继续",
    10024: "调用过于频繁，稍后自动重试",
    20006: "配图超过 5 MB",
    20012: "微博正文超过 140 字",
    20016: "微博发布次数超出限制，稍后自动继续",
    20019: "微博上已有相同内容的微博",
    20101: "微博上找不到该条微博（可能已被删除）",
    21327: "微博授权已过期，请管理员重新授权并更新 access_token",
    21332: "微博访问令牌无效，请管理员重新授权并更新 access_token",
}
STATUS_MAX = 140
FIND_PAGES = 5
CALL_RETRIES = 3
BACKOFF = (0.3, 1.0, 2.0)
_URL = re.compile(r"https?://[^\s<>\"']+")
_TAG = re.compile(r"<[^>]+>")


def weibo_length(text: str) -> int:
    """Length the way Weibo counts it: a CJK character is 1, two ASCII characters are 1."""
    ascii_chars = sum(1 for ch in text if ord(ch) < 128)
    return (len(text) - ascii_chars) + (ascii_chars + 1) // 2


def plain_text(content: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(_TAG.sub(" ", content or ""))).strip()


def _norm(text: str) -> str:
    """Text without links and whitespace: how reconciliation recognises a dispatch's status."""
    return re.sub(r"\s+", "", _URL.sub("", text or ""))


@register
class WeiboAdapter(Adapter):
    platform = "weibo"
    label = "微博"
    default_api_base = "https://api.weibo.com"
    credential_fields = (
        CredentialField("app_key", "App Key", secret=False),
        CredentialField("app_secret", "App Secret"),
        CredentialField("access_token", "访问令牌（access_token，账号授权后获得）"),
        CredentialField("safe_url", "安全域名下的链接（正文须包含，无原文链接时使用）", secret=False, required=False),
        CredentialField("console_password", "微博登录密码", required=False),
    )
    limits = {"text": STATUS_MAX, "article_title": 32, "article_summary": 44, "picture_bytes": 5 * 1024 * 1024}
    rate_per_second = 20
    timeout = 15.0

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

    # -- text ------------------------------------------------------------------------------
    def link(self, pub: Publication) -> str:
        link = pub.link or self.credentials.get("safe_url", "")
        if not link:
            raise PlatformError("微博正文必须包含链接：请填写原文链接，或由管理员设置账号的安全域名链接",
                                code="no_link")
        return link

    def compose(self, pub: Publication) -> tuple[str, bool]:
        """(status text, whether the post is long and goes out as a 头条文章)."""
        v = pub.variant or {}
        link = self.link(pub)
        body = plain_text(pub.content)
        title = v.get("title") or pub.title
        room = STATUS_MAX - weibo_length(" " + link)
        lead = v.get("text") or f"【{title}】{v.get('summary') or pub.summary or body}"
        long_post = weibo_length(f"【{title}】{body}") > room
        if weibo_length(lead) > room:
            lead = lead[: 2 * room]
            while lead and weibo_length(lead + "…") > room:
                lead = lead[:-1]
            lead = lead.rstrip() + "…"
        return f"{lead} {link}", long_post

    # -- plumbing --------------------------------------------------------------------------
    def _token(self) -> str:
        token = self.credentials.get("access_token", "")
        if not token:
            raise PlatformError("账号缺少微博访问令牌，请管理员授权后设置 access_token", code="missing_credentials")
        return token

    def _call(self, method: str, path: str, *, mutating: bool, data: dict[str, Any] | None = None,
              params: dict[str, Any] | None = None, files: dict[str, Any] | None = None) -> Any:
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
                err = self._answer_error(res, mutating)
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
    def _answer_error(res: requests.Response, mutating: bool) -> PlatformError | None:
        try:
            body = res.json()
        except ValueError:
            if res.status_code >= 500 and mutating:
                return PlatformError("微博平台返回了异常的响应，结果待核实", code="http", ambiguous=True)
            return PlatformError(f"微博平台返回了异常的响应（HTTP {res.status_code}）", code="http",
                                 retryable=res.status_code >= 500)
        if isinstance(body, dict) and body.get("error_code"):
            code = int(body["error_code"])
            msg = ERROR_MESSAGES.get(code, f"微博平台拒绝了请求（错误码 {code}：{body.get('error')}）")
            return PlatformError(msg, code=code, retryable=code in RETRYABLE_CODES, quota=code in QUOTA_CODES)
        if isinstance(body, dict) and "code" in body and body.get("code") != 100000:
            return PlatformError(f"微博头条文章发布失败（{body.get('code')}：{body.get('msg')}）", code=body.get("code"))
        if res.status_code >= 400:
            return PlatformError(f"微博平台返回 HTTP {res.status_code}", code="http", retryable=res.status_code >= 500)
        return None

    # -- operations ------------------------------------------------------------------------
    def verify_credentials(self) -> tuple[bool, str]:
        try:
            info = self._call("POST", "/oauth2/get_token_info", mutating=False)
        except PlatformError as exc:
            return False, exc.message
        days = int(info.get("expire_in") or 0) // 86400
        if days < 7:
            return True, f"凭据有效，但访问令牌将在 {days} 天内过期，请尽快重新授权"
        return True, f"凭据有效：访问令牌还有 {days} 天过期"

    def publish(self, pub: Publication) -> PublishResult:
        problems = self.validate(pub.title, pub.content, pub.summary, pub.author, pub.variant)
        if problems:
            raise PlatformError("；".join(problems), code="invalid_content")
        text, long_post = self.compose(pub)
        self.checkpoint("submitting")
        if long_post:
            v = pub.variant or {}
            data = {"title": (v.get("title") or pub.title)[:32], "content": pub.content,
                    "summary": (v.get("summary") or pub.summary)[:44], "text": text}
            files = {"cover": ("cover.jpg", pub.cover, pub.cover_mime or "image/jpeg")} if pub.cover else None
            res = self._call("POST", "/proxy/article/publish.json", mutating=True, data=data, files=files)
            d = res.get("data") or {}
            mid = str(d.get("mid") or str(d.get("object_id", "")).rpartition(":")[2])
            return PublishResult("published", mid, mid, d.get("url"))
        files = {"pic": ("cover.jpg", pub.cover, pub.cover_mime or "image/jpeg")} if pub.cover else None
        res = self._call("POST", "/2/statuses/share.json", mutating=True, data={"status": text}, files=files)
        sid = str(res.get("idstr") or res.get("id"))
        return PublishResult("published", sid, sid, self.status_url(sid))

    def status_url(self, sid: str) -> str:
        if self.api_base.startswith(("http://127.", "http://localhost", "http://[::1]")):
            return f"{self.api_base}/s/{sid}"  # the simulator serves its own pages
        return f"https://m.weibo.cn/status/{sid}"

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
        text, _long = self.compose(pub)
        want = _norm(text)
        for page in range(1, FIND_PAGES + 1):
            res = self._call("GET", "/2/statuses/user_timeline.json", mutating=False,
                             params={"count": 100, "page": page})
            statuses = res.get("statuses") or []
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
