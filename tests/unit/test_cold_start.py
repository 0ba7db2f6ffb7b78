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
from infra import aws
from infra.dynamo import connection
print(json.dumps({
    "botocore sessions": int(aws._session is not None),
    "DynamoDB clients": len(connection._clients),
    "SES client": int("_client" in vars(handler._services().mailer)),
    "S3 client": int("_client" in vars(handler._services().documents)),
    "KMS client": int("_client" in vars(handler._services().secrets)),
    "modules": sorted(m for m in ("boto3", "cryptography.hazmat.bindings._rust", "email_validator", "jwt", "moto", "pydyf", "sepaxml", "schema", "stdnum", "strawberry") if m in sys.modules),
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
    # The API function builds its GraphQL schema at import (Lambda's init phase), but no AWS client, and loads PyJWT
    # (and cryptography) with the first token it checks (infra/auth.py).
    assert probe("handler.handler") == {
        "botocore sessions": 0, "DynamoDB clients": 0, "SES client": 0, "S3 client": 0, "KMS client": 0, "modules": ["schema", "strawberry"],
    }


def test_a_job_function_loads_no_graphql():
    assert probe("handler.run_billing") == {
        "botocore sessions": 0, "DynamoDB clients": 0, "SES client": 0, "S3 client": 0, "KMS client": 0, "modules": [],
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



LAZY_X509 = """
import datetime, json, sys
import handler
import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

def x509_ran():
    return "cryptography.x509.base" in sys.modules

ran = {"at import": x509_ran()}
# RS256 with a public key, as the JWKS gives it (production): x509 is not needed.
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
rs256 = jwt.decode(jwt.encode({"sub": "usr_1"}, key, algorithm="RS256"), key.public_key(), algorithms=["RS256"])["sub"]
ran["for RS256"] = x509_ran()
# HS256 (the dev key): PyJWT makes sure the secret is no DER certificate, which loads x509 then.
secret = "a-dev-secret-of-sufficient-length-0123456789"
hs256 = jwt.decode(jwt.encode({"sub": "usr_2"}, secret, algorithm="HS256"), secret, algorithms=["HS256"])["sub"]
ran["for HS256"] = x509_ran()
# Loaded late, x509 works: a certificate given as an HMAC secret is still recognised and refused.
x509 = sys.modules["cryptography.x509"]
name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "idp.example")])
now = datetime.datetime.now(datetime.timezone.utc)
certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
               .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
try:
    jwt.encode({"sub": "usr_3"}, certificate.public_bytes(serialization.Encoding.DER), algorithm="HS256")
    refused = None
except jwt.InvalidKeyError as error:
    refused = str(error)
print(json.dumps({"x509 ran": ran, "decoded": [rs256, hs256], "certificate as secret": refused}))
"""


def test_pyjwt_loads_cryptography_x509_only_when_it_needs_it():
    # About 10 ms of each cold start (bench/coldstart.py): infra/auth.py defers it, and RS256 (production) never needs it.
    outcome = run_import(LAZY_X509, handler_env())
    assert outcome["x509 ran"] == {"at import": False, "for RS256": False, "for HS256": True}
    assert outcome["decoded"] == ["usr_1", "usr_2"]
    assert "x509 certificate" in outcome["certificate as secret"]
