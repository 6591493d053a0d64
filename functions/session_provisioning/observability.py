"""One Logger, Tracer and Metrics per process, shared by every handler (Powertools)."""

from aws_lambda_powertools import Logger, Metrics, Tracer

# Service name and namespace come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE
# (template Globals), so the code carries no deployment names.
logger = Logger()
# Only botocore is patched: every call these functions make goes through it (Nimble Studio, Step
# Functions). Powertools' default, patch_all(), also imports and patches sqlite3, http.client and
# a dozen absent libraries on every cold start, and its http.client patch only added a second,
# nested subsegment under each botocore one.
tracer = Tracer(patch_modules=("botocore",))
metrics = Metrics()
