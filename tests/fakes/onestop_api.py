"""Loopback fake of the province's one-stop REST API (what ``HttpDossierSource`` talks to).

A real ``ThreadingHTTPServer`` on ``127.0.0.1:<ephemeral>`` in a daemon thread:

* ``POST /oauth/token`` - OAuth2 client credentials: HTTP Basic ``client_id:client_secret``,
  form ``grant_type=client_credentials``; answers ``{"access_token", "token_type", "expires_in"}``
  (401 ``invalid_client`` / 400 ``unsupported_grant_type`` otherwise). Every call issues a new token.
* ``GET /dossiers/{code}`` - needs ``Authorization: Bearer <a token it issued and did not revoke>``
  (401 otherwise); the dossier JSON (``DossierRecord.from_dict`` shape) or 404.

It records every request and can be told to fail the next N calls (500/503/429 ...), to
answer slowly (timeouts), to answer malformed JSON, or to revoke/reject tokens.
Only the standard library is used; nothing here reaches beyond the loopback.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Tuple, Union
from urllib.parse import parse_qs, unquote, urlsplit

CLIENT_ID = "chatbot-yenbai"
CLIENT_SECRET = "loopback-client-secret"  # noqa: S105 - a fake's credential
TOKEN_PATH = "/oauth/token"  # noqa: S105 - a path, not a secret
DOSSIER_PREFIX = "/dossiers/"

Body = Union[bytes, Dict[str, Any], List[Any], str, None]


@dataclass
class Request:
    """One request as the fake received it, and what it answered."""

    method: str
    path: str
    headers: Dict[str, str]
    body: bytes
    form: Dict[str, str]
    at: float = field(default_factory=time.monotonic)
    status: int = 0

    def header(self, name: str) -> Optional[str]:
        """A request header, case-insensitive."""
        return self.headers.get(name.lower())

    @property
    def bearer(self) -> Optional[str]:
        """The bearer token sent, if any."""
        value = self.header("authorization") or ""
        return value[7:] if value.startswith("Bearer ") else None


@dataclass
class _Rule:
    """A queued answer that replaces the normal one for the next matching calls."""

    path_prefix: str
    status: int
    body: Body
    headers: Dict[str, str]
    remaining: int


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # the client gave up (timeout tests): a broken pipe is expected, not worth a traceback
        return


class FakeOneStopAPI:
    """The fake server. Use as a context manager or call :meth:`start` / :meth:`stop`."""

    def __init__(self, client_id: str = CLIENT_ID, client_secret: str = CLIENT_SECRET,
                 expires_in: int = 3600) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.expires_in = expires_in
        self.dossiers: Dict[str, Dict[str, Any]] = {}
        self.requests: List[Request] = []
        self.reject_all_tokens = False
        self._tokens: set = set()
        self._issued = 0
        self._rules: List[_Rule] = []
        self._delays: List[Tuple[str, float]] = []
        self._lock = threading.RLock()
        self._server: Optional[_Server] = None
        self._thread: Optional[threading.Thread] = None

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> "FakeOneStopAPI":
        """Start serving on 127.0.0.1:<ephemeral>; returns self."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: Any) -> None:
                return

            def do_GET(self) -> None:  # noqa: N802 - http.server API
                fake._serve(self)

            def do_POST(self) -> None:  # noqa: N802 - http.server API
                fake._serve(self)

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="FakeOneStopAPI", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "FakeOneStopAPI":
        return self.start()

    def __exit__(self, *_exc: Any) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` (what ``HttpDossierSource`` takes as ``base_url``)."""
        assert self._server is not None, "fake not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def token_url(self) -> str:
        """The OAuth token endpoint."""
        return self.base_url + TOKEN_PATH

    # -- data -------------------------------------------------------------------------------------
    def add_dossier(self, data: Dict[str, Any]) -> None:
        """Serve ``data`` at ``/dossiers/<data['code']>``."""
        with self._lock:
            self.dossiers[data["code"]] = dict(data)

    # -- behaviour --------------------------------------------------------------------------------
    def fail_next(self, status: int = 500, count: int = 1, path_prefix: str = DOSSIER_PREFIX,
                  body: Body = None, headers: Optional[Dict[str, str]] = None) -> None:
        """Answer the next ``count`` calls under ``path_prefix`` with ``status`` (and ``body``)."""
        if body is None:
            body = {"error": f"injected {status}"}
        with self._lock:
            self._rules.append(_Rule(path_prefix, status, body, dict(headers or {}), count))

    def fail_always(self, status: int = 500, path_prefix: str = DOSSIER_PREFIX) -> None:
        """Answer every call under ``path_prefix`` with ``status`` until :meth:`clear`."""
        self.fail_next(status, count=10**9, path_prefix=path_prefix)

    def malformed_next(self, count: int = 1, body: bytes = b'{"code": "000.00.15', status: int = 200,
                       path_prefix: str = DOSSIER_PREFIX) -> None:
        """Answer the next calls with a body that is not valid JSON (or any raw bytes)."""
        with self._lock:
            self._rules.append(_Rule(path_prefix, status, body, {"Content-Type": "application/json"}, count))

    def delay(self, seconds: float, path_prefix: str = DOSSIER_PREFIX) -> None:
        """Wait ``seconds`` before answering calls under ``path_prefix`` (0 to stop)."""
        with self._lock:
            self._delays = [d for d in self._delays if d[0] != path_prefix]
            if seconds:
                self._delays.append((path_prefix, seconds))

    def revoke_tokens(self) -> None:
        """Invalidate every token issued so far (the next API call with one gets 401)."""
        with self._lock:
            self._tokens.clear()

    def clear(self) -> None:
        """Forget queued failures and delays (recorded requests stay)."""
        with self._lock:
            self._rules.clear()
            self._delays.clear()
            self.reject_all_tokens = False

    # -- inspection -------------------------------------------------------------------------------
    def calls(self, path_prefix: str = "", method: Optional[str] = None) -> List[Request]:
        """Recorded requests under ``path_prefix`` (and of ``method``), oldest first."""
        with self._lock:
            items = list(self.requests)
        return [r for r in items if r.path.startswith(path_prefix) and (method is None or r.method == method)]

    def token_calls(self) -> List[Request]:
        """Calls of the token endpoint."""
        return self.calls(TOKEN_PATH)

    def dossier_calls(self) -> List[Request]:
        """Calls of ``GET /dossiers/...``."""
        return self.calls(DOSSIER_PREFIX)

    @property
    def issued_tokens(self) -> int:
        """How many tokens the token endpoint issued."""
        return self._issued

    # -- plumbing ---------------------------------------------------------------------------------
    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        path = urlsplit(handler.path).path
        headers = {k.lower(): v for k, v in handler.headers.items()}
        form: Dict[str, str] = {}
        if "x-www-form-urlencoded" in headers.get("content-type", ""):
            form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        rec = Request(handler.command, path, headers, body, form)

        with self._lock:
            rule = next((r for r in self._rules if path.startswith(r.path_prefix)), None)
            if rule is not None:
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self._rules.remove(rule)
            delay = next((s for p, s in self._delays if path.startswith(p)), 0.0)
        if rule is not None:
            status, payload, extra = rule.status, rule.body, rule.headers
        else:
            status, payload, extra = self._answer(rec)
        rec.status = status
        with self._lock:
            self.requests.append(rec)
        if delay:
            time.sleep(delay)
        if isinstance(payload, bytes):
            raw = payload
        elif isinstance(payload, str):
            raw = payload.encode("utf-8")
        else:
            raw = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        try:
            handler.send_response(status)
            if "Content-Type" not in extra:
                handler.send_header("Content-Type", "application/json; charset=utf-8")
            handler.send_header("Content-Length", str(len(raw)))
            for key, value in extra.items():
                handler.send_header(key, value)
            handler.end_headers()
            handler.wfile.write(raw)
        except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
            handler.close_connection = True

    def _answer(self, rec: Request) -> Tuple[int, Body, Dict[str, str]]:
        if rec.path == TOKEN_PATH and rec.method == "POST":
            return self._token(rec)
        if rec.path.startswith(DOSSIER_PREFIX) and rec.method == "GET":
            with self._lock:
                authorised = rec.bearer in self._tokens and not self.reject_all_tokens
            if not authorised:
                return 401, {"error": "invalid_token"}, {"WWW-Authenticate": 'Bearer error="invalid_token"'}
            code = unquote(rec.path[len(DOSSIER_PREFIX):])
            with self._lock:
                dossier = self.dossiers.get(code)
            if dossier is None:
                return 404, {"error": "not_found", "code": code}, {}
            return 200, dossier, {}
        return 404, {"error": "no such endpoint"}, {}

    def _token(self, rec: Request) -> Tuple[int, Body, Dict[str, str]]:
        expected = "Basic " + base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if rec.header("authorization") != expected:
            return 401, {"error": "invalid_client"}, {"WWW-Authenticate": 'Basic realm="onestop"'}
        if rec.form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}, {}
        with self._lock:
            self._issued += 1
            token = f"tok-{self._issued}"
            self._tokens.add(token)
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": self.expires_in}, {}
