"""Subscribe / unsubscribe a chat user to dossier reminders (the dialogue's service).

Functions take a session (the caller owns the unit of work) and return the name
of the domain response to utter with its variables, so the Rasa action stays thin.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any, Dict, Optional

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db.models import ChatUser, Dossier, DossierLink, NotificationLog, ReminderSubscription
from bot.reminders.clock import to_db

logger = logging.getLogger(__name__)


@dataclass
class Reply:
    """A response name to utter and its variables."""

    response: str
    variables: Dict[str, Any] = field(default_factory=dict)


def channel_name(input_channel: Optional[str]) -> str:
    """``ChatUser.channel`` for a Rasa input channel: its name as the dossier actions store it (``rest`` if none)."""
    return (input_channel or "rest").strip()[:20] or "rest"


def get_or_create_user(session: Session, channel: str, channel_user_id: str, now: dt.datetime) -> ChatUser:
    """The ChatUser of (channel, sender id); created when new. Counts as an interaction."""
    stmt = sa.select(ChatUser).where(ChatUser.channel == channel, ChatUser.channel_user_id == channel_user_id)
    user = session.execute(stmt).scalar_one_or_none()
    if user is None:
        try:
            with session.begin_nested():
                user = ChatUser(channel=channel, channel_user_id=channel_user_id, reachable=True,
                                created_at=to_db(now))
                session.add(user)
        except IntegrityError:  # created concurrently by the channel or another replica
            user = session.execute(stmt).scalar_one()
    user.last_interaction_at = to_db(now)
    if not user.reachable:  # the user writes to us again: pushes may resume
        user.reachable, user.unreachable_reason = True, None
    return user


def _activate(session: Session, user: ChatUser, dossier_id: Optional[int], now: dt.datetime) -> ReminderSubscription:
    sub = session.execute(
        sa.select(ReminderSubscription)
        .where(ReminderSubscription.chat_user_id == user.id,
               ReminderSubscription.dossier_id.is_(None) if dossier_id is None
               else ReminderSubscription.dossier_id == dossier_id)
        .order_by(ReminderSubscription.active.desc(), ReminderSubscription.id)
        .limit(1)
    ).scalar_one_or_none()
    if sub is None:
        sub = ReminderSubscription(chat_user_id=user.id, dossier_id=dossier_id, active=True, created_at=to_db(now))
        session.add(sub)
    elif not sub.active:
        # a fresh start: status changes before now were told in the conversation
        sub.active, sub.cancelled_at, sub.created_at = True, None, to_db(now)
    session.flush()
    return sub


def subscribe(
    session: Session,
    *,
    input_channel: Optional[str],
    sender_id: str,
    verified_code: Optional[str],
    now: dt.datetime,
) -> Reply:
    """Subscribe the user to one verified dossier, or else to all dossiers linked to them.

    Args:
        session: unit of work (committed by the caller).
        input_channel: Rasa's latest input channel name (``telegram``, ``zalo``, ``rest`` ...).
        sender_id: Rasa's sender id (= ``ChatUser.channel_user_id``).
        verified_code: the dossier code whose phone check passed in this conversation
            (the ``verified_code`` slot, set only by the verification action), if any.
        now: the current moment.

    Returns:
        ``utter_subscribed`` / ``utter_subscribed_all`` / ``utter_subscribe_need_verification``.
    """
    user = get_or_create_user(session, channel_name(input_channel), sender_id, now)
    code = (verified_code or "").strip()
    if code:
        dossier = session.execute(sa.select(Dossier).where(Dossier.code == code)).scalar_one_or_none()
        if dossier is not None:
            _ensure_link(session, user, dossier, now)
            _activate(session, user, dossier.id, now)
            logger.info("chat user %s subscribed to dossier %s", user.id, dossier.code)
            return Reply("utter_subscribed", {"dossier_code": dossier.code, "procedure_name": dossier.procedure_name})
        logger.warning("verified_code %r names no dossier", code)
    count = session.execute(
        sa.select(sa.func.count()).select_from(DossierLink).where(DossierLink.chat_user_id == user.id)).scalar() or 0
    if count:
        _activate(session, user, None, now)
        logger.info("chat user %s subscribed to all %d linked dossiers", user.id, count)
        return Reply("utter_subscribed_all", {"dossier_count": count})
    return Reply("utter_subscribe_need_verification")


def _ensure_link(session: Session, user: ChatUser, dossier: Dossier, now: dt.datetime) -> None:
    """Record that the user verified ``dossier`` (the verification action may already have)."""
    exists = session.execute(
        sa.select(DossierLink.id).where(DossierLink.chat_user_id == user.id, DossierLink.dossier_id == dossier.id)
    ).first()
    if exists:
        return
    try:
        with session.begin_nested():
            session.add(DossierLink(chat_user_id=user.id, dossier_id=dossier.id, verified_at=to_db(now)))
    except IntegrityError:
        logger.debug("dossier link created concurrently")


def unsubscribe(session: Session, *, input_channel: Optional[str], sender_id: str, now: dt.datetime) -> Reply:
    """Cancel every subscription of the user and every notice still queued for them.

    Returns:
        ``utter_unsubscribed`` or ``utter_no_subscription``.
    """
    user = get_or_create_user(session, channel_name(input_channel), sender_id, now)
    cancelled = session.execute(
        sa.update(ReminderSubscription)
        .where(ReminderSubscription.chat_user_id == user.id, ReminderSubscription.active.is_(True))
        .values(active=False, cancelled_at=to_db(now))
        .execution_options(synchronize_session=False)
    ).rowcount or 0
    dropped = session.execute(
        sa.update(NotificationLog)
        .where(NotificationLog.chat_user_id == user.id, NotificationLog.state == "pending")
        .values(state="cancelled", last_error="unsubscribed")
        .execution_options(synchronize_session=False)
    ).rowcount or 0
    logger.info("chat user %s unsubscribed (%d subscriptions, %d queued notices dropped)", user.id, cancelled, dropped)
    return Reply("utter_unsubscribed" if cancelled else "utter_no_subscription")


def active_subscriptions(session: Session, user_id: int) -> int:
    """How many active subscriptions the user has."""
    return session.execute(
        sa.select(sa.func.count()).select_from(ReminderSubscription)
        .where(ReminderSubscription.chat_user_id == user_id, ReminderSubscription.active.is_(True))
    ).scalar() or 0
