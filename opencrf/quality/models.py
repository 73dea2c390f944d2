"""The models of the quality app, each kept in the module of its feature."""

from opencrf.quality.dq_models import (  # noqa: F401
    DataQualityExclusion,
    DataQualityResult,
    DataQualityRule,
    DataQualityRun,
)
from opencrf.quality.query_models import FieldComment, Query, QueryStep  # noqa: F401
from opencrf.quality.verification_models import Verification  # noqa: F401
