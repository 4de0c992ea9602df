"""Import of the training data from Rasa YAML (``nlu_data/nlu/*.yml``), replacing what is stored.

Developers keep the YAML in git; ``python -m bot.training import`` loads it into the database,
``python -m bot.training export`` writes it back (:mod:`bot.training.export`). Example texts and
their annotations are kept exactly as written. Comment lines above ``version:`` are kept as the
file's header; other comments cannot be kept and are reported.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import yaml
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bot.db.models_training_data import (
    NluInboxItem,
    TrainingExample,
    TrainingFile,
    TrainingIntent,
    TrainingSynonym,
)
from bot.staff.audit import record
from bot.training.annotations import Contract, ExampleError, contract, folded_key, normalize_example
from bot.training.export import content_hash, render_files
from bot.training.state import mark_changed

logger = logging.getLogger(__name__)

BLOCK_KEYS = {"intent": {"intent", "examples"}, "synonym": {"synonym", "examples"}}


class TrainingImportError(ValueError):
    """The YAML cannot be imported without losing something (message names the file)."""


@dataclass
class ParsedFile:
    """One YAML file: its header and its intent / synonym blocks, in order."""

    name: str
    header: str
    intents: List[Tuple[str, List[str]]] = field(default_factory=list)
    synonyms: List[Tuple[str, List[str]]] = field(default_factory=list)
    lost_comments: int = 0


@dataclass(frozen=True)
class ImportStats:
    """What an import stored."""

    files: int
    intents: int
    examples: int
    synonyms: int
    changed: bool
    warnings: Tuple[str, ...]


def _examples(name: str, block: object) -> List[str]:
    if not isinstance(block, str):
        raise TrainingImportError(f"{name}: 'examples' phải là khối văn bản '|'")
    out = []
    for line in block.splitlines():
        if not line.strip():
            continue
        if not line.startswith("-"):
            raise TrainingImportError(f"{name}: dòng ví dụ không bắt đầu bằng '-': {line[:60]}")
        out.append(line[1:].strip(" \n\r"))
    return out


def parse_file(name: str, text: str) -> ParsedFile:
    """Parse one NLU YAML file.

    Raises:
        TrainingImportError: not an NLU file of version 3.1, or it holds data the store cannot keep
            (regexes, lookups, example metadata).
    """
    lines = text.splitlines()
    head: List[str] = []
    for line in lines:
        if line.startswith("#") or (not line.strip() and head):
            head.append(line)
        else:
            break
    while head and not head[-1].strip():
        head.pop()
    in_examples = False
    lost = 0
    for line in lines[len(head):]:
        stripped = line.strip()
        if stripped.startswith("examples:"):
            in_examples = True
        elif line and not line.startswith(" "):
            in_examples = False
        if stripped.startswith("#") and not (in_examples and stripped.startswith("- ")):
            lost += 1
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise TrainingImportError(f"{name}: YAML không hợp lệ ({str(exc)[:120]})") from None
    if not isinstance(data, dict) or str(data.get("version")) != "3.1" or set(data) - {"version", "nlu"}:
        raise TrainingImportError(f"{name}: cần đúng hai khóa 'version: \"3.1\"' và 'nlu'")
    parsed = ParsedFile(name, "\n".join(head), lost_comments=lost)
    for item in data.get("nlu") or []:
        kind = next((k for k in BLOCK_KEYS if isinstance(item, dict) and k in item), None)
        if kind is None or set(item) - BLOCK_KEYS[kind]:
            keys = sorted(item) if isinstance(item, dict) else item
            raise TrainingImportError(f"{name}: mục không hỗ trợ (chỉ intent/synonym với examples): {keys}")
        target = parsed.intents if kind == "intent" else parsed.synonyms
        target.append((str(item[kind]), _examples(name, item.get("examples", ""))))
    return parsed


def read_directory(directory: Path) -> List[ParsedFile]:
    """Every ``*.yml`` of ``directory`` parsed, in name order."""
    return [parse_file(path.name, path.read_text(encoding="utf-8")) for path in sorted(Path(directory).glob("*.yml"))]


def _check(files: List[ParsedFile], terms: Contract) -> List[str]:
    seen: Dict[str, str] = {}
    warnings = []
    for parsed in files:
        if parsed.lost_comments:
            warnings.append(f"{parsed.name}: {parsed.lost_comments} dòng chú thích ngoài phần đầu tệp sẽ mất khi xuất")
        for intent, examples in parsed.intents:
            if intent not in terms.intents:
                raise TrainingImportError(f"{parsed.name}: ý định '{intent}' không có trong domain")
            if intent in seen:
                raise TrainingImportError(f"{parsed.name}: ý định '{intent}' đã có trong {seen[intent]}")
            seen[intent] = parsed.name
            for text in examples:
                try:
                    normalize_example(text, terms.entities, exact=True)
                except ExampleError as exc:
                    raise TrainingImportError(f"{parsed.name} ({intent}): {exc} — {text[:80]}") from None
    return warnings


def import_nlu(session: Session, directory: Path, actor: str, terms: Optional[Contract] = None) -> ImportStats:
    """Replace the stored training data with the YAML files of ``directory`` (audited).

    Intents of the domain keep their rows (an intent missing from the files keeps no examples);
    inbox items lose their link to the examples they made.

    Raises:
        TrainingImportError: see :func:`parse_file`; an intent outside the domain; a bad example.
    """
    terms = terms or contract()
    files = read_directory(directory)
    warnings = _check(files, terms)
    before = content_hash(render_files(session))
    session.execute(update(NluInboxItem).values(example_id=None))
    session.execute(delete(TrainingExample))
    session.execute(delete(TrainingSynonym))
    session.execute(delete(TrainingFile))
    intents = {i.name: i for i in session.execute(select(TrainingIntent)).scalars()}
    n_examples = n_synonyms = 0
    synonym_keys: Dict[str, str] = {}
    for file_pos, parsed in enumerate(files):
        session.add(TrainingFile(name=parsed.name, header=parsed.header or None, position=file_pos))
        for intent_pos, (name, examples) in enumerate(parsed.intents):
            intent = intents.get(name) or TrainingIntent(name=name)
            intent.file_name, intent.position = parsed.name, intent_pos
            session.add(intent)
            session.flush()
            for pos, text in enumerate(examples):
                stored, plain, _ = normalize_example(text, terms.entities, exact=True)
                session.add(TrainingExample(intent_id=intent.id, text=stored, plain=plain, folded=folded_key(plain),
                                            position=pos, source="import", created_by=actor))
                n_examples += 1
        for value, examples in parsed.synonyms:
            for text in examples:
                key = folded_key(text)
                if key in synonym_keys:
                    warnings.append(f"{parsed.name}: từ đồng nghĩa '{text[:60]}' lặp lại, bỏ qua")
                    continue
                synonym_keys[key] = value
                session.add(TrainingSynonym(value=value, text=text, folded=key, created_by=actor))
                n_synonyms += 1
    session.flush()
    after = content_hash(render_files(session))
    changed = before != after
    if changed:
        mark_changed(session, actor, "training.import")
    record(session, actor, "training.import", "training_data", None, {"hash": before},
           {"hash": after, "files": len(files), "examples": n_examples, "synonyms": n_synonyms})
    logger.info("training data imported: %d files, %d examples, %d synonyms", len(files), n_examples, n_synonyms)
    return ImportStats(len(files), sum(len(p.intents) for p in files), n_examples, n_synonyms, changed,
                       tuple(warnings))
