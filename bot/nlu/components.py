"""Rasa graph components for Vietnamese: normaliser, tokenizer, entity extractors.

Pipeline order (see ``config.yml``)::

    VietnameseNormalizer -> VietnameseTokenizer -> featurizers -> DIET
      -> StructuredEntityExtractor -> FoldedSynonymMapper -> FallbackClassifier
"""

from __future__ import annotations

import difflib
import logging
import re
from typing import Any, Dict, List, Optional, Tuple

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu import patterns
from bot.nlu.segmenter import segment
from bot.nlu.state import JsonStateComponent
from bot.nlu.text import clean, expand_teen_code, fold

logger = logging.getLogger(__name__)

DOSSIER_PLACEHOLDER = "__ma_ho_so__"
PHONE_PLACEHOLDER = "__so_dien_thoai__"
URL_PLACEHOLDER = "__duong_dan__"
EMPTY_PLACEHOLDER = "__trong__"
_URL_RE = re.compile(r"(?:https?://|www\.)\S+|[\w.+-]+@[\w-]+\.[\w.]+", re.IGNORECASE)
_WORD_RE = re.compile(r"\w+", re.UNICODE)


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
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "VietnameseNormalizer":
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


def _protected_spans(text: str) -> List[Tuple[int, int, str, str]]:
    """Spans that must stay one token: (start, end, placeholder, kind)."""
    spans = [(m.start, m.end, DOSSIER_PLACEHOLDER, "code") for m in patterns.find_dossier_codes(text)]
    spans += [(m.start, m.end, PHONE_PLACEHOLDER, "phone") for m in patterns.find_phones(text)]
    spans += [(m.start(), m.end(), URL_PLACEHOLDER, "url") for m in _URL_RE.finditer(text)]
    spans.sort()
    out: List[Tuple[int, int, str, str]] = []
    for span in spans:
        if out and span[0] < out[-1][1]:
            continue
        out.append(span)
    return out


def _number_lemma(word: str) -> Optional[str]:
    if word.isdigit():
        return f"__so{min(len(word), 6)}__"
    return None


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class VietnameseTokenizer(Tokenizer):
    """Tokenizer on underthesea word segmentation with offsets into the original text.

    Each token's ``text`` is the normalised word (lower case, teen-code expanded,
    syllables joined with ``_``); its ``lemma`` is the same word with diacritics
    folded and syllables separated by spaces, so a CountVectorsFeaturizer with
    ``use_lemma: true`` sees "đăng ký" and "dang ky" alike. Dossier codes, phone
    numbers and URLs become single placeholder tokens.
    """

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Default config."""
        return {
            "intent_tokenization_flag": False,
            "intent_split_symbol": "_",
            "token_pattern": None,
            "prefix_separator_symbol": None,
            "use_underthesea": True,
            "fold_lexicon": True,
            "fold_lemma": True,
            "teen_code": True,
        }

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "VietnameseTokenizer":
        """Creates the component."""
        return cls(config)

    def _run_tokens(self, text: str, start: int, end: int) -> List[Token]:
        """Tokens for a stretch of ordinary words between protected spans."""
        raw = [(m.start() + start, m.end() + start, m.group(0).lower()) for m in _WORD_RE.finditer(text[start:end])]
        if not raw:
            return []
        words = [w for _, _, w in raw]
        expanded = expand_teen_code(words) if self._config["teen_code"] else words
        syllables: List[str] = []
        owner: List[int] = []  # index of the raw word each syllable came from
        for idx, phrase in enumerate(expanded):
            for syl in phrase.split():
                syllables.append(syl)
                owner.append(idx)
        groups = segment(syllables, self._config["use_underthesea"], self._config["fold_lexicon"])
        # Never split one typed word (e.g. "dk" -> "đăng ký") across two tokens.
        merged: List[List[int]] = []
        for g_start, g_end in groups:
            if merged and owner[g_start] == owner[merged[-1][1] - 1]:
                merged[-1][1] = g_end
            else:
                merged.append([g_start, g_end])
        tokens = []
        for g_start, g_end in merged:
            first, last = raw[owner[g_start]], raw[owner[g_end - 1]]
            sylls = syllables[g_start:g_end]
            word = "_".join(sylls)
            lemma = _number_lemma(word) or (fold(" ".join(sylls)) if self._config["fold_lemma"] else word)
            tokens.append(Token(word, first[0], last[1], lemma=lemma))
        return tokens

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Tokenize training data, splitting words that straddle an annotated entity edge.

        The segmenter may join a verb with the first syllable of a procedure name
        ("làm giấy" + "khai sinh"); for training, tokens are cut at entity
        boundaries so DIET learns aligned spans.
        """
        training_data = super().process_training_data(training_data)
        for example in training_data.training_examples:
            entities = example.get(ENTITIES) or []
            tokens = example.get(TOKENS_NAMES[TEXT])
            if not entities or not tokens:
                continue
            edges = sorted({e["start"] for e in entities} | {e["end"] for e in entities})
            example.set(TOKENS_NAMES[TEXT], self._split_at(example.get(TEXT), tokens, edges))
        return training_data

    def _split_at(self, text: str, tokens: List[Token], edges: List[int]) -> List[Token]:
        out: List[Token] = []
        for token in tokens:
            cuts = [e for e in edges if token.start < e < token.end]
            if not cuts or token.text.startswith("__"):
                out.append(token)
                continue
            bounds = [token.start, *cuts, token.end]
            for a, b in zip(bounds, bounds[1:]):
                out.extend(self._run_tokens(text, a, b))
        return out

    def tokenize(self, message: Message, attribute: str) -> List[Token]:
        """Tokenize ``message``'s ``attribute`` text."""
        text = message.get(attribute) or ""
        tokens: List[Token] = []
        cursor = 0
        for start, end, placeholder, _ in _protected_spans(text):
            tokens += self._run_tokens(text, cursor, start)
            tokens.append(Token(placeholder, start, end, lemma=placeholder))
            cursor = end
        tokens += self._run_tokens(text, cursor, len(text))
        if not tokens:  # empty, emoji-only or punctuation-only message
            tokens = [Token(EMPTY_PLACEHOLDER, 0, max(len(text), 1), lemma=EMPTY_PLACEHOLDER)]
        return self._apply_token_pattern(tokens)


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
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "StructuredEntityExtractor":
        """Creates the component."""
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        """Add regex entities, drop conflicting learned ones."""
        for message in messages:
            text = message.get(TEXT) or ""
            found = [("dossier_code", m) for m in patterns.find_dossier_codes(text)]
            found += [("phone", m) for m in patterns.find_phones(text)]
            kept = []
            for ent in message.get(ENTITIES, []):
                if ent.get("entity") in {"dossier_code", "phone"}:
                    continue
                if any(m.start < ent["end"] and ent["start"] < m.end for _, m in found):
                    continue
                if ent.get("entity") == "phone_last4":
                    digits = patterns.ascii_digits(re.sub(r"\D", "", str(ent.get("value", ""))))
                    if len(digits) != 4:
                        continue
                    ent["value"] = digits
                kept.append(ent)
            last4 = patterns.find_last4_match(text)
            if last4 and not any(e.get("entity") == "phone_last4" for e in kept):
                found.append(("phone_last4", last4))
            new = [
                {"entity": kind, "start": m.start, "end": m.end, "value": m.value, "confidence_entity": 1.0}
                for kind, m in found
            ]
            message.set(ENTITIES, kept + self.add_extractor_name(new), add_to_output=True)
        return messages


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
        words = _WORD_RE.findall(clean(value).lower())
        return fold(" ".join(expand_teen_code(words)))

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
