"""Douyin (抖音) adapter: a video post through the open platform — upload, then create.

What Douyin is sent is what :meth:`DouyinAdapter.render` returns: the title and caption (one ``text``,
content-checked like any text) and the approved video (``Publication.video``, the bytes whose hash the
reviewers approved). Calls (developer.open-douyin.com, 视频管理; scope ``video.create.bind`` and
``video.data.bind`` / ``video.delete.bind``, granted by the account holder through OAuth):

* ``POST /api/douyin/v1/video/upload_video/`` (≤ 50 MB here; Douyin requires parts above 128 MB) or
  ``init_video_part_upload`` / ``upload_video_part`` (20 MB parts) / ``complete_video_part_upload``
  → ``video_id``. Uploading publishes nothing, so an upload whose answer is lost is simply repeated;
  the ``video_id`` is checkpointed (``draft_ref``) so a later run creates from it without uploading again;
* ``POST /api/douyin/v1/video/create_video/`` ``{video_id, text}`` → ``item_id``: the one mutating call,
  checkpointed as ``submitting`` first (a lost answer is reconciled, never resent);
* ``POST …/video_data/`` (status: ``video_status`` 4 审核中 → submitted, 2 不适宜公开 → failed),
  ``GET …/video_list/`` (reconciliation: the account's videos since the dispatch, matched on the text
  sent), ``POST …/delete_video/`` (withdraw).

Errors come as ``{"data": {"error_code", "description"}}``: 2100004 busy is retried, 2190001 quota waits
for the next day, 2190008 (access token expired) and 2190002 refresh the token once
(``/oauth/refresh_token/``), 10010 (refresh token expired) tells the admin to re-authorise.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import requests

from .base import Lookup, PlatformError, Publication, PublishResult
from .registry import register
from .video_oauth import OAuthVideoAdapter, iso_in, norm

RETRYABLE = {2100004, 2100002}
QUOTA = {2190001}
STALE = {2190002, 2190008, 10008}
REAUTHORISE = {10010, 10020, 2190003}
MESSAGES = {
    2100004: "抖音平台繁忙，稍后自动重试",
    2100005: "抖音拒绝了请求：参数不合法",
    2190001: "抖音接口今日调用次数已用完，明天自动继续",
    2190002: "抖音访问令牌无效，请管理员在账号页重新授权",
    2190003: "抖音用户未授权该接口（需 video.create 权限），请管理员在账号页重新授权",
    2190004: "抖音应用未获得视频发布能力（需在抖音开放平台申请 video.create）",
    2190008: "抖音访问令牌已过期",
    2190015: "抖音授权用户与 open_id 不一致，请管理员在账号页重新授权",
    10007: "抖音授权码已过期，请重新授权",
    10010: "抖音授权已过期（刷新令牌过期），请管理员在账号页重新授权",
    10013: "抖音应用的 client_key 或 client_secret 错误",
    10020: "抖音刷新令牌的续期次数已用完，请管理员在账号页重新授权",
}
CALL_RETRIES = 3
BACKOFF = (0.3, 1.0, 2.0)
FIND_PAGES = 10
STATUS_REVIEWING = 4
STATUS_REFUSED = 2


@register
class DouyinAdapter(OAuthVideoAdapter):
    platform = "douyin"
    label = "抖音"
    default_api_base = "https://open.douyin.com"
    renewable = True
    max_renewals = 5
    credential_fields = OAuthVideoAdapter.oauth_fields("Client Key（client_key）", renewable=True)
    limits = {"title": 55, "text": 1000, "video_bytes": 4 * 1024 * 1024 * 1024}
    rate_per_second = 10
    timeout = 60.0
    #: Videos above this go up in parts of ``part_size`` (Douyin: recommended above 50 MB, required above 128 MB).
    part_threshold = 50 * 1024 * 1024
    part_size = 20 * 1024 * 1024
    scope = "user_info,video.create.bind,video.data.bind,video.delete.bind"

    # -- plumbing --------------------------------------------------------------------------
    def _open_id(self) -> str:
        open_id = self.credentials.get("open_id", "")
        if not open_id or not self.credentials.get("access_token"):
            raise PlatformError("抖音账号尚未授权：请管理员在账号页点击“授权”", code="not_authorised")
        return open_id

    def _error(self, body: Any, status: int, mutating: bool) -> PlatformError | None:
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            if mutating:
                return PlatformError("抖音平台返回了无法识别的答复，结果待核实", code="answer", ambiguous=True)
            return PlatformError(f"抖音平台返回了异常的响应（HTTP {status}）", code="http", retryable=True)
        try:
            code = int(data.get("error_code") or 0)
        except (TypeError, ValueError):
            code = -1
        if code == 0:
            return None
        desc = str(data.get("description") or "")[:200]
        msg = MESSAGES.get(code, f"抖音平台拒绝了请求（错误码 {code}：{desc}）")
        if code == 2100005 and desc:
            msg = f"抖音拒绝了请求：{desc}"
        return PlatformError(msg, code=code, retryable=code in RETRYABLE, quota=code in QUOTA,
                             stale_token=code in STALE)

    def _request(self, method: str, path: str, *, mutating: bool, params: dict[str, Any] | None = None,
                 data: dict[str, Any] | None = None, json: Any = None, files: Any = None,
                 headers: dict[str, str] | None = None) -> dict[str, Any]:
        tries = 0
        while True:
            tries += 1
            self.before_call()
            try:
                res = requests.request(method, self.api_base + path, params=params, data=data, json=json,
                                       files=files, headers=headers, timeout=self.timeout)
                try:
                    body = res.json()
                except ValueError:
                    body = None
                err = self._error(body, res.status_code, mutating)
                if err is None:
                    assert isinstance(body, dict)
                    return body["data"]
            except requests.ConnectTimeout:
                err = PlatformError("无法连接抖音平台（请求未发出），稍后自动重试", code="connect", retryable=True)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if "NewConnectionError" in repr(exc.args):
                    err = PlatformError("无法连接抖音平台（请求未发出），稍后自动重试", code="connect", retryable=True)
                elif mutating:
                    err = PlatformError("请求已发出但未收到抖音平台的答复，结果待核实", code="no_answer", ambiguous=True)
                else:
                    err = PlatformError("抖音平台未响应，稍后自动重试", code="read", retryable=True)
            if err.retryable and tries <= CALL_RETRIES:
                time.sleep(BACKOFF[min(tries - 1, len(BACKOFF) - 1)])
                continue
            raise err

    def _api(self, method: str, path: str, *, mutating: bool, params: dict[str, Any] | None = None,
             json: Any = None, files: Any = None) -> dict[str, Any]:
        """A video call as the authorised user; an expired access token is refreshed once."""
        refreshed = False
        while True:
            q = {"open_id": self._open_id(), **(params or {})}
            try:
                return self._request(method, "/api/douyin/v1/video/" + path, mutating=mutating, params=q, json=json,
                                     files=files, headers={"access-token": self.credentials["access_token"]})
            except PlatformError as exc:
                if not exc.stale_token or refreshed or not self.credentials.get("refresh_token"):
                    if exc.stale_token:
                        exc.message = "抖音访问令牌已失效且无法刷新，请管理员在账号页重新授权"
                    raise
                self.credentials.update(self.refresh_access())  # in memory: the daily job stores tokens
                refreshed = True

    # -- OAuth -----------------------------------------------------------------------------
    def authorize_url(self, redirect_uri: str, state: str) -> str:
        return self.api_base + "/platform/oauth/connect/?" + urlencode({
            "client_key": self.credentials.get("client_key", ""), "response_type": "code", "scope": self.scope,
            "redirect_uri": redirect_uri, "state": state})

    @staticmethod
    def _tokens(data: dict[str, Any]) -> dict[str, str]:
        out = {"access_token": str(data.get("access_token") or ""),
               "access_token_expires_at": iso_in(data.get("expires_in")),
               "refresh_token": str(data.get("refresh_token") or ""),
               "refresh_token_expires_at": iso_in(data.get("refresh_expires_in"))}
        if data.get("open_id"):
            out["open_id"] = str(data["open_id"])
        return {k: v for k, v in out.items() if v}

    def _oauth(self, path: str, form: dict[str, str]) -> dict[str, Any]:
        return self._request("POST", path, mutating=False, data={"client_key": self.credentials.get("client_key", ""),
                                                                 **form})

    def exchange_code(self, code: str, redirect_uri: str) -> dict[str, str]:
        data = self._oauth("/oauth/access_token/", {"client_secret": self.credentials.get("client_secret", ""),
                                                    "code": code, "grant_type": "authorization_code"})
        out = self._tokens(data)
        if "access_token" not in out or "refresh_token" not in out or "open_id" not in out:
            raise PlatformError("抖音授权未返回令牌", code="no_token")
        out["refresh_renewals_left"] = str(self.max_renewals)
        return out

    def refresh_access(self) -> dict[str, str]:
        data = self._oauth("/oauth/refresh_token/", {"grant_type": "refresh_token",
                                                     "refresh_token": self.credentials.get("refresh_token", "")})
        out = self._tokens(data)
        if "access_token" not in out:
            raise PlatformError("抖音刷新令牌未返回访问令牌", code="no_token")
        out.pop("refresh_token", None)  # refreshing leaves the refresh token as it was
        return out

    def renew_refresh(self) -> dict[str, str]:
        data = self._oauth("/oauth/renew_refresh_token/", {"refresh_token": self.credentials.get("refresh_token", "")})
        token = str(data.get("refresh_token") or "")
        if not token:
            raise PlatformError("抖音续期刷新令牌未返回新令牌", code="no_token")
        try:
            left = max(0, int(self.credentials.get("refresh_renewals_left", "")) - 1)
        except ValueError:
            left = 0
        return {"refresh_token": token, "refresh_token_expires_at": iso_in(data.get("expires_in")),
                "refresh_renewals_left": str(left)}

    # -- operations ------------------------------------------------------------------------
    def verify_credentials(self) -> tuple[bool, str]:
        if not self.credentials.get("access_token"):
            return False, "抖音账号尚未授权：请在账号页点击“授权”，用该政务抖音号扫码同意"
        try:
            self._api("GET", "video_list/", mutating=False, params={"cursor": 0, "count": 1})
        except PlatformError as exc:
            return False, exc.message
        return True, "凭据有效：" + self._describe_tokens()

    def _upload(self, video: bytes, mime: str) -> str:
        name = "video." + ("webm" if "webm" in (mime or "") else "mp4")
        ctype = mime or "video/mp4"
        if len(video) <= self.part_threshold:
            data = self._api("POST", "upload_video/", mutating=False, files={"video": (name, video, ctype)})
        else:
            upload_id = str(self._api("POST", "init_video_part_upload/", mutating=False).get("upload_id") or "")
            if not upload_id:
                raise PlatformError("抖音分片上传未返回 upload_id", code="no_upload_id", retryable=True)
            for n, start in enumerate(range(0, len(video), self.part_size), start=1):
                self._api("POST", "upload_video_part/", mutating=False,
                          params={"upload_id": upload_id, "part_number": n},
                          files={"video": (name, video[start:start + self.part_size], ctype)})
            data = self._api("POST", "complete_video_part_upload/", mutating=False, params={"upload_id": upload_id})
        video_id = str((data.get("video") or {}).get("video_id") or "")
        if not video_id:
            raise PlatformError("抖音视频上传未返回 video_id", code="no_video_id", retryable=True)
        return video_id

    def publish(self, pub: Publication) -> PublishResult:
        rendering = self.render(pub, self.settings())
        if rendering.problems:
            raise PlatformError("；".join(rendering.problems), code="invalid_content")
        if not pub.video:
            raise PlatformError("稿件没有可发送的视频", code="no_video")
        text = self.compose(rendering.fields)
        resume = pub.resume or {}
        video_id = resume.get("draft_ref") if resume.get("stage") in ("uploaded", "draft_added") else None
        if not video_id:
            video_id = self._upload(pub.video, pub.video_mime)
            self.checkpoint("uploaded", draft_ref=video_id)
        self.checkpoint("submitting")
        data = self._api("POST", "create_video/", mutating=True, json={"video_id": video_id, "text": text})
        item_id = str(data.get("item_id") or "")
        if not item_id:
            raise PlatformError("抖音已受理发布但未返回视频编号，结果待核实", code="no_id", ambiguous=True)
        try:
            return self.status(item_id)
        except PlatformError:
            return PublishResult("submitted", item_id, item_id, note="抖音正在处理该视频，稍后确认结果")

    def _result(self, item: dict[str, Any]) -> Lookup:
        item_id = str(item.get("item_id") or "")
        status = item.get("video_status")
        if status == STATUS_REFUSED:
            return Lookup(failed="抖音审核认为该视频不适宜公开")
        if status == STATUS_REVIEWING or item.get("is_reviewed") is False:
            return Lookup(in_progress=True, note="抖音正在审核该视频（审核期间仅自己可见）")
        url = str(item.get("share_url") or "") or f"https://www.douyin.com/video/{item_id}"
        return Lookup(published=PublishResult("published", item_id, item_id, url))

    def _item(self, item_id: str) -> dict[str, Any] | None:
        data = self._api("POST", "video_data/", mutating=False, json={"item_ids": [item_id]})
        return next((i for i in data.get("list") or [] if isinstance(i, dict) and str(i.get("item_id")) == item_id),
                    None)

    def status(self, platform_ref: str) -> PublishResult:
        item = self._item(platform_ref)
        if item is None:
            raise PlatformError("抖音上找不到该视频（可能已被删除）", code="gone")
        found = self._result(item)
        if found.failed:
            raise PlatformError(found.failed, code="refused")
        if found.published is None:
            return PublishResult("submitted", platform_ref, platform_ref, note=found.note)
        return found.published

    def find(self, pub: Publication, *, since: float, draft_ref: str | None = None,
             platform_ref: str | None = None) -> Lookup:
        """Reconciliation: the item we were told of, else the account's videos since the dispatch whose text is
        the one this dispatch sends; else the uploaded video to create from (unless a create may be under way)."""
        if platform_ref:
            item = self._item(platform_ref)
            return self._result(item) if item is not None else Lookup(failed="抖音上的该视频已被删除")
        want = norm(self.compose(self.render(pub, self.settings()).fields))
        cursor = 0
        for _page in range(FIND_PAGES):
            data = self._api("GET", "video_list/", mutating=False, params={"cursor": cursor, "count": 20})
            items = [i for i in data.get("list") or [] if isinstance(i, dict)]
            for item in items:
                if norm(str(item.get("title") or "")) == want and float(item.get("create_time") or 0) >= since - 60:
                    return self._result(item)
            oldest = min((float(i.get("create_time") or 0) for i in items), default=0.0)
            if not data.get("has_more") or oldest < since - 3600:
                break
            cursor = int(data.get("cursor") or cursor + len(items))
        stage = (pub.resume or {}).get("stage")
        if draft_ref and stage in ("uploaded", "draft_added"):
            return Lookup(drafts=[draft_ref])
        return Lookup()

    def withdraw(self, platform_ref: str | None, article_id: str | None) -> bool:
        ref = platform_ref or article_id
        if not ref:
            raise PlatformError("该发布没有抖音视频编号，无法撤回", code="no_ref")
        if self._item(ref) is None:
            return False
        self._api("POST", "delete_video/", mutating=True, json={"item_id": ref})
        return True
