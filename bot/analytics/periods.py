"""Date ranges of analytics pages: validation, local day boundaries, day and ISO-week buckets."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterator, List, Optional, Tuple, Union

from bot.reminders.clock import get_zone

DAY, WEEK = "day", "week"
GRANULARITIES = (DAY, WEEK)
#: Longest range a page may ask for (two years and a leap day).
MAX_RANGE_DAYS = 732
EARLIEST = dt.date(2000, 1, 1)

DateLike = Union[dt.date, str]


class AnalyticsInputError(ValueError):
    """Bad input to an analytics or review query (dates, range, filters, cursor); the message says which."""


def parse_date(value: DateLike, name: str = "date") -> dt.date:
    """A date from a :class:`datetime.date` or an ISO ``YYYY-MM-DD`` string.

    Raises:
        AnalyticsInputError: anything else, or a date before 2000 or after 2100.
    """
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value.strip())
        except ValueError:
            raise AnalyticsInputError(f"{name} must be a date written YYYY-MM-DD") from None
    if not isinstance(value, dt.date):
        raise AnalyticsInputError(f"{name} must be a date written YYYY-MM-DD")
    if not EARLIEST <= value <= dt.date(2100, 1, 1):
        raise AnalyticsInputError(f"{name} must lie between 2000 and 2100")
    return value


def zone_of(zone: Optional[Union[str, dt.tzinfo]] = None) -> dt.tzinfo:
    """The time zone days are counted in (default: the ``TIMEZONE`` setting)."""
    if zone is None:
        from bot.settings import get_settings

        zone = get_settings().timezone
    return get_zone(zone) if isinstance(zone, str) else zone


@dataclass(frozen=True)
class Period:
    """An inclusive range of local days shown per ``granularity`` (day or ISO week)."""

    start: dt.date
    end: dt.date
    granularity: str
    zone: dt.tzinfo

    def days(self) -> List[dt.date]:
        """Every day of the range, oldest first."""
        return [self.start + dt.timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    def bounds(self) -> Tuple[float, float]:
        """Epoch seconds of the range's first local midnight and of the midnight after its last day."""
        return day_bounds(self.start, self.zone)[0], day_bounds(self.end, self.zone)[1]

    def utc_bounds(self) -> Tuple[dt.datetime, dt.datetime]:
        """The same bounds as naive UTC datetimes (how our tables store times)."""
        lo, hi = self.bounds()
        return utc_naive(lo), utc_naive(hi)

    def bucket(self, day: dt.date) -> str:
        """The label of the bucket ``day`` falls in: ``2024-03-05`` or ``2024-W10``."""
        if self.granularity == DAY:
            return day.isoformat()
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"

    def labels(self) -> List[str]:
        """Every bucket label of the range in order (empty buckets included, for charts)."""
        seen: List[str] = []
        for day in self.days():
            label = self.bucket(day)
            if not seen or seen[-1] != label:
                seen.append(label)
        return seen


def period(start: DateLike, end: DateLike, granularity: str = DAY,
           zone: Optional[Union[str, dt.tzinfo]] = None) -> Period:
    """A validated :class:`Period` from ``start`` to ``end`` (both inclusive, local days).

    Raises:
        AnalyticsInputError: unparsable dates, end before start, a range over
            :data:`MAX_RANGE_DAYS` days, or an unknown granularity.
    """
    first, last = parse_date(start, "start"), parse_date(end, "end")
    if last < first:
        raise AnalyticsInputError("end must not be before start")
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise AnalyticsInputError(f"a range may span at most {MAX_RANGE_DAYS} days")
    if granularity not in GRANULARITIES:
        raise AnalyticsInputError(f"granularity must be one of {', '.join(GRANULARITIES)}")
    return Period(first, last, granularity, zone_of(zone))


def day_bounds(day: dt.date, zone: dt.tzinfo) -> Tuple[float, float]:
    """Epoch seconds of local midnight starting ``day`` and of the next local midnight."""
    lo = dt.datetime.combine(day, dt.time(), tzinfo=zone).timestamp()
    hi = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=zone).timestamp()
    return lo, hi


def local_day(epoch: float, zone: dt.tzinfo) -> dt.date:
    """The local day of an epoch timestamp."""
    return dt.datetime.fromtimestamp(epoch, zone).date()


def local_day_of_utc(value: dt.datetime, zone: dt.tzinfo) -> dt.date:
    """The local day of a naive UTC datetime (as stored in our tables)."""
    return value.replace(tzinfo=dt.timezone.utc).astimezone(zone).date()


def utc_naive(epoch: float) -> dt.datetime:
    """Naive UTC datetime of an epoch timestamp."""
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).replace(tzinfo=None)


def chunks(days: List[dt.date], size: int) -> Iterator[List[dt.date]]:
    """``days`` in consecutive lists of at most ``size``."""
    for i in range(0, len(days), size):
        yield days[i:i + size]
