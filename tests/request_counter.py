"""Counts DynamoDB requests and items read (and keeps the requests), by wrapping every botocore API call.

Every AWS request a block attempts (DynamoDB, S3, SES, ...) is kept as well, in ``attempts``: what a Lambda's role
must allow (tests/integration/test_job_permissions.py)."""

from __future__ import annotations

import threading
from collections import Counter
from contextlib import contextmanager
from typing import Iterator

import botocore.client


class RequestCount:
    def __init__(self) -> None:
        self.operations: Counter[str] = Counter()
        self.items_read = 0
        self.keys_read: Counter[tuple[str, str]] = Counter()  # (table, id) of each item read that has an "id"
        self.calls: list[tuple[str, dict]] = []  # (operation, parameters) of each request, in order
        # (service, operation, parameters) of every AWS request attempted, of any service, answered or refused:
        # a refused conditional write needs its permission as much as one that succeeds.
        self.attempts: list[tuple[str, str, dict]] = []
        self._lock = threading.Lock()

    @property
    def requests(self) -> int:
        return sum(self.operations.values())

    def record(self, operation: str, params: dict, response: dict) -> None:
        table = params.get("TableName", "")
        read = [(table, item) for item in response.get("Items", [])]
        read += [(table, response["Item"])] if response.get("Item") else []
        if operation == "BatchGetItem":
            read += [(name, item) for name, items in response.get("Responses", {}).items() for item in items]
        with self._lock:
            self.operations[operation] += 1
            self.calls.append((operation, params))
            self.items_read += len(read)
            self.keys_read.update((name, item["id"]["S"]) for name, item in read if "S" in item.get("id", {}))


@contextmanager
def count_requests() -> Iterator[RequestCount]:
    count = RequestCount()
    original = botocore.client.BaseClient._make_api_call

    def counting(self, operation_name, api_params):
        service = self.meta.service_model.service_name
        with count._lock:
            count.attempts.append((service, operation_name, api_params))
        response = original(self, operation_name, api_params)
        if service == "dynamodb":
            count.record(operation_name, api_params, response)
        return response

    botocore.client.BaseClient._make_api_call = counting
    try:
        yield count
    finally:
        botocore.client.BaseClient._make_api_call = original
