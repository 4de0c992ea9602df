"""Loopback fake of the Zalo OA Open API v3, ZNS and OAuth v4, plus signed webhook builders.

One server answers all three hosts (point ``zalo_api_base``, ``zalo_zns_base`` and
``zalo_oauth_base`` at ``base_url``):

* ``POST /v3.0/oa/message/cs`` (header ``access_token``) - customer-service messages;
* ``POST /message/template`` (header ``access_token``) - ZNS template messages;
* ``POST /v4/oa/access_token`` (header ``secret_key``, form ``refresh_token``, ``app_id``,
  ``grant_type=refresh_token``) - token refresh. Each refresh token works ONCE, as on Zalo.

Errors come back the way Zalo sends them: HTTP 200 with ``{"error": <negative code>,
"message": ...}``; ``fail_next(status=429)`` or ``status=500`` produce HTTP errors.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
from typing import Any, Dict, Iterable, List, Optional, Tuple

from tests.fakes._http import Failure, FakeHTTPServer, Recorded, Response

APP_ID = "4291763606161179100"
APP_SECRET = "fake-app-secret-for-loopback"
OA_SECRET_KEY = "fake-oa-secret-key-for-webhooks"
OA_ID = "388613280878808645"

ERROR_MESSAGES = {
    -32: "Exceeded rate limit",
    -124: "Access token has expired",
    -201: "Parameters invalid",
    -211: "Out of quota",
    -213: "User has not followed OA",
    -216: "Access token is invalid",
    -230: "User has not interacted with the OA in the past 7 days",
    -108: "Phone number is invalid",
    -118: "Zalo account does not exist or is disabled",
    -144: "OA has exceeded the daily ZNS quota",
}

PATH_CS = "/v3.0/oa/message/cs"
PATH_ZNS = "/message/template"
PATH_TOKEN = "/v4/oa/access_token"


class FakeZaloAPI(FakeHTTPServer):
    """A fake of ``openapi.zalo.me``, ``business.openapi.zalo.me`` and ``oauth.zaloapp.com``."""

    def __init__(
        self,
        *,
        app_id: str = APP_ID,
        app_secret: str = APP_SECRET,
        access_token: str = "at-0",
        refresh_token: str = "rt-0",
        expires_in: int = 90_000,
    ) -> None:
        super().__init__()
        self.app_id = app_id
        self.app_secret = app_secret
        self.expires_in = expires_in
        self.valid_access_tokens = {access_token}
        self.valid_refresh_tokens = {refresh_token}
        self.refresh_delay = 0.0
        self.unreachable: Dict[str, int] = {}
        self._token_lock = threading.Lock()
        self._counter = itertools.count(1)

    @property
    def api_base(self) -> str:
        """OA Open API base URL."""
        return self.base_url

    @property
    def zns_base(self) -> str:
        """ZNS base URL."""
        return self.base_url

    @property
    def oauth_base(self) -> str:
        """OAuth base URL."""
        return self.base_url

    # -- test controls -----------------------------------------------------------------------
    def fail_next(
        self,
        count: int = 1,
        *,
        error: Optional[int] = None,
        status: int = 200,
        retry_after: Optional[int] = None,
        paths: Optional[Iterable[str]] = None,
    ) -> None:
        """Next ``count`` calls (to ``paths``) fail: Zalo error code in a 200, or an HTTP status."""
        wanted = set(paths) if paths else None
        headers: Dict[str, str] = {}
        if error is not None:
            body: Any = {"error": error, "message": ERROR_MESSAGES.get(error, "Error")}
        elif status == 429:
            body = {"error": -32, "message": "Too many requests"}
        else:
            body = b"<html><body><h1>502 Bad Gateway</h1></body></html>" if status == 502 else {
                "error": -1, "message": "Internal error"}
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        self.queue_failure(Failure(status, body, headers, (lambda r: r.path in wanted) if wanted else None), count)

    def set_unreachable(self, user_id: str, error: int = -213) -> None:
        """Sends to ``user_id`` fail with ``error`` (-213 not a follower, -230 outside the 7-day window)."""
        self.unreachable[str(user_id)] = error

    def expire_access_tokens(self) -> None:
        """Invalidate every access token issued so far (as if they had expired)."""
        with self._token_lock:
            self.valid_access_tokens.clear()

    # -- inspection --------------------------------------------------------------------------
    def cs_messages(self, user_id: Optional[str] = None, *, successful: bool = True) -> List[Dict[str, Any]]:
        """Bodies of customer-service messages (successful ones by default)."""
        return [
            r.params for r in self.calls(lambda r: r.path == PATH_CS)
            if (not successful or _is_success(r)) and (
                user_id is None or r.params.get("recipient", {}).get("user_id") == str(user_id))
        ]

    def zns_messages(self, *, successful: bool = True) -> List[Dict[str, Any]]:
        """Bodies of ZNS template messages."""
        return [r.params for r in self.calls(lambda r: r.path == PATH_ZNS) if not successful or _is_success(r)]

    def refresh_calls(self) -> List[Recorded]:
        """Every token refresh request received."""
        return self.calls(lambda r: r.path == PATH_TOKEN)

    async def await_cs(self, count: int, user_id: Optional[str] = None, timeout: float = 10.0) -> List[Dict]:
        """Wait until ``count`` CS messages to ``user_id`` were accepted."""

        def pred(r: Recorded) -> bool:
            return r.path == PATH_CS and _is_success(r) and (
                user_id is None or r.params.get("recipient", {}).get("user_id") == str(user_id))

        return [r.params for r in await self.await_for(pred, count, timeout)]

    # -- API ---------------------------------------------------------------------------------
    def handle(self, rec: Recorded) -> Response:
        """Route one request."""
        if rec.method != "POST":
            return 404, {"error": -404, "message": "Not found"}, {}
        if rec.path == PATH_TOKEN:
            return self._refresh(rec)
        if rec.path in (PATH_CS, PATH_ZNS):
            token = rec.header("access_token")
            with self._token_lock:
                valid = token in self.valid_access_tokens
            if not token or not valid:
                return _zerr(-216 if not token else -124)
            return self._send_cs(rec) if rec.path == PATH_CS else self._send_zns(rec)
        return 404, {"error": -404, "message": "Not found"}, {}

    def _send_cs(self, rec: Recorded) -> Response:
        user_id = str(rec.params.get("recipient", {}).get("user_id") or "")
        message = rec.params.get("message") or {}
        if not user_id or not isinstance(message, dict):
            return _zerr(-201)
        if user_id in self.unreachable:
            return _zerr(self.unreachable[user_id])
        text = message.get("text")
        attachment = message.get("attachment")
        if text is None and attachment is None:
            return _zerr(-201)
        if text is not None and not 0 < len(text) <= 2000:
            return _zerr(-201)
        if attachment is not None:
            buttons = (attachment.get("payload") or {}).get("buttons") or []
            if attachment.get("type") != "template" or not 1 <= len(buttons) <= 5:
                return _zerr(-201)
            for button in buttons:
                if button.get("type") not in {"oa.query.show", "oa.query.hide", "oa.open.url", "oa.open.sms",
                                              "oa.open.phone"} or not button.get("title"):
                    return _zerr(-201)
        n = next(self._counter)
        return 200, {"data": {"message_id": f"mid{n:08d}", "user_id": user_id}, "error": 0, "message": "Success"}, {}

    def _send_zns(self, rec: Recorded) -> Response:
        phone = str(rec.params.get("phone") or "")
        if not (phone.startswith("84") and phone.isdigit() and 10 <= len(phone) <= 12):
            return _zerr(-108)
        if phone in self.unreachable:
            return _zerr(self.unreachable[phone])
        if not rec.params.get("template_id") or not isinstance(rec.params.get("template_data"), dict):
            return _zerr(-201)
        n = next(self._counter)
        data = {"msg_id": f"zns{n:08d}", "sent_time": str(int(time.time() * 1000)),
                "quota": {"dailyQuota": "500", "remainingQuota": str(500 - n)}}
        return 200, {"error": 0, "message": "Success", "data": data}, {}

    def _refresh(self, rec: Recorded) -> Response:
        if self.refresh_delay:
            time.sleep(self.refresh_delay)
        if rec.header("secret_key") != self.app_secret:
            return 200, {"error": -14002, "error_name": "Invalid secret key",
                         "error_reason": "secret_key header is wrong", "error_description": ""}, {}
        params = rec.params
        if params.get("app_id") != self.app_id or params.get("grant_type") != "refresh_token":
            return 200, {"error": -14001, "error_name": "Invalid parameter", "error_reason": "app_id/grant_type",
                         "error_description": ""}, {}
        with self._token_lock:
            token = params.get("refresh_token")
            if token not in self.valid_refresh_tokens:
                return 200, {"error": -14014, "error_name": "Invalid refresh token",
                             "error_reason": "Refresh token is invalid or has been used",
                             "error_description": ""}, {}
            self.valid_refresh_tokens.discard(token)  # one use only
            n = next(self._counter)
            access, refresh = f"at-{n}", f"rt-{n}"
            self.valid_access_tokens.add(access)
            self.valid_refresh_tokens.add(refresh)
        return 200, {"access_token": access, "refresh_token": refresh, "expires_in": str(self.expires_in)}, {}


def _is_success(rec: Recorded) -> bool:
    return rec.status == 200 and isinstance(rec.response, dict) and rec.response.get("error") == 0


def _zerr(code: int) -> Response:
    return 200, {"error": code, "message": ERROR_MESSAGES.get(code, "Error")}, {}


# -- webhook events (shapes as Zalo posts them) and their signature --------------------------------

_msg_ids = itertools.count(1)


def zalo_signature(app_id: str, body: bytes, timestamp: str, oa_secret_key: str) -> str:
    """``X-ZEvent-Signature`` value: ``mac=`` + sha256(app_id + body + timestamp + OA secret key)."""
    digest = hashlib.sha256(app_id.encode() + body + str(timestamp).encode() + oa_secret_key.encode()).hexdigest()
    return f"mac={digest}"


def now_ms() -> str:
    """Zalo's timestamp format: milliseconds since the epoch, as a string."""
    return str(int(time.time() * 1000))


def text_event(user_id: str, text: str, *, msg_id: Optional[str] = None, timestamp: Optional[str] = None,
               app_id: str = APP_ID) -> Dict[str, Any]:
    """A ``user_send_text`` event."""
    return {
        "app_id": app_id,
        "sender": {"id": str(user_id)},
        "user_id_by_app": f"55{user_id}",
        "recipient": {"id": OA_ID},
        "event_name": "user_send_text",
        "message": {"text": text, "msg_id": msg_id or f"This is message id {next(_msg_ids)}"},
        "timestamp": timestamp or now_ms(),
    }


def image_event(user_id: str, *, msg_id: Optional[str] = None, app_id: str = APP_ID) -> Dict[str, Any]:
    """A ``user_send_image`` event."""
    return {
        "app_id": app_id,
        "user_id_by_app": f"55{user_id}",
        "event_name": "user_send_image",
        "timestamp": now_ms(),
        "sender": {"id": str(user_id)},
        "recipient": {"id": OA_ID},
        "message": {
            "msg_id": msg_id or f"img{next(_msg_ids)}",
            "text": "",
            "attachments": [{"type": "image", "payload": {
                "thumbnail": "https://zalo-api.zadn.vn/thumb.jpg", "url": "https://zalo-api.zadn.vn/full.jpg"}}],
        },
    }


def sticker_event(user_id: str, *, msg_id: Optional[str] = None, app_id: str = APP_ID) -> Dict[str, Any]:
    """A ``user_send_sticker`` event."""
    event = image_event(user_id, msg_id=msg_id or f"stk{next(_msg_ids)}", app_id=app_id)
    event["event_name"] = "user_send_sticker"
    event["message"]["attachments"] = [{"type": "sticker", "payload": {"id": "4f2a", "url": "https://x/s.png"}}]
    return event


def follow_event(user_id: str, *, unfollow: bool = False, app_id: str = APP_ID,
                 timestamp: Optional[str] = None) -> Dict[str, Any]:
    """A ``follow`` (or ``unfollow``) event."""
    return {
        "oa_id": OA_ID,
        "follower": {"id": str(user_id)},
        "user_id_by_app": f"55{user_id}",
        "event_name": "unfollow" if unfollow else "follow",
        "source": "oa_profile",
        "app_id": app_id,
        "timestamp": timestamp or now_ms(),
    }


def signed(event: Dict[str, Any], *, app_id: str = APP_ID, oa_secret_key: str = OA_SECRET_KEY,
           body: Optional[bytes] = None) -> Tuple[bytes, Dict[str, str]]:
    """Serialise ``event`` (or use ``body``) and sign it: returns (raw body, headers)."""
    raw = body if body is not None else json.dumps(event, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json",
               "X-ZEvent-Signature": zalo_signature(app_id, raw, str(event.get("timestamp", "")), oa_secret_key)}
    return raw, headers
