"""Helpers for the review tests (chains, approvals, scheduling, withdraw, pause)."""

from __future__ import annotations

from typing import Any

from support import ALL_CONFIRMATIONS

TITLE = "关于做好2026年春季森林草原防火工作的通知"
CONTENT = "<p>各苏木镇人民政府、旗直各部门：</p><p>请切实做好春季防火工作。</p>"


def create(api: Any, accounts: list[int], **kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"title": TITLE, "content": CONTENT, "summary": "春季防火", "author": "旗政府办",
                            "account_ids": accounts[:1]}
    body.update(kw)
    r = api.post("/posts", json=body)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def approve(api: Any, post_id: int, revision_hash: str, **kw: Any) -> Any:
    return api.post(f"/posts/{post_id}/approve", json={"revision_hash": revision_hash, "checks": ALL_CONFIRMATIONS, **kw})


def submit(api: Any, post_id: int) -> dict[str, Any]:
    r = api.post(f"/posts/{post_id}/submit")
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def through(apis: dict[str, Any], post: dict[str, Any], reviewers: list[str]) -> dict[str, Any]:
    """Submit ``post`` (by the editor) and approve it by ``reviewers`` in turn; returns the final post."""
    submit(apis["editor"], post["id"])
    body: dict[str, Any] = {}
    for name in reviewers:
        r = approve(apis[name], post["id"], post["revision"]["hash"])
        assert r.status_code == 200, (name, r.get_json())
        body = r.get_json()
    return body


def err(r: Any) -> tuple[int, str]:
    """(status, error code) of an API response."""
    data = r.get_json() or {}
    return r.status_code, (data.get("error") or {}).get("code", "")
