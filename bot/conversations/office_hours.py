"""When staff answer handoff requests: weekly hours, public holidays and make-up working days.

``HANDOFF_HOURS`` reads like ``"Mon-Fri 07:30-11:30,13:30-17:00"``; several groups are joined
by ``;`` (``"Mon-Fri 07:30-11:30,13:30-17:00; Sat 07:30-11:30"``), ``"always"`` means a desk
staffed round the clock. Times are local (the province's time zone). On a public holiday or
compensatory day off (:class:`~bot.reminders.workdays.WorkCalendar`) the desk is closed; on a
make-up working day (a Saturday or Sunday worked in place of a weekday) it keeps Monday's hours.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple
from zoneinfo import ZoneInfo

from bot.reminders.workdays import WorkCalendar, load_calendar

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALWAYS = "always"
_GROUP = re.compile(r"^\s*([A-Za-z]{3})(?:\s*-\s*([A-Za-z]{3}))?\s+(.+?)\s*$")
_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")

Span = Tuple[dt.time, Optional[dt.time]]  # end None = midnight (24:00)


def _time(hour: str, minute: str, *, end: bool) -> Optional[dt.time]:
    h, m = int(hour), int(minute)
    if end and h == 24 and m == 0:
        return None
    if not (0 <= h <= 23 and 0 <= m <= 59):
        raise ValueError(f"HANDOFF_HOURS: invalid time {hour}:{minute}")
    return dt.time(h, m)


@dataclass(frozen=True)
class OfficeHours:
    """Opening spans per weekday (0 = Monday), or round the clock."""

    spans: Dict[int, Tuple[Span, ...]]
    always: bool = False

    def _day_spans(self, day: dt.date, calendar: WorkCalendar) -> Tuple[Span, ...]:
        if day in calendar.holidays:
            return ()
        if day in calendar.working_weekend_days:
            return self.spans.get(0, ())
        return self.spans.get(day.weekday(), ())

    def is_open(self, local: dt.datetime, calendar: WorkCalendar) -> bool:
        """True when staff answer at the local (naive or aware) time ``local``."""
        if self.always:
            return True
        now = local.time().replace(tzinfo=None)
        return any(start <= now and (end is None or now < end) for start, end in self._day_spans(local.date(),
                                                                                                  calendar))

    def next_open(self, local: dt.datetime, calendar: WorkCalendar) -> Optional[dt.datetime]:
        """The next local time (at or after ``local``) staff answer; ``local`` itself when open now.

        Returns None when no opening exists within 60 days (no hours configured).
        """
        if self.is_open(local, calendar):
            return local
        for offset in range(0, 61):
            day = local.date() + dt.timedelta(days=offset)
            for start, _end in self._day_spans(day, calendar):
                moment = dt.datetime.combine(day, start, tzinfo=local.tzinfo)
                if moment > local:
                    return moment
        return None


def parse_office_hours(spec: str) -> OfficeHours:
    """Parse ``HANDOFF_HOURS``.

    Raises:
        ValueError: an unknown day, a malformed or empty time range.
    """
    text = (spec or "").strip()
    if text.lower() == ALWAYS:
        return OfficeHours({}, always=True)
    spans: Dict[int, list] = {}
    for group in filter(None, (g.strip() for g in text.split(";"))):
        match = _GROUP.match(group)
        if not match:
            raise ValueError(f"HANDOFF_HOURS: cannot read {group[:40]!r} (e.g. 'Mon-Fri 07:30-11:30,13:30-17:00')")
        first, last, ranges = match.group(1).lower(), (match.group(2) or match.group(1)).lower(), match.group(3)
        if first not in DAYS or last not in DAYS:
            raise ValueError(f"HANDOFF_HOURS: unknown day in {group[:40]!r} (Mon … Sun)")
        days = range(DAYS.index(first), DAYS.index(last) + 1)
        if not days:
            raise ValueError(f"HANDOFF_HOURS: day range backwards in {group[:40]!r}")
        for part in ranges.split(","):
            found = _RANGE.match(part)
            if not found:
                raise ValueError(f"HANDOFF_HOURS: cannot read the time range {part.strip()[:20]!r}")
            start = _time(found.group(1), found.group(2), end=False)
            end = _time(found.group(3), found.group(4), end=True)
            if start is None or (end is not None and end <= start):
                raise ValueError(f"HANDOFF_HOURS: empty time range {part.strip()[:20]!r}")
            for day in days:
                spans.setdefault(day, []).append((start, end))
    if not spans:
        raise ValueError("HANDOFF_HOURS is empty (write e.g. 'Mon-Fri 07:30-11:30,13:30-17:00' or 'always')")
    return OfficeHours({day: tuple(sorted(values, key=lambda span: span[0])) for day, values in spans.items()})


def next_staffed(settings: Any, now: Optional[dt.datetime] = None) -> Optional[dt.datetime]:
    """When staff next answer (local, aware time): ``now`` itself while the desk is staffed.

    Args:
        settings: the application settings (``handoff_hours``, ``timezone``, ``reminder_holidays_file``).
        now: the moment to ask about (aware; default: the current time).

    Returns:
        None when the hours name no opening within 60 days.
    """
    zone = ZoneInfo(settings.timezone)
    local = (now or dt.datetime.now(dt.timezone.utc)).astimezone(zone)
    hours = parse_office_hours(settings.handoff_hours)
    return hours.next_open(local, load_calendar(settings.reminder_holidays_file))
