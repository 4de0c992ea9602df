"""Staff changes to the procedure catalogue: validated as the importer validates, merged as it merges.

A record here is one procedure in the curated JSON format (``data/procedures.json``). Saving one
(or a batch from an import) goes through :func:`bot.catalogue.importer.validate_record` and
:func:`bot.catalogue.importer.curated_layer`, then the importer's field-by-field merge
(:mod:`bot.catalogue.import_merge`), which bumps the catalogue version, so the assistant's search
index and caches rebuild on the next question. Each change is a revision
(:class:`bot.db.models_catalogue.ProcedureRevision`) and an audit entry (before → after); a change
of names or aliases rewrites the NLU synonyms and flags the NLU model for retraining.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.catalogue.import_merge import Plan, load_states, merge, national_of
from bot.catalogue.importer import curated_layer, validate_record
from bot.catalogue.problems import vietnamese
from bot.catalogue.retrain import mark_retrain_needed
from bot.cli.nlu_data import lookups_text, write_lookups
from bot.db.models import Field, Procedure
from bot.db.models_catalogue import ProcedureRevision
from bot.settings import get_settings
from bot.staff import audit

logger = logging.getLogger(__name__)

EDIT_KEYS = ("name", "aliases", "field", "level", "agency", "submit_place", "steps", "channels", "documents",
             "conditions", "result", "legal_basis", "online_level", "online_url", "notes", "unconfirmed")
NAME_KEYS = ("name", "aliases")
SYSTEM_ACTOR = "hệ thống"
LOOKUPS_ORIGIN = "the staff console from the catalogue database (curated procedures)"


class EditError(ValueError):
    """A change was refused; ``problems`` lists why (Vietnamese, for the page)."""

    def __init__(self, problems: List[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


class UnknownProcedure(LookupError):
    """No procedure (or revision) with this code (number)."""


@dataclass
class Change:
    """One saved change: the procedure, its new revision number (None: nothing changed), what changed."""

    code: str
    revision: Optional[int]
    fields: List[str] = field(default_factory=list)
    created: bool = False


def record_from_state(code: str, state: Dict[str, Any]) -> Dict[str, Any]:
    """A stored procedure (a :func:`load_states` row state) as a record of the curated format."""
    channels = []
    for ch in state["channels"]:
        item = {k: ch.get(k) for k in ("kind", "duration", "duration_days", "fee", "fee_vnd")}
        item.update({k: ch[k] for k in ("fee_status", "note") if ch.get(k) not in (None, "")})
        if ch.get("fee_doubtful"):
            item["fee_doubtful"] = True
        channels.append(item)
    documents = []
    for doc in state["documents"]:
        item = {k: doc.get(k) for k in ("name", "kind", "original", "copy", "template")}
        if doc.get("group_name"):
            item["group"] = doc["group_name"]
        documents.append(item)
    checked = state.get("checked_on")
    return {
        "code": code, "name": state["name"], "aliases": list(state["aliases"] or []), "field": state["field"],
        "level": state["level"], "agency": state["agency"], "submit_place": state.get("submit_place"),
        "steps": list(state["steps"] or []), "channels": channels, "documents": documents,
        "conditions": state.get("conditions"), "result": state.get("result"),
        "legal_basis": list(state["legal_basis"] or []), "online_level": state["online_level"],
        "online_url": state.get("online_url"), "source": state["source"],
        "checked_on": checked.isoformat() if isinstance(checked, dt.date) else checked,
        "unconfirmed": list(state["unconfirmed"] or []), "notes": state.get("notes"),
    }


def stored_states(session: Session, codes: Iterable[str]) -> Dict[str, Dict[str, Any]]:
    """The stored row states (:func:`load_states`) of ``codes`` (unknown codes left out)."""
    wanted = set(codes)
    session.flush()
    return {c: s for c, s in load_states(session.connection(), wanted).items() if c in wanted}


def load_record(session: Session, code: str) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """The record of ``code`` and its provenance (origin, verified_by, verified_at, flags).

    Raises:
        UnknownProcedure: no such procedure.
    """
    state = stored_states(session, [code]).get(code)
    if state is None:
        raise UnknownProcedure(code)
    meta = {"origin": state["origin"], "verified_by": state["verified_by"], "verified_at": state["verified_at"],
            "flags": state["flags"] or [], "levels": state["levels"] or []}
    return record_from_state(code, state), meta


def check_provenance(source: Optional[str], checked_on: Optional[dt.date]) -> List[str]:
    """Problems with the source and check date a change must carry."""
    problems = []
    if not (source or "").strip():
        problems.append("Cần ghi nguồn đã đối chiếu (văn bản, trang web) cho thay đổi này.")
    if checked_on is None:
        problems.append("Cần ghi ngày kiểm tra.")
    elif checked_on > dt.date.today() + dt.timedelta(days=1):
        problems.append("Ngày kiểm tra không thể ở tương lai.")
    return problems


def prepare(code: str, record: Dict[str, Any], source: str, checked_on: dt.date) -> Dict[str, Any]:
    """The record to validate and store: the editable keys, the code, the change's source and date."""
    rec = {k: record.get(k) for k in EDIT_KEYS if k in record}
    rec.update(code=code, source=source.strip(), checked_on=checked_on.isoformat())
    return rec


def save_record(session: Session, code: str, record: Dict[str, Any], actor: str, source: Optional[str],
                checked_on: Optional[dt.date], note: Optional[str] = None, action: str = "edit",
                reverted_from: Optional[int] = None) -> Change:
    """Validate and save one procedure's record, in the caller's transaction.

    Args:
        session: the unit of work (the caller commits).
        code: the procedure's code (it must exist).
        record: its fields in the curated format (``code``, ``source``, ``checked_on`` are ignored).
        actor: the staff member's username (verified_by, revision, audit).
        source: what the change was checked against; checked_on: when.
        note: the staff member's comment; action: ``edit`` or ``revert``.

    Raises:
        EditError: missing provenance or an invalid record (nothing written).
        UnknownProcedure: no such procedure.
    """
    problems = check_provenance(source, checked_on)
    if problems:
        raise EditError(problems)
    assert source is not None and checked_on is not None
    rec = prepare(code, record, source, checked_on)
    problems = validate_record(rec)
    if problems:
        raise EditError([vietnamese(p) for p in problems])
    old = stored_states(session, [code]).get(code)
    if old is None:
        raise UnknownProcedure(code)
    changes = apply_records(session, {code: rec}, {code: old}, actor, checked_on, action, note, reverted_from)
    return changes[0] if changes else Change(code, None)


def apply_records(session: Session, records: Dict[str, Dict[str, Any]], olds: Dict[str, Dict[str, Any]],
                  actor: str, checked_on: dt.date, action: str, note: Optional[str] = None,
                  reverted_from: Optional[int] = None, content_only: bool = False) -> List[Change]:
    """Merge valid ``records`` over their stored states ``olds`` and record each change.

    A record that would read the same as the stored one is skipped; with ``content_only`` its source
    and check date are not compared either (an import of an export does not re-verify what nobody
    changed).
    """
    plan = Plan()
    for code, rec in records.items():
        old = olds.get(code)
        new = merge(national_of(old) if old else None, curated_layer(dict(rec, verified_by=actor), checked_on, actor))
        if old is not None:  # nothing a reader of the record would see changed: no new version
            keys = EDIT_KEYS if content_only else EDIT_KEYS + ("source", "checked_on")
            before, after = record_from_state(code, old), record_from_state(code, new)
            if all(before.get(k) == after.get(k) for k in keys):
                continue
        plan.put(code, old, new)
    plan.write(session)
    touched = [s["code"] for s in plan.inserts] + [new["code"] for _, new, _ in plan.updates]
    if not touched:
        return []
    afters = stored_states(session, touched)
    changes, renamed = [], False
    for code in touched:
        old, after = olds.get(code), record_from_state(code, afters[code])
        before = record_from_state(code, old) if old else None
        number = _next_number(session, code, before)
        session.add(ProcedureRevision(code=code, number=number, actor=actor, action=action, source=after["source"],
                                      checked_on=checked_on, note=note, reverted_from=reverted_from, record=after))
        fields = [k for k in EDIT_KEYS + ("source", "checked_on") if (before or {}).get(k) != after.get(k)]
        audit.record(session, actor, f"catalogue.{action}", "procedure", code, before, after, note)
        renamed = renamed or any(k in fields for k in NAME_KEYS)
        changes.append(Change(code, number, fields, created=old is None))
    session.flush()
    if renamed:
        refresh_lookups(session)
        mark_retrain_needed(session, actor, "Tên hoặc tên gọi khác của thủ tục đã thay đổi: "
                            + ", ".join(c.code for c in changes if set(c.fields) & set(NAME_KEYS))[:500])
    logger.info("catalogue %s: %d procedure(s) changed", action, len(changes))
    return changes


def _next_number(session: Session, code: str, before: Optional[Dict[str, Any]]) -> int:
    """The next revision number; the first change of an existing record stores it as it was (baseline)."""
    last = session.execute(select(func.max(ProcedureRevision.number))
                           .where(ProcedureRevision.code == code)).scalar() or 0
    if last == 0 and before is not None:
        checked = before.get("checked_on")
        session.add(ProcedureRevision(code=code, number=1, actor=SYSTEM_ACTOR, action="baseline",
                                      source=before.get("source"),
                                      checked_on=dt.date.fromisoformat(checked) if checked else None,
                                      record=before))
        session.flush()
        last = 1
    return last + 1


def revision(session: Session, code: str, number: int) -> ProcedureRevision:
    """One revision of a procedure.

    Raises:
        UnknownProcedure: no such revision.
    """
    found = session.execute(select(ProcedureRevision).where(ProcedureRevision.code == code,
                                                            ProcedureRevision.number == number)).scalar()
    if found is None:
        raise UnknownProcedure(f"{code}#{number}")
    return found


def revisions(session: Session, code: str) -> List[ProcedureRevision]:
    """Every revision of a procedure, oldest first."""
    return list(session.execute(select(ProcedureRevision).where(ProcedureRevision.code == code)
                                .order_by(ProcedureRevision.number)).scalars())


def revert(session: Session, code: str, number: int, actor: str, note: Optional[str] = None) -> Change:
    """Make revision ``number`` the current record again (a new, audited change with that version's
    source and check date).

    Raises:
        UnknownProcedure: no such procedure or revision.
        EditError: the old version no longer validates.
    """
    old = revision(session, code, number)
    rec = dict(old.record)
    checked = dt.date.fromisoformat(rec["checked_on"]) if rec.get("checked_on") else old.checked_on
    return save_record(session, code, rec, actor, rec.get("source") or old.source, checked,
                       note=note or f"Quay lại phiên bản {number}", action="revert", reverted_from=number)


def curated_names(session: Session) -> List[Dict[str, Any]]:
    """Code, name, aliases and field of every curated procedure (what the NLU synonyms are made of)."""
    rows = session.execute(select(Procedure.code, Procedure.name, Procedure.aliases, Field.name)
                           .join(Field, Procedure.field_id == Field.id)
                           .where(Procedure.origin == "curated")).all()
    return [{"code": c, "name": n, "aliases": a or [], "field": f} for c, n, a, f in rows]


def refresh_lookups(session: Session, out: Optional[Path] = None) -> bool:
    """Rewrite the NLU synonyms (``gen-lookups``) from the curated procedures in the database."""
    target = out or Path(get_settings().catalogue_lookups_file)
    changed = write_lookups(lookups_text(curated_names(session), origin=LOOKUPS_ORIGIN), target)
    logger.info("catalogue lookups %s", "rewritten" if changed else "unchanged")
    return changed
