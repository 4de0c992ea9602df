"""Find the notices that are due and queue them in the notification log (set-based SQL).

Every notice kind is one ``INSERT … SELECT … WHERE NOT EXISTS … ON CONFLICT (key) DO
NOTHING`` over the active subscriptions of reachable users, so a sweep costs a few
statements whatever the number of dossiers, and running it twice (or in two
processes at once) queues nothing twice: the unique notice key decides.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Dict

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from bot.db.models import ChatUser, Dossier, DossierLink, NotificationLog, ReminderSubscription
from bot.reminders.clock import to_db, to_local
from bot.reminders.notices import (
    KIND_OVERDUE,
    KIND_TODAY,
    KIND_TOMORROW,
    LATE_STATUSES,
    NOTIFY_STATUSES,
    OPEN_STATUSES,
    STATUS_PREFIX,
)
from bot.reminders.workdays import QuietHours, WorkCalendar

logger = logging.getLogger(__name__)

#: Advisory lock id (PostgreSQL) held while one process plans; others skip planning.
PLAN_LOCK_ID = 0x52454D31  # "REM1"


@dataclass
class PlanStats:
    """What one planning pass queued."""

    queued: Dict[str, int] = field(default_factory=dict)
    skipped: bool = False

    @property
    def total(self) -> int:
        """Notices queued, all kinds."""
        return sum(self.queued.values())


def _fmt_ts(column: ColumnElement, dialect: str) -> ColumnElement:
    if dialect == "postgresql":
        return sa.func.to_char(column, 'YYYYMMDD"T"HH24MISS')
    return sa.func.strftime("%Y%m%dT%H%M%S", column)


def _fmt_date(column: ColumnElement, dialect: str) -> ColumnElement:
    if dialect == "postgresql":
        return sa.func.to_char(column, "YYYY-MM-DD")
    return sa.func.strftime("%Y-%m-%d", column)


def _targets() -> sa.sql.Subquery:
    """(chat_user_id, dossier_id, since) for every active subscription of a reachable user."""
    sub, user, link = ReminderSubscription, ChatUser, DossierLink
    single = (
        sa.select(sub.chat_user_id.label("chat_user_id"), sub.dossier_id.label("dossier_id"),
                  sub.created_at.label("since"))
        .join(user, user.id == sub.chat_user_id)
        .where(sub.active.is_(True), sub.dossier_id.is_not(None), user.reachable.is_(True))
    )
    linked = (
        sa.select(sub.chat_user_id, link.dossier_id,
                  sa.case((link.verified_at > sub.created_at, link.verified_at), else_=sub.created_at))
        .join(user, user.id == sub.chat_user_id)
        .join(link, link.chat_user_id == sub.chat_user_id)
        .where(sub.active.is_(True), sub.dossier_id.is_(None), user.reachable.is_(True))
    )
    return sa.union_all(single, linked).subquery("targets")


def _insert(session: Session, dialect: str, select_stmt: sa.sql.Select) -> int:
    columns = ["key", "dossier_id", "chat_user_id", "kind", "state", "attempts", "next_attempt_at", "payload",
               "created_at"]
    table = NotificationLog.__table__
    if dialect == "postgresql":
        stmt = postgresql.insert(table).from_select(columns, select_stmt).on_conflict_do_nothing(
            index_elements=["key"])
    elif dialect == "sqlite":
        stmt = sqlite.insert(table).from_select(columns, select_stmt).on_conflict_do_nothing(index_elements=["key"])
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        stmt = sa.insert(table).from_select(columns, select_stmt)
    result = session.execute(stmt)
    return max(result.rowcount or 0, 0)


def plan_notices(
    session: Session,
    *,
    now: dt.datetime,
    zone: dt.tzinfo,
    calendar: WorkCalendar,
    quiet: QuietHours,
    use_lock: bool = True,
) -> PlanStats:
    """Queue every notice due at ``now`` (idempotent). The caller commits.

    Args:
        session: an open session (one unit of work).
        now: the current moment (aware).
        zone: local time zone (dates and quiet hours are local).
        calendar: working days, for "appointment tomorrow".
        quiet: quiet hours; notices queued in them wait for their end.
        use_lock: on PostgreSQL, let only one process plan at a time (the others skip).
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql" and use_lock:
        got = session.execute(sa.select(sa.func.pg_try_advisory_xact_lock(PLAN_LOCK_ID))).scalar()
        if not got:
            logger.debug("another process is planning reminders; skipping")
            return PlanStats(skipped=True)

    local = to_local(now, zone)
    today = local.date()
    next_working = calendar.next_working_day(today)
    now_db = to_db(now)
    not_before = to_db(quiet.next_allowed(local))

    t = _targets()
    d = Dossier
    effective = sa.func.coalesce(d.new_appointment_date, d.appointment_date)

    def build(kind: ColumnElement, ref: ColumnElement, *conditions: ColumnElement) -> sa.sql.Select:
        key = (sa.cast(d.id, sa.String) + sa.literal(":") + sa.cast(t.c.chat_user_id, sa.String)
               + sa.literal(":") + kind + sa.literal(":") + ref)
        exists = sa.select(sa.literal(1)).where(NotificationLog.key == key).exists()
        return (
            sa.select(key, d.id, t.c.chat_user_id, kind, sa.literal("pending"), sa.literal(0),
                      sa.literal(not_before, sa.DateTime), sa.cast(sa.literal_column("'{}'"), sa.JSON),
                      sa.literal(now_db, sa.DateTime))
            .select_from(t.join(d, d.id == t.c.dossier_id))
            .where(*conditions, ~exists)
            .order_by(key)
        )

    new_is_past = sa.and_(d.new_appointment_date.is_not(None), d.new_appointment_date < today)
    new_is_future = sa.and_(d.new_appointment_date.is_not(None), d.new_appointment_date >= today)
    overdue_ref = sa.case(
        (new_is_past, _fmt_date(d.new_appointment_date, dialect) + sa.literal("~")),
        else_=_fmt_date(d.appointment_date, dialect) + sa.literal("~")
        + sa.case((new_is_future, _fmt_date(d.new_appointment_date, dialect)), else_=sa.literal("")),
    )
    plans = {
        "status": build(
            sa.literal(STATUS_PREFIX) + d.status, _fmt_ts(d.status_changed_at, dialect),
            d.status.in_(NOTIFY_STATUSES), d.status_changed_at > t.c.since,
        ),
        KIND_TOMORROW: build(
            sa.literal(KIND_TOMORROW), _fmt_date(effective, dialect),
            d.status.in_(OPEN_STATUSES), effective > today, effective <= next_working,
        ),
        KIND_TODAY: build(
            sa.literal(KIND_TODAY), _fmt_date(effective, dialect),
            d.status.in_(OPEN_STATUSES), effective == today,
        ),
        KIND_OVERDUE: build(
            sa.literal(KIND_OVERDUE), overdue_ref,
            d.status.in_(LATE_STATUSES), d.appointment_date < today,
        ),
    }
    stats = PlanStats()
    try:
        for name, select_stmt in plans.items():
            stats.queued[name] = _insert(session, dialect, select_stmt)
    except OperationalError as exc:  # e.g. a deadlock with a concurrent planner: next sweep retries
        if getattr(getattr(exc, "orig", None), "pgcode", None) in {"40P01", "40001"}:
            logger.warning("reminder planning collided with another process; retrying next sweep")
            session.rollback()
            return PlanStats(skipped=True)
        raise
    if stats.total:
        logger.info("queued %d reminder notices %s", stats.total, stats.queued)
    return stats
