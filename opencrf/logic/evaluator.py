"""The evaluator: AST + values + context → value (GRAMMAR.md §3, §5, §6).

Chains of binary operators are walked down their left spine in a loop; only right operands,
unary operands and call arguments recurse, and that nesting is limited like the parser's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opencrf.logic import errors
from opencrf.logic.checkboxes import checkbox_key
from opencrf.logic.dates import Clock, real_clock
from opencrf.logic.functions import FUNCTIONS, Environment
from opencrf.logic.nodes import BinaryNode, CallNode, EventSmart, FieldNode, Node
from opencrf.logic.numeric import format_number
from opencrf.logic.operators import arithmetic, compare, negate
from opencrf.logic.references import EVENT_PREFIXES
from opencrf.logic.values import BLANK, Value, to_number, to_text, truthy

CONTEXT_TEXT = {
    "record-name": "record",
    "record-dag-name": "dag",
    "record-dag-id": "dag_id",
    "event-label": "event_label",
    "event-id": "event_id",
    "arm-number": "arm_number",
    "arm-label": "arm_label",
    "user-name": "user",
    "user-role-name": "user_role",
    "user-dag-name": "user_dag",
    "project-id": "project_id",
}
INSTANCE_OFFSETS = {"previous": -1, "current": 0, "next": 1}


def context_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        return BLANK
    return format_number(float(value))


def context_instance(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and int(value) > 0:
        return int(value)
    return 1


class Evaluator:
    def __init__(self, values: Mapping[str, str], context: Mapping[str, Any]) -> None:
        self.values = values
        self.context = context
        self.event = context_text(context.get("event"))
        events = context.get("events") or []
        self.events = [event for event in events if isinstance(event, str)]
        self.instance = context_instance(context.get("instance"))
        data = context.get("data")
        self.data: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
        self.environment = Environment(self.clock(context), self.missing_codes(context))
        self.steps = 0
        self.depth = 0

    @staticmethod
    def clock(context: Mapping[str, Any]) -> Clock:
        today, now = context.get("today"), context.get("now")
        if isinstance(today, str) and isinstance(now, str):
            return Clock(today, now)
        real = real_clock()
        return Clock(
            today if isinstance(today, str) else real.today,
            now if isinstance(now, str) else real.now,
        )

    @staticmethod
    def missing_codes(context: Mapping[str, Any]) -> frozenset[str]:
        codes = context.get("missing_codes") or []
        return frozenset(code for code in codes if isinstance(code, str))

    # --- Walking -----------------------------------------------------------------------------

    def step(self) -> None:
        self.steps += 1
        if self.steps > errors.MAX_STEPS:
            raise errors.LogicEvaluationError(errors.TOO_MANY_STEPS)

    def nested(self, node: Node) -> Value:
        self.depth += 1
        if self.depth > errors.MAX_DEPTH:
            raise errors.LogicEvaluationError(errors.TOO_DEEP)
        try:
            return self.evaluate(node)
        finally:
            self.depth -= 1

    def evaluate(self, node: Node) -> Value:
        self.step()
        if node["type"] == "number":
            return float(node["value"])
        if node["type"] == "string" or node["type"] == "boolean":
            return node["value"]
        if node["type"] == "field":
            return self.field(node)
        if node["type"] == "smart":
            return self.smart(node["name"])
        if node["type"] == "unary":
            return negate(node["op"], self.nested(node["operand"]))
        if node["type"] == "binary":
            return self.binary(node)
        if node["type"] == "call":
            return self.call(node)
        raise errors.LogicEvaluationError(errors.UNKNOWN_NODE.format(name=node.get("type")))

    def binary(self, node: BinaryNode) -> Value:
        spine = [node]
        bottom = node["left"]
        while bottom["type"] == "binary":
            self.step()
            spine.append(bottom)
            bottom = bottom["left"]
        value = self.evaluate(bottom)
        for link in reversed(spine):
            value = self.apply(link, value)
        return value

    def apply(self, node: BinaryNode, left: Value) -> Value:
        op = node["op"]
        if op == "and":
            return truthy(left) and truthy(self.nested(node["right"]))
        if op == "or":
            return truthy(left) or truthy(self.nested(node["right"]))
        right = self.nested(node["right"])
        if op in ("+", "-", "*", "/", "^"):
            return arithmetic(op, left, right)
        return compare(op, left, right)

    def call(self, node: CallNode) -> Value:
        name, args = node["name"], node["args"]
        function = FUNCTIONS.get(name)
        if function is None:
            raise errors.LogicEvaluationError(errors.UNKNOWN_FUNCTION_AT_RUN_TIME.format(name=name))
        if function.implement is None:  # `if`: only the chosen branch is evaluated
            chosen = args[1] if truthy(self.nested(args[0])) else args[2]
            return self.nested(chosen)
        return function.implement([self.nested(arg) for arg in args], self.environment)

    # --- References --------------------------------------------------------------------------

    def field(self, node: FieldNode) -> Value:
        event = self.resolve_event(node["event"])
        instance = None if event is None else self.resolve_instance(node["instance"], event)
        code = node["code"]
        key = node["name"] if code is None else checkbox_key(node["name"], code)
        stored = BLANK if instance is None or event is None else self.lookup(event, instance, key)
        if code is not None:
            return "1" if stored == "1" else "0"
        return stored

    def resolve_event(self, event: str | EventSmart | None) -> str | None:
        if event is None:
            return self.event
        if isinstance(event, str):
            return event
        return self.event_smart(event["smart"])

    def event_smart(self, name: str) -> str | None:
        """The unique event name an event smart variable stands for, or None."""
        if name == "event-name":
            return self.event
        if not self.events:
            return None
        if name == "first-event-name":
            return self.events[0]
        if name == "last-event-name":
            return self.events[-1]
        if self.event not in self.events:
            return None
        index = self.events.index(self.event) + (1 if name == "next-event-name" else -1)
        return self.events[index] if 0 <= index < len(self.events) else None

    def resolve_instance(self, instance: int | str | None, event: str) -> int | None:
        if instance is None:
            return self.instance if event == self.event else 1
        if isinstance(instance, int):
            return instance
        if instance in INSTANCE_OFFSETS:
            number = self.instance + INSTANCE_OFFSETS[instance]
            return number if number >= 1 else None
        present = self.instances(event)
        if not present:
            return None
        return min(present) if instance == "first" else max(present)

    def instances(self, event: str) -> set[int]:
        """Instances with data in `event`; the current instance counts in the current event."""
        stored = self.data.get(event)
        found = (
            {int(key) for key in stored if self.is_instance_key(key)}
            if isinstance(stored, Mapping)
            else set()
        )
        if event == self.event:
            found.add(self.instance)
        return found

    @staticmethod
    def is_instance_key(key: object) -> bool:
        return isinstance(key, str) and key.isascii() and key.isdigit() and int(key) > 0

    def lookup(self, event: str, instance: int, key: str) -> str:
        stored: object
        if event == self.event and instance == self.instance and key in self.values:
            stored = self.values[key]
        else:
            stored = self.stored(event, instance, key)
        return stored if isinstance(stored, str) else BLANK

    def stored(self, event: str, instance: int, key: str) -> object:
        by_instance = self.data.get(event)
        if not isinstance(by_instance, Mapping):
            return BLANK
        row = by_instance.get(str(instance))
        return row.get(key, BLANK) if isinstance(row, Mapping) else BLANK

    # --- Smart variables ---------------------------------------------------------------------

    def smart(self, name: str) -> Value:
        if name in CONTEXT_TEXT:
            return context_text(self.context.get(CONTEXT_TEXT[name]))
        if name in EVENT_PREFIXES:
            return self.event_smart(name) or BLANK
        if name == "event-number":
            return str(self.events.index(self.event) + 1) if self.event in self.events else BLANK
        keyword = name.removesuffix("-instance")
        instance = self.resolve_instance(keyword, self.event)
        return BLANK if instance is None else str(instance)


def result(value: Value, mode: str) -> bool | int | float | str:
    """The final result of an evaluation in `mode` (GRAMMAR.md §5 "Results")."""
    if mode == "logic":
        return truthy(value)
    if mode == "text":
        return to_text(value)
    return calc_number(value)


def calc_number(value: Value) -> int | float | str:
    """A calculation's result: a number (`int` when integral and exact) or `""`."""
    number = to_number(value)
    if number is None:
        return BLANK
    if number.is_integer() and abs(number) < 2**53:
        return int(number)
    return number
