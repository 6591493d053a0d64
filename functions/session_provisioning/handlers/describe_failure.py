"""DescribeFailure step: any failure as the Streaming Session Failed detail, or the next attempt."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.utilities.typing import LambdaContext

from session_provisioning.logic.failures import describe_failure
from session_provisioning.observability import count_once, lambda_entry, logger, metrics


@lambda_entry("requestId", with_metrics=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    failure = describe_failure(event)
    if "nextAttempt" in failure:
        attempt = failure["nextAttempt"]["attempt"]
        logger.info(
            "no capacity: trying the next instance type",
            extra={"attempt": attempt["index"], "ec2InstanceType": attempt["ec2InstanceType"]},
        )
        count_once("FallbackAttempts", {"Ec2InstanceType": attempt["ec2InstanceType"]})
        return failure
    error = failure["detail"]["error"]
    logger.info("request failed", extra={"code": error["code"], "step": error.get("step")})
    # A dimension of this one metric only: the shared Metrics object would keep it for the next
    # invocation (and the next error code). single_metric flushes by itself, so it must be told
    # when metrics are off (the local stack), as log_metrics is.
    if not is_metrics_disabled():
        with single_metric(
            name="SessionsFailed", unit=MetricUnit.Count, value=1, namespace=metrics.namespace
        ) as metric:
            metric.add_dimension(name="ErrorCode", value=error["code"])
    return failure
