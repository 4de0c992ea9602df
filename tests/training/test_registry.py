"""Model versions on SQLite and PostgreSQL: register, activate (one active), override rules, roll back, audit."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.db.models_staff import AuditEntry
from bot.db.session import session_scope
from bot.training import registry


def fake_model(path: Path, model_id: str) -> Path:
    """A tar.gz shaped like a Rasa model: ``metadata.json`` with a model_id."""
    data = json.dumps({"model_id": model_id}).encode()
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("metadata.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return path


def test_register_activate_rollback(db_url: str, tmp_path: Path) -> None:
    store = tmp_path / "registry"
    with session_scope(db_url) as session:
        first = registry.register(session, fake_model(tmp_path / "a.tar.gz", "id-a"), store, trained_by="trainer1",
                                  metrics={"accuracy": 0.9}, data_hash="d1", gate_passed=True)
        again = registry.register(session, tmp_path / "a.tar.gz", store, trained_by="x")
        assert again.id == first.id  # the same archive is one version
        assert first.rasa_model_id == "id-a" and registry.model_path(store, first).is_file()
        assert first.model_hash == registry.file_sha256(tmp_path / "a.tar.gz")
        second = registry.register(session, fake_model(tmp_path / "b.tar.gz", "id-b"), store, trained_by="trainer1",
                                   gate_passed=True)
        assert registry.active_version(session) is None
        with pytest.raises(registry.RegistryError, match="trước đó"):
            registry.rollback(session, "trainer1", actor_role="trainer")
        registry.activate(session, first.id, "trainer1", actor_role="trainer")
        registry.activate(session, second.id, "trainer1", actor_role="trainer")
        ids = (first.id, second.id)
    with session_scope(db_url) as session:
        assert registry.active_version(session).id == ids[1]
        with pytest.raises(registry.RegistryError, match="đang được dùng"):
            registry.activate(session, ids[1], "trainer1", actor_role="trainer")
        back = registry.rollback(session, "trainer1", actor_role="trainer", reason="mô hình mới trả lời sai")
        assert back.id == ids[0]
    with session_scope(db_url) as session:
        active = [v.id for v in registry.list_versions(session) if v.active_slot == 1]
        assert active == [ids[0]]
        entries = session.execute(select(AuditEntry).where(AuditEntry.entity == "model_version")
                                  .order_by(AuditEntry.id)).scalars().all()
        assert [(e.action, e.before, e.after) for e in entries] == [
            ("model.activate", {"active": None}, {"active": ids[0]}),
            ("model.activate", {"active": ids[0]}, {"active": ids[1]}),
            ("model.rollback", {"active": ids[1]}, {"active": ids[0]}),
        ]
        assert entries[-1].note == "mô hình mới trả lời sai"


def test_blocked_model_needs_an_admin_and_a_reason(db_url: str, tmp_path: Path) -> None:
    with session_scope(db_url) as session:
        blocked = registry.register(session, fake_model(tmp_path / "c.tar.gz", "id-c"), tmp_path / "r",
                                    trained_by="trainer1", gate_passed=False).id
    with session_scope(db_url) as session:
        with pytest.raises(registry.RegistryError, match="quản trị viên"):
            registry.activate(session, blocked, "trainer1", actor_role="trainer", reason="vì tôi muốn thế")
        with pytest.raises(registry.RegistryError, match="lý do"):
            registry.activate(session, blocked, "admin1", actor_role="admin", reason="  ngắn ")
        with pytest.raises(registry.RegistryError, match="Không có phiên bản"):
            registry.activate(session, 999999, "admin1", actor_role="admin")
        registry.activate(session, blocked, "admin1", actor_role="admin", reason="Khẩn cấp: sửa lỗi ý định chào hỏi")
    with session_scope(db_url) as session:
        assert registry.active_version(session).id == blocked
        entry = session.execute(select(AuditEntry).where(AuditEntry.action == "model.override")).scalar_one()
        assert entry.actor == "admin1" and "Khẩn cấp" in entry.note


def test_archive_without_metadata_and_missing_file(db_url: str, tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"\x00" * 10)
    with session_scope(db_url) as session:
        version = registry.register(session, junk, tmp_path / "r", trained_by="cli")
        assert version.rasa_model_id is None and version.size_bytes == 10
        with pytest.raises(registry.RegistryError):
            registry.register(session, tmp_path / "missing.tar.gz", tmp_path / "r", trained_by="cli")
        assert registry.describe(version)["active"] is False
