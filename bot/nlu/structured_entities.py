"""``StructuredEntityExtractor``: ``dossier_code``, ``phone`` and ``phone_last4`` by the one parser."""

from __future__ import annotations

import re
from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.text.codes import ascii_digits, find_dossier_codes
from bot.text.phone import find_last4_match, find_phones


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class StructuredEntityExtractor(GraphComponent, EntityExtractorMixin):
    """Regex extraction of ``dossier_code`` and ``phone`` with canonical values.

    Runs after DIET and replaces whatever DIET guessed for these entity types, so
    their precision is that of the official pattern. ``phone_last4`` values from
    DIET are kept only when they are exactly four digits.
    """

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Default config."""
        return {}

    @classmethod
    def create(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "StructuredEntityExtractor":
        """Creates the component."""
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        """Add regex entities, drop conflicting learned ones."""
        for message in messages:
            text = message.get(TEXT) or ""
            found = [("dossier_code", m) for m in find_dossier_codes(text)]
            found += [("phone", m) for m in find_phones(text)]
            kept = []
            for ent in message.get(ENTITIES, []):
                if ent.get("entity") in {"dossier_code", "phone"}:
                    continue
                if any(m.start < ent["end"] and ent["start"] < m.end for _, m in found):
                    continue
                if ent.get("entity") == "phone_last4":
                    digits = ascii_digits(re.sub(r"\D", "", str(ent.get("value", ""))))
                    if len(digits) != 4:
                        continue
                    ent["value"] = digits
                kept.append(ent)
            last4 = find_last4_match(text)
            if last4 and not any(e.get("entity") == "phone_last4" for e in kept):
                found.append(("phone_last4", last4))
            new = [
                {"entity": kind, "start": m.start, "end": m.end, "value": m.value, "confidence_entity": 1.0}
                for kind, m in found
            ]
            message.set(ENTITIES, kept + self.add_extractor_name(new), add_to_output=True)
        return messages
