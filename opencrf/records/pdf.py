"""Instruments as PDF, blank or filled with a record's data, as REDCap prints them.

Each form starts a section headed by its label (and the record, event and instance when
filled); each field shows its label and its value, or for a blank form its choices with a box
to tick and a line to write on. Japanese text uses the PDF's standard Japanese font
(HeiseiKakuGo-W5), which readers supply, so nothing is embedded. Every label and value is
escaped before it reaches ReportLab's paragraph markup: a label cannot add markup.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from django.utils.translation import gettext
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import (
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from opencrf.dictionary.choices import checkbox_column, parse_choices
from opencrf.dictionary.columns import FieldRow
from opencrf.records.export import BOOLEAN_LABELS, STATUS_LABELS

FONT = "HeiseiKakuGo-W5"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))
BODY = ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=13)
SMALL = ParagraphStyle("small", parent=BODY, fontSize=8, leading=10, textColor=colors.grey)
HEADING = ParagraphStyle("heading", parent=BODY, fontSize=13, leading=17, spaceAfter=4)
SECTION = ParagraphStyle("section", parent=BODY, fontSize=10.5, leading=14, spaceBefore=6)
BLANK_LINE = "_" * 40
CHOICE_TYPES = frozenset({"radio", "dropdown", "checkbox"})


@dataclass(frozen=True)
class FormPage:
    """One form to print: its label and rows, and (filled) the stored values and status."""

    title: str
    rows: Sequence[FieldRow]
    values: dict[str, str] | None = None  # None: a blank form
    status: int | None = None
    caption: str = ""  # record, event, instance
    lock_lines: Sequence[str] = ()  # who locked and e-signed it (records/signatures.py)


def _text(value: str) -> str:
    return escape(value).replace("\n", "<br/>")


def _choices(row: FieldRow, values: dict[str, str] | None) -> str:
    lines = []
    for choice in parse_choices(row.select_choices_or_calculations):
        if values is None:
            ticked = False
        elif row.field_type == "checkbox":
            ticked = values.get(checkbox_column(row.field_name, choice.code)) == "1"
        else:
            ticked = values.get(row.field_name) == choice.code
        lines.append(("■ " if ticked else "□ ") + _text(choice.label))
    return "<br/>".join(lines)


def _answer(row: FieldRow, values: dict[str, str] | None, file_names: dict[str, str]) -> str:
    kind = row.field_type
    if kind in CHOICE_TYPES:
        return _choices(row, values)
    if kind in BOOLEAN_LABELS:
        labels = BOOLEAN_LABELS[kind]
        code = values.get(row.field_name, "") if values is not None else ""
        return "  ".join(
            ("■ " if code == value else "□ ") + _text(gettext(label))
            for value, label in sorted(labels.items(), reverse=True)
        )
    if values is None:
        return "" if kind == "calc" else BLANK_LINE
    if kind == "file":
        return _text(file_names.get(row.field_name, ""))
    return _text(values.get(row.field_name, ""))


def _form_flowables(page: FormPage, file_names: dict[str, str]) -> list[object]:
    flowables: list[object] = [Paragraph(_text(page.title), HEADING)]
    if page.caption:
        flowables.append(Paragraph(_text(page.caption), SMALL))
    rows = []
    for row in page.rows:
        if row.section_header.strip():
            rows.append([Paragraph(_text(row.section_header), SECTION), ""])
        label = Paragraph(_text(row.field_label), BODY)
        if row.field_type == "descriptive":
            rows.append([label, ""])
            continue
        rows.append([label, Paragraph(_answer(row, page.values, file_names), BODY)])
    if rows:
        table = Table(rows, colWidths=[80 * mm, 95 * mm], repeatRows=0)
        table.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
                ]
            )
        )
        flowables.append(table)
    status = "" if page.status is None else STATUS_LABELS.get(str(page.status), "")
    if status:
        flowables.append(Spacer(1, 3 * mm))
        flowables.append(KeepTogether([Paragraph(f"Form status: {status}", SMALL)]))
    if page.lock_lines:
        flowables.append(Spacer(1, 3 * mm))
        flowables.append(KeepTogether([Paragraph(_text(line), BODY) for line in page.lock_lines]))
    return flowables


def forms_pdf(
    project_title: str,
    pages: Iterable[FormPage],
    file_names: dict[str, str] | None = None,
    appendix: Sequence[object] = (),
) -> bytes:
    """The PDF of `pages`, one form after another, each on a new page; `appendix` (flowables,
    such as an e-consent's signature block) follows the last form."""
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=project_title,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
    )
    story: list[object] = [Paragraph(_text(project_title), SMALL)]
    for number, page in enumerate(pages):
        if number:
            story.append(PageBreak())
        story.extend(_form_flowables(page, file_names or {}))
    story.extend(appendix)
    document.build(story)
    return buffer.getvalue()
