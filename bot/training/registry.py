"""Model versions: register a trained archive, activate one (at most one is active), roll back."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tarfile
from pathlib import Path
from typing import Any, Dict, List, Optional

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db.models import utcnow
from bot.db.models_training import ModelVersion
from bot.db.rows import get_or_raise, newest
from bot.staff.audit import record

logger = logging.getLogger(__name__)


class RegistryError(Exception):
    """A registry request that cannot be done (message in Vietnamese, shown to staff)."""


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def etag(model_hash: str) -> str:
    """The HTTP ETag of a model (a quoted string); Rasa sends it back as If-None-Match."""
    return f'"{model_hash}"'


def rasa_model_id(archive: Path) -> Optional[str]:
    """Rasa's ``model_id`` from the archive's ``metadata.json`` (what Rasa's ``/status`` reports)."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar.getmembers():
                if member.name.lstrip("/").lstrip("./") == "metadata.json":
                    handle = tar.extractfile(member)
                    return str(json.load(handle)["model_id"]) if handle else None
    except (OSError, tarfile.TarError, KeyError, ValueError):
        logger.warning("no Rasa metadata in model archive %s", archive.name)
    return None


def describe(version: ModelVersion) -> Dict[str, Any]:
    """A version as JSON-ready data (API and pages)."""
    metrics = version.metrics or {}
    return {"id": version.id, "file_name": version.file_name, "model_hash": version.model_hash,
            "rasa_model_id": version.rasa_model_id, "size_bytes": version.size_bytes,
            "data_hash": version.data_hash, "config_name": version.config_name,
            "trained_by": version.trained_by, "trained_at": version.trained_at, "job_id": version.job_id,
            "active": version.active_slot == 1, "activated_at": version.activated_at,
            "activated_by": version.activated_by, "gate_passed": version.gate_passed, "note": version.note,
            "accuracy": metrics.get("accuracy"), "macro_f1": metrics.get("macro_f1"),
            "code_precision": metrics.get("code_precision"), "code_recall": metrics.get("code_recall"),
            "per_intent_f1": metrics.get("per_intent_f1") or {}}


def register(session: Session, archive: Path, models_dir: Path, *, trained_by: str,
             metrics: Optional[Dict[str, Any]] = None, data_hash: Optional[str] = None,
             config_name: Optional[str] = None, config_text: Optional[str] = None,
             job_id: Optional[int] = None, gate_passed: Optional[bool] = None) -> ModelVersion:
    """Copy ``archive`` into the registry folder and record it (an existing identical archive is reused).

    Raises:
        RegistryError: the archive does not exist.
    """
    if not archive.is_file():
        raise RegistryError("Không tìm thấy tệp mô hình.")
    model_hash = file_sha256(archive)
    found = session.execute(select(ModelVersion).where(ModelVersion.model_hash == model_hash)).scalar_one_or_none()
    if found is not None:
        return found
    models_dir.mkdir(parents=True, exist_ok=True)
    name = f"{utcnow().strftime('%Y%m%d-%H%M%S')}-{model_hash[:12]}.tar.gz"
    target = models_dir / name
    shutil.copyfile(archive, target.with_suffix(".part"))
    target.with_suffix(".part").replace(target)  # readers never see half a file
    version = ModelVersion(file_name=name, model_hash=model_hash, rasa_model_id=rasa_model_id(target),
                           size_bytes=target.stat().st_size, data_hash=data_hash, config_name=config_name,
                           config_text=config_text, metrics=metrics, gate_passed=gate_passed,
                           trained_by=trained_by, job_id=job_id)
    session.add(version)
    session.flush()
    return version


def active_version(session: Session) -> Optional[ModelVersion]:
    """The active model version, or None."""
    return session.execute(select(ModelVersion).where(ModelVersion.active_slot == 1)).scalar_one_or_none()


def list_versions(session: Session, limit: int = 100) -> List[ModelVersion]:
    """Versions, newest first (at most 500)."""
    return newest(session, ModelVersion, limit, 500)


def get_version(session: Session, version_id: int) -> ModelVersion:
    """One version.

    Raises:
        RegistryError: unknown id.
    """
    return get_or_raise(session, ModelVersion, version_id, RegistryError("Không có phiên bản mô hình này."))


def activate(session: Session, version_id: int, actor: str, *, actor_role: str, reason: Optional[str] = None,
             action: str = "model.activate") -> ModelVersion:
    """Make a version the active one (audited); Rasa servers pull it at their next poll.

    A version the gate blocked needs an admin and a written reason (an override).

    Raises:
        RegistryError: unknown id, blocked without admin or reason, or a concurrent activation.
    """
    version = get_version(session, version_id)
    if version.active_slot == 1:
        raise RegistryError("Phiên bản này đang được dùng.")
    reason = (reason or "").strip() or None
    if version.gate_passed is False:
        if actor_role != "admin":
            raise RegistryError("Mô hình này không qua cổng đánh giá: chỉ quản trị viên được dùng nó.")
        if reason is None or len(reason) < 10:
            raise RegistryError("Hãy ghi lý do (ít nhất 10 ký tự) khi dùng mô hình không qua cổng đánh giá.")
        action = "model.override"
    return _switch(session, version, actor, action, reason)


def _switch(session: Session, version: ModelVersion, actor: str, action: str, reason: Optional[str]) -> ModelVersion:
    """Move the active slot to ``version`` and audit it."""
    previous = active_version(session)
    try:
        session.execute(update(ModelVersion).where(ModelVersion.active_slot == 1).values(active_slot=None))
        session.flush()
        version.active_slot, version.activated_at, version.activated_by = 1, utcnow(), actor
        if reason:
            version.note = reason
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise RegistryError("Một thao tác khác vừa đổi mô hình đang dùng; hãy tải lại trang.") from exc
    record(session, actor, action, "model_version", str(version.id),
           {"active": previous.id if previous else None}, {"active": version.id}, reason)
    logger.info("model version %s active (was %s)", version.id, previous.id if previous else None)
    return version


def rollback(session: Session, actor: str, *, actor_role: str, reason: Optional[str] = None) -> ModelVersion:
    """Activate the version that was active before the current one (audited).

    Raises:
        RegistryError: nothing to roll back to.
    """
    current = active_version(session)
    query = select(ModelVersion).where(ModelVersion.activated_at.is_not(None))
    if current is not None:
        query = query.where(ModelVersion.id != current.id)
    previous = session.execute(query.order_by(ModelVersion.activated_at.desc(), ModelVersion.id.desc())
                               .limit(1)).scalar_one_or_none()
    if previous is None:
        raise RegistryError("Không có phiên bản nào trước đó để quay lại.")
    return _switch(session, previous, actor, "model.rollback", (reason or "").strip() or None)


def model_path(models_dir: Path, version: ModelVersion) -> Path:
    """The archive of ``version`` in the registry folder."""
    return models_dir / Path(version.file_name).name
