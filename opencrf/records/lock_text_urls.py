"""The lock texts page, among the design pages (`projects/<id>/design/lock-texts/`).

Under `records/`, a one-part address names a record (a record id is any text without `/`,
`new` aside), so the page cannot live there without hiding the pages of a record named like it.
"""

from django.urls import path

from opencrf.records.views import locking

app_name = "lock_texts"

urlpatterns = [path("", locking.lock_texts, name="edit")]
