"""Moved to :mod:`tests.support.workflow`; kept for importers outside the workflow tests
(tests/reliability/test_api_fuzz.py) until they import it from there. Delete then."""

from tests.support.workflow import *  # noqa: F403
from tests.support.workflow import ENVIRONMENT, PARAMETERS, STUDIO  # noqa: F401
