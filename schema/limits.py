"""A depth limit for introspection, which Strawberry's QueryDepthLimiter leaves out.

QueryDepthLimiter skips every field whose name starts with ``__``, so ``__schema { types { fields
{ type { ofType { ofType ... } } } } }`` could nest as deep as the token limit allows. Introspection
gets its own bound: the depth of the standard introspection query (GraphQL's own, as GraphiQL and
schemathesis send it), which must keep working.
"""

from graphql import GraphQLError, ValidationRule
from graphql.language import FieldNode, FragmentSpreadNode, InlineFragmentNode, OperationDefinitionNode, SelectionSetNode

MAX_INTROSPECTION_DEPTH = 14  # graphql-core's get_introspection_query(): __schema types fields args type ofType x 9


class IntrospectionDepthLimit(ValidationRule):
    def enter_operation_definition(self, node: OperationDefinitionNode, *_args) -> None:
        for field in self._root_fields(node.selection_set, frozenset()):
            if field.name.value.startswith("__") and field.selection_set:
                depth = 1 + self._depth(field.selection_set, frozenset())
                if depth > MAX_INTROSPECTION_DEPTH:
                    self.report_error(GraphQLError(
                        f"Introspection nested {depth} levels deep exceeds the maximum of {MAX_INTROSPECTION_DEPTH}.", field,
                    ))

    def _fragment_selections(self, spread: FragmentSpreadNode, seen: frozenset[str]) -> SelectionSetNode | None:
        fragment = self.context.get_fragment(spread.name.value) if spread.name.value not in seen else None
        return fragment.selection_set if fragment else None

    def _root_fields(self, selection_set: SelectionSetNode, seen: frozenset[str]):
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                yield selection
            elif isinstance(selection, InlineFragmentNode):
                yield from self._root_fields(selection.selection_set, seen)
            elif isinstance(selection, FragmentSpreadNode) and (inner := self._fragment_selections(selection, seen)):
                yield from self._root_fields(inner, seen | {selection.name.value})

    def _depth(self, selection_set: SelectionSetNode, seen: frozenset[str]) -> int:
        """Levels of fields with sub-selections below this selection set (leaves count 0, as in QueryDepthLimiter)."""
        deepest = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode) and selection.selection_set:
                deepest = max(deepest, 1 + self._depth(selection.selection_set, seen))
            elif isinstance(selection, InlineFragmentNode):
                deepest = max(deepest, self._depth(selection.selection_set, seen))
            elif isinstance(selection, FragmentSpreadNode) and (inner := self._fragment_selections(selection, seen)):
                deepest = max(deepest, self._depth(inner, seen | {selection.name.value}))
        return deepest
