"""Per-field data history: every value a field has had, read from the audit trail."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from opencrf.audit.models import AuditEvent
from opencrf.records.selectors import field_history
from opencrf.records.services import form_delete, form_save

pytestmark = pytest.mark.django_db


@pytest.fixture
def save(paula_context, osaka_record, events):
    def save(values, **kwargs):
        return form_save(
            context=paula_context,
            record=osaka_record,
            event=events["screening_arm_1"],
            form_name="screening",
            values=values,
            base_version=None,
            **kwargs,
        )

    return save


def history_url(project, field, record_id="1-1"):
    args = [project.pk, record_id, "screening_arm_1", "screening", 1, field]
    return reverse("records:field_history", args=args)


def form_url(project):
    return reverse("records:form", args=[project.pk, "1-1", "screening_arm_1", "screening", 1])


def _rows(entries):
    return [(e.user, e.column, e.old, e.new, e.reason, e.action) for e in entries]


def test_history_lists_every_value_newest_first(save, osaka_record, events):
    save({"initials": "AN", "sex": "2"})
    save({"sex": "1"})
    save({"initials": "AM"}, reason="Misread the source")

    entries = field_history(osaka_record, events["screening_arm_1"], "screening", 1, ["initials"])

    assert _rows(entries) == [
        ("pi_paula", "initials", "AN", "AM", "Misread the source", "form.update"),
        ("pi_paula", "initials", "", "AN", "", "form.update"),
    ]


def test_history_of_a_checkbox_lists_its_options_and_a_deleted_form(
    save, paula_context, osaka_record, events
):
    save({"incl___1": "1"})
    save({"incl___1": "0", "incl___2": "1"}, reason="Wrong box")
    form_delete(
        context=paula_context,
        record=osaka_record,
        event=events["screening_arm_1"],
        form_name="screening",
        reason="Wrong participant",
    )
    columns = ["incl___1", "incl___2", "incl___3"]

    entries = field_history(osaka_record, events["screening_arm_1"], "screening", 1, columns)

    assert _rows(entries) == [
        ("pi_paula", "incl___1", "0", "", "Wrong participant", "form.delete"),
        ("pi_paula", "incl___2", "1", "", "Wrong participant", "form.delete"),
        ("pi_paula", "incl___1", "1", "0", "Wrong box", "form.update"),
        ("pi_paula", "incl___2", "0", "1", "Wrong box", "form.update"),
        ("pi_paula", "incl___1", "0", "1", "", "form.update"),
    ]


def test_the_history_page_shows_time_user_change_and_reason(client, pi_paula, salt_rct, save):
    save({"initials": "AN"})
    save({"initials": "AM"}, reason="Misread the source")
    client.force_login(pi_paula)

    response = client.get(history_url(salt_rct, "initials"))

    html = response.content.decode()
    assert response.status_code == 200
    table = html.split('data-testid="field-history"', 1)[1]
    assert table.count("<tr>") == 3  # header and two changes
    newest = AuditEvent.objects.filter(action="form.update").last()
    stamp = timezone.localtime(newest.at).strftime("%Y-%m-%d %H:%M:%S")
    first_row = table.split("<tbody>", 1)[1].split("</tr>", 1)[0]
    assert stamp in first_row
    assert "pi_paula" in first_row
    assert '<span class="crf-old">AN</span> → <span class="crf-new">AM</span>' in first_row
    assert "Misread the source" in first_row


def test_the_form_links_the_history_of_changed_fields_only(client, pi_paula, salt_rct, save):
    client.force_login(pi_paula)
    assert 'data-testid="history-' not in client.get(form_url(salt_rct)).content.decode()
    save({"initials": "AN"}, status=1)

    html = client.get(form_url(salt_rct)).content.decode()

    assert f'href="{history_url(salt_rct, "initials")}" data-testid="history-initials"' in html
    assert 'data-testid="history-screening_complete"' in html
    assert 'data-testid="history-sex"' not in html


def test_history_of_the_form_status(client, pi_paula, salt_rct, save):
    save({"initials": "AN"}, status=2)
    client.force_login(pi_paula)

    response = client.get(history_url(salt_rct, "screening_complete"))

    assert '<span class="crf-old">0</span> → <span class="crf-new">2</span>' in (
        response.content.decode()
    )


def test_history_of_a_record_in_another_group_looks_missing(client, kyoto_bea, salt_rct, save):
    save({"initials": "AN"})
    client.force_login(kyoto_bea)

    assert client.get(history_url(salt_rct, "initials")).status_code == 404


def test_history_of_an_unknown_field_is_not_found(client, pi_paula, salt_rct, save):
    save({"initials": "AN"})
    client.force_login(pi_paula)

    assert client.get(history_url(salt_rct, "visit_date")).status_code == 404
