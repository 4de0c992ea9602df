"""``VietnameseTokenizer``: underthesea word segmentation with offsets into the original text."""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Tuple

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.text.codes import find_dossier_codes
from bot.text.normalize import expand_teen_code, fold
from bot.text.phone import find_phones
from bot.text.segmenter import segment

DOSSIER_PLACEHOLDER = "__ma_ho_so__"
PHONE_PLACEHOLDER = "__so_dien_thoai__"
URL_PLACEHOLDER = "__duong_dan__"
EMPTY_PLACEHOLDER = "__trong__"
_URL_RE = re.compile(r"(?:https?://|www\.)\S+|[\w.+-]+@[\w-]+\.[\w.]+", re.IGNORECASE)
_WORD_RE = re.compile(r"\w+", re.UNICODE)


def _protected_spans(text: str) -> List[Tuple[int, int, str, str]]:
    """Spans that must stay one token: (start, end, placeholder, kind)."""
    spans = [(m.start, m.end, DOSSIER_PLACEHOLDER, "code") for m in find_dossier_codes(text)]
    spans += [(m.start, m.end, PHONE_PLACEHOLDER, "phone") for m in find_phones(text)]
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
    def create(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "VietnameseTokenizer":
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
