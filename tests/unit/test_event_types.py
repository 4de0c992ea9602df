"""Event classes found from a table (issue 15) are the ones Rasa's own walk finds."""

from __future__ import annotations

from typing import Iterator

import pytest
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, UserUttered, deserialise_events
from rasa.shared.utils.common import all_subclasses

from integrations import event_types
from integrations.rasa_process import install as install_all
from tests.support.rasa_patches import keep_rasa_as_is


@pytest.fixture
def installed() -> Iterator[None]:
    original = Event.__dict__["resolve_by_type"]
    event_types.install()
    yield
    event_types.uninstall()
    assert Event.__dict__["resolve_by_type"] is original


def test_every_event_name_gives_rasas_class(installed: None) -> None:
    names = {cls.type_name for cls in all_subclasses(Event)}
    assert {"user", "bot", "action", "slot", "active_loop", "session_started"} <= names
    for name in names:
        assert Event.resolve_by_type(name) is event_types._original["resolve_by_type"].__func__(name)


def test_unknown_names_behave_as_in_rasa(installed: None) -> None:
    assert Event.resolve_by_type("topic") is None
    assert Event.resolve_by_type("no_such_event", default=BotUttered) is BotUttered
    with pytest.raises(ValueError, match="Unknown event name 'no_such_event'"):
        Event.resolve_by_type("no_such_event")


def test_a_subclass_defined_later_is_found(installed: None) -> None:
    Event.resolve_by_type("user")  # table built

    class Later(Event):
        type_name = "later_event_for_test"

        def as_story_string(self) -> None:
            return None

        def __eq__(self, other: object) -> bool:
            return isinstance(other, Later)

        __hash__ = Event.__hash__

    assert Event.resolve_by_type("later_event_for_test") is Later
    assert event_types._original["resolve_by_type"].__func__("later_event_for_test") is Later


def test_events_read_back_the_same(installed: None) -> None:
    events = [UserUttered("xin chào", {"name": "greet", "confidence": 1.0}, timestamp=1.0),
              ActionExecuted("utter_greet", timestamp=2.0), BotUttered("Chào bạn", timestamp=3.0)]
    assert deserialise_events([e.as_dict() for e in events]) == events


def test_the_rasa_process_installs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    keep_rasa_as_is(monkeypatch)
    install_all()
    assert Event.__dict__["resolve_by_type"].__func__ is event_types.resolve_by_type
