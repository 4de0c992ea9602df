"""Ownership verification of a dossier code by its phone ending, with guessing budgets.

Three budgets of *wrong* phone endings, all counted from ``verification_attempts``
(server-side, shared by every replica):

1. **per sender and code**: ``per_sender_code`` failures within ``window_minutes`` lock
   that sender out of that code for ``window_minutes`` (the owner's typos cost them
   nothing more than a pause, and no one else is affected);
2. **per sender**: ``per_sender_daily`` failures on any codes within 24 h lock that
   sender out of every code for the rest of the 24 h (no scanning of many codes);
3. **per code**: ``per_code_daily`` failures from *all* senders within 24 h lock the
   code for every sender that has not already proved ownership. This caps guessing
   with many accounts: at most ``per_code_daily`` tries of 10,000 endings per code and
   day, i.e. a chance of 5 in 10,000 (0.05 %) with the default of 5.

An owner who linked the dossier in their chat never goes through this check (see
:mod:`bot.dossiers.access`), so strangers can delay only owners who have not linked
it yet, and only for a day, and those are told to call the hotline.

A success proves ownership to that conversation for ``proof_minutes``.
"""

from __future__ import annotations

import datetime as dt
import hmac
import math
from dataclasses import dataclass
from typing import Callable, List, Optional

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from bot.db.models import VerificationAttempt, utcnow
from bot.dossiers.service import DossierRecord
from bot.settings import SettingsGroup

DAY = dt.timedelta(hours=24)
_VA = VerificationAttempt


def _failures_since(*keys: str) -> Select:
    """Times of failed attempts after ``:since`` matching ``keys`` (bound parameters of the same name)."""
    stmt = select(_VA.attempted_at).where(_VA.success.is_(False), _VA.attempted_at > bindparam("since"))
    for key in keys:
        stmt = stmt.where(getattr(_VA, key) == bindparam(key))
    return stmt.order_by(_VA.attempted_at)


# Built once (issue 15): building and keying a statement cost more than running it on PostgreSQL.
_BY_SENDER = _failures_since("sender_key")
_BY_PAIR = _failures_since("sender_key", "dossier_code")
_BY_CODE = _failures_since("dossier_code")
_LAST_SUCCESS = select(func.max(_VA.attempted_at)).where(
    _VA.dossier_code == bindparam("dossier_code"), _VA.sender_key == bindparam("sender_key"), _VA.success.is_(True))


@dataclass(frozen=True)
class Budgets(SettingsGroup):
    """Verification budgets (defaults as in settings and README)."""

    per_sender_code: int = 3
    window_minutes: int = 30
    per_code_daily: int = 5
    per_sender_daily: int = 10
    proof_minutes: int = 30

    SETTING_NAMES = {"per_sender_code": "verify_max_attempts", "window_minutes": "verify_lock_minutes",
                     "per_code_daily": "verify_code_daily_failures",
                     "per_sender_daily": "verify_sender_daily_failures", "proof_minutes": "verify_proof_minutes"}


@dataclass
class VerifyResult:
    """Outcome of a verification attempt: ``ok``, ``wrong`` or ``locked``."""

    outcome: str
    remaining: int = 0
    locked_minutes: int = 0


class VerificationGuard:
    """Checks phone endings against dossiers within the budgets above."""

    def __init__(self, session: Session, budgets: Budgets = Budgets(),
                 now: Callable[[], dt.datetime] = utcnow) -> None:
        self.session = session
        self.budgets = budgets
        self.now = now

    def _times(self, stmt: Select, since: dt.datetime, **keys: str) -> List[dt.datetime]:
        """Failed attempts of one of the prebuilt selections since ``since``, oldest first."""
        return list(self.session.execute(stmt, {"since": since, **keys}).scalars())

    def _last_success(self, code: str, sender_key: str) -> Optional[dt.datetime]:
        return self.session.execute(_LAST_SUCCESS, {"dossier_code": code, "sender_key": sender_key}).scalar_one()

    def proven(self, code: str, sender_key: str) -> bool:
        """True when ``sender_key`` verified ``code`` within the last ``proof_minutes``."""
        last = self._last_success(code, sender_key)
        return last is not None and last > self.now() - dt.timedelta(minutes=self.budgets.proof_minutes)

    def locked_minutes(self, code: str, sender_key: str) -> int:
        """Minutes until ``sender_key`` may try ``code`` again (0 when not locked)."""
        now, b = self.now(), self.budgets
        window = dt.timedelta(minutes=b.window_minutes)
        until: List[dt.datetime] = []
        by_sender = self._times(_BY_SENDER, now - DAY, sender_key=sender_key)
        if len(by_sender) >= b.per_sender_daily:
            until.append(by_sender[-b.per_sender_daily] + DAY)
        since_ok = max(filter(None, [now - window, self._last_success(code, sender_key)]))
        pair = self._times(_BY_PAIR, since_ok, sender_key=sender_key, dossier_code=code)
        if len(pair) >= b.per_sender_code:
            until.append(pair[-b.per_sender_code] + window)
        by_code = self._times(_BY_CODE, now - DAY, dossier_code=code)
        if len(by_code) >= b.per_code_daily:
            until.append(by_code[-b.per_code_daily] + DAY)
        latest = max((u for u in until if u > now), default=None)
        return max(1, math.ceil((latest - now).total_seconds() / 60)) if latest else 0

    def _remaining(self, code: str, sender_key: str) -> int:
        now, b = self.now(), self.budgets
        since_ok = max(filter(None, [now - dt.timedelta(minutes=b.window_minutes),
                                     self._last_success(code, sender_key)]))
        pair = self._times(_BY_PAIR, since_ok, sender_key=sender_key, dossier_code=code)
        by_code = self._times(_BY_CODE, now - DAY, dossier_code=code)
        by_sender = self._times(_BY_SENDER, now - DAY, sender_key=sender_key)
        return max(1, min(b.per_sender_code - len(pair), b.per_code_daily - len(by_code),
                          b.per_sender_daily - len(by_sender)))

    def check(self, code: str, given_last4: str, record: Optional[DossierRecord], sender_key: str) -> VerifyResult:
        """Record one attempt of ``sender_key`` and say whether ``given_last4`` matches ``record``.

        A missing record counts as a wrong answer, so an unverified person cannot learn
        whether a code exists. A locked attempt is not recorded (it cannot succeed).
        """
        minutes = self.locked_minutes(code, sender_key)
        if minutes:
            return VerifyResult("locked", 0, minutes)
        expected = record.phone_last4 if record else None
        # compare even when there is nothing to compare with, so timing does not tell
        same = hmac.compare_digest((expected or "????").encode(), (given_last4 or "").encode())
        ok = same and expected is not None
        self.session.add(VerificationAttempt(dossier_code=code, sender_key=sender_key[:140], success=ok,
                                             attempted_at=self.now()))
        self.session.flush()
        if ok:
            return VerifyResult("ok")
        minutes = self.locked_minutes(code, sender_key)
        if minutes:
            return VerifyResult("locked", 0, minutes)
        return VerifyResult("wrong", self._remaining(code, sender_key))
