"""The per-minute request tally of opencrf.ops.alerts.traffic (plain SQL, no model)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("ops", "0001_operations")]

    operations = [
        migrations.RunSQL(
            sql=(
                "CREATE TABLE ops_request_minute ("
                " minute bigint NOT NULL PRIMARY KEY,"
                " requests bigint NOT NULL DEFAULT 0,"
                " errors bigint NOT NULL DEFAULT 0)"
            ),
            reverse_sql="DROP TABLE ops_request_minute",
        )
    ]
