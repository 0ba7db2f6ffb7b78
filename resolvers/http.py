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
from infra.auth import InvalidToken
from infra.bootstrap import Services, build_services
from resolvers import public_applications
from resolvers.context import Context
from resolvers.loaders import Loaders
from resolvers.referrals import referral_link

log = logging.getLogger("partnerhub.http")


def _unauthenticated(message: str) -> JSONResponse:
    return JSONResponse(
        {"data": None, "errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}]},
        status_code=401,
        headers={"WWW-Authenticate": 'Bearer realm="partnerhub"'},
    )


class AuthenticationFailed(Exception):
    pass


def authenticate(services: Services, authorization: str | None) -> Principal:
    """Verify the bearer token and load the user it names; inactive or unknown users get nothing."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed("Sign in: send 'Authorization: Bearer <token>'.")
    try:
        claims = services.verifier.verify(token.strip())
    except InvalidToken as exc:
        raise AuthenticationFailed(str(exc)) from None
    user = services.uow().users.get(services.verifier.user_id(claims))
    if user is None or not user.active:
        raise AuthenticationFailed("The token's user does not exist or is deactivated.")
    return Principal.of(user)


class PartnerhubGraphQL(GraphQL):
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
                    principal = await asyncio.to_thread(authenticate, self.services, request.headers.get("authorization"))
                except AuthenticationFailed as exc:
                    await _unauthenticated(str(exc))(scope, receive, send)
                    return
                scope.setdefault("state", {})["principal"] = principal
        await super().__call__(scope, receive, send)

    async def get_context(self, request: Request, response: Response) -> Context:
        return Context(
            # Absent only while serving the GraphiQL page, which resolves nothing.
            principal=request.scope.get("state", {}).get("principal"),
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
