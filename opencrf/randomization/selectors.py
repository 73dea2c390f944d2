"""Protected reads of randomization: who may see the set-up, the dashboard and allocations.

Concealment: the tables, the rows left and every allocation list are shown only to those with
the dashboard right (or the set-up right, which makes the tables); a member of a data access
group sees only the allocations of records of that group, and rows left only of strata of that
group (none when the group is not a stratum). Everyone else learns a record's arm only from
its allocation field, on the records they may see.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from opencrf.accounts.models import User
from opencrf.core.errors import PermissionDenied
from opencrf.projects.models import Project
from opencrf.projects.rights import Rights
from opencrf.projects.selectors import access_project, member_rights
from opencrf.randomization.models import (
    GROUP_STRATUM,
    Allocation,
    AllocationRow,
    Environment,
    RandomizationSetup,
)
from opencrf.randomization.scheme import Scheme
from opencrf.randomization.services import environment_of, may_set_up

# A stratum with this many rows left, or fewer, is flagged on the dashboard.
LOW_ROWS = 3


def may_see_dashboard(rights: Rights) -> bool:
    return rights.is_admin or rights.randomization_dashboard


def access_setup_page(user: User, project_id: int) -> tuple[Project, Rights]:
    project = access_project(user, project_id)
    rights = member_rights(user, project)
    if not may_set_up(rights):
        raise PermissionDenied(_("You may not set up randomization in this project."))
    return project, rights


def access_dashboard(user: User, project_id: int) -> tuple[Project, Rights]:
    project = access_project(user, project_id)
    rights = member_rights(user, project)
    if not may_see_dashboard(rights):
        raise PermissionDenied(_("You may not see the randomization dashboard of this project."))
    return project, rights


def allocations_visible(setup: RandomizationSetup, rights: Rights) -> QuerySet[Allocation]:
    allocations = setup.allocations.select_related("allocated_by", "row", "group")
    if rights.group_id is not None:
        allocations = allocations.filter(group_id=rights.group_id)
    return allocations.order_by("environment", "sequence")


@dataclass(frozen=True)
class StratumLine:
    """One stratum on the dashboard: its codes as labels, allocations per arm, rows left."""

    labels: list[str]
    by_arm: list[int]
    total: int
    rows: int | None
    left: int | None

    @property
    def used(self) -> int | None:
        return None if self.rows is None or self.left is None else self.rows - self.left

    @property
    def low(self) -> bool:
        return self.left is not None and self.left <= LOW_ROWS


@dataclass(frozen=True)
class Dashboard:
    environment: str
    lines: list[StratumLine]
    arm_totals: list[int]
    total: int
    shows_rows: bool


def dashboard_of(
    setup: RandomizationSetup, scheme: Scheme, rights: Rights, environment: str | None = None
) -> Dashboard:
    """Allocations of one environment by stratum and arm, with each stratum's rows used/left."""
    environment = environment or environment_of(setup.project)
    allocations = allocations_visible(setup, rights).filter(environment=environment)
    counts = Counter(allocations.values_list("stratum_key", "arm"))
    shows_rows = rights.group_id is None or setup.group_stratum
    rows = AllocationRow.objects.filter(table__setup=setup, table__environment=environment)
    if rights.group_id is not None:
        rows = rows.filter(**{f"stratum__{GROUP_STRATUM}": str(rights.group_id)})
    sizes: Counter[str] = Counter()
    left: Counter[str] = Counter()
    if shows_rows:
        for key, used in rows.values_list("stratum_key", "used"):
            sizes[key] += 1
            left[key] += 0 if used else 1
    keys = sorted({key for key, _arm in counts} | set(sizes), key=_order(scheme))
    arms = scheme.arm_codes
    lines = []
    for key in keys:
        by_arm = [counts[(key, arm)] for arm in arms]
        has_table = shows_rows and key in sizes
        lines.append(
            StratumLine(
                _labels(scheme, key),
                by_arm,
                sum(by_arm),
                sizes[key] if has_table else None,
                left[key] if has_table else None,
            )
        )
    totals = [sum(line.by_arm[i] for line in lines) for i in range(len(arms))]
    return Dashboard(environment, lines, totals, sum(totals), shows_rows)


def _parts(key: str) -> list[str]:
    return [part.partition("=")[2] for part in key.split("|")] if key else []


def _labels(scheme: Scheme, key: str) -> list[str]:
    return [
        factor.label_of(code) for factor, code in zip(scheme.factors, _parts(key), strict=False)
    ]


def _order(scheme: Scheme) -> Callable[[str], list[int]]:
    positions = [{code: i for i, code in enumerate(factor.codes)} for factor in scheme.factors]

    def key(stratum: str) -> list[int]:
        return [
            positions[i].get(code, len(positions[i])) if i < len(positions) else 0
            for i, code in enumerate(_parts(stratum))
        ]

    return key


def environment_label(environment: str) -> str:
    return str(Environment(environment).label)
