"""Procedure synonyms kept by staff: a colloquial name → a catalogue procedure code.

They are exported to ``synonyms.yml`` beside the intents. Names already generated from the
catalogue (``nlu_data/lookups/catalogue.yml``, ``gen-lookups``) or already stored are refused:
one name maps to one value.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import Dict, List

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import Procedure
from bot.db.models_training_data import TrainingSynonym
from bot.settings import ROOT
from bot.staff.audit import record
from bot.text.normalize import clean
from bot.training.annotations import folded_key
from bot.training.examples import Conflict, NotFound, TrainingDataError
from bot.training.state import mark_changed

logger = logging.getLogger(__name__)

LOOKUPS = ROOT / "nlu_data" / "lookups" / "catalogue.yml"
MAX_SYNONYM = 200


def generated_synonyms(path: Path = LOOKUPS) -> Dict[str, str]:
    """Folded name → value of the synonyms generated from the catalogue (re-read when the file changes:
    staff renaming a procedure in the console rewrite it)."""
    if not path.exists():
        return {}
    stat = path.stat()
    return _read_generated(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=2)
def _read_generated(path: Path, _mtime_ns: int, _size: int) -> Dict[str, str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    out: Dict[str, str] = {}
    for block in data.get("nlu") or []:
        if isinstance(block, dict) and "synonym" in block:
            for line in str(block.get("examples") or "").splitlines():
                if line.strip().startswith("-"):
                    out[folded_key(line.strip()[1:])] = str(block["synonym"])
    return out


def list_synonyms(session: Session) -> List[Dict[str, object]]:
    """Every stored synonym, by value then name."""
    rows = session.execute(select(TrainingSynonym).order_by(TrainingSynonym.value, TrainingSynonym.text)).scalars()
    return [{"id": r.id, "value": r.value, "text": r.text, "created_by": r.created_by} for r in rows]


def add_synonym(session: Session, value: str, text: str, actor: str) -> Dict[str, object]:
    """Map the name ``text`` to the procedure code ``value``.

    Raises:
        TrainingDataError: empty or too long; NotFound: no such procedure; Conflict: the name is mapped already.
    """
    value, text = clean(value)[:40], clean(text)
    if not text or len(text) > MAX_SYNONYM or any(ch in text for ch in "[]{}()"):
        raise TrainingDataError(f"Tên gọi phải có 1–{MAX_SYNONYM} ký tự, không có ngoặc.")
    if session.execute(select(Procedure.id).where(Procedure.code == value)).first() is None:
        raise NotFound(f"Không có thủ tục mã {value} trong danh mục.")
    key = folded_key(text)
    if not key:
        raise TrainingDataError("Tên gọi phải có chữ.")
    generated = generated_synonyms().get(key)
    if generated is not None:
        raise Conflict(f"Tên gọi này đã có trong danh mục thủ tục (ứng với {generated}).")
    stored = session.execute(select(TrainingSynonym).where(TrainingSynonym.folded == key)).scalar_one_or_none()
    if stored is not None:
        raise Conflict(f"Tên gọi này đã ứng với {stored.value}.")
    row = TrainingSynonym(value=value, text=text, folded=key, created_by=actor[:64])
    session.add(row)
    session.flush()
    record(session, actor, "training.synonym.add", "training_synonym", str(row.id), None,
           {"value": value, "text": text})
    mark_changed(session, actor, "training.synonym.add")
    return {"id": row.id, "value": value, "text": text, "created_by": row.created_by}


def delete_synonym(session: Session, synonym_id: int, actor: str) -> None:
    """Delete a synonym.

    Raises:
        NotFound: unknown id.
    """
    row = session.get(TrainingSynonym, synonym_id)
    if row is None:
        raise NotFound(f"Không có từ đồng nghĩa #{synonym_id}.")
    record(session, actor, "training.synonym.delete", "training_synonym", str(row.id),
           {"value": row.value, "text": row.text}, None)
    session.delete(row)
    mark_changed(session, actor, "training.synonym.delete")
