from django.apps import AppConfig


class RandomizationConfig(AppConfig):
    """Randomization: allocation tables, minimization, the randomize button and its dashboard."""

    name = "opencrf.randomization"
    label = "randomization"

    def ready(self) -> None:
        from opencrf.projects.lifecycle import lifecycle_hooks_register
        from opencrf.projects.selectors import rights_narrower_register
        from opencrf.randomization.blinding import blinded_rights
        from opencrf.randomization.checks import allocation_guard, production_guard
        from opencrf.randomization.record_hooks import allocation_field_mark, randomization_panel
        from opencrf.records.page_hooks import field_marks_register, record_panel_register
        from opencrf.records.save_checks import save_check_register

        # The allocation field is written only by randomizing, whatever the path of a save.
        save_check_register(allocation_guard)
        lifecycle_hooks_register(guard=production_guard)  # no production without its table
        record_panel_register(randomization_panel)  # the Randomize button on the record page
        field_marks_register(allocation_field_mark)
        rights_narrower_register(
            blinded_rights
        )  # a blinded allocation form: unblinded only  # "set by randomization" beside the field
