"""The 抖音 and 快手 adapters against their simulators over HTTP: OAuth code exchange, upload (whole and in
parts), create/publish exactly once, resume from the upload checkpoint, reconciliation after a lost answer,
token refresh on an expired access token, renewal limits, status and withdraw."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from support import photo, serving

from adapters.base import PlatformError, Publication
from adapters.douyin import DouyinAdapter
from adapters.kuaishou import KuaishouAdapter
from adapters.simulators import douyin as douyin_sim
from adapters.simulators import kuaishou as kuaishou_sim

VIDEO = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 400  # ~100 KB of "mp4"
REDIRECT = "https://hub.example.gov.cn/accounts/oauth/callback"


def pub(title: str = "陈巴尔虎旗冬季防火宣传片", video: bytes = VIDEO, **kw: Any) -> Publication:
    base = dict(dispatch_id=1, title=title, content="<p>正文</p>", summary="请注意用火安全", author="旗政府办",
                source_url="", cover=photo(30), cover_mime="image/jpeg", video=video, video_mime="video/mp4",
                video_sha256=hashlib.sha256(video).hexdigest())
    base.update(kw)
    return Publication(**base)


class Checkpoints:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None]] = []
        self.resume: dict[str, Any] = {}

    def __call__(self, stage: str, draft_ref: str | None = None, platform_ref: str | None = None) -> None:
        self.calls.append((stage, draft_ref))
        self.resume["stage"] = stage
        if draft_ref is not None:
            self.resume["draft_ref"] = draft_ref


def authorise(adapter: Any) -> dict[str, str]:
    """The admin's browser on the platform's authorisation page: 同意授权, back to the hub with the code."""
    page = requests.get(adapter.authorize_url(REDIRECT, "signed-state"), timeout=5)
    assert page.status_code == 200
    href = unescape(re.search(r'id="approve" href="([^"]+)"', page.text).group(1))
    q = parse_qs(urlsplit(href).query)
    assert href.startswith(REDIRECT) and q["state"] == ["signed-state"]
    return adapter.exchange_code(q["code"][0], REDIRECT)


@pytest.fixture
def douyin() -> Iterator[str]:
    with serving(douyin_sim.make_server) as base:
        requests.post(base + "/_sim/apps", json={"appid": "dyk", "secret": "dys"}, timeout=5).raise_for_status()
        yield base


@pytest.fixture
def kuaishou() -> Iterator[str]:
    with serving(kuaishou_sim.make_server) as base:
        requests.post(base + "/_sim/apps", json={"appid": "ksk", "secret": "kss"}, timeout=5).raise_for_status()
        yield base


def state(base: str) -> dict[str, Any]:
    return requests.get(base + "/_sim/state", timeout=5).json()


def dy(base: str, creds: dict[str, str] | None = None, cp: Checkpoints | None = None) -> DouyinAdapter:
    return DouyinAdapter(base, dict(creds or {"client_key": "dyk", "client_secret": "dys"}), None, checkpoint=cp)


def test_douyin_oauth_publish_once_status_and_withdraw(douyin):
    tokens = authorise(dy(douyin))
    assert set(tokens) >= {"open_id", "access_token", "refresh_token", "access_token_expires_at",
                           "refresh_token_expires_at"}
    assert tokens["refresh_renewals_left"] == "5"
    cp = Checkpoints()
    a = dy(douyin, {"client_key": "dyk", "client_secret": "dys", **tokens}, cp)
    assert a.verify_credentials()[0]
    res = a.publish(pub())
    assert res.status == "published" and res.platform_ref and res.url
    held = state(douyin)["published"]
    assert [(p["title"], p["sha256"], p["status"]) for p in held] == [
        ("陈巴尔虎旗冬季防火宣传片\n请注意用火安全", hashlib.sha256(VIDEO).hexdigest(), "published")]
    assert [c[0] for c in cp.calls] == ["uploaded", "submitting"]
    assert a.find(pub(), since=time.time() - 60).published.platform_ref == res.platform_ref
    assert a.withdraw(res.platform_ref, None) is True
    assert a.withdraw(res.platform_ref, None) is False
    assert state(douyin)["published"][0]["status"] == "deleted"


def test_douyin_large_video_goes_up_in_parts_and_a_resume_does_not_upload_again(douyin):
    tokens = authorise(dy(douyin))
    cp = Checkpoints()
    a = dy(douyin, {"client_key": "dyk", "client_secret": "dys", **tokens}, cp)
    a.part_threshold, a.part_size = 30_000, 20_000
    requests.post(douyin + "/_sim/faults", json={"busy_rate": 1.0}, timeout=5)
    with pytest.raises(PlatformError) as exc:  # busy throughout: retried, then given back as retryable
        a.publish(pub())
    assert exc.value.retryable
    requests.post(douyin + "/_sim/faults", json={}, timeout=5)
    video_id = a._upload(VIDEO, "video/mp4")  # what a first run uploaded before it died
    assert len(state(douyin)["uploads"]) == 1
    p = pub(resume={"stage": "uploaded", "draft_ref": video_id})
    res = a.publish(p)
    assert res.status == "published"
    st = state(douyin)
    assert len(st["uploads"]) == 1 and st["uploads"][0]["sha256"] == hashlib.sha256(VIDEO).hexdigest()
    assert len(st["published"]) == 1


def test_douyin_lost_create_answer_is_found_not_resent(douyin):
    tokens = authorise(dy(douyin))
    cp = Checkpoints()
    a = dy(douyin, {"client_key": "dyk", "client_secret": "dys", **tokens}, cp)
    video_id = a._upload(VIDEO, "video/mp4")
    requests.post(douyin + "/_sim/faults", json={"drop_after_commit_rate": 1.0}, timeout=5)
    with pytest.raises(PlatformError) as exc:
        a.publish(pub(resume={"stage": "uploaded", "draft_ref": video_id}))
    assert exc.value.ambiguous
    requests.post(douyin + "/_sim/faults", json={}, timeout=5)
    found = a.find(pub(resume=cp.resume), since=time.time() - 60, draft_ref=video_id)
    assert found.published is not None
    assert len(state(douyin)["published"]) == 1
    # Nothing created yet and only an upload checkpoint: reconciliation resumes from the upload.
    other = pub(title="另一条视频", resume={"stage": "uploaded", "draft_ref": video_id})
    assert a.find(other, since=time.time() - 60, draft_ref=video_id).drafts == [video_id]
    # A create may be under way: never a resume.
    assert a.find(pub(title="另一条视频", resume={"stage": "submitting"}), since=time.time() - 60,
                  draft_ref=video_id).found_nothing


def test_douyin_expired_access_token_is_refreshed_once_and_renewals_run_out(douyin):
    tokens = authorise(dy(douyin))
    requests.post(douyin + "/_sim/expire_tokens", json={}, timeout=5).raise_for_status()
    a = dy(douyin, {"client_key": "dyk", "client_secret": "dys", **tokens})
    assert a.publish(pub()).status == "published"  # 2190008 → refreshed in memory, then created
    assert a.credentials["access_token"] != tokens["access_token"]
    refreshed = a.refresh_access()
    assert "refresh_token" not in refreshed  # the refresh token is left as it was ...
    left = a.token_state()
    assert left.refresh_expires is not None
    assert a.credentials["refresh_token_expires_at"] != tokens["refresh_token_expires_at"]  # ... with 1 day
    with pytest.raises(PlatformError) as exc:
        a.renew_refresh()
    assert exc.value.code == 10020 and "重新授权" in exc.value.message


def test_douyin_renewal_gives_a_new_refresh_token_and_counts_down(douyin):
    tokens = authorise(dy(douyin))
    a = dy(douyin, {"client_key": "dyk", "client_secret": "dys", **tokens})
    for left in range(4, -1, -1):
        new = a.renew_refresh()
        assert new["refresh_renewals_left"] == str(left)
        assert new["refresh_token"] != a.credentials["refresh_token"]
        a.credentials.update(new)
    with pytest.raises(PlatformError) as exc:
        a.renew_refresh()
    assert exc.value.code == 10020


def test_douyin_without_a_video_is_refused_before_sending(douyin):
    r = DouyinAdapter.render(pub(video=b"", video_sha256=""))
    assert any("只能发布视频" in p for p in r.problems)
    assert DouyinAdapter.render(pub()).fields == {"title": "陈巴尔虎旗冬季防火宣传片", "caption": "请注意用火安全"}


def ks(base: str, creds: dict[str, str] | None = None, cp: Checkpoints | None = None) -> KuaishouAdapter:
    return KuaishouAdapter(base, dict(creds or {"client_key": "ksk", "client_secret": "kss"}), None, checkpoint=cp)


def test_kuaishou_oauth_fragments_publish_once_lost_answer_and_withdraw(kuaishou):
    tokens = authorise(ks(kuaishou))
    assert set(tokens) >= {"open_id", "access_token", "refresh_token", "refresh_token_expires_at"}
    cp = Checkpoints()
    a = ks(kuaishou, {"client_key": "ksk", "client_secret": "kss", **tokens}, cp)
    a.part_threshold, a.part_size = 30_000, 20_000
    assert a.verify_credentials()[0]
    res = a.publish(pub())
    assert res.status == "published" and res.url
    held = state(kuaishou)["published"]
    assert [(p["title"], p["sha256"]) for p in held] == [("陈巴尔虎旗冬季防火宣传片\n请注意用火安全",
                                                         hashlib.sha256(VIDEO).hexdigest())]
    token = a._upload(VIDEO, "video/mp4")
    requests.post(kuaishou + "/_sim/faults", json={"drop_after_commit_rate": 1.0}, timeout=5)
    second = pub(title="第二条视频", resume={"stage": "uploaded", "draft_ref": token})
    with pytest.raises(PlatformError) as exc:
        a.publish(second)
    assert exc.value.ambiguous
    requests.post(kuaishou + "/_sim/faults", json={}, timeout=5)
    assert a.find(second, since=time.time() - 60, draft_ref=token).published is not None
    assert len(state(kuaishou)["published"]) == 2
    assert a.withdraw(res.platform_ref, None) is True
    assert a.withdraw(res.platform_ref, None) is False


def test_kuaishou_refresh_inherits_expiry_and_needs_reauthorisation_after(kuaishou):
    tokens = authorise(ks(kuaishou))
    requests.post(kuaishou + "/_sim/expire_tokens", json={}, timeout=5).raise_for_status()
    a = ks(kuaishou, {"client_key": "ksk", "client_secret": "kss", **tokens})
    assert a.publish(pub()).status == "published"  # refreshed once
    st = a.token_state()
    assert st.refresh_expires is not None and st.renewals_left is None
    assert KuaishouAdapter.render(pub(cover=b"")).problems == ["快手发布视频必须有封面图"]
