from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    """Scheduling: visit schedules from event offsets and windows, the project calendar, iCalendar export."""

    name = "opencrf.scheduling"
    label = "scheduling"
