"""The randomization panel of a record's home page (registered in `RandomizationConfig.ready`).

It shows whether the record is randomized, and to whom it may: the arm only to those who may
see the allocation field's form (they would read it there anyway), or the dashboard (when
blinded, `blinding.blinded_rights` hides that form from all but them), and to whoever unblinded
the record in an emergency. Emergency unblindings (who, when, why) are listed for all. Users with
the randomize right get the button; nothing about the table or the next allocation is shown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.template.loader import render_to_string
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from opencrf.core.errors import InvalidInput
from opencrf.randomization.blinding import is_blinded, may_unblind
from opencrf.randomization.models import Allocation
from opencrf.randomization.scheme import field_rows, scheme_of
from opencrf.randomization.selectors import may_see_dashboard
from opencrf.randomization.services import setup_of
from opencrf.records.page_hooks import FormPlace, RecordPage


def randomization_panel(page: RecordPage) -> SafeString | None:
    setup = setup_of(page.project)
    if setup is None:
        return None
    rights = page.rights
    may_randomize = rights.is_admin or rights.randomization_perform
    allocation = (
        Allocation.objects.filter(record=page.record).select_related("allocated_by").first()
    )
    if allocation is None and not may_randomize:
        return None
    row = field_rows(setup).get(setup.allocation_field)
    sees_arm = may_see_dashboard(rights) or (row is not None and rights.can_see_form(row.form_name))
    blinded = is_blinded(setup)
    unblindings = list(allocation.unblindings.select_related("unblinded_by")) if allocation else []
    if blinded and any(u.unblinded_by_id == page.request.user.pk for u in unblindings):
        sees_arm = True  # who unblinded the record in an emergency keeps seeing its arm
    arm = ""
    if allocation is not None and sees_arm:
        try:
            arm = scheme_of(setup).arm_label(allocation.arm)
        except InvalidInput:
            arm = allocation.arm
    context = {
        "project": page.project,
        "record": page.record,
        "allocation": allocation,
        "arm": arm,
        "may_randomize": may_randomize,
        "blinded": blinded,
        "unblindings": unblindings,
        "may_unblind": blinded and allocation is not None and may_unblind(rights),
    }
    return SafeString(render_to_string("randomization/record_panel.html", context, page.request))


def allocation_field_mark(place: FormPlace, field_names: Sequence[str]) -> Mapping[str, SafeString]:
    """A note beside the allocation field on the data entry page: randomization sets it."""
    setup = setup_of(place.project)
    if setup is None or place.event.pk != setup.allocation_event_id:
        return {}
    if setup.allocation_field not in field_names:
        return {}
    note = format_html(
        '<span class="badge text-bg-light border" data-testid="randomization-mark">{}</span>',
        _("Set by randomization; read-only"),
    )
    return {setup.allocation_field: note}
