"""What the benchmarks share: a local environment, the API over moto with demo data, tokens, statistics.

Run benchmarks as modules from the repository root (``python -m bench.requests``): run as a file,
``bench/requests.py`` would shadow the ``requests`` library that moto imports.
"""

from __future__ import annotations

import os
import statistics
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterator

# The same local settings as the test suite; set before anything reads infra.settings.
LOCAL_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "eu-central-1",
    "AWS_REGION": "eu-central-1",
    "STAGE": "bench",
    "TABLE_PREFIX": "partnerhub-bench-",
    "JWT_DEV_SECRET": "bench-secret-for-hs256-tokens-only-0123456789",
    "JWT_ISSUER": "partnerhub-local",
    "JWT_AUDIENCE": "partnerhub",
    "EMAIL_BACKEND": "memory",
    "GRAPHIQL_ENABLED": "false",
}


def use_local_environment(**overrides: str) -> None:
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    os.environ.update({**LOCAL_ENVIRONMENT, **overrides})
    if "DYNAMODB_ENDPOINT" not in overrides:
        os.environ.pop("DYNAMODB_ENDPOINT", None)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Stack:
    """The API (ASGI app through Starlette's TestClient) over a DynamoDB with demo data."""

    services: Any
    demo: Any
    client: Any
    now: datetime

    def token(self, actor: str) -> str:
        from infra.auth import mint_dev_token

        return mint_dev_token(self.services.settings, self.demo.users[actor].id)

    def post(self, token: str, query: str, variables: dict | None = None) -> dict:
        response = self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers={"Authorization": f"Bearer {token}"}
        )
        body = response.json()
        if response.status_code != 200 or body.get("errors"):
            raise RuntimeError(f"{response.status_code}: {body}")
        return body["data"]


@contextmanager
def api_stack(settings: Any = None, now: datetime | None = None) -> Iterator[Stack]:
    """Tables, bucket, demo data and the app; DynamoDB is whatever ``settings`` point at (moto's mock by default)."""
    from starlette.testclient import TestClient

    from infra.bootstrap import build_services
    from infra.demo import seed
    from infra.dynamo.models import create_tables
    from infra.email import MemoryMailer
    from infra.settings import get_settings
    from infra.storage import create_bucket
    from resolvers.http import create_app

    settings = settings or get_settings()
    now = now or utc_now()
    create_tables(settings)
    create_bucket(settings)
    services = build_services(settings, mailer=MemoryMailer(), clock=lambda: now)
    demo = seed(services.uow(), now)
    with TestClient(create_app(services)) as client:
        yield Stack(services, demo, client, now)


@contextmanager
def in_process_moto() -> Iterator[None]:
    from moto import mock_aws

    with mock_aws():
        yield


def percentile(samples: list[float], p: float) -> float:
    """The p-th percentile (0-100), interpolated; the median is percentile(s, 50)."""
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[round(p) - 1] if p < 100 else max(samples)


def print_table(headers: list[str], rows: list[list[Any]]) -> None:
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
        if n == 0:
            print("  ".join("-" * w for w in widths))
