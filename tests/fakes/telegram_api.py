"""Loopback fake of the Telegram Bot API, plus builders of real update payloads.

Usage::

    with FakeTelegramAPI() as tg:          # real HTTP server on 127.0.0.1:<ephemeral>
        sender = TelegramSender(tg.token, api_base=tg.base_url)
        ...
        tg.sent_messages(chat_id=42)       # what the bot sent
        tg.fail_next(2, status=429, retry_after=1)
        tg.block_chat(42)                  # 403 "bot was blocked by the user" from now on

Responses have the Bot API's shapes (``{"ok": true, "result": ...}`` and
``{"ok": false, "error_code": ..., "description": ..., "parameters": {...}}``) and the
fake enforces the limits that matter to us (4096 characters per text, 64 bytes of
``callback_data``).
"""

from __future__ import annotations

import itertools
import time
from typing import Any, Dict, Iterable, List, Optional

from tests.fakes._http import Failure, FakeHTTPServer, Recorded, Response

DEFAULT_TOKEN = "123456789:AAFakeTokenForLoopbackTestsOnly_0123"
DEFAULT_USERNAME = "yenbai_citizen_bot"


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class FakeTelegramAPI(FakeHTTPServer):
    """A fake ``https://api.telegram.org`` (use ``base_url`` as the API base)."""

    def __init__(self, token: str = DEFAULT_TOKEN, username: str = DEFAULT_USERNAME) -> None:
        super().__init__()
        self.token = token
        self.username = username
        self.bot_id = int(token.split(":", 1)[0])
        self.blocked_chats: set = set()
        self.webhook: Dict[str, Any] = {}
        self._message_ids = itertools.count(1000)

    # -- test controls -----------------------------------------------------------------------
    def fail_next(
        self,
        count: int = 1,
        *,
        status: int = 500,
        retry_after: Optional[int] = None,
        description: Optional[str] = None,
        methods: Optional[Iterable[str]] = None,
    ) -> None:
        """Make the next ``count`` calls (of ``methods``, default any) fail like Telegram does."""
        wanted = set(methods) if methods else None
        body: Dict[str, Any] = {"ok": False, "error_code": status, "description": description or _DESCRIPTIONS.get(
            status, "Internal Server Error")}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
            if description is None:
                body["description"] = f"Too Many Requests: retry after {retry_after}"
        self.queue_failure(
            Failure(status, body, match=(lambda rec: _method(rec) in wanted) if wanted else None), count
        )

    def block_chat(self, chat_id: int) -> None:
        """From now on every send to ``chat_id`` answers 403 (user blocked the bot)."""
        self.blocked_chats.add(int(chat_id))

    # -- inspection --------------------------------------------------------------------------
    def api_calls(self, method: Optional[str] = None) -> List[Recorded]:
        """Recorded Bot API calls, optionally of one method (``sendMessage`` ...)."""
        return self.calls(lambda r: method is None or _method(r) == method)

    def sent_messages(self, chat_id: Optional[int] = None, *, successful: bool = True) -> List[Dict[str, Any]]:
        """Parameters of ``sendMessage`` calls (successful ones by default)."""
        return [
            r.params
            for r in self.api_calls("sendMessage")
            if (not successful or r.status == 200) and (chat_id is None or _int(r.params.get("chat_id")) == chat_id)
        ]

    async def await_messages(self, count: int, chat_id: Optional[int] = None, timeout: float = 10.0) -> List[Dict]:
        """Wait until ``count`` messages were delivered (to ``chat_id``)."""

        def pred(r: Recorded) -> bool:
            return (
                _method(r) == "sendMessage"
                and r.status == 200
                and (chat_id is None or _int(r.params.get("chat_id")) == chat_id)
            )

        return [r.params for r in await self.await_for(pred, count, timeout)]

    # -- API ---------------------------------------------------------------------------------
    def handle(self, rec: Recorded) -> Response:
        """Serve one Bot API method."""
        parts = rec.path.strip("/").split("/")
        if len(parts) != 2 or not parts[0].startswith("bot"):
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}, {}
        token, method = parts[0][3:], parts[1]
        if token != self.token:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}, {}
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"}, {}
        return handler(rec.params)

    def _bot_user(self) -> Dict[str, Any]:
        return {"id": self.bot_id, "is_bot": True, "first_name": "Trợ lý dịch vụ công", "username": self.username}

    def _m_getMe(self, _params: Dict[str, Any]) -> Response:  # noqa: N802 - Bot API method name
        user = dict(self._bot_user(), can_join_groups=True, can_read_all_group_messages=False,
                    supports_inline_queries=False)
        return _ok(user)

    def _message(self, chat_id: int, **extra: Any) -> Dict[str, Any]:
        chat_type = "private" if chat_id > 0 else "supergroup"
        chat: Dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = "Citizen"
        else:
            chat["title"] = "Group"
        return {"message_id": next(self._message_ids), "from": self._bot_user(), "chat": chat,
                "date": int(time.time()), **extra}

    def _check_chat(self, params: Dict[str, Any]) -> Optional[Response]:
        chat_id = _int(params.get("chat_id"))
        if chat_id is None:
            return _err(400, "Bad Request: chat_id is empty")
        if chat_id in self.blocked_chats:
            return _err(403, "Forbidden: bot was blocked by the user")
        return None

    def _m_sendMessage(self, params: Dict[str, Any]) -> Response:  # noqa: N802 - Bot API method name
        problem = self._check_chat(params)
        if problem:
            return problem
        text = params.get("text") or ""
        if not text.strip():
            return _err(400, "Bad Request: message text is empty")
        if _utf16_len(text) > 4096:
            return _err(400, "Bad Request: message is too long")
        markup = params.get("reply_markup")
        if isinstance(markup, dict):
            for row in markup.get("inline_keyboard", []):
                for button in row:
                    data = button.get("callback_data")
                    if data is not None and not 1 <= len(data.encode()) <= 64:
                        return _err(400, "Bad Request: BUTTON_DATA_INVALID")
        extra: Dict[str, Any] = {"text": text}
        if markup:
            extra["reply_markup"] = markup
        return _ok(self._message(_int(params["chat_id"]), **extra))

    def _m_sendPhoto(self, params: Dict[str, Any]) -> Response:  # noqa: N802 - Bot API method name
        problem = self._check_chat(params)
        if problem:
            return problem
        photo = [{"file_id": "AgAD-fake", "file_unique_id": "fake", "width": 320, "height": 240}]
        return _ok(self._message(_int(params["chat_id"]), photo=photo, caption=params.get("caption")))

    def _m_answerCallbackQuery(self, params: Dict[str, Any]) -> Response:  # noqa: N802 - Bot API method name
        if not params.get("callback_query_id"):
            return _err(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        return _ok(True)

    def _m_sendChatAction(self, params: Dict[str, Any]) -> Response:  # noqa: N802 - Bot API method name
        return self._check_chat(params) or _ok(True)

    def _m_setWebhook(self, params: Dict[str, Any]) -> Response:  # noqa: N802 - Bot API method name
        url = params.get("url") or ""
        if url and not url.startswith("https://"):
            return _err(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook = dict(params)
        return _ok(True, description="Webhook was set")

    def _m_deleteWebhook(self, _params: Dict[str, Any]) -> Response:  # noqa: N802 - Bot API method name
        self.webhook = {}
        return _ok(True, description="Webhook was deleted")

    def _m_getWebhookInfo(self, _params: Dict[str, Any]) -> Response:  # noqa: N802 - Bot API method name
        return _ok({"url": self.webhook.get("url", ""), "has_custom_certificate": False, "pending_update_count": 0,
                    "max_connections": _int(self.webhook.get("max_connections")) or 40})


_DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    403: "Forbidden: bot was blocked by the user",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


def _method(rec: Recorded) -> str:
    return rec.path.rstrip("/").rsplit("/", 1)[-1]


def _int(value: Any) -> Optional[int]:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _ok(result: Any, **extra: Any) -> Response:
    return 200, {"ok": True, "result": result, **extra}, {}


def _err(status: int, description: str) -> Response:
    return status, {"ok": False, "error_code": status, "description": description}, {}


# -- update builders (shapes as Telegram sends them) ---------------------------------------------

_update_ids = itertools.count(700_000_000)


def next_update_id() -> int:
    """A fresh, increasing update id."""
    return next(_update_ids)


def tg_user(user_id: int = 111, first_name: str = "Lan", username: Optional[str] = "lan_nguyen") -> Dict[str, Any]:
    """A Telegram ``User`` object."""
    user: Dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "vi"}
    if username:
        user["username"] = username
    return user


def _chat(user: Dict[str, Any], chat_id: Optional[int]) -> Dict[str, Any]:
    if chat_id is None or chat_id == user["id"]:
        return {"id": user["id"], "first_name": user["first_name"], "type": "private",
                **({"username": user["username"]} if user.get("username") else {})}
    return {"id": chat_id, "title": "Hội phụ huynh phường Yên Thịnh", "type": "supergroup"}


def text_update(
    text: str,
    user_id: int = 111,
    *,
    update_id: Optional[int] = None,
    chat_id: Optional[int] = None,
    entities: Optional[List[Dict[str, Any]]] = None,
    reply_to: Optional[Dict[str, Any]] = None,
    message_id: int = 1,
    edited: bool = False,
) -> Dict[str, Any]:
    """An update with a text message (private chat unless ``chat_id`` is a group id)."""
    user = tg_user(user_id)
    message: Dict[str, Any] = {"message_id": message_id, "from": user, "chat": _chat(user, chat_id),
                               "date": int(time.time()), "text": text}
    if text.startswith("/"):
        command = text.split()[0]
        entities = (entities or []) + [{"type": "bot_command", "offset": 0, "length": len(command)}]
    if entities:
        message["entities"] = entities
    if reply_to is not None:
        message["reply_to_message"] = reply_to
    if edited:
        message["edit_date"] = int(time.time())
    key = "edited_message" if edited else "message"
    return {"update_id": update_id if update_id is not None else next_update_id(), key: message}


def mention_update(text_after: str, bot_username: str, user_id: int, group_id: int, **kw: Any) -> Dict[str, Any]:
    """A group message that addresses the bot with ``@bot_username <text>``."""
    mention = f"@{bot_username}"
    return text_update(f"{mention} {text_after}", user_id, chat_id=group_id,
                       entities=[{"type": "mention", "offset": 0, "length": len(mention)}], **kw)


def callback_update(
    data: str,
    user_id: int = 111,
    *,
    update_id: Optional[int] = None,
    chat_id: Optional[int] = None,
    reply_markup: Optional[Dict[str, Any]] = None,
    bot_username: str = DEFAULT_USERNAME,
    bot_id: int = 123456789,
) -> Dict[str, Any]:
    """An update with a callback query from a click on an inline button of a bot message."""
    user = tg_user(user_id)
    bot = {"id": bot_id, "is_bot": True, "first_name": "Trợ lý", "username": bot_username}
    message: Dict[str, Any] = {"message_id": 77, "from": bot, "chat": _chat(user, chat_id), "date": int(time.time()),
                               "text": "…"}
    if reply_markup:
        message["reply_markup"] = reply_markup
    return {
        "update_id": update_id if update_id is not None else next_update_id(),
        "callback_query": {"id": f"cbq-{next_update_id()}", "from": user, "message": message,
                           "chat_instance": "-4242", "data": data},
    }


def photo_update(user_id: int = 111, *, update_id: Optional[int] = None, caption: Optional[str] = None,
                 chat_id: Optional[int] = None) -> Dict[str, Any]:
    """An update with a photo (two sizes, as Telegram sends them)."""
    user = tg_user(user_id)
    message: Dict[str, Any] = {
        "message_id": 5, "from": user, "chat": _chat(user, chat_id), "date": int(time.time()),
        "photo": [
            {"file_id": "AgACAgUAAxkBAAIB", "file_unique_id": "AQADa", "file_size": 1200, "width": 90, "height": 67},
            {"file_id": "AgACAgUAAxkBAAIC", "file_unique_id": "AQADb", "file_size": 41000, "width": 800,
             "height": 600},
        ],
    }
    if caption:
        message["caption"] = caption
    return {"update_id": update_id if update_id is not None else next_update_id(), "message": message}


def sticker_update(user_id: int = 111, *, update_id: Optional[int] = None) -> Dict[str, Any]:
    """An update with a sticker."""
    user = tg_user(user_id)
    sticker = {"file_id": "CAACAgIAAxkBAAIB", "file_unique_id": "AgADx", "type": "regular", "width": 512,
               "height": 512, "is_animated": False, "is_video": False, "emoji": "👍"}
    return {"update_id": update_id if update_id is not None else next_update_id(),
            "message": {"message_id": 6, "from": user, "chat": _chat(user, None), "date": int(time.time()),
                        "sticker": sticker}}


def voice_update(user_id: int = 111, *, update_id: Optional[int] = None) -> Dict[str, Any]:
    """An update with a voice note."""
    user = tg_user(user_id)
    voice = {"file_id": "AwACAgUAAxkBAAIB", "file_unique_id": "AgADv", "duration": 3, "mime_type": "audio/ogg"}
    return {"update_id": update_id if update_id is not None else next_update_id(),
            "message": {"message_id": 7, "from": user, "chat": _chat(user, None), "date": int(time.time()),
                        "voice": voice}}


def document_update(user_id: int = 111, *, update_id: Optional[int] = None) -> Dict[str, Any]:
    """An update with a file (document)."""
    user = tg_user(user_id)
    document = {"file_id": "BQACAgUAAxkBAAIB", "file_unique_id": "AgADd", "file_name": "to-khai.pdf",
                "mime_type": "application/pdf", "file_size": 52000}
    return {"update_id": update_id if update_id is not None else next_update_id(),
            "message": {"message_id": 8, "from": user, "chat": _chat(user, None), "date": int(time.time()),
                        "document": document}}
