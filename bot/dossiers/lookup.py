"""What the dossier dialogue asks of the dossier services, given the configured source.

The action server hands :class:`DossierLookup` a way to get its dossier source (the
one-stop REST client or :class:`~bot.dossiers.sources.LocalDossierSource`); everything
else (who may see a code, the guessing budgets, links, the local copy) is decided here,
from server-side state. Errors are not swallowed: :class:`~bot.dossiers.sources.SourceUnavailable`
and ``SQLAlchemyError`` reach the caller, which apologises.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, List, Optional

from sqlalchemy.orm import Session

from bot.conversations.identity import ConversationIdentity
from bot.db.session import read_scope, session_scope
from bot.dossiers.access import is_linked, linked_codes, may_view
from bot.dossiers.service import DossierRecord, link_dossier, upsert_dossier
from bot.dossiers.sources import DossierSource, LocalDossierSource
from bot.dossiers.verification import Budgets, VerificationGuard, VerifyResult
from bot.settings import get_settings


def guard(session: Session) -> VerificationGuard:
    """The verification guard with the configured budgets."""
    return VerificationGuard(session, Budgets.from_settings(get_settings()))


@dataclass(frozen=True)
class Shown:
    """The outcome of :meth:`DossierLookup.show`."""

    allowed: bool  # False: show nothing at all
    record: Optional[DossierRecord] = None  # None while allowed: the source does not know the code
    was_linked: bool = False  # linked to this identity before this showing


class DossierLookup:
    """Dossier look-ups for one conversation turn; ``source`` is called when a source is needed."""

    def __init__(self, source: Callable[[], DossierSource]) -> None:
        self._source = source

    async def linked(self, identity: Optional[ConversationIdentity], limit: int) -> List[DossierRecord]:
        """The newest ``limit`` dossiers linked to ``identity`` that the source still knows."""
        with read_scope() as session:
            codes = linked_codes(session, identity)
        source = self._source()
        return [r for r in [await source.get(c) for c in codes[-limit:]] if r is not None]

    @staticmethod
    def may_view(code: str, identity: Optional[ConversationIdentity]) -> bool:
        """True when ``identity`` may see dossier ``code`` now (linked, or verified in this conversation)."""
        with read_scope() as session:
            return may_view(session, guard(session), code, identity)

    async def verify(self, code: str, given_last4: str, sender_key: str) -> VerifyResult:
        """Check a phone ending against the dossier, within the guessing budgets."""
        record = await self._source().get(code)
        with session_scope() as session:
            return guard(session).check(code, given_last4, record, sender_key)

    async def show(self, code: str, identity: ConversationIdentity) -> Shown:
        """The dossier to show ``identity``, re-checking from the database who may see it; links it.

        A dossier from a remote source is also kept as a local copy (for links and reminders).
        """
        with read_scope() as session:
            allowed = may_view(session, guard(session), code, identity)
            was_linked = allowed and is_linked(session, code, identity)
        if not allowed:
            return Shown(False)
        source = self._source()
        record = await source.get(code)
        if record is None:
            return Shown(True, None, was_linked)
        with session_scope() as session:
            if not isinstance(source, LocalDossierSource):
                upsert_dossier(session, record)
            link_dossier(session, code, identity.channel, identity.user_id)
        return Shown(True, record, was_linked)
