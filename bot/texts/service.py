"""The texts service: list the domain's responses with their current wording, edit, history, revert.

Every change writes a revision, an audit entry and bumps the version row in the caller's unit
of work, so readers (:mod:`bot.texts.live`) pick it up on their next message.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bot.db.models import utcnow
from bot.db.models_texts import TEXT_CHANNELS, ResponseOverride, ResponseRevision, TextsVersion
from bot.staff.audit import record
from bot.text.normalize import fold
from bot.texts.checks import Errors, check_edit
from bot.texts.domain import DomainTexts, domain_texts, placeholders
from bot.texts.live import read_overrides
from bot.texts.overlay import Override, variant_for

ENTITY = "response_text"


class TextError(Exception):
    """An edit that cannot be saved; ``errors`` holds the messages by field."""

    def __init__(self, errors: Errors) -> None:
        super().__init__("; ".join(m for messages in errors.values() for m in messages))
        self.errors = errors


class TextNotFound(LookupError):
    """No such response, variation, channel or revision."""


@dataclass
class Wording:
    """The current wording of a variation on one channel."""

    channel: str
    text: str
    buttons: List[Dict[str, Any]]
    overridden: bool
    updated_by: Optional[str] = None
    updated_at: Optional[dt.datetime] = None


@dataclass
class VariationView:
    """One domain variation: the domain's own wording and the current one per channel."""

    index: int
    default: Dict[str, Any]
    channels: List[str]
    placeholders: List[str]
    wordings: Dict[str, Wording] = field(default_factory=dict)


@dataclass
class TextSummary:
    """A row of the texts list."""

    name: str
    default_text: str
    current_text: str
    edited_channels: List[str]
    variations: int


def _texts(texts: Optional[DomainTexts]) -> DomainTexts:
    return texts or domain_texts()


def _clean_buttons(buttons: Optional[Sequence[Mapping[str, Any]]]) -> Optional[List[Dict[str, str]]]:
    if buttons is None:
        return None
    return [{"title": unicodedata.normalize("NFC", str(b.get("title") or "").strip()),
             "payload": str(b.get("payload") or "").strip()} for b in buttons]


def _overrides_of(session: Session, name: str) -> Dict[tuple, ResponseOverride]:
    rows = session.execute(select(ResponseOverride).where(ResponseOverride.response == name)).scalars()
    return {(row.variation, row.channel or ""): row for row in rows}


def list_texts(session: Session, query: str = "", texts: Optional[DomainTexts] = None) -> List[TextSummary]:
    """Every response, filtered by ``query`` (name or text, diacritics and case ignored)."""
    domain = _texts(texts)
    overrides = read_overrides(session)
    needle = fold(unicodedata.normalize("NFC", query or "")).casefold().strip()
    result = []
    for name in sorted(domain.responses):
        variations = domain.variations(name)
        if not variations:
            continue
        mine = overrides.get(name, {})
        default_text = str(variations[0].get("text") or "")
        own = mine.get((0, ""))
        current = own.text if own else default_text
        haystack = " ".join([name, default_text, current, *(o.text for o in mine.values())])
        if needle and needle not in fold(haystack).casefold():
            continue
        edited = sorted({channel or "default" for (_i, channel) in mine})
        result.append(TextSummary(name, default_text, current, edited, len(variations)))
    return result


def get_text(session: Session, name: str, texts: Optional[DomainTexts] = None) -> List[VariationView]:
    """The variations of ``name`` with their current wording per channel.

    Raises:
        TextNotFound: the domain has no such response.
    """
    domain = _texts(texts)
    variations = domain.variations(name)
    if not variations:
        raise TextNotFound(name)
    rows = _overrides_of(session, name)
    overrides = {key: Override(row.text, row.buttons) for key, row in rows.items()}
    views = []
    for index, variant in enumerate(variations):
        channels = [""] if variant.get("channel") else list(TEXT_CHANNELS)
        view = VariationView(index, dict(variant), channels, placeholders(str(variant.get("text") or "")))
        for channel in channels:
            effective = variant_for(variations, overrides, index, channel) or {}
            row = rows.get((index, channel))
            view.wordings[channel] = Wording(channel, str(effective.get("text") or ""),
                                             [dict(b) for b in effective.get("buttons") or []], row is not None,
                                             row.updated_by if row else None, row.updated_at if row else None)
        views.append(view)
    return views


def validate(name: str, variation: int, channel: str, text: str,
             buttons: Optional[Sequence[Mapping[str, Any]]], texts: Optional[DomainTexts] = None) -> Errors:
    """The messages an edit would get, by field (empty: it may be saved).

    Raises:
        TextNotFound: unknown response, variation or channel.
    """
    domain = _texts(texts)
    variations = domain.variations(name)
    if not variations or not 0 <= variation < len(variations):
        raise TextNotFound(f"{name}#{variation}")
    default = variations[variation]
    if channel not in TEXT_CHANNELS or (channel and default.get("channel")):
        raise TextNotFound(f"{name}#{variation}@{channel}")
    return check_edit(text, _clean_buttons(buttons), channel, default, variations, domain.intents)


def bump_version(session: Session) -> None:
    """Raise the version row (created when missing) so every reader re-reads the overrides."""
    changed = session.execute(update(TextsVersion).where(TextsVersion.id == 1)
                              .values(version=TextsVersion.version + 1, updated_at=utcnow())).rowcount
    if not changed:
        session.add(TextsVersion(id=1, version=1, updated_at=utcnow()))


def _entity_id(name: str, variation: int, channel: str) -> str:
    return f"{name}#{variation}@{channel or 'default'}"


def _snapshot(row: Optional[ResponseOverride]) -> Optional[Dict[str, Any]]:
    return {"text": row.text, "buttons": row.buttons} if row is not None else None


def save(session: Session, name: str, variation: int, channel: str, text: str,
         buttons: Optional[Sequence[Mapping[str, Any]]], actor: str, *, action: str = "edit",
         texts: Optional[DomainTexts] = None) -> ResponseOverride:
    """Save a new wording of a variation on ``channel`` (a revision, an audit entry, a new version).

    Args:
        buttons: the buttons to show (None, or the domain's own buttons: keep following the domain's).

    Raises:
        TextNotFound: unknown response, variation or channel.
        TextError: the wording breaks a rule (messages by field).
    """
    text = unicodedata.normalize("NFC", (text or "").replace("\r\n", "\n").replace("\r", "\n"))
    errors = validate(name, variation, channel, text, buttons, texts)
    if errors:
        raise TextError(errors)
    default = _texts(texts).variations(name)[variation]
    cleaned = _clean_buttons(buttons)
    if cleaned is not None and cleaned == _clean_buttons(default.get("buttons") or []):
        cleaned = None
    row = _overrides_of(session, name).get((variation, channel))
    before = _snapshot(row)
    if row is None:
        row = ResponseOverride(response=name, variation=variation, channel=channel, text=text, buttons=cleaned,
                               updated_by=actor, updated_at=utcnow())
        session.add(row)
    else:
        row.text, row.buttons, row.updated_by, row.updated_at = text, cleaned, actor, utcnow()
    session.add(ResponseRevision(response=name, variation=variation, channel=channel, action=action, text=text,
                                 buttons=cleaned, actor=actor, at=utcnow()))
    record(session, actor, f"texts.{action}", ENTITY, _entity_id(name, variation, channel), before,
           {"text": text, "buttons": cleaned})
    bump_version(session)
    session.flush()
    return row


def reset(session: Session, name: str, variation: int, channel: str, actor: str,
          texts: Optional[DomainTexts] = None) -> None:
    """Back to the domain's own wording (the override is removed; revision, audit, new version).

    Raises:
        TextNotFound: unknown response, variation or channel, or nothing to reset.
    """
    validate(name, variation, channel, "x", None, texts)
    row = _overrides_of(session, name).get((variation, channel))
    if row is None:
        raise TextNotFound(_entity_id(name, variation, channel))
    before = _snapshot(row)
    session.execute(delete(ResponseOverride).where(ResponseOverride.id == row.id))
    session.add(ResponseRevision(response=name, variation=variation, channel=channel, action="reset", text=None,
                                 buttons=None, actor=actor, at=utcnow()))
    record(session, actor, "texts.reset", ENTITY, _entity_id(name, variation, channel), before, None)
    bump_version(session)
    session.flush()


def revert(session: Session, name: str, revision_id: int, actor: str,
           texts: Optional[DomainTexts] = None) -> None:
    """Bring back the wording of revision ``revision_id`` of ``name`` (checked again, as a new revision).

    Raises:
        TextNotFound: no such revision of this response.
        TextError: the old wording no longer passes the checks (the domain changed since).
    """
    revision = session.get(ResponseRevision, revision_id)
    if revision is None or revision.response != name:
        raise TextNotFound(f"revision {revision_id}")
    if revision.text is None:
        reset(session, name, revision.variation, revision.channel, actor, texts)
        return
    default = _texts(texts).variations(name)
    buttons = revision.buttons
    if buttons is None and 0 <= revision.variation < len(default):
        buttons = default[revision.variation].get("buttons") or []
    save(session, name, revision.variation, revision.channel, revision.text, buttons, actor, action="revert",
         texts=texts)


def history(session: Session, name: str, limit: int = 100) -> List[ResponseRevision]:
    """The revisions of ``name``, newest first."""
    query = (select(ResponseRevision).where(ResponseRevision.response == name)
             .order_by(ResponseRevision.id.desc()).limit(max(1, min(limit, 500))))
    return list(session.execute(query).scalars())
