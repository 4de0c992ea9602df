"""The handoff desk: the queue of tickets, taking and closing them, agents' messages, the live conversation.

Tickets (``handoff_requests``) go ``open`` (waiting) → ``active`` (an agent took it) →
``closed`` (handed back to the assistant, or dropped while waiting). Taking is one atomic
``UPDATE`` (:func:`bot.conversations.handoff.mark_taken`), so two agents can never hold the
same ticket; every take, hand-back and close is in the audit log with the waiting and
handling times. The live conversation is read from Rasa's ``events`` table (the tracker
store lives in the project database), with phone numbers masked again for display.

No Rasa and no HTTP here: the console pauses and resumes the assistant and sends replies
through the bridge (``integrations/console_bridge.py``) around these calls.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from sqlalchemy import bindparam, func, inspect, select, text, update
from sqlalchemy.orm import Session

from bot.conversations.handoff import mark_closed, mark_taken
from bot.conversations.identity import parse_conversation_id
from bot.conversations.masking import mask_phones
from bot.db.models import HandoffRequest, utcnow
from bot.db.models_handoff import HandoffMessage
from bot.db.session import autocommit_engine, read_scope
from bot.staff import audit

logger = logging.getLogger(__name__)

QUEUES = {"waiting": "open", "active": "active", "closed": "closed"}
"""Queue name (URL) → ticket status."""
ENTITY = "handoff_request"
AGENT_METADATA = "handoff_agent"  # metadata key of agents' BotUttered events (see the bridge)
LIVE_LIMIT = 200
_EVENTS = text("SELECT id, type_name, timestamp, data FROM events WHERE sender_id = :sender AND id > :after "
               "AND timestamp >= :since ORDER BY id LIMIT :limit")
_PAUSE_STATE = {"pause": True, "resume": False, "session_started": False, "restart": False}


class DeskError(Exception):
    """A desk action that cannot be done; ``status`` is the HTTP status a route answers."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class TicketView:
    """A ticket as the desk shows it (texts with phone numbers masked)."""

    id: int
    conversation_id: str
    channel: str
    status: str
    reason: str
    agent: Optional[str]
    created_at: dt.datetime
    taken_at: Optional[dt.datetime]
    closed_at: Optional[dt.datetime]
    waiting_seconds: int
    handling_seconds: Optional[int]
    transcript: List[Dict[str, Any]] = field(default_factory=list)


def _seconds(start: Optional[dt.datetime], end: Optional[dt.datetime]) -> Optional[int]:
    return None if start is None or end is None else max(0, int((end - start).total_seconds()))


def view(ticket: HandoffRequest, now: Optional[dt.datetime] = None) -> TicketView:
    """The desk's view of ``ticket``: channel, waiting time (until taken, closed or now), masked texts."""
    now = now or utcnow()
    identity = parse_conversation_id(ticket.sender_key)
    waited_until = ticket.taken_at or ticket.closed_at or now
    lines = [{"by": line.get("by"), "text": mask_phones(str(line.get("text") or "")), "at": line.get("at")}
             for line in (ticket.transcript or []) if isinstance(line, dict)]
    return TicketView(
        id=int(ticket.id), conversation_id=ticket.sender_key, channel=identity.channel if identity else "?",
        status=ticket.status, reason=mask_phones(ticket.reason or ""), agent=ticket.agent,
        created_at=ticket.created_at, taken_at=ticket.taken_at, closed_at=ticket.closed_at,
        waiting_seconds=_seconds(ticket.created_at, waited_until) or 0,
        handling_seconds=_seconds(ticket.taken_at, ticket.closed_at or (now if ticket.taken_at else None)),
        transcript=lines)


def queue(session: Session, name: str, limit: int = 100, now: Optional[dt.datetime] = None) -> List[TicketView]:
    """Tickets of queue ``name`` (waiting: oldest first; active: longest held first; closed: newest first).

    Raises:
        DeskError: unknown queue (400).
    """
    status = QUEUES.get(name)
    if status is None:
        raise DeskError(400, "Hàng đợi không hợp lệ.")
    order = {"open": HandoffRequest.created_at.asc(), "active": HandoffRequest.taken_at.asc(),
             "closed": HandoffRequest.closed_at.desc()}[status]
    rows = session.execute(select(HandoffRequest).where(HandoffRequest.status == status)
                           .order_by(order, HandoffRequest.id).limit(max(1, min(limit, 500)))).scalars()
    return [view(ticket, now) for ticket in rows]


def counts(session: Session) -> Dict[str, int]:
    """Number of tickets per queue."""
    found = dict(session.execute(select(HandoffRequest.status, func.count()).group_by(HandoffRequest.status)).all())
    return {name: int(found.get(status, 0)) for name, status in QUEUES.items()}


def get_ticket(session: Session, ticket_id: int) -> HandoffRequest:
    """Ticket ``ticket_id``.

    Raises:
        DeskError: no such ticket (404).
    """
    ticket = session.get(HandoffRequest, ticket_id)
    if ticket is None:
        raise DeskError(404, "Không tìm thấy yêu cầu này.")
    return ticket


def take(session: Session, ticket_id: int, agent: str, now: Optional[dt.datetime] = None) -> HandoffRequest:
    """``agent`` takes a waiting ticket (atomic), audited with the waiting time; the caller commits.

    Raises:
        DeskError: no such ticket (404); taken by someone else or closed (409).
    """
    ticket = get_ticket(session, ticket_id)
    now = now or utcnow()
    if not mark_taken(session, ticket_id, now, agent=agent):
        session.refresh(ticket)
        if ticket.status == "closed":
            raise DeskError(409, "Yêu cầu này đã đóng.")
        raise DeskError(409, f"Yêu cầu này đã được cán bộ {ticket.agent or 'khác'} nhận.")
    session.refresh(ticket)
    audit.record(session, agent, "handoff.take", ENTITY, str(ticket_id), {"status": "open"},
                 {"status": "active", "agent": agent, "waiting_seconds": _seconds(ticket.created_at, now)})
    return ticket


def release(session: Session, ticket_id: int, agent: str, note: str) -> bool:
    """Undo ``agent``'s take of a ticket (the assistant could not be paused); audited. The caller commits."""
    undone = session.execute(
        update(HandoffRequest).where(HandoffRequest.id == ticket_id, HandoffRequest.agent == agent,
                                     HandoffRequest.status == "active", HandoffRequest.closed_at.is_(None))
        .values(status="open", taken_at=None, agent=None)).rowcount
    if undone:
        audit.record(session, agent, "handoff.release", ENTITY, str(ticket_id), {"status": "active", "agent": agent},
                     {"status": "open"}, note)
    return bool(undone)


def check_holder(ticket: HandoffRequest, staff: str, is_admin: bool) -> None:
    """Only the agent holding an active ticket (or an admin) may write in it or hand it back.

    Raises:
        DeskError: the ticket is not active (409) or held by another agent (403).
    """
    if ticket.status != "active":
        raise DeskError(409, "Yêu cầu này không ở trạng thái đang xử lý.")
    if ticket.agent != staff and not is_admin:
        raise DeskError(403, f"Yêu cầu này do cán bộ {ticket.agent} xử lý.")


def close(session: Session, ticket_id: int, actor: str, note: Optional[str] = None,
          now: Optional[dt.datetime] = None) -> HandoffRequest:
    """Close a ticket (hand back an active one, drop a waiting one), audited with waiting/handling times.

    Raises:
        DeskError: no such ticket (404), already closed (409).
    """
    ticket = get_ticket(session, ticket_id)
    before = {"status": ticket.status, "agent": ticket.agent}
    now = now or utcnow()
    if not mark_closed(session, ticket_id, now):
        raise DeskError(409, "Yêu cầu này đã đóng.")
    session.refresh(ticket)
    action = "handoff.hand_back" if before["status"] == "active" else "handoff.close"
    audit.record(session, actor, action, ENTITY, str(ticket_id), before,
                 {"status": "closed", "waiting_seconds": _seconds(ticket.created_at, ticket.taken_at or now),
                  "handling_seconds": _seconds(ticket.taken_at, now)}, note)
    return ticket


def record_message(session: Session, ticket: HandoffRequest, agent: str, text_: str, delivered: bool,
                   now: Optional[dt.datetime] = None) -> HandoffMessage:
    """Store what ``agent`` wrote (delivered now, or waiting for the citizen's next message); audited."""
    now = now or utcnow()
    message = HandoffMessage(ticket_id=ticket.id, conversation_id=ticket.sender_key, agent=agent, text=text_,
                             created_at=now, delivered_at=now if delivered else None)
    session.add(message)
    session.flush()
    audit.record(session, agent, "handoff.reply", ENTITY, str(ticket.id), None,
                 {"message_id": message.id, "chars": len(text_), "delivered": delivered})
    return message


_MESSAGES = HandoffMessage.__table__
# Built once (issue 15): these run in every turn, and building a statement cost more than running it.
_WAITING = (select(_MESSAGES.c.id, _MESSAGES.c.text)
            .where(_MESSAGES.c.conversation_id == bindparam("conversation_id"), _MESSAGES.c.delivered_at.is_(None))
            .order_by(_MESSAGES.c.id))
_CLAIM = (update(_MESSAGES).where(_MESSAGES.c.id == bindparam("message_id"), _MESSAGES.c.delivered_at.is_(None))
          .values(delivered_at=bindparam("now")))
_HELD = select(HandoffRequest.id).where(HandoffRequest.sender_key == bindparam("conversation_id"),
                                        HandoffRequest.status == "active").limit(1)


def take_pending(conversation_id: str, database_url: Optional[str] = None) -> List[str]:
    """Agents' messages still waiting for a request/response channel, oldest first, marked delivered.

    Each message is claimed with ``UPDATE … WHERE delivered_at IS NULL``, so two replicas
    answering the same citizen never both carry it. This runs after every REST turn, mostly to
    find nothing: each statement is its own transaction (one round trip for the usual empty read).
    """
    texts: List[str] = []
    with autocommit_engine(database_url).connect() as connection:
        waiting = connection.execute(_WAITING, {"conversation_id": conversation_id}).all()
        for message_id, body in waiting:
            if connection.execute(_CLAIM, {"message_id": message_id, "now": utcnow()}).rowcount:
                texts.append(body)
    return texts


def held_by_agent(conversation_id: str, database_url: Optional[str] = None) -> bool:
    """True while an agent holds a ticket of this conversation (the assistant must stay paused)."""
    with read_scope(database_url) as session:
        found = session.execute(_HELD, {"conversation_id": conversation_id}).first()
    return found is not None


def _line(row: Any) -> Optional[Dict[str, Any]]:
    try:
        data = json.loads(row.data)
    except (TypeError, ValueError):
        return None
    kind = data.get("event")
    if kind in {"user", "bot"} and data.get("text"):
        agent = (data.get("metadata") or {}).get(AGENT_METADATA) if kind == "bot" else None
        return {"id": int(row.id), "by": "agent" if agent else kind, "agent": agent,
                "text": mask_phones(str(data["text"])), "at": float(row.timestamp)}
    if kind in _PAUSE_STATE or row.type_name in _PAUSE_STATE:
        return {"id": int(row.id), "by": "system", "event": kind or row.type_name, "at": float(row.timestamp)}
    return None


def live_messages(session: Session, ticket: HandoffRequest, after_id: int = 0,
                  limit: int = LIVE_LIMIT) -> Dict[str, Any]:
    """The conversation since the ticket was opened, after event ``after_id``.

    Returns:
        ``{"messages": [...], "last_id": int, "paused": bool | None}``: user, bot and agent
        texts (phones masked) and pause/resume markers; ``paused`` is the assistant's state
        after the last such marker seen (None when none was in this batch).
    """
    if not inspect(session.connection()).has_table("events"):
        return {"messages": [], "last_id": after_id, "paused": None}
    since = ticket.created_at.replace(tzinfo=dt.timezone.utc).timestamp()
    rows = session.execute(_EVENTS, {"sender": ticket.sender_key, "after": max(0, after_id), "since": since,
                                     "limit": max(1, min(limit, LIVE_LIMIT))}).all()
    messages, paused = [], None
    for row in rows:
        line = _line(row)
        if line is None:
            continue
        if line["by"] == "system":
            paused = _PAUSE_STATE[line["event"]]
        messages.append(line)
    last_id = int(rows[-1].id) if rows else after_id
    return {"messages": messages, "last_id": last_id, "paused": paused}
