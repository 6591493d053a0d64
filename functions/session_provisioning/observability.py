"""One Logger, Tracer and Metrics per process, shared by every handler (Powertools)."""

from aws_lambda_powertools import Logger, Metrics, Tracer

# Service name and namespace come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE
# (template Globals), so the code carries no deployment names.
logger = Logger()
tracer = Tracer()
metrics = Metrics()
