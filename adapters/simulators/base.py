"""Shared plumbing for the platform simulators.

A simulator is split in two halves:

* a transport-independent *core* that turns a :class:`SimRequest` into a
  :class:`SimResponse` (state lives there, guarded by one lock), and
* a thin HTTP layer (:class:`SimHTTPServer` + :class:`SimRequestHandler`)
  built on the standard library ``http.server`` that feeds requests to the core.

This module also holds the fault-injection settings shared by every simulator
(``busy_rate``, ``drop_after_commit_rate``, ``latency_ms``, ``quota_exhausted``),
a small ``multipart/form-data`` parser (the ``cgi`` module is gone from newer
Pythons) and the blocking :func:`serve_until_stopped` loop used by ``serve()``.
"""

from __future__ import annotations

import json
import random
import signal
import socket
import socketserver
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"
HTML_CONTENT_TYPE = "text/html; charset=utf-8"

#: Largest request body the simulators accept (the real limits are lower).
MAX_BODY_BYTES = 32 * 1024 * 1024


# --------------------------------------------------------------------------- requests / responses


@dataclass
class UploadedFile:
    """One part of a ``multipart/form-data`` body."""

    name: str
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class SimRequest:
    """An HTTP request as seen by a simulator core."""

    method: str
    path: str
    query: dict[str, str]
    headers: Mapping[str, str]
    body: bytes = b""
    #: The client's IP address as the server saw it ("" when the core is called directly).
    remote_addr: str = ""

    @property
    def host(self) -> str:
        """The ``Host`` header the client used (``host:port``), or ``""``."""
        return self.headers.get("Host", "") or ""

    def json(self) -> Any:
        """Decode the body as JSON; raises ``ValueError`` when it is not JSON."""
        if not self.body.strip():
            return {}
        return json.loads(self.body.decode("utf-8"))

    def files(self) -> dict[str, UploadedFile]:
        """Decode a ``multipart/form-data`` body (empty dict for anything else)."""
        return parse_multipart(self.headers.get("Content-Type", ""), self.body)


@dataclass
class SimResponse:
    """What a simulator core answers; ``drop`` means: close without answering."""

    status: int = 200
    body: bytes = b""
    content_type: str = JSON_CONTENT_TYPE
    drop: bool = False
    headers: dict[str, str] = field(default_factory=dict)


def json_response(payload: Any, status: int = 200) -> SimResponse:
    """Build a JSON response; non-ASCII text is sent unescaped, like the real platforms."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return SimResponse(status=status, body=body, content_type=JSON_CONTENT_TYPE)


def text_response(text: str, status: int = 200, content_type: str = TEXT_CONTENT_TYPE) -> SimResponse:
    """Build a plain-text (or HTML, via ``content_type``) response."""
    return SimResponse(status=status, body=text.encode("utf-8"), content_type=content_type)


def parse_query(raw: str) -> dict[str, str]:
    """Parse a query string keeping blank values; the last value of a repeated key wins."""
    parsed = parse_qs(raw, keep_blank_values=True)
    return {key: values[-1] for key, values in parsed.items()}


def parse_multipart(content_type: str, body: bytes) -> dict[str, UploadedFile]:
    """Parse a ``multipart/form-data`` body into ``{field name: UploadedFile}``.

    Returns an empty dict when the content type is not multipart or the body
    cannot be parsed.
    """
    if not content_type.lower().startswith("multipart/form-data"):
        return {}
    header = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
    try:
        message = BytesParser(policy=HTTP).parsebytes(header + body)
    except Exception:  # noqa: BLE001 - malformed bodies are the client's problem
        return {}
    if not message.is_multipart():
        return {}
    result: dict[str, UploadedFile] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        filename = part.get_filename()
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        result[name] = UploadedFile(
            name=name,
            filename=filename,
            content_type=part.get_content_type() if part.get("Content-Type") else None,
            data=data,
        )
    return result


# --------------------------------------------------------------------------- faults


@dataclass
class Faults:
    """Fault-injection settings shared by all simulators.

    ``busy_rate`` and ``drop_after_commit_rate`` are probabilities in [0, 1];
    the random generator can be seeded for reproducible runs.
    """

    busy_rate: float = 0.0
    drop_after_commit_rate: float = 0.0
    latency_ms: int = 0
    quota_exhausted: bool = False
    seed: int | None = None
    rng: random.Random = field(default_factory=random.Random, repr=False)

    FIELDS = ("busy_rate", "drop_after_commit_rate", "latency_ms", "quota_exhausted", "seed")

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Faults:
        """Build settings from a ``/_sim/faults`` body; missing keys take defaults.

        Raises ``ValueError`` on unknown keys or out-of-range values.
        """
        unknown = set(payload) - set(cls.FIELDS)
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")

        def rate(key: str) -> float:
            value = payload.get(key, 0) or 0
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise ValueError(f"{key} must be a number between 0 and 1")
            return float(value)

        latency = payload.get("latency_ms", 0) or 0
        if isinstance(latency, bool) or not isinstance(latency, int | float) or latency < 0:
            raise ValueError("latency_ms must be a non-negative number")
        quota = payload.get("quota_exhausted", False)
        if not isinstance(quota, bool):
            raise ValueError("quota_exhausted must be true or false")
        seed = payload.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError("seed must be an integer")
        return cls(
            busy_rate=rate("busy_rate"),
            drop_after_commit_rate=rate("drop_after_commit_rate"),
            latency_ms=int(latency),
            quota_exhausted=quota,
            seed=seed,
            rng=random.Random(seed),
        )

    def to_dict(self) -> dict[str, Any]:
        """The settings as a JSON-able dict (what ``GET /_sim/faults`` shows)."""
        return {
            "busy_rate": self.busy_rate,
            "drop_after_commit_rate": self.drop_after_commit_rate,
            "latency_ms": self.latency_ms,
            "quota_exhausted": self.quota_exhausted,
            "seed": self.seed,
        }

    def roll_busy(self) -> bool:
        """Decide whether this call answers "system busy" (draws only when the rate is set)."""
        return self.busy_rate > 0 and self.rng.random() < self.busy_rate

    def roll_drop(self) -> bool:
        """Decide whether this call's answer is dropped (draws only when the rate is set)."""
        return self.drop_after_commit_rate > 0 and self.rng.random() < self.drop_after_commit_rate


# --------------------------------------------------------------------------- HTTP layer


class SimulatorCore(Protocol):
    """What the HTTP layer needs from a simulator."""

    def handle(self, request: SimRequest) -> SimResponse:
        """Answer one request."""
        ...


class SimHTTPServer(ThreadingHTTPServer):
    """Threading HTTP server bound to one simulator core; IPv4 or IPv6 by host.

    ``server.simulator`` is the core (and its state).
    """

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        simulator: Any,
    ) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.simulator = simulator
        super().__init__(address, handler)

    def server_bind(self) -> None:
        """Bind without ``getfqdn`` (a reverse DNS lookup can hang on a closed network)."""
        if self.address_family == socket.AF_INET6 and hasattr(socket, "IPV6_V6ONLY"):
            # "::" also accepts IPv4 clients, like `hub serve --host ::`.
            try:
                self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            except OSError:
                pass
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the bound socket (IPv6 hosts in brackets)."""
        host, port = self.server_address[:2]
        return format_base_url(str(host), int(port))


class SimRequestHandler(BaseHTTPRequestHandler):
    """Feeds every HTTP request to ``server.simulator.handle`` and writes the answer."""

    protocol_version = "HTTP/1.1"
    server_version = "SimServer/1.0"
    sys_version = ""
    #: Set to True (e.g. by a test) to log every request to stderr.
    verbose = False

    def version_string(self) -> str:
        """The ``Server`` header."""
        return self.server_version

    def setup(self) -> None:
        """Disable Nagle: answers go out in one write and must not wait for delayed ACKs."""
        super().setup()
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        """Handle GET."""
        self._dispatch()

    def do_POST(self) -> None:  # noqa: N802
        """Handle POST."""
        self._dispatch()

    def do_PUT(self) -> None:  # noqa: N802
        """Handle PUT."""
        self._dispatch()

    def do_DELETE(self) -> None:  # noqa: N802
        """Handle DELETE."""
        self._dispatch()

    def do_HEAD(self) -> None:  # noqa: N802
        """Handle HEAD."""
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature from stdlib
        """Quiet unless ``verbose`` is set."""
        if self.verbose:
            super().log_message(format, *args)

    def _read_body(self) -> bytes | None:
        """Read the request body (Content-Length or chunked); None when too large."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    # Skip trailers up to the blank line.
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_BODY_BYTES:
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self) -> None:
        try:
            body = self._read_body()
        except ValueError:
            self._write(text_response("bad request body\n", status=400))
            self.close_connection = True
            return
        if body is None:
            self._write(text_response("request body too large\n", status=413))
            self.close_connection = True
            return
        parts = urlsplit(self.path)
        request = SimRequest(
            method=self.command.upper(),
            path=parts.path,
            query=parse_query(parts.query),
            headers={key: value for key, value in self.headers.items()},
            body=body,
            remote_addr=str(self.client_address[0]) if self.client_address else "",
        )
        simulator: SimulatorCore = self.server.simulator  # type: ignore[attr-defined]
        try:
            response = simulator.handle(request)
        except Exception as exc:  # noqa: BLE001 - never kill the handler thread silently
            self.log_error("simulator error: %r", exc)
            response = text_response("internal simulator error\n", status=500)
        if response.drop:
            self._drop()
            return
        self._write(response)

    def _write(self, response: SimResponse) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for key, value in response.headers.items():
            self.send_header(key, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def _drop(self) -> None:
        """Close the connection without sending a single byte of response."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def format_base_url(host: str, port: int) -> str:
    """``http://host:port``, with IPv6 literals in brackets."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def make_sim_server(
    host: str,
    port: int,
    simulator: Any,
    handler: type[BaseHTTPRequestHandler] = SimRequestHandler,
) -> SimHTTPServer:
    """Create (but do not start) a server for ``simulator``; port 0 picks a free port."""
    return SimHTTPServer((host, port), handler, simulator)


def start_in_thread(server: ThreadingHTTPServer) -> threading.Thread:
    """Run ``server.serve_forever`` in a daemon thread (stop with ``server.shutdown()``)."""
    thread = threading.Thread(target=server.serve_forever, name="simulator", daemon=True)
    thread.start()
    return thread


def serve_until_stopped(
    server: SimHTTPServer,
    label: str,
    announce: Callable[[str], None] | None = None,
) -> None:
    """Serve ``server`` in the calling thread until Ctrl-C or SIGTERM, then close it.

    Prints ``"<label> on http://HOST:PORT"`` first (to stdout, flushed).
    """
    message = f"{label} on {server.base_url}"
    if announce is None:
        print(message, flush=True)
    else:
        announce(message)

    previous: Any = None
    in_main = threading.current_thread() is threading.main_thread()
    if in_main:

        def _on_sigterm(signum: int, frame: Any) -> None:
            raise KeyboardInterrupt

        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if in_main and previous is not None:
            signal.signal(signal.SIGTERM, previous)
        sys.stdout.flush()


def control_request(sim: Any, request: SimRequest) -> SimResponse | dict[str, Any]:
    """The control surface every simulator shares (never subject to faults).

    Answers GET /_sim/state and /_sim/faults, POST /_sim/faults and /_sim/reset, and refuses what is not a
    POST with a JSON object body; otherwise returns that body for the simulator's own control paths.
    ``sim`` has ``lock``, ``faults``, ``state()`` and is a dataclass whose ``__post_init__`` resets its state.
    """
    path = request.path
    if path == "/_sim/state" and request.method == "GET":
        return json_response(sim.state())
    if path == "/_sim/faults" and request.method == "GET":
        with sim.lock:
            return json_response(sim.faults.to_dict())
    if request.method != "POST":
        return json_response({"error": "not found"}, 404)
    try:
        body = request.json()
    except ValueError:
        return json_response({"error": "body must be JSON"}, 400)
    if not isinstance(body, dict):
        return json_response({"error": "body must be a JSON object"}, 400)
    if path == "/_sim/faults":
        try:
            faults = Faults.from_payload(body)
        except ValueError as exc:
            return json_response({"error": str(exc)}, 400)
        with sim.lock:
            sim.faults = faults
        return json_response({"ok": True, "faults": faults.to_dict()})
    if path == "/_sim/reset":
        with sim.lock:
            sim.faults = Faults()
            sim.__post_init__()
        return json_response({"ok": True})
    return body

