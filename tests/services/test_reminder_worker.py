"""The reminder worker: the scheduler jobs, a sweep that never raises, the process entry point, hotlines."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from bot.cli.serve import reminder_worker_command
from bot.reminders.service import ReminderService
from bot.settings import ROOT, get_settings
from tests.support.reminders import World
from workers.reminders import JOB_ID, add_jobs

pytestmark = pytest.mark.usefixtures("reminder_env")

def test_serve_runs_the_worker_only_in_embedded_mode(world: World, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SCHEDULER_MODE", "separate")
    get_settings.cache_clear()
    assert reminder_worker_command(get_settings()) is None
    monkeypatch.setenv("SCHEDULER_MODE", "embedded")
    monkeypatch.setenv("REMINDER_INTERVAL_MINUTES", "5")
    get_settings.cache_clear()
    assert reminder_worker_command(get_settings())[1:] == ["-m", "workers.reminders", "--supervised"]
    service = world.service()
    scheduler = BackgroundScheduler(timezone=dt.timezone.utc, daemon=True)
    add_jobs(scheduler, service, get_settings())
    scheduler.start()
    try:
        assert sorted(j.id for j in scheduler.get_jobs()) == ["channel_records_prune", JOB_ID]
        job = scheduler.get_job(JOB_ID)
        assert job.name == JOB_ID
        assert job.coalesce is True and job.max_instances == 1
        assert job.trigger.interval == dt.timedelta(minutes=5)
    finally:
        scheduler.shutdown(wait=False)
        service.close()


def test_run_once_never_raises(world: World):
    class Broken(ReminderService):
        def plan(self):  # type: ignore[override]
            raise RuntimeError("database down")

    service = Broken(world.sessions, world.router(), now=world.clock)
    result = service.run_once()
    assert result.planned.skipped and result.delivered.claimed == 0
    service.close()


def test_separate_process_entry_point(tmp_path):
    """``python -m workers.reminders --once`` against a fresh SQLite database (no channels configured)."""
    url = f"sqlite:///{tmp_path / 'proc.db'}"
    from bot.db.session import get_engine, upgrade

    upgrade(url)
    get_engine(url).dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ZALO_"))}
    env.update(DATABASE_URL=url, SCHEDULER_MODE="separate", APP_ENV="test", PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-m", "workers.reminders", "--once"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert summary["queued"] == 0 and summary["claimed"] == 0


async def test_hotline_comes_from_the_agency_then_the_provincial_centre(world: World):
    from bot.db.models import Agency

    with world.sessions() as s, s.begin():
        s.add(Agency(code="PVHCC", name="Trung tâm Phục vụ hành chính công tỉnh", level="province",
                     hotline="0216 3 818 555", unconfirmed=[]))
        s.add(Agency(code="UBND-YT", name="UBND phường Yên Thịnh", level="commune", hotline="0216 3 000 111",
                     unconfirmed=[]))
    user = world.user()
    own, other = world.dossier("in_progress"), world.dossier("in_progress", agency_name="UBND xã khác")
    world.subscribe(user, own)
    world.subscribe(user, other)
    world.clock.advance(hours=1)
    world.set_status(own, "ready")
    world.set_status(other, "ready")
    await world.sweep()
    texts = sorted(m.text for m in world.telegram.sent)
    assert any("Hỗ trợ: 0216 3 000 111" in t for t in texts)
    assert any("Hỗ trợ: 0216 3 818 555" in t for t in texts)
