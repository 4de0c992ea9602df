"""Rasa-side: an event's class found by its type name from a table, not a walk of every subclass.

Rasa 3.6's ``Event.resolve_by_type`` lists every subclass of ``Event`` (recursively, checking
each for abstractness) for every event it turns from a dict into an object: each event of the
tracker loaded at every turn and each event an action returns. :func:`install` replaces it with
a lookup in a table of the same subclasses, in the same order (the first class with a name
wins, as in Rasa's loop); a name not in the table rebuilds the table once, so a subclass
imported later is still found. Unknown names behave as in Rasa (``topic`` gives None, then the
default, else ``ValueError``).
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Type

_table: Dict[str, Type[Any]] = {}
_original: Dict[str, Any] = {}


def _rebuild() -> None:
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses

    table: Dict[str, Type[Any]] = {}
    for cls in all_subclasses(Event):
        table.setdefault(cls.type_name, cls)
    _table.clear()
    _table.update(table)


def resolve_by_type(type_name: str, default: Optional[Type[Any]] = None) -> Optional[Type[Any]]:
    """``Event.resolve_by_type`` from the table."""
    found = _table.get(type_name)
    if found is None:
        _rebuild()
        found = _table.get(type_name)
    if found is not None:
        return found
    if type_name == "topic":
        return None  # Rasa's backwards compatibility for old TopicSet events
    if default is not None:
        return default
    raise ValueError(f"Unknown event name '{type_name}'.")


def install() -> None:
    """Make ``Event.resolve_by_type`` use the table (idempotent)."""
    from rasa.shared.core.events import Event

    if "resolve_by_type" not in _original:
        _original["resolve_by_type"] = Event.__dict__["resolve_by_type"]
    Event.resolve_by_type = staticmethod(resolve_by_type)  # type: ignore[method-assign]


def uninstall() -> None:
    """Give Rasa its own ``resolve_by_type`` back (tests)."""
    from rasa.shared.core.events import Event

    if "resolve_by_type" in _original:
        Event.resolve_by_type = _original.pop("resolve_by_type")  # type: ignore[method-assign]
