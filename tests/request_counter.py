"""Counts DynamoDB requests and items read, by wrapping every botocore API call."""

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
        self._lock = threading.Lock()

    @property
    def requests(self) -> int:
        return sum(self.operations.values())

    def record(self, operation: str, response: dict) -> None:
        items = len(response.get("Items", []))
        items += 1 if response.get("Item") else 0
        items += sum(len(v) for v in response.get("Responses", {}).values()) if operation == "BatchGetItem" else 0
        with self._lock:
            self.operations[operation] += 1
            self.items_read += items


@contextmanager
def count_requests() -> Iterator[RequestCount]:
    count = RequestCount()
    original = botocore.client.BaseClient._make_api_call

    def counting(self, operation_name, api_params):
        response = original(self, operation_name, api_params)
        if self.meta.service_model.service_name == "dynamodb":
            count.record(operation_name, response)
        return response

    botocore.client.BaseClient._make_api_call = counting
    try:
        yield count
    finally:
        botocore.client.BaseClient._make_api_call = original
