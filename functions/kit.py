"""One handler shape per trigger kind, so a hop's handler.py is its model, its step and its metrics.

Every Lambda hop is one of four shapes: an API Gateway webhook route (into the one webhook step), an SQS queue
hop (batch with partial failure, each record accepted or quarantined before its step), a schedule (the step over
the runtime, figures of its result as metrics) or a Step Functions task (the state validated into a model, the
result returned as JSON). The decorators, the batch processor and the per-result metric are written here once.
Imported at cold start by every handler, so nothing here builds what a hop may not use at import: the records
import lives in its factory (a hop loads only its own), the batch processor, the webhook resolver and the tracer
are built on the first invocation (see HopTracer), and no AWS client is built until a step asks its runtime.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel

from shared.errors import StepAsideError
from shared.models.base import Model
from shared.redaction import hop_logger
from shared.runtime import Runtime, runtime

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

M = TypeVar("M", bound=Model)
F = TypeVar("F", bound=Callable[..., Any])
Handler = Callable[[dict[str, Any], "LambdaContext"], Any]

QUARANTINED = "quarantined"
DEFERRED = "deferred"  # a record a background hop left for later, re-sent to its queue with a delay
# A record left for later comes back no sooner than this: about one order-poll interval, so while the target
# sheds load the order work of a whole poll goes first, not just the next call. SQS delays at most 900 s.
DEFER_AT_LEAST_SECONDS = 60
MAX_SQS_DELAY_SECONDS = 900
# What a traced hop patches for X-Ray: its AWS calls (botocore) and its platform calls (every connector's
# httpx client). Not Powertools' patch_all, which also imports the patchers of a dozen libraries no hop uses.
TRACED_MODULES = ("botocore", "httpx")


class HopTracer:
    """The hop's Powertools Tracer, built on the first invocation instead of at import.

    Building a Tracer imports the X-Ray SDK and, with tracing on, patches the traced modules: well over 100 ms
    that would land in every hop's init phase. In the deployed stack tracing stays on (active tracing on every
    function, POWERTOOLS_TRACE_DISABLED unset): the Tracer is built and the modules patched when the first
    event arrives, before the step builds any AWS or platform client, so every call is still traced. Where
    Powertools would disable tracing (outside Lambda, POWERTOOLS_TRACE_DISABLED) it is never built and the
    handler runs unwrapped, so tests and the sandbox do not import the X-Ray SDK at all.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._decided = False
        self._tracer: Tracer | None = None

    @property
    def tracer(self) -> Tracer | None:
        """The Tracer, built on first use; None while tracing is off."""
        if not self._decided:
            with self._lock:
                if not self._decided:
                    # Powertools' own rule (LAMBDA_TASK_ROOT, POWERTOOLS_TRACE_DISABLED, SAM local, Chalice).
                    if not Tracer._is_tracer_disabled():
                        self._tracer = Tracer(patch_modules=TRACED_MODULES)
                    self._decided = True
        return self._tracer

    def capture_lambda_handler(self, handler: Handler) -> Handler:
        """`handler` inside the `## lambda_handler` segment (cold start annotated), once the tracer exists."""
        return self._wrap(handler, lambda tracer, fn: tracer.capture_lambda_handler(fn))

    def capture_method(self, method: F) -> F:
        """`method` as its own subsegment, once the tracer exists."""
        return self._wrap(method, lambda tracer, fn: tracer.capture_method(fn))

    def _wrap(self, fn: F, capture: Callable[[Tracer, F], F]) -> F:
        chosen: list[F] = []

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not chosen:
                tracer = self.tracer
                chosen.append(fn if tracer is None else capture(tracer, fn))
            return chosen[0](*args, **kwargs)

        return wrapper  # type: ignore[return-value]


@dataclass
class HopShape:
    """What the kit built a handler from; `lambda_handler.hop` on every kit handler.

    The step is looked up here on each call, so a test can stand in for it on one hop.
    """

    kind: Literal["queue", "schedule", "task", "webhook"]
    step: Callable[..., Any]
    logger: Logger
    tracer: HopTracer
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
    every invocation (registering the context for idempotency). A record a background step leaves for later
    (StepAsideError) is re-sent as it came, with a delay.
    """
    from shared.steps.records import accept_or_quarantine

    shape = HopShape("queue", step, hop_logger(), HopTracer(), Metrics())
    sqs_batch = functools.cache(_SqsBatch)  # this hop's one processor, built on its first batch

    invocation = _Invocation()

    @shape.tracer.capture_method
    def record_handler(record: SQSRecord) -> str:
        rt = runtime()
        # Out of time: every later record goes later untouched. While the target sheds load each record still
        # runs, up to its first background call: order work in it (a stock decrease) goes out now.
        if invocation.aside is not None and not invocation.aside.shedding:
            return _defer(rt, record, invocation.aside, shape)
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
        try:
            result = delivery.run() if around is None else around(delivery)
        except StepAsideError as aside:
            invocation.aside = aside
            return _defer(rt, record, aside, shape)
        if result is None:
            return QUARANTINED
        label = outcome(result)
        if metric is not None:
            shape.count(f"{metric}_{label}")
        _count_figures(shape, result, figures or {})
        return label

    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Any:
        invocation.aside = None
        runtime().start_invocation(context.get_remaining_time_in_millis())
        if on_invoke is not None:
            on_invoke(context)
        if count_records:
            shape.count("RecordsReceived", len(event.get("Records", [])))
        return sqs_batch().process(event, record_handler, context)

    return _decorated(shape, lambda_handler)


class _Invocation(threading.local):
    """Per invocation (and thread): the StepAsideError a record of this batch met, if one did."""

    aside: StepAsideError | None = None


def _defer(rt: Runtime, record: SQSRecord, aside: StepAsideError, hop: HopShape) -> str:
    """Leave a record for later: the same body and attributes sent again to the hop's own queue, delayed by
    the wait it gave way to (a poll interval at least), and this delivery acknowledged. A new message starts
    its receive count afresh, so giving way never counts toward the DLQ; a failed send raises, and the record
    is redelivered as usual."""
    from shared import topology

    trigger = topology.hop(rt.hop_name).trigger
    if not isinstance(trigger, topology.QueueTrigger):
        raise TypeError(f"{rt.hop_name} is not a queue hop: it cannot leave a record for later") from aside
    delay = min(MAX_SQS_DELAY_SECONDS, max(DEFER_AT_LEAST_SECONDS, math.ceil(aside.resume_after)))
    attributes = {
        name: {"DataType": value["dataType"], "StringValue": value["stringValue"]}
        for name, value in (record.raw_event.get("messageAttributes") or {}).items()
        if value.get("stringValue") is not None
    }
    rt.sqs.send_message(
        QueueUrl=rt.queue_url(trigger.queue),
        MessageBody=record.body,
        DelaySeconds=delay,
        **({"MessageAttributes": attributes} if attributes else {}),
    )
    hop.logger.info("record left for later", extra={"reason": str(aside), "delay_seconds": delay})
    hop.count("RecordsDeferred")
    rt.tally["records_left_for_later"] += 1
    return DEFERRED


@dataclass(frozen=True)
class PushedRecord:
    """One SQS record a platform wrote itself (a Subscription): its body is the platform's, not our model."""

    body: str
    message_id: str
    attributes: Mapping[str, Any] | None


def pushed_queue_hop(*, step: Callable[[PushedRecord, Runtime], Any], metric: str) -> Handler:
    """An SQS hop over messages a platform delivered into our queue itself: there is no message model of ours
    to accept a record by, so `step(record, rt)` reads (or quarantines) the body; otherwise the queue shape
    (partial batch response, `<metric>_<outcome>` counts, an exception fails only its record)."""
    shape = HopShape("queue", step, hop_logger(), HopTracer(), Metrics())
    sqs_batch = functools.cache(_SqsBatch)

    @shape.tracer.capture_method
    def record_handler(record: SQSRecord) -> str:
        pushed = PushedRecord(record.body, record.message_id, record.raw_event.get("messageAttributes"))
        label = outcome_of(shape.step(pushed, runtime()))
        shape.count(f"{metric}_{label}")
        return label

    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Any:
        shape.count("RecordsReceived", len(event.get("Records", [])))
        return sqs_batch().process(event, record_handler, context)

    return _decorated(shape, lambda_handler)


class _SqsBatch:
    """Powertools' SQS batch processor, imported and built on the first batch: its package loads asyncio and,
    with pydantic present, the parser's event models (Kafka, Kinesis, DynamoDB streams), which no hop needs
    at import."""

    def __init__(self) -> None:
        from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

        self._processor = BatchProcessor(event_type=EventType.SQS)
        self._process = process_partial_response

    def process(self, event: dict[str, Any], record_handler: Callable[..., Any], context: LambdaContext) -> Any:
        """Each record through `record_handler`; the failed ones reported for redelivery (every one: raises)."""
        return self._process(event=event, record_handler=record_handler, processor=self._processor, context=context)


def schedule_hop(step: Callable[[Runtime], Any], *, metrics: Mapping[str, str]) -> Handler:
    """A scheduled hop: `step(rt)`, each named figure of its result published as a count, the result returned."""
    shape = HopShape("schedule", step, hop_logger(), HopTracer(), Metrics())

    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Any:
        rt = runtime()
        rt.start_invocation(context.get_remaining_time_in_millis())
        try:
            result = shape.step(rt)
        except StepAsideError as aside:
            # A background run gave way before a call: its cursor was not moved, so the next run reads on
            # from the same place; not an error, so no async retry and nothing at the failure destination.
            shape.logger.info("run left for later", extra={"reason": str(aside)})
            shape.count("RunsSteppedAside")
            rt.tally["runs_stepped_aside"] += 1
            return {"outcome": "stepped_aside", "resume_after_seconds": round(aside.resume_after, 1)}
        _count_figures(shape, result, metrics)
        return result

    return _decorated(shape, lambda_handler)


def task_hop(model: type[M], step: Callable[[M, Runtime], Any], *, metric: str | None = None) -> Handler:
    """A Step Functions task: the state validated into `model`, `step(state, rt)`, a model result as JSON.

    `metric` counts each result as `<metric>_<outcome>`; without it the task publishes no metrics at all.
    """
    shape = HopShape("task", step, hop_logger(), HopTracer(), Metrics() if metric is not None else None)

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
    from shared.steps.webhooks import receive

    shape = HopShape("webhook", receive, hop_logger(), HopTracer(), Metrics())
    resolver = functools.cache(functools.partial(_webhook_resolver, shape))  # built on the first request

    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Any:
        return resolver().resolve(event, context)

    return _decorated(shape, lambda_handler)


def _webhook_resolver(shape: HopShape) -> APIGatewayRestResolver:
    """The receiver's one route, built on its first request: Powertools' event_handler package imports every
    resolver it has (AppSync's loads asyncio), which the receiver's import need not pay for."""
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types

    from shared.steps.webhooks import answer_json
    from shared.topology import WEBHOOK_PATH

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

    return app


def shape_of(handler: Handler) -> HopShape:
    """The shape a kit handler was built from (`lambda_handler.hop`)."""
    shape = getattr(handler, "hop", None)
    if not isinstance(shape, HopShape):
        raise TypeError(f"{handler!r} was not built by functions.kit")
    return shape
