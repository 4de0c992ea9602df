"""Who may see a dossier: decided from server-side state at the moment it is shown.

A conversation may see a dossier's details only when

* it is a private chat (never a group: :attr:`ConversationIdentity.private`), and
* its channel identity has linked the dossier (a ``dossier_links`` row, made after an
  earlier successful verification in that identity's private chat), or this very
  conversation verified the phone ending within the proof window
  (a successful ``verification_attempts`` row with this conversation id).

Nothing in the conversation's slots or in what the citizen typed takes part.
"""

from __future__ import annotations

from typing import List, Optional

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from bot.conversations.identity import ConversationIdentity
from bot.db.models import ChatUser, Dossier, DossierLink
from bot.dossiers.verification import VerificationGuard

# Built once (issue 15); the identity and the code are bound parameters.
_LINKED_CODES = (select(Dossier.code).join(DossierLink, DossierLink.dossier_id == Dossier.id)
                 .join(ChatUser, ChatUser.id == DossierLink.chat_user_id)
                 .where(ChatUser.channel == bindparam("channel"), ChatUser.channel_user_id == bindparam("user_id"))
                 .order_by(DossierLink.id))
_LINKED = (select(DossierLink.id).join(Dossier, Dossier.id == DossierLink.dossier_id)
           .join(ChatUser, ChatUser.id == DossierLink.chat_user_id)
           .where(Dossier.code == bindparam("code"), ChatUser.channel == bindparam("channel"),
                  ChatUser.channel_user_id == bindparam("user_id")))


def linked_codes(session: Session, identity: Optional[ConversationIdentity]) -> List[str]:
    """Codes of the dossiers linked to ``identity`` (oldest link first)."""
    if identity is None:
        return []
    return list(session.execute(_LINKED_CODES, {"channel": identity.channel, "user_id": identity.user_id}).scalars())


def is_linked(session: Session, code: str, identity: Optional[ConversationIdentity]) -> bool:
    """True when ``identity`` has linked dossier ``code``."""
    if identity is None:
        return False
    found = session.execute(_LINKED, {"code": code, "channel": identity.channel, "user_id": identity.user_id})
    return found.first() is not None


def may_view(session: Session, guard: VerificationGuard, code: str,
             identity: Optional[ConversationIdentity]) -> bool:
    """True when ``identity`` may see the details of dossier ``code`` now."""
    if identity is None or not identity.private or not code:
        return False
    return is_linked(session, code, identity) or guard.proven(code, identity.conversation_id)
