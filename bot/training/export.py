"""Deterministic export of the training data to Rasa YAML (the files of ``nlu_data/nlu/``).

The canonical form, per file (intents in their stored order, examples in theirs)::

    # header comment lines, if the file had them
    version: "3.1"
    nlu:
    - intent: greet
      examples: |
        - xin chào

    - intent: goodbye
      ...

Synonyms go to ``synonyms.yml`` (blocks sorted by value, examples by text). Intents without
examples are left out (the domain still lists them). :func:`export_nlu` is the interface of
the training job: the exported bytes and their hash are the model's data snapshot.
"""

from __future__ import annotations

import hashlib
import json
import logging
from itertools import groupby
from pathlib import Path
from typing import Dict, List

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models_training_data import TrainingExample, TrainingFile, TrainingIntent, TrainingSynonym

logger = logging.getLogger(__name__)

VERSION_LINE = 'version: "3.1"'
SYNONYMS_FILE = "synonyms.yml"


def _block(kind: str, name: str, examples: List[str]) -> List[str]:
    head = f"- {kind}: {json.dumps(name, ensure_ascii=False) if kind == 'synonym' else name}"
    return [head, "  examples: |", *(f"    - {text}" for text in examples)]


def _document(header: str, blocks: List[List[str]]) -> bytes:
    lines = [*(header.splitlines() if header else []), VERSION_LINE, "nlu:"]
    for i, block in enumerate(blocks):
        if i:
            lines.append("")
        lines.extend(block)
    return ("\n".join(lines) + "\n").encode("utf-8")


def render_files(session: Session) -> Dict[str, bytes]:
    """File name → YAML bytes of the whole training data (nothing written)."""
    files = {f.name: f for f in session.execute(select(TrainingFile)).scalars()}
    rows = session.execute(
        select(TrainingIntent.file_name, TrainingIntent.name, TrainingExample.text)
        .join(TrainingExample, TrainingExample.intent_id == TrainingIntent.id)
        .order_by(TrainingIntent.file_name, TrainingIntent.position, TrainingIntent.id,
                  TrainingExample.position, TrainingExample.id)).all()
    blocks: Dict[str, List[List[str]]] = {}
    for (file_name, intent), group in groupby(rows, key=lambda r: (r[0], r[1])):
        blocks.setdefault(file_name, []).append(_block("intent", intent, [r[2] for r in group]))
    synonyms = session.execute(select(TrainingSynonym.value, TrainingSynonym.text)
                               .order_by(TrainingSynonym.value, TrainingSynonym.text)).all()
    if synonyms:
        blocks.setdefault(SYNONYMS_FILE, []).extend(
            _block("synonym", value, [r[1] for r in group]) for value, group in groupby(synonyms, key=lambda r: r[0]))
    out = {}
    for name in sorted(blocks, key=lambda n: (files[n].position if n in files else 10_000, n)):
        out[name] = _document(files[name].header if name in files else "", blocks[name])
    return out


def content_hash(files: Dict[str, bytes]) -> str:
    """sha256 of the exported files (names and bytes, in name order)."""
    digest = hashlib.sha256()
    for name in sorted(files):
        data = files[name]
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def export_nlu(session: Session, directory: Path) -> str:
    """Write the training data as Rasa YAML into ``directory`` (the equivalent of ``nlu_data/nlu/``).

    Files in ``directory`` ending in ``.yml`` that the export no longer produces (say, the synonyms
    file after the last synonym was deleted) are removed: the directory belongs to the export.
    Files whose bytes are unchanged are not rewritten.

    Returns:
        The content hash (sha256 hex) of the exported files, see :func:`content_hash`.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    files = render_files(session)
    for name, data in files.items():
        path = directory / name
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
    for stale in directory.glob("*.yml"):
        if stale.name not in files:
            stale.unlink()
    digest = content_hash(files)
    logger.info("training data exported: %d files, hash %s", len(files), digest[:12])
    return digest
