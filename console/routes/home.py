"""The start page and who-am-I."""

from __future__ import annotations

from typing import Dict

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from bot.staff.sessions import ActiveSession
from console.deps import READ_ROLES, require
from console.templating import render

router = APIRouter()


@router.get("/console", include_in_schema=False)
def console_root() -> Response:
    """``/console`` → ``/console/``."""
    return RedirectResponse("/console/", status_code=307)


@router.get("/console/", include_in_schema=False)
def home(request: Request, staff: ActiveSession = Depends(require(*READ_ROLES))) -> Response:
    """The start page: what this role can do."""
    return render(request, "home.html")


@router.get("/console/api/me", tags=["auth"])
def me(staff: ActiveSession = Depends(require(*READ_ROLES))) -> Dict[str, str]:
    """The logged-in staff member and their role."""
    return {"username": staff.username, "display_name": staff.display_name, "role": staff.role}
