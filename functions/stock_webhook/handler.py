"""Receives a Cin7 Core stock-level webhook through the one webhook step: checks the shared secret, archives,
enqueues its SKUs for a fresh read, quarantines what it cannot read."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.connectors.spec import Role
from shared.redaction import hop_logger
from shared.runtime import runtime
from shared.steps.webhooks import answer_json, receive

logger = hop_logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayRestResolver()


@app.post("/webhooks/cin7-core/stock")
@tracer.capture_method
def receive_stock() -> Response[str]:
    rt = runtime()
    event = app.current_event
    answer = receive(
        rt,
        rt.config.platform_for(Role.STOCK_MASTER),
        "stock",
        headers=event.headers,
        multi_value_headers=event.raw_event.get("multiValueHeaders"),
        body=event.get("body"),
        is_base64=bool(event.get("isBase64Encoded")),
    )
    metrics.add_metric(name=answer.metric, unit=MetricUnit.Count, value=1)
    return Response(status_code=answer.status, content_type=content_types.APPLICATION_JSON, body=answer_json(answer))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
