"""The status answer for every status on every day of the week (injected "today")."""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, Optional

import pytest

from actions.dossiers import status_lines
from bot.dossiers.service import OPEN_STATUSES, STATUSES, DossierRecord

MONDAY = dt.date(2026, 11, 30)
WEEK = [MONDAY + dt.timedelta(days=i) for i in range(7)]


def render(domain: Dict[str, Any], record: DossierRecord, today: dt.date) -> str:
    template = domain["responses"]["utter_dossier_status"][0]["text"]
    return template.format(**status_lines(domain, record, today, "0216 3 123 456"))


def record(status: str, appointment: Optional[dt.date], new: Optional[dt.date] = None) -> DossierRecord:
    return DossierRecord(code="000.00.15.H65-240312-0001", procedure_name="Đăng ký khai sinh", status=status,
                         agency_name="UBND phường Yên Bái", pickup_place="Bộ phận một cửa phường Yên Bái",
                         appointment_date=appointment, new_appointment_date=new, fee_due_vnd=100000,
                         missing_documents=["Bản sao giấy chứng sinh"], note="Thiếu chữ ký")


@pytest.mark.parametrize("today", WEEK, ids=lambda d: d.strftime("%a"))
@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("offset", [-30, -3, -1, 0, 1, 5])
@pytest.mark.parametrize("new_offset", [None, -1, 0, 2])
def test_status_on_every_weekday(domain: Dict[str, Any], today: dt.date, status: str, offset: int,
                                 new_offset: Optional[int]) -> None:
    appointment = today + dt.timedelta(days=offset)
    new = today + dt.timedelta(days=new_offset) if new_offset is not None else None
    text = render(domain, record(status, appointment, new), today)
    late = status in OPEN_STATUSES and offset < 0
    assert ("quá hạn" in text) == late, text
    assert ("xin lỗi" in text) == late, text
    assert "Hồ sơ 000.00.15.H65-240312-0001" in text and "Đăng ký khai sinh" in text
    if late:
        assert f"quá hạn {-offset} ngày" in text
        assert "chờ đến ngày hẹn" not in text  # never "wait for" a date that has passed
        if new is not None:
            assert new.strftime("%d/%m/%Y") in text
        if status in {"received", "in_progress"}:
            assert "0216 3 123 456" in text  # what to do: whom to call
    if status == "need_documents":
        assert "Bản sao giấy chứng sinh" in text
    if status == "waiting_fee":
        assert "100.000 đồng" in text
    assert "{" not in text and "}" not in text


def test_without_appointment_date(domain: Dict[str, Any]) -> None:
    text = render(domain, record("in_progress", None), MONDAY)
    assert "quá hạn" not in text and "chưa cập nhật" in text
