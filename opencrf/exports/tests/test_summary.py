"""Stats of a report: exact figures on a small known study, groups, and the viewer's access."""

from __future__ import annotations

import math
import re

import pytest

from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.services import dictionary_apply
from opencrf.exports.summary import (
    Bin,
    Frequency,
    _NumberAcc,
    histogram,
    percentile,
    summarise,
)
from opencrf.exports.svg import WIDTH, Bars, choice_bars, histogram_chart, text_width
from opencrf.exports.table import ExportRequest
from opencrf.projects.models import ProjectMember
from opencrf.projects.services import group_create
from opencrf.records.export import GROUP_COLUMN
from opencrf.records.services import form_save, record_create

pytestmark = pytest.mark.django_db

ROWS = [
    FieldRow(field_name="pid", form_name="visit", field_label="ID"),
    FieldRow(field_name="name", form_name="visit", field_label="Name", identifier="y"),
    FieldRow(
        field_name="age",
        form_name="visit",
        field_label="Age",
        text_validation_type_or_show_slider_number="integer",
    ),
    FieldRow(
        field_name="weight",
        form_name="visit",
        field_label="Weight",
        text_validation_type_or_show_slider_number="number",
    ),
    FieldRow(
        field_name="sex",
        form_name="visit",
        field_label="性別",
        field_type="radio",
        select_choices_or_calculations="1, 男性 | 2, 女性 | 3, <script>alert(1)</script> & co",
    ),
    FieldRow(
        field_name="symptoms",
        form_name="visit",
        field_label="Symptoms",
        field_type="checkbox",
        select_choices_or_calculations="1, Cough | 2, Fever | 3, Rash",
    ),
    FieldRow(
        field_name="seen",
        form_name="visit",
        field_label="Seen on",
        text_validation_type_or_show_slider_number="date_ymd",
    ),
]
# record: (site, name, age, weight, sex, symptoms checked, seen)
DATA = {
    "1": ("a", "Ann", "20", "50.5", "1", ("1", "2"), "2024-01-05"),
    "2": ("a", "Bob", "30", "", "2", ("1",), "2024-03-01"),
    "3": ("a", "Cy", "40", "70", "1", (), ""),
    "4": ("b", "Di", "50", "80", "2", ("2",), "2023-12-31"),
    "5": ("b", "", "", "60", "", (), ""),
}


@pytest.fixture
def study(classic_project, paula_context):
    project = classic_project
    dictionary_apply(context=paula_context, project=project, rows=ROWS, source="upload")
    sites = {
        "a": group_create(context=paula_context, project=project, name="Site A", unique_name="a"),
        "b": group_create(context=paula_context, project=project, name="Site B", unique_name="b"),
    }
    event = project.events.get()
    for record_id, (site, name, age, weight, sex, checked, seen) in DATA.items():
        record = record_create(
            context=paula_context, project=project, record_id=record_id, group=sites[site]
        )
        values = {"name": name, "age": age, "weight": weight, "sex": sex, "seen": seen}
        values |= {f"symptoms___{code}": "1" if code in checked else "0" for code in "123"}
        form_save(
            context=paula_context,
            record=record,
            event=event,
            form_name="visit",
            values=values,
            base_version=0,
        )
    return project


def _member(django_user_model, project, username, *, right, group=None):
    user = django_user_model.objects.create_user(username=username, password="x")
    ProjectMember.objects.create(
        project=project,
        user=user,
        group=project.groups.get(unique_name=group) if group else None,
        form_rights={"visit": "edit"},
        export_rights={"visit": right},
    )
    return user


def _fields(summary):
    return {f.name: f for f in summary.overall.fields}


def test_numbers_are_summarised_exactly(study, pi_paula):
    age = _fields(summarise(pi_paula, study, ExportRequest()))["age"]

    assert (age.kind, age.count, age.missing, age.unique) == ("number", 4, 1, 4)
    numbers = age.numbers
    assert (numbers.minimum, numbers.maximum, numbers.mean, numbers.median) == (20, 50, 35, 35)
    assert numbers.sd == pytest.approx(math.sqrt(500 / 3), rel=1e-12)
    assert numbers.percentiles == {
        5: 21.5,
        10: 23.0,
        25: 27.5,
        50: 35.0,
        75: 42.5,
        90: 47.0,
        95: 48.5,
    }
    assert numbers.whole


def test_a_decimal_field_counts_its_blanks_as_missing(study, pi_paula):
    weight = _fields(summarise(pi_paula, study, ExportRequest()))["weight"]

    assert (weight.count, weight.missing, weight.unique) == (4, 1, 4)
    assert (weight.numbers.minimum, weight.numbers.maximum) == (50.5, 80)
    assert weight.numbers.mean == 65.125
    assert not weight.numbers.whole


def test_choices_list_every_option_with_its_share_zeros_included(study, pi_paula):
    sex = _fields(summarise(pi_paula, study, ExportRequest()))["sex"]

    assert (sex.kind, sex.count, sex.missing, sex.unique) == ("choice", 4, 1, 2)
    assert sex.frequencies == (
        Frequency("1", "男性", 2, 50.0),
        Frequency("2", "女性", 2, 50.0),
        Frequency("3", "alert(1) & co", 0, 0.0),
    )


def test_a_checkbox_is_one_field_answered_when_any_option_is_checked(study, pi_paula):
    symptoms = _fields(summarise(pi_paula, study, ExportRequest()))["symptoms"]

    assert (symptoms.kind, symptoms.count, symptoms.missing, symptoms.unique) == (
        "checkbox",
        3,
        2,
        3,
    )
    assert [(f.code, f.label, f.count) for f in symptoms.frequencies] == [
        ("1", "Cough", 2),
        ("2", "Fever", 2),
        ("3", "Rash", 0),
    ]
    assert symptoms.frequencies[0].percent == pytest.approx(200 / 3)


def test_dates_give_their_earliest_and_latest_and_text_its_counts(study, pi_paula):
    fields = _fields(summarise(pi_paula, study, ExportRequest()))

    seen, name = fields["seen"], fields["name"]
    assert (seen.kind, seen.count, seen.missing, seen.unique) == ("date", 3, 2, 3)
    assert (seen.earliest, seen.latest) == ("2023-12-31", "2024-03-01")
    assert (name.kind, name.count, name.missing, name.unique) == ("text", 4, 1, 4)


def test_the_overall_part_counts_rows_and_records_and_skips_the_record_id(study, pi_paula):
    summary = summarise(pi_paula, study, ExportRequest())

    assert (summary.overall.rows, summary.overall.records) == (5, 5)
    assert [f.name for f in summary.overall.fields] == [
        "name",
        "age",
        "weight",
        "sex",
        "symptoms",
        "seen",
        "visit_complete",
    ]


def test_grouping_by_a_choice_gives_each_option_its_figures_and_blanks_their_own(study, pi_paula):
    summary = summarise(pi_paula, study, ExportRequest(), group_by="sex")

    assert summary.group_by.name == "sex"
    assert [(g.key, g.label, g.rows) for g in summary.groups] == [
        ("1", "男性", 2),
        ("2", "女性", 2),
        ("3", "alert(1) & co", 0),
        ("", "[No value]", 1),
    ]
    ages = [{f.name: f for f in g.fields}["age"] for g in summary.groups]
    assert [a.numbers.mean if a.numbers else None for a in ages] == [30, 40, None, None]
    assert [(a.count, a.missing) for a in ages] == [(2, 0), (2, 0), (0, 0), (0, 1)]


def test_grouping_by_the_data_access_group_splits_by_site(study, pi_paula):
    summary = summarise(pi_paula, study, ExportRequest(), group_by=GROUP_COLUMN)

    assert [(g.key, g.label, g.rows, g.records) for g in summary.groups] == [
        ("a", "Site A", 3, 3),
        ("b", "Site B", 2, 2),
    ]
    assert (summary.overall.rows, summary.overall.records) == (5, 5)
    assert GROUP_COLUMN not in [f.name for f in summary.overall.fields]


def test_a_grouped_member_summarises_only_their_sites_rows(study, django_user_model):
    sam = _member(django_user_model, study, "site_a_sam", right="full", group="a")

    summary = summarise(sam, study, ExportRequest(), group_by=GROUP_COLUMN)

    assert summary.overall.rows == 3
    age = _fields(summary)["age"]
    assert (age.numbers.minimum, age.numbers.maximum, age.numbers.mean) == (20, 40, 30)
    assert [(g.key, g.rows) for g in summary.groups] == [("a", 3)]


def test_a_de_identified_member_gets_no_identifier_or_free_text(study, django_user_model):
    dee = _member(django_user_model, study, "deidentified_dee", right="deidentified")

    summary = summarise(dee, study, ExportRequest())

    names = [f.name for f in summary.overall.fields]
    assert "name" not in names
    assert "seen" not in names  # de-identified exports drop dates too
    assert "age" in names


def test_an_unknown_group_by_name_means_no_grouping(study, pi_paula):
    summary = summarise(pi_paula, study, ExportRequest(), group_by="name")

    assert summary.group_by is None
    assert summary.groups == []


def test_records_are_counted_once_across_chunks(study, pi_paula, monkeypatch):
    monkeypatch.setattr("opencrf.exports.summary.CHUNK", 2)

    summary = summarise(pi_paula, study, ExportRequest(), group_by="sex")

    assert (summary.overall.rows, summary.overall.records) == (5, 5)
    assert [g.records for g in summary.groups] == [2, 2, 0, 1]
    assert _fields(summary)["age"].numbers.mean == 35


def test_percentiles_interpolate_between_order_statistics():
    values = [1.0, 2.0, 3.0, 4.0, 10.0]

    assert [percentile(values, p) for p in (0, 25, 50, 90, 100)] == pytest.approx(
        [1.0, 2.0, 3.0, 7.6, 10.0], abs=1e-12
    )


def test_whole_numbers_in_a_small_range_get_one_bin_each():
    assert histogram([1.0, 1.0, 2.0, 4.0], whole=True) == (
        Bin(1.0, 2.0, 2),
        Bin(2.0, 3.0, 1),
        Bin(3.0, 4.0, 1),
    )


def test_the_histogram_counts_every_value_once():
    values = sorted(float(n % 97) * 1.5 for n in range(10_000))

    bins = histogram(values)

    assert sum(b.count for b in bins) == 10_000
    assert 1 < len(bins) <= 30
    assert bins[0].low == 0.0 and bins[-1].high >= 144.0


def test_chart_text_is_escaped_and_japanese_kept():
    svg = str(
        choice_bars(
            "<b>性別</b>",
            ["男性", "<script>alert(1)</script> & co"],
            [Bars("All", [2, 0], [100, 0])],
        )
    )

    assert "<script>" not in svg and "<b>" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in svg
    assert ">男性</text>" in svg
    assert "style=" not in svg and "font-family" not in svg


def test_a_histogram_draws_one_bar_per_bin():
    svg = str(histogram_chart("Age", (Bin(0, 10, 3), Bin(10, 20, 0), Bin(20, 30, 5))))

    assert svg.count("<rect") == 3
    assert "<title>10–20: 0</title>" in svg


def test_a_grouped_chart_names_every_group_in_its_legend_on_as_many_lines_as_needed():
    names = [
        "北嶺医科大学病院 / Hokurei Medical",
        "東都大学病院 / Toto University",
        "瀬戸内みなと総合病院",
    ]
    series = [Bars(name, [1, 2], [33.3, 66.7]) for name in names]

    svg = str(choice_bars("性別", ["男性", "女性"], series))

    for name in names:
        assert f">{name}</text>" in svg
    assert svg.count('width="10" height="10"') == 3


def test_a_long_japanese_option_label_is_cut_to_the_room_beside_the_bars():
    label = "同意取得時の年齢が20歳以上80歳未満 / Aged 20 to 79 years at consent"

    svg = str(choice_bars("Inclusion", [label], [Bars("All", [12], [100.0])]))

    shown = re.search(r"</title>([^<]*)</text>", svg).group(1)
    assert shown.endswith("…") and label.startswith(shown[:-1])
    assert text_width(shown) <= WIDTH * 0.45 - 8
    assert f"<title>{label}</title>" in svg


def test_a_member_without_export_right_on_an_instrument_gets_none_of_its_fields(
    demo, django_user_model
):
    forms = list(demo.instruments.values_list("name", flat=True))
    nora = django_user_model.objects.create_user(username="no_enrolment_nora", password="x")
    ProjectMember.objects.create(
        project=demo,
        user=nora,
        form_rights=dict.fromkeys(forms, "read"),
        export_rights=dict.fromkeys(forms, "full") | {"enrolment": "none"},
    )

    summary = summarise(nora, demo, ExportRequest(), group_by="sex")

    names = {f.name for f in summary.overall.fields}
    assert "sex" not in names and "enrolment_complete" not in names
    assert summary.group_by is None  # nor may the rows be grouped by it
    assert len(names) > 0


def test_a_stored_value_that_is_not_a_number_is_counted_but_left_out_of_the_figures():
    acc = _NumberAcc("dose", "Dose", 0)

    acc.add([("1", "", "x", "2.5", "x", "inf")])
    acc.add([("4",)])
    dose = acc.result()

    assert (dose.count, dose.missing, dose.invalid, dose.unique) == (6, 1, 3, 5)  # 1 2.5 4 x inf
    assert (dose.numbers.minimum, dose.numbers.maximum, dose.numbers.mean) == (1, 4, 2.5)
