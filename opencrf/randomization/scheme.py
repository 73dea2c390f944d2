"""A setup as the allocation code reads it: the arms and each stratum's codes, from the design.

`Scheme` is a plain value (no queries once built), so that the table parser, the block
generator and minimization are plain functions of it and easy to test.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.utils.translation import gettext as _

from opencrf.core.errors import InvalidInput
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.design import ProjectDesign, design_of
from opencrf.dictionary.rendering import field_choices
from opencrf.randomization.models import GROUP_STRATUM, RandomizationSetup

ALLOCATION_TYPES = frozenset({"radio", "dropdown"})
STRATUM_TYPES = frozenset({"radio", "dropdown", "yesno", "truefalse"})


@dataclass(frozen=True, slots=True)
class Factor:
    """One stratum: a field (or the data access group) and its codes with their labels."""

    name: str
    label: str
    choices: tuple[tuple[str, str], ...]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(code for code, _label in self.choices)

    def label_of(self, code: str) -> str:
        return dict(self.choices).get(code, code)


@dataclass(frozen=True, slots=True)
class Scheme:
    """The allocation field's arms (code, label), their ratios, and the strata in order."""

    field: str
    arms: tuple[tuple[str, str], ...]
    ratios: Mapping[str, int]
    factors: tuple[Factor, ...]

    @property
    def arm_codes(self) -> tuple[str, ...]:
        return tuple(code for code, _label in self.arms if self.ratios.get(code, 0) > 0)

    def arm_label(self, code: str) -> str:
        return dict(self.arms).get(code, code)

    @property
    def factor_names(self) -> tuple[str, ...]:
        return tuple(factor.name for factor in self.factors)


def stratum_key(stratum: Mapping[str, str], factors: Sequence[str]) -> str:
    """One string per stratum, in the order of the setup's factors: `sex=1|site=4`."""
    return "|".join(f"{name}={stratum.get(name, '')}" for name in factors)


def field_rows(
    setup: RandomizationSetup, design: ProjectDesign | None = None
) -> dict[str, FieldRow]:
    design = design or design_of(setup.project)
    return {row.field_name: row for row in design.rows}


def choices_of(row: FieldRow) -> tuple[tuple[str, str], ...]:
    return tuple((choice.code, choice.label) for choice in field_choices(row))


def scheme_of(setup: RandomizationSetup, design: ProjectDesign | None = None) -> Scheme:
    """The setup's scheme at the current design; InvalidInput if a field it names is gone."""
    rows = field_rows(setup, design)
    target = rows.get(setup.allocation_field)
    if target is None or target.field_type not in ALLOCATION_TYPES:
        raise InvalidInput(
            _("The allocation field %(field)s is no longer a radio or dropdown field.")
            % {"field": setup.allocation_field}
        )
    arms = choices_of(target)
    ratios = {code: int(setup.ratios.get(code, 1)) for code, _label in arms}
    factors = []
    for item in setup.strata:
        row = rows.get(str(item["field"]))
        if row is None or row.field_type not in STRATUM_TYPES:
            raise InvalidInput(
                _("The stratum %(field)s is no longer a choice field.") % {"field": item["field"]}
            )
        factors.append(Factor(row.field_name, row.field_label, choices_of(row)))
    if setup.group_stratum:
        groups = setup.project.groups.order_by("name")
        choices = tuple((str(group.pk), group.name) for group in groups)
        factors.append(Factor(GROUP_STRATUM, str(_("Data access group")), choices))
    return Scheme(setup.allocation_field, arms, ratios, tuple(factors))
