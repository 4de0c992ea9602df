"""Rasa-side: check action server responses with a JSON-schema validator compiled once.

Rasa 3.6's ``RemoteAction._validate_action_result`` calls ``jsonschema.validate`` on every
action response. With Rasa's pinned jsonschema 4.17 that call first checks the schema itself
against its meta-schema and builds a new validator (resolving every ``$ref`` of Rasa's
events schema again): a quarter of the Rasa server's busy time under load (docs/profile.md).
:func:`install` replaces the method with one that validates against the same schema
(``RemoteAction.action_response_format_spec()``) with a validator built and checked once,
and raises the same ``ValidationError`` with the same message when a response is malformed.

A well-formed response takes a shorter path first (:func:`plainly_valid`): Rasa's event schema
is a ``oneOf`` over 23 event kinds, each fixing ``event`` to its own constant, so an event is
valid exactly when it is valid against the one kind its ``event`` names (with the common
properties); checking that one kind instead of all 23 gives the same verdict. Anything it does
not pass goes through the full validator, which decides and words the error.
"""

from __future__ import annotations

import functools
from typing import Any, Dict, Optional, Tuple

from jsonschema import ValidationError, validators
from jsonschema.exceptions import best_match

DOCS_HINT = (". Failed to validate Action server response from API, make sure your response from the "
             "Action endpoint is valid. For more information about the format visit {docs}/custom-actions")


@functools.cache
def action_response_validator() -> Any:
    """The validator of Rasa's action response schema, its schema checked once."""
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


@functools.cache
def event_kind_validators() -> Optional[Tuple[Any, Dict[str, Any]]]:
    """A validator of the response with ``events`` only an array, and one per event kind.

    None when the schema is not a ``oneOf`` of kinds with distinct ``event`` constants (a
    different Rasa): then only the full validator is used.
    """
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    try:
        events = schema["properties"]["events"]
        item = events["items"]
        common = {key: value for key, value in item.items() if key != "oneOf"}
        consts = [kind["properties"]["event"]["const"] for kind in item["oneOf"]]
    except (KeyError, TypeError):
        return None
    if len(set(consts)) != len(consts) or common.get("required") != ["event"]:
        return None
    cls = validators.validator_for(schema)
    outer = {**schema, "properties": {**schema["properties"],
                                      "events": {k: v for k, v in events.items() if k != "items"}}}
    by_kind = {const: cls({"allOf": [common, kind]}) for const, kind in zip(consts, item["oneOf"])}
    return cls(outer), by_kind


def plainly_valid(result: Any) -> bool:
    """True only for a response the full validator accepts (False: let it decide)."""
    compiled = event_kind_validators()
    if compiled is None or not compiled[0].is_valid(result):
        return False
    for event in result.get("events") or []:
        kind = event.get("event") if isinstance(event, dict) else None
        validator = compiled[1].get(kind) if isinstance(kind, str) else None
        if validator is None or not validator.is_valid(event):
            return False
    return True


def validate_action_result(_action: Any, result: Dict[str, Any]) -> bool:
    """``RemoteAction._validate_action_result`` with the compiled validator (same errors)."""
    from rasa.shared.constants import DOCS_BASE_URL

    if plainly_valid(result):
        return True
    error = best_match(action_response_validator().iter_errors(result))
    if error is None:
        return True
    error.message += DOCS_HINT.format(docs=DOCS_BASE_URL)
    raise error


def install() -> None:
    """Make Rasa's ``RemoteAction`` use :func:`validate_action_result` (idempotent)."""
    from rasa.core.actions.action import RemoteAction

    event_kind_validators()
    action_response_validator()  # fail at start-up, not at the first message, if the schema is bad
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]


__all__ = ["ValidationError", "install", "validate_action_result"]
