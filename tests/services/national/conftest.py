"""Fixtures and helpers of the national-catalogue import tests (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
import sqlalchemy as sa

from bot.catalogue.importer import ImportReport, import_catalogue
from bot.db.models import Procedure
from bot.db.session import get_engine, session_scope, upgrade
from tests.services.conftest import PROCEDURES_JSON, ROOT, wipe
from tests.support.postgres import ON_POSTGRES, postgres_or_skip

NATIONAL = ROOT / "data" / "national" / "procedures.json.gz"
SNAPSHOT = dt.date(2026, 7, 17)
SOURCE = "CSDL quốc gia về TTHC"


@lru_cache(maxsize=1)
def _national_text() -> str:
    return gzip.decompress(NATIONAL.read_bytes()).decode("utf-8")


def national_doc() -> Dict[str, Any]:
    """A fresh copy of the shipped national catalogue."""
    return json.loads(_national_text())


def curated_doc() -> Dict[str, Any]:
    return json.loads(PROCEDURES_JSON.read_text(encoding="utf-8"))


def national_record(code: str) -> Dict[str, Any]:
    return next(p for p in national_doc()["procedures"] if p["code"] == code)


def import_file(url: str, path: Path, prune: bool = False) -> ImportReport:
    with session_scope(url) as session:
        return import_catalogue(session, path, prune=prune)


def subset_file(tmp_path: Path, codes: List[str], name: str = "subset.json", edit=None) -> Path:  # type: ignore[no-untyped-def]
    """A plain-JSON national file holding only ``codes`` (after ``edit(records_by_code)``)."""
    doc = national_doc()
    doc["procedures"] = [p for p in doc["procedures"] if p["code"] in set(codes)]
    if edit:
        edit({p["code"]: p for p in doc["procedures"]}, doc)
    path = tmp_path / name
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def proc(url: str, code: str) -> Procedure:
    with session_scope(url) as session:
        found = session.execute(sa.select(Procedure).where(Procedure.code == code)).unique().scalar_one()
        found.channels, found.documents  # noqa: B018 - loaded before the session closes
        return found


def state(url: str) -> Dict[str, Any]:
    """Every imported value (ids left out), by code: to compare two databases."""
    with get_engine(url).connect() as conn:
        procs = {r.id: r for r in conn.execute(sa.text(
            "SELECT p.*, f.name AS field_name FROM procedures p JOIN fields f ON f.id = p.field_id"))}
        out: Dict[str, Any] = {}
        for row in procs.values():
            values = {k: v for k, v in row._mapping.items() if k not in ("id", "field_id")}
            for key in ("aliases", "levels", "steps", "legal_basis", "unconfirmed", "flags", "layers"):
                if isinstance(values[key], str):  # SQLite returns JSON as text through text()
                    values[key] = json.loads(values[key])
            out[row.code] = dict(values, channels=[], documents=[])
            out[row.code]["checked_on"] = str(values["checked_on"])
            out[row.code]["verified_at"] = str(values["verified_at"])
        for r in conn.execute(sa.text("SELECT * FROM procedure_channels ORDER BY procedure_id, id")):
            out[procs[r.procedure_id].code]["channels"].append(
                (r.kind, r.duration, r.duration_days, r.fee, r.fee_vnd, r.fee_status, bool(r.fee_doubtful), r.note))
        for r in conn.execute(sa.text("SELECT * FROM procedure_documents ORDER BY procedure_id, position")):
            out[procs[r.procedure_id].code]["documents"].append(
                (r.position, r.name, r.kind, r.original, r.copy, r.template, r.group_name))
        return out


@pytest.fixture(params=["sqlite", ON_POSTGRES])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


def _fresh(backend: str, tmp_path_factory: pytest.TempPathFactory, prefix: str):  # type: ignore[no-untyped-def]
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp(prefix) / 'db.sqlite'}"
        upgrade(url)
        return sqlite_database(url)
    return postgres_or_skip(f"test_{prefix}")


class sqlite_database:  # noqa: N801 - used like a context-manager function
    def __init__(self, url: str) -> None:
        self.url = url

    def __enter__(self) -> str:
        return self.url

    def __exit__(self, *exc: object) -> None:
        get_engine(self.url).dispose()


@pytest.fixture(scope="module", params=["sqlite", ON_POSTGRES])
def module_backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def full_url(module_backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The whole national snapshot then the curated file, once per backend (read-only!)."""
    with _fresh(module_backend, tmp_path_factory, "national_full") as url:
        national = import_file(url, NATIONAL)
        assert (national.created, national.updated, national.removed) == (5652, 0, 0)
        curated = import_file(url, PROCEDURES_JSON)
        assert (curated.created, curated.updated) == (0, 58)
        yield url


@pytest.fixture(scope="module")
def empty_url(module_backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with _fresh(module_backend, tmp_path_factory, "national_empty") as url:
        yield url


@pytest.fixture
def clean_url(empty_url: str) -> str:
    wipe(empty_url)
    return empty_url


# --- the whole snapshot --------------------------------------------------------------------------
