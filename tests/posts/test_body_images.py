"""Body images are stored as media, never kept as base64 in the body (issue 13 item 2): the editor
and API clients upload them (``POST /posts/media``, ``POST /api/v1/media``), and a ``data:`` image an
API client sends in ``content`` is stored and replaced by its media URL when the post is saved."""

from __future__ import annotations

import hashlib
import io
import re
from typing import Any

from PIL import Image
from support import PASSWORD, data_url, photo

MEDIA_URL = re.compile(r'<img[^>]*src="(/media/\d+/[0-9a-f]{32}\.(?:jpg|png|gif|webp))"')


def _login(client: Any, username: str = "editor") -> str:
    """Sign in through the form; the page's CSRF token for the requests that follow."""
    def token(path: str) -> str:
        html = client.get(path).get_data(as_text=True)
        return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)

    client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token("/login")})
    return token("/posts/new")


def _create(world: dict[str, Any], **fields: Any) -> Any:
    body = {"title": "关于做好冬季供暖保障工作的通知", "account_ids": world["accounts"][:1], **fields}
    return world["api"]["editor"].post("/posts", json=body)


def test_api_client_uploads_an_image_and_puts_its_url_in_the_body(world: dict[str, Any], client: Any) -> None:
    data = photo()
    r = world["api"]["editor"].post("/media", data={"file": (io.BytesIO(data), "photo.jpg")},
                                    content_type="multipart/form-data")
    assert r.status_code == 201, r.get_json()
    m = r.get_json()
    assert m["sha256"] == hashlib.sha256(data).hexdigest() and m["mime"] == "image/jpeg"
    assert m["size"] == len(data) and m["width"] > 200 and m["height"] == m["width"]
    assert m["url"] == f"/media/{m['id']}/{m['sha256'][:32]}.jpg"
    # The same image again is the same media (one row per unit and content).
    again = world["api"]["editor"].post("/media", data={"file": (io.BytesIO(data), "again.jpg")},
                                        content_type="multipart/form-data").get_json()
    assert again["id"] == m["id"]

    post = _create(world, content=f'<p>现场照片：</p><p><img src="{m["url"]}"></p>')
    assert post.status_code == 201, post.get_json()
    assert MEDIA_URL.findall(post.get_json()["revision"]["content"]) == [m["url"]]

    # Served at that URL to signed-in users of the unit, byte for byte; not to anyone else.
    assert client.get(m["url"]).status_code in (302, 401)
    _login(client)
    got = client.get(m["url"])
    assert got.status_code == 200 and got.data == data and got.headers["Content-Type"] == "image/jpeg"
    assert client.get(f"/media/{m['id']}/{'0' * 32}.jpg").status_code == 404  # the hash must match


def test_data_images_from_an_api_client_are_stored_as_media(world: dict[str, Any], client: Any) -> None:
    data = photo()
    extra = photo(40, seed=2)
    r = _create(world, content=f'<p>现场照片：</p><p><img src="{data_url(data)}" alt="现场"></p>',
                articles=[{"title": "附件", "content": f'<p><img src="{data_url(extra)}"></p>'}])
    assert r.status_code == 201, r.get_json()
    rev = r.get_json()["revision"]
    assert "data:" not in rev["content"] and "data:" not in rev["articles"][0]["content"]
    [main_url] = MEDIA_URL.findall(rev["content"])
    [extra_url] = MEDIA_URL.findall(rev["articles"][0]["content"])
    assert main_url.split("/")[3].startswith(hashlib.sha256(data).hexdigest()[:32])
    # The WeChat body is short now: the limits hold for a 300 KB photo.
    assert len(rev["content"]) < 200
    # PATCH too; the image is the one already stored.
    pid = r.get_json()["id"]
    r = world["api"]["editor"].patch(f"/posts/{pid}", json={"content": f'<p>改：<img src="{data_url(data)}"></p>'})
    assert r.status_code == 200, r.get_json()
    assert MEDIA_URL.findall(r.get_json()["revision"]["content"]) == [main_url]
    _login(client)
    assert client.get(main_url).data == data and client.get(extra_url).data == extra


def test_a_broken_data_image_is_refused_and_nothing_is_saved(world: dict[str, Any]) -> None:
    before = world["api"]["editor"].get("/posts").get_json()["posts"]
    good = data_url(photo(20))
    r = _create(world, content=f'<p><img src="{good}"><img src="data:image/png;base64,iVBORw0KGgoAAAA"></p>')
    assert r.status_code == 422
    err = r.get_json()["error"]
    assert err["code"] == "invalid_image" and err["field"] == "content" and err["position"] == 2
    assert "正文第 2 张图片" in err["message"]
    r = _create(world, content="<p>正文</p>",
                articles=[{"title": "附件", "content": '<p><img src="data:image/jpeg;base64,bm90IGFuIGltYWdl"></p>'}])
    assert r.status_code == 422
    err = r.get_json()["error"]
    assert (err["code"], err["field"], err["position"]) == ("invalid_image", "articles.0.content", 1)
    assert "第 2 篇文章第 1 张图片" in err["message"]
    assert world["api"]["editor"].get("/posts").get_json()["posts"] == before


def test_media_of_another_unit_cannot_be_put_in_a_body(world: dict[str, Any]) -> None:
    theirs = world["api"]["outsider"].post("/media", data={"file": (io.BytesIO(photo(20)), "x.jpg")},
                                           content_type="multipart/form-data").get_json()
    r = _create(world, content=f'<p><img src="{theirs["url"]}"></p>')
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "invalid_image"


def test_uploads_that_are_too_large_or_not_images_get_a_chinese_error(world: dict[str, Any], client: Any) -> None:
    api = world["api"]["editor"]
    big = b"\xff\xd8\xff" + b"\0" * (12 * 1024 * 1024)
    r = api.post("/media", data={"file": (io.BytesIO(big), "phone.jpg")}, content_type="multipart/form-data")
    assert r.status_code == 413
    assert r.get_json()["error"]["code"] == "image_too_large" and "不得超过 10 MB" in r.get_json()["error"]["message"]
    r = api.post("/media", data={"file": (io.BytesIO(b"%PDF-1.4 not an image"), "a.pdf")},
                 content_type="multipart/form-data")
    assert r.status_code == 422 and "不是可识别的图片" in r.get_json()["error"]["message"]
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "BMP")
    r = api.post("/media", data={"file": (io.BytesIO(buf.getvalue()), "a.bmp")}, content_type="multipart/form-data")
    assert r.status_code == 422 and "JPG、PNG、GIF、WebP" in r.get_json()["error"]["message"]
    assert world["api"]["r1"].post("/media", data={"file": (io.BytesIO(photo(5)), "a.jpg")},
                                   content_type="multipart/form-data").status_code == 403

    # The editor's endpoint: the same Chinese JSON, CSRF-protected.
    token = _login(client)
    r = client.post("/posts/media", data={"file": (io.BytesIO(big), "phone.jpg")},
                    headers={"X-CSRFToken": token, "Accept": "application/json"})
    assert r.status_code == 413 and "不得超过 10 MB" in r.get_json()["error"]["message"]
    r = client.post("/posts/media", data={"file": (io.BytesIO(photo(5)), "a.jpg")},
                    headers={"Accept": "application/json"})
    assert r.status_code == 400  # no CSRF token
    r = client.post("/posts/media", data={"file": (io.BytesIO(photo(5)), "a.jpg")},
                    headers={"X-CSRFToken": token, "Accept": "application/json"})
    assert r.status_code == 201 and r.get_json()["url"].startswith("/media/")
    # The upload endpoint takes a video up to HUB_MAX_VIDEO_MB, so a 17 MB file that is no video meets the
    # image limit; other forms keep the request limit (16 MB): still a Chinese message, as a page.
    huge = b"\0" * (17 * 1024 * 1024)
    r = client.post("/posts/media", data={"file": (io.BytesIO(huge), "huge.jpg")},
                    headers={"X-CSRFToken": token, "Accept": "application/json"})
    assert r.status_code == 413 and "不得超过 10 MB" in r.get_json()["error"]["message"]
    r = client.post("/posts/new", data={"content": "x", "file": (io.BytesIO(huge), "huge.jpg")},
                    headers={"X-CSRFToken": token})
    assert r.status_code == 413 and "上传的内容过大" in r.get_data(as_text=True)


def test_an_editor_form_with_an_inline_photo_saves(world: dict[str, Any], client: Any) -> None:
    """A 1.7 MB phone photo inlined in the form's HTML (an old draft, a browser without the upload)
    no longer gives 413: the post saves and its body holds the media URL."""
    token = _login(client)
    data = photo(1700)
    r = client.post("/posts/new", data={
        "csrf_token": token, "title": "现场照片", "content": f'<p><img src="{data_url(data)}"></p>',
        "account_ids": str(world["accounts"][0])})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    pid = int(r.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    content = world["api"]["editor"].get(f"/posts/{pid}").get_json()["revision"]["content"]
    assert "data:" not in content and len(MEDIA_URL.findall(content)) == 1
