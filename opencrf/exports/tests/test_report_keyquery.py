"""Report pages whose filter and sort the database does alone (`exports.keyquery`): the same
pages as the Python path and as streaming the whole report — whatever the stored text
(numbers, decimals written two ways, text in a number field, blanks, Japanese, case), the
viewer's group, the labels and the live filters — and the Python path whenever a value or a
piece of logic could make the two disagree."""

from __future__ import annotations

import random

import pytest
from django.core.cache import cache

from opencrf.core.errors import PermissionDenied
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.services import dictionary_apply
from opencrf.exports import keyquery
from opencrf.exports.reports import ReportSpec, report_create
from opencrf.exports.selectors import (
    live_filters,
    report_page,
    report_page_streamed,
    report_request,
)
from opencrf.exports.table import hidden_names, references_of
from opencrf.exports.tests.conftest import _member
from opencrf.projects.models import DataAccessGroup
from opencrf.projects.selectors import member_rights
from opencrf.records.models import FormData, Record
from opencrf.records.services import form_save, record_create

pytestmark = pytest.mark.django_db

PAGE = 4
ROWS = [
    FieldRow(field_name="study_id", form_name="enrolment", field_label="Study ID"),
    FieldRow(
        field_name="sex",
        form_name="enrolment",
        field_label="Sex",
        field_type="radio",
        select_choices_or_calculations="1, Female | 2, Male",
    ),
    FieldRow(
        field_name="age",
        form_name="enrolment",
        field_label="Age",
        text_validation_type_or_show_slider_number="integer",
    ),
    FieldRow(
        field_name="weight",
        form_name="enrolment",
        field_label="Weight",
        text_validation_type_or_show_slider_number="number",
    ),
    FieldRow(field_name="name", form_name="enrolment", field_label="Name"),
    FieldRow(
        field_name="meds",
        form_name="enrolment",
        field_label="Medication",
        field_type="checkbox",
        select_choices_or_calculations="a, Aspirin | b, Beta blocker",
    ),
    FieldRow(
        field_name="hba1c",
        form_name="labs",
        field_label="HbA1c",
        text_validation_type_or_show_slider_number="number",
    ),
]
FIELDS = ("sex", "age", "weight", "name", "meds", "hba1c", "enrolment_complete")

# Stored text the database classifies exactly: numbers (one number written two ways), text
# in a number field, blanks, Japanese, case.
CLEAN = {
    "age": ["", "", "5", "05", "40", "41", "400", "-3", "0", "-0", "不明", "n/a", "12"],
    "weight": ["", "55.5", "55.50", "070", "70", "-0.5", ".5", "81", "100.25", "3.", "?"],
    "name": ["", "abc", "ABC", "Abc", "b", "a b", "田中", "たなか", "ﾀﾅｶ", "Z", "é", "10", "9"],
    "hba1c": ["", "6.5", "7", "6.50", "12.25", "5.9", "x"],
    "sex": ["", "1", "2", "1", "2"],
    "meds___a": ["0", "1", ""],
    "meds___b": ["0", "1"],
}
# Stored text only the Python path reads exactly (the query must give way to it).
UNSURE = [" 5", "1e3", "inf", "Infinity", "1,5", "+5", "5 ", "１２", "1.2.3", "-", 65, 6.5, True]

FILTERS = [
    "[age] > 40",
    "[age] >= '40'",
    "[age] = 5",
    "[age] <> ''",
    "[age] = ''",
    "[age] < 'z'",
    "[age] > -1 and ([sex] = '2' or [hba1c] > 6.5)",
    "[weight] < 55.5 or [name] = 'abc'",
    "[weight] = 55.5",
    "70 <= [weight]",
    "[name] > 'B' and [sex] = '1'",
    "[name] = 'ABC'",
    "[name] >= '田'",
    "[name] <> 'abc'",
    "[meds(a)] = '1'",
    "[meds(b)] <> 1",
    "[enrolment_complete] = 2",
    "[labs_complete] <> ''",
    "[study_id] > '1'",
    "true",
]
ORDERS = [
    [("age", False)],
    [("age", True)],
    [("weight", True), ("name", False)],
    [("name", False)],
    [("name", True), ("study_id", True)],
    [("hba1c", False), ("age", True)],
    [("study_id", False)],
    [],
]
# Filters and sorts the query does not take: the Python path runs.
PYTHON_FILTERS = [
    "[age] + 1 > 5",
    "[age] = [weight]",
    "if([age] > 5, true, false)",
    "[age]",
    "datediff('2024-01-01', '2024-02-01', 'd') > 1",
]
PYTHON_ORDERS = [[("meds___a", True)], [("enrolment_complete", False)]]
NUMBERS = frozenset({"age", "weight", "hba1c"})


@pytest.fixture(autouse=True)
def small_pages(monkeypatch):
    monkeypatch.setattr("opencrf.exports.selectors.PAGE_SIZE", PAGE)
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def used(monkeypatch):
    """Which requests the database answered alone (True) or gave to Python (False)."""
    answered: list[bool] = []
    original = keyquery.sql_row_keys

    def spy(*args):
        found = original(*args)
        answered.append(found is not None)
        return found

    monkeypatch.setattr("opencrf.exports.paging.sql_row_keys", spy)
    return answered


@pytest.fixture
def study(paula_context, classic_project):
    """24 records at two sites and none; every record has an enrolment, most labs."""
    project = classic_project
    dictionary_apply(context=paula_context, project=project, rows=ROWS, source="upload")
    event = project.events.get()
    site_a = DataAccessGroup.objects.create(project=project, name="Site A", unique_name="site_a")
    site_b = DataAccessGroup.objects.create(project=project, name="Site B", unique_name="site_b")
    for n in range(1, 25):
        record = record_create(context=paula_context, project=project, record_id=str(n))
        forms = ("enrolment", "labs") if n % 3 else ("enrolment",)
        for form in forms:
            form_save(
                context=paula_context,
                record=record,
                event=event,
                form_name=form,
                values={"name": "x"} if form == "enrolment" else {"hba1c": "1"},
                base_version=0,
            )
        group = (site_a, site_b, None)[n % 3]
        Record.objects.filter(pk=record.pk).update(group=group)
    return project


def _store(project, seed: int, unsure: float = 0.0) -> None:
    """Random values of the pools in every stored form (written directly: the pools hold
    what validation would refuse), with random form statuses."""
    rng = random.Random(seed)
    for form in FormData.objects.filter(project=project):
        keys = [k for k in CLEAN if (k == "hba1c") == (form.form_name == "labs")]
        values = {}
        for key in keys:
            if rng.random() < 0.15:
                continue  # missing: blank
            pool = CLEAN[key] + (UNSURE if key in NUMBERS and rng.random() < unsure else [])
            values[key] = rng.choice(pool)
        FormData.objects.filter(pk=form.pk).update(values=values, status=rng.choice([0, 1, 2]))
    cache.clear()  # written without audit: the kept keys would not know


def _seen(page):
    return (page.rows, page.total, page.page, page.pages, page.sort, page.descending)


def _same_pages(user, project, request, order):
    """Every page (and one past the end) equals the streamed report's and the Python
    path's."""
    first = report_page_streamed(user, project, request, order=order)
    pages = [report_page(user, project, request, page=n, order=order) for n in range(1, 3)]
    pages.append(report_page(user, project, request, page=first.pages + 1, order=order))
    for page in pages:
        streamed = report_page_streamed(user, project, request, page=page.page, order=order)
        assert _seen(page) == _seen(streamed), (user.username, page.page)
    return first


def _report(paula_context, project, logic, **options):
    spec = ReportSpec(title="Keys", fields=FIELDS, filter_logic=logic, **options)
    return report_create(context=paula_context, project=project, spec=spec)


@pytest.mark.parametrize("logic", FILTERS)
def test_a_filter_the_database_judges_gives_the_python_pages(
    logic, study, paula_context, pi_paula, used, django_user_model
):
    sam = _member(
        django_user_model,
        study,
        "site_a_sam",
        right="full",
        group=study.groups.get(unique_name="site_a"),
    )
    _store(study, seed=len(logic))
    report = _report(paula_context, study, logic)
    at = FILTERS.index(logic)
    for turn in range(3):
        order = ORDERS[(at + turn) % len(ORDERS)]
        request = report_request(study, report, labels=turn == 1)
        everyone = _same_pages(pi_paula, study, request, order)
        site_a = _same_pages(sam, study, request, order)
        assert site_a.total <= everyone.total
    assert used and all(used)  # every one of them answered by the database


def test_random_reports_equal_the_python_path_and_give_way_to_it_when_unsure(
    study, paula_context, pi_paula, used, django_user_model, monkeypatch
):
    dee = _member(django_user_model, study, "deidentified_dee", right="deidentified")
    rng = random.Random(14)
    for round_ in range(10):
        _store(study, seed=round_, unsure=0.3 if round_ % 2 else 0.0)
        logic = " or ".join(rng.sample(FILTERS[:-1], rng.randint(1, 2)))
        order = rng.choice(ORDERS[:-1])
        record_level = rng.random() < 0.5
        report = _report(paula_context, study, logic, filtering="record" if record_level else "row")
        request = report_request(study, report, labels=rng.random() < 0.5)
        _same_pages(pi_paula, study, request, order)
        assert request.filter is not None
        hidden = hidden_names(member_rights(dee, study), study, references_of(request.filter))
        if not hidden:
            _same_pages(dee, study, request, order)
            continue
        with pytest.raises(PermissionDenied):  # a filter on what dee's right hides
            report_page(dee, study, request, order=order)
    assert True in used and False in used  # both paths reached


@pytest.mark.parametrize("value", UNSURE)
def test_one_unsure_value_sends_the_report_to_the_python_path(
    value, study, paula_context, pi_paula, used
):
    _store(study, seed=1)
    form = FormData.objects.filter(project=study, form_name="enrolment")[0]
    FormData.objects.filter(pk=form.pk).update(values={**form.values, "age": value})
    report = _report(paula_context, study, "[age] > 3")
    request = report_request(study, report)
    _same_pages(pi_paula, study, request, [("age", True)])
    assert used == [False]  # then kept


@pytest.mark.parametrize(
    ("logic", "order"),
    [(logic, [("age", False)]) for logic in PYTHON_FILTERS]
    + [("[age] > 3", order) for order in PYTHON_ORDERS],
)
def test_logic_or_sorts_the_query_cannot_follow_take_the_python_path(
    logic, order, study, paula_context, pi_paula, used
):
    _store(study, seed=2)
    request = report_request(study, _report(paula_context, study, logic))
    _same_pages(pi_paula, study, request, order)
    assert used and not any(used)


def test_numbers_sort_as_numbers_then_text_and_blanks_last_either_way(
    study, paula_context, pi_paula
):
    values = ["10", "9", "", "abc", "-1", "09.0", "Abc", "9", "不明", ".5", ""]
    forms = list(FormData.objects.filter(project=study, form_name="enrolment"))
    for form, value in zip(forms, values, strict=False):
        FormData.objects.filter(pk=form.pk).update(values={"age": value, "name": value})
    for form in forms[len(values) :]:
        FormData.objects.filter(pk=form.pk).update(values={})
    cache.clear()
    request = report_request(study, _report(paula_context, study, "[age] <> ''"))
    monkey_page = 100

    def column(order):
        rows = []
        for n in range(1, monkey_page):
            page = report_page(pi_paula, study, request, page=n, order=order)
            rows += [row[2] for row in page.rows]
            if n >= page.pages:
                return rows
        return rows

    assert column([("age", False)]) == ["-1", ".5", "9", "09.0", "9", "10", "Abc", "abc", "不明"]
    assert column([("age", True)]) == ["不明", "abc", "Abc", "10", "9", "09.0", "9", ".5", "-1"]


def test_a_grouped_viewer_never_sees_or_counts_another_sites_record(
    study, paula_context, pi_paula, django_user_model, used
):
    sam = _member(
        django_user_model,
        study,
        "site_a_sam",
        right="full",
        group=study.groups.get(unique_name="site_a"),
    )
    _store(study, seed=3)
    site_a = set(
        Record.objects.filter(group__unique_name="site_a").values_list("record_id", flat=True)
    )
    request = report_request(study, _report(paula_context, study, "true"))
    page = report_page(sam, study, request, order=[("study_id", False)])
    seen = []
    for n in range(1, page.pages + 1):
        seen += [
            row[0]
            for row in report_page(sam, study, request, page=n, order=[("study_id", False)]).rows
        ]
    assert set(seen) == site_a and page.total == len(site_a) == 8
    assert all(used)


def test_live_filters_of_a_field_and_a_group_take_the_database_path(
    study, paula_context, pi_paula, used
):
    _store(study, seed=4)
    report = _report(
        paula_context, study, "[age] <> ''", live_filters=("sex", "redcap_data_access_group")
    )
    for chosen in ({"sex": "2"}, {"redcap_data_access_group": "site_b", "sex": "1"}):
        live = live_filters(pi_paula, study, report, chosen)
        request = report_request(study, report, live)
        _same_pages(pi_paula, study, request, [("weight", True)])
    assert used and all(used)
