"""Receives a Cin7 Core sale webhook: checks the shared secret, archives, enqueues a sale reference
(a voided sale as a cancel request)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.connectors.cin7_core.webhooks import parse_sale_event, read_body, scan_sale_id, verify_shared_secret
from shared.connectors.spec import Role
from shared.errors import PermanentError
from shared.models import ReasonCode, owner_of
from shared.models.messages import CancelRequest, IntakeMessage
from shared.redaction import hop_logger
from shared.runtime import runtime
from shared.steps.records import storable
from shared.stores.exceptions import PayloadReplay

logger = hop_logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayRestResolver()


def _json(status: int, body: str) -> Response[str]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


@app.post("/webhooks/cin7-core")
@tracer.capture_method
def receive_cin7_sale() -> Response[str]:
    rt = runtime()
    source = rt.config.settings_for(Role.ORDER_SOURCE)
    bounds = rt.config.bounds
    event = app.current_event
    expected = rt.secret("order_source.webhook_secret")["secret"]
    if not verify_shared_secret(event.headers, getattr(source, "webhook_header", ""), expected,
                                event.raw_event.get("multiValueHeaders")):
        metrics.add_metric(name="WebhookUnauthorised", unit=MetricUnit.Count, value=1)
        logger.warning("webhook rejected: missing or wrong shared secret header")
        return _json(401, '{"error":"unauthorised"}')
    now = rt.clock.now()
    raw, unreadable = read_body(event.get("body"), bool(event.get("isBase64Encoded")), bounds)
    # Archived before it is parsed, whatever it holds (cut to the body bound): under its order when the
    # body names a well-formed sale id, otherwise under unmatched/.
    scanned = scan_sale_id(raw, bounds) if unreadable is None else None
    archive_key = rt.archive.put(order_key=f"{source.type}#{scanned}" if scanned else None,
                                 kind="webhook" if scanned else "webhook-unparsed", body=raw, now=now)
    try:
        if unreadable is not None:
            raise unreadable
        sale = parse_sale_event(raw, bounds)
        if scanned is not None and sale.sale_id != scanned:  # JSON keeps the last of repeated keys
            raise PermanentError(ReasonCode.PAYLOAD_INVALID, "Cin7 webhook: the body names more than one SaleID")
    except PermanentError as error:
        # Answer 2xx: Cin7 deactivates a hook after repeated non-2xx answers, which would lose every
        # later webhook. The payload is archived and quarantined for a person instead.
        rt.exceptions.quarantine(flow="webhook_receiver", business_key=archive_key, reasons=[error.reason],
                                 team=owner_of(error.reason), detail=storable(error.detail), now=now,
                                 payload_key=archive_key, replay_queue="order-intake",
                                 replay_payload=PayloadReplay.CIN7_SALE_WEBHOOK)
        metrics.add_metric(name="WebhookQuarantined", unit=MetricUnit.Count, value=1)
        logger.warning("webhook quarantined", extra={"reason_code": error.reason.value, "archive_key": archive_key})
        return _json(202, f'{{"accepted":false,"reason":"{error.reason.value}"}}')
    if sale.is_void:
        rt.send("cancel-requests", CancelRequest(
            client=rt.config.client, source=source.type, source_id=sale.sale_id,
            order_number=sale.order_number, requested_at=now, reason="voided at Cin7 Core", trigger="webhook",
            event_type=sale.event_type,
        ))
        metrics.add_metric(name="WebhookCancelAccepted", unit=MetricUnit.Count, value=1)
        return _json(202, '{"accepted":true}')
    rt.send("order-intake", IntakeMessage(
        client=rt.config.client, source=source.type, source_id=sale.sale_id,
        order_number=sale.order_number, trigger="webhook", event_type=sale.event_type, archive_key=archive_key,
    ))
    metrics.add_metric(name="WebhookAccepted", unit=MetricUnit.Count, value=1)
    return _json(202, '{"accepted":true}')


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
