"""Bearer-token verification (PyJWT): JWKS (Cognito) in AWS, an HS256 dev key locally."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import cached_property
from typing import Any

import jwt

from infra.settings import Settings


class InvalidToken(Exception):
    """The token is missing, expired, forged or not meant for us; the message says which."""


class TokenVerifier:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        if not settings.jwt_jwks_url and not settings.jwt_dev_secret:
            raise RuntimeError("Set JWT_JWKS_URL (production) or JWT_DEV_SECRET (local development).")

    @cached_property
    def _jwks(self) -> jwt.PyJWKClient:
        return jwt.PyJWKClient(self._settings.jwt_jwks_url, cache_keys=True)

    def verify(self, token: str) -> dict[str, Any]:
        settings = self._settings
        try:
            if settings.jwt_jwks_url:
                key: Any = self._jwks.get_signing_key_from_jwt(token).key
                algorithms = ["RS256"]
            else:
                key, algorithms = settings.jwt_dev_secret, ["HS256"]
            return jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=settings.jwt_audience,
                issuer=settings.jwt_issuer,
                options={"require": ["exp", "iat", settings.jwt_user_claim]},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("The token has expired; sign in again.") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken("The token was issued for another audience.") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken("The token was issued by an unknown issuer.") from None
        except jwt.PyJWTError:
            raise InvalidToken("The token is not valid.") from None

    def user_id(self, claims: dict[str, Any]) -> str:
        return str(claims[self._settings.jwt_user_claim])


def mint_dev_token(settings: Settings, user_id: str, *, now: datetime | None = None, lifetime: timedelta = timedelta(hours=12)) -> str:
    """A token signed with the local HS256 dev key, for development and tests only."""
    if not settings.jwt_dev_secret:
        raise RuntimeError("JWT_DEV_SECRET is not set; dev tokens exist only locally.")
    issued = now or datetime.now(timezone.utc)
    claims = {
        settings.jwt_user_claim: user_id,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": issued,
        "exp": issued + lifetime,
    }
    return jwt.encode(claims, settings.jwt_dev_secret, algorithm="HS256")
