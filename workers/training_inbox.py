"""``python -m workers.training_inbox``: the NLU inbox collection job (:func:`bot.training.collect.collect_inbox`).

Idempotent and safe to run from several processes or from cron: each run reads only the tracker
events written since the last one (watermarks), and an event is counted once. With
``SCHEDULER_MODE=embedded`` ``make run`` (``python -m bot.cli serve``) starts it for you.

    python -m workers.training_inbox --once          # one run, print its summary (JSON), exit
    python -m workers.training_inbox --interval 10   # run every 10 minutes until SIGTERM
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import logging
import signal
import sys
from typing import List, Optional

logger = logging.getLogger("workers.training_inbox")  # also when run as __main__

JOB_ID = "nlu_inbox_collect"
DEFAULT_INTERVAL_MINUTES = 10.0


def collect_once(database_url: Optional[str] = None) -> dict:
    """One collection run on ``database_url`` (default DATABASE_URL), in its own transaction; its summary."""
    from bot.db.session import session_scope
    from bot.training.collect import collect_inbox

    with session_scope(database_url) as session:
        return dataclasses.asdict(collect_inbox(session))


def scheduled_run(database_url: Optional[str] = None) -> Optional[dict]:
    """:func:`collect_once` for the scheduler: a failure is logged (its type only: messages may quote
    citizens' texts) and the next run tries again."""
    try:
        return collect_once(database_url)
    except Exception as exc:  # noqa: BLE001 - the worker must outlive a failed run
        logger.error("nlu inbox collection failed: %s", type(exc).__name__)
        return None


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point; returns the exit code."""
    from bot.settings import get_settings

    parser = argparse.ArgumentParser(prog="python -m workers.training_inbox", description=__doc__.splitlines()[0])
    parser.add_argument("--once", action="store_true", help="run once and exit")
    parser.add_argument("--interval", type=float, default=DEFAULT_INTERVAL_MINUTES,
                        help=f"minutes between runs (default {DEFAULT_INTERVAL_MINUTES:g})")
    parser.add_argument("--supervised", action="store_true", help=argparse.SUPPRESS)  # started by bot.cli serve
    args = parser.parse_args(argv)
    logging.basicConfig(level=get_settings().log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.once:
        print(json.dumps(collect_once()))
        return 0
    if args.interval <= 0:
        parser.error("--interval must be positive")
    from apscheduler.schedulers.blocking import BlockingScheduler

    first = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=30 if args.supervised else 0)
    scheduler = BlockingScheduler(timezone=dt.timezone.utc)
    scheduler.add_job(scheduled_run, trigger="interval", minutes=args.interval, id=JOB_ID, name=JOB_ID,
                      coalesce=True, max_instances=1, next_run_time=first)

    def stop(signum: int, _frame: object) -> None:
        logger.info("signal %s: stopping the NLU inbox collection", signum)
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    logger.info("NLU inbox collection every %s min", args.interval)
    scheduler.start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
