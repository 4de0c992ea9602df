"""``python -m bot.reminders``: the reminder scheduler as its own process.

Use with ``SCHEDULER_MODE=separate`` (the server then does not schedule it). Any
number of these processes may run against the same PostgreSQL database.

    python -m bot.reminders            # run until SIGTERM, one sweep every REMINDER_INTERVAL_MINUTES
    python -m bot.reminders --once     # one sweep, print its summary, exit
    python -m bot.reminders --report   # notices per state and the unconfirmed ones (JSON)
    python -m bot.reminders --resolve ID sent|requeue   # an operator's verdict on an unconfirmed notice
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import List, Optional

from bot.settings import get_settings

logger = logging.getLogger(__name__)


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m bot.reminders", description=__doc__.splitlines()[0])
    parser.add_argument("--once", action="store_true", help="run a single sweep and exit")
    parser.add_argument("--interval", type=float, default=None, help="minutes between sweeps (overrides settings)")
    parser.add_argument("--report", action="store_true", help="print notices per state and the unconfirmed ones")
    parser.add_argument("--resolve", nargs=2, metavar=("ID", "sent|requeue"),
                        help="mark an unconfirmed notice sent, or requeue it (it surely did not arrive)")
    args = parser.parse_args(argv)

    settings = get_settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.report or args.resolve:
        return _operate(args.report, args.resolve)
    from bot.reminders.scheduler import build_service, run_forever

    if args.interval is not None:
        settings = settings.copy(update={"reminder_interval_minutes": args.interval})
    service = build_service(settings)
    if args.once:
        result = service.run_once()
        service.close()
        print(json.dumps(result.as_dict(), ensure_ascii=False))
        return 0
    if settings.scheduler_mode == "embedded":
        logger.warning("SCHEDULER_MODE=embedded: the server also sweeps; running both is safe but redundant")
    run_forever(settings, service=service)
    return 0


def _operate(report: bool, verdict: Optional[List[str]]) -> int:
    """``--report`` / ``--resolve``: read or settle unconfirmed notices."""
    import dataclasses
    import datetime as dt

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
