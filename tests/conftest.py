"""Shared fixtures: every test runs against moto's in-process DynamoDB, SES and S3."""

from __future__ import annotations

import os

# Settings are read once; fix them before anything imports infra.settings.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-central-1",
        "AWS_REGION": "eu-central-1",
        "STAGE": "test",
        "TABLE_PREFIX": "partnerhub-test-",
        "JWT_DEV_SECRET": "test-secret-for-hs256-tokens-only-0123456789",
        "JWT_ISSUER": "partnerhub-local",
        "JWT_AUDIENCE": "partnerhub",
        "EMAIL_BACKEND": "memory",
        "GRAPHIQL_ENABLED": "false",
        "KMS_USE_AWS_OUTSIDE_LAMBDA": "true",  # moto answers "AWS" KMS here (infra/secrets.py refuses it on a developer's machine)
    }
)
os.environ.pop("DYNAMODB_ENDPOINT", None)

from datetime import datetime, timezone  # noqa: E402

import pytest  # noqa: E402
from moto import mock_aws  # noqa: E402

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def aws():
    with mock_aws():
        from infra.dynamo.models import create_tables

        from infra.settings import get_settings
        from infra.storage import create_bucket

        create_tables()
        create_bucket(get_settings())
        yield


@pytest.fixture
def uow(aws):
    from infra.dynamo.unit_of_work import DynamoUnitOfWork

    return DynamoUnitOfWork()
