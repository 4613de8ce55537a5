"""A threaded HTTP server on 127.0.0.1:<free port> with scripted faults and a request log."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    target: str = ""              # path with query, as requested


@dataclass
class Response:
    status: int = 200
    body: Any = None               # dict/list -> JSON; str/bytes -> sent as is
    headers: dict[str, str] = field(default_factory=dict)


class App(Protocol):
    def handle(self, request: Request, base_url: str) -> Response: ...


@dataclass
class Fault:
    path_contains: str
    response: Response
    times: int = 1
    delay: float = 0.0             # seconds to stall before answering (a timeout)


class ReplayServer:
    """Serve an App; `fail(...)` scripts the next matching requests to fail first."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.faults: list[Fault] = []
        self.log: list[tuple[str, str, int]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                request = Request("GET", parts.path, query,
                                  {k.lower(): v for k, v in self.headers.items()}, self.path)
                response, delay = server._pick(request)
                if delay:
                    threading.Event().wait(delay)
                body = response.body
                if isinstance(body, (dict, list)):
                    data = json.dumps(body).encode()
                elif isinstance(body, str):
                    data = body.encode()
                else:
                    data = body or b""
                try:
                    self.send_response(response.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in response.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (timeout test)
                with server._lock:
                    server.log.append(("GET", self.path, response.status))

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def _pick(self, request: Request) -> tuple[Response, float]:
        with self._lock:
            for fault in self.faults:
                if fault.times > 0 and fault.path_contains in request.target:
                    fault.times -= 1
                    return fault.response, fault.delay
        return self.app.handle(request, self.url), 0.0

    def fail(self, path_contains: str, status: int = 500, body: Any = None,
             headers: dict[str, str] | None = None, times: int = 1, delay: float = 0.0) -> None:
        """The next `times` requests whose path or query contains `path_contains` get this answer."""
        default = {"error": "scripted failure"} if body is None else body
        self.faults.append(Fault(path_contains, Response(status, default, headers or {}), times, delay))

    def requests_to(self, path_contains: str) -> list[tuple[str, str, int]]:
        with self._lock:
            return [r for r in self.log if path_contains in r[1]]

    def __enter__(self) -> ReplayServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
