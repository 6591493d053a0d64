"""One Logger, Tracer and Metrics per process, shared by every handler (Powertools)."""

import warnings
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

# Service name and namespace come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE
# (template Globals), so the code carries no deployment names.
logger = Logger()
# Only botocore is patched: every call these functions make goes through it (Nimble Studio, Step
# Functions). Powertools' default, patch_all(), also imports and patches sqlite3, http.client and
# a dozen absent libraries on every cold start, and its http.client patch only added a second,
# nested subsegment under each botocore one.
tracer = Tracer(patch_modules=("botocore",))
metrics = Metrics()
# An invocation that counts nothing is normal (a GET or a cancel on the API, a create that
# failed): Powertools warns at each such flush, an unstructured line in the function's log
# (and in `make run`/`make chaos` output) that says nothing about the request.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)


def lambda_entry(
    correlation_id_path: str, *, with_metrics: bool = True
) -> Callable[[Callable[..., Any]], Any]:
    """A handler's observability, as every function sets it up: the Logger with the request's
    id as correlation id and the Lambda context, a Tracer segment, and (unless a function has no
    metrics of its own) the Metrics flushed after each invocation."""

    def decorate(handler: Callable[..., Any]) -> Any:
        if with_metrics:
            handler = metrics.log_metrics(handler)
        return logger.inject_lambda_context(correlation_id_path=correlation_id_path)(
            tracer.capture_lambda_handler(handler)
        )

    return decorate


def count_once(name: str, dimensions: dict[str, str] | None = None, value: float = 1) -> None:
    """One Count metric, flushed at once, for a function whose invocations mostly emit none
    (so it runs without log_metrics). single_metric must be told when metrics are off."""
    if is_metrics_disabled():
        return
    with single_metric(name=name, unit=MetricUnit.Count, value=value, namespace=metrics.namespace) as metric:
        for key, value in (dimensions or {}).items():
            metric.add_dimension(name=key, value=value)
