"""The Mangum handler answers real API Gateway HTTP API (v2) events."""

from __future__ import annotations

import json

import pytest



def http_api_event(body: dict | None, *, token: str | None, method: str = "POST", path: str = "/graphql") -> dict:
    headers = {"content-type": "application/json", "host": "api.partnerhub.example"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    return {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "api.partnerhub.example",
            "domainPrefix": "api",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "pytest"},
            "requestId": "req-1",
            "routeKey": f"{method} {path}",
            "stage": "$default",
            "time": "23/Nov/2026:09:00:00 +0000",
            "timeEpoch": 1795424400000,
        },
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }


class LambdaContext:
    function_name = "partnerhub-test-api"
    memory_limit_in_mb = 1024
    aws_request_id = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@pytest.fixture
def lambda_handler(services, monkeypatch):
    import handler
    from resolvers.http import create_app
    from mangum import Mangum

    # The module-level handler is built from environment settings; point a twin at the test services.
    monkeypatch.setattr(handler, "app", create_app(services))
    return Mangum(handler.app, lifespan="off")


def test_module_exports_app_and_handler():
    import handler

    assert callable(handler.handler) and handler.app is not None


def test_graphql_query_through_api_gateway_v2_event(lambda_handler, services, demo):
    from infra.auth import mint_dev_token

    token = mint_dev_token(services.settings, demo.users["hanse_it"].id)
    response = lambda_handler(http_api_event({"query": "{ me { user { email } organisation { ... on Customer { name } } } }"}, token=token), LambdaContext())
    assert response["statusCode"] == 200
    data = json.loads(response["body"])["data"]
    assert data["me"] == {"user": {"email": "it@hanse.example"}, "organisation": {"name": "Hanse Logistik AG"}}


def test_api_gateway_event_without_token_is_unauthorised(lambda_handler, demo):
    response = lambda_handler(http_api_event({"query": "{ me { user { email } } }"}, token=None), LambdaContext())
    assert response["statusCode"] == 401
    assert json.loads(response["body"])["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_health_route_needs_no_token(lambda_handler):
    response = lambda_handler(http_api_event(None, token=None, method="GET", path="/health"), LambdaContext())
    assert response["statusCode"] == 200 and json.loads(response["body"]) == {"status": "ok"}


def test_graphiql_is_off_unless_enabled(lambda_handler):
    event = http_api_event(None, token=None, method="GET")
    event["headers"]["accept"] = "text/html"
    response = lambda_handler(event, LambdaContext())
    assert response["statusCode"] == 401
