"""What the `hopline` operator commands do, over boto3 clients and resource names (no printing here).

Works the same against a deployed stack (names from its CloudFormation outputs) and against the local
sandbox (names by the `hopline-<client>-<name>` convention the sandbox uses).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError
from pydantic import BaseModel, ValidationError

from shared import topology
from shared.clock import Clock, SystemClock
from shared.config import config_for_client
from shared.errors import ConfigError
from shared.flows.backlog import BudgetState, FlowBacklog, budget_state, orders_backlog, queue_backlog
from shared.models.messages import MESSAGE_BY_QUEUE
from shared.redaction import field_errors
from shared.steps.records import MESSAGE_KEY_PREFIX, REPLAY_OF_ATTRIBUTE
from shared.steps.replay import ReplayRebuildError, rebuild
from shared.stores.archive import PayloadArchive
from shared.stores.exceptions import ExceptionRecord, ExceptionStatus, ExceptionStore, PayloadReplay
from shared.stores.ledger import LedgerEntry, LedgerStore, Stage

# Exception flows whose business key is the order key (the rest key parcels, SKUs or messages).
ORDER_FLOWS = ("order_intake", "order_submit", "stall_monitor", "mismatch_monitor", "cancellation")
PARCEL_FLOW = "shipment_writeback"
# Archive object names: <yyyymmddTHHMMSS.mmm>-<kind>-<8 hex>.json
_ARCHIVED = re.compile(r"(?P<stamp>\d{8}T\d{6}\.\d{3})-(?P<kind>.+)-[0-9a-f]{8}\.json$")
# SQS answers for an action it (or the emulator) does not offer.
_UNSUPPORTED = {
    "UnsupportedOperation",
    "InvalidAction",
    "NotImplemented",
    "AWS.SimpleQueueService.UnsupportedOperation",
}


# Payloads whose exception belongs to a receiver, not to the consumer of the message rebuilt from them.
_REBUILT_ELSEWHERE = (PayloadReplay.CIN7_SALE_WEBHOOK, PayloadReplay.CIN7_STOCK_WEBHOOK)


class OpsError(Exception):
    """A command cannot do what was asked; the message says why and what to do instead."""


class StackNotFoundError(OpsError):
    """The client's CloudFormation stack is not where the profile and region point."""


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("_", "-").split("-") if part)


@dataclass(frozen=True)
class StackResources:
    """Physical names of one client's tables, queues and buckets, keyed by their topology names."""

    client: str
    tables: dict[str, str]
    queues: dict[str, str]  # queue name -> URL
    dead_letter_queues: dict[str, str]  # work queue name -> its DLQ's URL
    buckets: dict[str, str]


def client_queues(client: str) -> tuple[topology.Queue, ...]:
    """The queues this client's pipelines deploy (every queue when its client file is not here to read)."""
    try:
        return topology.for_config(config_for_client(client)).queues
    except (ConfigError, OSError, ValidationError):
        return topology.QUEUES


def resources_by_convention(client: str, sqs: Any) -> StackResources:
    """`hopline-<client>-<name>`: how the sandbox names everything (and infra names queues)."""
    name = f"hopline-{client}-"
    queues, dlqs = {}, {}
    for queue in client_queues(client):
        try:
            queues[queue.name] = sqs.get_queue_url(QueueName=name + queue.name)["QueueUrl"]
            dlqs[queue.name] = sqs.get_queue_url(QueueName=f"{name}{queue.name}-dlq")["QueueUrl"]
        except ClientError as error:
            if queue.pipeline == topology.SUBSCRIPTIONS:
                continue  # deployed only where a platform delivers messages itself
            raise OpsError(f"queue {name}{queue.name} not found: is the sandbox (or stack) for {client} up?") from error
    return StackResources(
        client=client,
        tables={t.name: name + t.name for t in topology.TABLES},
        queues=queues,
        dead_letter_queues=dlqs,
        buckets={b.name: name + b.name for b in topology.BUCKETS},
    )


def resources_from_stack(client: str, cloudformation: Any) -> StackResources:
    """The deployed stack's outputs (infra/stack.py `_outputs`): tables and buckets have generated names."""
    stack = f"hopline-{client}"
    try:
        [described] = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ValidationError":
            raise  # credentials or permissions: the command line explains those
        raise StackNotFoundError(f"stack {stack} not found with these credentials and region") from error
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}

    def pick(prefix: str, names: list[str]) -> dict[str, str]:
        missing = [n for n in names if f"{prefix}{_pascal(n)}" not in outputs]
        if missing:
            raise OpsError(f"stack {stack} has no output {prefix}{_pascal(missing[0])}: deployed from older code?")
        return {n: outputs[f"{prefix}{_pascal(n)}"] for n in names}

    queue_names = [q.name for q in client_queues(client)]
    return StackResources(
        client=client,
        tables=pick("Table", [t.name for t in topology.TABLES]),
        queues=pick("QueueUrl", queue_names),
        dead_letter_queues=pick("DeadLetterQueueUrl", queue_names),
        buckets=pick("Bucket", [b.name for b in topology.BUCKETS]),
    )


class TimelineEvent(BaseModel):
    at: datetime
    system: str
    event: str
    detail: str = ""


class OrderView(BaseModel):
    order_key: str
    order_number: str
    stage: str
    warehouse_order_id: str | None
    client_reference: str | None
    closed: bool
    timeline: list[TimelineEvent]
    exceptions: list[ExceptionRecord]
    payloads: list[str]


class ReplayResult(BaseModel):
    exception_id: str
    queue: str
    queue_url: str
    message: dict[str, Any]
    sent: bool
    message_id: str | None = None


class PayloadView(BaseModel):
    key: str
    body: Any


class BacklogView(BaseModel):
    """What waits per flow and for how long, and the shared rate budgets it may be waiting on."""

    at: datetime
    alarm_seconds: float
    flows: list[FlowBacklog]
    budgets: list[BudgetState]


class RedriveResult(BaseModel):
    queue: str
    method: str  # "move_task", "manual" or "dry_run"
    waiting_before: int
    moved: int = 0
    task_handle: str | None = None
    seconds: float = 0.0
    sample: list[dict[str, Any]] = []


@dataclass
class Ops:
    """The operator's commands for one client, over boto3 clients (a deployed stack or the sandbox)."""

    resources: StackResources
    dynamodb: Any  # boto3 DynamoDB service resource
    sqs: Any
    s3: Any
    source: str = "cin7_core"
    reference_prefix: str = ""
    clock: Clock = field(default_factory=SystemClock)
    cloudwatch: Any = None  # for SQS's own age of the oldest message; None: ages of queues are not shown

    @property
    def ledger(self) -> LedgerStore:
        return LedgerStore(self.dynamodb.Table(self.resources.tables["ledger"]), self.resources.client)

    @property
    def exceptions(self) -> ExceptionStore:
        return ExceptionStore(self.dynamodb.Table(self.resources.tables["exceptions"]), self.resources.client)

    @property
    def archive(self) -> PayloadArchive:
        return PayloadArchive(self.s3, self.resources.buckets["archive"], self.resources.client)

    # -- where ------------------------------------------------------------------------------------
    def find_order(self, order: str) -> LedgerEntry:
        """An order key, a source id, a warehouse client reference or a source order number."""
        ledger = self.ledger
        keys = [order] if "#" in order else [f"{self.source}#{order}", f"{self.source}#{order.lower()}"]
        for key in keys:
            entry = ledger.get(key)
            if entry is not None:
                return entry
        for reference in (order, f"{self.reference_prefix}-{order}" if self.reference_prefix else ""):
            found = ledger.find_by_reference(reference) if reference else None
            if found is not None and (entry := ledger.get(found)) is not None:
                return entry
        matches = ledger.find_by_order_number(order)
        if len(matches) > 1:
            raise OpsError(f"{order} matches {len(matches)} orders: use one of {[m.order_key for m in matches]}")
        if not matches:
            raise OpsError(f"no order {order!r} in the ledger (tried order key, source id, reference, order number)")
        return matches[0]

    def where(self, order: str) -> OrderView:
        """Everything known about one order, from the ledger, the exception inbox and the archive, in order."""
        entry = self.find_order(order)
        events: list[TimelineEvent] = []
        for stage, stamp in entry.timestamps.items():
            events.append(TimelineEvent(at=_time(stamp), system="hopline", event=f"stage {stage}"))
        noted = dict(entry.despatched)
        for parcel, applied in entry.shipments.items():
            noted.setdefault(parcel, applied.get("despatched_at", ""))
            tracking = ", ".join(applied.get("tracking_numbers", []))
            if applied.get("applied_at"):
                events.append(
                    TimelineEvent(
                        at=_time(applied["applied_at"]),
                        system=self.source,
                        event=f"parcel {parcel} written back",
                        detail=f"{applied.get('carrier', '')} {tracking}".strip(),
                    )
                )
        for parcel, despatched_at in noted.items():
            if despatched_at:
                events.append(
                    TimelineEvent(at=_time(despatched_at), system="warehouse", event=f"parcel {parcel} despatched")
                )
        store = self.exceptions
        found = [record for record in store.for_record(entry.order_key) if record.flow in ORDER_FLOWS]
        for parcel in noted:
            found += store.for_record(f"scend#parcel#{parcel}", flow=PARCEL_FLOW)
        for record in found:
            events.append(
                TimelineEvent(
                    at=_time(record.first_seen),
                    system="hopline",
                    event=f"exception {record.reason.value} ({record.flow}, {record.team.value})",
                    detail=record.detail[:200],
                )
            )
            if record.resolved_at:
                events.append(
                    TimelineEvent(
                        at=_time(record.resolved_at),
                        system="hopline",
                        event=f"exception {record.status.value}",
                        detail=record.resolved_by or "",
                    )
                )
        payloads = self.archive.list_order(entry.order_key)
        for key in payloads:
            match = _ARCHIVED.search(key)
            if match:
                at = datetime.strptime(match["stamp"] + "+0000", "%Y%m%dT%H%M%S.%f%z")
                events.append(TimelineEvent(at=at, system="archive", event=f"payload {match['kind']}", detail=key))
        events.sort(key=lambda e: (e.at, e.system, e.event))
        return OrderView(
            order_key=entry.order_key,
            order_number=entry.order_number,
            stage=entry.stage.value,
            warehouse_order_id=entry.warehouse_order_id,
            client_reference=entry.client_reference,
            closed=entry.closed,
            timeline=events,
            exceptions=found,
            payloads=payloads,
        )

    # -- exceptions -------------------------------------------------------------------------------
    def list_exceptions(
        self, *, team: str | None = None, reason: str | None = None, status: str | None = "open"
    ) -> list[ExceptionRecord]:
        """The inbox, newest first; `status` None (or "all") lists every status."""
        wanted = None if status in (None, "all") else ExceptionStatus(status)
        records = self.exceptions.list(status=wanted)
        records = [
            r
            for r in records
            if (team is None or r.team.value == team)
            and (reason is None or r.reason.value == reason or reason in r.reasons)
        ]
        return sorted(records, key=lambda r: r.last_seen, reverse=True)

    def close(self, exception_id: str, *, ignore: bool, user: str, note: str) -> ExceptionRecord:
        store = self.exceptions
        self._must_get(exception_id)
        status = ExceptionStatus.IGNORED if ignore else ExceptionStatus.RESOLVED
        store.close(exception_id, status=status, by=f"person:{user}", now=self.clock.now(), note=note)
        return self._must_get(exception_id)

    def _must_get(self, exception_id: str) -> ExceptionRecord:
        record = self.exceptions.get(exception_id)
        if record is None:
            raise OpsError(f"no exception {exception_id!r} (list them with `hopline exceptions`)")
        return record

    # -- replay -----------------------------------------------------------------------------------
    def replay(
        self,
        exception_id: str,
        *,
        edited: dict[str, Any] | None = None,
        queue: str | None = None,
        dry_run: bool = False,
        user: str = "operator",
    ) -> ReplayResult:
        """Send the exception's message (or an edited one) to its queue again, so current code re-runs it.

        Where the inbox keeps no message (it did not parse, or it carries personal data), the message is
        rebuilt from the archived payload the exception points at. The sent message names the exception
        (message attribute), so a consumer that now parses it closes that exception.
        """
        record = self._must_get(exception_id)
        body, target = edited, queue or record.replay_queue
        if body is None and record.replay_message is None and record.replay_payload and record.payload_key:
            try:
                rebuilt_queue, body = rebuild(record, self.archive.get(record.payload_key), now=self.clock.now())
            except ReplayRebuildError as error:
                raise OpsError(
                    f"{exception_id}: {error}; see it with `hopline payload {exception_id}`, then "
                    "replay with --edit FILE (the corrected message), or resolve it"
                ) from error
            target = queue or rebuilt_queue
        if target is None:
            raise OpsError(
                f"{exception_id} has no message to replay (reason {record.reason.value}): fix it at the "
                "source, where the next poll or webhook brings it back, or give --queue and --edit; then "
                "close it with `hopline resolve`"
            )
        if target not in self.resources.queues:
            raise OpsError(f"unknown queue {target!r}; queues: {', '.join(self.resources.queues)}")
        body = body if body is not None else record.replay_message
        if body is None:
            raise OpsError(f"{exception_id} stored no message: pass --edit FILE with the message to send")
        model = MESSAGE_BY_QUEUE.get(target)
        if model is None:
            raise OpsError(f"no message model is declared for queue {target} (shared/models/messages)")
        try:
            message = model.model_validate(body)
        except ValidationError as error:
            where = (
                f" (archived at {record.payload_key}; `hopline payload {exception_id}` shows it)"
                if (edited is None and record.payload_key)
                else ""
            )
            raise OpsError(
                f"the message is not a valid {model.__name__} for {target}{where}: "
                f"{field_errors(error)}; replay with --edit FILE (the corrected message)"
            ) from error
        url = self.resources.queues[target]
        payload = json.loads(message.model_dump_json())
        if dry_run:
            return ReplayResult(exception_id=exception_id, queue=target, queue_url=url, message=payload, sent=False)
        now = self.clock.now()
        if edited is not None:  # what a person changed is evidence too
            order_key = (
                record.business_key
                if (record.flow in ORDER_FLOWS and not record.business_key.startswith(MESSAGE_KEY_PREFIX))
                else None
            )
            self.archive.put(order_key=order_key, kind="replay-edited", body=payload, now=now)
        sent = self.sqs.send_message(
            QueueUrl=url,
            MessageBody=message.model_dump_json(),
            MessageAttributes={REPLAY_OF_ATTRIBUTE: {"DataType": "String", "StringValue": exception_id}},
        )
        self.exceptions.mark_replayed(exception_id, by=f"replay:{user}", now=now)
        if edited is None and record.replay_payload in _REBUILT_ELSEWHERE:
            # The payload now makes a message: the receiver's part is done, the message's flow takes it from here.
            self.exceptions.close(
                exception_id,
                status=ExceptionStatus.RESOLVED,
                by=f"replay:{user}",
                now=now,
                note=f"rebuilt from the archived payload and sent to {target}",
            )
        return ReplayResult(
            exception_id=exception_id,
            queue=target,
            queue_url=url,
            message=payload,
            sent=True,
            message_id=sent.get("MessageId"),
        )

    def payload(self, reference: str) -> PayloadView:
        """The archived payload an exception points at (or an archive key): what to correct before a replay."""
        key = reference
        if not reference.startswith(("orders/", "unmatched/", "reports/")):
            record = self._must_get(reference)
            if record.payload_key is None:
                raise OpsError(f"{reference} points at no archived payload")
            key = record.payload_key
        try:
            data = self.archive.get(key)
        except ClientError as error:
            raise OpsError(f"no archived payload {key!r}: {error.response.get('Error', {}).get('Code')}") from error
        text = data.decode("utf-8", errors="replace")
        return PayloadView(key=key, body=_json_or_text(text))

    # -- redrive ----------------------------------------------------------------------------------
    def redrive(
        self,
        queue: str,
        *,
        rate: float | None = None,
        dry_run: bool = False,
        manual: bool = False,
        limit: int | None = None,
    ) -> RedriveResult:
        """Move a work queue's dead letters back to it: SQS's message move task where the endpoint offers it,
        else receive -> send -> delete at most `rate` messages a second. Consumers are idempotent, so a
        message sent twice (a crash between send and delete) does no harm."""
        if queue not in self.resources.dead_letter_queues:
            known = ", ".join(self.resources.dead_letter_queues)
            raise OpsError(f"unknown queue {queue!r}; queues with a DLQ: {known}")
        if rate is not None and rate <= 0:
            raise OpsError("--rate must be above 0 messages per second")
        dlq, source = self.resources.dead_letter_queues[queue], self.resources.queues[queue]
        waiting = self._count(dlq)
        if dry_run:
            return RedriveResult(queue=queue, method="dry_run", waiting_before=waiting, sample=self._peek(dlq))
        if not manual and limit is None:
            handle = self._move_task(dlq, rate)
            if handle is not None:
                return RedriveResult(
                    queue=queue, method="move_task", waiting_before=waiting, moved=waiting, task_handle=handle
                )
        started = self.clock.now()
        moved = self._move_by_hand(dlq, source, rate=rate, limit=limit)
        return RedriveResult(
            queue=queue,
            method="manual",
            waiting_before=waiting,
            moved=moved,
            seconds=(self.clock.now() - started).total_seconds(),
        )

    def backlog(self, *, alarm_seconds: float = 600, count_limit: int = 5000) -> BacklogView:
        """Per flow, the work waiting and its oldest age; and every shared rate budget's state.

        Orders from the ledger (released, not yet at the target: at most `count_limit` counted, the
        oldest's age exact), every work queue from SQS (waiting, in flight, and the age of its oldest
        message from SQS's CloudWatch metric), the budgets from their table: is an order call waiting
        for a token now, has the platform throttled us.
        """
        now = self.clock.now()
        released = [
            datetime.fromisoformat(item["stage_at"])
            for item in self.ledger.at_stage(Stage.RELEASED.value, limit=count_limit)
            if "order_key" in item
        ]
        flows = [orders_backlog(released, now, alarm_seconds)]
        for queue in topology.QUEUES:
            url = self.resources.queues.get(queue.name)
            if url is None:
                continue
            attributes = self.sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            flows.append(
                queue_backlog(queue.pipeline, queue.name, attributes, self._oldest_age(url, now), alarm_seconds)
            )
        table = self.dynamodb.Table(self.resources.tables[topology.BUDGET_TABLE])
        items = table.scan().get("Items", [])
        budgets = [budget_state({**item, "pk": _budget_label(str(item.get("pk", "")))}, now) for item in items]
        return BacklogView(at=now, alarm_seconds=alarm_seconds, flows=flows, budgets=budgets)

    def _oldest_age(self, url: str, now: datetime) -> float | None:
        """AWS/SQS ApproximateAgeOfOldestMessage, the latest minute's maximum in the last ten minutes."""
        if self.cloudwatch is None:
            return None
        points = self.cloudwatch.get_metric_statistics(
            Namespace="AWS/SQS",
            MetricName="ApproximateAgeOfOldestMessage",
            Dimensions=[{"Name": "QueueName", "Value": url.rstrip("/").rsplit("/", 1)[-1]}],
            StartTime=now - timedelta(minutes=10),
            EndTime=now,
            Period=60,
            Statistics=["Maximum"],
        ).get("Datapoints", [])
        if not points:
            return None
        return float(max(points, key=lambda point: point["Timestamp"])["Maximum"])

    def _count(self, url: str) -> int:
        attributes = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        return int(attributes["Attributes"]["ApproximateNumberOfMessages"])

    def _peek(self, url: str, count: int = 5) -> list[dict[str, Any]]:
        """A few bodies, made visible again at once: nothing is consumed."""
        messages = self.sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=count, VisibilityTimeout=30, AttributeNames=["All"]
        ).get("Messages", [])
        for message in messages:
            self.sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        return [
            {
                "message_id": m["MessageId"],
                "receive_count": m.get("Attributes", {}).get("ApproximateReceiveCount"),
                "body": _json_or_text(m["Body"]),
            }
            for m in messages
        ]

    def _move_task(self, dlq: str, rate: float | None) -> str | None:
        """StartMessageMoveTask back to the source queue; None where the endpoint does not offer it."""
        arn = self.sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        params: dict[str, Any] = {"SourceArn": arn}  # no DestinationArn: back to the queue(s) it came from
        if rate is not None:
            params["MaxNumberOfMessagesPerSecond"] = max(1, min(500, int(rate)))
        try:
            return str(self.sqs.start_message_move_task(**params)["TaskHandle"])
        except NotImplementedError:  # moto in-process
            return None
        except ClientError as error:
            if (
                error.response.get("Error", {}).get("Code") in _UNSUPPORTED
                or error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 501
            ):
                return None
            raise

    def _move_by_hand(self, dlq: str, source: str, *, rate: float | None, limit: int | None) -> int:
        moved, empty_reads = 0, 0
        started = self.clock.now()
        while limit is None or moved < limit:
            want = min(10, limit - moved if limit is not None else 10, max(1, int(rate)) if rate else 10)
            batch = self.sqs.receive_message(
                QueueUrl=dlq, MaxNumberOfMessages=want, VisibilityTimeout=60, MessageAttributeNames=["All"]
            ).get("Messages", [])
            if not batch:
                # Short polling samples a subset of servers: an empty answer is final only when SQS agrees.
                empty_reads += 1
                if empty_reads >= 3 or self._count(dlq) == 0:
                    break
                continue
            empty_reads = 0
            entries = [
                {
                    "Id": str(i),
                    "MessageBody": m["Body"],
                    **({"MessageAttributes": m["MessageAttributes"]} if m.get("MessageAttributes") else {}),
                }
                for i, m in enumerate(batch)
            ]
            failed = {f["Id"] for f in self.sqs.send_message_batch(QueueUrl=source, Entries=entries).get("Failed", [])}
            sent = [m for i, m in enumerate(batch) if str(i) not in failed]
            if sent:  # what SQS refused stays in the DLQ and becomes visible again after the timeout
                self.sqs.delete_message_batch(
                    QueueUrl=dlq,
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(sent)],
                )
            moved += len(sent)
            if failed and not sent:
                raise OpsError(f"SQS refused every message of a batch for {source}; stopped after {moved}")
            if rate:
                ahead = moved / rate - (self.clock.now() - started).total_seconds()
                if ahead > 0:
                    self.clock.sleep(ahead)
        return moved


def _budget_label(key: str) -> str:
    """`<platform>:<account>` shown as the platform and the account's last four characters."""
    platform, _, account = key.partition(":")
    return f"{platform}:...{account[-4:]}" if account else platform


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _json_or_text(body: str) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return body
