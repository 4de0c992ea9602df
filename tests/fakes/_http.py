"""A tiny threaded HTTP server base for loopback fakes of outside APIs.

Each fake starts a real ``ThreadingHTTPServer`` on ``127.0.0.1`` with an ephemeral
port in a daemon thread, records every request it receives, and can be told to
fail the next calls. Subclasses implement :meth:`FakeHTTPServer.handle`.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional, Tuple
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    """One request as the fake received it."""

    method: str
    path: str
    headers: Dict[str, str]
    body: bytes
    params: Dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    status: int = 0
    response: Any = None

    def header(self, name: str) -> Optional[str]:
        """A request header, case-insensitive."""
        return self.headers.get(name.lower())


@dataclass
class Failure:
    """A queued failure: the next matching call answers with this instead of success.

    ``status=0`` answers normally (with ``hold`` / ``drop``); ``hold`` makes the server wait
    for the event before answering (the request is recorded at once); ``drop`` closes the
    connection after reading the request, without an answer.
    """

    status: int
    body: Any
    headers: Dict[str, str] = field(default_factory=dict)
    match: Optional[Callable[[Recorded], bool]] = None
    hold: Optional[threading.Event] = None
    drop: bool = False


Response = Tuple[int, Any, Dict[str, str]]


class FakeHTTPServer:
    """Base class: real HTTP server on 127.0.0.1:0 in a background thread."""

    def __init__(self) -> None:
        self.requests: List[Recorded] = []
        self.delay: float = 0.0
        self._failures: List[Failure] = []
        self._lock = threading.RLock()
        self._server: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> "FakeHTTPServer":
        """Start serving; returns self."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: Any) -> None:  # keep test output quiet
                return

            def do_GET(self) -> None:  # noqa: N802 - http.server API
                fake._serve(self)

            def do_POST(self) -> None:  # noqa: N802 - http.server API
                fake._serve(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name=type(self).__name__, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "FakeHTTPServer":
        return self.start()

    def __exit__(self, *_exc: Any) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The ephemeral port."""
        assert self._server is not None, "fake not started"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    # -- failure injection -------------------------------------------------------------------
    def queue_failure(self, failure: Failure, count: int = 1) -> None:
        """Answer the next ``count`` matching calls with ``failure``."""
        with self._lock:
            self._failures.extend([failure] * count)

    def drop_next(self, count: int = 1, match: Optional[Callable[[Recorded], bool]] = None) -> None:
        """Read and record the next ``count`` matching requests, then close the connection unanswered."""
        self.queue_failure(Failure(0, None, match=match, drop=True), count)

    def hold_next(self, count: int = 1, match: Optional[Callable[[Recorded], bool]] = None, *,
                  drop: bool = False) -> threading.Event:
        """Hold the next ``count`` matching requests until the returned event is set (then answer, or drop)."""
        release = threading.Event()
        self.queue_failure(Failure(0, None, match=match, hold=release, drop=drop), count)
        return release

    def clear_failures(self) -> None:
        """Forget queued failures."""
        with self._lock:
            self._failures.clear()

    def _take_failure(self, rec: Recorded) -> Optional[Failure]:
        with self._lock:
            for index, failure in enumerate(self._failures):
                if failure.match is None or failure.match(rec):
                    return self._failures.pop(index)
        return None

    # -- inspection --------------------------------------------------------------------------
    def calls(self, predicate: Optional[Callable[[Recorded], bool]] = None) -> List[Recorded]:
        """Recorded requests (optionally filtered), oldest first."""
        with self._lock:
            items = list(self.requests)
        return [r for r in items if predicate is None or predicate(r)]

    def reset(self) -> None:
        """Forget recorded requests and queued failures."""
        with self._lock:
            self.requests.clear()
            self._failures.clear()

    def wait_for(self, predicate: Callable[[Recorded], bool], count: int = 1, timeout: float = 10.0) -> List[Recorded]:
        """Block until ``count`` matching requests were recorded; returns them."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.calls(predicate)
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.01)

    async def await_for(
        self, predicate: Callable[[Recorded], bool], count: int = 1, timeout: float = 10.0
    ) -> List[Recorded]:
        """Async version of :meth:`wait_for` (does not block the event loop)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.calls(predicate)
            if len(found) >= count or time.monotonic() > deadline:
                return found
            await asyncio.sleep(0.01)

    # -- plumbing ----------------------------------------------------------------------------
    def handle(self, rec: Recorded) -> Response:  # pragma: no cover - abstract
        """Produce (status, json-able body, extra headers) for a request."""
        raise NotImplementedError

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        split = urlsplit(handler.path)
        headers = {k.lower(): v for k, v in handler.headers.items()}
        rec = Recorded(handler.command, split.path, headers, body, _parse_params(headers, body, split.query))
        failure = self._take_failure(rec)
        if failure is not None and (failure.hold is not None or failure.drop):
            with self._lock:
                self.requests.append(rec)  # visible while held
            if failure.hold is not None:
                failure.hold.wait(30)
            if failure.drop:
                handler.close_connection = True
                try:
                    handler.connection.shutdown(socket.SHUT_RDWR)
                except OSError:  # the client is gone already
                    pass
                return
        if failure is not None and failure.status:
            status, payload, extra = failure.status, failure.body, failure.headers
        else:
            try:
                status, payload, extra = self.handle(rec)
            except Exception as exc:  # a fake must answer, not die
                status, payload, extra = 500, {"error": repr(exc)}, {}
        rec.status, rec.response = status, payload
        if failure is None or failure.hold is None:
            with self._lock:
                self.requests.append(rec)
        if self.delay:
            time.sleep(self.delay)
        raw = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json" if not isinstance(payload, bytes) else "text/html")
            handler.send_header("Content-Length", str(len(raw)))
            for key, value in extra.items():
                handler.send_header(key, value)
            handler.end_headers()
            handler.wfile.write(raw)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (e.g. a read timeout while held)
            handler.close_connection = True


def _parse_params(headers: Dict[str, str], body: bytes, query: str) -> Dict[str, Any]:
    params: Dict[str, Any] = {k: v[-1] for k, v in parse_qs(query).items()}
    ctype = headers.get("content-type", "")
    if not body:
        return params
    if "json" in ctype:
        try:
            loaded = json.loads(body)
        except ValueError:
            return params
        if isinstance(loaded, dict):
            params.update(loaded)
        return params
    if "x-www-form-urlencoded" in ctype:
        for key, values in parse_qs(body.decode(), keep_blank_values=True).items():
            value: Any = values[-1]
            if value[:1] in ("{", "["):
                try:
                    value = json.loads(value)
                except ValueError:
                    pass
            params[key] = value
    return params
