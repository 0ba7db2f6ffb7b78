"""End-to-end fixtures: the ASGI app over moto, demo data, one token per actor."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.conftest import NOW


def ok(payload: dict) -> dict:
    """A mutation's payload that reports no errors (fails the test, showing them, otherwise)."""
    assert payload["errors"] == [], payload["errors"]
    return payload


class Api:
    """Posts GraphQL operations as one actor and returns the parsed response."""

    def __init__(self, client: TestClient, token: str | None) -> None:
        self.client = client
        self.token = token

    def post(self, query: str, variables: dict | None = None, *, headers: dict | None = None):
        all_headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        all_headers.update(headers or {})
        return self.client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=all_headers)

    def __call__(self, query: str, variables: dict | None = None) -> dict:
        response = self.post(query, variables)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]


class Clock:
    """The application's clock in tests: set ``now`` to travel in time."""

    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock(NOW)


@pytest.fixture
def services(aws, clock):
    from infra.bootstrap import build_services
    from infra.email import MemoryMailer

    return build_services(mailer=MemoryMailer(), clock=clock)


@pytest.fixture
def failing_mailer(services):
    """The mail service refuses every message (SES throttling) until ``restore()``."""
    real_send = services.mailer.send

    class Switch:
        def restore(self):
            services.mailer.send = real_send

    def refuse(message):
        raise RuntimeError("SES: Throttling - Maximum sending rate exceeded")

    services.mailer.send = refuse
    yield Switch()
    services.mailer.send = real_send


@pytest.fixture
def demo(services, clock):
    from infra.demo import seed

    data = seed(services.uow(), clock.now)
    services.mailer.sent.clear()  # demo set-up mail is not what tests look at
    return data


@pytest.fixture
def client(services):
    from resolvers.http import create_app

    with TestClient(create_app(services)) as test_client:
        yield test_client


@pytest.fixture
def as_user(client, services, demo):
    """``as_user("nordit_admin")`` gives an Api that acts as that demo user."""
    from infra.auth import mint_dev_token

    def make(key: str) -> Api:
        # Tokens expire by the real clock, not the application's test clock.
        return Api(client, mint_dev_token(services.settings, demo.users[key].id))

    return make


@pytest.fixture
def ops(as_user):
    """The distributor's staff (the demo's ops user)."""
    return as_user("distributor")
