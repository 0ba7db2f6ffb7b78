"""Hostile input: schemathesis generates operations from the schema and posts them as a signed-in user.

Every query and mutation field of the schema gets FUZZ_EXAMPLES generated operations (default 3;
``FUZZ_EXAMPLES=50 pytest tests/e2e/test_fuzzing.py -s`` for a longer run). No answer may be a 5xx,
and no answer may carry the text of an exception the server logged as unexpected.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from datetime import timezone

import pytest
from graphql import StringValueNode

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "3"))
INTERNALS = ("Traceback", 'File "', "botocore", "pynamodb", "moto", "site-packages")


@pytest.fixture
def fuzz_schema(client, services, demo):
    import schemathesis
    from hypothesis import strategies as st

    from infra.auth import mint_dev_token

    def string(values):
        return values.map(lambda value: StringValueNode(value=value))

    # Strawberry's custom scalars travel as strings.
    schemathesis.graphql.scalar("Date", string(st.dates().map(str)))
    schemathesis.graphql.scalar("DateTime", string(st.datetimes(timezones=st.just(timezone.utc)).map(lambda d: d.isoformat())))
    schemathesis.graphql.scalar("Decimal", string(st.decimals(allow_nan=False, allow_infinity=False, places=2).map(str)))
    headers = {"Authorization": f"Bearer {mint_dev_token(services.settings, demo.users['distributor'].id)}"}
    return schemathesis.graphql.from_asgi("/graphql", client.app, headers=headers), headers


def test_generated_operations_get_no_server_error_and_no_exception_text(fuzz_schema, caplog):
    from hypothesis import HealthCheck, Phase, given, settings

    schema, headers = fuzz_schema
    runs: Counter[str] = Counter()
    answers: list[str] = []

    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def fuzz(case):
            response = case.call(headers=headers)
            runs[operation.label] += 1
            assert response.status_code < 500, (case.body, response.text)
            assert not any(marker in response.text for marker in INTERNALS), (case.body, response.text)
            answers.append(response.text)

        with caplog.at_level(logging.ERROR, logger="partnerhub.graphql"):
            fuzz()

    unexpected = [str(r.exc_info[1]) for r in caplog.records if r.name == "partnerhub.graphql" and r.exc_info]
    leaked = [text for text in unexpected if text and any(text in answer for answer in answers)]
    assert leaked == []
    print(f"\nschemathesis: {sum(runs.values())} generated operations over {len(runs)} fields, "
          f"{len(unexpected)} unexpected errors masked, 0 server errors")
    assert len(runs) >= 30 and sum(runs.values()) >= len(runs)
