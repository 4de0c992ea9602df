"""Staff accounts (admin) and the audit log (admin)."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from bot.db.models_staff import ROLES
from bot.staff.accounts import AccountError, create_user, list_users, set_active, set_role
from bot.staff.audit import recent
from bot.staff.sessions import ActiveSession, close_user_sessions
from console.deps import DB, MAX_ID, db, require
from console.templating import render

router = APIRouter(tags=["staff"])


@router.get("/console/staff", include_in_schema=False)
def staff_page(request: Request, error: Optional[str] = None, session: Session = DB,
               staff: ActiveSession = Depends(require())) -> Response:
    """Accounts: list, create, change role, enable/disable."""
    return render(request, "staff.html", {"users": list_users(session), "roles": ROLES, "error": error})


@router.post("/console/staff", include_in_schema=False)
def staff_create(request: Request, username: str = Form(...), display_name: str = Form(""), role: str = Form(...),
                 password: str = Form(...), session: Session = DB,
                 staff: ActiveSession = Depends(require())) -> Response:
    """Create an account."""
    try:
        create_user(session, username, password, role, display_name, actor=staff.username)
    except AccountError as exc:
        session.rollback()
        return render(request, "staff.html", {"users": list_users(session), "roles": ROLES, "error": str(exc)},
                      status_code=400)
    return RedirectResponse("/console/staff", status_code=303)


@router.post("/console/staff/{user_id}", include_in_schema=False)
def staff_update(request: Request, user_id: int = Path(..., ge=1, le=MAX_ID), role: str = Form(...),
                 active: Optional[str] = Form(None), session: Session = Depends(db),
                 staff: ActiveSession = Depends(require())) -> Response:
    """Change an account's role or enable/disable it (its sessions end)."""
    try:
        set_role(session, user_id, role, staff.username)
        set_active(session, user_id, active == "on", staff.username)
        close_user_sessions(session, user_id)
    except AccountError as exc:
        session.rollback()
        return render(request, "staff.html", {"users": list_users(session), "roles": ROLES, "error": str(exc)},
                      status_code=400)
    return RedirectResponse("/console/staff", status_code=303)


@router.get("/console/audit", include_in_schema=False)
def audit_page(request: Request, entity: Optional[str] = Query(None, max_length=60),
               before: Optional[int] = Query(None, ge=1, le=MAX_ID), session: Session = Depends(db),
               staff: ActiveSession = Depends(require())) -> Response:
    """The audit log, newest first, 100 a page."""
    entries = recent(session, 100, entity=entity, before_id=before)
    return render(request, "audit.html", {"entries": entries, "entity": entity or ""})


@router.get("/console/api/audit")
def audit_api(entity: Optional[str] = Query(None, max_length=60), before: Optional[int] = Query(None, ge=1, le=MAX_ID),
              limit: int = Query(100, ge=1, le=500), session: Session = Depends(db),
              staff: ActiveSession = Depends(require())) -> List[Dict[str, Any]]:
    """The audit log as JSON (admin), newest first, keyset-paged with ``before``."""
    return [{"id": e.id, "at": e.at.isoformat(), "actor": e.actor, "action": e.action, "entity": e.entity,
             "entity_id": e.entity_id, "before": e.before, "after": e.after, "note": e.note}
            for e in recent(session, limit, entity=entity, before_id=before)]
