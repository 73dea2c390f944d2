"""The operations report as a PDF, with the page's charts drawn by ReportLab's graphics.

Japanese text uses the PDF's standard Japanese font (HeiseiKakuGo-W5), as record PDFs do; every
text from the database is escaped before it reaches ReportLab's paragraph markup.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from xml.sax.saxutils import escape

from django.template.defaultfilters import filesizeformat
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import (
    CondPageBreak,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from opencrf.ops.charts import PALETTE, ChartSpec, nice_ticks
from opencrf.ops.models import IncidentLevel
from opencrf.ops.reports import OperationsReport, report_charts

FONT = "HeiseiKakuGo-W5"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))
BODY = ParagraphStyle("ops-body", fontName=FONT, fontSize=9, leading=12)
SMALL = ParagraphStyle("ops-small", parent=BODY, fontSize=7.5, leading=9.5)
TITLE = ParagraphStyle("ops-title", parent=BODY, fontSize=16, leading=21, spaceAfter=4)
HEADING = ParagraphStyle(
    "ops-heading", parent=BODY, fontSize=12, leading=16, spaceBefore=8, spaceAfter=4
)
CHART_WIDTH, CHART_HEIGHT = 170 * mm, 62 * mm
TABLE_STYLE = TableStyle(
    [
        ("FONTNAME", (0, 0), (-1, -1), FONT),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e9ecef")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
)


def _p(text: object, style: ParagraphStyle = BODY) -> Paragraph:
    # The Japanese CID font has no no-break space (filesizeformat writes one).
    plain = str(text).replace("\xa0", " ")
    return Paragraph(escape(plain).replace("\n", "<br/>"), style)


def _when(moment: object) -> str:
    if moment is None:
        return "—"
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")  # type: ignore[arg-type]


def _table(header: Sequence[str], rows: Sequence[Sequence[object]], widths: list[float]) -> Table:
    cells = [[_p(text, SMALL) for text in header]]
    cells += [[_p(text, SMALL) for text in row] for row in rows]
    table = Table(cells, colWidths=[width * mm for width in widths], repeatRows=1)
    table.setStyle(TABLE_STYLE)
    return table


def _chart(spec: ChartSpec) -> Drawing:
    drawing = Drawing(CHART_WIDTH, CHART_HEIGHT)
    drawing.add(String(0, CHART_HEIGHT - 10, spec.title, fontName=FONT, fontSize=9))
    values = [v for one in spec.series for v in one.values if v is not None]
    if not spec.labels or not values:
        drawing.add(String(0, CHART_HEIGHT - 28, spec.empty, fontName=FONT, fontSize=8))
        return drawing
    chart = VerticalBarChart() if spec.kind == "bar" else HorizontalLineChart()
    chart.x, chart.y = 36, 36
    chart.width, chart.height = CHART_WIDTH - 50, CHART_HEIGHT - 60
    chart.data = [list(one.values) for one in spec.series]  # None: a gap in the line
    if spec.kind == "bar":
        chart.categoryAxis.style = "stacked"
        totals = [sum(one.values[i] or 0 for one in spec.series) for i in range(len(spec.labels))]
        ticks = nice_ticks(max(totals), whole=spec.whole)
    else:
        ticks = nice_ticks(max(values), whole=spec.whole)
    chart.valueAxis.valueMin, chart.valueAxis.valueMax = 0, ticks[-1]
    chart.valueAxis.valueStep = ticks[1] - ticks[0]
    chart.valueAxis.labels.fontName = FONT
    chart.valueAxis.labels.fontSize = 7
    every = max(1, -(-len(spec.labels) // 12))
    chart.categoryAxis.categoryNames = [
        label if index % every == 0 else "" for index, label in enumerate(spec.labels)
    ]
    chart.categoryAxis.labels.fontName = FONT
    chart.categoryAxis.labels.fontSize = 7
    for index in range(len(spec.series)):
        colour = colors.HexColor(PALETTE[index % len(PALETTE)])
        if spec.kind == "bar":
            chart.bars[index].fillColor = colour
            chart.bars[index].strokeColor = None
        else:
            chart.lines[index].strokeColor = colour
            chart.lines[index].strokeWidth = 1.5
    drawing.add(chart)
    drawing.add(_legend(spec))
    return drawing


def _legend(spec: ChartSpec) -> Legend:
    legend = Legend()
    legend.x, legend.y = 36, 12
    legend.alignment = "right"
    legend.columnMaximum = 1
    legend.fontName = FONT
    legend.fontSize = 7
    legend.dx = legend.dy = 6
    legend.deltax = 90
    legend.colorNamePairs = [
        (colors.HexColor(PALETTE[index % len(PALETTE)]), one.name)
        for index, one in enumerate(spec.series)
    ]
    return legend


def report_pdf(report: OperationsReport, *, language: str | None = None) -> bytes:
    """The report as PDF bytes, in `language` (the active language by default)."""
    with translation.override(language or translation.get_language()):
        story = _story(report)
        buffer = io.BytesIO()
        title = _title(report)
        document = SimpleDocTemplate(
            buffer,
            pagesize=A4,
            leftMargin=18 * mm,
            rightMargin=18 * mm,
            topMargin=16 * mm,
            bottomMargin=16 * mm,
            title=title,
            author="OpenCRF",
        )
        document.build(story)
    return buffer.getvalue()


def _title(report: OperationsReport) -> str:
    if report.period.monthly:
        return _("Operations report for %(period)s") % {"period": report.period.label}
    return _("Annual operations report for %(period)s") % {"period": report.period.label}


def _story(report: OperationsReport) -> list[object]:
    story: list[object] = [
        _p(_title(report), TITLE),
        _p(_("Generated %(when)s") % {"when": _when(report.generated_at)}, SMALL),
        Spacer(1, 4 * mm),
    ]
    story += _summary(report)
    story += _incidents(report)
    story += _work(report)
    story.append(_p(_("Capacity and users"), HEADING))
    for spec in report_charts(report)[1:]:
        story.append(KeepTogether([_chart(spec), Spacer(1, 3 * mm)]))
    story += _maintenance(report)
    return story


def _summary(report: OperationsReport) -> list[object]:
    last = report.capacity_last
    rows: list[list[object]] = [
        [_("Service availability"), f"{report.availability_percent:.3f} %"],
        [_("Incidents"), str(sum(report.incidents_by_level.values()))],
        [_("Backups succeeded / failed"), f"{report.backups.succeeded} / {report.backups.failed}"],
        [_("Restore drills"), str(len(report.drills))],
        [_("Upgrades"), str(len(report.upgrades))],
    ]
    if last is not None:
        rows += [
            [_("Database size"), filesizeformat(last.database_bytes)],
            [_("File storage size"), filesizeformat(last.storage_bytes)],
            [_("Records"), f"{last.records:,}"],
            [_("Registered users"), f"{last.users_registered:,}"],
        ]
    return [_p(_("Summary"), HEADING), _table([_("Item"), _("Value")], rows, [70, 60])]


def _incidents(report: OperationsReport) -> list[object]:
    counts = [
        [str(IncidentLevel(level).label), str(report.incidents_by_level[level])]
        for level in IncidentLevel.values
    ]
    flow: list[object] = [
        CondPageBreak(80 * mm),
        _p(_("Incidents"), HEADING),
        _p(_("Incidents that began in the period, by level"), BODY),
        _table([_("Level"), _("Incidents")], counts, [110, 25]),
        Spacer(1, 3 * mm),
        _chart(report_charts(report)[0]),
    ]
    if not report.incidents:
        return [*flow, _p(_("No incidents in this period."), BODY)]
    rows: list[list[object]] = [
        [
            str(row.level),
            row.title,
            _when(row.started_at),
            _when(row.ended_at),
            row.duration_text,
            row.impact,
            row.actions,
        ]
        for row in report.incidents
    ]
    header = [_("Level"), _("Title"), _("Started"), _("Ended"), _("Duration")]
    header += [_("Impact"), _("Actions taken")]
    return [*flow, _table(header, rows, [12, 32, 22, 22, 16, 34, 36])]


def _work(report: OperationsReport) -> list[object]:
    backups = report.backups
    header = [_("Succeeded"), _("Failed"), _("Total size"), _("Largest"), _("Mean time")]
    flow: list[object] = [
        CondPageBreak(60 * mm),
        _p(_("Work done"), HEADING),
        _p(_("Backups"), BODY),
        _table(
            [
                _("Succeeded"),
                _("Failed"),
                _("Total size"),
                _("Largest"),
                _("Mean time"),
                _("Longest time"),
            ],
            [
                [
                    str(backups.succeeded),
                    str(backups.failed),
                    filesizeformat(backups.total_bytes),
                    filesizeformat(backups.largest_bytes),
                    backups.mean_text,
                    backups.longest_text,
                ]
            ],
            [22, 20, 30, 30, 30, 30],
        ),
        Spacer(1, 3 * mm),
    ]
    if backups.failures:
        rows = [[run.backup_id, _when(run.started_at), run.error] for run in backups.failures]
        flow += [
            _p(_("Failed backups"), BODY),
            _table([_("Backup"), _("Started"), _("Error")], rows, [50, 30, 94]),
        ]
    flow += [Spacer(1, 3 * mm), _p(_("Restore drills"), BODY)]
    if report.drills:
        rows = [
            [
                _when(drill.started_at),
                drill.backup_id,
                drill.status_label,
                drill.recovery_text,
                drill.backup_age_text,
            ]
            for drill in report.drills
        ]
        header = [_("Started"), _("Backup"), _("Result"), _("Recovery time achieved")]
        flow.append(_table([*header, _("Backup age")], rows, [30, 50, 25, 40, 29]))
    else:
        flow.append(_p(_("No restore drills in this period."), SMALL))
    flow += [Spacer(1, 3 * mm), _p(_("Upgrades"), BODY)]
    if report.upgrades:
        rows = [
            [
                _when(run.started_at),
                run.from_version,
                run.to_version,
                str(run.get_status_display()),
                str(len(run.migrations_applied)),
            ]
            for run in report.upgrades
        ]
        header = [_("Started"), _("From version"), _("To version"), _("Result")]
        flow.append(_table([*header, _("Migrations")], rows, [34, 35, 35, 40, 30]))
    else:
        flow.append(_p(_("No upgrades in this period."), SMALL))
    return flow + _audit(report)


def _audit(report: OperationsReport) -> list[object]:
    """The chains' heads in print: one more copy kept away from the database."""
    audit = report.audit
    flow: list[object] = [Spacer(1, 3 * mm), _p(_("Audit trail checkpoints"), BODY)]
    if audit is None or not audit.kept:
        return [
            *flow,
            _p(_("No signed checkpoint of the audit trail was kept from this period."), SMALL),
        ]
    if audit.last_verified_at is None:
        last = "—"
    else:
        result = _("passed") if audit.last_verification_ok else _("failed")
        last = f"{_when(audit.last_verified_at)}: {result}"
    rows: list[list[object]] = [
        [_("Signed checkpoints kept from this period"), str(audit.kept)],
        [_("Newest checkpoint"), _when(audit.newest_at)],
        [_("Full verifications (failed)"), f"{audit.verifications} ({audit.verifications_failed})"],
        [_("Last full verification"), last],
        [_("Checkpoints refused (forged, altered or another key)"), str(audit.refused)],
    ]
    heads = [[str(chain), f"{entries:,}", head] for chain, entries, head in audit.heads]
    return [
        *flow,
        _table([_("Item"), _("Value")], rows, [90, 60]),
        Spacer(1, 2 * mm),
        _table([_("Chain"), _("Entries"), _("Head")], heads, [20, 30, 60]),
    ]


def _maintenance(report: OperationsReport) -> list[object]:
    flow: list[object] = [CondPageBreak(40 * mm), _p(_("Planned maintenance"), HEADING)]
    if not report.maintenance:
        return [*flow, _p(_("No maintenance is planned for the next period."), BODY)]
    rows: list[list[object]] = [
        [
            window.title,
            str(window.get_kind_display()),
            _when(window.starts_at),
            _when(window.ends_at),
            window.description,
        ]
        for window in report.maintenance
    ]
    header = [_("Title"), _("Kind"), _("Starts"), _("Ends"), _("Description")]
    return [*flow, _table(header, rows, [40, 22, 26, 26, 60])]
