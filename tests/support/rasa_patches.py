"""Everything ``integrations.rasa_process.install`` patches in Rasa, put back after a test."""

from __future__ import annotations

from typing import Any, List, Tuple

import pytest


def patched_attributes() -> List[Tuple[Any, str]]:
    """(owner, attribute) of every Rasa attribute the Rasa-process adjustments replace."""
    import importlib

    import rasa.core.run
    from rasa.core import agent, processor
    from rasa.core.actions.action import RemoteAction
    from rasa.core.actions.forms import FormAction
    from rasa.core.policies.rule_policy import RulePolicy
    from rasa.shared.core.events import Event
    from rasa.shared.core.slots import Slot
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.shared.nlu.training_data.message import Message
    from rasa.utils.endpoints import EndpointConfig
    from rasa.utils.tensorflow.models import RasaModel

    from integrations import log_copies

    return [(RemoteAction, "_validate_action_result"), (agent, "load_from_server"), (processor, "DaskGraphRunner"),
            (EndpointConfig, "session"), (rasa.core.run, "close_resources"), (RemoteAction, "_action_call_format"),
            (DialogueStateTracker, "past_states"), (DialogueStateTracker, "applied_events"),
            (DialogueStateTracker, "copy"), (Event, "resolve_by_type"),
            (RulePolicy, "_get_possible_keys"), (RasaModel, "_rasa_predict"),
            (Message, "_combine_features"), (FormAction, "_temporary_tracker"), (Slot, "__copy__"),
            (agent.Agent, "handle_message"), (EndpointConfig, "request")] + [
        (importlib.import_module(name), "copy") for name in log_copies.MODULES]


def keep_rasa_as_is(monkeypatch: pytest.MonkeyPatch) -> None:
    """Have ``monkeypatch`` restore every patched attribute when the test ends (an attribute that
    Rasa's class does not have, such as ``Slot.__copy__``, is removed again)."""
    for owner, name in patched_attributes():
        if isinstance(owner, type) and name not in owner.__dict__:
            monkeypatch.setattr(owner, name, None, raising=False)  # undone by deleting it
            monkeypatch.delattr(owner, name)
        else:
            monkeypatch.setattr(owner, name, owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name))
