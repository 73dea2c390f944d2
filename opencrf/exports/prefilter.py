"""Filter logic as SQL over the stored values: which records may hold a matching row.

A filtered export or report evaluates its logic in Python on every row, which on a large
project is most of the cost of its first page. This module translates the common shapes of
logic — a field compared with a literal (`[age] > 40`, `[sex] = '1'`, `[ae_term] <> ""`, a
checkbox option `[meds(2)] = '1'`, a form status, a field of another event `[e1][f]`),
joined by `and` and `or` — into a condition on records, evaluated by the database over the
JSON values column, so that only the forms of the records passing it are read and judged.

The condition is a *superset*: every record with a row for which the logic is true passes
it, and the Python evaluator still judges every row of the records that pass, so the rows
of an export are the same with or without it, by construction. Where the database cannot
follow the logic language exactly, the condition is widened, never narrowed:

- a comparison that is true for a blank value (a missing form, a missing key, a value that
  is not text) restricts nothing, since a record without the field would match;
- `=`, `<`, … compare numerically when both sides are numeric and as text otherwise
  (GRAMMAR.md §5): the SQL takes the text comparison (code point order) for any value not
  certainly numeric, and the numeric one, widened by a relative tolerance, for any value
  that may be numeric;
- values are matched in any form, event and instance of the record (the evaluator may read a
  value of another form, event or instance into the row);
- anything else (a function, arithmetic on fields, a bare field, two fields compared, the
  record id) restricts nothing.

Field names go into JSON paths only when they are plain identifiers, and every literal of the
logic is a bound parameter (only this module's constants, a regular expression and the
whitespace characters, are written into the SQL).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
from django.db import connections
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from opencrf.dictionary.design import ProjectDesign
from opencrf.logic import LogicError, Node
from opencrf.logic.checkboxes import checkbox_key
from opencrf.logic.evaluator import Evaluator
from opencrf.logic.nodes import BinaryNode, FieldNode
from opencrf.logic.numeric import TRIMMED
from opencrf.logic.operators import compare
from opencrf.logic.values import BLANK, Value, to_number, to_text
from opencrf.records.models import FormData, Record

KEY = re.compile(r"[A-Za-z0-9_]{1,100}")
ORDERINGS = frozenset({"<", "<=", ">", ">="})
COMPARISONS = ORDERINGS | {"=", "<>"}
MIRRORED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "<>": "<>"}
# `numeric.NUMERIC` around optional whitespace: what `parse_numeric` may read as a number.
NUMERIC_TEXT = f"^[{TRIMMED}]*[-+]?([0-9]+[.]?[0-9]*|[.][0-9]+|[0-9]*,[0-9]+)[{TRIMMED}]*$"
LONGEST_CAST = 1000  # longer numeric text is a candidate without being cast (PostgreSQL)
SHORT_NUMBER = 300  # digits with at most one point, this short, are numeric and finite
TOLERANCE = 1e-9  # relative: the database's reading of a number is not Python's to the bit
TRIMMED_SQL = TRIMMED  # whitespace characters only: safe inside a quoted SQL literal
STATUS_VALUES = ("0", "1", "2")


@dataclass(frozen=True)
class Condition:
    """A condition on a record: a formula of conditions on its stored forms (`atoms`, each
    true when one of the record's forms satisfies it) joined by `and` and `or`, or every
    record (`EVERY`) or none (`NONE`)."""

    kind: str  # "every", "none", "atom", "and", "or"
    sql: str = ""  # an atom's condition over the columns of `_Builder.columns`
    params: tuple[Any, ...] = ()
    parts: tuple[Condition, ...] = ()

    @property
    def restricts(self) -> bool:
        return self.kind != "every"

    def atoms(self) -> Iterator[Condition]:
        if self.kind == "atom":
            yield self
        for part in self.parts:
            yield from part.atoms()


EVERY = Condition("every")
NONE = Condition("none")


def prefiltered(
    records: QuerySet[Record], project_id: int, design: ProjectDesign, logic: Node
) -> QuerySet[Record]:
    """`records` narrowed to those that may have a row for which `logic` is true (the ids
    given to the database; `narrowed` is the form for a pass over many records)."""
    ids = matching_ids(records, project_id, design, logic)
    if ids is None:
        return records
    if not ids:
        return records.none()
    return records.filter(pk__in=_listed(records.db, ids))


def narrowed(
    records: QuerySet[Record], project_id: int, design: ProjectDesign, logic: Node
) -> tuple[QuerySet[Record], frozenset[int] | None]:
    """The records to read for `logic`, and the ids among them to keep while reading (None:
    all). SQLite takes the ids in the query (`json_each` of one parameter, read once);
    PostgreSQL gets the records unfiltered and the ids are kept in Python, because its
    planner, given a long array parameter or a grouped subquery, may scan it for every
    record (a cold page took 4–100 s instead of one)."""
    ids = matching_ids(records, project_id, design, logic)
    if ids is None:
        return records, None
    if not ids:
        return records.none(), None
    if connections[records.db].vendor == "postgresql":
        return records, ids
    return records.filter(pk__in=_listed(records.db, ids)), None


def _listed(using: str, ids: frozenset[int]) -> RawSQL:
    if connections[using].vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::bigint[])", (sorted(ids),))
    return RawSQL("SELECT value FROM json_each(%s)", (orjson.dumps(sorted(ids)).decode(),))


def matching_ids(
    records: QuerySet[Record], project_id: int, design: ProjectDesign, logic: Node
) -> frozenset[int] | None:
    """The ids of the project's records that may have a row for which `logic` is true, from
    one query run now; None when the logic restricts nothing the database can follow."""
    connection = connections[records.db]
    if connection.vendor not in ("sqlite", "postgresql"):
        return None
    builder = _Builder(design, connection)
    try:
        condition = builder.truth(logic, depth=0)
    except (LogicError, RecursionError):
        return None
    if condition.kind == "every":
        return None
    if condition.kind == "none":
        return frozenset()
    sql, params = builder.query(condition, project_id)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)  # identifiers, validated keys, constants; values bound
        return frozenset(row[0] for row in cursor.fetchall())


def value_keys(logic: Node) -> set[str]:
    """The stored keys `logic` reads: each field's name, a checkbox option's own key."""
    found = set()
    for node in _walk(logic):
        if node["type"] == "field":
            code = node["code"]
            found.add(node["name"] if code is None else checkbox_key(node["name"], code))
    return found


def _walk(node: Node) -> Iterator[Node]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if current["type"] == "unary":
            stack.append(current["operand"])
        elif current["type"] == "binary":
            stack += [current["left"], current["right"]]
        elif current["type"] == "call":
            stack += current["args"]


class _Builder:
    """Builds the condition of a logic AST, then one query: the forms of the project with the
    values the atoms read extracted once each, grouped by record, kept by the formula."""

    MAX_DEPTH = 50

    def __init__(self, design: ProjectDesign, connection: Any) -> None:
        self.design = design
        self.postgres = connection.vendor == "postgresql"
        self.quote = connection.ops.quote_name
        self.statuses = {f"{i.name}_complete": i.name for i in design.instruments}
        self.columns: dict[str, str] = {}  # stored key → column of the extracted value

    def query(self, condition: Condition, project_id: int) -> tuple[str, tuple[Any, ...]]:
        """The ids of the records passing `condition`. Each form is read once: the values
        are extracted in a subquery the database does not merge into the conditions
        (`LIMIT -1` on SQLite; PostgreSQL reads jsonb keys cheaply anyway)."""
        quote = self.quote
        extracted, extracted_params = [], []
        column = f"fd.{quote('values')}"
        for key, alias in self.columns.items():
            if self.postgres:
                extracted.append(f"({column} ->> %s) AS {alias}")
                extracted_params.append(key)
            else:
                extracted.append(f"json_extract({column}, %s) AS {alias}")
                extracted_params.append(f'$."{key}"')
        names = ", ".join(
            [f"fd.{quote(name)} AS {name}" for name in ("record_id", "form_name", "status")]
            + extracted
        )
        atoms = list(dict.fromkeys(condition.atoms()))
        fence = "" if self.postgres else " LIMIT -1"
        forms = (
            f"SELECT {names} FROM {quote(FormData._meta.db_table)} fd "  # noqa: S608
            f"WHERE fd.{quote('project_id')} = %s{fence}"
        )
        flags = ", ".join(f"({atom.sql}) AS a{n}" for n, atom in enumerate(atoms))
        tested = f"SELECT v.record_id AS record_id, {flags} FROM ({forms}) v{fence}"  # noqa: S608
        anywhere = " OR ".join(f"w.a{n}" for n in range(len(atoms)))
        having = self.having(condition, {atom: f"w.a{n}" for n, atom in enumerate(atoms)})
        sql = (
            f"SELECT w.record_id FROM ({tested}) w WHERE {anywhere} "  # noqa: S608
            f"GROUP BY w.record_id HAVING {having}"
        )
        params = (
            *(p for atom in atoms for p in atom.params),
            *extracted_params,
            project_id,
        )
        return sql, params

    def having(self, condition: Condition, flags: dict[Condition, str]) -> str:
        """The formula over the record's forms: an atom holds when it holds on any form."""
        if condition.kind == "atom":
            aggregate = "bool_or" if self.postgres else "MAX"
            return f"{aggregate}({flags[condition]})"
        joined = f" {condition.kind.upper()} ".join(
            f"({self.having(part, flags)})" for part in condition.parts
        )
        return f"({joined})"

    def value(self, key: str) -> str:
        if key not in self.columns:
            self.columns[key] = f"k{len(self.columns)}"
        return f"v.{self.columns[key]}"

    def truth(self, node: Node, depth: int) -> Condition:
        """A condition every record with a row where `node` is truthy passes."""
        if depth > self.MAX_DEPTH:
            return EVERY
        if node["type"] == "boolean":
            return EVERY if node["value"] else NONE
        if node["type"] != "binary":
            return EVERY
        op = node["op"]
        if op in ("and", "or"):
            left = self.truth(node["left"], depth + 1)
            right = self.truth(node["right"], depth + 1)
            return _both(left, right) if op == "and" else _either(left, right)
        if op in COMPARISONS:
            return self.comparison(node)
        return EVERY

    def comparison(self, node: BinaryNode) -> Condition:
        op, left, right = node["op"], node["left"], node["right"]
        if left["type"] != "field":
            left, right, op = right, left, MIRRORED[op]
        if left["type"] != "field":
            return EVERY
        literal = constant(right)
        if literal is None:
            return EVERY
        return self.field_against(left, op, literal)

    def field_against(self, field: FieldNode, op: str, literal: Value) -> Condition:
        name, code = field["name"], field["code"]
        if name == self.design.record_id_field:
            return EVERY  # the row's record id, not a stored value
        if code is not None:
            key = checkbox_key(name, code)
            # The evaluator reads an option as "1" when ticked, else "0" (missing, blank …).
            if compare(op, "0", literal):
                return EVERY
            return self.stored(key, "=", "1") if compare(op, "1", literal) else NONE
        if compare(op, BLANK, literal):
            return EVERY  # a record without the value would match
        condition = self.stored(name, op, literal)
        instrument = self.statuses.get(name)
        if instrument is not None:  # `<form>_complete` is the form's status column too
            condition = _either(condition, self.status(instrument, op, literal))
        return condition

    def status(self, instrument: str, op: str, literal: Value) -> Condition:
        codes = [int(code) for code in STATUS_VALUES if compare(op, code, literal)]
        if not codes:
            return NONE
        marks = ", ".join(["%s"] * len(codes))
        return Condition(
            "atom", f"v.form_name = %s AND v.status IN ({marks})", (instrument, *codes)
        )

    def stored(self, key: str, op: str, literal: Value) -> Condition:
        """Forms with a value under `key` that may compare true with `literal` (which is
        known to compare false with a blank)."""
        if not KEY.fullmatch(key):
            return EVERY
        value = self.value(key)
        text, number = to_text(literal), to_number(literal)
        parts: list[tuple[str, tuple[Any, ...]]] = []
        if op == "=":
            if number is None:
                parts.append(self.as_text(value, "=", text))
            else:
                parts.append(self.as_number(value, "=", number))
        elif op == "<>":
            # Text equal to the literal's own text is numerically equal too: never different.
            parts.append(self.as_text(value, "<>", text))
        else:
            parts.append(self.as_text(value, op, text))
            if number is not None:  # text compares as text only when it is not a number
                compared, params = parts.pop()
                parts.append((f"{compared} AND NOT {self.surely_numeric(value)}", params))
                parts.append(self.as_number(value, op, number))
        sql = " OR ".join(f"({part})" for part, _params in parts)
        return Condition("atom", sql, tuple(p for _part, params in parts for p in params))

    def as_text(self, value: str, op: str, text: str) -> tuple[str, tuple[Any, ...]]:
        """The value compared as text, in code point order as Python compares strings."""
        collated = f'({value} COLLATE "C")' if self.postgres else value
        return f"{collated} {op} %s", (text,)

    def surely_numeric(self, value: str) -> str:
        """Whether the value is certainly a finite number to `parse_numeric` (else it may be
        text, and compare as text). On SQLite: digits only, not too long — a cheap test that
        leaves other numbers (signed, decimal) to the text comparison too."""
        if self.postgres:
            return f"({value} ~ '{NUMERIC_TEXT}' AND length({value}) <= {SHORT_NUMBER})"
        return f"NOT ({value} GLOB '*[^0-9]*' OR length({value}) > {SHORT_NUMBER})"

    def as_number(self, value: str, op: str, number: float) -> tuple[str, tuple[Any, ...]]:
        """Whether the value may be numeric and compare true with `number`, widened by the
        tolerance (a value the database reads a little differently still passes)."""
        margin = abs(number) * TOLERANCE + 1e-300
        low, high = number - margin, number + margin
        bounds: tuple[float, ...]
        if op == "=":
            test, bounds = "BETWEEN %s AND %s", (low, high)
        elif op in (">", ">="):
            test, bounds = ">= %s", (low,)
        else:
            test, bounds = "<= %s", (high,)
        if self.postgres:
            numeric = f"'{NUMERIC_TEXT}'"
            cast = f"replace(btrim({value}, '{TRIMMED_SQL}'), ',', '.')::numeric"
            sql = (
                f"CASE WHEN {value} ~ {numeric} AND length({value}) <= {LONGEST_CAST}"
                f" THEN {cast} {test} WHEN {value} ~ {numeric} THEN TRUE ELSE FALSE END"
            )
            return sql, tuple(Decimal(repr(bound)) for bound in bounds)
        # SQLite reads the longest number at the start of the text, after whitespace: every
        # numeric text reads as its number (any other text as some number: a wider set).
        return f"CAST(REPLACE({value}, ',', '.') AS REAL) {test}", bounds


def constant(node: Node) -> Value | None:
    """The value of a literal (a number, text, true/false, or a sign before one), else None."""
    if node["type"] in ("number", "string", "boolean"):
        return Evaluator({}, {}).evaluate(node)
    if node["type"] == "unary" and node["operand"]["type"] == "number":
        return Evaluator({}, {}).evaluate(node)
    return None


def _both(left: Condition, right: Condition) -> Condition:
    if left.kind == "none" or right.kind == "none":
        return NONE
    if left.kind == "every":
        return right
    if right.kind == "every":
        return left
    return Condition("and", parts=(left, right))


def _either(left: Condition, right: Condition) -> Condition:
    if left.kind == "every" or right.kind == "every":
        return EVERY
    if left.kind == "none":
        return right
    if right.kind == "none":
        return left
    return Condition("or", parts=(left, right))
