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
    "SES client": int("_client" in vars(handler.app.state.services.mailer)),
    "S3 client": int("_client" in vars(handler.app.state.services.documents)),
    "modules": sorted(m for m in ("boto3", "email_validator", "moto", "pydyf", "sepaxml") if m in sys.modules),
}))
"""


def test_importing_the_handler_creates_no_aws_client_and_loads_nothing_the_first_request_does_not_need():
    env = {**os.environ, "JWT_DEV_SECRET": "cold-start-test-secret", "EMAIL_BACKEND": "ses"}
    env.pop("DYNAMODB_ENDPOINT", None)
    result = subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "botocore sessions": 0, "DynamoDB clients": 0, "SES client": 0, "S3 client": 0, "modules": [],
    }
