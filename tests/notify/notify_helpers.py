"""Loopback receivers for the notification tests: webhook servers that record what they get and can
answer 500, and a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    """A tiny threaded HTTP server that records each POST (path, query, JSON body) and answers with the
    next status of ``fail_with`` (then 200 and ``{"errcode": 0, "errmsg": "ok"}``)."""

    def __init__(self, fail_with: list[int] | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self.fail_with = list(fail_with or [])
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                parts = urllib.parse.urlsplit(self.path)
                with outer.lock:
                    status = outer.fail_with.pop(0) if outer.fail_with else 200
                    outer.requests.append({"path": parts.path, "query": urllib.parse.parse_qs(parts.query),
                                           "raw_query": parts.query, "body": json.loads(raw or b"null"),
                                           "content_type": self.headers.get("Content-Type", ""),
                                           "status": status})
                answer = json.dumps({"errcode": 0, "errmsg": "ok"} if status == 200 else
                                    {"errcode": -1, "errmsg": "system busy"}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def ok(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.requests if r["status"] == 200]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Mailbox:
    """A real SMTP server on loopback (aiosmtpd) that keeps every message it accepts."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[dict[str, Any]] = []
        outer = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                from email import message_from_bytes, policy

                msg = message_from_bytes(envelope.content, policy=policy.default)
                outer.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                                       "subject": str(msg["Subject"]),
                                       "body": msg.get_body(("plain",)).get_content()})  # type: ignore[union-attr]
                return "250 OK"

        import socket

        with socket.socket() as probe:  # a free port (aiosmtpd's readiness check cannot use port 0)
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def close(self) -> None:
        self.controller.stop()


class WeComApi:
    """The two 企业微信 server API calls an application message needs, as documented:
    ``GET /cgi-bin/gettoken?corpid&corpsecret`` and ``POST /cgi-bin/message/send?access_token``.
    ``expire_first`` answers 42001 (access_token expired) to the first send."""

    def __init__(self, corpid: str, secret: str, expire_first: bool = False) -> None:
        self.token_calls: list[dict[str, list[str]]] = []
        self.sends: list[dict[str, Any]] = []
        self.expire_first = expire_first
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, body: dict[str, Any]) -> None:
                raw = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:  # noqa: N802
                parts = urllib.parse.urlsplit(self.path)
                q = urllib.parse.parse_qs(parts.query)
                if parts.path != "/cgi-bin/gettoken":
                    return self._answer({"errcode": 404, "errmsg": "not found"})
                with outer.lock:
                    outer.token_calls.append(q)
                    n = len(outer.token_calls)
                if q.get("corpid") != [corpid] or q.get("corpsecret") != [secret]:
                    return self._answer({"errcode": 40001, "errmsg": "invalid credential"})
                self._answer({"errcode": 0, "errmsg": "ok", "access_token": f"tok-{n}", "expires_in": 7200})

            def do_POST(self) -> None:  # noqa: N802
                parts = urllib.parse.urlsplit(self.path)
                q = urllib.parse.parse_qs(parts.query)
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"null")
                if parts.path != "/cgi-bin/message/send":
                    return self._answer({"errcode": 404, "errmsg": "not found"})
                token = (q.get("access_token") or [""])[0]
                with outer.lock:
                    issued = {f"tok-{i + 1}" for i in range(len(outer.token_calls))}
                    if token not in issued:
                        code = 40014
                    elif outer.expire_first and token == "tok-1":
                        code = 42001
                    else:
                        code = 0
                    outer.sends.append({"token": token, "body": body, "errcode": code})
                self._answer({"errcode": code, "errmsg": "ok" if code == 0 else "access_token expired",
                              "invaliduser": "", "msgid": "m1" if code == 0 else ""})

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def accepted(self) -> list[dict[str, Any]]:
        with self.lock:
            return [s for s in self.sends if s["errcode"] == 0]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
