"""Dossiers: records, upsert from the one-stop system, links to chat users (verification: ``verification``)."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db.models import ChatUser, Dossier, DossierLink, DossierStatusHistory, utcnow
from bot.text.codes import normalize_dossier_code
from bot.text.phone import national_phone

logger = logging.getLogger(__name__)

STATUSES = ("received", "in_progress", "need_documents", "waiting_fee", "ready", "returned", "refused")
OPEN_STATUSES = {"received", "in_progress", "need_documents", "waiting_fee"}

# Built once (issue 15): building and keying a statement cost more than running it.
DOSSIER_BY_CODE = select(Dossier).where(Dossier.code == bindparam("code"))
_CHAT_USER = select(ChatUser).where(ChatUser.channel == bindparam("channel"),
                                    ChatUser.channel_user_id == bindparam("user_id"))
_LINK = select(DossierLink.id).where(DossierLink.dossier_id == bindparam("dossier_id"),
                                     DossierLink.chat_user_id == bindparam("chat_user_id"))


@dataclass
class DossierRecord:
    """A dossier as a dossier source returns it (plain data, no ORM)."""

    code: str
    procedure_name: str
    status: str
    procedure_code: Optional[str] = None
    applicant_name: Optional[str] = None
    applicant_phone: Optional[str] = None
    agency_name: Optional[str] = None
    pickup_place: Optional[str] = None
    received_at: Optional[dt.datetime] = None
    appointment_date: Optional[dt.date] = None
    new_appointment_date: Optional[dt.date] = None
    completed_at: Optional[dt.datetime] = None
    missing_documents: List[str] = field(default_factory=list)
    fee_due_vnd: Optional[int] = None
    note: Optional[str] = None

    @property
    def phone_last4(self) -> Optional[str]:
        """Last four digits of the applicant's phone."""
        digits = national_phone(self.applicant_phone or "")
        return digits[-4:] if len(digits) >= 4 else None

    def days_late(self, today: dt.date) -> int:
        """Days past the appointment date while the dossier is still open (0 if not late)."""
        due = self.new_appointment_date or self.appointment_date
        if self.status not in OPEN_STATUSES or due is None or today <= due:
            return 0
        return (today - due).days

    def overdue_days(self, today: dt.date) -> int:
        """Days past the *first* appointment date while still open, even if rescheduled (0: on time)."""
        if self.status not in OPEN_STATUSES or self.appointment_date is None or today <= self.appointment_date:
            return 0
        return (today - self.appointment_date).days

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "DossierRecord":
        """Validate and convert a JSON object (one-stop API, push endpoint, import file).

        Raises:
            ValueError: for anything that is not a valid dossier (never TypeError).
        """
        if not isinstance(data, dict):
            raise ValueError("a dossier must be a JSON object")
        try:
            return cls._from_dict(data)
        except (TypeError, AttributeError) as exc:
            raise ValueError(f"{data.get('code')!r}: wrongly typed field ({exc})") from exc

    @classmethod
    def _from_dict(cls, data: Dict[str, Any]) -> "DossierRecord":
        code = normalize_dossier_code(str(data.get("code", "")))
        if not code:
            raise ValueError(f"invalid dossier code {data.get('code')!r}")
        status = data.get("status")
        if status not in STATUSES:
            raise ValueError(f"{code}: status must be one of {STATUSES}")
        if not data.get("procedure_name"):
            raise ValueError(f"{code}: procedure_name is required")

        def date(key: str) -> Optional[dt.date]:
            return dt.date.fromisoformat(data[key]) if data.get(key) else None

        def stamp(key: str) -> Optional[dt.datetime]:
            return dt.datetime.fromisoformat(data[key]) if data.get(key) else None

        docs = data.get("missing_documents") or []
        if not isinstance(docs, list):
            raise ValueError(f"{code}: missing_documents must be a list")
        return cls(
            code=code, procedure_name=str(data["procedure_name"]), status=status,
            procedure_code=data.get("procedure_code"), applicant_name=data.get("applicant_name"),
            applicant_phone=national_phone(data["applicant_phone"]) if data.get("applicant_phone") else None,
            agency_name=data.get("agency_name"), pickup_place=data.get("pickup_place"),
            received_at=stamp("received_at"), appointment_date=date("appointment_date"),
            new_appointment_date=date("new_appointment_date"), completed_at=stamp("completed_at"),
            missing_documents=[str(d) for d in docs],
            fee_due_vnd=int(data["fee_due_vnd"]) if data.get("fee_due_vnd") is not None else None,
            note=data.get("note"),
        )

    @classmethod
    def from_row(cls, row: Dossier) -> "DossierRecord":
        """Convert an ORM row."""
        names = [f.name for f in cls.__dataclass_fields__.values()]  # type: ignore[attr-defined]
        return cls(**{n: getattr(row, n) for n in names})

    def to_json(self) -> Dict[str, Any]:
        """JSON-ready dict (ISO dates)."""
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, (dt.date, dt.datetime)):
                out[key] = value.isoformat()
        return out


def upsert_dossier(session: Session, record: DossierRecord, changed_at: Optional[dt.datetime] = None) -> Dossier:
    """Insert or update a dossier; a status change is added to its history."""
    changed_at = changed_at or utcnow()
    row = session.execute(DOSSIER_BY_CODE, {"code": record.code}).scalar_one_or_none()
    status_changed = row is None or row.status != record.status
    if row is None:
        row = Dossier(code=record.code)
        session.add(row)
    for key, value in asdict(record).items():
        if key != "code":
            setattr(row, key, value)
    row.phone_last4 = record.phone_last4
    if status_changed:
        row.status_changed_at = changed_at
        session.flush()
        session.add(DossierStatusHistory(dossier_id=row.id, status=record.status, changed_at=changed_at,
                                         note=record.note))
    session.flush()
    return row


def get_or_create_chat_user(session: Session, channel: str, channel_user_id: str) -> ChatUser:
    """The chat user of (channel, id), created on first sight; updates last interaction."""
    key = {"channel": channel, "user_id": channel_user_id}
    user = session.execute(_CHAT_USER, key).scalar_one_or_none()
    if user is None:
        try:
            with session.begin_nested():
                user = ChatUser(channel=channel, channel_user_id=channel_user_id)
                session.add(user)
        except IntegrityError:  # created concurrently by another replica
            user = session.execute(_CHAT_USER, key).scalar_one()
    user.last_interaction_at = utcnow()
    session.flush()
    return user


def link_dossier(session: Session, code: str, channel: str, channel_user_id: str) -> bool:
    """Link a verified dossier (present in the local database) to a chat user."""
    dossier = session.execute(DOSSIER_BY_CODE, {"code": code}).scalar_one_or_none()
    if dossier is None:
        return False
    user = get_or_create_chat_user(session, channel, channel_user_id)
    exists = session.execute(_LINK, {"dossier_id": dossier.id, "chat_user_id": user.id}).first()
    if not exists:
        session.add(DossierLink(dossier_id=dossier.id, chat_user_id=user.id))
        session.flush()
    return True
