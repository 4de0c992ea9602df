"""Reminder building blocks without a database: working days, quiet hours, notice keys, rendering."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from bot.reminders.notices import NoticeKey, bullet_list, format_vnd, overdue_ref, response_name
from bot.reminders.workdays import QuietHours, WorkCalendar, load_calendar
from bot.responses import Responses, fill
from bot.settings import ROOT
from tests.support.reminders import local

D = dt.date


def test_holiday_file_is_well_formed():
    data = json.loads((ROOT / "data" / "holidays_vn.json").read_text(encoding="utf-8"))
    assert data["sources"] and data["legal_basis"]
    days = [D.fromisoformat(item["date"]) for item in data["days_off"]]
    assert len(days) == len(set(days)) and {d.year for d in days} == {2024, 2025, 2026, 2027}
    for item in data["working_days"]:
        assert D.fromisoformat(item["date"]).weekday() == 5  # make-up days are Saturdays


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (D(2024, 2, 7), D(2024, 2, 15)),   # Tết Giáp Thìn 8–14/2/2024
        (D(2024, 4, 26), D(2024, 5, 2)),   # 27/4–1/5/2024 (29/4 swapped)
        (D(2024, 5, 3), D(2024, 5, 4)),    # Saturday 4/5/2024 is a make-up working day
        (D(2024, 8, 30), D(2024, 9, 4)),   # National Day 2–3/9/2024
        (D(2025, 1, 24), D(2025, 2, 3)),   # Tết Ất Tỵ 25/1–2/2/2025
        (D(2025, 4, 4), D(2025, 4, 8)),    # Giỗ Tổ 7/4/2025
        (D(2026, 2, 13), D(2026, 2, 23)),  # Tết Bính Ngọ 14–22/2/2026
        (D(2026, 11, 23), D(2026, 11, 25)),  # Ngày Văn hóa Việt Nam 24/11/2026
        (D(2024, 3, 8), D(2024, 3, 11)),   # an ordinary weekend
    ],
)
def test_next_working_day(day, expected):
    assert load_calendar().next_working_day(day) == expected


def test_calendar_without_file_has_weekends_only(tmp_path):
    calendar = load_calendar(tmp_path / "missing.json")
    assert calendar == WorkCalendar()
    assert calendar.previous_working_day(D(2024, 9, 2)) == D(2024, 8, 30)


def test_quiet_hours():
    quiet = QuietHours(21, 7)
    assert quiet.contains(local("2024-03-04 21:00")) and quiet.contains(local("2024-03-05 06:59"))
    assert not quiet.contains(local("2024-03-04 07:00")) and not quiet.contains(local("2024-03-04 20:59"))
    assert quiet.next_allowed(local("2024-03-04 23:30")) == local("2024-03-05 07:00")
    assert quiet.next_allowed(local("2024-03-05 03:00")) == local("2024-03-05 07:00")
    assert quiet.next_allowed(local("2024-03-05 12:00")) == local("2024-03-05 12:00")
    assert not QuietHours(0, 0).contains(local("2024-03-05 03:00"))
    assert QuietHours(12, 14).contains(local("2024-03-05 13:00"))


def test_notice_keys_and_refs():
    key = NoticeKey.parse("12:34:overdue:2024-03-12~2024-03-19")
    assert key.dates == (D(2024, 3, 12), D(2024, 3, 19)) and response_name(key) == "utter_reminder_overdue_new_date"
    assert str(key) == "12:34:overdue:2024-03-12~2024-03-19"
    assert response_name(NoticeKey.parse("1:2:overdue:2024-03-12~")) == "utter_reminder_overdue"
    assert response_name(NoticeKey.parse("1:2:status_ready:20240312T101500")) == "utter_reminder_ready"
    assert overdue_ref(D(2024, 3, 12), None, D(2024, 3, 12)) is None
    assert overdue_ref(D(2024, 3, 12), None, D(2024, 3, 13)) == "2024-03-12~"
    assert overdue_ref(D(2024, 3, 12), D(2024, 3, 19), D(2024, 3, 13)) == "2024-03-12~2024-03-19"
    assert overdue_ref(D(2024, 3, 12), D(2024, 3, 19), D(2024, 3, 20)) == "2024-03-19~"
    assert format_vnd(1500000) == "1.500.000" and format_vnd(None) == ""
    assert bullet_list(["a", {"name": "b"}, ""]) == "- a\n- b" and bullet_list(None) == ""


def test_renderer_fills_like_rasa():
    renderer = Responses({"utter_x": [{"text": "kênh", "channel": "zalo"}, {"text": "Mã {code}, {missing}"}]})
    assert renderer.render("utter_x", {"code": "A1"}) == "Mã A1, {missing}"
    assert renderer.render("utter_x", {}, channel="zalo") == "kênh"
    with pytest.raises(KeyError):
        renderer.render("utter_none", {})
    assert fill("{a}{b}", {"a": 1, "b": None}) == "1{b}"
    assert Responses.from_files().has("utter_reminder_ready")
