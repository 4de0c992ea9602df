"""Load claimed notices, re-check that they are still wanted, and word them.

A notice queued earlier may no longer apply (the user unsubscribed or became
unreachable, the status or the appointment changed): such notices are settled as
``cancelled`` here, before anything is sent. The rest are rendered from the domain's
responses, with the ZNS template parameters for Zalo's fallback.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Set, Tuple

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from bot.catalogue.units import hotline
from bot.db.models import ChatUser, Dossier, DossierLink, NotificationLog, ReminderSubscription
from bot.reminders.claims import CANCELLED, CLAIMED, FAILED
from bot.reminders.delivery import Recipient
from bot.reminders.notices import (
    KIND_OVERDUE,
    KIND_TODAY,
    KIND_TOMORROW,
    LATE_STATUSES,
    OPEN_STATUSES,
    NoticeKey,
    format_date,
    notice_variables,
    overdue_ref,
    response_name,
    status_ref,
)
from bot.responses import Responses

logger = logging.getLogger(__name__)


@dataclass
class Prepared:
    """A claimed notice, worded and addressed, ready to send."""

    notice_id: int
    key: str
    user_id: int
    recipient: Recipient
    response: str
    text: str
    template_data: Dict[str, str]


class Preparer:
    """Turns claimed notice ids into :class:`Prepared` items (a few queries per batch)."""

    def __init__(self, renderer: Responses, *, default_hotline: Optional[str] = None) -> None:
        """Create a preparer over the domain's responses."""
        self.renderer = renderer
        self.default_hotline = default_hotline

    def prepare(self, sessions: sessionmaker, token: str, ids: List[int], today: dt.date,
                count: Callable[[str], None]) -> List[Prepared]:
        """Load and re-check ``ids`` claimed under ``token``; settle the stale ones, word the rest.

        Args:
            sessions: the session factory.
            token: our claim token (rows claimed by someone else are skipped).
            ids: the claimed notice ids.
            today: the local date (appointment notices depend on it).
            count: called with ``"cancelled"`` / ``"failed"`` for each notice settled here.
        """
        n = NotificationLog
        hotlines: Dict[Optional[str], str] = {}
        items: List[Prepared] = []
        with sessions() as session, session.begin():
            rows = session.execute(
                sa.select(n, Dossier, ChatUser)
                .join(Dossier, Dossier.id == n.dossier_id).join(ChatUser, ChatUser.id == n.chat_user_id)
                .where(n.id.in_(ids), n.claimed_by == token, n.state == CLAIMED).order_by(n.id)
            ).all()
            subscribed = subscribed_pairs(session, {(user.id, dossier.id) for _n, dossier, user in rows})
            for notice, dossier, user in rows:
                key = NoticeKey.parse(notice.key)
                reason = stale_reason(key, dossier, user, (user.id, dossier.id) in subscribed, today)
                if reason is not None:
                    notice.state, notice.last_error = CANCELLED, reason
                    count("cancelled")
                    continue
                if dossier.agency_name not in hotlines:
                    hotlines[dossier.agency_name] = self._hotline(session, dossier)
                item = self._render(notice, key, dossier, user, hotlines[dossier.agency_name])
                if item is None:
                    count("failed")
                else:
                    items.append(item)
        return items

    def _render(self, notice: NotificationLog, key: NoticeKey, dossier: Dossier, user: ChatUser,
                hotline: str) -> Optional[Prepared]:
        name = response_name(key)
        variables = notice_variables(
            key, dossier, hotline=hotline,
            pickup_default=self._text_or("utter_reminder_pickup_place_default", ""),
            reason_default=self._text_or("utter_reminder_refused_reason_default", ""),
        )
        try:
            text = self.renderer.render(name, variables, channel=user.channel)
        except KeyError as exc:
            notice.state, notice.last_error = FAILED, f"missing response: {exc}"
            logger.error("cannot word notice %s: %s", notice.key, exc)
            return None
        template_data = {
            "dossier_code": dossier.code,
            "procedure_name": dossier.procedure_name[:100],
            "notice": key.kind,
            "date": variables["new_appointment_date"] or variables["appointment_date"],
            "hotline": variables["hotline"],
        }
        recipient = Recipient(user.channel, user.channel_user_id, user.last_interaction_at, dossier.applicant_phone)
        return Prepared(notice.id, notice.key, user.id, recipient, name, text, template_data)

    def _text_or(self, name: str, default: str) -> str:
        try:
            return self.renderer.render(name, {})
        except KeyError:
            return default

    def _hotline(self, session: Session, dossier: Dossier) -> str:
        """The dossier agency's hotline (see :func:`bot.catalogue.units.hotline`)."""
        return hotline(session, dossier.agency_name, self.default_hotline)


def stale_reason(
    key: NoticeKey, dossier: Dossier, user: ChatUser, subscribed: bool, today: dt.date
) -> Optional[str]:
    """Why a queued notice must not be sent any more (None: send it)."""
    if not user.reachable:
        return f"user unreachable: {user.unreachable_reason or ''}".strip()
    if not subscribed:
        return "unsubscribed"
    if key.status:
        if dossier.status != key.status or status_ref(dossier.status_changed_at) != key.ref:
            return f"superseded: status is now {dossier.status}"
        return None
    effective = dossier.new_appointment_date or dossier.appointment_date
    date, _ = key.dates
    if key.kind == KIND_TOMORROW:
        if dossier.status not in OPEN_STATUSES or effective != date or not (effective and effective > today):
            return f"superseded: appointment {format_date(effective)}, status {dossier.status}"
    elif key.kind == KIND_TODAY:
        if dossier.status not in OPEN_STATUSES or effective != date or effective != today:
            return f"superseded: appointment {format_date(effective)}, status {dossier.status}"
    elif key.kind == KIND_OVERDUE:
        current = (overdue_ref(dossier.appointment_date, dossier.new_appointment_date, today)
                   if dossier.appointment_date and dossier.status in LATE_STATUSES else None)
        if current != key.ref:
            return f"superseded: status {dossier.status}"
    return None


def subscribed_pairs(session: Session, pairs: Set[Tuple[int, int]]) -> Set[Tuple[int, int]]:
    """The (user, dossier) pairs of ``pairs`` covered by an active subscription."""
    if not pairs:
        return set()
    sub, link = ReminderSubscription, DossierLink
    users = sorted({user for user, _ in pairs})
    covered: Set[Tuple[int, int]] = set()
    all_linked: Set[int] = set()
    for user_id, dossier_id in session.execute(
            sa.select(sub.chat_user_id, sub.dossier_id).where(sub.active.is_(True), sub.chat_user_id.in_(users))):
        if dossier_id is None:
            all_linked.add(user_id)
        else:
            covered.add((user_id, dossier_id))
    if all_linked:
        rows = session.execute(
            sa.select(link.chat_user_id, link.dossier_id).where(link.chat_user_id.in_(sorted(all_linked)))).all()
        covered.update((user_id, dossier_id) for user_id, dossier_id in rows)
    return covered & pairs
