"""Dossier records, upsert with status history, chat users and links (``bot/dossiers``)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any, Dict

import pytest
from sqlalchemy import func, select, text

from bot.db.models import ChatUser, Dossier, DossierLink, DossierStatusHistory
from bot.db.session import session_scope
from bot.dossiers.demo import demo_dossiers
from bot.dossiers.service import (
    OPEN_STATUSES,
    STATUSES,
    DossierRecord,
    get_or_create_chat_user,
    link_dossier,
    upsert_dossier,
)
from bot.text.codes import normalize_dossier_code

CODE = "000.00.15.H65-240312-0001"
TODAY = dt.date(2026, 3, 12)


def raw(**changes: Any) -> Dict[str, Any]:
    data: Dict[str, Any] = {
        "code": CODE, "procedure_code": "1.001193", "procedure_name": "Đăng ký khai sinh",
        "status": "in_progress", "applicant_name": "Nguyễn Văn A", "applicant_phone": "0912 345 678",
        "agency_name": "UBND phường Yên Bái", "pickup_place": "Bộ phận Một cửa",
        "received_at": "2026-03-10T08:30:00", "appointment_date": "2026-03-13",
        "missing_documents": [], "fee_due_vnd": None, "note": None,
    }
    data.update(changes)
    return data


# --- DossierRecord ------------------------------------------------------------------------------

def test_from_dict_full() -> None:
    rec = DossierRecord.from_dict(raw(new_appointment_date="2026-03-20", completed_at="2026-03-21T15:00:00",
                                      missing_documents=["CCCD", 7], fee_due_vnd="100000", note="ghi chú"))
    assert rec.code == CODE
    assert rec.status == "in_progress"
    assert rec.applicant_phone == "0912345678"
    assert rec.phone_last4 == "5678"
    assert rec.received_at == dt.datetime(2026, 3, 10, 8, 30)
    assert rec.appointment_date == dt.date(2026, 3, 13)
    assert rec.new_appointment_date == dt.date(2026, 3, 20)
    assert rec.completed_at == dt.datetime(2026, 3, 21, 15, 0)
    assert rec.missing_documents == ["CCCD", "7"]
    assert rec.fee_due_vnd == 100000
    assert rec.note == "ghi chú"


def test_from_dict_minimal() -> None:
    rec = DossierRecord.from_dict({"code": CODE, "status": "received", "procedure_name": "X"})
    assert rec.applicant_phone is None and rec.phone_last4 is None
    assert rec.received_at is None and rec.appointment_date is None
    assert rec.missing_documents == [] and rec.fee_due_vnd is None


@pytest.mark.parametrize("code", ["000.00.15.h65-240312-0001", " 000.00.15.H65 - 240312 - 0001 ",
                                  "000.00.15.H65_240312_0001", "hồ sơ 000.00.15.H65-240312-0001 ạ"])
def test_from_dict_normalises_the_code(code: str) -> None:
    assert DossierRecord.from_dict(raw(code=code)).code == CODE


@pytest.mark.parametrize("phone", ["+84 912 345 678", "84912345678", "0912.345.678", "0912-345-678"])
def test_from_dict_canonical_phone(phone: str) -> None:
    rec = DossierRecord.from_dict(raw(applicant_phone=phone))
    assert rec.applicant_phone == "0912345678" and rec.phone_last4 == "5678"


@pytest.mark.parametrize(("changes", "message"), [
    ({"code": "12345"}, "invalid dossier code"),
    ({"code": ""}, "invalid dossier code"),
    ({"code": None}, "invalid dossier code"),
    ({"code": f"{CODE} {CODE.replace('0001', '0002')}"}, "invalid dossier code"),  # two codes
    ({"status": "done"}, "status must be one of"),
    ({"status": None}, "status must be one of"),
    ({"procedure_name": ""}, "procedure_name is required"),
    ({"procedure_name": None}, "procedure_name is required"),
    ({"missing_documents": "CCCD"}, "missing_documents must be a list"),
    ({"appointment_date": "13/03/2026"}, ""),
    ({"received_at": "yesterday"}, ""),
    ({"fee_due_vnd": "free"}, ""),
])
def test_from_dict_rejects(changes: Dict[str, Any], message: str) -> None:
    data = raw(**changes)
    if "code" in changes and changes["code"] is None:
        del data["code"]
    with pytest.raises(ValueError, match=message):
        DossierRecord.from_dict(data)


@pytest.mark.parametrize("changes", [{"appointment_date": 20260313}, {"applicant_phone": 912345678}])
def test_from_dict_wrong_types_are_value_errors(changes: Dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        DossierRecord.from_dict(raw(**changes))


def test_json_round_trip() -> None:
    rec = DossierRecord.from_dict(raw(new_appointment_date="2026-03-20", missing_documents=["CCCD"]))
    again = DossierRecord.from_dict(rec.to_json())
    assert again == rec
    assert rec.to_json()["received_at"] == "2026-03-10T08:30:00"


@pytest.mark.parametrize(("status", "appointment", "new_appointment", "today", "late"), [
    ("in_progress", "2026-03-10", None, TODAY, 2),
    ("received", "2026-03-11", None, TODAY, 1),
    ("need_documents", "2026-03-01", None, TODAY, 11),
    ("waiting_fee", "2026-03-11", None, TODAY, 1),
    ("in_progress", "2026-03-12", None, TODAY, 0),  # due today: not late yet
    ("in_progress", "2026-03-20", None, TODAY, 0),
    ("in_progress", "2026-03-01", "2026-03-15", TODAY, 0),  # rescheduled: the new date counts
    ("in_progress", "2026-03-01", "2026-03-10", TODAY, 2),
    ("in_progress", None, None, TODAY, 0),
    ("ready", "2026-03-01", None, TODAY, 0),  # closed statuses are never late
    ("returned", "2026-03-01", None, TODAY, 0),
    ("refused", "2026-03-01", None, TODAY, 0),
    ("in_progress", "2025-12-31", None, dt.date(2026, 1, 31), 31),
])
def test_days_late(status: str, appointment, new_appointment, today: dt.date, late: int) -> None:  # type: ignore[no-untyped-def]
    rec = DossierRecord.from_dict(raw(status=status, appointment_date=appointment,
                                      new_appointment_date=new_appointment))
    assert rec.days_late(today) == late


def test_open_statuses() -> None:
    assert OPEN_STATUSES < set(STATUSES)
    assert set(STATUSES) - OPEN_STATUSES == {"ready", "returned", "refused"}


# --- upsert and history ---------------------------------------------------------------------------

def _history(url: str, code: str = CODE):  # type: ignore[no-untyped-def]
    with session_scope(url) as session:
        stmt = (select(DossierStatusHistory.status, DossierStatusHistory.changed_at, DossierStatusHistory.note)
                .join(Dossier, Dossier.id == DossierStatusHistory.dossier_id).where(Dossier.code == code)
                .order_by(DossierStatusHistory.id))
        return [tuple(r) for r in session.execute(stmt)]


def test_upsert_inserts_and_tracks_status_history(clean_db_url: str) -> None:
    t0, t1, t2 = dt.datetime(2026, 3, 10, 8), dt.datetime(2026, 3, 11, 9), dt.datetime(2026, 3, 12, 10)
    with session_scope(clean_db_url) as session:
        row = upsert_dossier(session, DossierRecord.from_dict(raw(status="received")), changed_at=t0)
        assert row.id is not None and row.phone_last4 == "5678" and row.status_changed_at == t0

    # same status, other fields change: updated, no new history entry
    with session_scope(clean_db_url) as session:
        upsert_dossier(session, DossierRecord.from_dict(raw(status="received", agency_name="UBND mới")),
                       changed_at=t1)
    assert _history(clean_db_url) == [("received", t0, None)]

    # status change: history grows, status_changed_at moves
    with session_scope(clean_db_url) as session:
        upsert_dossier(session, DossierRecord.from_dict(
            raw(status="need_documents", missing_documents=["Giấy chứng sinh"], note="thiếu giấy",
                applicant_phone="0987 000 111", agency_name="UBND mới")), changed_at=t2)
    assert _history(clean_db_url) == [("received", t0, None), ("need_documents", t2, "thiếu giấy")]

    with session_scope(clean_db_url) as session:
        rows = list(session.execute(select(Dossier)).scalars())
        assert len(rows) == 1
        row = rows[0]
        assert row.status == "need_documents" and row.status_changed_at == t2
        assert row.agency_name == "UBND mới"
        assert row.missing_documents == ["Giấy chứng sinh"]
        assert row.applicant_phone == "0987000111" and row.phone_last4 == "0111"
        assert DossierRecord.from_row(row) == DossierRecord.from_dict(
            raw(status="need_documents", missing_documents=["Giấy chứng sinh"], note="thiếu giấy",
                applicant_phone="0987 000 111", agency_name="UBND mới"))


def test_upsert_same_record_twice_adds_no_history(clean_db_url: str) -> None:
    rec = DossierRecord.from_dict(raw())
    for _ in range(3):
        with session_scope(clean_db_url) as session:
            upsert_dossier(session, rec)
    assert len(_history(clean_db_url)) == 1


def test_upsert_default_changed_at_is_now(clean_db_url: str) -> None:
    before = dt.datetime.utcnow() - dt.timedelta(seconds=5)
    with session_scope(clean_db_url) as session:
        row = upsert_dossier(session, DossierRecord.from_dict(raw()))
        assert before <= row.status_changed_at <= dt.datetime.utcnow() + dt.timedelta(seconds=5)


def test_upsert_rolled_back_leaves_nothing(clean_db_url: str) -> None:
    with pytest.raises(RuntimeError):
        with session_scope(clean_db_url) as session:
            upsert_dossier(session, DossierRecord.from_dict(raw()))
            raise RuntimeError("boom")
    with session_scope(clean_db_url) as session:
        assert session.execute(select(func.count(Dossier.id))).scalar_one() == 0
        assert session.execute(select(func.count(DossierStatusHistory.id))).scalar_one() == 0


# --- chat users and links ---------------------------------------------------------------------

def test_get_or_create_chat_user(clean_db_url: str) -> None:
    with session_scope(clean_db_url) as session:
        user = get_or_create_chat_user(session, "telegram", "42")
        first_id, first_seen = user.id, user.last_interaction_at
        assert first_seen is not None and user.reachable is True
    time.sleep(0.01)
    with session_scope(clean_db_url) as session:
        again = get_or_create_chat_user(session, "telegram", "42")
        assert again.id == first_id
        assert again.last_interaction_at > first_seen
        other = get_or_create_chat_user(session, "zalo", "42")
        assert other.id != first_id
    with session_scope(clean_db_url) as session:
        assert session.execute(select(func.count(ChatUser.id))).scalar_one() == 2


def test_get_or_create_chat_user_concurrent_insert(clean_db_url: str) -> None:
    """Another replica inserts the same user while we are about to: we end up with its row."""
    holder = session_scope(clean_db_url)
    session_a = holder.__enter__()
    user_a = get_or_create_chat_user(session_a, "zalo", "race")  # flushed, not committed
    result: Dict[str, Any] = {}

    def other_replica() -> None:
        try:
            with session_scope(clean_db_url) as session_b:
                result["id"] = get_or_create_chat_user(session_b, "zalo", "race").id
        except Exception as exc:  # noqa: BLE001 - reported to the test below
            result["error"] = exc

    thread = threading.Thread(target=other_replica)
    thread.start()
    if clean_db_url.startswith("postgresql"):
        # wait until the other replica is blocked on the unique index
        deadline = time.monotonic() + 10
        with session_scope(clean_db_url) as probe:
            while time.monotonic() < deadline:
                waiting = probe.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'")).scalar_one()
                if waiting:
                    break
                probe.rollback()
                time.sleep(0.02)
            assert waiting, "the other replica never blocked"
    else:
        time.sleep(0.3)  # SQLite: the other writer waits on the database lock (busy_timeout)
    holder.__exit__(None, None, None)
    thread.join(timeout=20)
    assert not thread.is_alive()
    assert "error" not in result, result.get("error")
    assert result["id"] == user_a.id
    with session_scope(clean_db_url) as session:
        assert session.execute(select(func.count(ChatUser.id))).scalar_one() == 1


def test_link_dossier(clean_db_url: str) -> None:
    with session_scope(clean_db_url) as session:
        assert link_dossier(session, CODE, "telegram", "42") is False  # no such dossier yet
        upsert_dossier(session, DossierRecord.from_dict(raw()))
    with session_scope(clean_db_url) as session:
        assert session.execute(select(func.count(ChatUser.id))).scalar_one() == 0  # nothing created for nothing
        assert link_dossier(session, CODE, "telegram", "42") is True
        assert link_dossier(session, CODE, "telegram", "42") is True  # idempotent
    with session_scope(clean_db_url) as session:
        assert link_dossier(session, CODE, "telegram", "42") is True
        assert link_dossier(session, CODE, "zalo", "u-1") is True
    with session_scope(clean_db_url) as session:
        links = session.execute(select(ChatUser.channel, ChatUser.channel_user_id)
                                .join(DossierLink, DossierLink.chat_user_id == ChatUser.id)
                                .order_by(ChatUser.channel)).all()
        assert [tuple(r) for r in links] == [("telegram", "42"), ("zalo", "u-1")]


# --- demo dossiers ----------------------------------------------------------------------------

def test_demo_dossiers() -> None:
    records = demo_dossiers(TODAY)
    assert {r.status for r in records} == set(STATUSES)
    assert len({r.code for r in records}) == len(records)
    assert all(normalize_dossier_code(r.code) == r.code for r in records)

    first = records[0]
    assert first.code == CODE
    assert first.procedure_code == "1.001193" and first.procedure_name == "Đăng ký khai sinh"
    assert first.phone_last4 == "5678"
    assert first.status == "in_progress"
    assert first.received_at == dt.datetime(2026, 3, 11, 8, 30)
    assert first.appointment_date == dt.date(2026, 3, 13)

    by_status = {r.status: r for r in records}
    assert by_status["need_documents"].missing_documents
    assert by_status["waiting_fee"].fee_due_vnd == 100000
    assert by_status["returned"].completed_at is not None
    assert by_status["refused"].note
    for record in records:  # every demo record survives the JSON round trip (push/API shape)
        assert DossierRecord.from_dict(record.to_json()) == record


@pytest.mark.parametrize("day", [dt.date(2024, 2, 28), dt.date(2026, 12, 31), dt.date(2030, 1, 1)])
def test_demo_dates_are_relative_to_the_day(day: dt.date) -> None:
    base = demo_dossiers(TODAY)
    moved = demo_dossiers(day)
    delta = day - TODAY
    for a, b in zip(base, moved):
        assert b.code == a.code and b.status == a.status
        assert b.received_at == a.received_at + delta
        assert b.appointment_date == a.appointment_date + delta
        assert (b.new_appointment_date is None) == (a.new_appointment_date is None)
        if a.new_appointment_date:
            assert b.new_appointment_date == a.new_appointment_date + delta
        if a.completed_at:
            assert b.completed_at == a.completed_at + delta
    assert moved[0].received_at.date() == day - dt.timedelta(days=1)
    assert moved[0].appointment_date == day + dt.timedelta(days=1)
    # open demo dossiers are not late on their own day
    assert all(r.days_late(day) == 0 for r in moved)


def test_demo_dossiers_upsert(clean_db_url: str) -> None:
    records = demo_dossiers(TODAY)
    for _ in range(2):
        with session_scope(clean_db_url) as session:
            for record in records:
                upsert_dossier(session, record)
    with session_scope(clean_db_url) as session:
        assert session.execute(select(func.count(Dossier.id))).scalar_one() == len(records)
        assert session.execute(select(func.count(DossierStatusHistory.id))).scalar_one() == len(records)
        row = session.execute(select(Dossier).where(Dossier.code == CODE)).scalar_one()
        assert row.phone_last4 == "5678" and row.status == "in_progress"
