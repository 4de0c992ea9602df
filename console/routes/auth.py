"""Log in and out."""

from __future__ import annotations

from typing import Optional

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from bot.settings import Settings
from bot.staff.accounts import authenticate
from bot.staff.audit import record
from bot.staff.sessions import ActiveSession, close_session, open_session
from console.deps import COOKIE, DB, csrf_protect, optional_staff, settings
from console.templating import local_time, render

router = APIRouter(tags=["auth"])


def _safe_next(target: Optional[str]) -> str:
    """Only paths inside the console are followed after login (no open redirect)."""
    if target and target.startswith("/console") and not target.startswith("//") and "\\" not in target:
        return target
    return "/console/"


@router.get("/console/login", include_in_schema=False)
def login_page(request: Request, next: Optional[str] = None,  # noqa: A002 - the query parameter's name
               staff: Optional[ActiveSession] = Depends(optional_staff)) -> Response:
    """The login form (a logged-in member goes straight on)."""
    if staff is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "login.html", {"next": _safe_next(next), "error": None})


@router.post("/console/login", include_in_schema=False)
def login(request: Request, username: str = Form(""), password: str = Form(""), next: str = Form("/console/"),  # noqa: A002
          session: Session = DB, conf: Settings = Depends(settings)) -> Response:
    """Check the credentials; on success set the session cookie and go on."""
    result = authenticate(session, username[:64], password[:256])
    if result.user is None:
        session.commit()  # keep the failure count even though the answer is an error page
        if result.problem == "locked":
            until = local_time(result.locked_until, "%H:%M")
            error = f"Tài khoản tạm khóa do đăng nhập sai nhiều lần, thử lại sau {until}."
        else:
            error = "Sai tên đăng nhập hoặc mật khẩu."
        return render(request, "login.html", {"next": _safe_next(next), "error": error, "username": username[:64]},
                      status_code=401)
    token = open_session(session, result.user, conf.console_session_max_hours)
    record(session, result.user.username, "login", "staff_session", result.user.username, None, None)
    session.commit()  # before the redirect is sent: `db`'s own commit runs only after the response
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=conf.cookie_secure, path="/console",
                        max_age=int(conf.console_session_max_hours * 3600))
    return response


@router.post("/console/logout", include_in_schema=False)
def logout(request: Request, staff: ActiveSession = Depends(csrf_protect), session: Session = DB) -> Response:
    """End this session."""
    close_session(session, request.cookies.get(COOKIE))
    record(session, staff.username, "logout", "staff_session", staff.username, None, None)
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(COOKIE, path="/console")
    return response
