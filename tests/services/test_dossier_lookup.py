"""``DossierLookup``: a remote source's dossier is kept locally when shown; the local source's is not re-written."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Dict, Optional

from sqlalchemy import func, select

from bot.conversations.identity import ConversationIdentity
from bot.db.models import Dossier, DossierStatusHistory, VerificationAttempt
from bot.db.session import session_scope
from bot.dossiers.demo import demo_dossiers
from bot.dossiers.lookup import DossierLookup
from bot.dossiers.service import DossierRecord, link_dossier, upsert_dossier
from bot.dossiers.sources import LocalDossierSource

RECORD = demo_dossiers(dt.date(2026, 3, 12))[0]
OWNER = ConversationIdentity("telegram", "3003")


class RemoteSource:
    """A dossier source that is not the project database (as the one-stop REST client)."""

    def __init__(self, records: Dict[str, DossierRecord]) -> None:
        self.records = records

    async def get(self, code: str) -> Optional[DossierRecord]:
        return self.records.get(code)


def _count(url: str, model: type) -> int:
    with session_scope(url) as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


async def test_unverified_identity_sees_nothing(db_url: str) -> None:
    shown = await DossierLookup(lambda: RemoteSource({RECORD.code: RECORD})).show(RECORD.code, OWNER)
    assert not shown.allowed and shown.record is None
    assert _count(db_url, Dossier) == 0


async def test_remote_dossier_is_copied_locally_and_linked(db_url: str) -> None:
    lookup = DossierLookup(lambda: RemoteSource({RECORD.code: RECORD}))
    assert (await lookup.verify(RECORD.code, "5678", OWNER.conversation_id)).outcome == "ok"
    assert _count(db_url, VerificationAttempt) == 1
    shown = await lookup.show(RECORD.code, OWNER)
    assert shown.allowed and shown.record == RECORD and not shown.was_linked
    assert _count(db_url, Dossier) == 1
    assert lookup.may_view(RECORD.code, OWNER)
    assert [r.code for r in await lookup.linked(OWNER, 10)] == [RECORD.code]
    assert (await lookup.show(RECORD.code, OWNER)).was_linked


async def test_local_source_is_not_rewritten(db_url: str) -> None:
    with session_scope(db_url) as session:
        upsert_dossier(session, RECORD)
        assert link_dossier(session, RECORD.code, OWNER.channel, OWNER.user_id)
    history = _count(db_url, DossierStatusHistory)
    changed = dataclasses.replace(RECORD, status="ready")

    class Stale(LocalDossierSource):
        async def get(self, code: str) -> Optional[DossierRecord]:
            return changed  # would add a history row if it were upserted

    shown = await DossierLookup(lambda: Stale(db_url)).show(RECORD.code, OWNER)
    assert shown.allowed and shown.was_linked and shown.record == changed
    assert _count(db_url, DossierStatusHistory) == history


async def test_unknown_code_is_allowed_but_empty(db_url: str) -> None:
    with session_scope(db_url) as session:
        upsert_dossier(session, RECORD)
        link_dossier(session, RECORD.code, OWNER.channel, OWNER.user_id)
    shown = await DossierLookup(lambda: RemoteSource({})).show(RECORD.code, OWNER)
    assert shown.allowed and shown.record is None and shown.was_linked
