"""Time helpers: an injectable clock, local time and naive-UTC database timestamps."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Callable

logger = logging.getLogger(__name__)

#: A clock returns the current moment as an aware datetime (any zone).
Clock = Callable[[], dt.datetime]


def system_clock() -> dt.datetime:
    """The real current time (aware, UTC)."""
    return dt.datetime.now(dt.timezone.utc)


def get_zone(name: str) -> dt.tzinfo:
    """The time zone ``name`` (Vietnam has no DST, so a fixed +07:00 is a safe fallback)."""
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(name)
    except Exception:  # noqa: BLE001 - no tz database on the machine
        if name in {"Asia/Ho_Chi_Minh", "Asia/Saigon"}:
            logger.warning("tz database lacks %s; using a fixed UTC+07:00", name)
            return dt.timezone(dt.timedelta(hours=7), name)
        raise


def as_aware(moment: dt.datetime) -> dt.datetime:
    """``moment`` as an aware datetime (naive values are taken as UTC)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.timezone.utc)


def to_db(moment: dt.datetime) -> dt.datetime:
    """``moment`` as naive UTC, the form every timestamp column stores."""
    return as_aware(moment).astimezone(dt.timezone.utc).replace(tzinfo=None)


def from_db(value: dt.datetime) -> dt.datetime:
    """A naive-UTC column value as an aware UTC datetime."""
    return value.replace(tzinfo=dt.timezone.utc)


def to_local(moment: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """``moment`` in ``zone``."""
    return as_aware(moment).astimezone(zone)
