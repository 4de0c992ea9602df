"""The reminder service: one sweep = plan due notices, then deliver what is due.

The sweep keeps no state of its own: everything lives in the notification log,
so it can run in any number of processes, be killed at any point and restarted.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
from dataclasses import dataclass
from typing import Any, Dict, Optional

from sqlalchemy.orm import sessionmaker

from bot.reminders.clock import Clock, get_zone, system_clock
from bot.reminders.delivery import Router, TemplateSender, TextSender
from bot.reminders.outbox import DeliveryStats, Outbox, OutboxConfig
from bot.reminders.sweep import PlanStats, plan_notices
from bot.reminders.workdays import QuietHours, WorkCalendar, load_calendar
from bot.responses import Responses
from bot.settings import Settings, get_settings

logger = logging.getLogger(__name__)


@dataclass
class SweepResult:
    """What one sweep did."""

    planned: PlanStats
    delivered: DeliveryStats

    def as_dict(self) -> Dict[str, Any]:
        """Flat summary (for logs and benchmarks)."""
        return {"queued": self.planned.total, "plan_skipped": self.planned.skipped, **vars(self.delivered)}


class ReminderService:
    """Plans and delivers reminder notices for one database."""

    def __init__(
        self,
        sessions: sessionmaker,
        router: Router,
        *,
        now: Clock = system_clock,
        zone: Optional[dt.tzinfo] = None,
        calendar: Optional[WorkCalendar] = None,
        quiet: Optional[QuietHours] = None,
        renderer: Optional[Responses] = None,
        config: Optional[OutboxConfig] = None,
        use_plan_lock: bool = True,
    ) -> None:
        """Create the service.

        Args:
            sessions: session factory of the project database.
            router: senders per channel (and ZNS).
            now: the clock (inject a fake one in tests).
            zone: local time zone (default: settings.timezone).
            calendar: working days (default: ``data/holidays_vn.json``).
            quiet: quiet hours (default: settings.quiet_hours_start/end).
            renderer: domain responses (default: the project's domain files with the staff edits).
            config: delivery tuning.
            use_plan_lock: PostgreSQL: let one process plan at a time.
        """
        settings = get_settings()
        self.sessions = sessions
        self.now = now
        self.zone = zone or get_zone(settings.timezone)
        self.calendar = calendar or load_calendar(getattr(settings, "reminder_holidays_file", None))
        self.quiet = quiet or QuietHours(settings.quiet_hours_start, settings.quiet_hours_end)
        bind = sessions.kw.get("bind")
        self.renderer = renderer or Responses.from_files(
            live=True, database_url=bind.url.render_as_string(hide_password=False) if bind is not None else None)
        self.use_plan_lock = use_plan_lock
        self.outbox = Outbox(sessions, router, self.renderer, now=now, zone=self.zone, quiet=self.quiet,
                             config=config or outbox_config(settings))
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._loop_lock = threading.Lock()

    def plan(self) -> PlanStats:
        """Queue every notice due now (one transaction)."""
        with self.sessions() as session, session.begin():
            return plan_notices(session, now=self.now(), zone=self.zone, calendar=self.calendar, quiet=self.quiet,
                                use_lock=self.use_plan_lock)

    async def run_once_async(self) -> SweepResult:
        """One sweep from async code (tests, an asyncio host)."""
        planned = self.plan()
        delivered = await self.outbox.deliver_due()
        return SweepResult(planned, delivered)

    def run_once(self) -> SweepResult:
        """One sweep from sync code (the scheduler's job); never raises."""
        with self._loop_lock:  # max_instances=1 already; this guards manual calls too
            if self._loop is None or self._loop.is_closed():
                self._loop = asyncio.new_event_loop()
            try:
                result = self._loop.run_until_complete(self.run_once_async())
            except Exception:
                logger.exception("reminder sweep failed; the next sweep retries")
                return SweepResult(PlanStats(skipped=True), DeliveryStats())
        if result.planned.total or result.delivered.claimed:
            logger.info("reminder sweep: %s", result.as_dict())
        uncertain = result.delivered.unconfirmed + result.delivered.interrupted
        if uncertain:
            logger.warning("reminder sweep: %d notice(s) may or may not have been delivered; they are not resent "
                           "(python -m workers.reminders --report)", uncertain)
        return result

    def close(self) -> None:
        """Release the private event loop."""
        with self._loop_lock:
            if self._loop is not None and not self._loop.is_closed():
                self._loop.close()
            self._loop = None


def outbox_config(settings: Settings) -> OutboxConfig:
    """Delivery tuning from settings (defaults when a field is absent)."""
    return OutboxConfig(
        lease=dt.timedelta(seconds=getattr(settings, "reminder_lease_seconds", 300)),
        batch_size=getattr(settings, "reminder_batch_size", 200),
        max_attempts=getattr(settings, "reminder_max_attempts", 8),
        concurrency=getattr(settings, "reminder_send_concurrency", 4),
        hotline=settings.fallback_hotline,
    )


def build_router(
    settings: Optional[Settings] = None,
    *,
    telegram: Optional[TextSender] = None,
    zalo: Optional[TextSender] = None,
    zns: Optional[TemplateSender] = None,
) -> Router:
    """A router over the senders handed to it (``integrations.senders.channel_senders`` builds them).

    A channel without a sender (not configured: no token / app) gets none: its notices end
    as ``undeliverable`` instead of failing the sweep.
    """
    settings = settings or get_settings()
    senders: Dict[str, TextSender] = {}
    if telegram is not None:
        senders["telegram"] = telegram
    if zalo is not None:
        senders["zalo"] = zalo
    window = dt.timedelta(days=getattr(settings, "zalo_interaction_window_days", 7))
    return Router(text_senders=senders, zns=zns, zns_template_id=settings.zalo_zns_template_id, zalo_window=window)
