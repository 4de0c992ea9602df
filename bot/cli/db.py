"""``db-init``, ``import-catalogue``, ``import-dossiers``: the database and its imports."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, Optional

from bot.settings import ROOT, get_settings

NATIONAL_CATALOGUE = ROOT / "data" / "national" / "procedures.json.gz"
CURATED_CATALOGUE = ROOT / "data" / "procedures.json"


def db_init(database_url: Optional[str] = None, demo: Optional[bool] = None,
            national: Optional[bool] = None) -> Dict[str, Any]:
    """Migrate, then load units and catalogue where missing.

    The catalogue is the national snapshot (every procedure, machine-read) merged with the
    curated file (which wins field by field). ``national=False`` (or ``SKIP_NATIONAL_CATALOGUE=1``)
    loads the curated file only, for tests that need no more; a database holding only curated
    procedures gets the snapshot the next time ``db_init`` runs with it.

    Demo dossiers are added only in development (``SEED_DEMO_DOSSIERS`` overrides) and
    only where no dossier with the same code exists: a real record is never overwritten.
    """
    from sqlalchemy import func, select

    from bot.catalogue.importer import import_catalogue
    from bot.catalogue.units import import_units
    from bot.db.models import Procedure, Unit

    if national is None:
        national = os.environ.get("SKIP_NATIONAL_CATALOGUE", "").lower() not in ("1", "true", "yes")
    from bot.db.session import session_scope, upgrade
    from bot.dossiers.demo import seed_demo_dossiers

    upgrade(database_url)
    report: Dict[str, Any] = {}
    with session_scope(database_url) as session:
        if not session.execute(select(func.count(Unit.id))).scalar_one():
            report["units"] = import_units(session, ROOT / "data" / "province.json")
        if national and NATIONAL_CATALOGUE.exists() and not session.execute(
                select(func.count(Procedure.id)).where(Procedure.origin == "national")).scalar_one():
            started = time.perf_counter()
            report["national_catalogue"] = vars(import_catalogue(session, NATIONAL_CATALOGUE))
            report["national_catalogue"]["seconds"] = round(time.perf_counter() - started, 1)
        if not session.execute(select(func.count(Procedure.id)).where(Procedure.origin == "curated")).scalar_one():
            report["catalogue"] = vars(import_catalogue(session, CURATED_CATALOGUE))
        report.update(_import_training_data(session))
        if get_settings().demo_enabled if demo is None else demo:
            report["demo_dossiers"] = seed_demo_dossiers(session, dt.date.today())
    return report


def _import_training_data(session: Any) -> Dict[str, Any]:
    """Load the repository's NLU training data into the staff's training data store when it is empty."""
    from bot.training.importer import import_nlu
    from bot.training.state import clear_changed, store_is_empty

    if not store_is_empty(session):
        return {}
    stats = import_nlu(session, ROOT / "nlu_data" / "nlu", "db-init")
    clear_changed(session)  # the data the shipped model was trained on: nothing changed since
    return {"training_data": stats.__dict__}


def import_catalogue_cmd(path: Path, prune: bool) -> int:
    """Import a catalogue export; print every bad record and write nothing on error."""
    from bot.catalogue.importer import CatalogueError, import_catalogue
    from bot.db.session import session_scope

    try:
        with session_scope() as session:
            report = import_catalogue(session, path, prune=prune)
    except CatalogueError as exc:
        for line, message in exc.problems:
            where = f"{line}" if exc.unit == "line" else f" record {line}" if line else ""
            print(f"{path}:{where}: {message}", file=sys.stderr)
        print("nothing imported", file=sys.stderr)
        return 1
    print(f"imported: {report.created} created, {report.updated} updated, {report.removed} removed, "
          f"{report.unchanged} unchanged")
    if report.changed_fields:
        print("changed fields: " + ", ".join(f"{k} {n}" for k, n in sorted(report.changed_fields.items())))
    return 0


def import_dossiers_cmd(path: Path) -> int:
    """Import dossiers from a JSON file (all or nothing)."""
    from bot.db.session import session_scope
    from bot.dossiers.records import records_from_file
    from bot.dossiers.service import upsert_dossier

    try:
        records = records_from_file(path.read_text(encoding="utf-8"))
    except (ValueError, json.JSONDecodeError) as exc:
        print(f"{path}: {exc}\nnothing imported", file=sys.stderr)
        return 1
    with session_scope() as session:
        for record in records:
            upsert_dossier(session, record)
    print(f"imported {len(records)} dossiers")
    return 0
