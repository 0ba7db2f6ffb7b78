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
    "modules": sorted(m for m in ("boto3", "email_validator", "moto", "pydyf", "sepaxml", "schema", "stdnum", "strawberry") if m in sys.modules),
}))
"""


def run_import(code: str, env: dict) -> dict:
    """Runs `code` (which imports the handler and prints JSON) in a fresh interpreter in the repository."""
    result = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def handler_env(lambda_handler: str = "handler.handler", **settings: str) -> dict:
    """This environment, as Lambda's function `lambda_handler` would import the handler: a dev key, AWS's DynamoDB."""
    env = {**os.environ, "JWT_DEV_SECRET": "cold-start-test-secret", "_HANDLER": lambda_handler, **settings}
    env.pop("DYNAMODB_ENDPOINT", None)
    return env


def probe(lambda_handler: str) -> dict:
    return run_import(PROBE, handler_env(lambda_handler, EMAIL_BACKEND="ses"))


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


GARBAGE_COLLECTOR = """
import gc, json, sys
try:
    import handler
    outcome = "imported"
except RuntimeError as error:
    outcome = str(error)
print(json.dumps({"outcome": outcome, "enabled": gc.isenabled(), "frozen": gc.get_freeze_count(),
                  "compiled methods": len(sys.modules["infra.dataclass_cache"].installed().compiled)}))
"""


def test_the_import_freezes_what_it_built_and_leaves_the_garbage_collector_on_even_when_it_fails():
    env = handler_env()
    imported = run_import(GARBAGE_COLLECTOR, env)
    assert imported["outcome"] == "imported" and imported["enabled"] is True
    assert imported["frozen"] > 50_000  # the schema, the types, the modules: never scanned again by a collection

    env.pop("JWT_DEV_SECRET"), env.pop("JWT_JWKS_URL", None)
    failed = run_import(GARBAGE_COLLECTOR, env)
    assert failed["outcome"].startswith("Set JWT_JWKS_URL") and failed["enabled"] is True


def test_a_second_import_of_the_handler_compiles_no_dataclass_method():
    # The first import writes __pycache__/dataclass-methods.* (as Python writes bytecode); the next one compiles none.
    env = handler_env()
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    run_import(GARBAGE_COLLECTOR, env)
    assert run_import(GARBAGE_COLLECTOR, env)["compiled methods"] == 0
