"""The handoff desk (role ``agent``, admins too): queue, take, live chat, reply, hand back."""

from __future__ import annotations

import datetime as dt
from typing import List, Optional

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, constr
from sqlalchemy.orm import Session

from bot.conversations import handoff_desk as desk
from bot.conversations.office_hours import next_staffed
from bot.settings import get_settings
from bot.staff.sessions import ActiveSession
from console import bridge
from console.deps import db, require
from console.templating import render

router = APIRouter(tags=["handoff"])
AGENT = require("agent")
TicketId = Path(..., ge=1, le=2_147_483_647)
CHANNELS = {"telegram": "Telegram", "zalo": "Zalo", "rest": "REST (thử nghiệm)", "web": "Web"}


class TicketOut(BaseModel):
    """A ticket in the queue."""

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


class LiveMessage(BaseModel):
    """One line of the live conversation: ``by`` is user, bot, agent or system (pause / resume …)."""

    id: int
    by: str
    text: Optional[str] = None
    agent: Optional[str] = None
    event: Optional[str] = None
    at: float


class LiveOut(BaseModel):
    """New lines of a ticket's conversation after event ``last_id`` of the previous call."""

    ticket_status: str
    agent: Optional[str]
    messages: List[LiveMessage]
    last_id: int
    paused: Optional[bool]


class ReplyIn(BaseModel):
    """What the agent writes to the citizen."""

    text: constr(strip_whitespace=True, min_length=1, max_length=4000)  # type: ignore[valid-type]


class ReplyOut(BaseModel):
    """The stored message and how it reached the citizen (``sent``, or ``queued`` for the REST channel)."""

    message_id: int
    delivery: str


def _opening() -> Optional[dt.datetime]:
    return next_staffed(get_settings())


def _queue_page(request: Request, session: Session, name: str, error: Optional[str] = None,
                status_code: int = 200) -> Response:
    name = name if name in desk.QUEUES else "waiting"
    opening = _opening()
    return render(request, "handoff.html", {
        "tickets": desk.queue(session, name), "counts": desk.counts(session), "queue": name, "error": error,
        "channels": CHANNELS, "staffed_now": opening is not None and opening <= dt.datetime.now(opening.tzinfo),
        "opening": opening}, status_code=status_code)


@router.get("/console/handoff", include_in_schema=False)
def queue_page(request: Request, q: str = Query("waiting", max_length=20), session: Session = Depends(db),
               staff: ActiveSession = Depends(AGENT)) -> Response:
    """The queue: waiting, active or closed tickets with waiting time, channel, reason and transcript."""
    return _queue_page(request, session, q)


@router.post("/console/handoff/{ticket_id}/take", include_in_schema=False)
def take_ticket(request: Request, ticket_id: int = TicketId, session: Session = Depends(db),
                staff: ActiveSession = Depends(AGENT)) -> Response:
    """Take a waiting ticket (atomic) and pause the assistant in that conversation."""
    try:
        ticket = desk.take(session, ticket_id, staff.username)
    except desk.DeskError as exc:
        session.rollback()
        return _queue_page(request, session, "waiting", exc.message, exc.status)
    conversation = ticket.sender_key
    session.commit()  # the take is visible to other agents before the (slower) call to Rasa
    try:
        bridge.call("pause", conversation)
    except bridge.BridgeError as exc:
        desk.release(session, ticket_id, staff.username, "trợ lý không tạm dừng được")
        session.commit()
        return _queue_page(request, session, "waiting", exc.message, exc.status)
    return RedirectResponse(f"/console/handoff/{ticket_id}", status_code=303)


@router.get("/console/handoff/{ticket_id}", include_in_schema=False)
def chat_page(request: Request, ticket_id: int = TicketId, session: Session = Depends(db),
              staff: ActiveSession = Depends(AGENT)) -> Response:
    """One ticket: its transcript, the live conversation, the reply box and the hand-back button."""
    try:
        ticket = desk.get_ticket(session, ticket_id)
    except desk.DeskError as exc:
        return _queue_page(request, session, "waiting", exc.message, exc.status)
    holder = ticket.status == "active" and (ticket.agent == staff.username or staff.role == "admin")
    return render(request, "handoff_chat.html", {"ticket": desk.view(ticket), "holder": holder,
                                                 "channels": CHANNELS})


@router.post("/console/handoff/{ticket_id}/close", include_in_schema=False)
def close_ticket(request: Request, ticket_id: int = TicketId, session: Session = Depends(db),
                 staff: ActiveSession = Depends(AGENT)) -> Response:
    """Hand an active ticket back to the assistant (it answers again), or drop a waiting one."""
    try:
        ticket = desk.get_ticket(session, ticket_id)
        if ticket.status == "active":
            desk.check_holder(ticket, staff.username, staff.role == "admin")
            bridge.call("resume", ticket.sender_key)
        desk.close(session, ticket_id, staff.username)
        session.commit()  # before the redirect is sent (``db`` commits only after the response)
    except desk.DeskError as exc:
        session.rollback()
        return _queue_page(request, session, "active", exc.message, exc.status)
    except bridge.BridgeError as exc:
        session.rollback()
        return _queue_page(request, session, "active", exc.message, exc.status)
    return RedirectResponse("/console/handoff?q=closed", status_code=303)


@router.get("/console/api/handoff/tickets", response_model=List[TicketOut])
def tickets_api(queue: str = Query("waiting", max_length=20), limit: int = Query(100, ge=1, le=500),
                session: Session = Depends(db), staff: ActiveSession = Depends(AGENT)) -> object:
    """Tickets of one queue (``waiting``, ``active``, ``closed``)."""
    try:
        return [TicketOut(**{k: v for k, v in vars(t).items() if k != "transcript"})
                for t in desk.queue(session, queue, limit)]
    except desk.DeskError as exc:
        return JSONResponse({"detail": exc.message}, status_code=exc.status)


@router.get("/console/api/handoff/tickets/{ticket_id}/messages", response_model=LiveOut)
def messages_api(ticket_id: int = TicketId, after: int = Query(0, ge=0, le=2**62),
                 session: Session = Depends(db), staff: ActiveSession = Depends(AGENT)) -> object:
    """The conversation since the ticket opened, after event ``after`` (the page polls it every second)."""
    try:
        ticket = desk.get_ticket(session, ticket_id)
    except desk.DeskError as exc:
        return JSONResponse({"detail": exc.message}, status_code=exc.status)
    live = desk.live_messages(session, ticket, after)
    return LiveOut(ticket_status=ticket.status, agent=ticket.agent, **live)


@router.post("/console/api/handoff/tickets/{ticket_id}/reply", response_model=ReplyOut)
def reply_api(body: ReplyIn, ticket_id: int = TicketId, session: Session = Depends(db),
              staff: ActiveSession = Depends(AGENT)) -> object:
    """Send the agent's message to the citizen on their channel and store it in the conversation."""
    try:
        ticket = desk.get_ticket(session, ticket_id)
        desk.check_holder(ticket, staff.username, staff.role == "admin")
        answer = bridge.call("reply", ticket.sender_key, text=body.text, agent=staff.username)
    except desk.DeskError as exc:
        return JSONResponse({"detail": exc.message}, status_code=exc.status)
    except bridge.BridgeError as exc:
        return JSONResponse({"detail": exc.message}, status_code=exc.status)
    delivery = str(answer.get("delivery") or "sent")
    message = desk.record_message(session, ticket, staff.username, body.text, delivered=delivery == "sent")
    session.commit()  # stored before the agent's page hears "sent" (``db`` commits only after the response)
    return ReplyOut(message_id=int(message.id), delivery=delivery)
