"""Which rights the rights pages offer: one table, a flag per feature.

Every right stays in the model, in the API's user and role exports and in Project XML, as REDCap
has them, so a project moved to or from REDCap keeps them all. The pages offer a right only once
the feature it governs exists here: a checkbox for a feature that does not exist would promise
something nothing enforces. Turn a flag on in the commit that adds its feature.
"""

from __future__ import annotations

from opencrf.projects.models import RIGHT_FLAGS, FormRight

# right → whether its feature exists in OpenCRF
FEATURES: dict[str, bool] = {
    "design": True,  # the Designer, dictionary upload, events
    "user_rights": True,  # these pages
    "data_access_groups": True,  # the groups page
    "reports": True,  # saved reports and the report builder (exports)
    "survey_participants": True,  # survey distribution tools and participant lists (surveys)
    "data_import": True,  # the Data Import Tool page (records/views/import_tool.py)
    "api_export": True,  # the API
    "api_import": True,  # the API
    "record_create": True,
    "record_rename": True,
    "record_delete": True,
    "lock_unlock": True,  # record locking (records/locking.py)
    "e_signature": True,  # e-signatures on locked forms (records/signatures.py)
    "logging": True,  # the logging page
    "data_quality": True,  # data quality rules: design (quality/rules.py)
    "data_quality_execute": True,  # data quality rules: run them, exclude results
    "data_quality_override": True,  # save past a hard edit check (quality/dq_checks.py)
    "source_verify": True,  # source data verification (quality/verification*.py)
    "alerts": True,  # alerts and notifications (alerts app)
    "randomization_setup": True,  # randomization: set-up and tables (randomization app)
    "randomization_dashboard": True,  # its dashboard and the allocation list
    "randomization_perform": True,  # the Randomize button and the API's randomize
    FormRight.SURVEY_EDIT: True,  # completed survey responses are read-only without it
}


def offered(right: str) -> bool:
    """Whether the rights pages offer `right` (an on/off right or a data entry choice)."""
    return FEATURES.get(right, True)


def offered_flags() -> list[str]:
    """The on/off rights the pages offer, in the page's order."""
    return [name for name in RIGHT_FLAGS if offered(name)]


def form_right_choices(current: str) -> list[tuple[str, str]]:
    """The data entry choices offered, keeping `current` even when its feature is missing, so
    that saving the page never changes a right the person did not touch."""
    return [
        (value, str(label))
        for value, label in FormRight.choices
        if offered(value) or value == current
    ]
