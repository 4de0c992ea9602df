"""Procedure snapshots kept per catalogue version (bot.catalogue.facts) and the version read once per
transaction (bot.catalogue.version), on SQLite and PostgreSQL."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, List

import pytest
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from bot.catalogue import facts
from bot.catalogue.importer import import_catalogue
from bot.catalogue.service import CatalogueService
from bot.catalogue.version import bump_version, catalogue_version
from bot.db.models import Procedure, ProcedureChannel
from bot.db.session import session_scope
from bot.settings import ROOT

BIRTH = "1.001193"


@pytest.fixture
def catalogue_url(db_url: str) -> Iterator[str]:
    """``db_url`` with the curated catalogue and no snapshot kept from another test."""
    facts.forget()
    with session_scope(db_url) as session:
        import_catalogue(session, ROOT / "data" / "procedures.json")
    yield db_url
    facts.forget()


@contextmanager
def _statements(session: Session) -> Iterator[List[str]]:
    """The SQL statements ``session``'s engine runs inside the block."""
    seen: List[str] = []

    def count(*args: object) -> None:
        seen.append(str(args[2]))

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_snapshot_has_every_column_read_only(catalogue_url: str) -> None:
    with session_scope(catalogue_url) as session:
        orm = session.execute(select(Procedure).where(Procedure.code == BIRTH)).scalar_one()
        snap = CatalogueService(session).get(BIRTH)
        assert snap is not None and snap.code == BIRTH and snap.name == orm.name
        assert list(snap.steps) == orm.steps and list(snap.legal_basis) == orm.legal_basis
        assert snap.checked_on == orm.checked_on and snap.field.name == orm.field.name
        assert [(c.kind, c.fee, c.duration) for c in snap.channels] == [(c.kind, c.fee, c.duration) for c in orm.channels]
        assert [d.name for d in snap.documents] == [d.name for d in orm.documents]
        assert isinstance(snap.steps, tuple)
        with pytest.raises(AttributeError):
            snap.name = "khác"
        with pytest.raises(AttributeError):
            snap.channels[0].fee = "0 đồng"
        with pytest.raises(AttributeError):
            _ = snap.no_such_column
        assert CatalogueService(session).get("9.999999") is None and CatalogueService(session).get("") is None


def test_kept_until_the_catalogue_changes(catalogue_url: str) -> None:
    with session_scope(catalogue_url) as session:
        first = CatalogueService(session).get(BIRTH)
    with session_scope(catalogue_url) as session:
        with _statements(session) as seen:
            assert CatalogueService(session).get(BIRTH) is first
        assert len(seen) == 1  # the version only
    with session_scope(catalogue_url) as session:  # a change, committed with its version
        proc = session.execute(select(Procedure).where(Procedure.code == BIRTH)).scalar_one()
        session.execute(update(ProcedureChannel).where(ProcedureChannel.procedure_id == proc.id)
                        .values(fee="Lệ phí mới"))
        bump_version(session)
    with session_scope(catalogue_url) as session:
        fresh = CatalogueService(session).get(BIRTH)
        assert fresh is not first and {c.fee for c in fresh.channels} == {"Lệ phí mới"}


def test_a_writer_never_keeps_what_it_has_not_committed(catalogue_url: str) -> None:
    with session_scope(catalogue_url) as session:
        before = CatalogueService(session).get(BIRTH)
    with pytest.raises(RuntimeError), session_scope(catalogue_url) as session:
        proc = session.execute(select(Procedure).where(Procedure.code == BIRTH)).scalar_one()
        proc.name = "Tên chưa lưu"
        bump_version(session)
        assert CatalogueService(session).get(BIRTH).name == "Tên chưa lưu"  # its own transaction sees it
        raise RuntimeError("rolled back")
    with session_scope(catalogue_url) as session:  # another change reaches the version the rolled-back one had
        bump_version(session)
    with session_scope(catalogue_url) as session:
        assert CatalogueService(session).get(BIRTH).name == before.name


def test_version_read_once_per_transaction(catalogue_url: str) -> None:
    with session_scope(catalogue_url) as session:
        with _statements(session) as seen:
            version = catalogue_version(session)
            assert catalogue_version(session) == version and len(seen) == 1
            session.commit()
            assert catalogue_version(session) == version and len(seen) == 2  # a new transaction reads again
        bump_version(session)
        assert catalogue_version(session) == version + 1


def test_snapshots_are_bounded(catalogue_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(facts, "KEPT", 3)
    with session_scope(catalogue_url) as session:
        codes = session.execute(select(Procedure.code).limit(5)).scalars().all()
        for code in codes:
            assert CatalogueService(session).get(code).code == code
    assert len(facts._kept) == 3

