"""Request dependencies: the database session, the logged-in staff member, role and CSRF checks."""

from __future__ import annotations

import hmac
from typing import Callable, Iterator, Optional

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from bot.db.session import session_scope
from bot.settings import Settings, get_settings
from bot.staff.sessions import ActiveSession, resolve

COOKIE = "console_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
MAX_ID = 2**31 - 1
"""The largest id a route accepts (ids are 32-bit integers in both databases)."""


class NotLoggedIn(Exception):
    """No valid session: browsers are sent to the login page, API clients get 401."""


class Forbidden(Exception):
    """The staff member's role does not allow this (403)."""


class CsrfFailed(Exception):
    """A state-changing request without this session's CSRF token (403)."""


def settings() -> Settings:
    """The application settings."""
    return get_settings()


def _unit_of_work() -> Iterator[Session]:
    with session_scope() as session:
        yield session


def db(session: Session = Depends(_unit_of_work, scope="function")) -> Session:
    """One database session per request: committed when the route returns and BEFORE the response
    is sent (``scope="function"``), so the next request of the same browser sees the change; rolled
    back on error."""
    return session


DB = Depends(db)
"""A route's database session, short for ``Depends(db)`` (``session: Session = DB``)."""


def optional_staff(request: Request, session: Session = Depends(db),
                   conf: Settings = Depends(settings)) -> Optional[ActiveSession]:
    """The logged-in staff member, or None."""
    if "staff" not in request.state._state:
        found = resolve(session, request.cookies.get(COOKIE), conf.console_session_minutes)
        session.commit()
        request.state.staff = found
    return request.state.staff


def current_staff(staff: Optional[ActiveSession] = Depends(optional_staff)) -> ActiveSession:
    """The logged-in staff member.

    Raises:
        NotLoggedIn: no valid session.
    """
    if staff is None:
        raise NotLoggedIn()
    return staff


async def csrf_protect(request: Request, staff: ActiveSession = Depends(current_staff)) -> ActiveSession:
    """Check this session's CSRF token on every state-changing request (header or form field).

    Raises:
        CsrfFailed: missing or wrong token.
    """
    if request.method in SAFE_METHODS:
        return staff
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent.encode("utf-8"), staff.csrf_token.encode("utf-8")):
        raise CsrfFailed()
    return staff


def allowed(staff: ActiveSession, roles: tuple) -> bool:
    """True when ``staff`` has one of ``roles`` (admins may do everything)."""
    return staff.role == "admin" or staff.role in roles


def require(*roles: str) -> Callable[..., ActiveSession]:
    """A dependency: the logged-in staff member if their role is one of ``roles`` (or admin), CSRF checked.

    Raises:
        Forbidden: another role.
    """

    def dependency(staff: ActiveSession = Depends(csrf_protect)) -> ActiveSession:
        if not allowed(staff, roles):
            raise Forbidden()
        return staff

    dependency.roles = roles  # type: ignore[attr-defined] - read by the role matrix test
    return dependency


READ_ROLES = ("editor", "trainer", "agent", "analyst")
"""Every role: pages any logged-in staff member may read."""
