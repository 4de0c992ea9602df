"""``FoldedSynonymMapper``: entity values to canonical catalogue values, insensitive to diacritics."""

from __future__ import annotations

import difflib
from typing import Any, Dict, List, Optional

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.state import JsonStateComponent
from bot.text.normalize import folded_words


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class FoldedSynonymMapper(JsonStateComponent, EntityExtractorMixin):
    """Maps entity values to canonical values, insensitive to diacritics and typos.

    Synonyms come from the training data (``synonym:`` blocks, generated from the
    catalogue into ``nlu_data/lookups/``). Keys are folded and teen-code expanded;
    when no key matches exactly, the closest key above ``cutoff`` is used.
    """

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Default config: fuzzy cutoff and entity types to map."""
        return {"cutoff": 0.86, "entities": ["procedure", "field", "place"]}

    STATE_FILE = "synonyms.json"

    def set_state(self, state: Any) -> None:
        """The folded synonym table."""
        self.synonyms: Dict[str, str] = dict(state or {})

    @staticmethod
    def key(value: str) -> str:
        """Lookup key of a value: cleaned, lower-case, teen-code expanded, folded."""
        return " ".join(folded_words(value))

    def train(self, training_data: TrainingData) -> Resource:
        """Builds the folded synonym table from the training data."""
        table: Dict[str, str] = {}
        for raw, canonical in training_data.entity_synonyms.items():
            table[self.key(raw)] = canonical
            table[self.key(canonical)] = canonical
        self.set_state(table)
        return self._persist(table)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Nothing to do on training data."""
        return training_data

    def lookup(self, value: str) -> Optional[str]:
        """Canonical value for ``value`` or None."""
        key = self.key(value)
        if key in self.synonyms:
            return self.synonyms[key]
        if self._config["cutoff"] >= 1.0:
            return None
        close = difflib.get_close_matches(key, self.synonyms.keys(), n=1, cutoff=self._config["cutoff"])
        return self.synonyms[close[0]] if close else None

    def process(self, messages: List[Message]) -> List[Message]:
        """Replace entity values by their canonical synonym."""
        wanted = set(self._config["entities"])
        for message in messages:
            entities = message.get(ENTITIES, [])
            for ent in entities:
                if ent.get("entity") not in wanted or not isinstance(ent.get("value"), str):
                    continue
                canonical = self.lookup(ent["value"])
                if canonical and canonical != ent["value"]:
                    ent["value"] = canonical
                    self.add_processor_name(ent)
            message.set(ENTITIES, entities, add_to_output=True)
        return messages
