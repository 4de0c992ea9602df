"""Claim queued notices and deliver them: at most once across processes, retried when surely unsent.

One delivery run: settle what crashed workers left behind, then batch after batch
claim due notices (:mod:`bot.reminders.claims`), re-check and word them
(:mod:`bot.reminders.prepare`), and for each one pass the fence
(:func:`bot.reminders.claims.begin_send`, committed before the network call), send
through the :class:`~bot.reminders.delivery.Router`, and record the outcome
(:mod:`bot.reminders.outcomes`). A notice is resent only after a failure that proves
it did not reach the platform; anything else ends ``sent``, ``unconfirmed``, ``failed``
or ``undeliverable``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import socket
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from sqlalchemy.orm import sessionmaker

from bot.reminders import claims
from bot.reminders.clock import Clock, to_db, to_local
from bot.reminders.delivery import Router, classify
from bot.reminders.outcomes import Outcomes
from bot.reminders.prepare import Prepared, Preparer
from bot.reminders.workdays import QuietHours
from bot.responses import Responses

logger = logging.getLogger(__name__)


def default_worker_id() -> str:
    """``host:pid`` of this process (recorded in ``claimed_by``)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}"


@dataclass
class OutboxConfig:
    """Delivery tuning. ``lease`` must exceed the longest send (HTTP timeout × tries + flood waits)."""

    worker_id: str = field(default_factory=default_worker_id)
    lease: dt.timedelta = dt.timedelta(minutes=5)
    batch_size: int = 200
    max_attempts: int = 8
    backoff_base_s: float = 30.0
    backoff_max_s: float = 3600.0
    concurrency: int = 4
    max_batches: Optional[int] = None  # per run; None = until nothing is due
    hotline: Optional[str] = None  # when neither the agency nor the centre has one (None: FALLBACK_HOTLINE)


@dataclass
class DeliveryStats:
    """What one delivery run did.

    ``unconfirmed`` counts sends of this run that may or may not have been delivered;
    ``interrupted`` counts sends of an earlier, vanished worker found without an outcome
    (both end ``unconfirmed`` and are not resent); ``lost`` counts claims that expired or
    were taken over before their send began (not sent by us).
    """

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    undeliverable: int = 0
    cancelled: int = 0
    unconfirmed: int = 0
    interrupted: int = 0
    lost: int = 0
    released: int = 0
    quiet: bool = False

    def add(self, outcome: str) -> None:
        """Count one outcome."""
        setattr(self, outcome, getattr(self, outcome) + 1)


class Outbox:
    """Claims due notices and delivers them through a :class:`Router`."""

    def __init__(
        self,
        sessions: sessionmaker,
        router: Router,
        renderer: Responses,
        *,
        now: Clock,
        zone: dt.tzinfo,
        quiet: QuietHours,
        config: Optional[OutboxConfig] = None,
    ) -> None:
        """Create an outbox over the sessions of one database."""
        self.sessions = sessions
        self.router = router
        self.renderer = renderer
        self.now = now
        self.zone = zone
        self.quiet = quiet
        self.config = config or OutboxConfig()
        self.preparer = Preparer(renderer, default_hotline=self.config.hotline)
        self.outcomes = Outcomes(sessions, quiet=quiet, zone=zone, max_attempts=self.config.max_attempts,
                                 backoff_base_s=self.config.backoff_base_s, backoff_max_s=self.config.backoff_max_s)

    def claim(self, now: dt.datetime) -> tuple[str, List[int]]:
        """Atomically claim up to ``batch_size`` due notices; returns (token, ids)."""
        token = f"{self.config.worker_id[:80]}/{uuid.uuid4().hex[:12]}"
        ids = claims.claim(self.sessions, token, to_db(now), lease=self.config.lease,
                           max_attempts=self.config.max_attempts, batch_size=self.config.batch_size)
        logger.debug("claimed %d notices as %s (batch %d)", len(ids), token, self.config.batch_size)
        return token, ids

    def settle(self, stats: DeliveryStats) -> None:
        """Mark sends left without an outcome ``unconfirmed``; give up expired last-attempt claims."""
        keys, given_up = claims.settle_stale(self.sessions, to_db(self.now()), lease=self.config.lease,
                                             max_attempts=self.config.max_attempts)
        stats.interrupted += len(keys)
        stats.failed += given_up

    async def deliver_due(self) -> DeliveryStats:
        """Deliver every due notice (batch after batch); nothing in quiet hours."""
        stats = DeliveryStats()
        self.settle(stats)
        batches = 0
        while self.config.max_batches is None or batches < self.config.max_batches:
            now = self.now()
            if self.quiet.contains(to_local(now, self.zone)):
                stats.quiet = True
                break
            token, ids = self.claim(now)
            if not ids:
                break
            batches += 1
            stats.claimed += len(ids)
            await self.deliver_claimed(token, ids, now, stats)
            if len(ids) < self.config.batch_size:
                break
        if stats.claimed or stats.interrupted:
            logger.info("reminder delivery: %s", stats)
        return stats

    async def deliver_claimed(self, token: str, ids: List[int], claimed_at: dt.datetime,
                              stats: Optional[DeliveryStats] = None) -> DeliveryStats:
        """Deliver notices claimed under ``token`` at ``claimed_at`` (each one passes the fence first)."""
        stats = stats if stats is not None else DeliveryStats()
        today = to_local(self.now(), self.zone).date()
        prepared: Dict[int, List[Prepared]] = defaultdict(list)
        for item in self.preparer.prepare(self.sessions, token, ids, today, stats.add):
            prepared[item.user_id].append(item)
        semaphore = asyncio.Semaphore(max(1, self.config.concurrency))
        hand_back_after = claimed_at + self.config.lease / 2

        async def per_user(items: List[Prepared]) -> None:
            async with semaphore:
                for item in items:  # one user's notices in order
                    stats.add(await self._deliver_one(token, item, hand_back_after))

        await asyncio.gather(*(per_user(items) for items in prepared.values()))
        return stats

    async def _deliver_one(self, token: str, item: Prepared, hand_back_after: dt.datetime) -> str:
        """Fence, send and record one notice; returns the stats field to count."""
        now = self.now()
        if now > hand_back_after:  # a slow batch: hand the rest back well before the lease ends
            if not claims.release(self.sessions, token, item.notice_id):
                return "lost"  # another worker took it over already
            logger.debug("released notice %s: the batch ran long", item.key)
            return "released"
        if not claims.begin_send(self.sessions, token, item.notice_id, to_db(now), lease=self.config.lease):
            logger.warning("notice %s: our claim expired or was taken over before the send; not sent", item.key)
            return "lost"
        try:
            delivered = await self.router.deliver(item.recipient, item.text, item.template_data, item.key,
                                                  to_db(self.now()))
        except Exception as exc:  # noqa: BLE001 - every failure is classified and recorded
            return self.outcomes.failed(token, item, classify(exc), self.now())
        return self.outcomes.sent(token, item, delivered, self.now())
