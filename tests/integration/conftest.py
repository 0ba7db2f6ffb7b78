"""Integration fixtures: moto's DynamoDB as a real HTTP server, for tests that need true concurrency."""

from __future__ import annotations

import dataclasses
import threading

import pytest


@pytest.fixture
def moto_server(monkeypatch):
    """Settings pointing at a fresh ThreadedMotoServer (DynamoDB and S3) on 127.0.0.1, with the tables and bucket."""
    from moto.dynamodb.responses import DynamoHandler
    from moto.server import ThreadedMotoServer

    from infra.devserver import free_port
    from infra.dynamo.models import configure, create_tables
    from infra.settings import get_settings
    from infra.storage import create_bucket

    # DynamoDB applies each request atomically (a condition is checked and the write made as one step);
    # moto's threaded server does not lock, so a thread switch between the two could lose a write that
    # DynamoDB would refuse. Serialise its DynamoDB requests, as DynamoDB serialises writes to an item.
    one_at_a_time = threading.Lock()
    call_action = DynamoHandler.call_action

    def atomic_call_action(self):
        with one_at_a_time:
            return call_action(self)

    monkeypatch.setattr(DynamoHandler, "call_action", atomic_call_action)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    settings = dataclasses.replace(get_settings(), dynamodb_endpoint=endpoint, s3_endpoint=endpoint)
    try:
        create_tables(settings)
        create_bucket(settings)
        yield settings
    finally:
        server.stop()
        configure(get_settings())  # models back on the in-process mock for the next test
