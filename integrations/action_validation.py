"""Rasa-side: check action server responses with a JSON-schema validator compiled once.

Rasa 3.6's ``RemoteAction._validate_action_result`` calls ``jsonschema.validate`` on every
action response. With Rasa's pinned jsonschema 4.17 that call first checks the schema itself
against its meta-schema and builds a new validator (resolving every ``$ref`` of Rasa's
events schema again): a quarter of the Rasa server's busy time under load (docs/profile.md).
:func:`install` replaces the method with one that validates against the same schema
(``RemoteAction.action_response_format_spec()``) with a validator built and checked once,
and raises the same ``ValidationError`` with the same message when a response is malformed.
"""

from __future__ import annotations

import functools
from typing import Any, Dict

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


def validate_action_result(_action: Any, result: Dict[str, Any]) -> bool:
    """``RemoteAction._validate_action_result`` with the compiled validator (same errors)."""
    from rasa.shared.constants import DOCS_BASE_URL

    error = best_match(action_response_validator().iter_errors(result))
    if error is None:
        return True
    error.message += DOCS_HINT.format(docs=DOCS_BASE_URL)
    raise error


def install() -> None:
    """Make Rasa's ``RemoteAction`` use :func:`validate_action_result` (idempotent)."""
    from rasa.core.actions.action import RemoteAction

    action_response_validator()  # fail at start-up, not at the first message, if the schema is bad
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]


__all__ = ["ValidationError", "install", "validate_action_result"]
