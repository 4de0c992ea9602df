"""Conversation review (console item 5): browse and search conversations, read transcripts, tag and flag.

Browsing reads the per-conversation summaries of the rollup job (``analytics_conversations``:
current as of its last run) with keyset pagination on ``(last_at, sender_id)``, newest first;
ratings, handoffs, tags and flags are looked up live. Transcripts are read live from Rasa's
``events``. Phone numbers and dossier codes are masked unless the caller passes
``reveal=True`` (the console decides from the staff member's role).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.analytics.compute import FALLBACK_ACTION, FALLBACK_INTENT
from bot.analytics.periods import AnalyticsInputError, DateLike, day_bounds, parse_date, zone_of
from bot.analytics.schema import (
    CHANNEL_LABELS,
    analytics_conversation_intents,
    analytics_conversations,
    channel_of,
    conversation_flags,
    conversation_tags,
    events,
    has_events,
)
from bot.conversations.masking import mask_for_review
from bot.db.models import Feedback, HandoffRequest, utcnow

PAGE_MAX = 200
TRANSCRIPT_MAX = 1000
TAG_MAX = 60


@dataclass(frozen=True)
class ConversationFilter:
    """What to browse: every field None means no condition. Dates are local days, both inclusive."""

    start: Optional[DateLike] = None
    end: Optional[DateLike] = None
    channel: Optional[str] = None
    intent: Optional[str] = None
    min_rating: Optional[int] = None
    max_rating: Optional[int] = None
    had_fallback: Optional[bool] = None
    had_handoff: Optional[bool] = None
    tag: Optional[str] = None
    flagged: Optional[bool] = None  # True: an open review flag


@dataclass
class ConversationSummary:
    """One row of the conversation list: ``conversation_id`` is the key (links, tags, transcript);
    show ``display_id`` (phone-like digits masked unless revealed)."""

    conversation_id: str
    display_id: str
    channel: str
    started_at: dt.datetime
    last_at: dt.datetime
    sessions: int
    user_messages: int
    bot_messages: int
    fallback_messages: int
    intents: Dict[str, int] = field(default_factory=dict)
    ratings: List[int] = field(default_factory=list)
    handoff: bool = False
    tags: List[str] = field(default_factory=list)
    flag: Optional[Dict[str, Any]] = None


@dataclass
class ConversationPage:
    """A page of conversations and the cursor of the next page (None: last page)."""

    items: List[ConversationSummary]
    next_cursor: Optional[str]


@dataclass
class TranscriptLine:
    """A message of a transcript."""

    event_id: int
    at: dt.datetime
    by: str  # user | bot
    text: str
    intent: Optional[str] = None
    fell_back: bool = False


def _encode(last_at: float, sender_id: str) -> str:
    raw = json.dumps([last_at, sender_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        last_at, sender_id = json.loads(raw)
        if (isinstance(last_at, bool) or not isinstance(last_at, (int, float)) or not isinstance(sender_id, str)
                or "\x00" in sender_id or not math.isfinite(last_at)):
            raise ValueError
        return float(last_at), sender_id
    except (ValueError, TypeError, UnicodeDecodeError):
        raise AnalyticsInputError("invalid page cursor") from None


def _rating(value: Optional[int], name: str) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise AnalyticsInputError(f"{name} must be a whole number from 1 to 5")
    return value


def _conditions(f: ConversationFilter, zone: dt.tzinfo) -> List[Any]:
    c = analytics_conversations.c
    where: List[Any] = []
    if f.start is not None:
        where.append(c.last_at >= day_bounds(parse_date(f.start, "start"), zone)[0])
    if f.end is not None:
        where.append(c.started_at < day_bounds(parse_date(f.end, "end"), zone)[1])
    if f.start is not None and f.end is not None and parse_date(f.end, "end") < parse_date(f.start, "start"):
        raise AnalyticsInputError("end must not be before start")
    if f.channel is not None:
        if f.channel not in CHANNEL_LABELS:
            raise AnalyticsInputError(f"channel must be one of {', '.join(CHANNEL_LABELS)}")
        where.append(c.channel == f.channel)
    if f.intent is not None:
        ci = analytics_conversation_intents.c
        where.append(sa.exists().where(ci.sender_id == c.sender_id, ci.intent == str(f.intent)[:255]))
    low, high = _rating(f.min_rating, "min_rating"), _rating(f.max_rating, "max_rating")
    if low is not None or high is not None:
        rated = [Feedback.sender_key == c.sender_id, Feedback.rating.isnot(None)]
        if low is not None:
            rated.append(Feedback.rating >= low)
        if high is not None:
            rated.append(Feedback.rating <= high)
        where.append(sa.exists().where(*rated))
    if f.had_fallback is not None:
        where.append(c.fallback_messages > 0 if f.had_fallback else c.fallback_messages == 0)
    if f.had_handoff is not None:
        handoff = sa.exists().where(HandoffRequest.sender_key == c.sender_id)
        where.append(handoff if f.had_handoff else ~handoff)
    if f.tag is not None:
        t = conversation_tags.c
        where.append(sa.exists().where(t.sender_id == c.sender_id, t.tag == _tag(f.tag)))
    if f.flagged is not None:
        fl = conversation_flags.c
        open_flag = sa.exists().where(fl.sender_id == c.sender_id, fl.resolved_at.is_(None))
        where.append(open_flag if f.flagged else ~open_flag)
    return where


def _when(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc)


def browse_conversations(session: Session, filters: Optional[ConversationFilter] = None, *, limit: int = 50,
                         cursor: Optional[str] = None, reveal: bool = False, zone: Any = None) -> ConversationPage:
    """Conversations matching ``filters``, most recently active first, ``limit`` per page.

    Args:
        cursor: ``next_cursor`` of the previous page.
        reveal: ``display_id`` unmasked (ids carry channel user ids; phone-like digits are masked).

    Raises:
        AnalyticsInputError: bad dates, channel, rating, limit or cursor.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= PAGE_MAX:
        raise AnalyticsInputError(f"limit must be a whole number from 1 to {PAGE_MAX}")
    c = analytics_conversations.c
    where = _conditions(filters or ConversationFilter(), zone_of(zone))
    if cursor:
        last_at, sender_id = _decode(cursor)
        where.append(sa.or_(c.last_at < last_at, sa.and_(c.last_at == last_at, c.sender_id < sender_id)))
    rows = session.execute(sa.select(analytics_conversations).where(*where)
                           .order_by(c.last_at.desc(), c.sender_id.desc()).limit(limit + 1)).all()
    more, rows = len(rows) > limit, rows[:limit]
    items = [ConversationSummary(r.sender_id, r.sender_id if reveal else mask_for_review(r.sender_id), r.channel,
                                 _when(r.started_at), _when(r.last_at), r.sessions, r.user_messages,
                                 r.bot_messages, r.fallback_messages) for r in rows]
    _decorate(session, [r.sender_id for r in rows], items)
    return ConversationPage(items, _encode(rows[-1].last_at, rows[-1].sender_id) if more and rows else None)


def find_conversation(session: Session, conversation_id: str, *, reveal: bool = False) -> Optional[ConversationSummary]:
    """The summary of one conversation (None: unknown id).

    A conversation the rollup has not reached yet is summarised from its events (counts zero).
    """
    if not isinstance(conversation_id, str) or not conversation_id or len(conversation_id) > 255:
        return None
    c = analytics_conversations.c
    row = session.execute(sa.select(analytics_conversations).where(c.sender_id == conversation_id)).first()
    if row is not None:
        item = ConversationSummary(row.sender_id, row.sender_id if reveal else mask_for_review(row.sender_id),
                                   row.channel, _when(row.started_at), _when(row.last_at), row.sessions,
                                   row.user_messages, row.bot_messages, row.fallback_messages)
    else:
        if not has_events(session.connection()):
            return None
        e = events.c
        first, last = session.execute(sa.select(sa.func.min(e.timestamp), sa.func.max(e.timestamp))
                                      .where(e.sender_id == conversation_id)).one()
        if first is None:
            return None
        item = ConversationSummary(conversation_id, conversation_id if reveal else mask_for_review(conversation_id),
                                   channel_of(conversation_id), _when(first), _when(last), 0, 0, 0, 0)
    _decorate(session, [conversation_id], [item])
    return item


def _decorate(session: Session, ids: Sequence[str], items: List[ConversationSummary]) -> None:
    if not ids:
        return
    by_id = dict(zip(ids, items))
    ci = analytics_conversation_intents.c
    for sender_id, intent, n in session.execute(sa.select(ci.sender_id, ci.intent, ci.messages)
                                                .where(ci.sender_id.in_(ids))):
        by_id[sender_id].intents[intent] = n
    for sender_id, rating in session.execute(sa.select(Feedback.sender_key, Feedback.rating).where(
            Feedback.sender_key.in_(ids), Feedback.rating.isnot(None)).order_by(Feedback.id)):
        by_id[sender_id].ratings.append(rating)
    for (sender_id,) in session.execute(sa.select(HandoffRequest.sender_key)
                                        .where(HandoffRequest.sender_key.in_(ids)).distinct()):
        by_id[sender_id].handoff = True
    t = conversation_tags.c
    for sender_id, tag in session.execute(sa.select(t.sender_id, t.tag).where(t.sender_id.in_(ids)).order_by(t.tag)):
        by_id[sender_id].tags.append(tag)
    fl = conversation_flags.c
    for row in session.execute(sa.select(conversation_flags).where(fl.sender_id.in_(ids))):
        by_id[row.sender_id].flag = {"reason": row.reason, "flagged_by": row.flagged_by, "flagged_at": row.flagged_at,
                                     "resolved_by": row.resolved_by, "resolved_at": row.resolved_at}


def transcript(session: Session, conversation_id: str, *, reveal: bool = False, after_event_id: int = 0,
               limit: int = 500) -> List[TranscriptLine]:
    """The citizen's and the assistant's messages of a conversation, oldest first, live from ``events``.

    Args:
        conversation_id: the unmasked id (``sender_id``), as the console got it from
            :func:`browse_conversations` with ``reveal=True`` or from its own records.
        reveal: phone numbers and dossier codes in clear (roles that may see personal data).
        after_event_id: keyset: the last ``event_id`` of the previous page.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= TRANSCRIPT_MAX:
        raise AnalyticsInputError(f"limit must be a whole number from 1 to {TRANSCRIPT_MAX}")
    if not has_events(session.connection()):
        return []
    e = events.c
    rows = session.execute(
        sa.select(e.id, e.type_name, e.timestamp, e.intent_name, e.action_name, e.data)
        .where(e.sender_id == conversation_id, e.id > after_event_id,
               sa.or_(e.type_name.in_(("user", "bot")),
                      sa.and_(e.type_name == "action", e.action_name != "action_listen")))
        .order_by(e.id).limit(limit * 3 + 2)).all()
    lines: List[TranscriptLine] = []
    last_user: Optional[TranscriptLine] = None
    for row in rows:
        if row.type_name == "action":
            if last_user is not None and row.action_name == FALLBACK_ACTION:
                last_user.fell_back = True
            last_user = None
            continue
        if len(lines) == limit:
            break
        text = _text(row.data)
        line = TranscriptLine(row.id, _when(row.timestamp or 0), row.type_name,
                              text if reveal else mask_for_review(text),
                              row.intent_name if row.type_name == "user" else None,
                              row.type_name == "user" and row.intent_name == FALLBACK_INTENT)
        lines.append(line)
        last_user = line if row.type_name == "user" else None
    return lines


def _text(data: Optional[str]) -> str:
    try:
        value = json.loads(data or "{}").get("text")
    except (ValueError, AttributeError):
        return ""
    return value if isinstance(value, str) else ""


def _tag(tag: str) -> str:
    value = " ".join(str(tag).split()).lower()
    if not value or len(value) > TAG_MAX:
        raise AnalyticsInputError(f"a tag must be 1 to {TAG_MAX} characters")
    return value


def add_tag(session: Session, conversation_id: str, tag: str, by: str) -> bool:
    """Tag a conversation (tags are lower-case, spaces collapsed); False when it had the tag already."""
    value = _tag(tag)
    t = conversation_tags.c
    if session.execute(sa.select(t.id).where(t.sender_id == conversation_id, t.tag == value)).first():
        return False
    session.execute(conversation_tags.insert().values(sender_id=conversation_id, tag=value, created_by=by[:100],
                                                      created_at=utcnow()))
    return True


def remove_tag(session: Session, conversation_id: str, tag: str) -> bool:
    """Remove a tag; False when the conversation did not have it."""
    t = conversation_tags.c
    return bool(session.execute(conversation_tags.delete().where(t.sender_id == conversation_id,
                                                                 t.tag == _tag(tag))).rowcount)


def tags_in_use(session: Session, limit: int = 200) -> List[tuple]:
    """``(tag, conversations)`` of every tag, most used first (for the filter's choices)."""
    t = conversation_tags.c
    return [tuple(r) for r in session.execute(sa.select(t.tag, sa.func.count()).group_by(t.tag)
                                              .order_by(sa.func.count().desc(), t.tag).limit(limit))]


def flag_for_review(session: Session, conversation_id: str, reason: Optional[str], by: str) -> None:
    """Flag a conversation for review (again, if it was flagged and resolved before)."""
    fl = conversation_flags.c
    values = {"reason": (reason or "")[:2000] or None, "flagged_by": by[:100], "flagged_at": utcnow(),
              "resolved_by": None, "resolved_at": None}
    updated = session.execute(conversation_flags.update().where(fl.sender_id == conversation_id).values(**values))
    if not updated.rowcount:
        session.execute(conversation_flags.insert().values(sender_id=conversation_id, **values))


def resolve_flag(session: Session, conversation_id: str, by: str) -> bool:
    """Mark a conversation's open review flag resolved; False when it had none."""
    fl = conversation_flags.c
    return bool(session.execute(conversation_flags.update().where(
        fl.sender_id == conversation_id, fl.resolved_at.is_(None)).values(resolved_by=by[:100],
                                                                          resolved_at=utcnow())).rowcount)
