from django.apps import AppConfig


class RandomizationConfig(AppConfig):
    """Randomization: allocation tables, minimization, the randomize button and its dashboard."""

    name = "opencrf.randomization"
    label = "randomization"
