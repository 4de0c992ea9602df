"""SQLAlchemy models (2.0-style declarative on SQLAlchemy 1.4).

Schema changes only through Alembic (``bot/db/migrations``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import declarative_base, relationship

Base: Any = declarative_base()


def utcnow() -> dt.datetime:
    """Naive UTC now (all timestamps are stored in UTC)."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Unit(Base):
    """An administrative unit (province, ward, commune); old names kept as aliases."""

    __tablename__ = "units"
    id = Column(Integer, primary_key=True)
    code = Column(String(20), unique=True, nullable=False)
    name = Column(String(200), nullable=False)
    kind = Column(String(20), nullable=False)  # province | ward | commune | special_zone
    parent_code = Column(String(20), nullable=True, index=True)
    aliases = Column(JSON, nullable=False, default=list)  # former names: "huyện Văn Yên", "xã Đông Cuông"...
    search_key = Column(Text, nullable=False, default="")  # folded name + aliases for matching
    agency_id = Column(Integer, ForeignKey("agencies.id"), nullable=True)


class Agency(Base):
    """An agency and its one-stop desk."""

    __tablename__ = "agencies"
    id = Column(Integer, primary_key=True)
    code = Column(String(40), unique=True, nullable=False)
    name = Column(String(300), nullable=False)
    level = Column(String(20), nullable=False)  # province | commune
    desk_name = Column(String(300), nullable=True)
    address = Column(Text, nullable=True)
    opening_hours = Column(String(300), nullable=True)
    hotline = Column(String(60), nullable=True)
    email = Column(String(200), nullable=True)
    website = Column(String(300), nullable=True)
    source = Column(Text, nullable=True)
    unconfirmed = Column(JSON, nullable=False, default=list)


class Field(Base):
    """A field (lĩnh vực) of procedures."""

    __tablename__ = "fields"
    id = Column(Integer, primary_key=True)
    name = Column(String(200), unique=True, nullable=False)
    search_key = Column(String(200), nullable=False)


class Procedure(Base):
    """An administrative procedure as the national procedure database describes it.

    ``origin`` is ``national`` (machine-read from the national snapshot, nobody confirmed it) or
    ``curated`` (the project's own file, checked by staff: ``verified_by`` / ``verified_at``).
    A curated procedure keeps both layers in ``layers`` ({"national": ..., "curated": ...}) so that
    importing either file again merges field by field in any order; ``unconfirmed`` names the
    figures an answer must qualify (``fee``, ``duration``, ``documents``, ``agency`` ...).
    """

    __tablename__ = "procedures"
    id = Column(Integer, primary_key=True)
    code = Column(String(20), unique=True, nullable=False)
    name = Column(Text, nullable=False)
    aliases = Column(JSON, nullable=False, default=list)
    field_id = Column(Integer, ForeignKey("fields.id"), nullable=False, index=True)
    level = Column(String(20), nullable=False, index=True)  # central | province | commune | unknown
    levels = Column(JSON, nullable=False, default=list)  # every level it is (probably) carried out at
    agency = Column(Text, nullable=False)  # "" when the national record names none
    competent_agency = Column(Text, nullable=True)
    decision = Column(String(60), nullable=True)  # the decision that published it
    submit_place = Column(Text, nullable=True)
    steps = Column(JSON, nullable=False, default=list)
    conditions = Column(Text, nullable=True)
    result = Column(Text, nullable=True)
    legal_basis = Column(JSON, nullable=False, default=list)
    online_level = Column(String(10), nullable=False, default="none")  # full | partial | none
    online_url = Column(Text, nullable=True)
    source = Column(Text, nullable=False)
    checked_on = Column(Date, nullable=False)
    unconfirmed = Column(JSON, nullable=False, default=list)
    notes = Column(Text, nullable=True)
    search_key = Column(Text, nullable=False, default="")
    origin = Column(String(10), nullable=False, default="curated", index=True)  # national | curated
    verified_by = Column(Text, nullable=True)  # who confirmed the curated facts
    verified_at = Column(Date, nullable=True)  # when (the curated file's checked_on)
    flags = Column(JSON, nullable=False, default=list)  # the national file's record flags
    layers = Column(JSON, nullable=True)  # curated procedures only: {"national": ..., "curated": ...}

    field = relationship("Field", lazy="joined")
    channels = relationship("ProcedureChannel", cascade="all, delete-orphan", order_by="ProcedureChannel.id")
    documents = relationship("ProcedureDocument", cascade="all, delete-orphan", order_by="ProcedureDocument.position")


class CatalogueState(Base):
    """One row: the catalogue's version, bumped by every change (search indexes rebuild on a new one)."""

    __tablename__ = "catalogue_state"
    id = Column(Integer, primary_key=True)
    version = Column(Integer, nullable=False, default=0)
    changed_at = Column(DateTime, nullable=False, default=utcnow)


class ProcedureChannel(Base):
    """How a procedure can be submitted (direct / post / online), each with its time and fee."""

    __tablename__ = "procedure_channels"
    id = Column(Integer, primary_key=True)
    procedure_id = Column(Integer, ForeignKey("procedures.id", ondelete="CASCADE"), nullable=False, index=True)
    kind = Column(String(10), nullable=False)  # direct | post | online
    duration = Column(Text, nullable=False)
    duration_days = Column(Integer, nullable=True)
    fee = Column(Text, nullable=False)
    fee_vnd = Column(Integer, nullable=True)  # only an unambiguous amount (0 = free)
    # national: amount | conditional | free | zero_without_note | see_note | text | doubtful | several | missing
    fee_status = Column(String(20), nullable=True)
    fee_doubtful = Column(Boolean, nullable=False, default=False)  # never quote a number
    note = Column(Text, nullable=True)  # the case this entry is for, when a kind has several (national "Mô tả")


class ProcedureDocument(Base):
    """A document of the dossier (thành phần hồ sơ)."""

    __tablename__ = "procedure_documents"
    id = Column(Integer, primary_key=True)
    procedure_id = Column(Integer, ForeignKey("procedures.id", ondelete="CASCADE"), nullable=False, index=True)
    position = Column(Integer, nullable=False, default=0)
    name = Column(Text, nullable=False)
    kind = Column(String(10), nullable=False)  # submit | show
    original = Column(Integer, nullable=False, default=1)
    copy = Column(Integer, nullable=False, default=0)
    template = Column(Text, nullable=True)
    group_name = Column(Text, nullable=True)  # the case it applies to ("Đối với người nước ngoài ...")


class Dossier(Base):
    """A citizen's dossier as the one-stop system reports it."""

    __tablename__ = "dossiers"
    id = Column(Integer, primary_key=True)
    code = Column(String(40), nullable=False)
    procedure_code = Column(String(20), nullable=True)
    procedure_name = Column(Text, nullable=False)
    applicant_name = Column(String(200), nullable=True)
    applicant_phone = Column(String(20), nullable=True)
    phone_last4 = Column(String(4), nullable=True)
    status = Column(String(30), nullable=False)
    agency_name = Column(String(300), nullable=True)
    pickup_place = Column(Text, nullable=True)
    received_at = Column(DateTime, nullable=True)
    appointment_date = Column(Date, nullable=True)
    new_appointment_date = Column(Date, nullable=True)
    completed_at = Column(DateTime, nullable=True)
    missing_documents = Column(JSON, nullable=False, default=list)
    fee_due_vnd = Column(Integer, nullable=True)
    note = Column(Text, nullable=True)
    status_changed_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint("code", name="uq_dossiers_code"),
        Index("ix_dossiers_status_appointment", "status", "appointment_date"),
        Index("ix_dossiers_status_changed", "status_changed_at"),
    )


class DossierStatusHistory(Base):
    """Every status a dossier went through."""

    __tablename__ = "dossier_status_history"
    id = Column(Integer, primary_key=True)
    dossier_id = Column(Integer, ForeignKey("dossiers.id", ondelete="CASCADE"), nullable=False, index=True)
    status = Column(String(30), nullable=False)
    changed_at = Column(DateTime, nullable=False, default=utcnow)
    note = Column(Text, nullable=True)


class ChatUser(Base):
    """A citizen's identity on one channel (Telegram chat, Zalo user id, REST sender)."""

    __tablename__ = "chat_users"
    id = Column(Integer, primary_key=True)
    channel = Column(String(20), nullable=False)
    channel_user_id = Column(String(100), nullable=False)
    display_name = Column(String(200), nullable=True)
    phone = Column(String(20), nullable=True)
    reachable = Column(Boolean, nullable=False, default=True)
    unreachable_reason = Column(String(200), nullable=True)
    last_interaction_at = Column(DateTime, nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)

    __table_args__ = (UniqueConstraint("channel", "channel_user_id", name="uq_chat_users_channel_user"),)


class DossierLink(Base):
    """A dossier verified by a chat user (phone ending checked)."""

    __tablename__ = "dossier_links"
    id = Column(Integer, primary_key=True)
    dossier_id = Column(Integer, ForeignKey("dossiers.id", ondelete="CASCADE"), nullable=False, index=True)
    chat_user_id = Column(Integer, ForeignKey("chat_users.id", ondelete="CASCADE"), nullable=False, index=True)
    verified_at = Column(DateTime, nullable=False, default=utcnow)

    __table_args__ = (UniqueConstraint("dossier_id", "chat_user_id", name="uq_dossier_links"),)


class VerificationAttempt(Base):
    """One attempt to verify ownership of a dossier code (for lock-out)."""

    __tablename__ = "verification_attempts"
    id = Column(Integer, primary_key=True)
    dossier_code = Column(String(40), nullable=False)
    sender_key = Column(String(140), nullable=False)
    success = Column(Boolean, nullable=False)
    attempted_at = Column(DateTime, nullable=False, default=utcnow)

    __table_args__ = (Index("ix_verification_code_time", "dossier_code", "attempted_at"),
                      Index("ix_verification_sender_time", "sender_key", "attempted_at"))


class Feedback(Base):
    """A complaint, praise or suggestion, and/or a satisfaction rating."""

    __tablename__ = "feedback"
    id = Column(Integer, primary_key=True)
    sender_key = Column(String(140), nullable=False, index=True)
    text = Column(Text, nullable=True)
    rating = Column(Integer, nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow, index=True)


class HandoffRequest(Base):
    """A request to talk to a staff member, with the conversation so far."""

    __tablename__ = "handoff_requests"
    id = Column(Integer, primary_key=True)
    sender_key = Column(String(140), nullable=False, index=True)
    reason = Column(Text, nullable=True)
    transcript = Column(JSON, nullable=False, default=list)
    status = Column(String(20), nullable=False, default="open", index=True)  # open | active | closed
    created_at = Column(DateTime, nullable=False, default=utcnow, index=True)
    taken_at = Column(DateTime, nullable=True)  # an agent took it: waiting time = taken_at - created_at
    closed_at = Column(DateTime, nullable=True)
    agent = Column(String(64), nullable=True)  # the staff username that took it (migration 0006)


class ProcessedMessage(Base):
    """Inbound platform message ids already handled (de-duplication across replicas)."""

    __tablename__ = "processed_messages"
    id = Column(Integer, primary_key=True)
    platform = Column(String(20), nullable=False)
    message_id = Column(String(120), nullable=False)
    received_at = Column(DateTime, nullable=False, default=utcnow)

    __table_args__ = (UniqueConstraint("platform", "message_id", name="uq_processed_messages"),)


class RateLimitHit(Base):
    """Inbound messages per user and minute window (shared by all replicas)."""

    __tablename__ = "rate_limit_hits"
    id = Column(Integer, primary_key=True)
    user_key = Column(String(140), nullable=False)
    window_start = Column(DateTime, nullable=False)
    count = Column(Integer, nullable=False, default=0)
    notified = Column(Boolean, nullable=False, default=False)

    __table_args__ = (UniqueConstraint("user_key", "window_start", name="uq_rate_limit_window"),)


class OAuthToken(Base):
    """Persisted OAuth token pair of an outside system (Zalo OA, one-stop API)."""

    __tablename__ = "oauth_tokens"
    id = Column(Integer, primary_key=True)
    provider = Column(String(40), unique=True, nullable=False)
    access_token = Column(Text, nullable=False)
    refresh_token = Column(Text, nullable=True)
    expires_at = Column(DateTime, nullable=False)
    updated_at = Column(DateTime, nullable=False, default=utcnow)


class ReminderSubscription(Base):
    """A chat user's subscription to pushes for one dossier, or all linked (dossier_id NULL)."""

    __tablename__ = "reminder_subscriptions"
    id = Column(Integer, primary_key=True)
    chat_user_id = Column(Integer, ForeignKey("chat_users.id", ondelete="CASCADE"), nullable=False, index=True)
    dossier_id = Column(Integer, ForeignKey("dossiers.id", ondelete="CASCADE"), nullable=True, index=True)
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    cancelled_at = Column(DateTime, nullable=True)


class NotificationLog(Base):
    """Every push notice, claimed under a unique key before it is sent (at most once)."""

    __tablename__ = "notification_log"
    id = Column(Integer, primary_key=True)
    key = Column(String(200), unique=True, nullable=False)
    dossier_id = Column(Integer, ForeignKey("dossiers.id", ondelete="CASCADE"), nullable=False, index=True)
    chat_user_id = Column(Integer, ForeignKey("chat_users.id", ondelete="CASCADE"), nullable=False, index=True)
    kind = Column(String(40), nullable=False)
    state = Column(String(20), nullable=False, default="pending")  # see bot.reminders.claims
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(DateTime, nullable=False, default=utcnow)
    claimed_by = Column(String(100), nullable=True)
    claimed_at = Column(DateTime, nullable=True)
    sent_at = Column(DateTime, nullable=True)
    last_error = Column(Text, nullable=True)
    payload = Column(JSON, nullable=False, default=dict)
    created_at = Column(DateTime, nullable=False, default=utcnow)

    __table_args__ = (Index("ix_notification_state_next", "state", "next_attempt_at"),
                      Index("ix_notification_log_created_at", "created_at"),
                      Index("ix_notification_log_state_created", "state", "created_at", "id"))  # 0008


def optional_str(value: Optional[object]) -> Optional[str]:
    """``str(value)`` unless None."""
    return None if value is None else str(value)
