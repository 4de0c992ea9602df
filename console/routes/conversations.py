"""Conversation review (console item 5): browse and search, read a transcript, tag and flag for review.

Reading: analysts, agents, trainers, editors (and admins). Tagging and flagging: analysts and
admins, every change audited. Phone numbers and dossier codes are masked for everyone; an
admin may unmask one list or transcript on purpose (``reveal=1``), and that viewing is audited
too: admins already administer accounts and see the audit log, and someone must be able to
answer a citizen's complaint or a legal request about a specific conversation. Analysts work on
aggregates and wording and never need the personal data, so they never get it.
Conversations are addressed by an opaque reference (:func:`console.analytics_view.encode_ref`).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Dict, List, Optional
from urllib.parse import urlencode

from fastapi import APIRouter, Body, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from bot import analytics as an
from bot.analytics.review import TAG_MAX
from bot.staff import audit
from bot.staff.sessions import ActiveSession
from console.analytics_view import CHANNELS, INTENTS, decode_ref, encode_ref, vi_error
from console.deps import DB, MAX_ID, READ_ROLES, allowed, require
from console.templating import render

logger = logging.getLogger(__name__)
router = APIRouter(tags=["conversations"])
REVIEW_ROLES = ("analyst",)
REVEAL_ROLES: tuple = ()  # admins only (require() lets admins through every role list)
TRI = {"": None, "1": True, "0": False}


class Flag(BaseModel):
    """A review flag (open while ``resolved_at`` is empty)."""

    reason: Optional[str]
    flagged_by: str
    flagged_at: dt.datetime
    resolved_by: Optional[str]
    resolved_at: Optional[dt.datetime]


class ConversationOut(BaseModel):
    """One conversation: ``ref`` addresses it in every other call; ``display_id`` is masked unless revealed."""

    ref: str
    display_id: str
    channel: str
    started_at: dt.datetime
    last_at: dt.datetime
    sessions: int
    user_messages: int
    bot_messages: int
    fallback_messages: int
    intents: Dict[str, int]
    ratings: List[int]
    handoff: bool
    tags: List[str]
    flag: Optional[Flag]


class ConversationPageOut(BaseModel):
    """A page of conversations, newest activity first; pass ``next_cursor`` as ``cursor`` for the next."""

    items: List[ConversationOut]
    next_cursor: Optional[str]
    revealed: bool


class LineOut(BaseModel):
    """One message of a transcript."""

    event_id: int
    at: dt.datetime
    by: str
    text: str
    intent: Optional[str]
    fell_back: bool


class TranscriptOut(BaseModel):
    """A conversation with a page of its messages (``next_after``: pass as ``after`` for more)."""

    conversation: ConversationOut
    lines: List[LineOut]
    next_after: Optional[int]
    revealed: bool


class TagIn(BaseModel):
    """A tag (lower-cased, spaces collapsed)."""

    tag: str = Field(..., min_length=1, max_length=TAG_MAX)


class FlagIn(BaseModel):
    """Why the conversation needs review."""

    reason: Optional[str] = Field(None, max_length=2000)


class ChangeOut(BaseModel):
    """The outcome of a tag or flag change, and the conversation afterwards."""

    changed: bool
    conversation: ConversationOut


def _out(item: an.ConversationSummary) -> ConversationOut:
    return ConversationOut(ref=encode_ref(item.conversation_id), **{
        k: v for k, v in item.__dict__.items() if k != "conversation_id"})


def _bad(exc: Exception) -> HTTPException:
    return HTTPException(400, vi_error(exc))


def _reveal(staff: ActiveSession, reveal: bool) -> bool:
    if reveal and not allowed(staff, REVEAL_ROLES):
        raise HTTPException(403, "Chỉ quản trị viên được xem số điện thoại và mã hồ sơ đầy đủ.")
    return reveal


def _filters(start: Optional[str] = Query(None, max_length=10), end: Optional[str] = Query(None, max_length=10),
             channel: Optional[str] = Query(None, max_length=20), intent: Optional[str] = Query(None, max_length=100),
             min_rating: str = Query("", max_length=1, description="1 to 5 stars"),
             max_rating: str = Query("", max_length=1, description="1 to 5 stars"),
             fallback: str = Query("", max_length=1, description="1: fell back at least once, 0: never"),
             handoff: str = Query("", max_length=1, description="1: asked for staff, 0: did not"),
             tag: Optional[str] = Query(None, max_length=TAG_MAX),
             flagged: str = Query("", max_length=1, description="1: open review flag, 0: none")
             ) -> an.ConversationFilter:
    """The conversation filter of the query string (empty fields: no condition)."""
    if any("\x00" in (v or "") for v in (start, end, channel, intent, tag)):
        raise HTTPException(400, "Bộ lọc chứa ký tự không hợp lệ.")
    if fallback not in TRI or handoff not in TRI or flagged not in TRI:
        raise HTTPException(400, "Bộ lọc có/không chỉ nhận 1, 0 hoặc để trống.")
    if any(v and v not in "12345" for v in (min_rating, max_rating)):
        raise HTTPException(400, "Điểm đánh giá phải là số nguyên từ 1 đến 5.")
    return an.ConversationFilter(start=start or None, end=end or None, channel=channel or None,
                                 intent=intent or None, min_rating=int(min_rating) if min_rating else None,
                                 max_rating=int(max_rating) if max_rating else None,
                                 had_fallback=TRI[fallback], had_handoff=TRI[handoff], tag=tag or None,
                                 flagged=TRI[flagged])


def _browse(session: Session, staff: ActiveSession, filters: an.ConversationFilter, cursor: Optional[str],
            limit: int, reveal: bool) -> an.ConversationPage:
    reveal = _reveal(staff, reveal)
    if cursor and "\x00" in cursor:
        raise HTTPException(400, vi_error(an.AnalyticsInputError("invalid page cursor")))
    try:
        page = an.browse_conversations(session, filters, limit=limit, cursor=cursor or None, reveal=reveal)
    except an.AnalyticsInputError as exc:
        raise _bad(exc) from None
    if reveal:
        audit.record(session, staff.username, "conversation_reveal", "conversation", None, None,
                     {"listed": len(page.items)}, "danh sách hội thoại không che số")
    return page


def _conversation(session: Session, ref: str, reveal: bool = False) -> an.ConversationSummary:
    conversation_id = decode_ref(ref)
    found = an.find_conversation(session, conversation_id, reveal=reveal) if conversation_id else None
    if found is None:
        raise HTTPException(404, "Không tìm thấy hội thoại này.")
    return found


@router.get("/console/conversations", include_in_schema=False)
def conversations_page(request: Request, filters: an.ConversationFilter = Depends(_filters),
                       cursor: Optional[str] = Query(None, max_length=600), limit: int = Query(50, ge=1, le=200),
                       reveal: bool = Query(False), session: Session = DB,
                       staff: ActiveSession = Depends(require(*READ_ROLES))) -> Response:
    """The conversation list with its filters and keyset paging."""
    page = _browse(session, staff, filters, cursor, limit, reveal)
    query = {k: v for k, v in request.query_params.items() if k not in ("cursor", "reveal") and v}
    return render(request, "conversations.html", {
        "page": page, "items": [(encode_ref(i.conversation_id), i) for i in page.items], "f": filters,
        "q": request.query_params, "qs": urlencode(query), "channels": CHANNELS, "intents": INTENTS,
        "tags": an.tags_in_use(session), "reveal": reveal, "may_reveal": allowed(staff, REVEAL_ROLES),
        "first_page": not cursor})


@router.get("/console/conversations/{ref}", include_in_schema=False)
def transcript_page(request: Request, ref: str, after: int = Query(0, ge=0, le=MAX_ID), reveal: bool = Query(False),
                    done: Optional[str] = Query(None, max_length=20), session: Session = DB,
                    staff: ActiveSession = Depends(require(*READ_ROLES))) -> Response:
    """One transcript (500 messages a page), its tags and review flag."""
    reveal = _reveal(staff, reveal)
    item = _conversation(session, ref, reveal)
    lines = an.transcript(session, item.conversation_id, reveal=reveal, after_event_id=after)
    if reveal:
        audit.record(session, staff.username, "conversation_reveal", "conversation", item.conversation_id, None,
                     None, "bản ghi hội thoại không che số")
    return render(request, "transcript.html", {
        "ref": ref, "c": item, "lines": lines, "after": after, "reveal": reveal, "done": done,
        "more": lines[-1].event_id if len(lines) == 500 else None, "channels": CHANNELS, "intents": INTENTS,
        "may_review": allowed(staff, REVIEW_ROLES), "may_reveal": allowed(staff, REVEAL_ROLES)})


def _tag(session: Session, staff: ActiveSession, item: an.ConversationSummary, tag: str, add: bool) -> bool:
    if "\x00" in tag:
        raise HTTPException(400, "Nhãn chứa ký tự không hợp lệ.")
    try:
        changed = (an.add_tag(session, item.conversation_id, tag, by=staff.username) if add
                   else an.remove_tag(session, item.conversation_id, tag))
    except an.AnalyticsInputError as exc:
        raise _bad(exc) from None
    if changed:
        value = " ".join(tag.split()).lower()
        audit.record(session, staff.username, "conversation_tag_add" if add else "conversation_tag_remove",
                     "conversation", item.conversation_id, None if add else {"tag": value},
                     {"tag": value} if add else None)
    return changed


def _flag(session: Session, staff: ActiveSession, item: an.ConversationSummary, reason: Optional[str],
          resolve: bool) -> bool:
    if reason and "\x00" in reason:
        raise HTTPException(400, "Lý do chứa ký tự không hợp lệ.")
    before = item.flag and {"reason": item.flag["reason"], "open": item.flag["resolved_at"] is None}
    if resolve:
        changed = an.resolve_flag(session, item.conversation_id, by=staff.username)
        after = {"reason": item.flag["reason"] if item.flag else None, "open": False}
    else:
        an.flag_for_review(session, item.conversation_id, (reason or "").strip() or None, by=staff.username)
        changed, after = True, {"reason": (reason or "").strip()[:2000] or None, "open": True}
    if changed:
        audit.record(session, staff.username, "conversation_flag_resolve" if resolve else "conversation_flag",
                     "conversation", item.conversation_id, before, after)
    return changed


def _back(ref: str, done: str) -> Response:
    return RedirectResponse(f"/console/conversations/{ref}?done={done}", status_code=303)


@router.post("/console/conversations/{ref}/tags", include_in_schema=False)
def tag_form(ref: str, tag: str = Form(..., max_length=200), remove: Optional[str] = Form(None),
             session: Session = DB, staff: ActiveSession = Depends(require(*REVIEW_ROLES))) -> Response:
    """Add (or, with ``remove``, take off) a tag from the transcript page."""
    _tag(session, staff, _conversation(session, ref), tag, add=not remove)
    return _back(ref, "untagged" if remove else "tagged")


@router.post("/console/conversations/{ref}/flag", include_in_schema=False)
def flag_form(ref: str, reason: str = Form("", max_length=2000), resolve: Optional[str] = Form(None),
              session: Session = DB, staff: ActiveSession = Depends(require(*REVIEW_ROLES))) -> Response:
    """Flag for review (or, with ``resolve``, mark the review done) from the transcript page."""
    _flag(session, staff, _conversation(session, ref), reason, resolve=bool(resolve))
    return _back(ref, "resolved" if resolve else "flagged")


@router.get("/console/api/conversations", response_model=ConversationPageOut)
def conversations_api(filters: an.ConversationFilter = Depends(_filters),
                      cursor: Optional[str] = Query(None, max_length=600), limit: int = Query(50, ge=1, le=200),
                      reveal: bool = Query(False, description="unmasked (admins only; audited)"),
                      session: Session = DB,
                      staff: ActiveSession = Depends(require(*READ_ROLES))) -> ConversationPageOut:
    """Conversations matching the filters, most recently active first (keyset paging with ``cursor``)."""
    page = _browse(session, staff, filters, cursor, limit, reveal)
    return ConversationPageOut(items=[_out(i) for i in page.items], next_cursor=page.next_cursor, revealed=reveal)


@router.get("/console/api/conversations/tags", response_model=Dict[str, int])
def tags_api(session: Session = DB, staff: ActiveSession = Depends(require(*READ_ROLES))) -> Dict[str, int]:
    """Every tag in use and how many conversations carry it."""
    return dict(an.tags_in_use(session))


@router.get("/console/api/conversations/{ref}", response_model=TranscriptOut)
def transcript_api(ref: str, after: int = Query(0, ge=0, le=MAX_ID), limit: int = Query(500, ge=1, le=1000),
                   reveal: bool = Query(False, description="unmasked (admins only; audited)"),
                   session: Session = DB,
                   staff: ActiveSession = Depends(require(*READ_ROLES))) -> TranscriptOut:
    """A conversation and a page of its messages, oldest first."""
    reveal = _reveal(staff, reveal)
    item = _conversation(session, ref, reveal)
    lines = an.transcript(session, item.conversation_id, reveal=reveal, after_event_id=after, limit=limit)
    if reveal:
        audit.record(session, staff.username, "conversation_reveal", "conversation", item.conversation_id, None,
                     None, "bản ghi hội thoại không che số")
    return TranscriptOut(conversation=_out(item), lines=[LineOut(**line.__dict__) for line in lines],
                         next_after=lines[-1].event_id if len(lines) == limit else None, revealed=reveal)


@router.post("/console/api/conversations/{ref}/tags", response_model=ChangeOut)
def tag_add_api(ref: str, body: TagIn = Body(...), session: Session = DB,
                staff: ActiveSession = Depends(require(*REVIEW_ROLES))) -> ChangeOut:
    """Tag a conversation (analyst, admin); audited."""
    changed = _tag(session, staff, _conversation(session, ref), body.tag, add=True)
    return ChangeOut(changed=changed, conversation=_out(_conversation(session, ref)))


@router.delete("/console/api/conversations/{ref}/tags", response_model=ChangeOut)
def tag_remove_api(ref: str, tag: str = Query(..., min_length=1, max_length=TAG_MAX), session: Session = DB,
                   staff: ActiveSession = Depends(require(*REVIEW_ROLES))) -> ChangeOut:
    """Take a tag off a conversation (analyst, admin); audited."""
    changed = _tag(session, staff, _conversation(session, ref), tag, add=False)
    return ChangeOut(changed=changed, conversation=_out(_conversation(session, ref)))


@router.post("/console/api/conversations/{ref}/flag", response_model=ChangeOut)
def flag_api(ref: str, body: FlagIn = Body(FlagIn()), session: Session = DB,
             staff: ActiveSession = Depends(require(*REVIEW_ROLES))) -> ChangeOut:
    """Flag a conversation for review (analyst, admin); audited."""
    _flag(session, staff, _conversation(session, ref), body.reason, resolve=False)
    return ChangeOut(changed=True, conversation=_out(_conversation(session, ref)))


@router.post("/console/api/conversations/{ref}/flag/resolve", response_model=ChangeOut)
def resolve_api(ref: str, session: Session = DB,
                staff: ActiveSession = Depends(require(*REVIEW_ROLES))) -> ChangeOut:
    """Mark a conversation's review done (analyst, admin); audited."""
    changed = _flag(session, staff, _conversation(session, ref), None, resolve=True)
    return ChangeOut(changed=changed, conversation=_out(_conversation(session, ref)))
