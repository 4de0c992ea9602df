"""Merging catalogue layers into the database, in bulk, field by field.

A procedure has up to two *layers*: ``national`` (the snapshot, machine-read) and ``curated``
(the project's file, checked by staff). Its columns are always ``merge(national, curated)``:
every field the curated layer gives (non-empty) wins, the others come from the snapshot. A
curated procedure keeps both layers in ``Procedure.layers``, so importing either file again, in
any order, gives the same rows. Writes are bulk Core statements in the caller's transaction:
3 reads, then one executemany per table and kind of change.
"""

from __future__ import annotations

import collections
import datetime as dt
from typing import Any, Dict, Iterable, List, Optional, Tuple

from sqlalchemy import bindparam, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from bot.catalogue.version import bump_version
from bot.db.models import Field, Procedure, ProcedureChannel, ProcedureDocument
from bot.text.normalize import fold

P, C, D, F = (Procedure.__table__, ProcedureChannel.__table__, ProcedureDocument.__table__,
              Field.__table__)
VALUE_FIELDS = ("name", "aliases", "field", "level", "levels", "agency", "competent_agency", "decision",
                "submit_place", "steps", "conditions", "result", "legal_basis", "online_level", "online_url",
                "notes", "channels", "documents")
META_FIELDS = ("source", "checked_on", "unconfirmed", "flags", "origin", "verified_by", "verified_at", "layers",
               "search_key")
DEFAULTS: Dict[str, Any] = {"aliases": [], "levels": [], "agency": "", "steps": [], "legal_basis": [],
                            "online_level": "none", "channels": [], "documents": []}
CHANNEL_KEYS = ("kind", "duration", "duration_days", "fee", "fee_vnd", "fee_status", "fee_doubtful", "note")
DOCUMENT_KEYS = ("name", "kind", "original", "copy", "template", "group_name")
LEVEL_ORDER = ["central", "province", "commune"]
DEFAULT_VERIFIER = "Trung tâm Phục vụ hành chính công tỉnh"
# which value an ``unconfirmed`` label is about (the others name their own field)
LABEL_FIELD = {"fee": "channels", "duration": "channels"}
# national record flags about a value (dropped when the curated layer gives that value)
FLAG_FIELD = (("fee_", "channels"), ("duration_", "channels"), ("channels_", "channels"),
              ("documents_", "documents"), ("steps_", "steps"), ("levels_", "levels"), ("agency_", "agency"),
              ("description_", "conditions"))


def search_key(*names: str) -> str:
    """Folded, lower-case, ``|``-separated names for matching."""
    return " | ".join(fold(n.lower()).strip() for n in names if n)


def _date(value: Any) -> Optional[dt.date]:
    return None if value is None else value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def provided(layer: Dict[str, Any]) -> set:
    """The fields a curated layer gives (a null, empty text or empty list gives nothing)."""
    given = {k for k in VALUE_FIELDS if layer["values"].get(k) not in (None, "", [])}
    if "online_level" in given:
        given.add("online_url")  # "none" without a URL is a statement, not a gap
    return given


def merge(nat: Optional[Dict[str, Any]], cur: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """The row state of a procedure from its layers (at least one)."""
    values = {k: DEFAULTS.get(k) for k in VALUE_FIELDS}
    if nat:
        values.update(nat["values"])
    given: set = set()
    if cur:
        given = provided(cur)
        values.update({k: cur["values"].get(k) for k in given})
    levels = set(values["levels"] or []) | ({values["level"]} if values["level"] in LEVEL_ORDER else set())
    values["levels"] = sorted(levels, key=LEVEL_ORDER.index)
    top = cur or nat
    assert top is not None
    unconfirmed = list(top["unconfirmed"])
    flags = list(nat["flags"]) if nat else []
    if cur and nat:
        unconfirmed += sorted(u for u in nat["unconfirmed"]
                              if LABEL_FIELD.get(u, u) not in given and u not in unconfirmed)
        flags = [f for f in flags if not any(f.startswith(p) and field in given for p, field in FLAG_FIELD)]
    return dict(values, source=top["source"], checked_on=_date(top["checked_on"]), unconfirmed=unconfirmed,
                flags=flags, origin="curated" if cur else "national",
                verified_by=cur["verified_by"] if cur else None,
                verified_at=_date(cur["verified_at"]) if cur else None,
                layers={"national": nat, "curated": cur} if cur else None,
                search_key=search_key(values["name"], *values["aliases"]))


def national_of(state: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """The national layer of a stored procedure (its values when it is national)."""
    if state["origin"] == "national":
        return {"values": {k: state[k] for k in VALUE_FIELDS}, "source": state["source"],
                "checked_on": state["checked_on"].isoformat(), "unconfirmed": state["unconfirmed"],
                "flags": state["flags"]}
    return (state["layers"] or {}).get("national")


def curated_of(state: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """The curated layer of a stored procedure (a row curated before layers existed: its values)."""
    if state["origin"] != "curated":
        return None
    if state["layers"] and state["layers"].get("curated"):
        return state["layers"]["curated"]
    checked = state["checked_on"].isoformat()
    return {"values": {k: state[k] for k in VALUE_FIELDS}, "source": state["source"], "checked_on": checked,
            "unconfirmed": state["unconfirmed"], "verified_by": state["verified_by"] or DEFAULT_VERIFIER,
            "verified_at": state["verified_at"].isoformat() if state["verified_at"] else checked}


# -- reading ------------------------------------------------------------------------------------

def load_states(conn: Connection, codes: Optional[Iterable[str]] = None) -> Dict[str, Dict[str, Any]]:
    """Stored procedures (all, or those with ``codes`` plus every curated one) as row states."""
    query = select(P, F.c.name.label("field_name")).select_from(P.join(F, P.c.field_id == F.c.id))
    if codes is not None:
        query = query.where(or_(P.c.code.in_(list(codes)), P.c.origin == "curated"))
    states: Dict[str, Dict[str, Any]] = {}
    by_id: Dict[int, Dict[str, Any]] = {}
    for row in conn.execute(query).mappings():
        state = {k: row[k] for k in VALUE_FIELDS + META_FIELDS if k not in ("field", "channels", "documents")}
        state.update(field=row["field_name"], channels=[], documents=[], _id=row["id"])
        states[row["code"]] = by_id[row["id"]] = state
    if not states:
        return states
    ids = None if codes is None else list(by_id)
    for table, key, columns in ((C, "channels", CHANNEL_KEYS), (D, "documents", DOCUMENT_KEYS)):
        query = select(table).order_by(table.c.procedure_id, table.c.position if key == "documents" else table.c.id)
        if ids is not None:
            query = query.where(table.c.procedure_id.in_(ids))
        for row in conn.execute(query).mappings():
            by_id[row["procedure_id"]][key].append({k: row[k] for k in columns})
    return states


def changed(old: Dict[str, Any], new: Dict[str, Any]) -> List[str]:
    """The fields whose stored value differs from the merged one."""
    return [k for k in VALUE_FIELDS + META_FIELDS if old.get(k) != new.get(k)]


# -- writing ------------------------------------------------------------------------------------

def _field_ids(conn: Connection, names: Iterable[str]) -> Dict[str, int]:
    ids = {r.name: r.id for r in conn.execute(select(F.c.id, F.c.name))}
    missing = sorted(set(names) - set(ids))
    if missing:
        conn.execute(F.insert(), [{"name": n, "search_key": search_key(n)[:200]} for n in missing])
        ids = {r.name: r.id for r in conn.execute(select(F.c.id, F.c.name))}
    return ids


def _row(state: Dict[str, Any], fields: Dict[str, int]) -> Dict[str, Any]:
    row = {k: state[k] for k in VALUE_FIELDS + META_FIELDS if k not in ("field", "channels", "documents")}
    row["field_id"] = fields[state["field"]]
    return row


def _children(conn: Connection, pairs: List[Tuple[int, Dict[str, Any]]]) -> None:
    channels = [dict(c, procedure_id=pid) for pid, s in pairs for c in s["channels"]]
    documents = [dict(d, procedure_id=pid, position=i) for pid, s in pairs for i, d in enumerate(s["documents"])]
    if channels:
        conn.execute(C.insert(), channels)
    if documents:
        conn.execute(D.insert(), documents)


class Plan:
    """What an import will write: new, changed and removed procedures, and the counts."""

    def __init__(self) -> None:
        self.inserts: List[Dict[str, Any]] = []
        self.updates: List[Tuple[Dict[str, Any], Dict[str, Any], List[str]]] = []  # old, new, changed fields
        self.deletes: List[int] = []
        self.unchanged = 0
        self.fields: collections.Counter = collections.Counter()

    def put(self, code: str, old: Optional[Dict[str, Any]], new: Dict[str, Any]) -> None:
        """Plan one procedure: insert, update (counting the changed fields) or nothing."""
        new["code"] = code
        if old is None:
            self.inserts.append(new)
            return
        diff = changed(old, new)
        if diff:
            self.updates.append((old, new, diff))
            self.fields.update(diff)
        else:
            self.unchanged += 1

    def write(self, session: Session) -> None:
        """Execute the plan in the session's transaction (bulk statements; the caller commits)."""
        session.flush()
        conn = session.connection()
        fields = _field_ids(conn, [s["field"] for s in self.inserts] + [n["field"] for _, n, _ in self.updates])
        if self.deletes:
            for start in range(0, len(self.deletes), 500):
                conn.execute(P.delete().where(P.c.id.in_(self.deletes[start:start + 500])))
        if self.updates:
            params = [dict(_row(new, fields), b_id=old["_id"]) for old, new, _ in self.updates]
            conn.execute(P.update().where(P.c.id == bindparam("b_id")), params)
            for key, table in (("channels", C), ("documents", D)):
                stale = [old["_id"] for old, _, diff in self.updates if key in diff]
                for start in range(0, len(stale), 500):
                    conn.execute(table.delete().where(table.c.procedure_id.in_(stale[start:start + 500])))
                pairs = [(old["_id"], {"channels": [], "documents": [], key: new[key]})
                         for old, new, diff in self.updates if key in diff]
                _children(conn, pairs)
        if self.inserts:
            conn.execute(P.insert(), [dict(_row(s, fields), code=s["code"]) for s in self.inserts])
            ids = dict(conn.execute(select(P.c.code, P.c.id)).all())
            _children(conn, [(ids[s["code"]], s) for s in self.inserts])
        if self.inserts or self.updates or self.deletes:
            bump_version(session)
        session.expire_all()
