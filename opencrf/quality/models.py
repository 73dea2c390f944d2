"""The models of the quality app, each kept in the module of its feature."""

from opencrf.quality.dq_models import (  # noqa: F401
    DataQualityExclusion,
    DataQualityResult,
    DataQualityRule,
    DataQualityRun,
)
