"""Where a training job's data comes from: a pluggable callable that writes it into the job's folder.

A data source is ``(session, directory) -> content hash``. The default copies ``nlu_data/``
(``nlu/``, ``rules/``, ``lookups/``) from ``TRAINING_DATA_DIR``; the database store of the
training data plugs in its exporter (``bot.training.export.export_nlu``) for the ``nlu/`` part.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Callable, Optional

from sqlalchemy.orm import Session

DataSource = Callable[[Session, Path], str]
"""Writes the training data (Rasa YAML) under the directory; returns the content hash."""
PARTS = ("nlu", "rules", "lookups")


def hash_tree(directory: Path) -> str:
    """SHA-256 over every file's relative path and bytes, in sorted order (deterministic)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(path.relative_to(directory).as_posix().encode("utf-8") + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def copy_tree_source(source_dir: Path) -> DataSource:
    """A data source copying ``source_dir``'s ``nlu/``, ``rules/`` and ``lookups/`` YAML files."""

    def write(_session: Session, directory: Path) -> str:
        directory.mkdir(parents=True, exist_ok=True)
        for part in PARTS:
            if (source_dir / part).is_dir():
                shutil.copytree(source_dir / part, directory / part, dirs_exist_ok=True,
                                ignore=lambda _d, names: [n for n in names if n.startswith(".")])
        return hash_tree(directory)

    return write


NluExporter = Callable[[Session, Path], str]
"""``bot.training.export.export_nlu``: writes the NLU YAML of the database store into a folder."""


def exporter_source(export_nlu: NluExporter, source_dir: Path) -> DataSource:
    """A data source taking ``nlu/`` from the database store and ``rules/``, ``lookups/`` from ``source_dir``.

    Wire it in ``workers/training.py`` once the store exists:
    ``exporter_source(export_nlu, Path(settings.training_data_dir))``.
    """

    def write(session: Session, directory: Path) -> str:
        directory.mkdir(parents=True, exist_ok=True)
        for part in PARTS:
            if part != "nlu" and (source_dir / part).is_dir():
                shutil.copytree(source_dir / part, directory / part, dirs_exist_ok=True,
                                ignore=lambda _d, names: [n for n in names if n.startswith(".")])
        (directory / "nlu").mkdir(exist_ok=True)
        export_nlu(session, directory / "nlu")
        return hash_tree(directory)  # the whole tree: a rule change is a data change too

    return write


def data_changed_flag(session: Session) -> Optional[bool]:
    """The training data store's "changed since the active model" flag; None while the store is empty
    (the data then counts as changed when its hash differs from the active model's)."""
    from bot.training.state import data_changed, store_is_empty

    if store_is_empty(session):
        return None
    return data_changed(session)
