"""Handoff office hours: parsing HANDOFF_HOURS, open/closed, the next opening over lunch, nights,
weekends, public holidays and make-up working days (the real ``data/holidays_vn.json``)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot.conversations.office_hours import next_staffed, parse_office_hours
from bot.reminders.workdays import load_calendar
from bot.settings import Settings

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
HOURS = parse_office_hours("Mon-Fri 07:30-11:30,13:30-17:00")
CALENDAR = load_calendar()


def local(y: int, m: int, d: int, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=HANOI)


@pytest.mark.parametrize("moment, is_open, opening", [
    (local(2026, 12, 3, 9, 0), True, local(2026, 12, 3, 9, 0)),        # Thursday morning
    (local(2026, 12, 3, 7, 29), False, local(2026, 12, 3, 7, 30)),     # before opening
    (local(2026, 12, 3, 11, 30), False, local(2026, 12, 3, 13, 30)),   # lunch break starts at 11:30 sharp
    (local(2026, 12, 3, 17, 0), False, local(2026, 12, 4, 7, 30)),     # evening -> next morning
    (local(2026, 12, 4, 18, 0), False, local(2026, 12, 7, 7, 30)),     # Friday evening -> Monday
    (local(2026, 12, 5, 10, 0), False, local(2026, 12, 7, 7, 30)),     # Saturday
    (local(2026, 8, 28, 17, 30), False, local(2026, 9, 3, 7, 30)),     # 31/8 (bridge day), 1-2/9 off
    (local(2026, 8, 22, 8, 0), True, local(2026, 8, 22, 8, 0)),        # Saturday worked in place of 31/8
    (local(2026, 2, 13, 17, 5), False, local(2026, 2, 23, 7, 30)),     # Tết 2026
])
def test_open_and_next_opening(moment: dt.datetime, is_open: bool, opening: dt.datetime) -> None:
    assert HOURS.is_open(moment, CALENDAR) is is_open
    assert HOURS.next_open(moment, CALENDAR) == opening


def test_several_groups_and_always() -> None:
    hours = parse_office_hours("Mon-Fri 07:30-11:30 ; Sat 08:00-10:00")
    assert hours.next_open(local(2026, 12, 4, 12, 0), CALENDAR) == local(2026, 12, 5, 8, 0)
    always = parse_office_hours("always")
    assert always.is_open(local(2026, 1, 1, 3, 0), CALENDAR)
    night = parse_office_hours("Mon-Sun 00:00-24:00")
    assert night.is_open(local(2026, 12, 5, 23, 59), CALENDAR)


@pytest.mark.parametrize("spec", ["", "Mon-Fri", "Mon-Fri 7h30-11h30", "Mon-Xyz 07:30-11:30",
                                  "Fri-Mon 07:30-11:30", "Mon 11:30-07:30", "Mon 25:00-26:00"])
def test_malformed_hours_are_refused_by_the_settings(spec: str) -> None:
    with pytest.raises(ValueError, match="HANDOFF_HOURS"):
        parse_office_hours(spec)
    with pytest.raises(ValueError, match="HANDOFF_HOURS"):
        Settings(app_env="test", handoff_hours=spec)


def test_next_staffed_reads_the_settings_in_the_province_time_zone() -> None:
    settings = Settings(app_env="test")
    # 2026-12-03 23:00 UTC is Friday 06:00 in Hà Nội: staff answer from 07:30 that day
    assert next_staffed(settings, dt.datetime(2026, 12, 3, 23, 0, tzinfo=dt.timezone.utc)) == local(2026, 12, 4, 7, 30)
    assert next_staffed(settings, dt.datetime(2026, 12, 4, 2, 0, tzinfo=dt.timezone.utc)) == local(2026, 12, 4, 9, 0)
