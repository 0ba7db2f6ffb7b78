"""Bearer-token verification (PyJWT): JWKS (Cognito) in AWS, an HS256 dev key locally."""

from __future__ import annotations

import importlib.util
import sys
from datetime import datetime, timedelta, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any

from infra.settings import Settings

if TYPE_CHECKING:
    import jwt


def load_on_first_use(name: str) -> None:
    """Import module `name` now, but run its code only when one of its attributes is first read
    (`importlib.util.LazyLoader`). Nothing changes if it is imported already or not installed."""
    if name in sys.modules:
        return
    try:
        spec = importlib.util.find_spec(name)
    except ModuleNotFoundError:  # its package is not installed
        return
    if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
        return
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, module)


# PyJWT imports `cryptography.x509` for one case: a PEM certificate given as the key. Our keys never are (JWKS keys are
# RSA numbers, the dev key a secret), yet the import is about 10 ms of every cold start (bench/coldstart.py). It now
# runs if a certificate ever is used. (Python 3.11's LazyLoader has no lock: two threads using x509 first at the same
# instant could both run it; nothing of ours uses it.)
load_on_first_use("cryptography.x509")

# PyJWT itself (with the rest of `cryptography` it imports, about 9 ms) is imported by the first token check, not with
# this module: the scheduled jobs, which build the same services, never check a token, and the API function's first
# request needs it anyway to fetch the signing keys (bench/coldstart.py measures both). Imported inside the functions,
# so the import system's lock serves two requests that check their first token at the same time.


JWKS_TIMEOUT_SECONDS = 5


class InvalidToken(Exception):
    """The token is missing, expired, forged or not meant for us; the message says which."""


class SigningKeysUnavailable(Exception):
    """The identity provider's signing keys (JWKS) could not be fetched: the token cannot be checked now, which says
    nothing about the token. Worth retrying."""


class TokenVerifier:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        if not settings.jwt_jwks_url and not settings.jwt_dev_secret:
            raise RuntimeError("Set JWT_JWKS_URL (production) or JWT_DEV_SECRET (local development).")

    @cached_property
    def _jwks(self) -> jwt.PyJWKClient:
        import jwt

        # A request waits at most JWKS_TIMEOUT_SECONDS for the keys (PyJWT's default, 30 s, outlasts API Gateway's 29).
        return jwt.PyJWKClient(self._settings.jwt_jwks_url, cache_keys=True, timeout=JWKS_TIMEOUT_SECONDS)

    def verify(self, token: str) -> dict[str, Any]:
        import jwt

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
        except jwt.PyJWKClientConnectionError:
            raise SigningKeysUnavailable(
                "Sign-in cannot be checked right now: the identity provider's signing keys could not be fetched. "
                "Try again in a moment.") from None
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
    import jwt

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
