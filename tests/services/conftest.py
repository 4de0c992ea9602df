"""Fixtures of the service tests.

Everything runs on SQLite and on PostgreSQL. The ``db_url`` / ``pg_url`` fixtures of
``tests/conftest.py`` create a fresh migrated database per test; to stay fast, most writing
tests use ``clean_db_url`` instead (one migrated database per backend and module, emptied
before each test, set as DATABASE_URL), and read-only lookups (catalogue search,
administrative units) share one seeded database per backend for the session (``seeded_url``).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Dict, Iterator

import pytest
import sqlalchemy as sa

from bot.catalogue.importer import import_catalogue
from bot.catalogue.units import import_units
from bot.db.models import (
    Agency,
    Base,
    Dossier,
    DossierStatusHistory,
    Field,
    Procedure,
    ProcedureChannel,
    ProcedureDocument,
    Unit,
)
from bot.db.session import get_engine, session_scope, upgrade
from bot.settings import get_settings
from tests.support.postgres import ON_POSTGRES, postgres_or_skip

ROOT = Path(__file__).resolve().parents[2]
PROCEDURES_JSON = ROOT / "data" / "procedures.json"
PROVINCE_JSON = ROOT / "data" / "province.json"

# Nothing listens on port 1 of the loopback: a connection is refused at once.
DEAD_PG_URL = "postgresql://postgres@127.0.0.1:1/x"


def _seed(url: str) -> None:
    with session_scope(url) as session:
        import_catalogue(session, PROCEDURES_JSON)
        import_units(session, PROVINCE_JSON)


@contextlib.contextmanager
def _module_database(backend: str, tmp_path_factory: pytest.TempPathFactory, prefix: str) -> Iterator[str]:
    """A fresh migrated database kept for a whole module (SQLite file or PostgreSQL database)."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp(prefix) / f'{prefix}.db'}"
        upgrade(url)
        try:
            yield url
        finally:
            get_engine(url).dispose()
        return
    with postgres_or_skip(f"test_{prefix}") as url:
        yield url


@pytest.fixture(scope="session", params=["sqlite", ON_POSTGRES])
def seeded_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database with the real catalogue and units, shared by the session (read-only!)."""
    with _module_database(request.param, tmp_path_factory, "seeded") as url:
        _seed(url)
        yield url


@pytest.fixture(scope="module", params=["sqlite", ON_POSTGRES])
def module_db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An empty migrated database per backend, created once per module (see ``clean_db_url``)."""
    with _module_database(request.param, tmp_path_factory, "module") as url:
        yield url


def wipe(url: str) -> None:
    """Delete every row of every table (children first)."""
    with get_engine(url).begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def clean_db_url(module_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The module's database, emptied before the test and set as DATABASE_URL.

    Equivalent to ``db_url`` (SQLite and PostgreSQL) for tests that only need empty
    tables, without paying for a new database and migration per test.
    """
    wipe(module_db_url)
    monkeypatch.setenv("DATABASE_URL", module_db_url)
    get_settings.cache_clear()
    yield module_db_url
    get_settings.cache_clear()


def table_counts(url: str) -> Dict[str, int]:
    """Row counts of the catalogue, unit and dossier tables."""
    models = {"procedures": Procedure, "channels": ProcedureChannel, "documents": ProcedureDocument,
              "fields": Field, "units": Unit, "agencies": Agency, "dossiers": Dossier,
              "history": DossierStatusHistory}
    with session_scope(url) as session:
        return {name: session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()
                for name, model in models.items()}
