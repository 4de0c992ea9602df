"""What a notice is: its kinds, keys, response names and template variables.

A notice key is ``{dossier_id}:{chat_user_id}:{kind}:{ref}``; it is unique in the
notification log, so each notice is queued (and sent) at most once per recipient:

* ``status_<status>`` — ref is the time of the status change (``YYYYMMDDTHHMMSS``),
  so a dossier that returns to a status later is announced again;
* ``appointment_tomorrow`` / ``appointment_today`` — ref is the (effective)
  appointment date, so a rescheduled appointment is reminded again;
* ``overdue`` — ref is ``{passed date}~{new date or empty}``: one apology per
  missed date, and another when the one-stop system gives a new date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Dict, Optional

#: Statuses announced when a dossier enters them (``in_progress`` is not announced).
NOTIFY_STATUSES = ("received", "need_documents", "waiting_fee", "ready", "returned", "refused")
#: Statuses in which a passed appointment date means the dossier is late.
LATE_STATUSES = ("received", "in_progress", "need_documents", "waiting_fee")
#: Statuses in which an upcoming appointment is worth a reminder.
OPEN_STATUSES = ("received", "in_progress", "need_documents", "waiting_fee", "ready")

KIND_TOMORROW = "appointment_tomorrow"
KIND_TODAY = "appointment_today"
KIND_OVERDUE = "overdue"
STATUS_PREFIX = "status_"

TS_FORMAT = "%Y%m%dT%H%M%S"

_WEEKDAYS = ("thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật")


@dataclass(frozen=True)
class NoticeKey:
    """A parsed notice key."""

    dossier_id: int
    chat_user_id: int
    kind: str
    ref: str

    @classmethod
    def parse(cls, key: str) -> NoticeKey:
        """Parse ``{dossier}:{user}:{kind}:{ref}``."""
        dossier, user, kind, ref = key.split(":", 3)
        return cls(int(dossier), int(user), kind, ref)

    def __str__(self) -> str:
        return f"{self.dossier_id}:{self.chat_user_id}:{self.kind}:{self.ref}"

    @property
    def status(self) -> Optional[str]:
        """The announced status of a status notice, else None."""
        return self.kind[len(STATUS_PREFIX):] if self.kind.startswith(STATUS_PREFIX) else None

    @property
    def dates(self) -> tuple[Optional[dt.date], Optional[dt.date]]:
        """(date, new date) named by the ref of date notices."""
        if self.kind in (KIND_TOMORROW, KIND_TODAY):
            return dt.date.fromisoformat(self.ref), None
        if self.kind == KIND_OVERDUE:
            passed, _, new = self.ref.partition("~")
            return dt.date.fromisoformat(passed), dt.date.fromisoformat(new) if new else None
        return None, None


def status_ref(changed_at: dt.datetime) -> str:
    """The ref of a status notice for a status change at ``changed_at`` (naive UTC)."""
    return changed_at.strftime(TS_FORMAT)


def overdue_ref(appointment: dt.date, new_date: Optional[dt.date], today: dt.date) -> Optional[str]:
    """The ref of the overdue notice due today, or None when the dossier is not late."""
    if new_date is not None and new_date < today:
        return f"{new_date.isoformat()}~"
    if appointment < today:
        upcoming = new_date if new_date is not None and new_date >= today else None
        return f"{appointment.isoformat()}~{upcoming.isoformat() if upcoming else ''}"
    return None


def response_name(key: NoticeKey) -> str:
    """The domain response that words the notice."""
    if key.status:
        return f"utter_reminder_{key.status}"
    if key.kind == KIND_OVERDUE:
        return "utter_reminder_overdue_new_date" if key.dates[1] else "utter_reminder_overdue"
    return f"utter_reminder_{key.kind}"


def format_date(day: Optional[dt.date]) -> str:
    """``dd/mm/yyyy`` (empty for None)."""
    return day.strftime("%d/%m/%Y") if day else ""


def weekday_name(day: Optional[dt.date]) -> str:
    """Vietnamese weekday name (``thứ Hai`` … ``Chủ nhật``)."""
    return _WEEKDAYS[day.weekday()] if day else ""


def format_vnd(amount: Optional[int]) -> str:
    """``1500000`` → ``1.500.000`` (Vietnamese thousands separator)."""
    return "" if amount is None else f"{int(amount):,}".replace(",", ".")


def bullet_list(items: Any) -> str:
    """One ``- item`` line per document."""
    if not items:
        return ""
    if isinstance(items, str):
        items = [items]
    lines = []
    for item in items:
        name = item.get("name") if isinstance(item, dict) else item
        if name:
            lines.append(f"- {name}")
    return "\n".join(lines)


def notice_variables(
    key: NoticeKey,
    dossier: Any,
    *,
    hotline: str,
    pickup_default: str,
    reason_default: str,
) -> Dict[str, str]:
    """Template variables of a notice about ``dossier`` (a Dossier row)."""
    date, new_date = key.dates
    if date is None:
        date = dossier.new_appointment_date or dossier.appointment_date
        new_date = None
    return {
        "dossier_code": dossier.code,
        "procedure_name": dossier.procedure_name,
        "procedure_code": dossier.procedure_code or "",
        "agency_name": dossier.agency_name or pickup_default,
        "pickup_place": dossier.pickup_place or dossier.agency_name or pickup_default,
        "hotline": hotline,
        "appointment_date": format_date(date),
        "appointment_weekday": weekday_name(date),
        "new_appointment_date": format_date(new_date),
        "new_appointment_weekday": weekday_name(new_date),
        "missing_documents": bullet_list(dossier.missing_documents),
        "fee": format_vnd(dossier.fee_due_vnd),
        "reason": (dossier.note or "").strip() or reason_default,
    }
