"""Reachability of chat users: the senders flag users who blocked the bot or unfollowed the OA,
so that reminder pushes skip them (an inbound message makes them reachable again, see
:func:`bot.conversations.admission.touch_user`)."""

from __future__ import annotations

import asyncio
import logging
from typing import Optional

from sqlalchemy import update

from bot.db.models import ChatUser
from bot.db.session import session_scope

logger = logging.getLogger(__name__)


def mark_unreachable_sync(channel: str, user_id: str, reason: str, database_url: Optional[str] = None) -> bool:
    """Flag a chat user as unreachable for pushes; True if a user row was changed."""
    with session_scope(database_url) as session:
        changed = session.execute(
            update(ChatUser)
            .where(ChatUser.channel == channel, ChatUser.channel_user_id == str(user_id))
            .values(reachable=False, unreachable_reason=reason[:200])
        ).rowcount
    if changed:
        logger.info("marked %s user %s unreachable (%s)", channel, user_id, reason)
    return bool(changed)


async def mark_unreachable(channel: str, user_id: str, reason: str, database_url: Optional[str] = None) -> bool:
    """Async wrapper of :func:`mark_unreachable_sync`; never raises (logs instead)."""
    try:
        return await asyncio.to_thread(mark_unreachable_sync, channel, user_id, reason, database_url)
    except Exception:
        logger.exception("could not mark %s user %s unreachable", channel, user_id)
        return False
