"""What the Telegram and Zalo channels share: admission, reachability, rendering, splitting.

* **Admission** (:func:`admit_inbound`): one short database transaction per inbound
  webhook that (1) claims the platform message id in ``processed_messages``
  (insert-or-skip on the unique constraint, so a replay - by the platform, by an
  attacker, or to a second replica - is recognised across restarts), (2) counts the
  message in the user's one-minute window in ``rate_limit_hits`` and decides whether
  this is the ONE message of a flood that gets a polite notice, and (3) records the
  interaction in ``chat_users`` (``last_interaction_at``, reachable again).
  Nothing is kept in process memory, so any number of replicas agree.
* **Reachability** (:func:`mark_unreachable`): the senders flag users who blocked the
  bot / unfollowed the OA so that reminder pushes skip them.
* **Rendering** (:func:`render_response`): the channels' own texts (``utter_text_only``,
  ``utter_rate_limited``, ``utter_welcome_follow`` in ``domain/channels.yml``) are
  rendered by the agent's NLG - the templated domain responses, or the NLG server when
  ``endpoints.yml`` configures one - exactly like every other bot text. No reply text
  lives in Python.
* **Splitting** (:func:`split_message`): long replies are cut at paragraph boundaries.
* **Webhook plumbing** (bounded JSON parsing, per-conversation ordered background tasks,
  routes) lives in :mod:`integrations.webhooks` and is re-exported here.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import re
import threading
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

from sqlalchemy import Boolean, DateTime, bindparam, delete, text, update
from sqlalchemy.orm import Session

from bot.db.models import ChatUser, ProcessedMessage, RateLimitHit, utcnow
from bot.db.session import get_sessionmaker, session_scope
from integrations.webhooks import (  # noqa: F401 - re-exported for the channels
    BackgroundTasks,
    ConversationSlot,
    WebhookRejected,
    check_size,
    parse_json,
    parse_json_object,
    webhook_blueprint,
)

logger = logging.getLogger(__name__)

RESPONSE_TEXT_ONLY = "utter_text_only"
RESPONSE_RATE_LIMITED = "utter_rate_limited"
RESPONSE_WELCOME_FOLLOW = "utter_welcome_follow"


# -- admission: de-duplication, per-user rate limit, interaction ------------------------------------


@dataclass(frozen=True)
class Admission:
    """The verdict on one inbound message."""

    duplicate: bool = False
    limited: bool = False
    notify: bool = False

    @property
    def accepted(self) -> bool:
        """True when the message should be processed."""
        return not self.duplicate and not self.limited


def _insert(session: Session, table: Any) -> Any:
    """The dialect's INSERT supporting ``on_conflict_*`` (PostgreSQL and SQLite)."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - only PostgreSQL and SQLite are supported
        raise RuntimeError(f"unsupported database dialect {name}")
    return insert(table)


# The admission runs on every webhook, so its statements are plain SQL (compiled once):
# ``INSERT ... ON CONFLICT`` is understood alike by PostgreSQL (>= 9.5) and SQLite (>= 3.24).
_CLAIM = text(
    "INSERT INTO processed_messages (platform, message_id, received_at) VALUES (:platform, :message_id, :now) "
    "ON CONFLICT (platform, message_id) DO NOTHING"
).bindparams(bindparam("now", type_=DateTime()))
_HIT = text(
    "INSERT INTO rate_limit_hits (user_key, window_start, count, notified) VALUES (:user_key, :window, 1, :no) "
    "ON CONFLICT (user_key, window_start) DO UPDATE SET count = rate_limit_hits.count + 1"
).bindparams(bindparam("window", type_=DateTime()), bindparam("no", type_=Boolean()))
_HIT_READ = text(
    "SELECT id, count, notified FROM rate_limit_hits WHERE user_key = :user_key AND window_start = :window"
).bindparams(bindparam("window", type_=DateTime())).columns(notified=Boolean())
_NOTIFY = text(
    "UPDATE rate_limit_hits SET notified = :yes WHERE id = :id AND notified = :no"
).bindparams(bindparam("yes", type_=Boolean()), bindparam("no", type_=Boolean()))
_TOUCH = text(
    "INSERT INTO chat_users (channel, channel_user_id, reachable, last_interaction_at, created_at) "
    "VALUES (:channel, :user_id, :yes, :now, :now) ON CONFLICT (channel, channel_user_id) DO UPDATE SET "
    "last_interaction_at = excluded.last_interaction_at, reachable = excluded.reachable, unreachable_reason = NULL"
).bindparams(bindparam("now", type_=DateTime()), bindparam("yes", type_=Boolean()))


def claim_message(session: Session, platform: str, message_id: str, now: Optional[dt.datetime] = None) -> bool:
    """Insert-or-skip ``(platform, message_id)``; True when this call claimed it first."""
    result = session.execute(_CLAIM, {"platform": platform, "message_id": str(message_id)[:120],
                                      "now": now or utcnow()})
    return result.rowcount == 1


def count_hit(session: Session, user_key: str, limit: int, now: Optional[dt.datetime] = None) -> Admission:
    """Count one message in the user's current minute; decide limited / notify."""
    window = (now or utcnow()).replace(second=0, microsecond=0)
    params = {"user_key": user_key, "window": window}
    session.execute(_HIT, {**params, "no": False})
    row = session.execute(_HIT_READ, params).one()
    if row.count <= limit:
        return Admission()
    if row.notified:
        return Admission(limited=True)
    flipped = session.execute(_NOTIFY, {"id": row.id, "yes": True, "no": False}).rowcount
    return Admission(limited=True, notify=flipped == 1)


def touch_user(session: Session, channel: str, user_id: str, now: Optional[dt.datetime] = None) -> None:
    """Record an interaction: ``last_interaction_at`` = now and reachable again."""
    session.execute(_TOUCH, {"channel": channel, "user_id": str(user_id), "now": now or utcnow(), "yes": True})


_SQLITE_WRITERS: Dict[str, threading.Lock] = {}
_SQLITE_WRITERS_GUARD = threading.Lock()


@contextlib.contextmanager
def _serialised_if_sqlite(session: Session) -> Iterator[None]:
    """SQLite has one writer at a time: queue this process's writers on a lock instead of
    letting them spin in SQLite's busy handler (which sleeps in 1-100 ms steps)."""
    bind = session.get_bind()
    if bind.dialect.name != "sqlite":
        yield
        return
    with _SQLITE_WRITERS_GUARD:
        lock = _SQLITE_WRITERS.setdefault(str(bind.url), threading.Lock())
    with lock:
        yield


def admit_inbound_sync(
    *,
    platform: str,
    message_id: str,
    channel: str,
    user_id: Optional[str],
    limit: int,
    count_towards_limit: bool = True,
    database_url: Optional[str] = None,
) -> Admission:
    """One transaction: claim the message id, count it for the user, record the interaction."""
    session = get_sessionmaker(database_url)()
    try:
        with _serialised_if_sqlite(session):
            if not claim_message(session, platform, message_id):
                session.rollback()
                return Admission(duplicate=True)
            verdict = Admission()
            if user_id is not None:
                if count_towards_limit and limit > 0:
                    verdict = count_hit(session, f"{channel}:{user_id}", limit)
                touch_user(session, channel, user_id)
            session.commit()
            return verdict
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()


async def admit_inbound(**kwargs: Any) -> Admission:
    """Async wrapper of :func:`admit_inbound_sync` (runs in a worker thread)."""
    return await asyncio.to_thread(lambda: admit_inbound_sync(**kwargs))


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


def prune_channel_records(
    session: Session,
    *,
    processed_older_than: dt.timedelta = dt.timedelta(days=30),
    windows_older_than: dt.timedelta = dt.timedelta(hours=1),
    now: Optional[dt.datetime] = None,
) -> Dict[str, int]:
    """Housekeeping for a scheduled job: drop old message ids and rate-limit windows.

    Message ids are kept far longer than any platform retries (Telegram keeps
    undelivered updates 24 h, Zalo retries for minutes).
    """
    now = now or utcnow()
    removed_ids = session.execute(
        delete(ProcessedMessage).where(ProcessedMessage.received_at < now - processed_older_than)
    ).rowcount
    removed_windows = session.execute(
        delete(RateLimitHit).where(RateLimitHit.window_start < now - windows_older_than)
    ).rowcount
    return {"processed_messages": removed_ids, "rate_limit_hits": removed_windows}


# -- rendering domain responses -------------------------------------------------------------------


async def render_response(agent: Any, response: str, sender_id: str, output_channel: str) -> Optional[Dict[str, Any]]:
    """Render the domain response ``response`` for ``sender_id`` with the agent's NLG.

    Returns the message dict (``text``, ``buttons`` ...) ready for
    ``OutputChannel.send_response``, or None (logged) when no agent / response exists.
    """
    nlg = getattr(agent, "nlg", None)
    if nlg is None:
        logger.error("cannot render %s: no agent loaded", response)
        return None
    from rasa.shared.core.trackers import DialogueStateTracker

    domain = getattr(agent, "domain", None)
    tracker = DialogueStateTracker(sender_id, domain.slots if domain is not None else [])
    try:
        message = await nlg.generate(response, tracker, output_channel)
    except Exception:
        logger.exception("rendering %s failed", response)
        return None
    if not message:
        logger.error("response %s is missing from the domain (domain/channels.yml)", response)
        return None
    return message


# -- splitting long replies -----------------------------------------------------------------------


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units (how Telegram counts its 4096 limit)."""
    return len(text.encode("utf-16-le")) // 2


_SEPARATORS = ("\n\n", "\n", " ")


def split_message(text: str, limit: int, length: Callable[[str], int] = len) -> List[str]:
    """Split ``text`` into chunks of at most ``limit``, preferring paragraph boundaries.

    Paragraphs (blank-line separated) are packed greedily; a paragraph longer than the
    limit is cut at line breaks, then at spaces, and only a single word longer than the
    limit is cut mid-word.

    Args:
        text: the reply.
        limit: maximum chunk length.
        length: how to measure (``len``, or :func:`utf16_len` for Telegram).
    """
    text = re.sub(r"\n[ \t]*\n\s*", "\n\n", text.replace("\r\n", "\n")).strip()
    if not text:
        return []
    return [chunk for chunk in _split(text, limit, length, _SEPARATORS) if chunk.strip()]


def _split(text: str, limit: int, length: Callable[[str], int], seps: Sequence[str]) -> List[str]:
    if length(text) <= limit:
        return [text]
    if not seps:
        return _hard_cut(text, limit, length)
    sep, rest = seps[0], seps[1:]
    chunks: List[str] = []
    current = ""
    for piece in text.split(sep):
        for sub in _split(piece, limit, length, rest):
            candidate = sub if not current else current + sep + sub
            if length(candidate) <= limit:
                current = candidate
            else:
                if current:
                    chunks.append(current)
                current = sub
    if current:
        chunks.append(current)
    return chunks


def _hard_cut(text: str, limit: int, length: Callable[[str], int]) -> List[str]:
    chunks: List[str] = []
    current: List[str] = []
    size = 0
    for char in text:
        width = length(char)
        if size + width > limit and current:
            chunks.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += width
    if current:
        chunks.append("".join(current))
    return chunks
