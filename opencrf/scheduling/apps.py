from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    """Visit schedules from event offsets and windows, the project calendar, iCalendar export."""

    name = "opencrf.scheduling"
    label = "scheduling"

    def ready(self) -> None:
        from opencrf.records.hooks import form_saved_register
        from opencrf.records.page_hooks import record_panel_register
        from opencrf.records.visit_sources import overdue_visit_source_register
        from opencrf.scheduling.hooks import forms_saved, record_schedule_panel
        from opencrf.scheduling.selectors import overdue_visits

        # A saved start date field (re)builds the record's schedule, after the commit.
        form_saved_register(forms_saved)
        record_panel_register(record_schedule_panel)  # the record's visits on its home page
        overdue_visit_source_register(overdue_visits)  # for alerts' "a visit is overdue"
