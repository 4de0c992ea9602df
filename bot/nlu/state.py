"""Base of the Rasa graph components whose trained state is one JSON file in the model."""

from __future__ import annotations

from typing import Any, Dict

import rasa.shared.utils.io
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage


class JsonStateComponent(GraphComponent):
    """A trained component whose whole state is one JSON file in the model (``STATE_FILE``)."""

    STATE_FILE = "state.json"

    def __init__(self, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
                 state: Any = None) -> None:
        self._config = config
        self._storage = model_storage
        self._resource = resource
        self.set_state(state)

    def set_state(self, state: Any) -> None:
        """Adopt a loaded (or freshly trained) state; None when untrained."""
        raise NotImplementedError

    @classmethod
    def create(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> Any:
        """Creates an untrained component."""
        return cls(config, model_storage, resource)

    @classmethod
    def load(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> Any:
        """Loads the persisted state (an untrained component if there is none)."""
        try:
            with model_storage.read_from(resource) as directory:
                state = rasa.shared.utils.io.read_json_file(directory / cls.STATE_FILE)
        except (ValueError, FileNotFoundError):
            state = None
        return cls(config, model_storage, resource, state)

    def _persist(self, state: Any) -> Resource:
        with self._storage.write_to(self._resource) as directory:
            rasa.shared.utils.io.dump_obj_as_json_to_file(directory / self.STATE_FILE, state)
        return self._resource
