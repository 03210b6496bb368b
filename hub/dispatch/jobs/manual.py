"""After an editor records a manual publication's URL, the hub fetches that URL and records what
it found (HTTP status and page title) on the dispatch, audited.

As the daily re-scan's link check (hub/checks/jobs.py): short timeouts (``HUB_LINK_TIMEOUT``),
redirects followed by hand (at most five), nothing beyond the first 256 KB read. Every hop's host is
resolved first and refused when any of its addresses is private, link-local or otherwise not public
(loopback is allowed: the simulators and tests run there), so a recorded URL never makes the hub
reach into the unit's intranet.
"""

from __future__ import annotations

import html
import ipaddress
import logging
import re
import socket
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from hub import audit
from hub.config import get_settings
from hub.db import db
from hub.models import Dispatch, utcnow
from hub.runtime import get_app
from hub.times import iso

log = logging.getLogger(__name__)
MAX_REDIRECTS = 5
MAX_READ = 256 * 1024
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def _host_allowed(host: str) -> bool:
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    for info in infos:
        addr = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not (addr.is_global or addr.is_loopback):
            return False
    return bool(infos)


def fetch(url: str, timeout: float) -> dict[str, Any]:
    """{status, title, final_url, error} of ``url`` (never raises)."""
    current = url
    with requests.Session() as http:
        http.headers["User-Agent"] = "zhengwu-hub-manual-check/1.0"
        for _hop in range(MAX_REDIRECTS + 1):
            parts = urlsplit(current)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                return {"status": None, "title": "", "final_url": current, "error": "链接不是 http(s) 地址"}
            if not _host_allowed(parts.hostname):
                return {"status": None, "title": "", "final_url": current,
                        "error": "链接指向内网或无法解析的地址，系统未访问"}
            try:
                resp = http.get(current, allow_redirects=False, timeout=timeout, stream=True)
                body = resp.raw.read(MAX_READ, decode_content=True) if resp.status_code < 300 else b""
                resp.close()
            except requests.Timeout:
                return {"status": None, "title": "", "final_url": current, "error": f"访问超时（{timeout:g} 秒）"}
            except requests.RequestException as exc:
                return {"status": None, "title": "", "final_url": current, "error": f"无法访问（{type(exc).__name__}）"}
            if 300 <= resp.status_code < 400 and resp.headers.get("Location"):
                current = urljoin(current, resp.headers["Location"])
                continue
            m = _TITLE.search(body or b"")
            title = ""
            if m:
                raw = m.group(1)[:2000]
                title = html.unescape(raw.decode(resp.encoding or "utf-8", errors="replace")).strip()[:200]
            return {"status": resp.status_code, "title": title, "final_url": current,
                    "error": "" if resp.status_code < 400 else f"HTTP {resp.status_code}"}
    return {"status": None, "title": "", "final_url": current, "error": "重定向次数过多"}


def check_manual_url(dispatch_id: int) -> str:
    """RQ job: fetch the recorded URL of a manual publication and record what was found."""
    app = get_app()
    with app.app_context():
        token = audit.current_actor.set(audit.Actor.system("worker"))
        try:
            with db.transaction() as s:
                d = s.get(Dispatch, dispatch_id)
                if d is None or not d.url:
                    return "missing"
                url = d.url
            found = fetch(url, get_settings(app.config).link_timeout)
            with db.transaction() as s:
                d = s.get(Dispatch, dispatch_id)
                if d is None or d.url != url:
                    return "changed"
                d.manual_check = {**found, "at": iso(utcnow())}
                summary = (f"已访问人工发布的链接：HTTP {found['status']}" + (f"，标题「{found['title']}」" if found["title"] else "")
                           if found["status"] else f"人工发布的链接未能访问：{found['error']}")
                audit.record(s, "dispatch.manual_check", object_type="dispatch", object_id=d.id, unit=d.post.unit,
                             summary=summary, details={"post_id": d.post_id, "url": url, "status": found["status"],
                                                       "title": found["title"], "error": found["error"]})
            return "checked" if found["status"] else "unreachable"
        finally:
            audit.current_actor.reset(token)
            db.session.remove()
