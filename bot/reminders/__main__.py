"""``python -m bot.reminders``: the reminder scheduler as its own process.

Use with ``SCHEDULER_MODE=separate`` (the server then does not schedule it). Any
number of these processes may run against the same PostgreSQL database.

    python -m bot.reminders            # run until SIGTERM, one sweep every REMINDER_INTERVAL_MINUTES
    python -m bot.reminders --once     # one sweep, print its summary, exit
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
    args = parser.parse_args(argv)

    settings = get_settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
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


if __name__ == "__main__":
    sys.exit(main())
