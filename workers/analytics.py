"""``python -m workers.analytics``: the analytics rollup job (:func:`bot.analytics.run_rollup`).

Idempotent and safe to run from several processes or from cron; each run rolls up only the
events written since the last one (and recomputes the days and conversations they touch).

    python -m workers.analytics --once          # one incremental run, print its summary (JSON), exit
    python -m workers.analytics --once --full   # rebuild every day that still has events
    python -m workers.analytics --interval 5    # run every 5 minutes until SIGTERM
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

logger = logging.getLogger("workers.analytics")  # also when run as __main__

JOB_ID = "analytics_rollup"


def rollup_once(database_url: Optional[str] = None, full: bool = False) -> dict:
    """One rollup run on ``database_url`` (default DATABASE_URL); returns its summary."""
    from bot.analytics import run_rollup
    from bot.db.session import get_engine

    return dataclasses.asdict(run_rollup(get_engine(database_url), full=full))


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point; returns the exit code."""
    from bot.settings import get_settings

    parser = argparse.ArgumentParser(prog="python -m workers.analytics", description=__doc__.splitlines()[0])
    parser.add_argument("--once", action="store_true", help="run once and exit")
    parser.add_argument("--full", action="store_true", help="rebuild everything instead of the new events")
    parser.add_argument("--interval", type=float, default=5.0, help="minutes between runs (default 5)")
    args = parser.parse_args(argv)
    settings = get_settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.once:
        print(json.dumps(rollup_once(full=args.full)))
        return 0
    if args.interval <= 0:
        parser.error("--interval must be positive")
    from apscheduler.schedulers.blocking import BlockingScheduler

    scheduler = BlockingScheduler(timezone=dt.timezone.utc)
    scheduler.add_job(rollup_once, trigger="interval", minutes=args.interval, id=JOB_ID, name=JOB_ID,
                      coalesce=True, max_instances=1, next_run_time=dt.datetime.now(dt.timezone.utc))

    def stop(signum: int, _frame: object) -> None:
        logger.info("signal %s: stopping the analytics rollup", signum)
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    scheduler.start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
