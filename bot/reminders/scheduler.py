"""APScheduler wiring: one named interval job, ``reminder_sweep``.

The job is stateless (all state is in the notification log), so the scheduler
uses the in-memory job store: a restart simply schedules the job again, and two
processes may run it at the same time (that only adds capacity). A persistent
APScheduler job store is deliberately not used: APScheduler 3 forbids sharing
one between schedulers, which is exactly what two instances would do.
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
from typing import Dict, Optional

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from bot.reminders.clock import Clock, system_clock
from bot.reminders.service import ReminderService, build_router
from bot.settings import Settings, get_settings

logger = logging.getLogger(__name__)

JOB_ID = "reminder_sweep"


def build_service(
    settings: Optional[Settings] = None,
    *,
    url: Optional[str] = None,
    now: Clock = system_clock,
    router: Optional[object] = None,
) -> ReminderService:
    """A ReminderService over ``url`` (default DATABASE_URL) with the configured senders."""
    from bot.db.session import get_sessionmaker

    settings = settings or get_settings()
    url = url or settings.database_url
    return ReminderService(get_sessionmaker(url), router or build_router(settings, database_url=url), now=now)


def add_sweep_job(scheduler: BaseScheduler, service: ReminderService, interval_minutes: float,
                  first_run_in_s: float = 10.0) -> None:
    """Add the ``reminder_sweep`` job (coalesced, never overlapping itself)."""
    scheduler.add_job(
        service.run_once,
        trigger="interval",
        minutes=interval_minutes,
        id=JOB_ID,
        name=JOB_ID,
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=max(30, int(interval_minutes * 60)),
        next_run_time=dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=first_run_in_s),
    )


def prune_channel_records_job(database_url: Optional[str] = None) -> Dict[str, int]:
    """Delete old de-duplication ids and rate-limit windows, and personal data past retention.

    Idempotent; safe on every replica.
    """
    from bot.conversations.retention import prune_personal_data
    from bot.db.session import session_scope
    from bot.settings import get_settings
    from integrations.channel_common import prune_channel_records

    with session_scope(database_url) as session:
        removed = prune_channel_records(session)
    with session_scope(database_url) as session:
        removed.update(prune_personal_data(session, get_settings()))
    return removed


def add_prune_job(scheduler: BaseScheduler, database_url: Optional[str] = None) -> None:
    """Add the daily ``channel_records_prune`` job."""
    scheduler.add_job(prune_channel_records_job, trigger="interval", hours=24, args=[database_url],
                      id="channel_records_prune", name="channel_records_prune", replace_existing=True,
                      coalesce=True, max_instances=1,
                      next_run_time=dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=1))


def start_embedded(
    settings: Optional[Settings] = None,
    *,
    service: Optional[ReminderService] = None,
    force: bool = False,
) -> Optional[BackgroundScheduler]:
    """Start the sweep in a background thread of this process (``SCHEDULER_MODE=embedded``).

    Args:
        settings: settings (default: :func:`get_settings`).
        service: a prepared service (default: built from settings).
        force: start even when SCHEDULER_MODE is not ``embedded``.

    Returns:
        The running scheduler, or None when the mode says the sweep runs elsewhere.
    """
    settings = settings or get_settings()
    if settings.scheduler_mode != "embedded" and not force:
        logger.info("SCHEDULER_MODE=%s: reminders are not scheduled in this process", settings.scheduler_mode)
        return None
    service = service or build_service(settings)
    scheduler = BackgroundScheduler(timezone=dt.timezone.utc, daemon=True)
    add_sweep_job(scheduler, service, settings.reminder_interval_minutes)
    add_prune_job(scheduler, settings.database_url)
    scheduler.start()
    atexit.register(_shutdown, scheduler)
    logger.info("reminder sweep scheduled every %s min (embedded)", settings.reminder_interval_minutes)
    return scheduler


def run_forever(settings: Optional[Settings] = None, *, service: Optional[ReminderService] = None) -> None:
    """Run the sweep in the foreground until SIGINT/SIGTERM (``SCHEDULER_MODE=separate``)."""
    import signal

    settings = settings or get_settings()
    service = service or build_service(settings)
    scheduler = BlockingScheduler(timezone=dt.timezone.utc)
    add_sweep_job(scheduler, service, settings.reminder_interval_minutes, first_run_in_s=1.0)
    add_prune_job(scheduler, settings.database_url)

    def stop(signum: int, _frame: object) -> None:
        logger.info("signal %s: stopping the reminder scheduler", signum)
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    logger.info("reminder scheduler running every %s min (separate process)", settings.reminder_interval_minutes)
    try:
        scheduler.start()
    finally:
        service.close()


def _shutdown(scheduler: BaseScheduler) -> None:
    try:
        if scheduler.running:
            scheduler.shutdown(wait=False)
    except Exception:  # noqa: BLE001 - interpreter shutdown
        logger.debug("scheduler shutdown failed", exc_info=True)
