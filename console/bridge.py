"""The console's client of the Rasa bridge (``integrations/console_bridge.py``): pause, resume, reply.

Rasa's HTTP API is off; the handoff desk changes conversations only through these
authenticated routes of the Rasa server (``CONSOLE_RASA_URL``, bearer ``CONSOLE_BRIDGE_TOKEN``).
"""

from __future__ import annotations

import logging
from typing import Any, Dict, Optional

import httpx

from bot.settings import Settings, get_settings

logger = logging.getLogger(__name__)

TIMEOUT_S = 15.0  # a Telegram / Zalo send with its retries fits


class BridgeError(Exception):
    """The bridge refused or could not be reached; ``message`` is for the agent (Vietnamese)."""

    def __init__(self, message: str, status: int = 502) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def call(action: str, conversation_id: str, text: Optional[str] = None, agent: Optional[str] = None,
         settings: Optional[Settings] = None) -> Dict[str, Any]:
    """``POST /webhooks/console/handoff/<action>``; returns the bridge's JSON answer.

    Raises:
        BridgeError: no token configured, the assistant unreachable, or a refusal.
    """
    settings = settings or get_settings()
    if not settings.console_bridge_token:
        raise BridgeError("Chưa cấu hình CONSOLE_BRIDGE_TOKEN: bàn tiếp nhận chưa kết nối được với trợ lý.", 503)
    body: Dict[str, Any] = {"conversation_id": conversation_id}
    if text is not None:
        body.update(text=text, agent=agent or "")
    try:
        reply = httpx.post(f"{settings.rasa_url.rstrip('/')}/webhooks/console/handoff/{action}", json=body,
                           headers={"Authorization": f"Bearer {settings.console_bridge_token}"}, timeout=TIMEOUT_S)
    except httpx.HTTPError as exc:
        logger.warning("console bridge %s unreachable: %s", action, type(exc).__name__)
        raise BridgeError("Không kết nối được với trợ lý. Vui lòng thử lại sau ít phút.", 503) from exc
    if reply.status_code == 200:
        return reply.json()
    logger.warning("console bridge %s answered %d", action, reply.status_code)
    if reply.status_code == 502:
        raise BridgeError("Không gửi được tin nhắn tới kênh của người dân (Telegram/Zalo). Tin chưa được lưu.", 502)
    raise BridgeError(f"Trợ lý từ chối thao tác (mã {reply.status_code}).", 502)
