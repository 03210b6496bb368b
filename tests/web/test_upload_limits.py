"""Size limits hold before the body is read: a request announcing more than the limit gets 413 with a
Chinese message at once, whatever it would have sent."""

from __future__ import annotations

import io
import re

from test_web_security import login

HUGE = str(200 * 1024 * 1024)
#: Over the video upload limit too (HUB_MAX_VIDEO_MB, default 512): the media endpoints take videos.
HUGER = str(2048 * 1024 * 1024)


class Exploding(io.BytesIO):
    """A body that fails the test if anything reads it."""

    def read(self, *a):  # pragma: no cover - reaching it is the failure
        raise AssertionError("the body was read although its announced length is over the limit")

    readline = readinto = read1 = read


def test_announced_oversize_bodies_are_refused_unread(world, client):
    login(client, "editor")
    html = client.get("/posts/new").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    for path, ctype, accept in (("/posts/media", "multipart/form-data; boundary=x", "application/json"),
                                ("/posts/new", "multipart/form-data; boundary=x", "text/html"),
                                ("/posts/platform-preview", "application/json", "application/json")):
        r = client.post(path, input_stream=Exploding(), content_type=ctype,
                        environ_overrides={"CONTENT_LENGTH": HUGER if path == "/posts/media" else HUGE},
                        headers={"X-CSRFToken": csrf, "Accept": accept})
        assert r.status_code == 413, (path, r.status_code, r.get_data(as_text=True)[-600:])
        text = r.get_json()["error"]["message"] if r.is_json else r.get_data(as_text=True)
        assert re.search(r"不得超过 \d+ MB", text) or "上传的内容过大" in text, (path, text[:300])


def test_api_refuses_an_announced_oversize_body_unread(world):
    api = world["api"]["editor"]
    for path, ctype in (("/media", "multipart/form-data; boundary=x"), ("/posts", "application/json")):
        r = api.post(path, input_stream=Exploding(), content_type=ctype,
                     environ_overrides={"CONTENT_LENGTH": HUGER if path == "/media" else HUGE})
        assert r.status_code == 413, (path, r.status_code, r.get_data(as_text=True)[:200])
        body = r.get_json()
        assert body["error"]["code"] == "too_large" and "MB" in body["error"]["message"], body
