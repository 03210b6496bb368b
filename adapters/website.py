"""The unit's own website / 集约化平台: a documented, HMAC-signed JSON push.

The protocol (docs/publishing.md, "Website push") is small enough for any CMS to accept:

    PUT    {api_base}/hub-push/v1/articles/{key}     the article (JSON), create or replace
    GET    {api_base}/hub-push/v1/articles/{key}     200 with {key, id, url} or 404 (reconciliation)
    DELETE {api_base}/hub-push/v1/articles/{key}     take it down (撤稿); 404 once it is gone
    GET    {api_base}/hub-push/v1/ping               credential check

``key`` is ``hub-dispatch-<dispatch id>``: a PUT is idempotent by contract (the same key is the
same article), so a lost answer is settled by asking with GET, never by creating a second one.
Every request is signed: ``X-Hub-Site`` (the site id), ``X-Hub-Timestamp`` (Unix seconds) and
``X-Hub-Signature: sha256=<hex HMAC-SHA256 of "{timestamp}\\n{METHOD}\\n{path}\\n{body}">`` with
the account's ``api_token`` as key; receivers reject timestamps more than 300 s away.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import re
import time
from datetime import UTC, datetime
from typing import Any

import requests
from PIL import Image, UnidentifiedImageError

from .base import Adapter, CredentialField, Lookup, PlatformError, Publication, PublishResult, Rendering
from .registry import register

PREFIX = "/hub-push/v1"
LIBRARY_FIELDS = ("category", "related_policies", "validity", "banner")
CALL_RETRIES = 3
BACKOFF = (0.3, 1.0, 2.0)


def signature(secret: str, timestamp: str, method: str, path: str, body: bytes) -> str:
    """The ``X-Hub-Signature`` value for one request (see the module docstring)."""
    msg = f"{timestamp}\n{method.upper()}\n{path}\n".encode() + body
    return "sha256=" + hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest()


def article_key(dispatch_id: int) -> str:
    return f"hub-dispatch-{dispatch_id}"


_IMG_SRC = re.compile(r"""<img\b[^>]*?\bsrc\s*=\s*(["'])(.*?)\1""", re.IGNORECASE | re.DOTALL)
_MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}


def body_images(content: str, images: dict[str, bytes]) -> list[dict[str, str]]:
    """The hub-stored images of ``content_html``, each once: ``{src, mime, sha256, data_base64}``. The
    CMS stores them on the site and replaces each ``src`` (as written in ``content_html``) by its own URL."""
    out: list[dict[str, str]] = []
    for m in _IMG_SRC.finditer(content or ""):
        src = m.group(2)
        if src not in images or any(i["src"] == src for i in out):
            continue
        data = images[src]
        try:
            with Image.open(io.BytesIO(data)) as img:
                mime = _MIME.get(img.format or "", "application/octet-stream")
        except (UnidentifiedImageError, OSError, ValueError):
            mime = "application/octet-stream"
        out.append({"src": src, "mime": mime, "sha256": hashlib.sha256(data).hexdigest(),
                    "data_base64": base64.b64encode(data).decode()})
    return out


@register
class WebsiteAdapter(Adapter):
    platform = "website"
    label = "网站"
    default_api_base = "https://www.example.gov.cn"
    credential_fields = (
        CredentialField("site_id", "站点标识（X-Hub-Site）", secret=False),
        CredentialField("api_token", "推送签名密钥（HMAC）"),
    )
    limits = {"title": 200, "summary": 500, "content_bytes": 8 * 1024 * 1024}
    rate_per_second = 50
    timeout = 15.0

    @classmethod
    def validate(cls, title: str, content: str, summary: str, author: str,
                 variant: dict[str, Any] | None = None) -> list[str]:
        v = variant or {}
        title = v.get("title") or title
        problems = []
        if not title.strip():
            problems.append("网站标题不能为空")
        if len(title) > cls.limits["title"]:
            problems.append(f"网站标题不得超过 {cls.limits['title']} 字")
        if len(content.encode()) > cls.limits["content_bytes"]:
            problems.append("网站正文不得超过 8 MB")
        return problems

    #: The website takes a replacing PUT of a published article (the same key): a validity change
    #: (效力标注) reaches it as an update of the item (hub/dispatch/jobs/update.py).
    supports_update = True

    @classmethod
    def render(cls, pub: Publication, settings: dict[str, str] | None = None) -> Rendering:
        """The article's fields, and the library fields the site shows with it: the validity banner,
        the 信息公开 metadata, the category and the policies a 解读 explains (reviewed and hashed)."""
        out = super().render(pub, settings)
        lib = pub.library or {}
        extra: dict[str, str] = {}
        if lib.get("category"):
            extra["category"] = lib["category"]
        for label, value in lib.get("metadata") or []:
            extra[f"metadata.{label}"] = value
        if lib.get("policies"):
            extra["related_policies"] = "；".join(f"《{p['title']}》" for p in lib["policies"])
        if lib.get("validity"):
            v = lib["validity"]
            extra["validity"] = v["label"] + "".join(
                f"，{name}{v[k]}" for k, name in (("effective_on", "生效日期 "), ("expires_on", "失效日期 ")) if v.get(k))
        if lib.get("banner"):
            extra["banner"] = lib["banner"]
        out.fields.update(extra)
        return out

    def _request(self, method: str, key: str | None, *, mutating: bool, payload: Any = None) -> requests.Response:
        site, secret = self.credentials.get("site_id", ""), self.credentials.get("api_token", "")
        if not site or not secret:
            raise PlatformError("账号缺少站点标识或推送密钥，请管理员设置凭据", code="missing_credentials")
        path = f"{PREFIX}/articles/{key}" if key else f"{PREFIX}/ping"
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode() if payload is not None else b""
        tries = 0
        while True:
            tries += 1
            self.before_call()
            ts = str(int(time.time()))
            headers = {"X-Hub-Site": site, "X-Hub-Timestamp": ts,
                       "X-Hub-Signature": signature(secret, ts, method, path, body)}
            if body:
                headers["Content-Type"] = "application/json; charset=utf-8"
            try:
                res = requests.request(method, self.api_base + path, data=body or None, headers=headers,
                                       timeout=self.timeout)
                if res.status_code in (429, 503) or (res.status_code >= 500 and not mutating):
                    err = PlatformError("网站繁忙，稍后自动重试", code=res.status_code, retryable=True)
                elif res.status_code >= 500:
                    err = PlatformError(f"网站出错（HTTP {res.status_code}），结果待核实", code=res.status_code,
                                        ambiguous=True)
                else:
                    return res
            except requests.ConnectTimeout:
                err = PlatformError("无法连接网站（请求未发出），稍后自动重试", code="connect", retryable=True)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if "NewConnectionError" in repr(exc.args):
                    err = PlatformError("无法连接网站（请求未发出），稍后自动重试", code="connect", retryable=True)
                elif mutating:
                    err = PlatformError("推送已发出但未收到网站的答复，结果待核实", code="no_answer", ambiguous=True)
                else:
                    err = PlatformError("网站未响应查询请求", code="read", retryable=True)
            if err.retryable and tries <= CALL_RETRIES:
                time.sleep(BACKOFF[min(tries - 1, len(BACKOFF) - 1)])
                continue
            raise err

    @staticmethod
    def _refused(res: requests.Response) -> PlatformError:
        try:
            msg = str((res.json().get("error") or {}).get("message") or "")
        except (ValueError, AttributeError):
            msg = ""
        if res.status_code in (401, 403):
            return PlatformError("网站拒绝了签名，请管理员检查站点标识和推送密钥", code=res.status_code)
        return PlatformError(f"网站拒绝了推送（HTTP {res.status_code}{'：' + msg if msg else ''}）",
                             code=res.status_code)

    def verify_credentials(self) -> tuple[bool, str]:
        try:
            res = self._request("GET", None, mutating=False)
        except PlatformError as exc:
            return False, exc.message
        if res.status_code != 200:
            return False, self._refused(res).message
        return True, "凭据有效：网站已接受签名"

    def payload(self, pub: Publication) -> dict[str, Any]:
        """The push body: the rendering's fields (what was checked and reviewed), keyed by dispatch."""
        fields = self.render(pub, self.settings()).fields
        return {
            "key": article_key(pub.dispatch_id), "dispatch_id": pub.dispatch_id,
            "title": fields.get("title", ""), "summary": fields.get("digest", ""),
            "author": fields.get("author", ""), "content_html": fields.get("content", ""),
            "source_url": pub.source_url,
            "cover": {"mime": pub.cover_mime or "image/jpeg", "data_base64": base64.b64encode(pub.cover).decode()}
            if pub.cover else None,
            "images": body_images(fields.get("content", ""), pub.images),
            # The library fields (docs/publishing.md, "Website push"): shown with the article, the banner
            # above it; the related items by their hub post ids.
            "library": {**(pub.library or {}), "rendered": {k: v for k, v in fields.items() if k in LIBRARY_FIELDS
                                                            or k.startswith("metadata.")}} if pub.library else None,
            "pushed_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        }

    def publish(self, pub: Publication) -> PublishResult:
        problems = self.render(pub, self.settings()).problems
        if problems:
            raise PlatformError("；".join(problems), code="invalid_content")
        key = article_key(pub.dispatch_id)
        res = self._request("PUT", key, mutating=True, payload=self.payload(pub))
        if res.status_code not in (200, 201):
            raise self._refused(res)
        body = res.json()
        return PublishResult("published", key, str(body.get("id") or key), body.get("url"))

    def status(self, platform_ref: str) -> PublishResult:
        return PublishResult("published", platform_ref)

    def find(self, pub: Publication, *, since: float, draft_ref: str | None = None,
             platform_ref: str | None = None) -> Lookup:
        res = self._request("GET", article_key(pub.dispatch_id), mutating=False)
        if res.status_code == 404:
            return Lookup()
        if res.status_code != 200:
            raise self._refused(res)
        body = res.json()
        if body.get("deleted"):
            return Lookup(failed="网站上的该文章已被删除")
        key = article_key(pub.dispatch_id)
        return Lookup(published=PublishResult("published", key, str(body.get("id") or key), body.get("url")))

    def withdraw(self, platform_ref: str | None, article_id: str | None) -> bool:
        key = platform_ref or ""
        if not key.startswith("hub-dispatch-"):
            raise PlatformError("无法确定网站文章编号，无法撤回", code="no_ref")
        res = self._request("DELETE", key, mutating=True)
        if res.status_code not in (200, 204, 404):
            raise self._refused(res)
        return res.status_code != 404
