"""Ownership verification and lock-out (``VerificationGuard``), with an injected clock, on both databases."""

from __future__ import annotations

import datetime as dt
from typing import Iterator, List, Optional

import pytest
from sqlalchemy import func, select

from bot.db.models import VerificationAttempt
from bot.db.session import session_scope
from bot.dossiers.service import DossierRecord, VerificationGuard, VerifyResult

CODE = "000.00.15.H65-240312-0001"
OTHER = "000.00.15.H65-240312-0002"
UNKNOWN = "000.00.15.H65-240312-9999"
T0 = dt.datetime(2026, 3, 12, 9, 0, 0)


class Clock:
    """A settable ``now``."""

    def __init__(self, start: dt.datetime = T0) -> None:
        self.at = start

    def __call__(self) -> dt.datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += dt.timedelta(**delta)


def record(code: str = CODE, phone: str = "0912345678") -> DossierRecord:
    return DossierRecord(code=code, procedure_name="Đăng ký khai sinh", status="in_progress", applicant_phone=phone)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def guard(clean_db_url: str, clock: Clock) -> Iterator[VerificationGuard]:
    with session_scope(clean_db_url) as session:
        yield VerificationGuard(session, max_attempts=3, lock_minutes=30, now=clock)


def attempts(guard: VerificationGuard, code: str = CODE) -> int:
    return guard.session.execute(select(func.count(VerificationAttempt.id))
                                 .where(VerificationAttempt.dossier_code == code)).scalar_one()


def fail(guard: VerificationGuard, clock: Clock, n: int, code: str = CODE, step_s: float = 10,
         rec: Optional[DossierRecord] = None) -> List[VerifyResult]:
    out = []
    for i in range(n):
        out.append(guard.check(code, "0000", rec or record(code), f"telegram:attacker{i}"))
        clock.advance(seconds=step_s)
    return out


def test_right_answer(guard: VerificationGuard, clock: Clock) -> None:
    assert guard.check(CODE, "5678", record(), "telegram:1") == VerifyResult("ok")
    row = guard.session.execute(select(VerificationAttempt)).scalar_one()
    assert (row.dossier_code, row.sender_key, row.success, row.attempted_at) == (CODE, "telegram:1", True, T0)


@pytest.mark.parametrize("given", ["1234", "", "5679", "05678", "678", "5678 "])
def test_wrong_answers(guard: VerificationGuard, given: str) -> None:
    result = guard.check(CODE, given, record(), "telegram:1")
    assert result == VerifyResult("wrong", 2, 0)


def test_three_wrong_answers_lock_the_code_for_everyone(guard: VerificationGuard, clock: Clock) -> None:
    results = fail(guard, clock, 3)
    assert [r.outcome for r in results] == ["wrong", "wrong", "locked"]
    assert [r.remaining for r in results] == [2, 1, 0]
    # the lock is lock_minutes from the last failure (rounded up to whole minutes)
    assert results[2].locked_minutes in (30, 31)

    # now even the owner with the right answer, from another account, is refused
    clock.advance(minutes=5)
    result = guard.check(CODE, "5678", record(), "zalo:owner")
    assert result.outcome == "locked"
    assert 25 <= result.locked_minutes <= 26
    assert attempts(guard) == 3  # attempts while locked are not even recorded
    # other codes are not affected
    assert guard.check(OTHER, "5678", record(OTHER), "zalo:owner").outcome == "ok"


def test_lock_expires_after_lock_minutes(guard: VerificationGuard, clock: Clock) -> None:
    fail(guard, clock, 3, step_s=0)
    last_failure = clock()
    clock.at = last_failure + dt.timedelta(minutes=29, seconds=59)
    assert guard.locked_minutes(CODE) >= 1
    assert guard.check(CODE, "5678", record(), "telegram:owner").outcome == "locked"
    clock.at = last_failure + dt.timedelta(minutes=30)
    assert guard.locked_minutes(CODE) == 0
    assert guard.check(CODE, "5678", record(), "telegram:owner") == VerifyResult("ok")


def test_after_the_lock_a_fresh_window_starts(guard: VerificationGuard, clock: Clock) -> None:
    fail(guard, clock, 3, step_s=0)
    clock.advance(minutes=31)
    assert guard.check(CODE, "1111", record(), "x") == VerifyResult("wrong", 2, 0)
    clock.advance(seconds=1)
    assert guard.check(CODE, "2222", record(), "x") == VerifyResult("wrong", 1, 0)
    clock.advance(seconds=1)
    assert guard.check(CODE, "3333", record(), "x").outcome == "locked"


def test_failures_outside_the_window_do_not_count(guard: VerificationGuard, clock: Clock) -> None:
    fail(guard, clock, 2, step_s=0)
    clock.advance(minutes=31)
    assert guard.check(CODE, "0000", record(), "x") == VerifyResult("wrong", 2, 0)


def test_success_resets_the_count(guard: VerificationGuard, clock: Clock) -> None:
    fail(guard, clock, 2)
    assert guard.check(CODE, "5678", record(), "owner").outcome == "ok"
    clock.advance(seconds=1)
    assert guard.check(CODE, "0000", record(), "x") == VerifyResult("wrong", 2, 0)


def test_unknown_code_behaves_like_a_wrong_phone(clean_db_url: str) -> None:
    """Same outcomes, same remaining counts, same lock, whatever is answered: nothing leaks."""
    outcomes = {}
    for name, code, rec in (("known", CODE, record()), ("unknown", UNKNOWN, None)):
        clock = Clock()
        with session_scope(clean_db_url) as session:
            guard = VerificationGuard(session, now=clock)
            seq = []
            for given in ("1234", "5678", "0000", "5678"):
                seq.append(guard.check(code, given if name == "unknown" else given.replace("5678", "9999"),
                                       rec, "telegram:probe"))
                clock.advance(seconds=30)
            clock.advance(minutes=31)
            seq.append(guard.check(code, "4321", rec, "telegram:probe"))
        outcomes[name] = seq
    assert outcomes["known"] == outcomes["unknown"]
    assert [r.outcome for r in outcomes["unknown"]] == ["wrong", "wrong", "locked", "locked", "wrong"]


def test_unknown_code_never_verifies(guard: VerificationGuard) -> None:
    for given in ("", "\x00\x00\x00\x00", "0000", "5678"):
        assert guard.check(UNKNOWN, given, None, "x").outcome != "ok"


@pytest.mark.parametrize("given", ["", "0000", "5678",
                                   pytest.param("\x00\x00\x00\x00")])
def test_record_without_phone_never_verifies(guard: VerificationGuard, given: str) -> None:
    rec = DossierRecord(code=CODE, procedure_name="X", status="received")
    assert rec.phone_last4 is None
    assert guard.check(CODE, given, rec, "x").outcome == "wrong"


def test_nine_failures_in_a_day_lock_for_a_day(guard: VerificationGuard, clock: Clock) -> None:
    for batch in range(3):
        results = fail(guard, clock, 3, step_s=1)
        assert results[-1].outcome == "locked"
        if batch < 2:
            assert results[-1].locked_minutes <= 31  # the short lock
        else:
            assert results[-1].locked_minutes > 23 * 60  # the ninth failure: a day
        clock.advance(minutes=31)
    # the ninth failure was 31 minutes (minus the steps) ago; the code is locked for ~a day
    minutes = guard.locked_minutes(CODE)
    assert 23 * 60 <= minutes <= 24 * 60 + 1
    result = guard.check(CODE, "5678", record(), "owner")
    assert result.outcome == "locked" and result.locked_minutes == minutes
    for hours in (2, 6, 12, 20):
        clock.at = T0 + dt.timedelta(hours=hours)
        assert guard.check(CODE, "5678", record(), "owner").outcome == "locked", hours
    clock.at = T0 + dt.timedelta(hours=26)
    assert guard.locked_minutes(CODE) == 0
    assert guard.check(CODE, "5678", record(), "owner").outcome == "ok"


def test_ninth_failure_reports_the_day_lock(guard: VerificationGuard, clock: Clock) -> None:
    fail(guard, clock, 3, step_s=1)
    clock.advance(minutes=31)
    fail(guard, clock, 3, step_s=1)
    clock.advance(minutes=31)
    results = fail(guard, clock, 3, step_s=1)
    assert results[-1].outcome == "locked"
    assert results[-1].locked_minutes > 23 * 60


def test_day_lock_lasts_as_long_as_announced(guard: VerificationGuard, clock: Clock) -> None:
    fail(guard, clock, 3, step_s=1)
    clock.advance(minutes=31)
    fail(guard, clock, 3, step_s=1)
    clock.advance(minutes=31)
    ninth = clock()
    announced = fail(guard, clock, 3, step_s=1)[-1].locked_minutes
    assert ninth + dt.timedelta(minutes=announced) > T0 + dt.timedelta(hours=25)
    # an hour before the announced end (but 24 h after the FIRST failure) it must still be locked
    clock.at = T0 + dt.timedelta(hours=24, minutes=5)
    assert guard.locked_minutes(CODE) > 0


def test_guard_settings_are_honoured(clean_db_url: str) -> None:
    clock = Clock()
    with session_scope(clean_db_url) as session:
        guard = VerificationGuard(session, max_attempts=5, lock_minutes=10, now=clock)
        results = fail(guard, clock, 5, step_s=1)
        assert [r.outcome for r in results] == ["wrong"] * 4 + ["locked"]
        assert [r.remaining for r in results[:4]] == [4, 3, 2, 1]
        assert results[-1].locked_minutes in (10, 11)
        clock.advance(minutes=10)
        assert guard.locked_minutes(CODE) == 0


def test_lock_is_shared_across_sessions(clean_db_url: str) -> None:
    """Replicas share the database: a lock made in one session holds in another."""
    clock = Clock()
    with session_scope(clean_db_url) as session:
        fail(VerificationGuard(session, now=clock), clock, 3)
    with session_scope(clean_db_url) as session:
        result = VerificationGuard(session, now=clock).check(CODE, "5678", record(), "zalo:someone-else")
        assert result.outcome == "locked"
