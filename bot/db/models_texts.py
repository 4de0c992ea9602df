"""Staff edits of the domain's answer texts (migration 0006): current overrides, revisions, a version row."""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Integer, String, Text, UniqueConstraint

from bot.db.models import Base, utcnow

TEXT_CHANNELS = ("", "telegram", "zalo")
"""Channels an override is kept for: ``""`` is the variation itself (every channel)."""


class ResponseOverride(Base):
    """The current staff wording of one variation of a domain response, for one channel."""

    __tablename__ = "response_overrides"
    __table_args__ = (UniqueConstraint("response", "variation", "channel", name="uq_response_overrides_key"),)
    id = Column(Integer, primary_key=True)
    response = Column(String(120), nullable=False, index=True)
    variation = Column(Integer, nullable=False)
    channel = Column(String(16), nullable=False, default="")
    text = Column(Text, nullable=False)
    buttons = Column(JSON, nullable=True)  # None: the domain's buttons; []: no buttons
    updated_at = Column(DateTime, nullable=False, default=utcnow)
    updated_by = Column(String(64), nullable=False)


class ResponseRevision(Base):
    """One change of a variation's wording: an edit, a revert to an earlier revision, a reset to the domain."""

    __tablename__ = "response_revisions"
    id = Column(Integer, primary_key=True)
    response = Column(String(120), nullable=False, index=True)
    variation = Column(Integer, nullable=False)
    channel = Column(String(16), nullable=False, default="")
    action = Column(String(16), nullable=False)  # edit | revert | reset
    text = Column(Text, nullable=True)  # None: back to the domain's text
    buttons = Column(JSON, nullable=True)
    actor = Column(String(64), nullable=False)
    at = Column(DateTime, nullable=False, default=utcnow)


class TextsVersion(Base):
    """A single row whose ``version`` goes up with every change: readers cache overrides by it."""

    __tablename__ = "response_texts_version"
    id = Column(Integer, primary_key=True)
    version = Column(Integer, nullable=False, default=0)
    updated_at = Column(DateTime, nullable=False, default=utcnow)
