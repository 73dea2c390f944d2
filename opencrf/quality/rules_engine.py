"""Running data quality rules over a project's records, in chunks of records.

`RuleScanner` checks one record at a time (all its stored forms are needed: branching logic and
calculations read other forms and events) and yields `Finding`s; outliers (rule E) need every
value of a field first, so the scanner keeps each numeric field's values in compact arrays and
yields their findings from `finish`. Memory stays flat in the number of records but for those
arrays (16 bytes a numeric value).
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from opencrf.dictionary.choices import choice_codes
from opencrf.dictionary.design import ProjectDesign
from opencrf.dictionary.form_logic import CompiledForm, calculate_form, clock, compile_form
from opencrf.logic import LogicError, Node, Session, parse_shared
from opencrf.projects.models import Project
from opencrf.projects.rights import Rights
from opencrf.quality.rules_builtin import (
    BUILTIN_RULES,
    FieldSpec,
    field_spec,
    field_value,
)
from opencrf.records.values import check_value, range_warnings

CHECKED_TYPES = frozenset({"text", "slider", "yesno", "truefalse"})
CHOICE_TYPES = frozenset({"dropdown", "radio"})


@dataclass(frozen=True, slots=True)
class Finding:
    """One result: what rule found what, where. `field_name` is blank for record-level rules."""

    rule_key: str
    record_pk: int
    event_id: int
    form_name: str
    instance: int
    field_name: str
    value: str
    detail: str = ""

    @property
    def key(self) -> tuple[str, int, int, int, str]:
        """The key an exclusion matches."""
        return (self.rule_key, self.record_pk, self.event_id, self.instance, self.field_name)


@dataclass(frozen=True, slots=True)
class StoredForm:
    """One stored form instance as the scanner reads it."""

    pk: int
    event_id: int
    form_name: str
    instance: int
    values: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class CustomRule:
    key: str
    logic: Node


@dataclass
class _Form:
    name: str
    specs: tuple[FieldSpec, ...]
    compiled: CompiledForm
    branching: bool
    codes: Mapping[str, frozenset[str]]


def missing_codes(project: Project) -> frozenset[str]:
    """The project's missing data codes (`CODE, Label | …`); none when it defines none."""
    text = str(getattr(project, "missing_data_codes", "") or "")
    return frozenset(
        part.split(",", 1)[0].strip() for part in text.split("|") if part.split(",", 1)[0].strip()
    )


class RuleScanner:
    """Checks records against the chosen rules; see the module's note."""

    def __init__(
        self,
        project: Project,
        design: ProjectDesign,
        rights: Rights,
        rule_keys: Iterable[str],
        custom: Sequence[CustomRule] = (),
    ) -> None:
        self.project = project
        self.design = design
        self.keys = frozenset(rule_keys)
        self.custom = list(custom)
        self.codes = missing_codes(project)
        self.clock = clock()
        self.event_names = {event.pk: event.unique_name for event in design.events}
        self.event_arm = {event.pk: event.arm_id for event in design.events}
        self.arm_number = {event.arm_id: event.arm.number for event in design.events}
        self.arm_events = {
            arm: [e.pk for e in design.events_of_arm(arm)] for arm in self.arm_number
        }
        record_field = design.record_id_field
        self.forms: dict[str, _Form] = {}
        for instrument in design.instruments:
            if not rights.can_see_form(instrument.name):
                continue  # fields the user may not see are never shown in results
            rows = [r for r in design.form_rows(instrument.name) if r.field_name != record_field]
            specs = tuple(field_spec(row) for row in rows)
            self.forms[instrument.name] = _Form(
                name=instrument.name,
                specs=specs,
                compiled=compile_form(design.form_rows(instrument.name)),
                branching=any(row.branching_logic.strip() for row in rows),
                codes={
                    s.name: choice_codes(s.row.select_choices_or_calculations)
                    for s in specs
                    if s.kind in CHOICE_TYPES
                },
            )
        self._numbers: dict[tuple[str, str], tuple[array[float], array[int]]] = {}
        self.needs_logic = bool(self.keys & {"A", "B", "F", "H"})
        self._event_context: dict[int, dict[str, Any]] = {}

    # ---- one record -------------------------------------------------------------------------

    def scan(
        self,
        record_pk: int,
        record_id: str,
        dag: str,
        dag_id: int | None,
        forms: Sequence[StoredForm],
    ) -> Iterator[Finding]:
        base = self._base(record_id, dag, dag_id, forms)
        for form in forms:
            spec = self.forms.get(form.form_name)
            if spec is None or form.event_id not in self.event_names:
                continue
            yield from self._form(record_pk, spec, form, forms, base)
        if self.custom:
            yield from self._custom(record_pk, forms, base)
        if "J" in self.keys:
            yield from self._missing_events(record_pk, forms)

    def _base(
        self, record_id: str, dag: str, dag_id: int | None, forms: Sequence[StoredForm]
    ) -> dict[str, Any]:
        data: dict[str, dict[str, dict[str, str]]] = {}
        for form in forms:
            name = self.event_names.get(form.event_id)
            if name is not None:
                data.setdefault(name, {}).setdefault(str(form.instance), {}).update(form.values)
        return {
            **self.clock,
            "record": record_id,
            "data": data,
            "project_id": self.project.pk,
            "dag": dag,
            "dag_id": dag_id or "",
            "missing_codes": self.codes,
        }

    def _context(self, base: Mapping[str, Any], event_id: int, instance: int) -> dict[str, Any]:
        fixed = self._event_context.get(event_id)
        if fixed is None:
            arm = self.event_arm[event_id]
            fixed = self._event_context[event_id] = {
                "event": self.event_names[event_id],
                "event_id": event_id,
                "events": [self.event_names[e] for e in self.arm_events[arm]],
                "arm_number": self.arm_number[arm],
            }
        return {**base, **fixed, "instance": instance}

    def _event_values(
        self, forms: Sequence[StoredForm], event_id: int, instance: int, itself: StoredForm | None
    ) -> dict[str, str]:
        """What logic at an event sees: the event's forms (instance 1 of repeating ones other
        than `instance`), then the form itself on top."""
        values: dict[str, str] = {}
        for other in forms:
            if other.event_id == event_id and other.instance in (1, instance):
                values.update(other.values)
        if itself is not None:
            values.update(itself.values)
        return values

    def _form(
        self,
        record_pk: int,
        spec: _Form,
        form: StoredForm,
        forms: Sequence[StoredForm],
        base: Mapping[str, Any],
    ) -> Iterator[Finding]:
        values = form.values
        shown: dict[str, bool] = {}
        computed: dict[str, str] = {}
        keys = self.keys
        if self.needs_logic and (spec.branching or spec.compiled.calculates):
            context = self._context(base, form.event_id, form.instance)
            merged = self._event_values(forms, form.event_id, form.instance, form)
            if spec.compiled.calculates and "H" in keys:
                computed = calculate_form(spec.compiled, merged, context)
            if spec.branching:
                session = Session(merged, context)
                for row, branching, _calc, _mode in spec.compiled.fields:
                    if branching is not None:
                        shown[row.field_name] = _shown(session, branching)

        def found(key: str, field: FieldSpec, value: str, detail: str = "") -> Finding:
            return Finding(
                key,
                record_pk,
                form.event_id,
                form.form_name,
                form.instance,
                field.name,
                value,
                detail,
            )

        for field in spec.specs:
            name = field.name
            visible = shown.get(name, True) if shown else True
            checkbox = field.checkbox_columns
            value = field_value(field, values) if checkbox else values.get(name, "")
            if checkbox and "G" in keys:  # an unknown option ticked, even with none known
                yield from self._checkbox(found, field, values)
            if not value:
                if field.may_be_blank and visible:
                    if "A" in keys:
                        yield found("A", field, "")
                    if "B" in keys and field.required:
                        yield found("B", field, "")
                if "H" in keys and field.calculated and computed.get(name, "") != "":
                    yield found("H", field, "", computed[name])
                continue
            if "F" in keys and not visible and not field.calculated:
                yield found("F", field, value)
            if "I" in keys and self.codes and value in self.codes:
                yield found("I", field, value)
                continue  # a missing data code is no validation error
            kind = field.kind
            vtype = field.vtype
            if vtype is not None:  # the common case, checked without records' messages
                if not vtype.is_valid(value):
                    if "C" in keys:
                        yield found("C", field, value)
                elif "D" in keys and _out_of_range(field, vtype.comparable(value)):
                    for warning in range_warnings(name, value, field.row):  # its words
                        yield found("D", field, value, warning.message)
            elif (kind in CHECKED_TYPES and kind != "text") or field.char_limit is not None:
                if "C" in keys and check_value(name, value, field.row) is not None:
                    yield found("C", field, value)
            elif kind in CHOICE_TYPES and "G" in keys and value not in spec.codes[name]:
                yield found("G", field, value)
            if "H" in keys and field.calculated and name in computed and computed[name] != value:
                yield found("H", field, value, computed[name])
            if "E" in keys and field.numeric:
                self._keep_number(form.form_name, name, value, form.pk)

    def _checkbox(
        self, found: Any, field: FieldSpec, values: Mapping[str, str]
    ) -> Iterator[Finding]:
        prefix = field.name + "___"
        known = set(field.checkbox_columns)
        for column, stored in values.items():
            if column.startswith(prefix) and (
                (column not in known and stored == "1") or stored not in ("0", "1")
            ):
                yield found("G", field, f"{column[len(prefix) :]}={stored}")

    def _keep_number(self, form_name: str, name: str, value: str, form_pk: int) -> None:
        try:
            number = float(value)
        except ValueError:
            return
        if not math.isfinite(number):
            return
        kept = self._numbers.get((form_name, name))
        if kept is None:
            kept = self._numbers[(form_name, name)] = (array("d"), array("q"))
        kept[0].append(number)
        kept[1].append(form_pk)

    def custom_at(
        self,
        record_pk: int,
        record_id: str,
        dag: str,
        dag_id: int | None,
        forms: Sequence[StoredForm],
        places: Iterable[tuple[int, int]],
    ) -> Iterator[Finding]:
        """The custom rules true at the given (event id, instance) places of one record."""
        base = self._base(record_id, dag, dag_id, forms)
        yield from self._custom(record_pk, forms, base, places)

    def _custom(
        self,
        record_pk: int,
        forms: Sequence[StoredForm],
        base: Mapping[str, Any],
        only: Iterable[tuple[int, int]] | None = None,
    ) -> Iterator[Finding]:
        places = sorted(
            set(only) if only is not None else {(form.event_id, form.instance) for form in forms}
        )
        places = [place for place in places if place[0] in self.event_names]
        for event_id, instance in places:
            context = self._context(base, event_id, instance)
            session = Session(self._event_values(forms, event_id, instance, None), context)
            for rule in self.custom:
                try:
                    true = bool(session.evaluate(rule.logic, "logic"))
                except LogicError:
                    true = False
                if true:
                    yield Finding(rule.key, record_pk, event_id, "", instance, "", "")

    def _missing_events(self, record_pk: int, forms: Sequence[StoredForm]) -> Iterator[Finding]:
        with_data = {form.event_id for form in forms if form.event_id in self.event_names}
        for arm in sorted({self.event_arm[e] for e in with_data}):
            events = [e for e in self.arm_events[arm] if self.design.designated.get(e)]
            last = max(events.index(e) for e in with_data if e in events) if events else -1
            for event_id in events[:last]:
                if event_id not in with_data:
                    yield Finding("J", record_pk, event_id, "", 1, "", "")

    # ---- after every record -----------------------------------------------------------------

    def outliers(self) -> Iterator[tuple[int, str, str, str, str]]:
        """(form pk, form name, field, value, detail) of every value beyond two standard
        deviations of its field's mean (population standard deviation, as REDCap)."""
        for (form_name, name), (numbers, pks) in self._numbers.items():
            count = len(numbers)
            if count < 2:
                continue
            mean = math.fsum(numbers) / count
            sd = math.sqrt(math.fsum((x - mean) ** 2 for x in numbers) / count)
            if sd == 0:
                continue
            low, high = mean - 2 * sd, mean + 2 * sd
            detail = f"mean {mean:.4g}, SD {sd:.4g}"
            for number, pk in zip(numbers, pks, strict=True):
                if number < low or number > high:
                    yield pk, form_name, name, _number_text(number), detail
        self._numbers = {}


def _out_of_range(field: FieldSpec, value: Any) -> bool:
    return (field.low is not None and value < field.low) or (
        field.high is not None and value > field.high
    )


def _number_text(number: float) -> str:
    return str(int(number)) if number.is_integer() else repr(number)


def _shown(session: Session, branching: Node) -> bool:
    try:
        return bool(session.evaluate(branching, "logic"))
    except LogicError:
        return True  # as the form page: logic that cannot run leaves the field visible


def custom_rule(key: str, logic: str) -> CustomRule | None:
    """A custom rule ready to run, or None when its logic does not parse (it finds nothing)."""
    try:
        return CustomRule(key, parse_shared(logic))
    except LogicError:
        return None


def builtin_keys() -> list[str]:
    return list(BUILTIN_RULES)
