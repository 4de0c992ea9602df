"""Action tests: rasa-sdk actions run with a tracker fixture and a CollectingDispatcher on a real database."""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, Iterator, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.catalogue.importer import import_catalogue
from bot.catalogue.units import import_units
from bot.db.session import get_engine, session_scope, upgrade
from bot.dossiers.demo import demo_dossiers
from bot.dossiers.service import upsert_dossier
from bot.settings import ROOT, get_settings
from tests.conftest import reset_caches

TODAY = dt.date(2026, 3, 12)
RECORD = demo_dossiers(TODAY)[0]  # phone ends in 5678
CODE = RECORD.code


@pytest.fixture
def dossier_db(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A migrated database (SQLite and PostgreSQL) holding the first demo dossier."""
    monkeypatch.setenv("ONESTOP_SOURCE", "db")
    reset_caches()
    with session_scope(db_url) as session:
        upsert_dossier(session, RECORD)
    return db_url


def tracker(sender_id: str, slots: Optional[Dict[str, Any]] = None, text: str = "",
            intent: str = "check_status", input_channel: Optional[str] = "rest",
            requested_slot: Optional[str] = None) -> Tracker:
    """A tracker of ``sender_id`` whose latest message is ``text``."""
    message = {"text": text, "intent": {"name": intent, "confidence": 1.0}, "entities": []}
    events = [{"event": "user", "text": text, "input_channel": input_channel, "parse_data": message}]
    all_slots = {"requested_slot": requested_slot, **(slots or {})}
    loop = {"name": "dossier_form"} if requested_slot else {}
    return Tracker(sender_id, all_slots, message, events, False, None, loop, "action_listen")


async def run(action: Any, trk: Tracker, domain: Optional[Dict[str, Any]] = None) -> tuple:
    """Run ``action``; returns (events, response names uttered, messages)."""
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, trk, domain or {"responses": {}})
    names: List[Optional[str]] = [m.get("response") for m in dispatcher.messages]
    return events, names, dispatcher.messages


@pytest.fixture(scope="session")
def domain() -> Dict[str, Any]:
    """The responses of the real domain (``domain/*.yml``)."""
    import yaml

    from bot.settings import ROOT

    responses: Dict[str, Any] = {}
    for path in sorted((ROOT / "domain").glob("*.yml")):
        responses.update(yaml.safe_load(path.read_text("utf-8")).get("responses") or {})
    return {"responses": responses}


@pytest.fixture
def catalogue_db(db_url: str) -> str:
    """A migrated database (SQLite and PostgreSQL) with the real catalogue and units."""
    from bot.catalogue.importer import import_catalogue
    from bot.catalogue.units import import_units
    from bot.settings import ROOT

    with session_scope(db_url) as session:
        import_catalogue(session, ROOT / "data" / "procedures.json")
        import_units(session, ROOT / "data" / "province.json")
    return db_url


@pytest.fixture(scope="session")
def national_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A SQLite database with the national snapshot, the curated catalogue and the units."""
    url = f"sqlite:///{tmp_path_factory.mktemp('national') / 'national.db'}"
    upgrade(url)
    with session_scope(url) as session:
        import_catalogue(session, ROOT / "data" / "national" / "procedures.json.gz")
        import_catalogue(session, ROOT / "data" / "procedures.json")
        import_units(session, ROOT / "data" / "province.json")
    yield url
    get_engine(url).dispose()


@pytest.fixture
def national(national_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The national database as the actions' database."""
    monkeypatch.setenv("DATABASE_URL", national_db)
    get_settings.cache_clear()
    yield national_db
    get_settings.cache_clear()
