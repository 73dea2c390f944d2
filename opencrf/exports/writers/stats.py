"""SPSS (.sav), Stata (.dta) and SAS transport (.xpt, version 8) files through our own
streaming writers (`sav`, `dta`, `xpt`, fed by `scan`).

The writers keep memory flat at any size: the rows are read once into a temporary file while
each column is measured, then written from it a chunk at a time (see `scan`). Per kind, in
every format:

- numbers, integers, calculations, sliders: numeric; empty is missing;
- choices (radio, dropdown, yes/no, true/false, each checkbox option, form status): numeric
  codes with value labels; when a field's codes are not all whole numbers (REDCap allows
  `a, Apple`), the values are the options' positions 1..n and the labels say which option;
- dates and datetimes: the formats' date and datetime types;
- everything else (text, notes, times, files' names): UTF-8 strings.

A column whose values do not all fit its kind (a stored number that is not one) is written as
text, whole, so nothing is lost. Names longer than the format allows are shortened and made
unique: Stata and SAS 32 bytes (in Stata, with room for a number after a value label set's
name), SPSS 64 bytes. Labels are cut to the format's limit, and SPSS and SAS strings to
their 32,767 bytes (never inside a character; Stata keeps long text whole). SAS numbers
beyond what an IBM double holds (1e300) make their column text (see `xpt`). `opencrf export`
prints the renamed variables.

SAS transport files hold no value labels; `sas_formats` writes them as a PROC FORMAT
program that the SAS export ships beside the .xpt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import BinaryIO

from opencrf.exports.table import ExportTable, Kind, Variable

STATA_RESERVED = frozenset(
    [
        "_all",
        "_b",
        "byte",
        "_coef",
        "_cons",
        "double",
        "float",
        "if",
        "in",
        "int",
        "long",
        "_n",
        "_N",
        "_pi",
        "_pred",
        "_rc",
        "_skip",
        "strL",
        "using",
        "with",
    ]
)


@dataclass(frozen=True)
class Target:
    """What one statistics format allows."""

    name_bytes: int
    label_bytes: int
    value_label_bytes: int
    value_labels: bool
    text_bytes: int | None = None  # the longest string value, when the format has a limit


TARGETS = {
    "spss": Target(
        name_bytes=64, label_bytes=255, value_label_bytes=120, value_labels=True, text_bytes=32_767
    ),
    "stata": Target(name_bytes=32, label_bytes=80 * 4, value_label_bytes=32_000, value_labels=True),
    "sas": Target(name_bytes=32, label_bytes=256, value_label_bytes=32_767, value_labels=False),
}
STATA_LABEL_CHARACTERS = 80


# A chunk of a number column: every line empty or a number as stored (see `parse_number`).
NUMBERS = re.compile(
    r"(?:-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)?(?:\n(?:-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)?)*"
)


def choice_values(variable: Variable) -> dict[str, float]:
    """The numeric value written for each code: the code itself when every code is a whole
    number, else the option's position (1..n)."""
    codes = [choice.code for choice in variable.choices]
    if all(_whole(code) is not None for code in codes):
        return {code: float(int(code)) for code in codes}
    return {code: float(position) for position, code in enumerate(codes, start=1)}


def _whole(code: str) -> int | None:
    text = code.strip()
    digits = text[1:] if text.startswith("-") else text
    return int(text) if digits.isascii() and digits.isdigit() and len(digits) < 10 else None


def short_names(variables: list[Variable], target: Target, stata: bool) -> list[str]:
    """Each variable's name within the format's limit, unique, in order."""
    taken: set[str] = set()
    names = []
    # pyreadstat names the n-th Stata value label set `<variable><n>` (n from 0), and the set's
    # name has the same 32-byte limit: choice variables leave room for the longest n.
    sets = sum(variable.kind == Kind.CHOICE for variable in variables)
    counter = len(str(max(sets - 1, 0)))
    for variable in variables:
        name = variable.name
        if stata and name in STATA_RESERVED:
            name += "_"
        limit = target.name_bytes - (counter if stata and variable.kind == Kind.CHOICE else 0)
        name = _cut(name, limit)
        number = 1
        while name.lower() in taken:
            number += 1
            suffix = f"_{number}"
            name = _cut(variable.name, limit - len(suffix)) + suffix
        taken.add(name.lower())
        names.append(name)
    return names


def _cut(text: str, limit: int) -> str:
    """`text` cut to at most `limit` UTF-8 bytes, never inside a character."""
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    return encoded[:limit].decode("utf-8", errors="ignore")


def write_native(table: ExportTable, out: BinaryIO, kind: str) -> StatisticsFile:
    """Write the table to `out` as `kind` (spss, stata, sas) with our streaming writers."""
    from opencrf.exports.writers.dta import write_dta
    from opencrf.exports.writers.sav import write_sav
    from opencrf.exports.writers.scan import Mode, spool
    from opencrf.exports.writers.xpt import write_xpt

    target = TARGETS[kind]
    names = short_names(table.variables, target, stata=kind == "stata")
    labels = [_label(v.label, target, kind) for v in table.variables]
    spooled = spool(table)
    try:
        sets = {
            name: choice_labels(column.variable, target)
            for name, column in zip(names, spooled.columns, strict=True)
            if column.mode == Mode.CHOICE
        }
        if kind == "spss":
            write_sav(spooled, names, labels, sets, out, file_label=table.project.title)
        elif kind == "sas":
            write_xpt(spooled, names, labels, out)
        else:
            write_dta(spooled, names, labels, sets, out, dataset_label=table.project.title)
    finally:
        spooled.close()
    renamed = {v.name: n for v, n in zip(table.variables, names, strict=True) if v.name != n}
    return StatisticsFile(spooled.rows, renamed, dict(sets), names)


def choice_labels(variable: Variable, target: Target) -> dict[int | float, str]:
    """A choice variable's value labels: the value written for each code, and its label."""
    codes = choice_values(variable)
    return {
        int(codes[choice.code]): _cut(choice.label, target.value_label_bytes)
        for choice in variable.choices
    }


@dataclass(frozen=True)
class StatisticsFile:
    """What was written: rows, renamed variables (export name → file name), value labels."""

    rows: int
    renamed: dict[str, str]
    value_labels: dict[str, dict[int | float, str]]
    names: list[str]


def _label(label: str, target: Target, kind: str) -> str:
    if kind == "stata":  # Stata counts characters (80), not bytes
        label = label[:STATA_LABEL_CHARACTERS]
    return _cut(label, target.label_bytes)


def sas_formats(written: StatisticsFile, table: ExportTable) -> str:
    """A SAS program: PROC FORMAT with each choice field's labels, and the FORMAT statement
    that attaches them, for the .xpt beside it (transport files cannot hold them)."""
    lines = [
        "/* Value labels for DATA.xpt: run after reading it, e.g.",
        "   libname x xport 'data.xpt'; data work.data; set x.data; run; */",
        "proc format;",
    ]
    attach = []
    for number, (name, labels) in enumerate(written.value_labels.items(), start=1):
        format_name = f"F{number}_"
        lines.append(f"  value {format_name}")
        lines += [f"    {value} = {_sas_string(label)}" for value, label in labels.items()]
        lines.append("  ;")
        attach.append(f"  format {name} {format_name}.;")
    lines += ["run;", "", "data work.data;", "  set work.data;", *attach, "run;", ""]
    return "\n".join(lines)


def _sas_string(text: str) -> str:
    """A SAS string literal: single quotes doubled; no line breaks (labels are one line)."""
    return "'" + " ".join(text.split()).replace("'", "''") + "'"
