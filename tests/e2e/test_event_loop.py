"""Resolvers never block the event loop: every DynamoDB, S3 and SES call runs in a worker thread.

The local server (uvicorn) and Lambda (Mangum) run one asyncio event loop; a blocking AWS call made on it
would stall every other request in flight. Resolvers hand blocking domain and repository code to
``Context.run`` (a worker thread). This test posts every query and mutation probe of the isolation test
(one per schema field) as the distributor, who reaches every object, and records the thread of each AWS
call: none may run where an event loop is running.
"""

from __future__ import annotations

import asyncio

import botocore.client

from tests.e2e.test_isolation import NORDIT_SIDE, PROBES, target_of, world  # noqa: F401  (world: fixture)


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def test_no_aws_call_of_any_field_runs_on_the_event_loop(as_user, demo, world, monkeypatch):
    calls: list[tuple[str, bool]] = []
    original = botocore.client.BaseClient._make_api_call

    def recording(client, operation_name, api_params):
        calls.append((operation_name, _on_event_loop()))
        return original(client, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
    api, target = as_user("distributor"), target_of(demo, world, NORDIT_SIDE)
    on_loop = []
    for field, (operation, variables) in PROBES.items():
        before = len(calls)
        assert api.post(operation, variables(target)).status_code == 200, field
        on_loop += [(field, name) for name, loop in calls[before:] if loop]
    assert on_loop == []
    assert len(calls) > len(PROBES)  # the probes did reach DynamoDB


def test_the_check_sees_a_call_made_on_the_event_loop():
    """The detector itself: inside a coroutine it reports the loop, in a worker thread it does not."""

    async def main() -> tuple[bool, bool]:
        return _on_event_loop(), await asyncio.to_thread(_on_event_loop)

    assert asyncio.run(main()) == (True, False)
