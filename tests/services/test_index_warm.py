"""The procedure search index is built when the action server starts (``bot.cli serve`` sets
``WARM_SEARCH_INDEX``), in the background; off by default; a database that is down is logged."""

from __future__ import annotations

import logging

import pytest

from bot.catalogue import index as index_module
from bot.catalogue.index import warm_in_background
from bot.catalogue.version import database_key
from bot.db.session import session_scope
from bot.settings import get_settings


@pytest.fixture
def warm(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("WARM_SEARCH_INDEX", "1")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_the_index_is_built_at_start_when_asked(seeded_url: str, warm, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", seeded_url)
    get_settings.cache_clear()
    with session_scope(seeded_url) as session:
        key = database_key(session)
    index_module._indexes.pop(key, None)
    thread = warm_in_background()
    assert thread is not None and thread.daemon
    thread.join(timeout=300)
    assert not thread.is_alive() and key in index_module._indexes
    assert len(index_module._indexes[key][1]) >= 58


def test_no_warm_up_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WARM_SEARCH_INDEX", raising=False)
    get_settings.cache_clear()
    assert warm_in_background() is None


def test_a_database_that_is_down_is_logged_not_raised(warm, monkeypatch: pytest.MonkeyPatch,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    get_settings.cache_clear()
    with caplog.at_level(logging.WARNING, logger="bot.catalogue.index"):
        thread = warm_in_background()
        assert thread is not None
        thread.join(timeout=60)
    assert not thread.is_alive()
    assert "not built at start" in caplog.text and "nobody" not in caplog.text
