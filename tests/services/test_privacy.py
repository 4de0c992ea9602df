"""Personal data: demo seeding never overwrites, SQL errors hide their data, the retention prune."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from bot.cli.db import db_init
from bot.conversations.retention import prune_personal_data
from bot.db.models import Dossier, Feedback, HandoffRequest, VerificationAttempt, utcnow
from bot.db.models_handoff import HandoffMessage
from bot.db.session import get_engine, session_scope
from bot.dossiers.demo import demo_dossiers
from bot.dossiers.service import DossierRecord, upsert_dossier
from bot.settings import Settings, get_settings

REAL_PHONE = "0987654321"


def test_demo_dossiers_never_overwrite_a_real_record(clean_db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    code = demo_dossiers(dt.date.today())[0].code
    with session_scope(clean_db_url) as session:
        upsert_dossier(session, DossierRecord(code=code, procedure_name="Hồ sơ thật", status="ready",
                                              applicant_phone=REAL_PHONE))
    report = db_init(clean_db_url, demo=True)
    assert report["demo_dossiers"] == len(demo_dossiers(dt.date.today())) - 1
    assert db_init(clean_db_url, demo=True)["demo_dossiers"] == 0
    with session_scope(clean_db_url) as session:
        row = session.execute(sa.select(Dossier).where(Dossier.code == code)).scalar_one()
        assert (row.procedure_name, row.applicant_phone) == ("Hồ sơ thật", REAL_PHONE)


def test_no_demo_dossiers_outside_development(clean_db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    get_settings.cache_clear()
    report = db_init(clean_db_url)
    assert "demo_dossiers" not in report
    with session_scope(clean_db_url) as session:
        assert session.execute(sa.select(sa.func.count()).select_from(Dossier)).scalar_one() == 0


def test_sql_errors_do_not_carry_personal_data(clean_db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(SQLAlchemyError) as info:
        with session_scope(clean_db_url) as session:
            session.add(Dossier(code="x", procedure_name="Nguyễn Văn Bí Mật", status="received",
                                applicant_phone=REAL_PHONE))
            session.flush()
            session.add(Dossier(code="x", procedure_name="Nguyễn Văn Bí Mật", status="received",
                                applicant_phone=REAL_PHONE))
            session.flush()
    assert REAL_PHONE not in str(info.value) and "Bí Mật" not in str(info.value)
    assert REAL_PHONE not in caplog.text
    assert get_engine(clean_db_url).hide_parameters


def test_retention_prune(clean_db_url: str) -> None:
    now = utcnow()
    old, recent = now - dt.timedelta(days=400), now - dt.timedelta(hours=2)
    with session_scope(clean_db_url) as session:
        for at in (old, recent):
            session.add(VerificationAttempt(dossier_code="c", sender_key="rest:x", success=False, attempted_at=at))
            session.add(Feedback(sender_key="rest:x", text=f"góp ý {REAL_PHONE}", created_at=at))
            ticket = HandoffRequest(sender_key="rest:x", transcript=[{"by": "user", "text": REAL_PHONE}],
                                    created_at=at)
            session.add(ticket)
            session.flush()
            session.add(HandoffMessage(ticket_id=ticket.id, conversation_id="rest:x", agent="agent1",
                                       text=f"gọi lại {REAL_PHONE}", created_at=at))
        session.execute(sa.text("CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, timestamp FLOAT)"))
        session.execute(sa.text("INSERT INTO events (id, timestamp) VALUES (1, :old), (2, :new)"),
                        {"old": old.replace(tzinfo=dt.timezone.utc).timestamp(),
                         "new": recent.replace(tzinfo=dt.timezone.utc).timestamp()})
    with session_scope(clean_db_url) as session:
        removed = prune_personal_data(session, Settings(app_env="test"), now)
    assert removed == {"verification_attempts": 1, "feedback": 1, "handoff_messages": 1, "handoff_requests": 1,
                       "events": 1}
    with session_scope(clean_db_url) as session:
        for model in (VerificationAttempt, Feedback, HandoffRequest, HandoffMessage):
            assert session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one() == 1
        session.execute(sa.text("DROP TABLE events"))


def test_prune_never_shortens_the_lockout_memory(clean_db_url: str) -> None:
    now = utcnow()
    with session_scope(clean_db_url) as session:
        session.add(VerificationAttempt(dossier_code="c", sender_key="rest:x", success=False,
                                        attempted_at=now - dt.timedelta(hours=20)))
    with session_scope(clean_db_url) as session:
        removed = prune_personal_data(session, Settings(app_env="test", retention_verification_days=0), now)
    assert removed["verification_attempts"] == 0
