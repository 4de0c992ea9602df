"""Jinja2 templates of the console, with the helpers every page uses."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Optional
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from bot.settings import get_settings
from console.deps import allowed

TEMPLATES = Path(__file__).resolve().parent / "templates"
ROLE_NAMES = {"admin": "Quản trị", "editor": "Biên tập", "trainer": "Huấn luyện", "agent": "Tiếp nhận",
              "analyst": "Phân tích"}
# The navigation: (path, label, roles that see it); admins see everything.
NAV = (
    ("/console/", "Tổng quan", ("editor", "trainer", "agent", "analyst")),
    ("/console/catalogue", "Thủ tục", ("editor", "trainer", "analyst")),
    ("/console/texts", "Câu trả lời", ("editor",)),
    ("/console/handoff", "Tiếp nhận", ("agent",)),
    ("/console/conversations", "Hội thoại", ("analyst", "agent", "trainer", "editor")),
    ("/console/analytics", "Thống kê", ("analyst", "editor", "agent", "trainer")),
    ("/console/training", "Huấn luyện", ("trainer", "analyst")),
    ("/console/staff", "Tài khoản", ()),
    ("/console/audit", "Nhật ký", ()),
)


def local_time(value: Optional[dt.datetime], fmt: str = "%d/%m/%Y %H:%M") -> str:
    """A stored (naive UTC) time in the province's time zone, formatted the Vietnamese way."""
    if value is None:
        return ""
    zone = ZoneInfo(get_settings().timezone)
    return value.replace(tzinfo=dt.timezone.utc).astimezone(zone).strftime(fmt)


def duration(seconds: Optional[int]) -> str:
    """A duration in Vietnamese: ``45 giây``, ``12 phút``, ``2 giờ 5 phút``, ``3 ngày 4 giờ``."""
    if seconds is None:
        return ""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} giây"
    minutes, hours, days = seconds // 60 % 60, seconds // 3600 % 24, seconds // 86400
    if days:
        return f"{days} ngày {hours} giờ"
    return f"{hours} giờ {minutes} phút" if hours else f"{minutes} phút"


@lru_cache(maxsize=1)
def templates() -> Jinja2Templates:
    """The template environment (autoescaping on)."""
    env = Jinja2Templates(directory=str(TEMPLATES))
    env.env.filters["local_time"] = local_time
    env.env.filters["duration"] = duration
    env.env.globals["ROLE_NAMES"] = ROLE_NAMES
    return env


def render(request: Request, name: str, context: Optional[Dict[str, Any]] = None,
           status_code: int = 200) -> HTMLResponse:
    """Render page ``name`` with the staff member, their CSRF token and their navigation."""
    staff = getattr(request.state, "staff", None)
    nav = [(path, label) for path, label, roles in NAV if staff is not None and allowed(staff, roles)]
    values = {"request": request, "staff": staff, "csrf_token": staff.csrf_token if staff else "", "nav": nav,
              "path": request.url.path}
    values.update(context or {})
    return templates().TemplateResponse(request, name, values, status_code=status_code)
