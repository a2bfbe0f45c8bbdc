"""The exception inbox: every record that did not travel, with its reason, owner and how to replay it.

One exception per (client, flow, business key, reason): a record quarantined again for the same reason
updates the same item (attempts, last seen, detail) instead of piling up duplicates an operator must
dedupe by eye, and an exception for another reason never overwrites it (a cancellation refused as too
late stays in the inbox when its note to the source fails later). A step that re-judges a record as a
whole (validation) passes `supersede=True`: the record's other open reasons in that flow are then
closed as superseded. The `by-key` index (record key, flow#reason) finds every reason of one record.

The inbox holds no personal data: `detail` is scrubbed as free text on the way in, and a message that
carries personal data (or did not parse) is not stored as `replay_message`: it stays in the encrypted
archive under `payload_key`, and `replay_payload` says how replay rebuilds the message from it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Any

from botocore.exceptions import ClientError

from shared.models import ReasonCode, Team
from shared.models.base import Model
from shared.redaction import redact_text
from shared.stores.batch import batch_get


class PayloadReplay(StrEnum):
    """How a replay rebuilds its message from the archived payload (`payload_key`) when none is stored."""

    MESSAGE = "message"  # the archived payload is the queue message itself, exactly as received
    CIN7_SALE_WEBHOOK = "cin7_sale_webhook"  # parse the archived sale webhook into the message it asks for
    CIN7_STOCK_WEBHOOK = "cin7_stock_webhook"  # parse the archived stock webhook into a stock-sync message
    CIN7_PRODUCT_ROW = "cin7_product_row"  # map the archived product row ({"row", "error"}) to a product message


class ExceptionStatus(StrEnum):
    OPEN = "open"
    RETRYING = "retrying"
    RESOLVED = "resolved"
    IGNORED = "ignored"


class ExceptionRecord(Model):
    id: str
    client: str
    flow: str
    business_key: str
    reason: ReasonCode
    reasons: tuple[str, ...] = ()
    team: Team
    detail: str
    status: ExceptionStatus = ExceptionStatus.OPEN
    first_seen: str
    last_seen: str
    attempts: int = 1
    payload_key: str | None = None
    replay_queue: str | None = None
    replay_message: dict[str, Any] | None = None
    replay_payload: PayloadReplay | None = None
    resolved_by: str | None = None
    resolved_at: str | None = None
    next_retry_at: str | None = None
    replayed_by: str | None = None  # who re-sent it by hand (hopline replay), kept after it resolves
    replayed_at: str | None = None


BY_STATUS_INDEX = "by-status"  # (status, last_seen), declared in the topology
BY_KEY_INDEX = "by-key"  # (record_key = client#business key, flow_reason = flow#reason), declared in the topology
BY_FLOW_INDEX = "by-flow"  # (flow, status), declared in the topology


class ExceptionStore:
    def __init__(self, table: Any, client: str, dynamodb_resource: Any = None):
        self.table = table
        self.client = client
        self.resource = dynamodb_resource  # for BatchGetItem (get_many); None: one GetItem per id

    def exception_id(self, flow: str, business_key: str, reason: ReasonCode | str) -> str:
        return f"{self.client}#{flow}#{business_key}#{ReasonCode(reason).value}"

    def record_key(self, business_key: str) -> str:
        return f"{self.client}#{business_key}"

    def quarantine(
        self,
        *,
        flow: str,
        business_key: str,
        reasons: list[ReasonCode],
        team: Team,
        detail: str,
        now: datetime,
        payload_key: str | None = None,
        replay_queue: str | None = None,
        replay_message: dict[str, Any] | None = None,
        supersede: bool = False,
        replay_payload: PayloadReplay | None = None,
    ) -> str:
        """Open (or re-open and count) the exception for this business key and its first reason; returns its id.

        With `supersede`, the record's other open exceptions in this flow (other reasons) are resolved as
        superseded: the caller's verdict replaces them. `replay_payload` (with `payload_key` and
        `replay_queue`) replays the archived payload when the message is not stored here.
        """
        if not reasons:
            raise ValueError("an exception needs at least one reason")
        if replay_payload is not None and payload_key is None:
            raise ValueError("replay from the archive needs the payload's archive key")
        exception_id = self.exception_id(flow, business_key, reasons[0])
        stamp = now.isoformat(timespec="milliseconds")
        self.table.update_item(
            Key={"pk": exception_id},
            UpdateExpression=(
                "SET client_id = :client, flow = :flow, business_key = :key, reason = :reason, "
                "record_key = :record, flow_reason = :flow_reason, "
                "reasons = :reasons, team = :team, detail = :detail, #status = :open, "
                "first_seen = if_not_exists(first_seen, :now), last_seen = :now, payload_key = :payload, "
                "replay_queue = :queue, replay_message = :message, replay_payload = :rebuild "
                "REMOVE resolved_by, next_retry_at ADD attempts :one"
            ),
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":client": self.client,
                ":flow": flow,
                ":key": business_key,
                ":reason": reasons[0].value,
                ":record": self.record_key(business_key),
                ":flow_reason": f"{flow}#{reasons[0].value}",
                ":reasons": [r.value for r in reasons],
                ":team": team.value,
                ":detail": redact_text(detail)[:2000],
                ":open": ExceptionStatus.OPEN.value,
                ":now": stamp,
                ":payload": payload_key,
                ":queue": replay_queue,
                ":message": json.dumps(replay_message) if replay_message else None,
                ":rebuild": replay_payload.value if replay_payload else None,
                ":one": 1,
            },
        )
        if supersede:
            for record in self.for_record(business_key, flow=flow):
                if record.id != exception_id and record.status in (ExceptionStatus.OPEN, ExceptionStatus.RETRYING):
                    self._resolve_one(record.id, by=f"superseded:{reasons[0].value}", now=now)
        return exception_id

    def resolve(self, flow: str, business_key: str, *, by: str, now: datetime) -> int:
        """Close every unresolved exception of this record in this flow when it later travels; returns how many."""
        closed = 0
        for record in self.for_record(business_key, flow=flow):
            if record.status != ExceptionStatus.RESOLVED:
                closed += self._resolve_one(record.id, by=by, now=now)
        return closed

    def _resolve_one(self, exception_id: str, *, by: str, now: datetime) -> bool:
        try:
            self.table.update_item(
                Key={"pk": exception_id},
                UpdateExpression="SET #status = :resolved, resolved_by = :by, resolved_at = :now REMOVE next_retry_at",
                ConditionExpression="attribute_exists(pk) AND #status <> :resolved",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":resolved": ExceptionStatus.RESOLVED.value,
                    ":by": by,
                    ":now": now.isoformat(timespec="milliseconds"),
                },
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def for_record(self, business_key: str, *, flow: str | None = None) -> list[ExceptionRecord]:
        """Every exception of one record (all flows, or one), any status, from the by-key index."""
        condition = "record_key = :record"
        values: dict[str, Any] = {":record": self.record_key(business_key)}
        if flow is not None:
            condition += " AND begins_with(flow_reason, :flow)"
            values[":flow"] = f"{flow}#"
        items = self._pages(
            self.table.query,
            {"IndexName": BY_KEY_INDEX, "KeyConditionExpression": condition, "ExpressionAttributeValues": values},
        )
        # begins_with on "flow#" cannot match another flow: flow names hold no '#'.
        return [_record(item) for item in items if item.get("client_id") == self.client]

    def schedule_retry(self, exception_id: str, *, at: datetime | None) -> None:
        """Retry automatically at `at` (status retrying); None escalates it to a person (status open)."""
        if at is None:
            expression, values = "SET #status = :open REMOVE next_retry_at", {":open": ExceptionStatus.OPEN.value}
        else:
            expression = "SET #status = :retrying, next_retry_at = :at"
            values = {":retrying": ExceptionStatus.RETRYING.value, ":at": at.isoformat(timespec="milliseconds")}
        self.table.update_item(
            Key={"pk": exception_id},
            UpdateExpression=expression,
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=values,
        )

    def mark_requeued(self, exception_id: str) -> None:
        """The retry is on its queue: no further scheduled retry until its outcome is known."""
        self.table.update_item(Key={"pk": exception_id}, UpdateExpression="REMOVE next_retry_at")

    def get(self, exception_id: str) -> ExceptionRecord | None:
        item = self.table.get_item(Key={"pk": exception_id}, ConsistentRead=True).get("Item")
        return _record(item) if item else None

    def get_many(self, exception_ids: Iterable[str]) -> dict[str, ExceptionRecord]:
        """The exceptions of these ids that exist, by id: one consistent BatchGetItem per 100 ids."""
        wanted = sorted(set(exception_ids))
        if self.resource is None:
            return {key: record for key in wanted if (record := self.get(key)) is not None}
        items = batch_get(self.resource, self.table.name, [{"pk": key} for key in wanted])
        return {item["pk"]: _record(item) for item in items}

    def in_status(
        self, status: ExceptionStatus, *, seen_since: datetime | None = None, flows: tuple[str, ...] = ()
    ) -> list[ExceptionRecord]:
        """One status from the by-status index; optionally only those last seen at or after `seen_since`, or
        only those of `flows`. Those of `flows` alone come from the by-flow index, one query per flow: the
        order monitor asks every minute for its own few, and the by-status index with a filter would read
        every open exception of every flow (each one a read, filtered or not) to find them."""
        if flows and seen_since is None:
            return [record for flow in flows for record in self._in_flow(flow, status)]
        condition = "#status = :status"
        values: dict[str, Any] = {":status": status.value}
        query: dict[str, Any] = {"IndexName": BY_STATUS_INDEX, "ExpressionAttributeNames": {"#status": "status"}}
        if seen_since is not None:
            condition += " AND last_seen >= :since"
            values[":since"] = seen_since.isoformat(timespec="milliseconds")
        if flows:
            names = [f":flow{i}" for i in range(len(flows))]
            values.update(dict(zip(names, flows, strict=True)))
            query["FilterExpression"] = f"flow IN ({', '.join(names)})"
        items = self._pages(
            self.table.query, {**query, "KeyConditionExpression": condition, "ExpressionAttributeValues": values}
        )
        return [_record(item) for item in items if item.get("client_id") == self.client]

    def _in_flow(self, flow: str, status: ExceptionStatus) -> list[ExceptionRecord]:
        items = self._pages(
            self.table.query,
            {
                "IndexName": BY_FLOW_INDEX,
                "KeyConditionExpression": "#flow = :flow AND #status = :status",
                "ExpressionAttributeNames": {"#flow": "flow", "#status": "status"},
                "ExpressionAttributeValues": {":flow": flow, ":status": status.value},
            },
        )
        return [_record(item) for item in items if item.get("client_id") == self.client]

    def mark_replayed(self, exception_id: str, *, by: str, now: datetime) -> None:
        """Re-sent by hand: retrying until the flow resolves it (or quarantines it again)."""
        self.table.update_item(
            Key={"pk": exception_id},
            UpdateExpression="SET #status = :retrying, replayed_by = :by, replayed_at = :now REMOVE next_retry_at",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":retrying": ExceptionStatus.RETRYING.value,
                ":by": by,
                ":now": now.isoformat(timespec="milliseconds"),
            },
        )

    def close(self, exception_id: str, *, status: ExceptionStatus, by: str, now: datetime, note: str = "") -> None:
        """A person closes it (fixed elsewhere: resolved; not worth fixing: ignored), with who and why."""
        if status not in (ExceptionStatus.RESOLVED, ExceptionStatus.IGNORED):
            raise ValueError(f"close with resolved or ignored, not {status.value}")
        self.table.update_item(
            Key={"pk": exception_id},
            UpdateExpression="SET #status = :status, resolved_by = :by, resolved_at = :now, resolution_note = :note "
            "REMOVE next_retry_at",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":status": status.value,
                ":by": by,
                ":note": note[:500],
                ":now": now.isoformat(timespec="milliseconds"),
            },
        )

    @staticmethod
    def _pages(operation: Any, kwargs: dict[str, Any]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        while True:
            page = operation(**kwargs)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            kwargs = {**kwargs, "ExclusiveStartKey": page["LastEvaluatedKey"]}

    # Last in the class: a method named `list` would shadow the builtin in the annotations below it.
    def list(self, *, status: ExceptionStatus | None = ExceptionStatus.OPEN) -> list[ExceptionRecord]:
        """Exceptions in one status, read from the by-status index; every status (a scan) with None."""
        if status is not None:
            return self.in_status(status)
        items = self._pages(self.table.scan, {})
        return [_record(item) for item in items if item.get("client_id") == self.client]


def _record(item: dict[str, Any]) -> ExceptionRecord:
    message = item.get("replay_message")
    return ExceptionRecord(
        id=item["pk"],
        client=item["client_id"],
        flow=item["flow"],
        business_key=item["business_key"],
        reason=ReasonCode(item["reason"]),
        reasons=tuple(item.get("reasons", [])),
        team=Team(item["team"]),
        detail=item.get("detail", ""),
        status=ExceptionStatus(item.get("status", "open")),
        first_seen=item["first_seen"],
        last_seen=item["last_seen"],
        attempts=int(item.get("attempts", 1)),
        payload_key=item.get("payload_key"),
        replay_queue=item.get("replay_queue"),
        replay_message=json.loads(message) if message else None,
        replay_payload=PayloadReplay(item["replay_payload"]) if item.get("replay_payload") else None,
        resolved_by=item.get("resolved_by"),
        resolved_at=item.get("resolved_at"),
        next_retry_at=item.get("next_retry_at"),
        replayed_by=item.get("replayed_by"),
        replayed_at=item.get("replayed_at"),
    )
