"""The randomization pages: set-up, the record's Randomize step, the dashboard, concealment."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from opencrf.audit.models import AuditEvent
from opencrf.randomization.models import Allocation, AllocationRow, RandomizationSetup
from opencrf.randomization.services import record_randomize, table_generate
from opencrf.randomization.tests.conftest import FORM, enrol
from opencrf.records.models import FormData

pytestmark = pytest.mark.django_db


def client_of(user):
    client = Client()
    client.force_login(user)
    return client


def url(name, project, *args):
    return reverse(f"randomization:{name}", args=[project.pk, *args])


@pytest.fixture
def ready(setup, trial, paula_context):
    """Tables generated for both environments: 2 blocks of 2 per stratum (sex × site)."""
    for environment in ("development", "production"):
        table_generate(
            context=paula_context,
            project=trial,
            environment=environment,
            block_sizes="2",
            blocks=2,
            seed=f"seed-{environment}",
        )
    return setup


def test_a_designer_sets_up_stratified_randomization_on_the_page(trial, event, pi_paula):
    paula = client_of(pi_paula)
    page = paula.get(url("setup", trial))
    assert page.status_code == 200
    assert f'value="arm@{event.pk}"'.encode() in page.content

    response = paula.post(
        url("setup", trial),
        {
            "allocation": f"arm@{event.pk}",
            "strata": [f"sex@{event.pk}"],
            "group_stratum": "1",
            "method": "table",
        },
    )

    assert response.status_code == 302
    setup = RandomizationSetup.objects.get(project=trial)
    assert (setup.allocation_field, setup.strata, setup.group_stratum) == (
        "arm",
        [{"field": "sex", "event": event.pk}],
        True,
    )
    assert (
        AuditEvent.objects.filter(action="randomization.setup", actor_name="pi_paula").count() == 1
    )


def test_a_forged_field_on_the_setup_page_is_refused_and_saves_nothing(trial, event, pi_paula):
    response = client_of(pi_paula).post(
        url("setup", trial),
        {"allocation": f"note@{event.pk}", "method": "table"},
    )

    assert response.status_code == 400
    assert (
        b"Allocation: note is not a field of a suitable type in this project." in response.content
    )
    assert not RandomizationSetup.objects.exists()


def test_an_upload_with_a_bad_line_shows_the_line_and_saves_nothing(ready, trial, pi_paula):
    paula = client_of(pi_paula)
    before = AllocationRow.objects.count()
    upload = SimpleUploadedFile("t.csv", b"arm,sex,redcap_data_access_group\n1,3,x\n")

    response = paula.post(
        url("table_upload", trial), {"environment": "development", "file": upload}, follow=True
    )

    assert "Line 2, column sex: “3” is not one of 1, 2." in response.content.decode()
    assert AllocationRow.objects.count() == before


def test_a_member_randomizes_from_the_record_page_after_confirming(
    ready, trial, site_a, site_a_sam, context_of
):
    sam_context = context_of(site_a_sam)
    enrol(sam_context, trial, "A-1", site_a, {"sex": "2"})
    sam = client_of(site_a_sam)
    home = sam.get(reverse("records:home", args=[trial.pk, "A-1"]))
    assert b'data-testid="randomize-button"' in home.content

    step = sam.get(url("randomize", trial, "A-1"))
    assert b"Female" in step.content and b"Site A" in step.content
    unconfirmed = sam.post(url("randomize", trial, "A-1"), {})
    assert unconfirmed.status_code == 400 and not Allocation.objects.exists()
    done = sam.post(url("randomize", trial, "A-1"), {"confirm": "1"})
    again = sam.post(url("randomize", trial, "A-1"), {"confirm": "1"})

    assert done.status_code == 302
    assert again.status_code == 400 and b"Record A-1 is randomized already." in again.content
    assert Allocation.objects.count() == 1
    home = sam.get(reverse("records:home", args=[trial.pk, "A-1"]))
    assert b'data-testid="randomization-arm"' in home.content


def test_a_missing_stratum_is_named_on_the_randomize_page(
    ready, trial, site_a, site_a_sam, context_of
):
    enrol(context_of(site_a_sam), trial, "A-1", site_a, {"note": "x"})

    response = client_of(site_a_sam).post(url("randomize", trial, "A-1"), {"confirm": "1"})

    assert response.status_code == 400
    assert b"Record A-1 cannot be randomized: enter sex first." in response.content
    assert not Allocation.objects.exists()


def test_another_sites_record_is_missing_on_the_randomize_page(
    ready, trial, site_b, site_a_sam, kyoto_bea, context_of
):
    enrol(context_of(kyoto_bea), trial, "B-1", site_b, {"sex": "1"})
    sam = client_of(site_a_sam)

    theirs = sam.post(url("randomize", trial, "B-1"), {"confirm": "1"})
    missing = sam.post(url("randomize", trial, "nobody"), {"confirm": "1"})

    assert (theirs.status_code, missing.status_code) == (404, 404)
    assert not Allocation.objects.exists()


def test_the_web_form_cannot_enter_the_allocation_field(
    ready, trial, event, site_a, site_a_sam, context_of
):
    enrol(context_of(site_a_sam), trial, "A-1", site_a, {"sex": "1"})
    form_url = reverse("records:form", args=[trial.pk, "A-1", event.unique_name, FORM, 1])

    response = client_of(site_a_sam).post(
        form_url, {"sex": "1", "arm": "1", "base_version": "1", f"{FORM}_complete": "0"}
    )

    assert "is set by randomization" in response.content.decode()
    assert Allocation.objects.count() == 0
    assert FormData.objects.get(record__record_id="A-1").values.get("arm", "") == ""


@pytest.mark.parametrize("user", ["site_a_sam", "monitor_mo"])
def test_without_the_dashboard_right_no_table_or_list_is_shown(
    ready, trial, site_a, site_a_sam, monitor_mo, context_of, user, paula_context
):
    record = enrol(context_of(site_a_sam), trial, "A-1", site_a, {"sex": "1"})
    record_randomize(context=paula_context, project=trial, record=record)
    client = client_of({"site_a_sam": site_a_sam, "monitor_mo": monitor_mo}[user])

    pages = [
        client.get(url("dashboard", trial)),
        client.post(url("export", trial)),
        client.get(url("setup", trial)),
        client.post(url("table_download", trial), {"environment": "development"}),
    ]

    assert [page.status_code for page in pages] == [403, 403, 403, 403]
    home = client.get(url("home", trial))
    assert b"randomization-dashboard-link" not in home.content
    assert b"randomization-setup-link" not in home.content
    assert not AuditEvent.objects.filter(
        action__in=["randomization.export", "randomization.table_download"]
    ).exists()


def test_the_dashboard_counts_by_stratum_and_arm_and_warns_before_a_stratum_runs_out(
    ready, trial, site_a, dmc_dana, paula_context
):
    record = enrol(paula_context, trial, "A-1", site_a, {"sex": "1"})
    allocation = record_randomize(context=paula_context, project=trial, record=record)

    page = client_of(dmc_dana).get(url("dashboard", trial)).content.decode()

    assert 'data-testid="total">1<' in page
    assert "Stratum Male / Site A has only 3 allocation(s) left." in page
    assert AllocationRow.objects.filter(used=True).get() == allocation.row


def test_the_export_lists_allocations_and_is_audited(ready, trial, site_a, dmc_dana, paula_context):
    record = enrol(paula_context, trial, "=A1", site_a, {"sex": "1"})
    allocation = record_randomize(context=paula_context, project=trial, record=record)

    response = client_of(dmc_dana).post(url("export", trial))

    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0] == (
        "record_id,environment,sequence,arm,arm_label,sex,redcap_data_access_group,table_row,"
        "allocated_at,allocated_by"
    )
    assert lines[1].startswith(f"'=A1,development,1,{allocation.arm},")
    assert (
        AuditEvent.objects.filter(action="randomization.export", actor_name="dmc_dana").count() == 1
    )


def test_a_grouped_dashboard_user_sees_only_the_sites_allocations(
    ready, trial, site_a, site_b, django_user_model, paula_context
):
    from opencrf.randomization.tests.conftest import member

    lead = django_user_model.objects.create_user(username="site_b_lead", password="x" * 12)
    member(trial, lead, group=site_b, randomization_dashboard=True)
    for record_id, group in (("A-1", site_a), ("B-1", site_b)):
        record = enrol(paula_context, trial, record_id, group, {"sex": "1"})
        record_randomize(context=paula_context, project=trial, record=record)

    page = client_of(lead).get(url("dashboard", trial)).content.decode()
    export = client_of(lead).post(url("export", trial)).content.decode("utf-8-sig")

    assert ">B-1<" in page and "A-1" not in page and "Site A" not in page
    assert [line.split(",")[0] for line in export.splitlines()[1:]] == ["B-1"]


def test_the_landing_page_answers_every_member_and_no_one_else(trial, monitor_mo, site_b_bea):
    assert client_of(monitor_mo).get(url("home", trial)).status_code == 200
    assert client_of(site_b_bea).get(url("home", trial)).status_code == 404


def test_a_randomize_post_without_the_csrf_token_is_refused(
    ready, trial, site_a, site_a_sam, context_of
):
    enrol(context_of(site_a_sam), trial, "A-1", site_a, {"sex": "1"})
    forged = Client(enforce_csrf_checks=True)
    forged.force_login(site_a_sam)

    response = forged.post(url("randomize", trial, "A-1"), {"confirm": "1"})

    assert response.status_code == 403
    assert not Allocation.objects.exists()


def test_hostile_labels_are_escaped_on_the_randomize_step(
    ready, trial, site_a, site_a_sam, context_of, paula_context
):
    site_a.name = "<script>alert(1)</script>"
    site_a.save()
    enrol(context_of(site_a_sam), trial, "A-1", site_a, {"sex": "1"})

    page = client_of(site_a_sam).get(url("randomize", trial, "A-1")).content.decode()

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_data_entry_page_marks_the_allocation_field(
    ready, trial, event, site_a, site_a_sam, context_of
):
    enrol(context_of(site_a_sam), trial, "A-1", site_a, {"sex": "1"})
    form_url = reverse("records:form", args=[trial.pk, "A-1", event.unique_name, FORM, 1])

    page = client_of(site_a_sam).get(form_url).content.decode()

    assert page.count('data-testid="randomization-mark"') == 1


def test_minimization_is_set_up_with_weights_and_probability_on_the_page(trial, event, pi_paula):
    paula = client_of(pi_paula)
    first = {
        "allocation": f"arm@{event.pk}",
        "strata": [f"sex@{event.pk}", f"age_grp@{event.pk}"],
        "method": "minimization",
    }
    paula.post(url("setup", trial), first)
    page = paula.get(url("setup", trial))
    assert b'data-testid="minimization-settings"' in page.content

    response = paula.post(
        url("setup", trial),
        {
            **first,
            "weight:sex": "2",
            "weight:age_grp": "1",
            "probability": "0,75",
            "ratio:1": "2",
            "ratio:2": "1",
        },
    )

    assert response.status_code == 302
    setup = RandomizationSetup.objects.get(project=trial)
    assert (setup.method, setup.weights, setup.preferred_probability, setup.ratios) == (
        "minimization",
        {"sex": 2.0, "age_grp": 1.0},
        0.75,
        {"1": 2, "2": 1},
    )
    bad = paula.post(url("setup", trial), {**first, "probability": "0.3"})
    assert b"The probability of the preferred arm must be between 0.5 and 1." in bad.content


def test_pages_of_a_project_without_randomization_or_a_table_are_missing(
    trial, setup, pi_paula, django_user_model, paula_context
):
    paula = client_of(pi_paula)

    assert (
        paula.post(url("table_download", trial), {"environment": "production"}).status_code == 404
    )
    RandomizationSetup.objects.all().delete()
    assert paula.get(url("dashboard", trial)).status_code == 404
    assert paula.post(url("export", trial)).status_code == 404
    assert paula.get(url("randomize", trial, "nobody")).status_code == 404
