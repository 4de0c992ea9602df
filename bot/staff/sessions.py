"""Console sessions kept on the server: the cookie holds a random token, the table its hash.

A session expires after ``console_session_minutes`` of inactivity and at most
``console_session_max_hours`` after login; logout deletes it. Each session has its own
CSRF token, which every state-changing request must echo.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.db.models import utcnow
from bot.db.models_staff import StaffSession, StaffUser


@dataclass(frozen=True)
class ActiveSession:
    """A valid session: its user (detached values) and CSRF token."""

    user_id: int
    username: str
    display_name: str
    role: str
    csrf_token: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def open_session(session: Session, user: StaffUser, max_hours: float, now: Optional[dt.datetime] = None) -> str:
    """Start a session for ``user``; returns the cookie value (never stored as such)."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    session.add(StaffSession(token_hash=_digest(token), user_id=user.id, csrf_token=secrets.token_urlsafe(24),
                             created_at=now, last_seen_at=now, expires_at=now + dt.timedelta(hours=max_hours)))
    session.execute(delete(StaffSession).where(StaffSession.expires_at < now))
    return token


def resolve(session: Session, token: Optional[str], idle_minutes: float,
            now: Optional[dt.datetime] = None) -> Optional[ActiveSession]:
    """The session of cookie ``token`` if it is valid now (and touch it), else None."""
    if not token or len(token) > 200:
        return None
    now = now or utcnow()
    row = session.execute(select(StaffSession, StaffUser).join(StaffUser, StaffUser.id == StaffSession.user_id)
                          .where(StaffSession.token_hash == _digest(token))).first()
    if row is None:
        return None
    stored, user = row
    if stored.expires_at <= now or stored.last_seen_at + dt.timedelta(minutes=idle_minutes) <= now or not user.active:
        session.delete(stored)
        return None
    if (now - stored.last_seen_at).total_seconds() > 30:
        stored.last_seen_at = now
    return ActiveSession(user.id, user.username, user.display_name, user.role, stored.csrf_token)


def close_session(session: Session, token: Optional[str]) -> None:
    """Log out: forget the session of cookie ``token``."""
    if token:
        session.execute(delete(StaffSession).where(StaffSession.token_hash == _digest(token)))


def close_user_sessions(session: Session, user_id: int) -> None:
    """Log a user out everywhere (after a role change or when disabled)."""
    session.execute(delete(StaffSession).where(StaffSession.user_id == user_id))
