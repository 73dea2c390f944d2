"""Allocation tables: REDCap's CSV format read and checked, and permuted blocks generated.

The CSV format is REDCap's: a header naming the allocation field, then each stratum field, and
`redcap_data_access_group` when the group is a stratum (its values are the groups' ids, as in
REDCap; this reader also takes a group's unique name). Each following line is one allocation,
used in order within its stratum. Every problem is reported with its line and column, and a
file with any problem is refused whole.

Generated tables use permuted blocks with random block sizes: for each stratum (every
combination of the strata's codes) `blocks` blocks follow one another, each of a size drawn
from the chosen set, each holding every arm in proportion to its ratio, in a random order. The
draws come from `random.Random(seed)`; the seed is recorded with the table (a fresh one from
`secrets.token_hex` unless given), so the same seed and settings give the same table again.
"""

from __future__ import annotations

import csv
import io
import itertools
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from opencrf.core.errors import InvalidInput
from opencrf.projects.models import DataAccessGroup
from opencrf.randomization.models import GROUP_STRATUM
from opencrf.randomization.scheme import Scheme

MAX_ROWS = 100_000
MAX_BLOCKS = 10_000
MAX_BLOCK_SIZE = 1000
MAX_ERRORS = 20


@dataclass(frozen=True, slots=True)
class TableLine:
    """One allocation of a table: the arm, the stratum's codes, and its block (0: uploaded)."""

    arm: str
    stratum: Mapping[str, str] = field(default_factory=dict)
    block: int = 0


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(
            _("The allocation table is not UTF-8 text; nothing was saved.")
        ) from None


def _check_header(header: Sequence[str], scheme: Scheme) -> None:
    wanted = [scheme.field, *scheme.factor_names]
    names = [name.strip() for name in header]
    if names == wanted:
        return
    missing = [name for name in wanted if name not in names]
    extra = [name for name in names if name not in wanted]
    details = {
        "wanted": ", ".join(wanted),
        "found": ", ".join(names) or "—",
        "missing": ", ".join(missing) or "—",
        "extra": ", ".join(extra) or "—",
    }
    raise InvalidInput(
        _(
            "Line 1 (the header) must name the columns %(wanted)s in this order; it names "
            "%(found)s (missing: %(missing)s; not expected: %(extra)s). Nothing was saved."
        )
        % details
    )


def _group_codes(groups: Sequence[DataAccessGroup]) -> dict[str, str]:
    """A group's id or unique name → its id as text (REDCap's tables hold the id)."""
    codes = {str(group.pk): str(group.pk) for group in groups}
    codes.update({group.unique_name: str(group.pk) for group in groups})
    return codes


def parse_table_csv(
    data: bytes, scheme: Scheme, groups: Sequence[DataAccessGroup] = ()
) -> list[TableLine]:
    """The lines of an uploaded table; InvalidInput naming every bad line and column."""
    text = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if not header or not any(cell.strip() for cell in header):
        raise InvalidInput(_("The allocation table is empty; nothing was saved."))
    _check_header(header, scheme)
    columns = [scheme.field, *scheme.factor_names]
    allowed = {factor.name: set(factor.codes) for factor in scheme.factors}
    arms = set(scheme.arm_codes)
    group_codes = _group_codes(groups)
    lines: list[TableLine] = []
    errors: list[str] = []
    for number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(lines) >= MAX_ROWS:
            raise InvalidInput(
                _("The allocation table has more than %(max)d lines; nothing was saved.")
                % {"max": MAX_ROWS}
            )
        if len(cells) != len(columns):
            errors.append(
                _("Line %(line)d has %(found)d values; the header has %(wanted)d.")
                % {"line": number, "found": len(cells), "wanted": len(columns)}
            )
            continue
        values = {name: cell.strip() for name, cell in zip(columns, cells, strict=True)}
        if GROUP_STRATUM in values:
            values[GROUP_STRATUM] = group_codes.get(values[GROUP_STRATUM], values[GROUP_STRATUM])
        for name in columns:
            codes = arms if name == scheme.field else allowed[name]
            if values[name] not in codes:
                errors.append(_bad_value(number, name, values[name], codes))
        lines.append(TableLine(values[scheme.field], {n: values[n] for n in columns[1:]}))
        if len(errors) >= MAX_ERRORS:
            break
    if errors:
        raise InvalidInput(" ".join([*errors, str(_("Nothing was saved."))]))
    if not lines:
        raise InvalidInput(_("The allocation table has a header but no allocations."))
    return lines


def _bad_value(line: int, column: str, value: str, codes: set[str]) -> str:
    names = {"line": line, "column": column, "value": value, "codes": ", ".join(sorted(codes))}
    if value == "":
        return _("Line %(line)d, column %(column)s: no value (expected one of %(codes)s).") % names
    return _("Line %(line)d, column %(column)s: “%(value)s” is not one of %(codes)s.") % names


def parse_block_sizes(text: str, scheme: Scheme) -> list[int]:
    """Block sizes from `4, 6`: each a multiple of the sum of the arms' ratios."""
    unit = sum(scheme.ratios[code] for code in scheme.arm_codes)
    sizes: list[int] = []
    for part in text.replace(";", ",").split(","):
        if not part.strip():
            continue
        if not part.strip().isdigit():
            raise InvalidInput(_("Block size “%(size)s” is not a whole number.") % {"size": part})
        size = int(part)
        if size <= 0 or size % unit or size > MAX_BLOCK_SIZE:
            raise InvalidInput(
                _("Block size %(size)d is not a multiple of %(unit)d (the sum of the ratios).")
                % {"size": size, "unit": unit}
            )
        sizes.append(size)
    if not sizes:
        raise InvalidInput(_("Give at least one block size."))
    return sorted(set(sizes))


def strata_of(scheme: Scheme) -> list[dict[str, str]]:
    """Every stratum: each combination of the factors' codes, in dictionary order."""
    names = scheme.factor_names
    codes = [factor.codes for factor in scheme.factors]
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*codes)]


def generate_blocks(
    scheme: Scheme, block_sizes: Sequence[int], blocks: int, seed: str
) -> list[TableLine]:
    """A table of `blocks` permuted blocks per stratum (see the module's note)."""
    if not 1 <= blocks <= MAX_BLOCKS:
        raise InvalidInput(
            _("The number of blocks per stratum must be between 1 and %(max)d.")
            % {"max": MAX_BLOCKS}
        )
    strata = strata_of(scheme)
    if not strata:
        raise InvalidInput(_("A stratum has no codes: a table cannot be generated."))
    if len(strata) * blocks * max(block_sizes) > MAX_ROWS:
        raise InvalidInput(
            _("That table would have more than %(max)d lines; ask for fewer blocks.")
            % {"max": MAX_ROWS}
        )
    rng = random.Random(seed)  # noqa: S311 - reproducible from the recorded seed, by design
    unit = sum(scheme.ratios[code] for code in scheme.arm_codes)
    lines: list[TableLine] = []
    for stratum in strata:
        for number in range(1, blocks + 1):
            size = rng.choice(list(block_sizes))
            block = [
                code
                for code in scheme.arm_codes
                for _n in range(scheme.ratios[code] * size // unit)
            ]
            rng.shuffle(block)
            lines.extend(TableLine(arm, stratum, number) for arm in block)
    return lines
