"""Kuaishou (快手) adapter: a video post through the open platform — start upload, upload, publish.

What Kuaishou is sent is what :meth:`KuaishouAdapter.render` returns: the caption (title and caption,
content-checked), the cover (required by ``photo/publish``) and the approved video. Calls
(open.kuaishou.com, 内容管理; scopes ``user_video_publish``, ``user_video_info``, ``user_video_delete``):

* ``POST /openapi/photo/start_upload`` → ``upload_token`` and the upload ``endpoint``;
* ``POST http://{endpoint}/api/upload`` (the bytes, under 10 MB) or ``/api/upload/fragment`` (10 MB
  fragments) and ``/api/upload/complete``: publishes nothing; the ``upload_token`` is checkpointed
  (``draft_ref``) so a later run publishes from it without uploading again;
* ``POST /openapi/photo/publish`` (multipart ``cover``, ``caption``) → ``photo_id``: the one mutating
  call, checkpointed as ``submitting`` first (a lost answer is reconciled, never resent);
* ``GET /openapi/photo/info`` / ``photo/list`` (reconciliation by caption since the dispatch),
  ``GET /openapi/photo/delete`` (withdraw; 120001 视频不存在 means already gone).

Errors are ``{"result": code, "error_msg"}`` (``result`` 1 is success); 100200102 (invalid access token)
refreshes the token once (``/oauth2/refresh_token``, which also answers a new refresh token with the old
one's expiry: after 180 days only a new authorisation helps).
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import requests

from .base import Lookup, PlatformError, Publication, PublishResult
from .registry import register
from .video_oauth import OAuthVideoAdapter, iso_in, norm

BUSY, QUOTA, REFRESH_EXPIRED, INVALID_TOKEN = 100200500, 100200429, 100200103, 100200102
GONE = 120001
MESSAGES = {
    100200100: "快手拒绝了请求：参数有误",
    100200101: "快手应用的 app_id 或 app_secret 错误",
    INVALID_TOKEN: "快手访问令牌无效或已过期",
    REFRESH_EXPIRED: "快手授权已过期（刷新令牌过期），请管理员在账号页重新授权",
    BUSY: "快手平台繁忙，稍后自动重试",
    QUOTA: "快手接口调用次数已用完，明天自动继续",
    120001: "快手上找不到该视频（可能已被删除）",
    120002: "快手视频未上传完成",
    120003: "快手视频发布失败",
}
CALL_RETRIES = 3
BACKOFF = (0.3, 1.0, 2.0)
FIND_PAGES = 5


@register
class KuaishouAdapter(OAuthVideoAdapter):
    platform = "kuaishou"
    label = "快手"
    default_api_base = "https://open.kuaishou.com"
    cover_required = True
    title_max = 55
    text_max = 500
    key_label = "App ID（app_id）"
    credential_fields = OAuthVideoAdapter.oauth_fields("App ID（app_id）", renewable=False)
    limits = {"title": 55, "text": 500, "cover_bytes": 10 * 1024 * 1024}
    rate_per_second = 10
    timeout = 60.0
    #: Videos above this go up in fragments of ``part_size`` (the docs: direct upload under 10 MB).
    part_threshold = 10 * 1024 * 1024
    part_size = 10 * 1024 * 1024
    scope = "user_info,user_video_publish,user_video_info,user_video_delete"

    # -- plumbing --------------------------------------------------------------------------
    @staticmethod
    def _error(body: Any, status: int, mutating: bool) -> PlatformError | None:
        if not isinstance(body, dict) or "result" not in body:
            if mutating:
                return PlatformError("快手平台返回了无法识别的答复，结果待核实", code="answer", ambiguous=True)
            return PlatformError(f"快手平台返回了异常的响应（HTTP {status}）", code="http", retryable=True)
        try:
            code = int(str(body.get("result")))
        except (TypeError, ValueError):
            code = -1
        if code == 1:
            return None
        msg = MESSAGES.get(code, f"快手平台拒绝了请求（错误码 {code}：{str(body.get('error_msg'))[:200]}）")
        return PlatformError(msg, code=code, retryable=code == BUSY, quota=code == QUOTA,
                             stale_token=code == INVALID_TOKEN)

    def _request(self, method: str, url: str, *, mutating: bool, params: dict[str, Any] | None = None,
                 data: Any = None, files: Any = None, headers: dict[str, str] | None = None) -> dict[str, Any]:
        tries = 0
        while True:
            tries += 1
            self.before_call()
            try:
                res = requests.request(method, url, params=params, data=data, files=files, headers=headers,
                                       timeout=self.timeout)
                try:
                    body = res.json()
                except ValueError:
                    body = None
                err = self._error(body, res.status_code, mutating)
                if err is None:
                    assert isinstance(body, dict)
                    return body
            except requests.ConnectTimeout:
                err = PlatformError("无法连接快手平台（请求未发出），稍后自动重试", code="connect", retryable=True)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if "NewConnectionError" in repr(exc.args):
                    err = PlatformError("无法连接快手平台（请求未发出），稍后自动重试", code="connect", retryable=True)
                elif mutating:
                    err = PlatformError("请求已发出但未收到快手平台的答复，结果待核实", code="no_answer", ambiguous=True)
                else:
                    err = PlatformError("快手平台未响应，稍后自动重试", code="read", retryable=True)
            if err.retryable and tries <= CALL_RETRIES:
                time.sleep(BACKOFF[min(tries - 1, len(BACKOFF) - 1)])
                continue
            raise err

    def _api(self, method: str, path: str, *, mutating: bool, params: dict[str, Any] | None = None,
             files: Any = None) -> dict[str, Any]:
        refreshed = False
        while True:
            token = self.credentials.get("access_token", "")
            if not token:
                raise PlatformError("快手账号尚未授权：请管理员在账号页点击“授权”", code="not_authorised")
            q = {"access_token": token, "app_id": self.credentials.get("client_key", ""), **(params or {})}
            try:
                return self._request(method, self.api_base + path, mutating=mutating, params=q, files=files)
            except PlatformError as exc:
                if not exc.stale_token or refreshed or not self.credentials.get("refresh_token"):
                    if exc.stale_token:
                        exc.message = "快手访问令牌已失效且无法刷新，请管理员在账号页重新授权"
                    raise
                self.credentials.update(self.refresh_access())
                refreshed = True

    # -- OAuth -----------------------------------------------------------------------------
    def authorize_url(self, redirect_uri: str, state: str) -> str:
        return self.api_base + "/oauth2/connect?" + urlencode({
            "app_id": self.credentials.get("client_key", ""), "scope": self.scope, "response_type": "code",
            "ua": "pc", "redirect_uri": redirect_uri, "state": state})

    def _oauth(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        return self._request("GET", self.api_base + path, mutating=False, params={
            "app_id": self.credentials.get("client_key", ""), "app_secret": self.credentials.get("client_secret", ""),
            **params})

    @staticmethod
    def _tokens(data: dict[str, Any]) -> dict[str, str]:
        out = {"access_token": str(data.get("access_token") or ""),
               "access_token_expires_at": iso_in(data.get("expires_in")),
               "refresh_token": str(data.get("refresh_token") or ""),
               "refresh_token_expires_at": iso_in(data.get("refresh_token_expires_in")),
               "open_id": str(data.get("open_id") or "")}
        return {k: v for k, v in out.items() if v}

    def exchange_code(self, code: str, redirect_uri: str) -> dict[str, str]:
        out = self._tokens(self._oauth("/oauth2/access_token", {"code": code, "grant_type": "authorization_code"}))
        if "access_token" not in out or "refresh_token" not in out or "open_id" not in out:
            raise PlatformError("快手授权未返回令牌", code="no_token")
        return out

    def refresh_access(self) -> dict[str, str]:
        out = self._tokens(self._oauth("/oauth2/refresh_token", {
            "refresh_token": self.credentials.get("refresh_token", ""), "grant_type": "refresh_token"}))
        if "access_token" not in out:
            raise PlatformError("快手刷新令牌未返回访问令牌", code="no_token")
        return out

    def renew_refresh(self) -> dict[str, str]:
        raise NotImplementedError("快手的刷新令牌不能续期，到期前须重新授权")

    # -- operations ------------------------------------------------------------------------
    def verify_credentials(self) -> tuple[bool, str]:
        if not self.credentials.get("access_token"):
            return False, "快手账号尚未授权：请在账号页点击“授权”，用该政务快手号同意授权"
        try:
            self._api("GET", "/openapi/photo/list", mutating=False, params={"count": 1})
        except PlatformError as exc:
            return False, exc.message
        return True, "凭据有效：" + self._describe_tokens()

    def _upload(self, video: bytes, mime: str) -> str:
        start = self._api("POST", "/openapi/photo/start_upload", mutating=False)
        upload_token, endpoint = str(start.get("upload_token") or ""), str(start.get("endpoint") or "")
        if not upload_token or not endpoint:
            raise PlatformError("快手发起上传未返回上传令牌", code="no_upload_token", retryable=True)
        base = endpoint if endpoint.startswith(("http://", "https://")) else f"http://{endpoint}"
        headers = {"Content-Type": mime or "video/mp4"}
        if len(video) <= self.part_threshold:
            self._request("POST", base + "/api/upload", mutating=False, params={"upload_token": upload_token},
                          data=video, headers=headers)
        else:
            count = 0
            for n, at in enumerate(range(0, len(video), self.part_size)):
                self._request("POST", base + "/api/upload/fragment", mutating=False,
                              params={"upload_token": upload_token, "fragment_id": n},
                              data=video[at:at + self.part_size], headers=headers)
                count = n + 1
            self._request("POST", base + "/api/upload/complete", mutating=False,
                          params={"upload_token": upload_token, "fragment_count": count})
        return upload_token

    def publish(self, pub: Publication) -> PublishResult:
        rendering = self.render(pub, self.settings())
        if rendering.problems:
            raise PlatformError("；".join(rendering.problems), code="invalid_content")
        if not pub.video:
            raise PlatformError("稿件没有可发送的视频", code="no_video")
        caption = self.compose(rendering.fields)
        resume = pub.resume or {}
        upload_token = resume.get("draft_ref") if resume.get("stage") in ("uploaded", "draft_added") else None
        if not upload_token:
            upload_token = self._upload(pub.video, pub.video_mime)
            self.checkpoint("uploaded", draft_ref=upload_token)
        self.checkpoint("submitting")
        ext = "png" if (pub.cover_mime or "").endswith("png") else "jpg"
        res = self._api("POST", "/openapi/photo/publish", mutating=True, params={"upload_token": upload_token},
                        files={"cover": (f"cover.{ext}", pub.cover, pub.cover_mime or "image/jpeg"),
                               "caption": (None, caption)})
        got = res.get("video_info")
        info: dict[str, Any] = got if isinstance(got, dict) else {}
        photo_id = str(info.get("photo_id") or "")
        if not photo_id:
            raise PlatformError("快手已受理发布但未返回作品编号，结果待核实", code="no_id", ambiguous=True)
        return self._published(info)

    def _published(self, info: dict[str, Any]) -> PublishResult:
        photo_id = str(info.get("photo_id") or "")
        url = str(info.get("play_url") or "") or f"https://www.kuaishou.com/short-video/{photo_id}"
        return PublishResult("published", photo_id, photo_id, url)

    def _info(self, photo_id: str) -> dict[str, Any] | None:
        try:
            res = self._api("GET", "/openapi/photo/info", mutating=False, params={"photo_id": photo_id})
        except PlatformError as exc:
            if exc.code == GONE:
                return None
            raise
        info = res.get("video_info")
        return info if isinstance(info, dict) else None

    def status(self, platform_ref: str) -> PublishResult:
        info = self._info(platform_ref)
        if info is None:
            raise PlatformError(MESSAGES[GONE], code=GONE)
        return self._published(info)

    def find(self, pub: Publication, *, since: float, draft_ref: str | None = None,
             platform_ref: str | None = None) -> Lookup:
        if platform_ref:
            found = self._info(platform_ref)
            return Lookup(published=self._published(found)) if found else Lookup(failed="快手上的该视频已被删除")
        want = norm(self.compose(self.render(pub, self.settings()).fields))
        cursor = ""
        for _page in range(FIND_PAGES):
            params: dict[str, Any] = {"count": 50}
            if cursor:
                params["cursor"] = cursor
            res = self._api("GET", "/openapi/photo/list", mutating=False, params=params)
            items = [i for i in res.get("video_list") or [] if isinstance(i, dict)]
            for entry in items:
                if norm(str(entry.get("caption") or "")) == want and float(entry.get("create_time") or 0) / 1000 >= since - 60:
                    return Lookup(published=self._published(entry))
            cursor = str(res.get("cursor") or "")
            oldest = min((float(i.get("create_time") or 0) / 1000 for i in items), default=0.0)
            if not cursor or oldest < since - 3600:
                break
        if draft_ref and (pub.resume or {}).get("stage") in ("uploaded", "draft_added"):
            return Lookup(drafts=[draft_ref])
        return Lookup()

    def withdraw(self, platform_ref: str | None, article_id: str | None) -> bool:
        ref = platform_ref or article_id
        if not ref:
            raise PlatformError("该发布没有快手作品编号，无法撤回", code="no_ref")
        try:
            self._api("GET", "/openapi/photo/delete", mutating=True, params={"photo_id": ref})
        except PlatformError as exc:
            if exc.code == GONE:
                return False
            raise
        return True
