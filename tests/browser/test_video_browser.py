"""Playwright: an editor uploads a video in the editor (progress bar, a frame captured as the cover)
and saves the post to a 视频号 (manual-publish) account; the reviewer's page plays the exact stored
file (issue 14)."""

from __future__ import annotations

import re
from pathlib import Path

from browser_helpers import login, logout

from hub import audit
from hub.db import db

BLUE = (Path(__file__).resolve().parent.parent / "data" / "video" / "blue-2s.mp4").read_bytes()


def manual_account(unit: str) -> int:
    from hub.accounts.filing import approve_through_chain
    from hub.accounts.service import create_account

    with db.transaction() as s:
        token = audit.current_actor.set(audit.Actor.system("test"))
        try:
            acc = create_account(s, None, {"platform": "manual", "platform_name": "视频号", "name": "陈巴尔虎旗视频号",
                                           "unit": unit})
            approve_through_chain(s, acc)
            return int(acc.id)
        finally:
            audit.current_actor.reset(token)


def test_editor_uploads_a_video_and_the_reviewer_plays_it(app, world, live_server, page, tmp_path):
    api, base = world["api"], live_server
    acc_id = manual_account("cbeh")
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, base, "editor")
    page.goto(base + "/posts/new")
    page.wait_for_selector("#editor[data-ready='1']")
    page.fill("input[name=title]", "草原防火 人人有责")
    page.click("#editor .ql-editor")
    page.keyboard.type("防火宣传短视频。")
    page.uncheck(f"input[name=account_ids][value='{world['accounts'][0]}']")
    page.check(f"input[name=account_ids][value='{acc_id}']")
    video = tmp_path / "fire.mp4"
    video.write_bytes(BLUE)
    page.set_input_files("#video-file", str(video))
    page.wait_for_function("() => document.getElementById('video-progress').value === 100"
                           " && document.getElementById('video-id').value !== ''")
    page.wait_for_selector("#video-field[data-cover-ready='1']")
    assert "视频已上传" in page.inner_text("#video-status")
    video_id = int(page.input_value("#video-id"))
    page.click("#save-post")
    page.wait_for_selector(".flash-success")
    post_id = int(re.search(r"/posts/(\d+)", page.url).group(1))

    post = api["editor"].get(f"/posts/{post_id}").get_json()
    rev = post["revision"]
    assert rev["video"] == video_id and rev["video_sha256"]
    assert rev["cover"] is not None  # the captured frame
    assert api["editor"].post(f"/posts/{post_id}/submit").status_code == 200

    logout(page)
    login(page, base, "r1")
    page.goto(f"{base}/review/{post_id}")
    player = page.locator("#review-player")
    player.wait_for()
    page.wait_for_function("() => document.getElementById('review-player').readyState >= 1")
    duration = page.evaluate("() => document.getElementById('review-player').duration")
    assert abs(duration - 2.0) < 0.3
    src = player.get_attribute("src")
    assert src.endswith(".mp4") and rev["video_sha256"][:32] in src
    assert page.request.get(base + src).body() == BLUE
    assert "校验码" in page.inner_text("#review-video")
    assert errors == []
