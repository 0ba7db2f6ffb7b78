"""Production sign-in: RS256 tokens checked against the identity provider's JWKS (JWT_JWKS_URL), served here by a
local HTTP server. The dev HS256 key is not accepted then, nor any token not signed by a published key."""

from __future__ import annotations

import base64
import dataclasses
import json
from datetime import datetime, timedelta, timezone

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from starlette.testclient import TestClient

from infra.auth import TokenVerifier
from tests.jwks import KID, JwksServer, public_jwk, rsa_key
from tests.jwks import rs256 as signed

ME = "{ me { user { email } } }"
NOW = datetime.now(timezone.utc)  # token lifetimes are checked against the real clock

PROVIDER_KEY = rsa_key()
OTHER_KEY = rsa_key()


@pytest.fixture
def jwks():
    with JwksServer([public_jwk(PROVIDER_KEY)]) as server:
        yield server


@pytest.fixture
def production_client(services, jwks):
    """The app as deployed: JWT_JWKS_URL set, no dev key."""
    from resolvers.http import create_app

    settings = dataclasses.replace(services.settings, jwt_jwks_url=jwks.url, jwt_dev_secret=None)
    production = dataclasses.replace(services, settings=settings, verifier=TokenVerifier(settings))
    with TestClient(create_app(production)) as client:
        yield client


def claims(demo, **overrides) -> dict:
    base = {"sub": demo.users["nordit_admin"].id, "iss": "partnerhub-local", "aud": "partnerhub",
            "iat": NOW - timedelta(minutes=1), "exp": NOW + timedelta(hours=1)}
    return {key: value for key, value in {**base, **overrides}.items() if value is not None}


def rs256(payload: dict, key=PROVIDER_KEY, kid: str | None = KID) -> str:
    return signed(payload, key, kid)


def call(client, token: str):
    return client.post("/graphql", json={"query": ME}, headers={"Authorization": f"Bearer {token}"})


def test_a_token_signed_by_a_published_key_gets_data_and_the_keys_are_fetched_once(production_client, demo, jwks):
    for _ in range(3):
        response = call(production_client, rs256(claims(demo)))
        assert response.status_code == 200, response.text
        assert response.json()["data"]["me"]["user"]["email"] == "admin@nordit.example"
    assert jwks.fetches == 1


def _public_key_as_hmac_secret_token(demo) -> str:
    """The classic algorithm confusion: HS256 'signed' with the provider's public key, which anyone can read."""
    import hashlib
    import hmac

    pem = PROVIDER_KEY.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def part(obj) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj, default=lambda d: int(d.timestamp())).encode()).decode().rstrip("=")

    signing_input = f"{part({'alg': 'HS256', 'typ': 'JWT', 'kid': KID})}.{part(claims(demo))}"
    signature = base64.urlsafe_b64encode(hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()).decode().rstrip("=")
    return f"{signing_input}.{signature}"


@pytest.mark.parametrize("case,expected_message", [
    ("signed by another key under the published kid", "not valid"),
    ("unknown kid", "not valid"),
    ("no kid", "not valid"),
    ("HS256 with the dev key", "not valid"),
    ("HS256 with the public key as secret", "not valid"),
    ("alg none", "not valid"),
    ("expired", "expired"),
    ("wrong audience", "audience"),
    ("wrong issuer", "issuer"),
])
def test_tokens_not_signed_by_a_published_key_or_not_meant_for_us_are_refused(production_client, services, demo, case,
                                                                              expected_message):
    def unsigned() -> str:
        def part(obj) -> str:
            return base64.urlsafe_b64encode(json.dumps(obj, default=lambda d: int(d.timestamp())).encode()).decode().rstrip("=")
        return f"{part({'alg': 'none', 'typ': 'JWT', 'kid': KID})}.{part(claims(demo))}."

    token = {
        "signed by another key under the published kid": lambda: rs256(claims(demo), key=OTHER_KEY),
        "unknown kid": lambda: rs256(claims(demo), key=OTHER_KEY, kid="someone-elses-key"),
        "no kid": lambda: rs256(claims(demo), kid=None),
        "HS256 with the dev key": lambda: jwt.encode(claims(demo), services.settings.jwt_dev_secret, algorithm="HS256"),
        "HS256 with the public key as secret": lambda: _public_key_as_hmac_secret_token(demo),
        "alg none": unsigned,
        "expired": lambda: rs256(claims(demo, exp=NOW - timedelta(seconds=1))),
        "wrong audience": lambda: rs256(claims(demo, aud="someone-else")),
        "wrong issuer": lambda: rs256(claims(demo, iss="https://evil.example")),
    }[case]()
    response = call(production_client, token)
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert expected_message in body["errors"][0]["message"]


def test_a_rotated_key_is_fetched_when_a_token_names_it_at_most_every_30_seconds(production_client, demo, jwks,
                                                                                 monkeypatch):
    import jwt.jwks_client

    clock = [1000.0]
    monkeypatch.setattr(jwt.jwks_client.time, "monotonic", lambda: clock[0])
    assert call(production_client, rs256(claims(demo))).status_code == 200
    jwks.keys = [public_jwk(PROVIDER_KEY), public_jwk(OTHER_KEY, kid="partnerhub-2027")]
    rotated = rs256(claims(demo), key=OTHER_KEY, kid="partnerhub-2027")

    # Unknown kids right after a fetch do not make every request fetch the keys again (anyone can send one).
    clock[0] += 10
    assert call(production_client, rotated).status_code == 401
    assert jwks.fetches == 1

    clock[0] += 21
    response = call(production_client, rotated)
    assert response.status_code == 200, response.text
    assert jwks.fetches == 2


def test_unreachable_signing_keys_answer_503_not_401_so_clients_keep_their_token(services, demo):
    from resolvers.http import create_app

    server = JwksServer([public_jwk(PROVIDER_KEY)])
    server.failing = True
    settings = dataclasses.replace(services.settings, jwt_jwks_url=server.url, jwt_dev_secret=None)
    production = dataclasses.replace(services, settings=settings, verifier=TokenVerifier(settings))
    try:
        with TestClient(create_app(production)) as client:
            response = call(client, rs256(claims(demo)))
            assert response.status_code == 503, response.text
            body = response.json()
            assert body["data"] is None
            assert body["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
            assert "signing keys could not be fetched" in body["errors"][0]["message"]
            assert response.headers["retry-after"] == "5"

            server.failing = False  # the provider is back: the same token works
            assert call(client, rs256(claims(demo))).status_code == 200
    finally:
        server.close()
