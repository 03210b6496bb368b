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
