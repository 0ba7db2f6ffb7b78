"""The ASGI application: authentication, the GraphQL endpoint and a health check."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from strawberry.asgi import GraphQL

from domain.policy import Principal
from infra.auth import InvalidToken, SigningKeysUnavailable
from infra.bootstrap import Services, build_services
from resolvers import public_applications
from resolvers.context import Context
from resolvers.loaders import Loaders
from resolvers.referrals import referral_link
from resolvers.sign_in import observe

log = logging.getLogger("partnerhub.http")


class AuthenticationFailed(Exception):
    """No user for this request: 401, or 503 when the token could not be checked at all (sign-in keys unavailable)."""

    def __init__(self, message: str, *, unavailable: bool = False) -> None:
        super().__init__(message)
        self.unavailable = unavailable


def _unauthenticated(exc: AuthenticationFailed) -> JSONResponse:
    if exc.unavailable:  # not the token's fault: the client keeps it and retries
        return JSONResponse(
            {"data": None, "errors": [{"message": str(exc), "extensions": {"code": "SERVICE_UNAVAILABLE"}}]},
            status_code=503,
            headers={"Retry-After": "5"},
        )
    return JSONResponse(
        {"data": None, "errors": [{"message": str(exc), "extensions": {"code": "UNAUTHENTICATED"}}]},
        status_code=401,
        headers={"WWW-Authenticate": 'Bearer realm="partnerhub"'},
    )


def authenticate(services: Services, token: str) -> Principal:
    """Verify the bearer token and load the user it names; inactive or unknown users get nothing."""
    try:
        claims = services.verifier.verify(token)
    except InvalidToken as exc:
        raise AuthenticationFailed(str(exc)) from None
    except SigningKeysUnavailable as exc:
        raise AuthenticationFailed(str(exc), unavailable=True) from None
    user = services.uow().users.get(services.verifier.user_id(claims))
    if user is None:
        raise AuthenticationFailed("The token's user does not exist.")
    if not user.active:
        raise AuthenticationFailed("This login is deactivated. An administrator of your organisation can reactivate it.")
    return Principal.of(user)


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed("Sign in: send 'Authorization: Bearer <token>'.")
    return token.strip()


def answer_when_signed_in(signing_in: asyncio.Future, scope, receive, send):
    """An ASGI `send` that holds the response until the user is known, and answers 401 instead if it is not."""
    refused = False

    async def guarded(message) -> None:
        nonlocal refused
        if message["type"] == "http.response.start":
            try:
                await signing_in
            except AuthenticationFailed as exc:
                refused = True
                await _unauthenticated(exc)(scope, receive, send)
                return
        if not refused:
            await send(message)

    return guarded


class PartnerhubGraphQL(GraphQL):
    """The GraphQL endpoint. The token's user is read in a thread while the operation is parsed, validated and its
    root reads by id start (resolvers/sign_in.py); nothing executes and nothing is answered before it is known."""

    def __init__(self, services: Services, **kwargs: Any) -> None:
        from schema import schema

        super().__init__(schema, **kwargs)
        self.services = services

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            request = Request(scope, receive)
            wants_ide = request.method == "GET" and "query" not in request.query_params
            if not (wants_ide and self.graphql_ide):
                try:
                    token = bearer_token(request.headers.get("authorization"))
                except AuthenticationFailed as exc:
                    await _unauthenticated(exc)(scope, receive, send)
                    return
                signing_in = asyncio.ensure_future(asyncio.to_thread(authenticate, self.services, token))
                signing_in.add_done_callback(observe)  # the view may fail before it awaits it: no warning then
                scope.setdefault("state", {})["signing_in"] = signing_in
                await super().__call__(scope, receive, answer_when_signed_in(signing_in, scope, receive, send))
                return
        await super().__call__(scope, receive, send)

    async def get_context(self, request: Request, response: Response) -> Context:
        return Context(
            # Set when the user is known (resolvers/sign_in.py); absent while serving the GraphiQL page.
            principal=None,
            signing_in=request.scope.get("state", {}).get("signing_in"),
            now=self.services.clock(),
            services=self.services,
            loaders=Loaders(self.services.uow()),
            request=request,
            response=response,
        )


async def health(_: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def create_app(services: Services | None = None) -> Starlette:
    services = services or build_services()
    graphql = PartnerhubGraphQL(
        services,
        graphql_ide="graphiql" if services.settings.graphiql_enabled else None,
        allow_queries_via_get=False,
    )
    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/health", health),
            Route("/r", referral_link, methods=["GET"]),  # partner referral links (public)
            # Public partner applications (no account yet); the distributor decides in GraphQL.
            Route("/partner-applications/proof-upload", public_applications.proof_upload, methods=["POST"]),
            Route("/partner-applications", public_applications.submit, methods=["POST"]),
        ]
    )
    app.state.services = services
    return app
