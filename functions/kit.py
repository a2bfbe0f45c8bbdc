"""One handler shape per trigger kind, so a hop's handler.py is its model, its step and its metrics.

Every Lambda hop is one of four shapes: an API Gateway webhook route (into the one webhook step), an SQS queue
hop (batch with partial failure, each record accepted or quarantined before its step), a schedule (the step over
the runtime, figures of its result as metrics) or a Step Functions task (the state validated into a model, the
result returned as JSON). The decorators, the batch processor and the per-result metric are written here once.
Imported at cold start by every handler: the batch, records and API imports live in their factories, so a hop
loads only its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel

from shared.models.order import Model
from shared.redaction import hop_logger
from shared.runtime import Runtime, runtime

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

M = TypeVar("M", bound=Model)
Handler = Callable[[dict[str, Any], "LambdaContext"], Any]

QUARANTINED = "quarantined"


@dataclass
class HopShape:
    """What the kit built a handler from; `lambda_handler.hop` on every kit handler.

    The step is looked up here on each call, so a test can stand in for it on one hop.
    """

    kind: Literal["queue", "schedule", "task", "webhook"]
    step: Callable[..., Any]
    logger: Logger
    tracer: Tracer
    metrics: Metrics | None

    def count(self, name: str, value: int = 1) -> None:
        """Adds a count to this invocation's metrics (flushed by the handler's log_metrics)."""
        if self.metrics is None:
            raise RuntimeError(f"this {self.kind} hop publishes no metrics: {name}")
        self.metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


@dataclass
class Delivery:
    """One accepted SQS record on its way to the step, as a queue hop's `around` wrapper sees it."""

    record: SQSRecord
    message: Any
    rt: Runtime
    hop: HopShape

    def run(self) -> Any:
        """The hop's step on this message."""
        return self.hop.step(self.message, self.rt)


# Runs around one record's step (calling `delivery.run()`); returns the step's result, or None when it dealt
# with the record itself (quarantined it): the record is acknowledged and no outcome metric is counted.
RecordWrapper = Callable[[Delivery], Any]


def outcome_of(result: Any) -> str:
    """The label a step's result is counted and returned under: an enum's value, a dict's `outcome`, or the text."""
    if isinstance(result, Enum):
        return str(result.value)
    if isinstance(result, Mapping):
        return str(result["outcome"])
    outcome = getattr(result, "outcome", result)
    return str(outcome.value if isinstance(outcome, Enum) else outcome)


def figure(result: Any, key: str) -> int:
    """A count from a step's result (a dict key, 0 when a skipped run left it out, or an attribute)."""
    value = result.get(key, 0) if isinstance(result, Mapping) else getattr(result, key)
    return int(value)


def _count_figures(hop: HopShape, result: Any, figures: Mapping[str, str]) -> None:
    for name, key in figures.items():
        hop.count(name, figure(result, key))


def _decorated(shape: HopShape, handler: Handler) -> Handler:
    """The Powertools decorators every hop wears, outermost first: context in the logs, a trace, metrics flushed."""
    if shape.metrics is not None:
        handler = shape.metrics.log_metrics(handler)
    handler = shape.tracer.capture_lambda_handler(handler)
    handler = shape.logger.inject_lambda_context(handler)
    handler.hop = shape  # type: ignore[attr-defined]
    return handler


def queue_hop(
    model: type[M],
    *,
    flow: str,
    step: Callable[[M, Runtime], Any],
    queue: str | None = None,
    metric: str | None = None,
    figures: Mapping[str, str] | None = None,
    outcome: Callable[[Any], str] = outcome_of,
    count_records: bool = True,
    around: RecordWrapper | None = None,
    on_invoke: Callable[[LambdaContext], None] | None = None,
) -> Handler:
    """An SQS hop: each record accepted (or quarantined, acknowledged) as `model`, then `step(message, rt)`.

    `metric` counts each result as `<metric>_<outcome>`; `figures` adds counts read off the result
    (metric name -> field). An exception from the step fails only its record, for redelivery and then the DLQ.
    `around` wraps one record's step (idempotency, a refusal the hop handles itself); `on_invoke` runs first on
    every invocation (registering the context for idempotency).
    """
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    from shared.steps.records import accept_or_quarantine

    shape = HopShape("queue", step, hop_logger(), Tracer(), Metrics())
    processor = BatchProcessor(event_type=EventType.SQS)

    @shape.tracer.capture_method
    def record_handler(record: SQSRecord) -> str:
        rt = runtime()
        message = accept_or_quarantine(
            rt,
            body=record.body,
            message_id=record.message_id,
            model=model,
            flow=flow,
            queue=queue,
            attributes=record.raw_event.get("messageAttributes"),
        )
        if message is None:
            return QUARANTINED
        delivery = Delivery(record, message, rt, shape)
        result = delivery.run() if around is None else around(delivery)
        if result is None:
            return QUARANTINED
        label = outcome(result)
        if metric is not None:
            shape.count(f"{metric}_{label}")
        _count_figures(shape, result, figures or {})
        return label

    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Any:
        if on_invoke is not None:
            on_invoke(context)
        if count_records:
            shape.count("RecordsReceived", len(event.get("Records", [])))
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )

    return _decorated(shape, lambda_handler)


def schedule_hop(step: Callable[[Runtime], Any], *, metrics: Mapping[str, str]) -> Handler:
    """A scheduled hop: `step(rt)`, each named figure of its result published as a count, the result returned."""
    shape = HopShape("schedule", step, hop_logger(), Tracer(), Metrics())

    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Any:
        result = shape.step(runtime())
        _count_figures(shape, result, metrics)
        return result

    return _decorated(shape, lambda_handler)


def task_hop(model: type[M], step: Callable[[M, Runtime], Any], *, metric: str | None = None) -> Handler:
    """A Step Functions task: the state validated into `model`, `step(state, rt)`, a model result as JSON.

    `metric` counts each result as `<metric>_<outcome>`; without it the task publishes no metrics at all.
    """
    shape = HopShape("task", step, hop_logger(), Tracer(), Metrics() if metric is not None else None)

    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Any:
        result = shape.step(model.model_validate(event), runtime())
        if metric is not None:
            shape.count(f"{metric}_{outcome_of(result)}")
        return result.model_dump(mode="json") if isinstance(result, BaseModel) else result

    return _decorated(shape, lambda_handler)


def webhook_hop() -> Handler:
    """The one webhook receiver: `POST /webhooks/{platform}/{channel}` into the one webhook step.

    API Gateway holds one explicit resource per route the topology derives; the platform instance and the
    channel are read from the request's path, so a route the client does not serve answers 404 here too.
    """
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types

    from shared.steps.webhooks import answer_json, receive
    from shared.topology import WEBHOOK_PATH

    shape = HopShape("webhook", receive, hop_logger(), Tracer(), Metrics())
    app = APIGatewayRestResolver()

    @app.post(WEBHOOK_PATH.replace("{", "<").replace("}", ">"))
    def route(platform: str, channel: str) -> Response[str]:
        rt = runtime()
        event = app.current_event
        answer = shape.step(
            rt,
            platform,
            channel,
            headers=event.headers,
            multi_value_headers=event.raw_event.get("multiValueHeaders"),
            body=event.get("body"),
            is_base64=bool(event.get("isBase64Encoded")),
        )
        shape.count(answer.metric)
        return Response(
            status_code=answer.status, content_type=content_types.APPLICATION_JSON, body=answer_json(answer)
        )

    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Any:
        return app.resolve(event, context)

    return _decorated(shape, lambda_handler)


def shape_of(handler: Handler) -> HopShape:
    """The shape a kit handler was built from (`lambda_handler.hop`)."""
    shape = getattr(handler, "hop", None)
    if not isinstance(shape, HopShape):
        raise TypeError(f"{handler!r} was not built by functions.kit")
    return shape
