"""Working days (weekends and Vietnamese public holidays) and quiet hours."""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import FrozenSet, Optional, Union

from bot.settings import ROOT

logger = logging.getLogger(__name__)

DEFAULT_HOLIDAYS_FILE = ROOT / "data" / "holidays_vn.json"


@dataclass(frozen=True)
class WorkCalendar:
    """Public holidays and make-up working days (civil-service calendar).

    Saturdays and Sundays are days off unless listed as make-up working days
    (``làm bù``); listed holidays and compensatory days off are days off.
    """

    holidays: FrozenSet[dt.date] = field(default_factory=frozenset)
    working_weekend_days: FrozenSet[dt.date] = field(default_factory=frozenset)

    def is_working_day(self, day: dt.date) -> bool:
        """True when offices are open on ``day``."""
        if day in self.holidays:
            return False
        if day.weekday() >= 5:
            return day in self.working_weekend_days
        return True

    def next_working_day(self, day: dt.date) -> dt.date:
        """The first working day strictly after ``day``."""
        candidate = day + dt.timedelta(days=1)
        for _ in range(60):  # Tết plus weekends is at most ~10 days
            if self.is_working_day(candidate):
                return candidate
            candidate += dt.timedelta(days=1)
        return candidate

    def previous_working_day(self, day: dt.date) -> dt.date:
        """The last working day strictly before ``day``."""
        candidate = day - dt.timedelta(days=1)
        for _ in range(60):
            if self.is_working_day(candidate):
                return candidate
            candidate -= dt.timedelta(days=1)
        return candidate


def load_calendar(path: Union[str, Path, None] = None) -> WorkCalendar:
    """Load ``data/holidays_vn.json`` (or ``path``); a missing file gives weekends only."""
    return _load_calendar(str(path or DEFAULT_HOLIDAYS_FILE))


@lru_cache(maxsize=4)
def _load_calendar(path: str) -> WorkCalendar:
    file = Path(path)
    if not file.exists():
        logger.warning("holiday file %s not found: only weekends are days off", file)
        return WorkCalendar()
    data = json.loads(file.read_text(encoding="utf-8"))
    holidays = frozenset(dt.date.fromisoformat(item["date"]) for item in data.get("days_off", []))
    working = frozenset(dt.date.fromisoformat(item["date"]) for item in data.get("working_days", []))
    return WorkCalendar(holidays=holidays, working_weekend_days=working)


@dataclass(frozen=True)
class QuietHours:
    """Local hours in which nothing is pushed, e.g. 21 → 7 (wraps past midnight)."""

    start: int = 21
    end: int = 7

    def contains(self, local: dt.datetime) -> bool:
        """True when the local time ``local`` falls in the quiet period."""
        if self.start == self.end:
            return False
        if self.start > self.end:
            return local.hour >= self.start or local.hour < self.end
        return self.start <= local.hour < self.end

    def next_allowed(self, local: dt.datetime) -> dt.datetime:
        """``local`` itself, or the end of the quiet period it falls in (same zone)."""
        if not self.contains(local):
            return local
        end = local.replace(hour=self.end, minute=0, second=0, microsecond=0)
        if end <= local:
            end += dt.timedelta(days=1)
        return end


def quiet_hours_from(start: Optional[int], end: Optional[int]) -> QuietHours:
    """QuietHours from settings values (None means the default 21–7)."""
    return QuietHours(start=21 if start is None else int(start), end=7 if end is None else int(end))
