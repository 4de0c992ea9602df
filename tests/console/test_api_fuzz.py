"""Schemathesis fuzzes every operation of the console's OpenAPI document, logged in as an admin: never a 5xx.

Runs against a real console server (``python -m console``) on a scratch SQLite database.
Hypothesis is derandomised, so a run is repeatable; the examples per operation are bounded.
"""

from __future__ import annotations

from typing import Iterator

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from tests.support.console import PASSWORD


@pytest.fixture(scope="module")
def admin_session(console_url: str) -> Iterator[requests.Session]:
    """A requests session logged in as admin1, sending its CSRF token on every call."""
    session = requests.Session()
    response = session.post(f"{console_url}/console/login", allow_redirects=False,
                            data={"username": "admin1", "password": PASSWORD, "next": "/console/"})
    assert response.status_code == 303
    page = session.get(f"{console_url}/console/").text
    marker = 'name="csrf_token" value="'
    start = page.index(marker) + len(marker)
    session.headers["X-CSRF-Token"] = page[start:page.index('"', start)]
    yield session
    session.close()


@pytest.fixture(scope="module")
def api_schema(console_url: str):  # type: ignore[no-untyped-def]
    """The console's OpenAPI document, as the running server publishes it."""
    return schemathesis.openapi.from_url(f"{console_url}/console/api/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_no_operation_answers_5xx(case, console_url: str, admin_session: requests.Session):  # type: ignore[no-untyped-def]
    if case.path == "/console/api/auth/logout":  # would end the shared session
        return
    case.call_and_validate(base_url=console_url, session=admin_session, checks=[not_a_server_error])
