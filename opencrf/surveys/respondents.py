"""The stable pseudonym of a participant in the audit trail: `[survey respondent #N]`.

REDCap logs every participant as "[survey respondent]". OpenCRF names one pseudonymous actor
per participant, so that the trail tells one participant's changes from another's without
naming them (no address, no identifier): N is the id of the first survey response of the
participant's record, kept in a `Respondent` row once the record exists. Before that — a
public link's first page, or a participant of the list who has not answered yet — N is the
response's own id, which is the same number the record gets once that first submit creates
it. Every survey, event and instance of one record is answered under one pseudonym.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Min

from opencrf.surveys.models import Respondent, SurveyResponse

LABEL = "[survey respondent #%d]"


def respondent_label(response: SurveyResponse) -> str:
    """How the audit trail names the participant answering through `response`."""
    return LABEL % respondent_number(response)


def respondent_number(response: SurveyResponse) -> int:
    if response.record_id is None:
        return int(response.pk)
    found = Respondent.objects.filter(record_id=response.record_id).values_list("number")
    for (number,) in found:
        return int(number)
    first = SurveyResponse.objects.filter(record_id=response.record_id).aggregate(n=Min("pk"))
    number = int(first["n"] or response.pk)
    try:
        with transaction.atomic():
            Respondent.objects.create(
                project_id=response.project_id, record_id=response.record_id, number=number
            )
    except IntegrityError:  # a concurrent request of the same participant made it first
        return int(Respondent.objects.get(record_id=response.record_id).number)
    return number
