"""Handoff desk tables: what agents wrote to citizens (migration 0006; tickets are ``handoff_requests``)."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, Integer, String, Text

from bot.db.models import Base, utcnow


class HandoffMessage(Base):
    """One message an agent sent to the citizen of a ticket.

    Telegram and Zalo messages are sent at once (``delivered_at`` set); a message to a
    request/response channel (the development REST channel) waits with ``delivered_at``
    empty until the citizen's next message carries it back.
    """

    __tablename__ = "handoff_messages"
    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("handoff_requests.id", ondelete="CASCADE"), nullable=False, index=True)
    conversation_id = Column(String(140), nullable=False, index=True)
    agent = Column(String(64), nullable=False)
    text = Column(Text, nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow, index=True)
    delivered_at = Column(DateTime, nullable=True)
