"""Give every record that has survey responses its participant's pseudonym.

The audit trail named each response `[survey respondent #<response id>]`; from now on a
record's participant is named by its first response's id, so the label of their earliest
response carries on. Rows made here are the ones `surveys.respondents` would make lazily."""

from django.db import migrations
from django.db.models import Min


def backfill(apps, schema_editor):
    SurveyResponse = apps.get_model("surveys", "SurveyResponse")
    Respondent = apps.get_model("surveys", "Respondent")
    firsts = (
        SurveyResponse.objects.filter(record__isnull=False)
        .values("record_id", "project_id")
        .annotate(first=Min("pk"))
        .order_by("record_id")
    )
    known = set(Respondent.objects.values_list("record_id", flat=True))
    Respondent.objects.bulk_create(
        [
            Respondent(
                project_id=row["project_id"], record_id=row["record_id"], number=row["first"]
            )
            for row in firsts
            if row["record_id"] not in known
        ],
        batch_size=1000,
    )


class Migration(migrations.Migration):
    dependencies = [("surveys", "0004_respondent")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
