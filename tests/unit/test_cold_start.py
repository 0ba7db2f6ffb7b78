"""Importing the Lambda handler does only what every request needs: no AWS client, nothing heavy for later."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys
import handler
from infra.dynamo import connection
print(json.dumps({
    "botocore sessions": int(connection._session is not None),
    "DynamoDB clients": len(connection._clients),
    "SES client": int("_client" in vars(handler._services().mailer)),
    "S3 client": int("_client" in vars(handler._services().documents)),
    "modules": sorted(m for m in ("boto3", "email_validator", "moto", "pydyf", "sepaxml", "schema", "strawberry") if m in sys.modules),
}))
"""


def probe(lambda_handler: str) -> dict:
    env = {**os.environ, "JWT_DEV_SECRET": "cold-start-test-secret", "EMAIL_BACKEND": "ses", "_HANDLER": lambda_handler}
    env.pop("DYNAMODB_ENDPOINT", None)
    result = subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_importing_the_handler_creates_no_aws_client_and_loads_nothing_the_first_request_does_not_need():
    # The API function builds its GraphQL schema at import (Lambda's init phase), but no AWS client.
    assert probe("handler.handler") == {
        "botocore sessions": 0, "DynamoDB clients": 0, "SES client": 0, "S3 client": 0, "modules": ["schema", "strawberry"],
    }


def test_a_job_function_loads_no_graphql():
    assert probe("handler.run_billing") == {
        "botocore sessions": 0, "DynamoDB clients": 0, "SES client": 0, "S3 client": 0, "modules": [],
    }


GRAPHQL_MODULES = [*sorted((ROOT / "schema").glob("*.py")),
                   *(ROOT / "resolvers" / name for name in ("invoices.py", "node.py", "organisations.py", "partner_programme.py",
                                                             "subscriptions.py", "tickets.py"))]


def test_graphql_types_use_evaluated_annotations():
    # String annotations cost Strawberry an evaluation each while it builds the schema at import (see schema/__init__.py).
    postponed = [path.relative_to(ROOT).as_posix() for path in GRAPHQL_MODULES
                 if "from __future__ import annotations" in path.read_text().splitlines()]
    assert postponed == []
