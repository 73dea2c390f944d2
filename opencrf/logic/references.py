"""Bracketed references: `[field]`, `[event][field(code)][2]`, `[record-name]` (GRAMMAR.md §3)."""

from __future__ import annotations

import re
from typing import NamedTuple

from opencrf.logic import errors
from opencrf.logic.nodes import EventSmart, FieldNode, InstanceKeyword, SmartNode
from opencrf.logic.tokens import Token, describe_character

FIELD_NAME = re.compile(r"[a-z][a-z0-9_]*", re.ASCII)
NAME_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
CODE_CHARACTERS = NAME_CHARACTERS | frozenset(".")
MAX_INSTANCE_DIGITS = 9

EVENT_PREFIXES = frozenset(
    {"event-name", "previous-event-name", "next-event-name", "first-event-name", "last-event-name"}
)
INSTANCE_KEYWORDS: dict[str, InstanceKeyword] = {
    "first-instance": "first",
    "last-instance": "last",
    "previous-instance": "previous",
    "current-instance": "current",
    "next-instance": "next",
}
SMART_VALUES = (
    EVENT_PREFIXES
    | frozenset(INSTANCE_KEYWORDS)
    | frozenset(
        {
            "record-name",
            "record-dag-name",
            "record-dag-id",
            "event-label",
            "event-id",
            "event-number",
            "arm-number",
            "arm-label",
            "user-name",
            "user-role-name",
            "user-dag-name",
            "project-id",
        }
    )
)


class Part(NamedTuple):
    """One `[…]`: its name, its checkbox code (if any) and the offset of the name."""

    name: str
    code: str | None
    pos: int


class BracketReader:
    """Turns adjacent bracket tokens into a field or smart-variable node."""

    def __init__(self, text: str) -> None:
        self.text = text

    def fail(self, offset: int, template: str, **parts: object) -> errors.LogicSyntaxError:
        return errors.syntax_error(self.text, offset, template, **parts)

    def node(self, brackets: list[Token]) -> FieldNode | SmartNode:
        if len(brackets) > 3:
            raise self.fail(brackets[3].pos, errors.TOO_MANY_BRACKETS)
        parts = [self.part(token) for token in brackets]
        pos = brackets[0].pos
        if len(parts) == 1:
            return self.single(parts[0], pos)
        if len(parts) == 2 and self.is_instance(parts[1]):
            return self.field(None, parts[0], self.instance(parts[1]), pos)
        instance = self.instance(parts[2]) if len(parts) == 3 else None
        return self.field(self.event(parts[0]), parts[1], instance, pos)

    def single(self, part: Part, pos: int) -> FieldNode | SmartNode:
        if part.code is None and part.name in SMART_VALUES:
            return {"type": "smart", "name": part.name, "pos": pos}
        return self.field(None, part, None, pos)

    def field(
        self,
        event: str | EventSmart | None,
        part: Part,
        instance: int | InstanceKeyword | None,
        pos: int,
    ) -> FieldNode:
        self.check_field_name(part)
        return {
            "type": "field",
            "name": part.name,
            "code": part.code,
            "event": event,
            "instance": instance,
            "pos": pos,
        }

    def check_field_name(self, part: Part) -> None:
        if "-" in part.name and part.name not in SMART_VALUES:
            raise self.fail(part.pos, errors.UNKNOWN_SMART_VARIABLE, name=part.name)
        if not FIELD_NAME.fullmatch(part.name):
            raise self.fail(part.pos, errors.INVALID_FIELD_NAME, name=part.name)

    def event(self, part: Part) -> str | EventSmart:
        if part.code is None and part.name in EVENT_PREFIXES:
            return {"smart": part.name}
        if part.code is None and FIELD_NAME.fullmatch(part.name):
            return part.name
        if "-" in part.name and part.code is None and part.name not in SMART_VALUES:
            raise self.fail(part.pos, errors.UNKNOWN_SMART_VARIABLE, name=part.name)
        raise self.fail(part.pos, errors.INVALID_EVENT_NAME, name=self.written(part))

    def is_instance(self, part: Part) -> bool:
        return part.code is None and (part.name.isdigit() or part.name in INSTANCE_KEYWORDS)

    def instance(self, part: Part) -> int | InstanceKeyword:
        if part.code is None and part.name in INSTANCE_KEYWORDS:
            return INSTANCE_KEYWORDS[part.name]
        digits = part.name if part.code is None else ""
        if digits.isdigit() and len(digits) <= MAX_INSTANCE_DIGITS and int(digits) > 0:
            return int(digits)
        raise self.fail(part.pos, errors.INVALID_INSTANCE, name=self.written(part))

    @staticmethod
    def written(part: Part) -> str:
        return part.name if part.code is None else f"{part.name}({part.code})"

    def part(self, token: Token) -> Part:
        content, base = token.text, token.pos + 1
        end = self.scan(content, 0, NAME_CHARACTERS)
        if end == 0 and (content == "" or content[0] in "(:"):
            raise self.fail(base, errors.EXPECTED, what="a name")
        name, code = content[:end], None
        if content.startswith("(", end):
            code, end = self.code(content, end, base)
        if content.startswith(":", end):
            end = self.modifier(content, end, base)
        if end < len(content):
            character = describe_character(content[end])
            raise self.fail(base + end, errors.UNEXPECTED_CHARACTER, character=character)
        return Part(name, code, base)

    def code(self, content: str, start: int, base: int) -> tuple[str, int]:
        end = self.scan(content, start + 1, CODE_CHARACTERS)
        if end == start + 1:
            raise self.fail(base + end, errors.INVALID_CODE)
        if not content.startswith(")", end):
            raise self.fail(base + end, errors.EXPECTED, what="`)`")
        return content[start + 1 : end], end + 1

    def modifier(self, content: str, start: int, base: int) -> int:
        end = self.scan(content, start + 1, NAME_CHARACTERS)
        name = content[start + 1 : end]
        if name != "value":
            raise self.fail(base + start, errors.INVALID_MODIFIER, name=name)
        return end

    @staticmethod
    def scan(content: str, start: int, allowed: frozenset[str]) -> int:
        end = start
        while end < len(content) and content[end] in allowed:
            end += 1
        return end
