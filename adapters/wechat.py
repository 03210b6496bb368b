"""WeChat official account adapter, built on wechatpy.

wechatpy 1.8.18 is used for its HTTP client, JSON handling and error mapping;
its traps are avoided on purpose (see NOTES): ``fetch_access_token`` is
overridden to use ``cgi-bin/stable_token`` on the account's own ``api_base``,
``auto_retry`` is off (its retry is unbounded and re-sends spent file
objects), and uploads are always sent from bytes.
"""

from __future__ import annotations

import hashlib
import io
import time
from typing import Any

import requests
from PIL import Image
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from .base import Adapter, CredentialField, PlatformError, Publication, PublishResult
from .registry import register

STALE_TOKEN_CODES = {40001, 40014, 42001}
RETRYABLE_CODES = {-1, 45011}
QUOTA_CODES = {45009}

# zh-CN reasons an editor can act on, for the codes a publish run can meet.
ERROR_MESSAGES = {
    -1: "微信平台繁忙，稍后自动重试",
    40001: "访问令牌无效",
    40013: "AppID 无效，请管理员检查账号凭据",
    40125: "AppSecret 无效，请管理员检查账号凭据",
    40164: "调用 IP 不在公众号白名单内，请在公众平台添加服务器 IP",
    40007: "素材编号无效",
    40009: "图片大小超出限制",
    42001: "访问令牌已过期",
    44004: "正文为空",
    45002: "正文超出长度限制（少于 20000 字）",
    45003: "标题超出长度限制（不超过 32 字）",
    45004: "摘要超出长度限制（不超过 128 字）",
    45009: "公众号今日接口调用次数已用完，明日自动继续",
    45011: "调用过于频繁，稍后自动重试",
    45110: "作者超出长度限制（不超过 16 字）",
    48001: "公众号未获得该接口权限（发布需要已认证的公众号）",
    53503: "该草稿未通过发布检查，请检查内容后重新提交",
    53504: "需前往公众平台官网使用该草稿",
    53505: "请手动保存成功后再发表",
}

THUMB_MAX = 64 * 1024


class _Client(WeChatClient):
    """wechatpy client honouring the account's api_base and using stable_token."""

    def __init__(self, api_base: str, appid: str, secret: str, token_cache: Any, timeout: float) -> None:
        self.API_BASE_URL = api_base.rstrip("/") + "/cgi-bin/"
        self._api_base = api_base.rstrip("/")
        self._token_cache = token_cache
        self._cache_key = "wechat-token:" + hashlib.sha256(f"{self._api_base}|{appid}".encode()).hexdigest()[:32]
        super().__init__(appid, secret, timeout=timeout, auto_retry=False)

    @property
    def access_token(self) -> str:  # type: ignore[override]
        if self._token_cache is not None:
            cached = self._token_cache.get(self._cache_key)
            if cached:
                return cached
        return self.fetch_access_token()["access_token"]

    def fetch_access_token(self, force_refresh: bool = False,  # type: ignore[override]
                           use_cache: bool = True) -> dict:
        """Get a token via stable_token; ``use_cache=False`` always asks the platform (verify)."""
        lock = self._token_cache.lock(self._cache_key) if self._token_cache is not None else None
        if lock is not None:
            lock.acquire()
        try:
            if self._token_cache is not None and not force_refresh and use_cache:
                cached = self._token_cache.get(self._cache_key)
                if cached:
                    return {"access_token": cached}
            res = self._http.post(
                self._api_base + "/cgi-bin/stable_token",
                json={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret,
                      "force_refresh": force_refresh},
                timeout=self.timeout,
            )
            result = self._handle_result(res)
            token = result["access_token"]
            ttl = int(result.get("expires_in", 7200))
            if self._token_cache is not None:
                # Keep a safety margin so no worker uses a token in its last minutes.
                self._token_cache.set(self._cache_key, token, max(60, ttl - 300))
            return result
        finally:
            if lock is not None:
                lock.release()

    def drop_token(self, token: str) -> None:
        if self._token_cache is not None:
            self._token_cache.delete_if(self._cache_key, token)


@register
class WeChatAdapter(Adapter):
    platform = "wechat"
    label = "微信公众号"
    default_api_base = "https://api.weixin.qq.com"
    credential_fields = (
        CredentialField("app_id", "AppID（开发者ID）", secret=False),
        CredentialField("app_secret", "AppSecret（开发者密码）"),
        CredentialField("callback_token", "消息回调 Token", required=False),
        CredentialField("encoding_aes_key", "EncodingAESKey", required=False),
        CredentialField("console_password", "公众平台登录密码", required=False),
    )
    limits = {"title": 32, "author": 16, "summary": 128, "content": 20000, "content_bytes": 1024 * 1024}

    timeout = 15.0
    poll_seconds = 20.0

    @classmethod
    def validate(cls, title: str, content: str, summary: str, author: str,
                 variant: dict[str, Any] | None = None) -> list[str]:
        v = variant or {}
        title = v.get("title") or title
        summary = v.get("summary") or summary
        problems = []
        if not title.strip():
            problems.append("微信标题不能为空")
        if len(title) > cls.limits["title"]:
            problems.append(f"微信标题不得超过 {cls.limits['title']} 字（现为 {len(title)} 字）")
        if len(author) > cls.limits["author"]:
            problems.append(f"微信作者不得超过 {cls.limits['author']} 字（现为 {len(author)} 字）")
        if len(summary) > cls.limits["summary"]:
            problems.append(f"微信摘要不得超过 {cls.limits['summary']} 字（现为 {len(summary)} 字）")
        if len(content) >= cls.limits["content"]:
            problems.append(f"微信正文须少于 {cls.limits['content']} 字（现为 {len(content)} 字）")
        elif len(content.encode()) >= cls.limits["content_bytes"]:
            problems.append("微信正文须小于 1 MB")
        if not content.strip():
            problems.append("微信正文不能为空")
        return problems

    # -- plumbing --------------------------------------------------------------------------
    def _client(self) -> _Client:
        appid = self.credentials.get("app_id", "")
        secret = self.credentials.get("app_secret", "")
        if not appid or not secret:
            raise PlatformError("账号缺少 AppID 或 AppSecret，请管理员设置凭据", code="missing_credentials")
        return _Client(self.api_base, appid, secret, self.token_cache, self.timeout)

    @staticmethod
    def _error(exc: WeChatClientException) -> PlatformError:
        code = exc.errcode
        if code is None:  # HTTP-level failure after the server answered
            return PlatformError("微信平台返回了异常的 HTTP 响应", code="http", ambiguous=True)
        code = int(code)
        msg = ERROR_MESSAGES.get(code, f"微信平台拒绝了请求（错误码 {code}：{exc.errmsg}）")
        return PlatformError(msg, code=code, retryable=code in RETRYABLE_CODES,
                             stale_token=code in STALE_TOKEN_CODES, quota=code in QUOTA_CODES)

    def _call(self, client: _Client, method: str, path: str, *, mutating: bool, **kwargs: Any) -> dict:
        """One API call; a stale token is refreshed once and the call repeated once."""
        for attempt in (1, 2):
            token = client.access_token
            params = dict(kwargs.pop("params", {}) or {})
            params["access_token"] = token
            try:
                return client._request(method, path, params=params, **kwargs)
            except WeChatClientException as exc:
                err = self._error(exc)
                if err.stale_token and attempt == 1:
                    client.drop_token(token)
                    client.fetch_access_token(force_refresh=False)
                    kwargs["params"] = {k: v for k, v in params.items() if k != "access_token"}
                    continue
                raise err from None
            except (requests.ConnectionError, requests.Timeout) as exc:
                raise self._transport_error(exc, mutating) from None
        raise PlatformError("访问令牌刷新后仍被拒绝", code=40001)

    @staticmethod
    def _transport_error(exc: Exception, mutating: bool) -> PlatformError:
        not_sent = isinstance(exc, requests.ConnectTimeout) or (
            isinstance(exc, requests.ConnectionError) and "NewConnectionError" in repr(exc.args)
        )
        if not_sent:
            return PlatformError("无法连接微信平台（请求未发出），稍后自动重试", code="connect", retryable=True)
        if not mutating:
            return PlatformError("微信平台未响应查询请求", code="read", retryable=True)
        return PlatformError("请求已发出但未收到微信平台的答复，结果待核实", code="no_answer", ambiguous=True)

    # -- operations ------------------------------------------------------------------------
    def verify_credentials(self) -> tuple[bool, str]:
        try:
            client = self._client()
            client.fetch_access_token(force_refresh=False, use_cache=False)
        except PlatformError as exc:
            return False, exc.message
        except WeChatClientException as exc:
            return False, self._error(exc).message
        except (requests.ConnectionError, requests.Timeout):
            return False, "无法连接微信平台，请检查接口地址"
        return True, "凭据有效：已成功获取访问令牌"

    @staticmethod
    def thumb_jpeg(data: bytes) -> bytes:
        """Convert/resize a cover to a JPEG under WeChat's 64 KB thumb limit."""
        with Image.open(io.BytesIO(data)) as src:
            img = src.convert("RGB")
            img.thumbnail((900, 900))
            for quality in (85, 75, 65, 50, 40, 30):
                buf = io.BytesIO()
                img.save(buf, "JPEG", quality=quality, optimize=True)
                if buf.tell() <= THUMB_MAX:
                    return buf.getvalue()
                if quality == 50:
                    img.thumbnail((img.width // 2, img.height // 2))
        raise PlatformError("封面图片无法压缩到 64 KB 以内", code="thumb_size")

    def upload_cover(self, client: _Client, cover: bytes) -> str:
        thumb = self.thumb_jpeg(cover)
        res = self._call(client, "post", "material/add_material", mutating=False,
                         params={"type": "thumb"}, files={"media": ("cover.jpg", thumb, "image/jpeg")})
        return str(res["media_id"])

    def add_draft(self, client: _Client, pub: Publication, thumb_media_id: str) -> str:
        v = pub.variant or {}
        article = {
            "title": v.get("title") or pub.title,
            "author": pub.author,
            "digest": v.get("summary") or pub.summary,
            "content": pub.content,
            "content_source_url": pub.marker_url,
            "thumb_media_id": thumb_media_id,
            "need_open_comment": 0,
            "only_fans_can_comment": 0,
        }
        res = self._call(client, "post", "draft/add", mutating=True, data={"articles": [article]})
        return str(res["media_id"])

    def submit(self, client: _Client, draft_media_id: str) -> str:
        res = self._call(client, "post", "freepublish/submit", mutating=True, data={"media_id": draft_media_id})
        return str(res["publish_id"])

    def status(self, platform_ref: str) -> PublishResult:
        client = self._client()
        res = self._call(client, "post", "freepublish/get", mutating=False, data={"publish_id": platform_ref})
        st = int(res.get("publish_status", -1))
        if st == 0:
            items = (res.get("article_detail") or {}).get("item") or []
            url = items[0].get("article_url") if items else None
            return PublishResult("published", platform_ref, str(res.get("article_id") or ""), url)
        if st == 1:
            return PublishResult("submitted", platform_ref)
        reasons = {2: "原创声明校验失败", 3: "发布失败（常规失败）", 4: "平台审核未通过", 5: "已被用户删除",
                   6: "已被系统封禁"}
        raise PlatformError(f"微信发布未成功：{reasons.get(st, f'状态 {st}')}", code=f"publish_status_{st}")

    def publish(self, pub: Publication) -> PublishResult:
        problems = self.validate(pub.title, pub.content, pub.summary, pub.author, pub.variant)
        if problems:
            raise PlatformError("；".join(problems), code="invalid_content")
        client = self._client()
        thumb = self.upload_cover(client, pub.cover)
        draft = self.add_draft(client, pub, thumb)
        try:
            publish_id = self.submit(client, draft)
        except PlatformError as exc:
            exc.draft_ref = draft  # type: ignore[attr-defined]
            raise
        deadline = time.monotonic() + self.poll_seconds
        delay = 0.2
        while True:
            try:
                result = self.status(publish_id)
            except PlatformError as exc:
                if exc.retryable and time.monotonic() < deadline:
                    time.sleep(delay)
                    continue
                if exc.retryable:
                    return PublishResult("submitted", publish_id, draft_ref=draft)
                raise
            result.draft_ref = draft
            if result.status == "published" or time.monotonic() >= deadline:
                return result
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
