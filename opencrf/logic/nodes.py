"""The AST: plain JSON-ready dicts, one TypedDict per node type (GRAMMAR.md §4)."""

from __future__ import annotations

from typing import Literal, TypeAlias, TypedDict

InstanceKeyword: TypeAlias = Literal["first", "last", "previous", "current", "next"]


class EventSmart(TypedDict):
    smart: str


class NumberNode(TypedDict):
    type: Literal["number"]
    value: int | float
    pos: int


class StringNode(TypedDict):
    type: Literal["string"]
    value: str
    pos: int


class BooleanNode(TypedDict):
    type: Literal["boolean"]
    value: bool
    pos: int


class FieldNode(TypedDict):
    type: Literal["field"]
    name: str
    code: str | None
    event: str | EventSmart | None
    instance: int | InstanceKeyword | None
    pos: int


class SmartNode(TypedDict):
    type: Literal["smart"]
    name: str
    pos: int


class UnaryNode(TypedDict):
    type: Literal["unary"]
    op: str
    operand: Node
    pos: int


class BinaryNode(TypedDict):
    type: Literal["binary"]
    op: str
    left: Node
    right: Node
    pos: int


class CallNode(TypedDict):
    type: Literal["call"]
    name: str
    args: list[Node]
    pos: int


Node: TypeAlias = (
    NumberNode
    | StringNode
    | BooleanNode
    | FieldNode
    | SmartNode
    | UnaryNode
    | BinaryNode
    | CallNode
)


def children(node: Node) -> list[Node]:
    """The direct sub-expressions of `node`, left to right."""
    if node["type"] == "unary":
        return [node["operand"]]
    if node["type"] == "binary":
        return [node["left"], node["right"]]
    if node["type"] == "call":
        return list(node["args"])
    return []
