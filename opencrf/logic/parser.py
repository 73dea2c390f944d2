"""A recursive-descent parser with precedence climbing: tokens → AST (GRAMMAR.md §2, §4, §9).

Left-associative chains (`a + b + c`) are built in a loop, so only genuine nesting
(parentheses, calls, unary operators, right operands) recurses; that nesting is limited to
`MAX_DEPTH` levels, which keeps both the parser and the evaluator far from Python's recursion
limit.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

from opencrf.logic import errors
from opencrf.logic.functions import FUNCTIONS, arity_text
from opencrf.logic.nodes import BinaryNode, CallNode, Node, UnaryNode, children
from opencrf.logic.references import BracketReader
from opencrf.logic.tokens import Token, tokenize

T = TypeVar("T")

PRECEDENCE = {
    "or": 1,
    "and": 2,
    **dict.fromkeys(("=", "<>", "<", "<=", ">", ">="), 3),
    "+": 4,
    "-": 4,
    "*": 5,
    "/": 5,
}
COMPARISON = 3
NORMALISED = {"==": "=", "!=": "<>", "&&": "and", "||": "or"}
VALUE_TOKENS = frozenset({"number", "string", "word", "bracket"})


class Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0
        self.depth = 0
        self.brackets = BracketReader(text)

    # --- Helpers ---------------------------------------------------------------------------

    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def fail(self, offset: int, template: str, **parts: object) -> errors.LogicSyntaxError:
        return errors.syntax_error(self.text, offset, template, **parts)

    def is_op(self, *ops: str) -> bool:
        return self.token.kind == "op" and self.token.text in ops

    def expect(self, op: str) -> Token:
        if not self.is_op(op):
            raise self.fail(self.token.pos, errors.EXPECTED, what=f"`{op}`")
        return self.advance()

    def nested(self, parse: Callable[[], T]) -> T:
        self.depth += 1
        if self.depth > errors.MAX_DEPTH:
            raise self.fail(self.token.pos, errors.TOO_DEEP)
        try:
            return parse()
        finally:
            self.depth -= 1

    def binary_op(self) -> str | None:
        token = self.token
        if token.kind == "word" and token.text.lower() in ("and", "or"):
            return token.text.lower()
        if token.kind == "op" and token.text not in "(),^":
            return NORMALISED.get(token.text, token.text)
        return None

    # --- Grammar ---------------------------------------------------------------------------

    def expression(self) -> Node:
        node = self.binary(1)
        token = self.token
        if token.kind == "end":
            return node
        if token.kind in VALUE_TOKENS or self.is_op("("):
            raise self.fail(token.pos, errors.EXPECTED, what="an operator")
        raise self.fail(token.pos, errors.UNEXPECTED, what=f"`{token.text}`")

    def binary(self, lowest: int) -> Node:
        left = self.unary()
        while (op := self.binary_op()) is not None and PRECEDENCE[op] >= lowest:
            pos = self.advance().pos
            right = self.nested(functools.partial(self.binary, PRECEDENCE[op] + 1))
            node: BinaryNode = {
                "type": "binary",
                "op": op,
                "left": left,
                "right": right,
                "pos": pos,
            }
            left = node
            following = self.binary_op()
            if PRECEDENCE[op] == COMPARISON and following and PRECEDENCE[following] == COMPARISON:
                raise self.fail(self.token.pos, errors.CHAINED_COMPARISON)
        return left

    def unary(self) -> Node:
        if self.is_op("-", "+"):
            token = self.advance()
            operand = self.nested(self.unary)
            node: UnaryNode = {
                "type": "unary",
                "op": token.text,
                "operand": operand,
                "pos": token.pos,
            }
            return node
        return self.power()

    def power(self) -> Node:
        base = self.primary()
        if not self.is_op("^"):
            return base
        pos = self.advance().pos
        exponent = self.nested(self.unary)
        return {"type": "binary", "op": "^", "left": base, "right": exponent, "pos": pos}

    def primary(self) -> Node:
        token = self.token
        if token.kind == "number":
            return self.number(self.advance())
        if token.kind == "string":
            self.advance()
            return {"type": "string", "value": token.text, "pos": token.pos}
        if token.kind == "word":
            return self.word()
        if token.kind == "bracket":
            return self.reference()
        if self.is_op("("):
            self.advance()
            inner = self.nested(lambda: self.binary(1))
            self.expect(")")
            return inner
        raise self.fail(token.pos, errors.EXPECTED, what="a value")

    @staticmethod
    def number(token: Token) -> Node:
        value = float(token.text)
        if value.is_integer() and abs(value) < 2**53:
            return {"type": "number", "value": int(value), "pos": token.pos}
        return {"type": "number", "value": value, "pos": token.pos}

    def reference(self) -> Node:
        brackets = [self.advance()]
        while self.token.kind == "bracket" and self.token.pos == brackets[-1].end:
            brackets.append(self.advance())
        return self.brackets.node(brackets)

    def word(self) -> Node:
        token = self.advance()
        name = token.text.lower()
        if name in ("true", "false"):
            return {"type": "boolean", "value": name == "true", "pos": token.pos}
        if name in ("and", "or"):
            raise self.fail(token.pos, errors.EXPECTED, what="a value")
        if self.is_op("("):
            return self.call(token, name)
        template = errors.MISSING_CALL_PARENTHESIS if name in FUNCTIONS else errors.UNKNOWN_WORD
        raise self.fail(token.pos, template, name=token.text)

    def call(self, token: Token, name: str) -> CallNode:
        if name not in FUNCTIONS:
            raise self.fail(token.pos, errors.UNKNOWN_FUNCTION, name=token.text)
        self.advance()
        args = self.nested(self.arguments)
        function = FUNCTIONS[name]
        if not function.min_args <= len(args) <= (function.max_args or len(args)):
            expected = arity_text(function.min_args, function.max_args)
            raise self.fail(
                token.pos,
                errors.WRONG_ARGUMENT_COUNT,
                name=name,
                expected=expected,
                given=len(args),
            )
        return {"type": "call", "name": name, "args": args, "pos": token.pos}

    def arguments(self) -> list[Node]:
        args: list[Node] = []
        if self.is_op(")"):
            self.advance()
            return args
        while True:
            args.append(self.binary(1))
            if self.is_op(")"):
                self.advance()
                return args
            if not self.is_op(","):
                raise self.fail(self.token.pos, errors.EXPECTED, what="`,` or `)`")
            self.advance()


def tree_depth(root: Node) -> int:
    """How deeply the AST's JSON nests (objects and arrays), computed without recursion."""
    deepest = 0
    stack: list[tuple[Node, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        extra = 1 if node["type"] == "field" and isinstance(node["event"], dict) else 0
        deepest = max(deepest, depth + extra)
        step = 2 if node["type"] == "call" else 1
        stack.extend((child, depth + step) for child in children(node))
    return deepest


def parse_text(text: str) -> Node:
    """The AST of `text`; raises LogicSyntaxError."""
    if len(text) > errors.MAX_LENGTH:
        raise errors.syntax_error(text, 0, errors.TOO_LONG)
    parser = Parser(text)
    if parser.token.kind == "end":
        raise errors.syntax_error(text, 0, errors.EMPTY)
    node = parser.expression()
    if tree_depth(node) > errors.MAX_TREE_DEPTH:
        raise errors.syntax_error(text, 0, errors.TOO_COMPLEX)
    return node
