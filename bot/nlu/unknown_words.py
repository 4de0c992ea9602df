"""``UnknownWordsFallback``: ``nlu_fallback`` for messages made mostly of words never seen in training."""

from __future__ import annotations

from typing import Any, Dict, List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.state import JsonStateComponent
from bot.nlu.tokenizer import EMPTY_PLACEHOLDER
from bot.text.normalize import fold


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class UnknownWordsFallback(JsonStateComponent):
    """Predicts ``nlu_fallback`` when most words of a message were never seen in training.

    DIET's softmax is confident even on gibberish ("qwzx vbnm plok") or emoji; a message
    whose folded syllables are mostly unknown to the training data (catalogue synonyms
    included) is not understood, whatever the classifier says. Structured entities
    (a dossier code, a phone number) always count as understood.
    """

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Minimum share of known syllables."""
        return {"min_known_ratio": 0.5}

    STATE_FILE = "vocabulary.json"

    def set_state(self, state: Any) -> None:
        """The set of known folded syllables."""
        self.vocabulary = set(state or [])

    @staticmethod
    def _syllables(message: Message) -> List[str]:
        tokens = message.get(TOKENS_NAMES[TEXT]) or []
        return [syl for t in tokens for syl in t.lemma.split()]

    def train(self, training_data: TrainingData) -> Resource:
        """Collect the folded syllables of every training example and synonym."""
        vocabulary = set()
        for example in training_data.training_examples:
            vocabulary.update(self._syllables(example))
        for raw in training_data.entity_synonyms:
            vocabulary.update(fold(raw.lower()).split())
        self.set_state(vocabulary)
        return self._persist(sorted(vocabulary))

    def process(self, messages: List[Message]) -> List[Message]:
        """Override the intent of messages made of unknown words."""
        for message in messages:
            syllables = self._syllables(message)
            if not syllables or not self.vocabulary or message.get(TEXT, "").startswith("/"):
                continue
            if any(s.startswith("__") and s != EMPTY_PLACEHOLDER for s in syllables):
                continue  # a dossier code, phone or URL: there is something to act on
            known = sum(1 for s in syllables if s in self.vocabulary or s.isdigit())
            ratio = known / len(syllables)
            if ratio >= self._config["min_known_ratio"]:
                continue
            intent = {"name": "nlu_fallback", "confidence": round(1.0 - ratio, 4)}
            ranking = [intent] + [r for r in message.get("intent_ranking") or [] if r.get("name") != "nlu_fallback"]
            message.set("intent", intent, add_to_output=True)
            message.set("intent_ranking", ranking, add_to_output=True)
        return messages
