"""WeChat official account adapter, built on wechatpy.

wechatpy 1.8.18 is used for its HTTP client, JSON handling and error mapping;
its traps are avoided on purpose (see NOTES): ``fetch_access_token`` is
overridden to use ``cgi-bin/stable_token`` on the account's own ``api_base``,
``auto_retry`` is off (its retry is unbounded and re-sends spent file
objects), and uploads are always sent from bytes.

What WeChat is sent is what :meth:`WeChatAdapter.render` returns (the rendering the reviewers
approved, ``Publication.rendering``), nothing else: the main article and up to seven more, each
with its title, digest, author, body as WeChat keeps it (adapters/wechat_content.py) and source
URL (``content_source_url``: the article's own source URL or empty).

One publication is: each article's cover → ``material/add_material``, every body image →
``media/uploadimg`` (WeChat drops external images), ONE ``draft/add`` with all the articles, then
``freepublish/submit`` and status polling — or, for 群发, ``message/mass/sendall`` with
``clientmsgid`` as the idempotency key. Reconciliation recognises a publication by the draft and
publish ids the hub checkpointed, else by its articles' titles and authors and its time.

Retries inside one run are limited to calls known not to have happened (busy -1, minute
limit 45011, connection refused) and to reads; a mutating call whose answer is lost raises an
*ambiguous* error and the engine reconciles instead of resending.
"""

from __future__ import annotations

import hashlib
import html
import io
import re
import time
from datetime import date
from typing import Any

import requests
from PIL import Image, UnidentifiedImageError
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from . import wechat_content as wxhtml
from . import wechat_datacube, wechat_verify
from . import wechat_masssend as mass_send
from .base import (
    Adapter,
    CredentialField,
    Figures,
    Lookup,
    MetricsRef,
    PlatformError,
    Publication,
    PublishResult,
    Rendering,
    StoredMedia,
)
from .registry import register

STALE_TOKEN_CODES = {40001, 40014, 42001}
RETRYABLE_CODES = {-1, 45011}
QUOTA_CODES = {45009}
DUPLICATE_MASS_SEND = 45065
MATERIAL_LIBRARY_FULL = 45034

# zh-CN reasons an editor can act on, for the codes a publish run can meet.
ERROR_MESSAGES = {
    -1: "微信平台繁忙，稍后自动重试",
    40001: "访问令牌无效",
    40013: "AppID 无效，请管理员检查账号凭据",
    40125: "AppSecret 无效，请管理员检查账号凭据",
    40164: "调用 IP 不在公众号白名单内，请在公众平台添加服务器 IP",
    40005: "图片格式不受支持",
    40007: "素材编号无效",
    40009: "图片大小超出限制",
    42001: "访问令牌已过期",
    44004: "正文为空",
    45002: "微信拒绝了正文：正文须少于 20000 字符且小于 1 MB（按发送时的 HTML 计算，图片地址为上传后的微信地址）",
    45008: "微信拒绝了图文：一次最多 8 篇文章",
    45009: "公众号今日接口调用次数已用完，明日自动继续",
    45011: "调用过于频繁，稍后自动重试",
    45028: "公众号群发次数已用完（订阅号每天 1 次，服务号每月 4 次）",
    45110: "微信拒绝了作者：作者不得超过 16 字",
    48001: "公众号未获得该接口权限（发布需要已认证的公众号）",
    53503: "该草稿未通过微信发布检查，请检查内容后重新提交",
    53504: "需前往公众平台官网使用该草稿",
    53505: "请手动保存成功后再发表",
}

PUBLISH_STATUS_REASONS = {2: "原创声明校验失败", 3: "发布失败（常规失败）", 4: "平台审核未通过",
                          5: "已被用户删除", 6: "已被系统封禁"}
#: The ``publish_status`` values freepublish/get documents (0 success, 1 publishing, 2–6 as above).
KNOWN_PUBLISH_STATUS = range(0, 7)
#: Title and digest limits: WeChat's back office allows 64 and 120 字; the API documentation says 32 and 128.
#: The hub checks the configured ones (HUB_WECHAT_TITLE_MAX, HUB_WECHAT_DIGEST_MAX; docs/publishing.md).
TITLE_MAX = 64
DIGEST_MAX = 120
AUTHOR_MAX = 16
API_DOC_LIMITS = {"title": 32, "digest": 128}
_TAG = re.compile(r"<[^>]+>")

THUMB_MAX = 64 * 1024
BODY_IMAGE_MAX = 1024 * 1024  # media/uploadimg: jpg/png smaller than 1 MB
FETCH_MAX = 10 * 1024 * 1024
#: Internal retries of one call that is known not to have happened (busy, minute limit, not sent).
CALL_RETRIES = 4
BACKOFF = (0.2, 0.5, 1.0, 2.0)
#: Pages of 20 that reconciliation reads at most, per list (drafts, publications).
FIND_PAGES = 10

_IMG_SRC = re.compile(r"""(<img\b[^>]*?\bsrc\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)


class _Client(WeChatClient):
    """wechatpy client honouring the account's api_base and using stable_token."""

    def __init__(self, api_base: str, appid: str, secret: str, token_cache: Any, timeout: float) -> None:
        self.API_BASE_URL = api_base.rstrip("/") + "/cgi-bin/"
        self._api_base = api_base.rstrip("/")
        self._token_cache = token_cache
        self._cache_key = "wechat-token:" + hashlib.sha256(f"{self._api_base}|{appid}".encode()).hexdigest()[:32]
        super().__init__(appid, secret, timeout=timeout, auto_retry=False)

    @property
    def access_token(self) -> str:
        if self._token_cache is not None:
            cached = self._token_cache.get(self._cache_key)
            if cached:
                return cached
        return self.fetch_access_token()["access_token"]

    def fetch_access_token(self, force_refresh: bool = False) -> dict:
        """stable_token under a shared lock, so workers never invalidate each other's tokens."""
        lock = self._token_cache.lock(self._cache_key) if self._token_cache is not None else None
        if lock is not None:
            lock.acquire()
        try:
            if self._token_cache is not None and not force_refresh:
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
            if not isinstance(result, dict) or "access_token" not in result:
                raise WeChatClientException(errcode=None, errmsg="no access_token", client=self)
            token = result["access_token"]
            ttl = int(result.get("expires_in", 7200))
            if self._token_cache is not None:
                # Keep a safety margin so no worker uses a token in its last minutes.
                self._token_cache.set(self._cache_key, token, max(60, min(ttl - 300, 7200)))
            return result
        finally:
            if lock is not None:
                try:
                    lock.release()
                except Exception:  # lock expired or Redis restarted: nothing left to release
                    pass

    def drop_token(self, token: str) -> None:
        if self._token_cache is not None:
            self._token_cache.delete_if(self._cache_key, token)


def plain_text(content: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(_TAG.sub("", content or ""))).strip()


def sent_articles(rendering: Rendering) -> list[dict[str, str]]:
    """The articles of a WeChat rendering, in order, as ``draft/add`` fields (no thumb yet)."""
    f = rendering.fields
    prefixes = [""] + [f"articles.{i}." for i in range(WeChatAdapter.max_articles - 1)
                       if f"articles.{i}.title" in f or f"articles.{i}.content" in f]
    return [{key: f.get(p + key, "") for key in ("title", "author", "digest", "content", "content_source_url")}
            for p in prefixes]


def _same_articles(news: list[dict[str, Any]], wanted: list[dict[str, str]]) -> bool:
    """Whether a draft's or a publication's ``news_item`` list is these articles (titles and authors)."""
    return len(news) == len(wanted) and all(
        str(n.get("title") or "") == w["title"] and str(n.get("author") or "") == w["author"]
        for n, w in zip(news, wanted, strict=True))


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
        CredentialField("account_type", "公众号类型（决定群发次数）", secret=False, required=False,
                        choices=(("subscription", "订阅号（每天群发 1 次）"), ("service", "服务号（每月群发 4 次）"))),
    )
    #: The ceilings the editor and saving check (the back office's); ``render`` checks the configured ones.
    limits = {"title": TITLE_MAX, "author": AUTHOR_MAX, "summary": DIGEST_MAX, "content": 20000,
              "content_bytes": 1024 * 1024}
    rate_per_second = 400
    can_measure = True
    #: ``msg_data_id`` of the last ``freepublish/submit`` (the statistics reference).
    msg_data_id: str = ""
    max_articles = 8  # one draft carries the main article and up to seven 次条
    config_settings = {"title_max": "HUB_WECHAT_TITLE_MAX", "digest_max": "HUB_WECHAT_DIGEST_MAX"}

    timeout = 15.0
    #: How long ``publish`` polls inline before handing the publication to the poll job.
    poll_seconds = 3.0

    @classmethod
    def _limit(cls, settings: dict[str, str] | None, key: str, default: int) -> int:
        try:
            value = int((settings or {}).get(key) or default)
        except ValueError:
            return default
        return value if value > 0 else default

    @classmethod
    def _article_problems(cls, title: str, digest: str, author: str, content: str, *, title_max: int,
                          digest_max: int) -> list[str]:
        """What WeChat refuses of one article (its body measured as sent: images as uploaded URLs)."""
        problems = []
        if not title.strip():
            problems.append("微信标题不能为空")
        if len(title) > title_max:
            problems.append(f"微信标题不得超过 {title_max} 字（现为 {len(title)} 字）")
        if len(author) > AUTHOR_MAX:
            problems.append(f"微信作者不得超过 {AUTHOR_MAX} 字（现为 {len(author)} 字）")
        if len(digest) > digest_max:
            problems.append(f"微信摘要不得超过 {digest_max} 字（现为 {len(digest)} 字）")
        chars, size = wxhtml.sent_length(content)
        if chars >= cls.limits["content"]:
            problems.append(f"微信正文须少于 {cls.limits['content']} 字符（发送时为 {chars} 字符，图片按上传后的"
                            "微信地址计）")
        elif size >= cls.limits["content_bytes"]:
            problems.append("微信正文须小于 1 MB（按发送时计，图片按上传后的微信地址计）")
        if not plain_text(content) and not any(True for _ in wxhtml.image_sources(content)):
            problems.append("微信正文不能为空")
        return problems

    @classmethod
    def render_notes(cls, pub: Publication, settings: dict[str, str]) -> tuple[list[str], list[str]]:
        return mass_send.render_notes(pub.variant, settings)

    @classmethod
    def validate(cls, title: str, content: str, summary: str, author: str,
                 variant: dict[str, Any] | None = None) -> list[str]:
        """The back office's ceilings (64 / 120): what is checked while editing and saving; the configured
        limits are the rendering's problems, which block submission."""
        v = variant or {}
        return cls._article_problems(v.get("title") or title, v.get("summary") or summary, author, content,
                                     title_max=cls.limits["title"], digest_max=cls.limits["summary"])

    # -- rendering: exactly what WeChat is sent ---------------------------------------------
    @classmethod
    def render(cls, pub: Publication, settings: dict[str, str] | None = None) -> Rendering:
        """The main article and each extra one (``articles.N.*``, at most 8 in all) as WeChat keeps them."""
        title_max = cls._limit(settings, "title_max", TITLE_MAX)
        digest_max = cls._limit(settings, "digest_max", DIGEST_MAX)
        v = pub.variant or {}
        extra = pub.articles[: cls.max_articles - 1]
        single = not extra
        articles: list[dict[str, Any]] = [
            {"title": v.get("title") or pub.title, "digest": v.get("summary") or pub.summary, "author": pub.author,
             "content": pub.content, "source_url": pub.source_url, "cover": pub.cover}]
        articles += [{"title": a.get("title") or "", "digest": a.get("summary") or "",
                      "author": a.get("author") or "", "content": a.get("content") or "",
                      "source_url": a.get("source_url") or "", "cover": a.get("cover") or a.get("cover_sha256") or ""}
                     for a in extra]
        fields: dict[str, str] = {}
        html_fields, pictures, warnings, problems = [], [], [], []
        if len(pub.articles) > len(extra):
            problems.append(f"微信图文最多 {cls.max_articles} 篇文章（现为 {len(pub.articles) + 1} 篇）")
        if not single and any(a["digest"] for a in articles):
            warnings.append("多篇文章的图文消息不显示摘要：微信只保留单篇图文的摘要，各篇摘要不会发送")
        for i, a in enumerate(articles):
            prefix, where = ("", "") if i == 0 else (f"articles.{i - 1}.", f"第 {i + 1} 篇文章：")
            cleaned = wxhtml.clean_body(a["content"])
            digest = a["digest"] if single else ""  # none: WeChat shows the body's first 54 characters
            sent = {"title": a["title"], "author": a["author"], "digest": digest, "content": cleaned.html,
                    "content_source_url": a["source_url"].strip()}
            fields.update({prefix + k: val for k, val in sent.items() if val})
            html_fields.append(prefix + "content")
            problems += [where + p for p in cls._article_problems(
                sent["title"], digest, sent["author"], cleaned.html, title_max=title_max, digest_max=digest_max)]
            if len(sent["content_source_url"].encode()) > 1024:
                problems.append(f"{where}原文链接不得超过 1 KB")
            image_problems, image_warnings = wxhtml.image_problems(cleaned.images, f"{where}正文", pub.images)
            problems += image_problems
            warnings += [where + w for w in cleaned.warnings] + image_warnings
            if a["cover"]:
                pictures.append(prefix + "cover")
            elif i == 0:
                problems.append("缺少封面图片（微信图文必须有封面），请上传封面或为账号设置默认封面")
            elif pub.cover:
                warnings.append(f"{where}没有封面，发送时使用主文章的封面")
        if pub.cover and (reason := wxhtml.picture_problem(pub.cover)):
            problems.append(f"封面图片无法发送到微信：{reason}")
        return Rendering(cls.platform, fields, html_fields=tuple(html_fields), pictures=pictures,
                         warnings=warnings, problems=problems)

    # -- plumbing --------------------------------------------------------------------------
    def _client(self) -> _Client:
        appid = self.credentials.get("app_id", "")
        secret = self.credentials.get("app_secret", "")
        if not appid or not secret:
            raise PlatformError("账号缺少 AppID 或 AppSecret，请管理员设置凭据", code="missing_credentials")
        return _Client(self.api_base, appid, secret, self.token_cache, self.timeout)

    def _refused_limit(self, code: int) -> str | None:
        """The zh-CN reason for WeChat refusing a title (45003) or digest (45004) the hub let through: it
        names the limit the hub checked (configured) and the one WeChat's API documentation gives."""
        key, label, variable, default = {45003: ("title", "标题", "HUB_WECHAT_TITLE_MAX", TITLE_MAX),
                                         45004: ("digest", "摘要", "HUB_WECHAT_DIGEST_MAX", DIGEST_MAX)}[code]
        checked = self._limit(self.config, f"{key}_max", default)
        return (f"微信拒绝了{label}长度（错误码 {code}）：本中心按不超过 {checked} 字检查，该公众号接受的更短"
                f"（微信接口文档为不超过 {API_DOC_LIMITS[key]} 字）。请缩短{label}后重新提交；"
                f"如经常出现，请运维将 {variable} 设为 {API_DOC_LIMITS[key]}")

    def _error(self, exc: WeChatClientException) -> PlatformError:
        code = exc.errcode
        if code is None:  # HTTP-level failure after the server answered
            return PlatformError("微信平台返回了异常的 HTTP 响应", code="http", ambiguous=True)
        code = int(code)
        msg = (self._refused_limit(code) if code in (45003, 45004) else None) or \
            ERROR_MESSAGES.get(code, f"微信平台拒绝了请求（错误码 {code}：{exc.errmsg}）")
        if code == 40164:
            msg = wechat_verify.ip_message(exc.errmsg)
        return PlatformError(msg, code=code, retryable=code in RETRYABLE_CODES,
                             stale_token=code in STALE_TOKEN_CODES, quota=code in QUOTA_CODES)

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

    def _token(self, client: _Client) -> str:
        """An access token (cached, else stable_token); busy / lost answers are retried."""
        for attempt in range(CALL_RETRIES + 1):
            try:
                return client.access_token
            except WeChatClientException as exc:
                err = self._error(exc)
                if exc.errcode is None:  # a garbled token answer changes nothing on the platform
                    err = PlatformError(err.message, code="http", retryable=True)
            except (requests.ConnectionError, requests.Timeout) as exc:
                err = self._transport_error(exc, mutating=False)
            if not err.retryable or attempt == CALL_RETRIES:
                raise err
            time.sleep(BACKOFF[min(attempt, len(BACKOFF) - 1)])
        raise AssertionError("unreachable")

    def _call(self, client: _Client, method: str, path: str, *, mutating: bool, **kwargs: Any) -> dict:
        """One API call. A stale token is refreshed once; what did not happen is retried a few times."""
        refreshed = False
        tries = 0
        base_params = dict(kwargs.pop("params", {}) or {})
        while True:
            tries += 1
            self.before_call()
            token = self._token(client)
            params = dict(base_params, access_token=token)
            try:
                result = client._request(method, path, params=params, **kwargs)
                if not isinstance(result, dict):
                    raise WeChatClientException(errcode=None, errmsg="not JSON", client=client)
                return result
            except WeChatClientException as exc:
                err = self._error(exc)
                if err.stale_token and not refreshed:
                    refreshed = True
                    client.drop_token(token)
                    continue
                if err.code == DUPLICATE_MASS_SEND:
                    raise mass_send.DuplicateSend(exc) from None
                if err.code == "http" and not mutating:
                    err = PlatformError(err.message, code="http", retryable=True)
            except (requests.ConnectionError, requests.Timeout) as exc:
                err = self._transport_error(exc, mutating)
            if err.retryable and tries <= CALL_RETRIES:
                time.sleep(BACKOFF[min(tries - 1, len(BACKOFF) - 1)])
                continue
            raise err

    # -- operations ------------------------------------------------------------------------
    def verify_credentials(self) -> tuple[bool, str]:
        return wechat_verify.verify(self)

    @staticmethod
    def thumb_jpeg(data: bytes) -> bytes:
        """Convert/resize a cover to a JPEG under WeChat's 64 KB thumb limit."""
        try:
            with Image.open(io.BytesIO(data)) as src:
                img = src.convert("RGB")
        except (UnidentifiedImageError, OSError, ValueError):
            raise PlatformError("封面不是可识别的图片", code="bad_cover") from None
        img.thumbnail((900, 900))
        for quality in (85, 75, 65, 50, 40, 30):
            buf = io.BytesIO()
            img.save(buf, "JPEG", quality=quality, optimize=True)
            if buf.tell() <= THUMB_MAX:
                return buf.getvalue()
            if quality == 50:
                img.thumbnail((img.width // 2, img.height // 2))
        raise PlatformError("封面图片无法压缩到 64 KB 以内", code="thumb_size")

    @staticmethod
    def body_image(data: bytes) -> tuple[bytes, str]:
        """An image WeChat's uploadimg accepts: JPG or PNG under 1 MB (converted when needed)."""
        try:
            with Image.open(io.BytesIO(data)) as src:
                fmt = (src.format or "").upper()
                if fmt in ("JPEG", "PNG") and len(data) < BODY_IMAGE_MAX:
                    return data, "jpg" if fmt == "JPEG" else "png"
                img = src.convert("RGB")
        except (UnidentifiedImageError, OSError, ValueError):
            raise PlatformError("正文中有无法识别的图片", code="bad_image") from None
        img.thumbnail((1600, 1600))
        for quality in (85, 70, 55, 40):
            buf = io.BytesIO()
            img.save(buf, "JPEG", quality=quality, optimize=True)
            if buf.tell() < BODY_IMAGE_MAX:
                return buf.getvalue(), "jpg"
            img.thumbnail((img.width * 3 // 4, img.height * 3 // 4))
        raise PlatformError("正文图片无法压缩到 1 MB 以内", code="image_size")

    def _image_bytes(self, src: str) -> bytes:
        if src in self.images:  # a hub media image: its bytes came with the publication
            return self.images[src]
        if src.startswith("data:"):
            try:
                return wxhtml.decode_data_url(src)
            except ValueError as exc:
                raise PlatformError(f"正文图片的{exc}", code="bad_image") from None
        if not src.startswith(("http://", "https://")):
            raise PlatformError(f"正文图片地址无效：{src[:80]}", code="bad_image")
        try:
            with requests.get(src, timeout=10, stream=True) as res:
                if res.status_code != 200:
                    raise PlatformError(f"正文图片无法下载（HTTP {res.status_code}）：{src[:80]}",
                                        code="image_fetch")
                data = res.raw.read(FETCH_MAX + 1, decode_content=True)
        except requests.RequestException:
            raise PlatformError(f"正文图片无法下载：{src[:80]}", code="image_fetch") from None
        if len(data) > FETCH_MAX:
            raise PlatformError(f"正文图片超过 10 MB：{src[:80]}", code="image_size")
        return data

    def rehost_images(self, client: _Client, content: str) -> str:
        """Upload every body image (data: or external URL) via media/uploadimg; return the new HTML.
        An image this account uploaded before (same bytes as sent) gets its earlier URL again."""
        hosted: dict[str, str] = {}
        for match in _IMG_SRC.finditer(content):
            src = match.group(3).strip()
            if src in hosted or src.startswith(("http://mmbiz.qpic.cn/", "https://mmbiz.qpic.cn/")):
                continue
            hosted[src] = self._hosted_image(client, *self.body_image(self._image_bytes(src)))
        if not hosted:
            return content

        def swap(m: re.Match[str]) -> str:
            src = m.group(3).strip()
            return f"{m.group(1)}{m.group(2)}{hosted.get(src, m.group(3))}{m.group(2)}"

        return _IMG_SRC.sub(swap, content)

    def _hosted_image(self, client: _Client, data: bytes, fmt: str) -> str:
        """The uploadimg URL of one body image: the account's earlier upload of it, else a new one."""
        sha = hashlib.sha256(data).hexdigest()
        known = self.media.get("image", sha) if self.media is not None else None
        if known is not None and known.url:
            return known.url
        res = self._call(client, "post", "media/uploadimg", mutating=False,
                         files={"media": (f"image.{fmt}", data, f"image/{'jpeg' if fmt == 'jpg' else fmt}")})
        url = str(res["url"])
        if self.media is not None:
            url = self.media.put("image", sha, StoredMedia("image", url, url)).url or url
        return url

    def upload_cover(self, client: _Client, cover: bytes) -> str:
        """The thumb material of ``cover``: the account's earlier upload of the same thumb (a cover
        goes through add_material once per account), else a new one."""
        if not cover:
            raise PlatformError("缺少封面图片（微信图文必须有封面）", code="missing_cover")
        thumb = self.thumb_jpeg(cover)
        sha = hashlib.sha256(thumb).hexdigest()
        known = self.media.get("cover", sha) if self.media is not None else None
        if known is not None:
            return known.media_id
        media = self._add_thumb(client, thumb)
        if self.media is None:
            return media.media_id
        kept = self.media.put("cover", sha, media, source_sha256=hashlib.sha256(cover).hexdigest())
        if kept.media_id != media.media_id:  # another run stored the same thumb meanwhile: keep one
            self._del_material(client, media.media_id)
        return kept.media_id

    def _add_thumb(self, client: _Client, thumb: bytes) -> StoredMedia:
        """material/add_material (type thumb). A full library (45034) first makes room by deleting
        the account's materials no dispatch uses any more, then tries once more."""
        def add() -> dict:
            return self._call(client, "post", "material/add_material", mutating=False,
                              params={"type": "thumb"}, files={"media": ("cover.jpg", thumb, "image/jpeg")})

        try:
            res = add()
        except PlatformError as exc:
            if exc.code != MATERIAL_LIBRARY_FULL:
                raise
            if not self._release(client, None, all_unused=True):
                raise PlatformError("公众号永久素材库已满，且没有可删除的未用素材，请在公众平台清理素材库后重试",
                                    code=MATERIAL_LIBRARY_FULL) from None
            res = add()
        return StoredMedia("cover", str(res["media_id"]), str(res.get("url") or ""))

    def _del_material(self, client: _Client, media_id: str) -> None:
        """material/del_material; a material already gone (40007) counts as deleted."""
        try:
            self._call(client, "post", "material/del_material", mutating=False, data={"media_id": media_id})
        except PlatformError as exc:
            if exc.code != 40007:
                raise

    def release_media(self, items: list[StoredMedia] | None = None, *, all_unused: bool = False) -> int:
        """Delete the account's cover materials no dispatch uses any more (``items``, or what the
        store names releasable). Body images (uploadimg URLs) are not library materials: kept."""
        if self.media is None:
            return 0
        return self._release(self._client(), items, all_unused=all_unused)

    def _release(self, client: _Client, items: list[StoredMedia] | None, *, all_unused: bool) -> int:
        if self.media is None:
            return 0
        done = 0
        for item in items if items is not None else self.media.releasable("cover", all_unused=all_unused):
            if item.kind != "cover":
                continue
            try:
                self._del_material(client, item.media_id)
            except PlatformError:  # kept in the store: deleted by a later run
                continue
            self.media.forget("cover", item.media_id)
            done += 1
        return done

    def add_draft(self, client: _Client, articles: list[dict[str, str]]) -> str:
        """ONE draft holding every article (``draft/add`` fields, each with its ``thumb_media_id``)."""
        payload = [{"title": a["title"], "author": a.get("author", ""), "digest": a.get("digest", ""),
                    "content": a["content"], "content_source_url": a.get("content_source_url", ""),
                    "thumb_media_id": a["thumb_media_id"], "need_open_comment": 0, "only_fans_can_comment": 0}
                   for a in articles]
        res = self._call(client, "post", "draft/add", mutating=True, data={"articles": payload})
        return str(res["media_id"])

    def submit(self, client: _Client, draft_media_id: str) -> str:
        res = self._call(client, "post", "freepublish/submit", mutating=True, data={"media_id": draft_media_id})
        #: The statistics reference (datacube ``msgid`` = msg_data_id + "_" + index): only submit gives it.
        self.msg_data_id = str(res.get("msg_data_id") or "")
        return str(res["publish_id"])

    def _status(self, client: _Client, platform_ref: str) -> PublishResult:
        res = self._call(client, "post", "freepublish/get", mutating=False, data={"publish_id": platform_ref})
        try:
            st = int(res.get("publish_status"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            st = -1
        if st not in KNOWN_PUBLISH_STATUS:
            # Not one of the documented values: the outcome is unknown, so ask again later (待核实).
            raise PlatformError(f"微信返回了未知的发布状态（{res.get('publish_status')}），发布结果待核实",
                                code="publish_status_unknown", ambiguous=True)
        if st == 0:
            items = (res.get("article_detail") or {}).get("item") or []
            url = items[0].get("article_url") if items else None
            return PublishResult("published", platform_ref, str(res.get("article_id") or ""), url)
        if st == 1:
            return PublishResult("submitted", platform_ref)
        raise PlatformError(f"微信发布未成功：{PUBLISH_STATUS_REASONS.get(st, f'状态 {st}')}",
                            code=f"publish_status_{st}")

    def status(self, platform_ref: str) -> PublishResult:
        return self._status(self._client(), platform_ref)

    def _covers(self, client: _Client, pub: Publication, count: int) -> list[str]:
        """The ``thumb_media_id`` of each of ``count`` articles (an article without a cover uses the main
        one); the same picture is uploaded once per run."""
        extra = [(pub.articles[i].get("cover") if i < len(pub.articles) else b"") or pub.cover for i in range(count - 1)]
        pictures = [pub.cover, *extra]
        uploaded: dict[bytes, str] = {}
        for picture in pictures:
            if picture not in uploaded:
                uploaded[picture] = self.upload_cover(client, picture)
        return [uploaded[p] for p in pictures]

    def publish(self, pub: Publication) -> PublishResult:
        rendering = pub.rendering or self.render(pub, self.settings())
        if rendering.problems:
            raise PlatformError("；".join(rendering.problems), code="invalid_content")
        articles = sent_articles(rendering)
        client = self._client()
        resume = pub.resume or {}
        mass = str((pub.variant or {}).get("mass_send") or "").lower() in ("1", "true", "yes")
        if resume.get("stage") == "submitted" and mass_send.is_mass_ref(resume.get("platform_ref")):
            return mass_send.wait(self, client, str(resume["platform_ref"]), resume.get("draft_ref"), pub.variant)
        if resume.get("stage") == "submitted" and resume.get("platform_ref"):
            return self._await(client, str(resume["platform_ref"]), resume.get("draft_ref"))
        draft = resume.get("draft_ref") if resume.get("stage") in ("draft_added", "submitting",
                                                                   "mass_sending") else None
        if not draft:
            thumbs = self._covers(client, pub, len(articles))
            sent = [dict(a, content=self.rehost_images(client, a["content"]), thumb_media_id=thumb)
                    for a, thumb in zip(articles, thumbs, strict=True)]
            draft = self.add_draft(client, sent)
        if mass:
            return mass_send.publish(self, client, pub, draft)
        # Persisted before the call: if its answer is lost, reconciliation knows a submit may exist.
        self.checkpoint("submitting", draft_ref=draft)
        try:
            publish_id = self.submit(client, draft)
        except PlatformError as exc:
            exc.draft_ref = draft
            if exc.code == 40007 and resume.get("draft_ref"):
                # The draft we resumed from has left the draft box: it may have been published.
                raise PlatformError("草稿已不在草稿箱，发布结果待核实", code="draft_gone", ambiguous=True) from None
            raise
        if self.msg_data_id:
            self.checkpoint("submitted", draft_ref=draft, platform_ref=publish_id, stats_ref=self.msg_data_id)
        else:
            self.checkpoint("submitted", draft_ref=draft, platform_ref=publish_id)
        return self._await(client, publish_id, draft)

    def _await(self, client: _Client, publish_id: str, draft: str | None) -> PublishResult:
        return mass_send.poll(self, lambda: self._status(client, publish_id), publish_id, draft)

    # -- reconciliation --------------------------------------------------------------------
    def _scan(self, client: _Client, path: str, since: float) -> list[dict[str, Any]]:
        """Items of draft/batchget or freepublish/batchget updated since ``since`` (newest first)."""
        out: list[dict[str, Any]] = []
        for page in range(FIND_PAGES):
            res = self._call(client, "post", path, mutating=False,
                             data={"offset": page * 20, "count": 20, "no_content": 1})
            items = res.get("item") or []
            out.extend(i for i in items if int(i.get("update_time") or 0) >= since)
            oldest = min((int(i.get("update_time") or 0) for i in items), default=0)
            if len(items) < 20 or oldest < since:
                break
        return out

    def _draft_exists(self, client: _Client, media_id: str) -> bool:
        try:
            self._call(client, "post", "draft/get", mutating=False, data={"media_id": media_id})
        except PlatformError as exc:
            if exc.code == 40007:  # no longer in the draft box: submitted, sent or deleted
                return False
            raise
        return True

    def find(self, pub: Publication, *, since: float, draft_ref: str | None = None,
             platform_ref: str | None = None) -> Lookup:
        """What WeChat holds of this dispatch: by the publish id recorded at the ``submitted`` checkpoint
        (freepublish/get), else by its articles (titles and authors, in order) among the publications and
        drafts updated since shortly before the dispatch, the recorded draft (draft/get) first."""
        client = self._client()
        since = since - 3600  # tolerate clock skew between the hub and the platform
        if mass_send.is_mass_ref(platform_ref):
            return mass_send.lookup(self, client, pub, str(platform_ref), draft_ref)
        if platform_ref:
            try:
                result = self._status(client, platform_ref)
            except PlatformError as exc:
                if not exc.ambiguous and str(exc.code).startswith("publish_status_"):
                    if exc.code == "publish_status_5":
                        return Lookup(failed="微信上的该发布已被删除")
                    return Lookup(failed=exc.message)
                raise
            if result.status == "published":
                return Lookup(published=result)
            return Lookup(in_progress=True)
        wanted = sent_articles(pub.rendering or self.render(pub, self.settings()))
        for item in self._scan(client, "freepublish/batchget", since):
            news = (item.get("content") or {}).get("news_item") or []
            if _same_articles(news, wanted) and not all(n.get("is_deleted") for n in news):
                return Lookup(published=PublishResult(
                    "published", None, str(item.get("article_id") or ""), news[0].get("url"), draft_ref=draft_ref))
        if draft_ref and self._draft_exists(client, draft_ref):
            return Lookup(drafts=[draft_ref])  # the recorded draft: resume from it, touch no other
        drafts = [str(item.get("media_id")) for item in self._scan(client, "draft/batchget", since)
                  if _same_articles((item.get("content") or {}).get("news_item") or [], wanted)]
        return Lookup(drafts=drafts)

    # -- figures (图文分析, 用户分析) ------------------------------------------------------------
    def metrics(self, refs: list[MetricsRef], day: date) -> Figures:
        return wechat_datacube.figures(self, self._client(), refs, day)

    def delete_draft(self, media_id: str) -> None:
        """Remove an orphan draft (a second draft of the same dispatch)."""
        try:
            self._call(self._client(), "post", "draft/delete", mutating=False, data={"media_id": media_id})
        except PlatformError as exc:
            if exc.code != 40007:  # already gone is fine
                raise

    def withdraw(self, platform_ref: str | None, article_id: str | None) -> bool:
        if mass_send.is_mass_ref(platform_ref):
            return mass_send.withdraw(self, self._client(), str(platform_ref))
        if not article_id:
            raise PlatformError("该发布没有微信文章编号，无法撤回", code="no_article")
        try:
            self._call(self._client(), "post", "freepublish/delete", mutating=True,
                       data={"article_id": article_id, "index": 0})
        except PlatformError as exc:
            if exc.code == 53600:  # "invalid article_id": the id came from WeChat, so the article is gone
                return False
            raise
        return True
