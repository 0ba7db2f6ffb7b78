"""The parser and validation caches hit: a query seen before is neither parsed nor validated again."""

from __future__ import annotations

import asyncio


def test_a_repeated_query_is_validated_once(monkeypatch):
    from schema import schema
    from schema.limits import IntrospectionDepthLimit

    validations = []
    enter = IntrospectionDepthLimit.enter_operation_definition

    def counting(self, *args):
        validations.append(1)
        return enter(self, *args)

    monkeypatch.setattr(IntrospectionDepthLimit, "enter_operation_definition", counting)
    for _ in range(3):
        # The schema runs asynchronously only: it waits for the signed-in user (resolvers/sign_in.py).
        assert asyncio.run(schema.execute("query ValidatedOnce { __typename }")).errors is None
    assert len(validations) == 1
