"""The public webhook entrance: a throttled, access-logged REST API with one explicit resource per route."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

STAGE_NAME = "live"
# Far above any platform's webhook rate for one brand, low enough to cap the bill of a flood.
THROTTLE_RATE_PER_SECOND = 50
THROTTLE_BURST = 100
ACCESS_LOG_RETENTION = logs.RetentionDays.ONE_MONTH
_ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "requestTime": "$context.requestTime",
    "ip": "$context.identity.sourceIp",
    "userAgent": "$context.identity.userAgent",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationStatus": "$context.integration.status",
    "integrationLatency": "$context.integration.latency",
    "error": "$context.error.message",
    "validationError": "$context.error.validationErrorString",
}


@dataclass(frozen=True)
class WebhookRoute:
    """One explicit resource and method; `header` is the request header API Gateway requires on it."""

    method: str
    path: str
    function: lambda_.IFunction
    header: str | None = None


class WebhookApi(Construct):
    """REST API, regional, throttled per stage, one Lambda proxy route per `WebhookRoute`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api_name: str,
        routes: Sequence[WebhookRoute],
    ) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = logs.LogGroup(self, "AccessLogs", retention=ACCESS_LOG_RETENTION)
        self.api = apigateway.RestApi(
            self,
            "Api",
            rest_api_name=api_name,
            description="Platform webhooks: authenticate, archive, enqueue.",
            endpoint_types=[apigateway.EndpointType.REGIONAL],
            # The account-level CloudWatch role API Gateway logs through is the account stack's (one per
            # account and region, shared by every client stack): infra/account_stack.py.
            cloud_watch_role=False,
            deploy_options=apigateway.StageOptions(
                stage_name=STAGE_NAME,
                throttling_rate_limit=THROTTLE_RATE_PER_SECOND,
                throttling_burst_limit=THROTTLE_BURST,
                access_log_destination=apigateway.LogGroupLogDestination(self.access_logs),
                access_log_format=apigateway.AccessLogFormat.custom(json.dumps(_ACCESS_LOG_FIELDS)),
                # Errors only, and never request bodies: webhook payloads carry customer addresses.
                logging_level=apigateway.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                metrics_enabled=True,
                tracing_enabled=True,
            ),
        )
        # Each route's shared-secret header must be present: requests without it are refused here, before the
        # function runs. No body model on purpose: the receiver archives a malformed payload before it
        # refuses it, and a 400 at the edge would lose that evidence. The validator validates bodies too,
        # so a model attached to a future route is enforced.
        validator = self.api.add_request_validator(
            "RequestValidator", validate_request_body=True, validate_request_parameters=True
        )
        # Only real routes exist: no {proxy+} or path variable, so any other path is refused at the edge.
        for route in routes:
            resource = self.api.root.resource_for_path(route.path.strip("/"))
            resource.add_method(
                route.method.upper(),
                apigateway.LambdaIntegration(route.function, proxy=True, allow_test_invoke=False),
                request_validator=validator,
                request_parameters={f"method.request.header.{route.header}": True} if route.header else None,
            )
