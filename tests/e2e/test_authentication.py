"""Missing, expired, forged or foreign tokens get a clear 401 and no data."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import jwt
import pytest

# Token lifetimes are checked against the real clock, so tokens are minted relative to it.
NOW = datetime.now(timezone.utc)

ME = "{ me { user { email } } }"


def claims(demo, **overrides):
    base = {
        "sub": demo.users["nordit_admin"].id,
        "iss": "partnerhub-local",
        "aud": "partnerhub",
        "iat": NOW - timedelta(minutes=1),
        "exp": NOW + timedelta(hours=1),
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def call(client, token):
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return client.post("/graphql", json={"query": ME}, headers=headers)


def test_a_valid_token_gets_data(client, services, demo):
    token = jwt.encode(claims(demo), services.settings.jwt_dev_secret, algorithm="HS256")
    response = call(client, token)
    assert response.status_code == 200
    assert response.json()["data"]["me"]["user"]["email"] == "admin@nordit.example"


def _none_alg_token(demo) -> str:
    import base64
    import json

    def part(obj):
        return base64.urlsafe_b64encode(json.dumps(obj, default=lambda d: int(d.timestamp())).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims(demo))}."


@pytest.mark.parametrize(
    "case,expected_message",
    [
        ("missing", "Sign in"),
        ("not bearer", "Sign in"),
        ("garbage", "not valid"),
        ("wrong key", "not valid"),
        ("alg none", "not valid"),
        ("expired", "expired"),
        ("wrong audience", "audience"),
        ("wrong issuer", "issuer"),
        ("unknown user", "does not exist"),
        ("no subject", "not valid"),
    ],
)
def test_bad_tokens_are_refused_with_a_reason(client, services, demo, case, expected_message):
    secret = services.settings.jwt_dev_secret
    tokens = {
        "missing": None,
        "garbage": "abc.def.ghi",
        "wrong key": jwt.encode(claims(demo), "another-secret-of-sufficient-length-0123456789", algorithm="HS256"),
        "alg none": _none_alg_token(demo),
        "expired": jwt.encode(claims(demo, exp=NOW - timedelta(seconds=1)), secret, algorithm="HS256"),
        "wrong audience": jwt.encode(claims(demo, aud="someone-else"), secret, algorithm="HS256"),
        "wrong issuer": jwt.encode(claims(demo, iss="https://evil.example"), secret, algorithm="HS256"),
        "unknown user": jwt.encode(claims(demo, sub="usr_doesnotexist"), secret, algorithm="HS256"),
        "no subject": jwt.encode(claims(demo, sub=None), secret, algorithm="HS256"),
    }
    if case == "not bearer":
        response = client.post("/graphql", json={"query": ME}, headers={"Authorization": "Basic dXNlcjpwYXNz"})
    else:
        response = call(client, tokens[case])
    assert response.status_code == 401
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert expected_message in body["errors"][0]["message"]
    assert response.headers["www-authenticate"].startswith("Bearer")
