"""Signing in alongside the first read: the request's user is read while the object a query asks for by id is read.

The HTTP app verifies the token and reads its user in a thread (`resolvers/http.py`) and goes on parsing and
validating the operation meanwhile. Before anything executes, `ExecuteWhenSignedIn` starts the reads a query's
root fields make by id (`subscription`, `invoice`, `ticket`, `customer`, `partner`, `node`) into
the request's DataLoaders, then waits for the user. No resolver runs before the user is known: the resolvers
take those objects from the loaders and apply the same policy checks as ever, and a request whose user is unknown
or deactivated executes nothing and is answered 401 by the HTTP app. What this buys is one DynamoDB round trip
per such query (docs/quality.md, section 3).
"""

from __future__ import annotations

from typing import Any, Callable

from graphql import ExecutionResult, GraphQLError
from graphql.language import FieldNode, OperationDefinitionNode, StringValueNode, VariableNode
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from domain.ids import prefix_of
from resolvers.loaders import Loaders

# Root query fields that read one object by its `id` argument, and which id prefixes each of them reads.
ROOT_READS_BY_ID: dict[str, frozenset[str]] = {
    "subscription": frozenset({"sub"}),
    "invoice": frozenset({"inv"}),
    "customer": frozenset({"cus"}),
    "partner": frozenset({"ptn"}),
    "ticket": frozenset({"tkt"}),
    "node": frozenset({"dst", "ptn", "cus", "usr", "inv", "tkt"}),  # the kinds resolvers/node.py reads with a loader
}


def _loader_of(loaders: Loaders, prefix: str) -> Callable[[str], Any]:
    if prefix in ("dst", "ptn", "cus"):
        return loaders.organisation_by_id.load
    return {
        "sub": loaders.subscription_by_id, "inv": loaders.invoice_by_id, "usr": loaders.user_by_id, "tkt": loaders.ticket_by_id,
    }[prefix].load


def root_ids(operation: OperationDefinitionNode, variables: dict[str, Any] | None) -> list[str]:
    """The ids a query's root fields of ROOT_READS_BY_ID ask for, as literals or variables (skipped: fields under
    a directive, ids of another kind than the field reads)."""
    ids = []
    for selection in operation.selection_set.selections:
        if not isinstance(selection, FieldNode) or selection.directives:
            continue
        prefixes = ROOT_READS_BY_ID.get(selection.name.value)
        if prefixes is None:
            continue
        for argument in selection.arguments:
            if argument.name.value != "id":
                continue
            value = argument.value
            if isinstance(value, VariableNode):
                value = (variables or {}).get(value.name.value)
            elif isinstance(value, StringValueNode):
                value = value.value
            if isinstance(value, str) and prefix_of(value) in prefixes:
                ids.append(value)
    return ids


def operation_of(document: Any, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name is not None and o.name.value == name), None)


def prefetch(loaders: Loaders, operation: OperationDefinitionNode, variables: dict[str, Any] | None) -> int:
    """Start the by-id reads of a query's root fields; the resolvers pick them up from the loaders."""
    ids = root_ids(operation, variables)
    for object_id in ids:
        future = _loader_of(loaders, prefix_of(object_id))(object_id)
        future.add_done_callback(observe)  # a read nobody awaits (the user was refused) must not warn
    return len(ids)


def observe(future) -> None:
    """Mark a future's failure as seen (asyncio warns about failures nobody retrieved)."""
    if not future.cancelled():
        future.exception()


class ExecuteWhenSignedIn(SchemaExtension):
    """Queries start their root reads by id, then every operation waits for the signed-in user before it executes."""

    async def on_execute(self):
        context = self.execution_context.context
        signing_in = getattr(context, "signing_in", None)
        if signing_in is not None and context.principal is None:
            if self.execution_context.operation_type is OperationType.QUERY:
                operation = operation_of(self.execution_context.graphql_document, self.execution_context.operation_name)
                if operation is not None:
                    prefetch(context.loaders, operation, self.execution_context.variables)
            try:
                context.principal = await signing_in
            except Exception:  # the HTTP app answers 401 (or 500); nothing runs
                self.execution_context.result = ExecutionResult(
                    data=None, errors=[GraphQLError("Not signed in.", extensions={"code": "UNAUTHENTICATED"})]
                )
        yield
