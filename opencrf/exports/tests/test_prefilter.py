"""The database prefilter of filter logic: it may let through records the filter then drops,
never drop a record with a matching row — so an export or report page is the same with it as
without it, whatever the values stored (numbers as text, blanks, dates, checkboxes, other
events, repeating forms, groups)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from django.core.cache import cache

from opencrf.audit.services import AuditContext
from opencrf.dictionary.design import design_of
from opencrf.exports.prefilter import prefiltered, value_keys
from opencrf.exports.reports import ReportSpec, report_create
from opencrf.exports.selectors import report_page, report_page_streamed, report_request
from opencrf.exports.table import ExportRequest, export_table
from opencrf.logic import LogicError, evaluate, parse
from opencrf.records.export import stored_forms
from opencrf.records.models import FormData

pytestmark = pytest.mark.django_db

# Stored text the logic reads as numbers, as text, or not at all (not text: blank).
TRICKY = [
    "5",
    "05",
    "5.0",
    "5.",
    ".5",
    "-5",
    "+5",
    " 5 ",
    "\t5\n",
    "1,5",
    "-,5",
    "--5",
    "1.2.3",
    "5abc",
    "abc",
    "ABC",
    "",
    " ",
    "0",
    "-0",
    "400",
    "401",
    "41",
    "4000",
    "399.9999999999999999999",
    "400.0000000000000000001",
    "1" + "0" * 400,
    "0." + "0" * 400 + "1",
    "9" * 310,
    "1e3",
    "６５",
    "2024-06-01",
    "2024-6-1",
    "田中",
    "ｱ",
    "null",
    65,
    6.5,
    None,
    True,
    ["5"],
]

COMPARED = [
    "[crf_version] = 5",
    "[crf_version] = '5'",
    "[crf_version] = '5.0'",
    "[crf_version] = ''",
    "[crf_version] = 0",
    "[crf_version] = -5",
    "[crf_version] = 'abc'",
    "[crf_version] = '1,5'",
    "[crf_version] = 1.5",
    "[crf_version] = true",
    "[crf_version] <> ''",
    "[crf_version] <> 5",
    "[crf_version] <> 'abc'",
    "[crf_version] > 400",
    "[crf_version] >= 400",
    "[crf_version] < 400",
    "[crf_version] <= 400",
    "[crf_version] > '400'",
    "[crf_version] < '5'",
    "[crf_version] > 0",
    "[crf_version] < 0",
    "[crf_version] < -4.5",
    "[crf_version] > -1",
    "[crf_version] > 'abc'",
    "[crf_version] < 'abc'",
    "[crf_version] >= '2024-06-01'",
    "[crf_version] < '2024-07'",
    "[crf_version] > ''",
    "[crf_version] > '田'",
    "[crf_version] >= 99999999999999999999",
    "400 < [crf_version]",
    "'abc' >= [crf_version]",
    "5 = [crf_version]",
    "[crf_version] = 5 or [crf_version] = 'abc'",
    "[crf_version] > 0 and [crf_version] < 10",
    "[crf_version] <> '' and [crf_version] <> '5'",
]


def _context(user):
    return AuditContext(actor=user, source="web")


def _set(form: FormData, name: str, value: object) -> None:
    values = dict(form.values)
    if value is None:
        values.pop(name, None)
    else:
        values[name] = value
    FormData.objects.filter(pk=form.pk).update(values=values)


def _truth(logic: str, value: object) -> bool:
    """What the evaluator says of one row holding `value` (anything but text reads blank)."""
    try:
        return bool(evaluate(logic, {"crf_version": value} if value is not None else {}))
    except LogicError:
        return False


@pytest.mark.parametrize("logic", COMPARED)
def test_no_record_whose_value_matches_is_left_out_whatever_the_stored_text(logic, demo):
    enrolments = list(FormData.objects.filter(project=demo, form_name="enrolment"))
    design = design_of(demo)
    ast = parse(logic)
    kept_somewhere = set()
    for start in range(0, len(TRICKY), len(enrolments)):
        chosen = TRICKY[start : start + len(enrolments)]
        for form, value in zip(enrolments, chosen, strict=False):
            _set(form, "crf_version", value)
        kept = set(
            prefiltered(demo.records.all(), demo.pk, design, ast).values_list("pk", flat=True)
        )
        for form, value in zip(enrolments, chosen, strict=False):
            if _truth(logic, value):
                assert form.record_id in kept, (logic, value)
                kept_somewhere.add(repr(value))
    if logic in ("[crf_version] = 5", "[crf_version] > 400", "[crf_version] = 'abc'"):
        assert kept_somewhere  # the test reaches matching values, not only refusals


@pytest.mark.parametrize(
    ("logic", "matching"),
    [
        ("[crf_version] = 5", {"5", "05", "5.0", "5.", "+5", " 5 ", "\t5\n"}),
        ("[crf_version] = 'abc'", {"abc"}),
        ("[crf_version] >= '2024-06-01'", None),
    ],
)
def test_a_comparison_leaves_out_the_records_whose_values_cannot_match(logic, matching, demo):
    enrolments = list(FormData.objects.filter(project=demo, form_name="enrolment"))
    values = ["5", "05", "abc", "6", "", "7", "2024-06-01", "2023-01-01"]
    for form, value in zip(enrolments, values, strict=False):
        _set(form, "crf_version", value)
    design = design_of(demo)
    kept = set(
        prefiltered(demo.records.all(), demo.pk, design, parse(logic)).values_list("pk", flat=True)
    )
    expected = {
        form.record_id
        for form, value in zip(enrolments, values, strict=False)
        if (value in matching if matching is not None else _truth(logic, value))
    }
    assert kept == expected


@pytest.mark.parametrize(
    "logic",
    [
        "true",
        "[crf_version]",
        "[crf_version] = [dob]",
        "[crf_version] + 1 > 5",
        "if([crf_version] = '5', true, false)",
        "[record_id] = '1-1'",
        "[crf_version] < 5 or datediff([dob], '2024-01-01', 'd') > 1",
        "[crf_version] <> 5 and [crf_version] = ''",
    ],
)
def test_logic_the_database_cannot_follow_restricts_nothing(logic, demo):
    design = design_of(demo)
    everyone = demo.records.all()
    kept = prefiltered(everyone, demo.pk, design, parse(logic))
    if logic.endswith("= ''"):  # an `and` keeps the part it can follow: `<> 5` drops nothing
        assert kept.count() <= everyone.count()
    else:
        assert kept.query is everyone.query or kept.count() == everyone.count()


def test_false_logic_reads_no_record(demo, django_assert_num_queries):
    design = design_of(demo)
    kept = prefiltered(demo.records.all(), demo.pk, design, parse("false and [sex] = '1'"))
    with django_assert_num_queries(0):
        assert list(kept) == []


def test_a_field_name_that_is_no_plain_identifier_restricts_nothing(demo):
    ast = parse("[sex] = '1'")
    ast["left"]["name"] = "sex') OR 1=1 --"  # never from the parser; the SQL must not see it
    kept = prefiltered(demo.records.all(), demo.pk, design_of(demo), ast)
    assert kept.count() == demo.records.count()


def test_an_injection_in_a_literal_is_only_a_value(demo):
    kept = prefiltered(
        demo.records.all(), demo.pk, design_of(demo), parse("[sex] = \"1' OR '1'='1\"")
    )
    assert kept.count() == 0
    assert FormData.objects.filter(project=demo).exists()


# The export with and without the prefilter: every shape of logic on the demo study, whose
# values are written by its services, with some stored text made awkward first.
SHAPES = [
    "[sex] = '1'",
    "[sex] = 1",
    "[sex] <> '1'",
    "[sex] = ''",
    "[sex] <> ''",
    "[v_weight] > 60",
    "[v_weight] >= '60.5'",
    "70 > [v_weight]",
    "[v_weight] = 65",
    "[v_weight] <> 65",
    "[v_weight] < -1",
    "[ae_term] <> ''",
    "[ae_severity] >= 2",
    "[ae_severity] = '3' or [sex] = '2'",
    "[visit_date] > '2024-06-01'",
    "[dob] <= '1960-01-01'",
    "[dm_meds(met)] = '1'",
    "[dm_meds(met)] = 1",
    "[dm_meds(met)] <> '1'",
    "[dm_meds(met)] = '0'",
    "[dm_meds(met)] = 'x'",
    "[incl(1)] = '1' and [dm_meds(dpp)] = '1'",
    "[screening_arm_1][rand_group] = '1'",
    "[baseline_arm_1][hba1c] > 7 and [v_hba1c] < 7",
    "[visit_complete] = '2'",
    "[visit_complete] = 2 and [v_weight] > 0",
    "[enrolment_complete] <> '2'",
    "[adverse_event_complete] = '0'",
    "[sex] = '1' and false",
    "[sex] = '1' or true",
    "[record_id] = '1-1' or [sex] = '2'",
    "[v_weight] + 0 > 60",
    "[sex] = '2' and datediff([visit_date], '2024-01-01', 'd') > 10",
    "[initials] = 'TY' or [initials] > 'ｱ'",
]


@pytest.fixture
def awkward(demo):
    """Some stored values made awkward: padded and comma numbers, a number as JSON, a stray
    key in another form, a checkbox ticked as "01"."""
    forms = list(FormData.objects.filter(project=demo).order_by("pk"))
    visits = [f for f in forms if f.form_name == "visit"]
    _set(visits[0], "v_weight", " 65 ")
    _set(visits[1], "v_weight", "65,0")
    _set(visits[2], "v_weight", 65)
    _set(visits[3], "v_weight", "")
    _set(visits[4], "sex", "1")  # a key of another form, read into the visit's rows
    baselines = [f for f in forms if f.form_name == "baseline"]
    _set(baselines[0], "dm_meds___met", "01")
    _set(baselines[1], "dm_meds___met", "1")
    return demo


@pytest.mark.parametrize("logic", SHAPES)
@pytest.mark.parametrize("record_level", [False, True], ids=["rows", "records"])
def test_an_export_is_the_same_with_and_without_the_prefilter(
    logic, record_level, awkward, pi_paula, site_a_sam
):
    base = ExportRequest(filter=parse(logic), record_level=record_level)
    for user in (pi_paula, site_a_sam):
        with_it = list(export_table(user, awkward, base).rows())
        without = list(export_table(user, awkward, replace(base, prefilter=False)).rows())
        assert with_it == without, (logic, user.username)


@pytest.mark.parametrize(
    "logic",
    ["[sex] = '1'", "[v_weight] > 60", "[dm_meds(met)] = '1'", "[ae_severity] >= 2"],
)
def test_a_narrow_read_gives_the_same_rows_as_reading_whole_forms(logic, awkward, pi_paula):
    base = ExportRequest(fields=("sex", "v_weight", "dm_meds"), filter=parse(logic))
    narrow = list(export_table(pi_paula, awkward, replace(base, narrow_read=True)).rows())
    whole = list(export_table(pi_paula, awkward, base).rows())
    assert narrow == whole


def test_a_narrow_read_extracts_the_named_keys_with_their_json_types(awkward):
    form = FormData.objects.filter(project=awkward, form_name="visit").first()
    _set(form, "v_weight", 65)
    values = dict(FormData.objects.get(pk=form.pk).values)
    values["v_note"] = None
    FormData.objects.filter(pk=form.pk).update(values=values)
    [read] = [
        f
        for f in stored_forms([form.record_id], keys=["v_weight", "v_note", "nope"])
        if f.form_name == "visit" and f.event_id == form.event_id
    ]
    assert read.values == {"v_weight": 65, "v_note": None}


def test_the_keys_of_logic_are_its_fields_and_checkbox_options():
    ast = parse("[e1][a] = 1 and [b(X)] = '1' or sum([c], [d]) > 2")
    assert value_keys(ast) == {"a", "b___x", "c", "d"}


@pytest.mark.parametrize("logic", ["[v_weight] > 60", "[sex] = '2' or [ae_severity] = '3'"])
def test_report_pages_with_the_prefilter_equal_the_streamed_pages(
    logic, awkward, pi_paula, site_a_sam, monkeypatch
):
    monkeypatch.setattr("opencrf.exports.selectors.PAGE_SIZE", 3)
    cache.clear()
    spec = ReportSpec(title="Pre", fields=("sex", "v_weight", "ae_severity"), filter_logic=logic)
    report = report_create(context=_context(pi_paula), project=awkward, spec=spec)
    request = report_request(awkward, report)
    for user in (pi_paula, site_a_sam):
        for order in ([], [("v_weight", True)]):
            first = report_page_streamed(user, awkward, request, order=order)
            assert first.total > 0
            for number in range(1, first.pages + 2):
                kept = report_page(user, awkward, request, page=number, order=order)
                streamed = report_page_streamed(user, awkward, request, page=number, order=order)
                assert (kept.rows, kept.total, kept.pages) == (
                    streamed.rows,
                    streamed.total,
                    streamed.pages,
                )
    cache.clear()


def test_the_matching_ids_are_read_once_and_the_records_query_only_names_them(
    demo, django_assert_num_queries
):
    design = design_of(demo)
    with django_assert_num_queries(1):  # the grouped scan, once, never planned per record
        kept = prefiltered(demo.records.all(), demo.pk, design, parse("[sex] = '1'"))
    assert "GROUP BY" not in str(kept.query)
    men = {
        form.record_id
        for form in FormData.objects.filter(project=demo, form_name="enrolment")
        if form.values.get("sex") == "1"
    }
    assert set(kept.values_list("pk", flat=True)) == men


def test_a_table_runs_the_prefilter_only_when_its_rows_are_read(
    demo, pi_paula, django_assert_max_num_queries
):
    table = export_table(pi_paula, demo, ExportRequest(filter=parse("[sex] = '1'")))
    with django_assert_max_num_queries(0):
        assert table.names[0] == "record_id"
