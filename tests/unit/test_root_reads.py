"""Which ids a query's root fields read early (resolvers/sign_in.py): literal or variable ids of the field's own
kind, each aliased field too; nothing under a directive, of another kind, or of another operation."""

from __future__ import annotations

from graphql import parse

from resolvers.sign_in import operation_of, root_ids

SUB, INV, CUS, TKT = "sub_0123456789abcdef0123", "inv_0123456789abcdef0123", "cus_0123456789abcdef0123", "tkt_0123456789abcdef0123"


def ids_of(query: str, variables: dict | None = None, name: str | None = None) -> list[str]:
    return root_ids(operation_of(parse(query), name), variables)


def test_literal_and_variable_ids_of_the_fields_own_kind():
    query = f'query($s: ID!, $t: ID!) {{ subscription(id: $s) {{ id }} invoice(id: "{INV}") {{ id }} ticket(id: $t) {{ id }} node(id: "{CUS}") {{ id }} }}'
    assert ids_of(query, {"s": SUB, "t": TKT}) == [SUB, INV, TKT, CUS]


def test_aliases_each_read():
    assert ids_of(f'{{ a: customer(id: "{CUS}") {{ id }} b: subscription(id: "{SUB}") {{ id }} }}') == [CUS, SUB]


def test_nothing_of_another_kind_under_a_directive_or_missing():
    assert ids_of(f'{{ customer(id: "{SUB}") {{ id }} }}') == []  # a subscription id asked of `customer`: finds nothing anyway
    assert ids_of(f'query($x: Boolean!) {{ subscription(id: "{SUB}") @include(if: $x) {{ id }} }}', {"x": False}) == []
    assert ids_of("query($s: ID!) { subscription(id: $s) { id } }", {}) == []
    assert ids_of("query($s: ID!) { subscription(id: $s) { id } }", {"s": 42}) == []
    assert ids_of(f'{{ customers(first: 5) {{ nodes {{ id }} }} me {{ user {{ id }} }} subscription(id: "garbage") {{ id }} }}') == []


def test_the_named_operation_only():
    query = f'query A {{ subscription(id: "{SUB}") {{ id }} }} query B {{ invoice(id: "{INV}") {{ id }} }}'
    assert ids_of(query, name="B") == [INV]
    assert operation_of(parse(query), None) is None  # ambiguous without a name: GraphQL refuses it before execution
