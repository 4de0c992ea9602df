"""``VietnameseNormalizer``: the first pipeline step, clean NFC text with standard tone placement.

Pipeline order (see ``config.yml``)::

    VietnameseNormalizer -> VietnameseTokenizer -> featurizers -> DIET
      -> StructuredEntityExtractor -> FoldedSynonymMapper -> UnknownWordsFallback -> FallbackClassifier
"""

from __future__ import annotations

from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.text.normalize import clean


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class VietnameseNormalizer(GraphComponent):
    """Rewrites the message text to clean NFC with standard tone placement.

    At inference the text is also stripped of control characters and truncated to
    ``max_chars``. Training examples are rewritten only when that keeps their
    length, so annotated entity offsets stay valid.
    """

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Default config: maximum characters kept from one message."""
        return {"max_chars": 1000}

    def __init__(self, config: Dict[str, Any]) -> None:
        self.max_chars = int(config.get("max_chars", 1000))

    @classmethod
    def create(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "VietnameseNormalizer":
        """Creates the component."""
        return cls(config)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Normalise training texts in place when their length is unchanged."""
        for example in training_data.training_examples:
            text = example.get(TEXT)
            if not text:
                continue
            cleaned = clean(text)
            if cleaned != text and len(cleaned) == len(text):
                example.set(TEXT, cleaned)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        """Normalise incoming messages."""
        for message in messages:
            text = message.get(TEXT)
            if text is None:
                continue
            message.set(TEXT, clean(str(text), self.max_chars))
        return messages
