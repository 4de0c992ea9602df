"""``python -m workers.reminders``: the reminder worker process, and the operators' reminder commands.

It wires the reminder service (:mod:`bot.reminders`) to the channel senders of
:mod:`integrations.senders` and runs two APScheduler jobs: ``reminder_sweep`` every
``REMINDER_INTERVAL_MINUTES`` and the daily ``channel_records_prune``. With
``SCHEDULER_MODE=embedded`` ``make run`` (``python -m bot.cli serve``) starts it for you;
with ``separate`` run it yourself. Any number of these processes may run against the same
PostgreSQL database: the jobs are stateless (all state is in the notification log), so the
scheduler uses the in-memory job store (APScheduler 3 forbids sharing a persistent one).

    python -m workers.reminders            # run until SIGTERM, one sweep every REMINDER_INTERVAL_MINUTES
    python -m workers.reminders --once     # one sweep, print its summary, exit
    python -m workers.reminders --report   # notices per state and the unconfirmed ones (JSON)
    python -m workers.reminders --resolve ID sent|requeue   # an operator's verdict on an unconfirmed notice
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import logging
import signal
import sys
from typing import Dict, List, Optional

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from bot.reminders.clock import Clock, system_clock
from bot.reminders.delivery import Router
from bot.reminders.service import ReminderService, build_router
from bot.settings import Settings, get_settings

logger = logging.getLogger("workers.reminders")  # also when run as __main__

JOB_ID = "reminder_sweep"
PRUNE_JOB_ID = "channel_records_prune"


def build_service(
    settings: Optional[Settings] = None,
    *,
    url: Optional[str] = None,
    now: Clock = system_clock,
    router: Optional[Router] = None,
) -> ReminderService:
    """A ReminderService over ``url`` (default DATABASE_URL) with the configured channel senders."""
    from bot.db.session import get_sessionmaker
    from integrations.senders import channel_senders

    settings = settings or get_settings()
    url = url or settings.database_url
    router = router or build_router(settings, **channel_senders(settings, database_url=url))
    return ReminderService(get_sessionmaker(url), router, now=now)


def prune_job(database_url: Optional[str] = None) -> Dict[str, int]:
    """Delete old de-duplication ids and rate-limit windows, and personal data past retention (analytics too).

    Idempotent; safe on every replica.
    """
    from bot.conversations.retention import prune_channel_records, prune_personal_data
    from bot.db.session import session_scope

    with session_scope(database_url) as session:
        removed = prune_channel_records(session)
    with session_scope(database_url) as session:
        removed.update(prune_personal_data(session, get_settings()))
    with session_scope(database_url) as session:
        from bot.analytics.retention import prune_analytics

        removed.update(prune_analytics(session, get_settings()))
    return removed


def add_jobs(scheduler: BaseScheduler, service: ReminderService, settings: Settings,
             first_run_in_s: float = 1.0) -> None:
    """Add ``reminder_sweep`` (coalesced, never overlapping itself) and the daily prune job."""
    interval = settings.reminder_interval_minutes
    now = dt.datetime.now(dt.timezone.utc)
    scheduler.add_job(service.run_once, trigger="interval", minutes=interval, id=JOB_ID, name=JOB_ID,
                      replace_existing=True, coalesce=True, max_instances=1,
                      misfire_grace_time=max(30, int(interval * 60)),
                      next_run_time=now + dt.timedelta(seconds=first_run_in_s))
    scheduler.add_job(prune_job, trigger="interval", hours=24, args=[settings.database_url], id=PRUNE_JOB_ID,
                      name=PRUNE_JOB_ID, replace_existing=True, coalesce=True, max_instances=1,
                      next_run_time=now + dt.timedelta(minutes=1))


def run_forever(settings: Settings, service: ReminderService, first_run_in_s: float = 1.0) -> None:
    """Run the jobs in the foreground until SIGINT/SIGTERM."""
    scheduler = BlockingScheduler(timezone=dt.timezone.utc)
    add_jobs(scheduler, service, settings, first_run_in_s)

    def stop(signum: int, _frame: object) -> None:
        logger.info("signal %s: stopping the reminder scheduler", signum)
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    logger.info("reminder scheduler running every %s min", settings.reminder_interval_minutes)
    try:
        scheduler.start()
    finally:
        service.close()


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m workers.reminders", description=__doc__.splitlines()[0])
    parser.add_argument("--once", action="store_true", help="run a single sweep and exit")
    parser.add_argument("--interval", type=float, default=None, help="minutes between sweeps (overrides settings)")
    parser.add_argument("--report", action="store_true", help="print notices per state and the unconfirmed ones")
    parser.add_argument("--resolve", nargs=2, metavar=("ID", "sent|requeue"),
                        help="mark an unconfirmed notice sent, or requeue it (it surely did not arrive)")
    parser.add_argument("--supervised", action="store_true", help=argparse.SUPPRESS)  # started by bot.cli serve
    args = parser.parse_args(argv)

    settings = get_settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.report or args.resolve:
        return operate(args.report, args.resolve)
    if args.interval is not None:
        settings = settings.copy(update={"reminder_interval_minutes": args.interval})
    service = build_service(settings)
    if args.once:
        result = service.run_once()
        service.close()
        print(json.dumps(result.as_dict(), ensure_ascii=False))
        return 0
    if args.supervised:  # `make run`: let the server start before the first sweep
        run_forever(settings, service, first_run_in_s=10.0)
        return 0
    if settings.scheduler_mode == "embedded":
        logger.warning("SCHEDULER_MODE=embedded: `make run` also sweeps; running both is safe but redundant")
    run_forever(settings, service)
    return 0


def operate(report: bool, verdict: Optional[List[str]]) -> int:
    """``--report`` / ``--resolve``: read or settle unconfirmed notices."""
    from bot.db.session import session_scope
    from bot.reminders import report as ops

    if verdict:
        notice_id, action = verdict
        if action not in {"sent", "requeue"} or not notice_id.isdigit():
            print("usage: --resolve ID sent|requeue", file=sys.stderr)
            return 2
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        with session_scope() as session:
            done = ops.resolve(session, int(notice_id), delivered=action == "sent", now=now)
        print(f"notice {notice_id}: {action}" if done else f"notice {notice_id} is not unconfirmed", file=sys.stderr)
        if not done:
            return 1
    if report:
        with session_scope() as session:
            counts = ops.state_counts(session)
            items = [dataclasses.asdict(item) for item in ops.unconfirmed(session)]
        print(json.dumps({"states": counts, "unconfirmed": items}, ensure_ascii=False, default=str, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
