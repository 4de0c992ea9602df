"""Answers that only read the catalogue run outside a transaction (issue 15, docs/profile.md item 28).

A procedure answer, a choice, a page of procedures, a contact, a bare answer routed to the catalogue and
the hotline read committed data only; they open no ``BEGIN``/``COMMIT`` unit of work (two round trips to
PostgreSQL saved per question), and they still answer the same.
"""

from __future__ import annotations

from typing import Iterator, List

import pytest
from sqlalchemy import event, select

from actions.common import hotline
from actions.contact import ActionContact
from actions.procedures import ActionAnswerProcedure, ActionSearchProcedures
from actions.routing import ActionRouteInform
from bot.db.models import Agency
from bot.db.session import get_engine, session_scope
from tests.actions.conftest import run, tracker

BIRTH = "1.001193"


@pytest.fixture
def commits(catalogue_db: str) -> Iterator[List[str]]:
    """The commits of the database's transactional engine while the test runs."""
    seen: List[str] = []
    engine = get_engine(catalogue_db)

    def on_commit(_conn) -> None:  # type: ignore[no-untyped-def]
        seen.append("commit")

    event.listen(engine, "commit", on_commit)
    yield seen
    event.remove(engine, "commit", on_commit)


async def test_procedure_questions_commit_nothing_and_answer_the_same(commits: List[str], domain: dict) -> None:
    cases = [(ActionAnswerProcedure(), "làm giấy khai sinh cần giấy tờ gì", "ask_documents", {},
              "utter_procedure_documents"),
             (ActionAnswerProcedure(), "còn lệ phí thì sao?", "ask_fee", {"procedure": BIRTH}, "utter_procedure_fee"),
             (ActionAnswerProcedure(), "lam ho chieu can giay to gi", "ask_documents", {}, None),
             (ActionSearchProcedures(), "các thủ tục lĩnh vực hộ tịch", "search_procedures", {}, None),
             (ActionRouteInform(), "dang ky ket hon", "inform", {}, None),
             (ActionContact(), "sdt mot cua xa au lau", "ask_contact", {}, "utter_contact")]
    for action, text, intent, slots, expected in cases:
        _, said, messages = await run(action, tracker("zalo:1", slots, text=text, intent=intent), domain)
        assert said and "utter_dossier_unavailable" not in said, (text, said)
        if expected:
            assert said[0] == expected, (text, said)
        if said[0].startswith("utter_procedure_") and "procedure_name" in messages[0]:
            assert messages[0]["procedure_name"], text
    assert commits == []


def test_the_hotline_is_read_without_a_transaction_and_sees_a_committed_change(commits: List[str]) -> None:
    before = hotline()
    assert commits == [] and before
    with session_scope() as session:   # staff change the centre's hotline
        centre = session.execute(select(Agency).where(Agency.level == "province", Agency.hotline.is_not(None))
                                 .order_by(Agency.id).limit(1)).scalar_one()
        centre.hotline = "0216 999 9999"
    commits.clear()
    assert hotline() == "0216 999 9999" and commits == []
