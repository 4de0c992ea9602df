"""Claim queued notices and deliver them: exactly once across processes, retried on faults.

A notice goes ``pending → sending → sent`` (or ``failed`` / ``undeliverable`` /
``cancelled`` / ``unconfirmed``). Claiming is one atomic statement that moves due
rows to ``sending`` under a fresh claim token: on PostgreSQL the candidate rows are
locked with ``FOR UPDATE SKIP LOCKED`` (two processes never take the same row, nor
wait for each other); on SQLite the single ``UPDATE`` runs under the database write
lock. A row claimed by a process that died stays ``sending``; once its claim is
older than the lease it is due again (the crash is retried, not lost). Every
outcome is written with ``WHERE claimed_by = <token>``, so a process whose lease
ran out cannot overwrite a newer claim.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import socket
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Set, Tuple

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from bot.db.models import Agency, ChatUser, Dossier, DossierLink, NotificationLog, ReminderSubscription
from bot.reminders.clock import Clock, to_db, to_local
from bot.reminders.delivery import DeliveryError, Recipient, Router, classify
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
from bot.reminders.templates import ResponseRenderer
from bot.reminders.workdays import QuietHours

logger = logging.getLogger(__name__)

PENDING, SENDING, SENT = "pending", "sending", "sent"
FAILED, UNDELIVERABLE, CANCELLED, UNCONFIRMED = "failed", "undeliverable", "cancelled", "unconfirmed"
UNDELIVERABLE_REASONS = {"outside_window", "no_sender"}


def default_worker_id() -> str:
    """``host:pid`` of this process (recorded in ``claimed_by``)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}"


@dataclass
class OutboxConfig:
    """Delivery tuning."""

    worker_id: str = field(default_factory=default_worker_id)
    lease: dt.timedelta = dt.timedelta(minutes=5)
    batch_size: int = 200
    max_attempts: int = 8
    backoff_base_s: float = 30.0
    backoff_max_s: float = 3600.0
    concurrency: int = 4
    max_batches: Optional[int] = None  # per run; None = until nothing is due
    hotline: str = "1800 1096"  # when neither the agency nor the provincial centre has one


@dataclass
class DeliveryStats:
    """What one delivery run did."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    undeliverable: int = 0
    cancelled: int = 0
    unconfirmed: int = 0
    released: int = 0
    quiet: bool = False

    def add(self, outcome: str) -> None:
        """Count one outcome."""
        setattr(self, outcome, getattr(self, outcome) + 1)


@dataclass
class _Prepared:
    notice_id: int
    key: str
    user_id: int
    recipient: Recipient
    response: str
    text: str
    template_data: Dict[str, str]


class Outbox:
    """Claims due notices and delivers them through a :class:`Router`."""

    def __init__(
        self,
        sessions: sessionmaker,
        router: Router,
        renderer: ResponseRenderer,
        *,
        now: Clock,
        zone: dt.tzinfo,
        quiet: QuietHours,
        config: Optional[OutboxConfig] = None,
    ) -> None:
        """Create an outbox over the sessions of one database."""
        self.sessions = sessions
        self.router = router
        self.renderer = renderer
        self.now = now
        self.zone = zone
        self.quiet = quiet
        self.config = config or OutboxConfig()

    # --- claiming ---------------------------------------------------------------------------

    def _due(self, now_db: dt.datetime) -> sa.sql.ColumnElement:
        n = NotificationLog
        cutoff = now_db - self.config.lease
        return sa.and_(
            n.attempts < self.config.max_attempts,
            sa.or_(
                sa.and_(n.state == PENDING, n.next_attempt_at <= now_db),
                sa.and_(n.state == SENDING, n.claimed_at < cutoff),
            ),
        )

    def claim(self, now: dt.datetime) -> tuple[str, List[int]]:
        """Atomically claim up to ``batch_size`` due notices; returns (token, ids)."""
        n = NotificationLog
        now_db = to_db(now)
        token = f"{self.config.worker_id[:80]}/{uuid.uuid4().hex[:12]}"
        with self.sessions() as session, session.begin():
            self._give_up_stale(session, now_db)
            candidates = (
                sa.select(n.id).where(self._due(now_db)).order_by(n.next_attempt_at, n.id)
                .limit(self.config.batch_size).with_for_update(skip_locked=True)
            )
            # Two statements on purpose: PostgreSQL may re-run an ``IN (SELECT … LIMIT … SKIP
            # LOCKED)`` subquery per row and so claim more than the batch. The locks taken by
            # the SELECT hold until commit; the UPDATE re-checks the state, so on SQLite (no row
            # locks) a row another process claimed meanwhile is simply not ours.
            ids = list(session.execute(candidates).scalars())
            if ids:
                session.execute(
                    sa.update(n).where(n.id.in_(ids), self._due(now_db))
                    .values(state=SENDING, claimed_by=token, claimed_at=now_db, attempts=n.attempts + 1)
                    .execution_options(synchronize_session=False)
                )
        with self.sessions() as session:
            ids = list(session.execute(
                sa.select(n.id).where(n.claimed_by == token, n.state == SENDING).order_by(n.id)).scalars())
        logger.debug("claimed %d notices as %s (batch %d)", len(ids), token, self.config.batch_size)
        return token, ids

    def _give_up_stale(self, session: Session, now_db: dt.datetime) -> None:
        """Claims that expired after the last allowed attempt end as ``failed``."""
        n = NotificationLog
        session.execute(
            sa.update(n)
            .where(n.state == SENDING, n.claimed_at < now_db - self.config.lease,
                   n.attempts >= self.config.max_attempts)
            .values(state=FAILED, last_error="lease expired after the last attempt")
            .execution_options(synchronize_session=False)
        )

    # --- delivering ---------------------------------------------------------------------------

    async def deliver_due(self) -> DeliveryStats:
        """Deliver every due notice (batch after batch); nothing in quiet hours."""
        stats = DeliveryStats()
        batches = 0
        while self.config.max_batches is None or batches < self.config.max_batches:
            now = self.now()
            if self.quiet.contains(to_local(now, self.zone)):
                stats.quiet = True
                break
            token, ids = self.claim(now)
            if not ids:
                break
            batches += 1
            stats.claimed += len(ids)
            await self._deliver_batch(token, ids, stats)
            if len(ids) < self.config.batch_size:
                break
        if stats.claimed:
            logger.info("reminder delivery: %s", stats)
        return stats

    async def _deliver_batch(self, token: str, ids: List[int], stats: DeliveryStats) -> None:
        prepared: Dict[int, List[_Prepared]] = defaultdict(list)
        for item in self._prepare_batch(token, ids, stats):
            prepared[item.user_id].append(item)
        semaphore = asyncio.Semaphore(max(1, self.config.concurrency))
        started = time.monotonic()
        budget = self.config.lease.total_seconds() / 2

        async def per_user(items: List[_Prepared]) -> None:
            async with semaphore:
                for item in items:  # one user's notices in order
                    if time.monotonic() - started > budget:
                        # a slow channel: hand the rest back before the lease could expire under us
                        self._finish(token, item.notice_id, state=PENDING, claimed_by=None,
                                     attempts=NotificationLog.attempts - 1)
                        logger.debug("released notice %s: the batch ran long", item.key)
                        stats.add("released")
                        continue
                    stats.add(await self._send(token, item))

        await asyncio.gather(*(per_user(items) for items in prepared.values()))

    def _prepare_batch(self, token: str, ids: List[int], stats: DeliveryStats) -> List[_Prepared]:
        """Load and re-check claimed notices (a few queries per batch); render their texts.

        Notices that must not go out any more are settled here (``cancelled``).
        """
        n = NotificationLog
        today = to_local(self.now(), self.zone).date()
        hotlines: Dict[Optional[str], str] = {}
        items: List[_Prepared] = []
        with self.sessions() as session, session.begin():
            rows = session.execute(
                sa.select(n, Dossier, ChatUser)
                .join(Dossier, Dossier.id == n.dossier_id).join(ChatUser, ChatUser.id == n.chat_user_id)
                .where(n.id.in_(ids), n.claimed_by == token, n.state == SENDING).order_by(n.id)
            ).all()
            subscribed = _subscribed_pairs(session, {(user.id, dossier.id) for _n, dossier, user in rows})
            for notice, dossier, user in rows:
                key = NoticeKey.parse(notice.key)
                reason = _stale_reason(key, dossier, user, (user.id, dossier.id) in subscribed, today)
                if reason is not None:
                    notice.state, notice.last_error = CANCELLED, reason
                    stats.add("cancelled")
                    continue
                if dossier.agency_name not in hotlines:
                    hotlines[dossier.agency_name] = self._hotline(session, dossier)
                item = self._render(notice, key, dossier, user, hotlines[dossier.agency_name], stats)
                if item is not None:
                    items.append(item)
        return items

    def _render(self, notice: NotificationLog, key: NoticeKey, dossier: Dossier, user: ChatUser, hotline: str,
                stats: DeliveryStats) -> Optional[_Prepared]:
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
            stats.add("failed")
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
        return _Prepared(notice.id, notice.key, user.id, recipient, name, text, template_data)

    def _text_or(self, name: str, default: str) -> str:
        try:
            return self.renderer.render(name, {})
        except KeyError:
            return default

    def _hotline(self, session: Session, dossier: Dossier) -> str:
        """The hotline of the dossier's agency (by name), else of the provincial centre, else the setting."""
        a = Agency
        if dossier.agency_name:
            hotline = session.execute(
                sa.select(a.hotline).where(a.name == dossier.agency_name, a.hotline.is_not(None)).limit(1)).scalar()
            if hotline:
                return str(hotline)
        hotline = session.execute(
            sa.select(a.hotline).where(a.level == "province", a.hotline.is_not(None)).order_by(a.id).limit(1)
        ).scalar()
        return str(hotline) if hotline else self.config.hotline

    async def _send(self, token: str, item: _Prepared) -> str:
        """Send one notice and record the outcome; returns the stats field to count."""
        try:
            delivered = await self.router.deliver(item.recipient, item.text, item.template_data, item.key,
                                                  to_db(self.now()))
        except Exception as exc:  # noqa: BLE001 - every failure is classified and recorded
            return self._record_failure(token, item, classify(exc))
        payload = {"response": item.response, "text": item.text, "via": delivered.via}
        if delivered.detail:
            payload["detail"] = delivered.detail
        if not self._finish(token, item.notice_id, state=SENT, sent_at=to_db(self.now()), payload=payload,
                            last_error=None):
            logger.warning("notice %s was sent but its claim had expired", item.key)
        return "sent"

    def _record_failure(self, token: str, item: _Prepared, failure: DeliveryError) -> str:
        now = self.now()
        error = str(failure)[:1000]
        if failure.unreachable:
            self._mark_unreachable(token, item, failure)
            return "undeliverable"
        if failure.ambiguous:
            logger.warning("notice %s may have been delivered (%s); not retried", item.key, error)
            self._finish(token, item.notice_id, state=UNCONFIRMED, last_error=error)
            return "unconfirmed"
        if failure.transient:
            with self.sessions() as session:
                attempts = session.execute(
                    sa.select(NotificationLog.attempts).where(NotificationLog.id == item.notice_id)).scalar() or 0
            if attempts >= self.config.max_attempts:
                logger.error("notice %s failed after %d attempts: %s", item.key, attempts, error)
                self._finish(token, item.notice_id, state=FAILED, last_error=error)
                return "failed"
            delay = min(self.config.backoff_max_s, self.config.backoff_base_s * 2 ** max(attempts - 1, 0))
            delay = max(delay, float(failure.retry_after or 0))
            retry_at = self.quiet.next_allowed(to_local(now + dt.timedelta(seconds=delay), self.zone))
            logger.info("notice %s: transient failure (%s); retry at %s", item.key, error, retry_at)
            self._finish(token, item.notice_id, state=PENDING, next_attempt_at=to_db(retry_at), claimed_by=None,
                         last_error=error)
            return "retried"
        state = UNDELIVERABLE if failure.reason in UNDELIVERABLE_REASONS else FAILED
        logger.warning("notice %s: %s (%s)", item.key, state, error)
        self._finish(token, item.notice_id, state=state, last_error=error)
        return "undeliverable" if state == UNDELIVERABLE else "failed"

    def _mark_unreachable(self, token: str, item: _Prepared, failure: DeliveryError) -> None:
        reason = (failure.reason or "blocked")[:200]
        logger.warning("chat user %s is unreachable (%s): pushes stopped", item.user_id, reason)
        n = NotificationLog
        with self.sessions() as session, session.begin():
            session.execute(
                sa.update(n).where(n.id == item.notice_id, n.claimed_by == token, n.state == SENDING)
                .values(state=UNDELIVERABLE, last_error=str(failure)[:1000])
                .execution_options(synchronize_session=False))
            session.execute(
                sa.update(ChatUser).where(ChatUser.id == item.user_id)
                .values(reachable=False, unreachable_reason=reason)
                .execution_options(synchronize_session=False))
            session.execute(
                sa.update(n).where(n.chat_user_id == item.user_id, n.state == PENDING)
                .values(state=CANCELLED, last_error=f"user unreachable: {reason}")
                .execution_options(synchronize_session=False))

    def _finish(self, token: str, notice_id: int, **values: object) -> bool:
        n = NotificationLog
        with self.sessions() as session, session.begin():
            result = session.execute(
                sa.update(n).where(n.id == notice_id, n.claimed_by == token, n.state == SENDING)
                .values(**values).execution_options(synchronize_session=False))
            return bool(result.rowcount)


def _stale_reason(
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


def _subscribed_pairs(session: Session, pairs: Set[Tuple[int, int]]) -> Set[Tuple[int, int]]:
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
