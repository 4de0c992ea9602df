"""Ownership verification and its guessing budgets (``VerificationGuard``), injected clock, both databases.

Budgets (defaults): 3 wrong endings per sender and code in 30 min, 10 per sender in 24 h,
5 per code from all senders in 24 h.
"""

from __future__ import annotations

import datetime as dt
from typing import Iterator, List, Optional

import pytest
from sqlalchemy import func, select

from bot.db.models import VerificationAttempt
from bot.db.session import session_scope
from bot.dossiers.service import DossierRecord
from bot.dossiers.verification import Budgets, VerificationGuard, VerifyResult

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
        yield VerificationGuard(session, Budgets(), now=clock)


def attempts(guard: VerificationGuard, code: str = CODE) -> int:
    return guard.session.execute(select(func.count(VerificationAttempt.id))
                                 .where(VerificationAttempt.dossier_code == code)).scalar_one()


def fail(guard: VerificationGuard, clock: Clock, n: int, code: str = CODE, step_s: float = 10,
         rec: Optional[DossierRecord] = None, sender: Optional[str] = None) -> List[VerifyResult]:
    """``n`` wrong endings, from one ``sender`` or (default) each from a new account."""
    out = []
    for i in range(n):
        out.append(guard.check(code, "0000", rec or record(code), sender or f"telegram:attacker{i}"))
        clock.advance(seconds=step_s)
    return out


def test_right_answer(guard: VerificationGuard, clock: Clock) -> None:
    assert guard.check(CODE, "5678", record(), "telegram:1") == VerifyResult("ok")
    row = guard.session.execute(select(VerificationAttempt)).scalar_one()
    assert (row.dossier_code, row.sender_key, row.success, row.attempted_at) == (CODE, "telegram:1", True, T0)
    assert guard.proven(CODE, "telegram:1")
    assert not guard.proven(CODE, "telegram:2") and not guard.proven(OTHER, "telegram:1")


def test_proof_expires(guard: VerificationGuard, clock: Clock) -> None:
    guard.check(CODE, "5678", record(), "telegram:1")
    clock.advance(minutes=29)
    assert guard.proven(CODE, "telegram:1")
    clock.advance(minutes=2)
    assert not guard.proven(CODE, "telegram:1")


@pytest.mark.parametrize("given", ["1234", "", "5679", "05678", "678", "5678 "])
def test_wrong_answers(guard: VerificationGuard, given: str) -> None:
    result = guard.check(CODE, given, record(), "telegram:1")
    assert result == VerifyResult("wrong", 2, 0)
    assert not guard.proven(CODE, "telegram:1")


def test_three_wrong_answers_lock_that_sender_only(guard: VerificationGuard, clock: Clock) -> None:
    results = fail(guard, clock, 3, sender="telegram:stranger")
    assert [r.outcome for r in results] == ["wrong", "wrong", "locked"]
    assert [r.remaining for r in results] == [2, 1, 0]
    assert results[2].locked_minutes in (30, 31)
    clock.advance(minutes=5)
    assert guard.check(CODE, "5678", record(), "telegram:stranger").outcome == "locked"
    assert attempts(guard) == 3  # attempts while locked are not even recorded
    # the owner, from their own chat, is not locked out by the stranger
    assert guard.check(CODE, "5678", record(), "zalo:owner") == VerifyResult("ok")
    # and the stranger may still try other codes (within the per-sender daily budget)
    assert guard.check(OTHER, "0000", record(OTHER), "telegram:stranger").outcome == "wrong"


def test_sender_lock_expires_after_lock_minutes(guard: VerificationGuard, clock: Clock) -> None:
    fail(guard, clock, 3, step_s=0, sender="x")
    last_failure = clock()
    clock.at = last_failure + dt.timedelta(minutes=29, seconds=59)
    assert guard.locked_minutes(CODE, "x") >= 1
    clock.at = last_failure + dt.timedelta(minutes=30)
    assert guard.locked_minutes(CODE, "x") == 0
    assert guard.check(CODE, "5678", record(), "x") == VerifyResult("ok")


def test_success_resets_the_senders_count(guard: VerificationGuard, clock: Clock) -> None:
    fail(guard, clock, 2, sender="owner")
    assert guard.check(CODE, "5678", record(), "owner").outcome == "ok"
    clock.advance(seconds=1)
    assert guard.check(CODE, "0000", record(), "owner").remaining == 2


def test_many_accounts_share_the_codes_daily_budget(guard: VerificationGuard, clock: Clock) -> None:
    """Five wrong endings from five accounts lock the code for every unproven sender for a day."""
    results = fail(guard, clock, 5, step_s=60)
    assert [r.outcome for r in results] == ["wrong"] * 4 + ["locked"]
    assert [r.remaining for r in results[:4]] == [2, 2, 2, 1]  # min(own 3 - 1, code 5 - n)
    assert results[-1].locked_minutes > 23 * 60
    for hours in (1, 6, 12, 23):
        clock.at = T0 + dt.timedelta(hours=hours)
        assert guard.check(CODE, "1234", record(), f"zalo:new{hours}").outcome == "locked"
    assert attempts(guard) == 5
    clock.at = T0 + dt.timedelta(hours=24, minutes=5)
    assert guard.locked_minutes(CODE, "zalo:late") == 0
    assert guard.check(CODE, "5678", record(), "zalo:late") == VerifyResult("ok")


def test_guessing_is_capped_per_code_per_day(clean_db_url: str) -> None:
    """Budget (a): over a week of 1,000 accounts guessing every minute, a code sees at most
    5 wrong answers a day, i.e. a chance of at most 5 in 10,000 per code per day."""
    clock = Clock()
    with session_scope(clean_db_url) as session:
        guard = VerificationGuard(session, Budgets(), now=clock)
        tried = 0
        for minute in range(0, 7 * 24 * 60, 97):
            clock.at = T0 + dt.timedelta(minutes=minute)
            result = guard.check(CODE, f"{minute % 10000:04d}", record(phone="0900000000"),
                                 f"rest:bot{minute % 1000}")
            tried += result.outcome != "locked"
        assert tried <= 5 * 8
        per_day = tried / 7
        assert per_day / 10_000 < 1 / 1000


def test_one_sender_cannot_scan_many_codes(guard: VerificationGuard, clock: Clock) -> None:
    codes = [f"000.00.15.H65-240312-{i:04d}" for i in range(1, 20)]
    outcomes = []
    for code in codes:
        for _ in range(2):
            outcomes.append(guard.check(code, "0000", record(code), "telegram:scanner").outcome)
            clock.advance(seconds=30)
    assert outcomes.count("wrong") + outcomes.count("locked") == len(outcomes)
    # the per-sender daily budget: the 10th wrong answer is recorded and announces the lock
    assert outcomes[:9] == ["wrong"] * 9 and set(outcomes[9:]) == {"locked"}
    assert guard.session.execute(select(func.count(VerificationAttempt.id))).scalar_one() == 10
    assert guard.locked_minutes(codes[-1], "telegram:scanner") > 20 * 60
    assert guard.check(codes[-1], "5678", record(codes[-1]), "telegram:owner").outcome == "ok"


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


@pytest.mark.parametrize("given", ["", "0000", "5678", pytest.param("\x00\x00\x00\x00")])
def test_record_without_phone_never_verifies(guard: VerificationGuard, given: str) -> None:
    rec = DossierRecord(code=CODE, procedure_name="X", status="received")
    assert rec.phone_last4 is None
    assert guard.check(CODE, given, rec, "x").outcome == "wrong"


def test_budget_settings_are_honoured(clean_db_url: str) -> None:
    clock = Clock()
    with session_scope(clean_db_url) as session:
        guard = VerificationGuard(session, Budgets(per_sender_code=5, window_minutes=10, per_code_daily=50),
                                  now=clock)
        results = fail(guard, clock, 5, step_s=1, sender="x")
        assert [r.outcome for r in results] == ["wrong"] * 4 + ["locked"]
        assert [r.remaining for r in results[:4]] == [4, 3, 2, 1]
        assert results[-1].locked_minutes in (10, 11)
        clock.advance(minutes=10)
        assert guard.locked_minutes(CODE, "x") == 0


def test_lock_is_shared_across_sessions(clean_db_url: str) -> None:
    """Replicas share the database: a lock made in one session holds in another."""
    clock = Clock()
    with session_scope(clean_db_url) as session:
        fail(VerificationGuard(session, now=clock), clock, 5)
    with session_scope(clean_db_url) as session:
        result = VerificationGuard(session, now=clock).check(CODE, "5678", record(), "zalo:someone-else")
        assert result.outcome == "locked"
