"""Receives Cin7 Core's Stock/AvailableStockLevelChanged webhook: checks the secret, archives, enqueues SKUs."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.connectors.cin7_core.webhooks import parse_stock_event, read_body, verify_shared_secret
from shared.connectors.spec import Role
from shared.errors import PermanentError
from shared.models import owner_of
from shared.redaction import hop_logger
from shared.runtime import runtime
from shared.steps.records import storable
from shared.steps.stock import FLOW, enqueue_skus
from shared.stores.exceptions import PayloadReplay

logger = hop_logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayRestResolver()


def _json(status: int, body: str) -> Response[str]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


@app.post("/webhooks/cin7-core/stock")
@tracer.capture_method
def receive_cin7_stock() -> Response[str]:
    rt = runtime()
    source = rt.config.settings_for(Role.STOCK_MASTER)
    event = app.current_event
    expected = rt.secret("stock_master.webhook_secret")["secret"]
    if not verify_shared_secret(event.headers, getattr(source, "webhook_header", ""), expected,
                                event.raw_event.get("multiValueHeaders")):
        metrics.add_metric(name="WebhookUnauthorised", unit=MetricUnit.Count, value=1)
        logger.warning("stock webhook rejected: missing or wrong shared secret header")
        return _json(401, '{"error":"unauthorised"}')
    now = rt.clock.now()
    raw, unreadable = read_body(event.get("body"), bool(event.get("isBase64Encoded")), rt.config.bounds)
    key = rt.archive.put(order_key=None, kind="stock-webhook", body=raw, now=now)  # before parsing, cut to bound
    try:
        if unreadable is not None:
            raise unreadable
        skus = parse_stock_event(raw, rt.config.bounds)
    except PermanentError as error:
        # 2xx all the same: Cin7 deactivates a hook after repeated failures, losing every later event.
        rt.exceptions.quarantine(flow=FLOW, business_key=key, reasons=[error.reason], team=owner_of(error.reason),
                                 detail=storable(error.detail), now=now, payload_key=key, replay_queue="stock-sync",
                                 replay_payload=PayloadReplay.CIN7_STOCK_WEBHOOK)
        logger.warning("stock webhook quarantined", extra={"reason_code": error.reason.value, "archive_key": key})
        return _json(202, f'{{"accepted":false,"reason":"{error.reason.value}"}}')
    if rt.config.pipelines.stock is not None and skus:
        enqueue_skus(rt, skus, trigger="event")
    metrics.add_metric(name="StockEventSkus", unit=MetricUnit.Count, value=len(skus))
    return _json(202, f'{{"accepted":true,"skus":{len(skus)}}}')


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
